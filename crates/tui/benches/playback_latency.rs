//! Key-to-first-sample latency of playback, against the null sink.
//!
//! Measures, for each file, from the Space key entering `App::update` to
//! the sink pulling the first sample: the UI core's update, `Player::play`,
//! the player thread opening the file, rodio/symphonia probing it, the seek
//! to the hit's offset, and the first packet's decode. A real device adds
//! its own on top: nearly nothing from silence (the ALSA writer wakes on the
//! voice and the device starts once its first buffer is written), up to its
//! 85 ms buffer while another sound plays (`src/playback/device.rs`); not
//! measurable on a machine without sound. Files are on local disk and in the page cache (written
//! just before, or read in the previous round).
//!
//! ```sh
//! cargo bench -p hark-tui --bench playback_latency
//! ```
//!
//! Prints one Markdown row per case: min, median, p95 and max over the rounds.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hark_tui::app::PlaybackEvent;
use hark_tui::playback::{AudioSink, NullSink, Pace, Player, PlayerEvent};
use hark_tui::{App, Effect, FileId, Hit, Matched, Msg, Settings};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const ROUNDS: usize = 40;

/// A 16-bit WAV of a 440 Hz tone.
fn wav(dir: &Path, name: &str, seconds: f64, rate: u32, channels: u16, bits: u16) -> PathBuf {
    let path = dir.join(name);
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create wav");
    let scale = f64::from((1i32 << (bits - 1)) - 1) * 0.5;
    for n in 0..(seconds * f64::from(rate)) as usize {
        let x = (std::f64::consts::TAU * 440.0 * n as f64 / f64::from(rate)).sin() * scale;
        for _ in 0..channels {
            w.write_sample(x as i32).expect("write");
        }
    }
    w.finalize().expect("finish wav");
    path
}

fn space() -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE))
}

/// One measurement: Space on a list holding `path` (starting at `offset`),
/// to the first sample pulled.
fn key_to_first_sample(
    player: &Player,
    events: &mpsc::Receiver<PlayerEvent>,
    path: &Path,
    offset: Option<f64>,
    round: usize,
) -> Duration {
    let (mut app, _) = App::new(None, Settings::default(), (80, 24));
    let now = Instant::now();
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        now,
    );
    app.update(Msg::Playback(PlaybackEvent::DeviceReady), now);
    let seq = 1; // App::new's first list request
    app.update(
        Msg::Hits {
            seq,
            result: Ok(vec![Hit {
                id: FileId(round as i64),
                path: path.to_path_buf(),
                score: 1.0,
                duration_s: None,
                sample_rate: None,
                channels: None,
                offset_s: offset,
                matched: Matched::Sound,
            }]),
            done: true,
        },
        now,
    );
    let key = Instant::now();
    let effects = app.update(space(), key);
    let Some(Effect::Play {
        token,
        path,
        start_s,
    }) = effects
        .into_iter()
        .find(|e| matches!(e, Effect::Play { .. }))
    else {
        panic!("space did not play");
    };
    let play_call = Instant::now();
    player.play(token, &path, start_s);
    loop {
        match events
            .recv_timeout(Duration::from_secs(10))
            .expect("no event within 10 s")
        {
            PlayerEvent::Started {
                token: t, latency, ..
            } if t == token => {
                player.stop();
                return play_call.duration_since(key) + latency;
            }
            PlayerEvent::Failed { message, .. } => panic!("{}: {message}", path.display()),
            _ => {}
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/test");
    let cases: Vec<(String, PathBuf, Option<f64>)> = vec![
        (
            "WAV 16-bit 48 kHz stereo, 10 s, from the start".into(),
            wav(dir.path(), "a.wav", 10.0, 48000, 2, 16),
            None,
        ),
        (
            "WAV 24-bit 96 kHz stereo, 10 s, from the start".into(),
            wav(dir.path(), "b.wav", 10.0, 96000, 2, 24),
            None,
        ),
        (
            "WAV 16-bit 48 kHz mono, 10 min, from 7:30 (a hit's offset)".into(),
            wav(dir.path(), "c.wav", 600.0, 48000, 1, 16),
            Some(450.0),
        ),
        (
            "FLAC 16-bit 44.1 kHz mono (assets/test), from the start".into(),
            assets.join("sine440_44k1_mono_16bit.flac"),
            None,
        ),
        (
            "MP3 44.1 kHz mono (assets/test), from the start".into(),
            assets.join("sine440_44k1_mono.mp3"),
            None,
        ),
        (
            "Ogg Vorbis 48 kHz stereo (assets/test), from the start".into(),
            assets.join("sine440_48k_stereo.ogg"),
            None,
        ),
        (
            "MP4/AAC (assets/test), from the start".into(),
            assets.join("tagged_ilst.m4a"),
            None,
        ),
    ];
    for (_, path, _) in &cases {
        assert!(path.is_file(), "missing bench input `{}`", path.display());
    }

    let captured = Arc::new(Mutex::new(Vec::new()));
    let sink = NullSink::capturing(Pace::RealTime, Arc::clone(&captured));
    let (tx, events) = mpsc::channel();
    let tx = Mutex::new(tx);
    let player = Player::spawn(
        move || Ok(Box::new(sink) as Box<dyn AudioSink>),
        Arc::new(move |e| {
            let _ = tx.lock().unwrap().send(e);
        }),
    );
    assert_eq!(
        events
            .recv_timeout(Duration::from_secs(10))
            .expect("player"),
        PlayerEvent::DeviceReady
    );

    println!("Key-to-first-sample latency, null sink, {ROUNDS} rounds per case (rounds alternate between cases)\n");
    println!("| case | min ms | median ms | p95 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..ROUNDS {
        for (i, (_, path, offset)) in cases.iter().enumerate() {
            let t = key_to_first_sample(&player, &events, path, *offset, round);
            times[i].push(t.as_secs_f64() * 1e3);
            captured.lock().unwrap().clear();
        }
    }
    for ((name, _, _), mut t) in cases.iter().zip(times) {
        t.sort_by(f64::total_cmp);
        let at = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} |",
            t[0],
            at(0.5),
            at(0.95),
            t[t.len() - 1]
        );
    }
}
