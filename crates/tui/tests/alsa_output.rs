//! The ALSA output end to end, without a sound card: alsa-lib's `file`
//! plugin over its `null` PCM stands in for the default device (set through
//! `ALSA_CONFIG_PATH`), so what hark wrote to "the device" can be read back
//! and compared with the file played. One test in its own process: alsa-lib
//! reads its configuration once per process.

#![cfg(all(target_os = "linux", feature = "playback"))]

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hark_tui::playback::{AudioSink, DeviceSink, Player, PlayerEvent};

/// A 48 kHz stereo 16-bit WAV whose frame `n` holds `n` in both channels.
fn counting_wav(path: &Path, frames: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for n in 0..frames {
        w.write_sample(n as i16).expect("write sample");
        w.write_sample(n as i16).expect("write sample");
    }
    w.finalize().expect("finish wav");
}

#[test]
fn a_sound_reaches_the_device_sample_for_sample() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("device.raw");
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            "pcm.default {{ type file slave.pcm {{ type null }} file \"{}\" format raw }}\n",
            out.display()
        ),
    )
    .expect("write ALSA configuration");
    // Only this test runs in this process, and it sets this before any ALSA call.
    std::env::set_var("ALSA_CONFIG_PATH", &conf);

    let wav = dir.path().join("count.wav");
    counting_wav(&wav, 4800);
    let (tx, events) = mpsc::channel();
    let tx = Mutex::new(tx);
    let player = Player::spawn(
        || Ok(Box::new(DeviceSink::open()?) as Box<dyn AudioSink>),
        Arc::new(move |e| {
            let _ = tx.lock().unwrap().send(e);
        }),
    );
    let next = || {
        events
            .recv_timeout(Duration::from_secs(10))
            .expect("no event from the player within 10 s")
    };
    match next() {
        PlayerEvent::DeviceReady => {}
        // A machine without libasound has nothing to test here (the
        // missing library itself is tested in the crate).
        PlayerEvent::DeviceMissing(reason) if reason.contains("no sound library") => {
            eprintln!("skipped: {reason}");
            return;
        }
        other => panic!("{other:?}"),
    }
    player.set_volume(1.0);
    player.play(1, &wav, 0.0);
    assert!(matches!(next(), PlayerEvent::Started { token: 1, .. }));
    assert_eq!(next(), PlayerEvent::Finished { token: 1 });
    drop(player);
    std::thread::sleep(Duration::from_millis(500));

    let bytes = std::fs::read(&out).expect("the device wrote nothing");
    let samples: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let frames: Vec<i64> = samples
        .chunks_exact(2)
        .map(|f| {
            assert_eq!(f[0], f[1], "the channels differ");
            (f[0] * 32768.0).round() as i64
        })
        .collect();
    assert!(frames.len() >= 4800, "only {} frames written", frames.len());
    assert_eq!(frames[..4800], (0..4800).collect::<Vec<i64>>());
    assert!(
        frames[4800..].iter().all(|&f| f == 0),
        "no silence after the sound"
    );
}
