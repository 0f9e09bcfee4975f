//! The playback engine against the null sink (no audio device, no ALSA):
//! what comes out is compared with what the file holds. The test files
//! count: sample `n` of a file holds the value `n` (16-bit mono, 8 kHz), so
//! a pulled sample tells exactly which frame of the file it is.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hark_tui::playback::{AudioSink, NullSink, Pace, PlaybackError, Player, PlayerEvent};

const RATE: u32 = 8000;

/// A mono 16-bit WAV of `frames` frames whose frame `n` holds `n`.
fn counting_wav(dir: &Path, name: &str, frames: u32) -> PathBuf {
    let path = dir.join(name);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create wav");
    for n in 0..frames {
        w.write_sample(n as i16).expect("write sample");
    }
    w.finalize().expect("finish wav");
    path
}

/// The frame number a pulled sample encodes (at volume 1).
fn frame(sample: f32) -> i64 {
    (sample * 32768.0).round() as i64
}

struct Rig {
    player: Player,
    events: Receiver<PlayerEvent>,
    captured: Arc<Mutex<Vec<f32>>>,
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

fn rig(pace: Pace) -> Rig {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let sink = NullSink::capturing(pace, Arc::clone(&captured));
    let (tx, events) = mpsc::channel();
    let tx = Mutex::new(tx);
    let player = Player::spawn(
        move || Ok(Box::new(sink) as Box<dyn AudioSink>),
        Arc::new(move |e| {
            let _ = tx.lock().unwrap().send(e);
        }),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    let rig = Rig {
        player,
        events,
        captured,
        _dir: dir,
        dir: path,
    };
    assert_eq!(rig.next_event(), PlayerEvent::DeviceReady);
    rig
}

impl Rig {
    fn next_event(&self) -> PlayerEvent {
        self.events
            .recv_timeout(Duration::from_secs(10))
            .expect("no event from the player within 10 s")
    }

    /// Events until one matches `stop` (included).
    fn events_until(&self, stop: impl Fn(&PlayerEvent) -> bool) -> Vec<PlayerEvent> {
        let mut seen = Vec::new();
        loop {
            let e = self.next_event();
            let done = stop(&e);
            seen.push(e);
            if done {
                return seen;
            }
        }
    }

    fn samples(&self) -> Vec<f32> {
        self.captured.lock().unwrap().clone()
    }
}

#[test]
fn plays_every_sample_of_the_file_in_order() {
    let r = rig(Pace::Unpaced);
    let path = counting_wav(&r.dir, "count.wav", 4000);
    r.player.set_volume(1.0);
    r.player.play(1, &path, 0.0);
    let events = r.events_until(|e| matches!(e, PlayerEvent::Finished { .. }));
    match &events[0] {
        PlayerEvent::Started {
            token, duration_s, ..
        } => {
            assert_eq!(*token, 1);
            assert!(
                (duration_s.expect("no duration") - 0.5).abs() < 1e-3,
                "{duration_s:?}"
            );
        }
        other => panic!("first event {other:?}"),
    }
    assert_eq!(events.last(), Some(&PlayerEvent::Finished { token: 1 }));
    let frames: Vec<i64> = r.samples().into_iter().map(frame).collect();
    assert_eq!(frames, (0..4000).collect::<Vec<i64>>());
}

#[test]
fn a_hit_inside_a_long_file_starts_at_its_offset() {
    let r = rig(Pace::Unpaced);
    let path = counting_wav(&r.dir, "long.wav", 24000);
    r.player.set_volume(1.0);
    r.player.play(7, &path, 1.5);
    r.events_until(|e| matches!(e, PlayerEvent::Finished { .. }));
    let samples = r.samples();
    assert_eq!(frame(samples[0]), 12000, "did not start at 1.5 s");
    assert_eq!(samples.len(), 12000);
    assert_eq!(frame(*samples.last().unwrap()), 23999);
}

#[test]
fn volume_scales_the_samples() {
    let r = rig(Pace::Unpaced);
    let path = counting_wav(&r.dir, "count.wav", 2000);
    r.player.set_volume(0.5);
    r.player.play(1, &path, 0.0);
    r.events_until(|e| matches!(e, PlayerEvent::Finished { .. }));
    let samples = r.samples();
    assert_eq!(frame(samples[1000] * 2.0), 1000);
    assert_eq!(frame(samples[1000]), 500);
}

#[test]
fn looping_starts_over_at_the_end_until_stopped() {
    let r = rig(Pace::Unpaced);
    let path = counting_wav(&r.dir, "short.wav", 800);
    r.player.set_volume(1.0);
    r.player.set_looping(true);
    r.player.play(3, &path, 0.0);
    assert!(matches!(
        r.next_event(),
        PlayerEvent::Started { token: 3, .. }
    ));
    // Unpaced, the sink runs through the file many times a millisecond.
    while r.samples().len() < 8000 {
        std::thread::sleep(Duration::from_millis(5));
    }
    r.player.stop();
    let frames: Vec<i64> = r.samples().into_iter().take(2400).map(frame).collect();
    let expected: Vec<i64> = (0..2400).map(|i| i % 800).collect();
    assert_eq!(frames, expected);
    // A stopped sound does not report an end.
    assert!(r.events.recv_timeout(Duration::from_millis(200)).is_err());
}

#[test]
fn seeking_moves_the_play_position_and_the_samples() {
    let r = rig(Pace::RealTime);
    let path = counting_wav(&r.dir, "four_s.wav", 32000);
    r.player.set_volume(1.0);
    r.player.play(1, &path, 0.0);
    assert!(matches!(
        r.next_event(),
        PlayerEvent::Started { token: 1, .. }
    ));
    r.player.seek_to(2.0);
    // The seek is applied at the next control check; wait for the position to move past it.
    let mut position = None;
    for _ in 0..200 {
        position = r.player.position();
        if position.is_some_and(|(_, p)| p >= 2.0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (token, seconds) = position.expect("no position");
    assert_eq!(token, 1);
    assert!((2.0..3.0).contains(&seconds), "position {seconds}");
    r.player.seek_by(-1.0);
    std::thread::sleep(Duration::from_millis(100));
    r.player.stop();
    let frames: Vec<i64> = r.samples().into_iter().map(frame).collect();
    let jump = frames
        .windows(2)
        .position(|w| w[1] != w[0] + 1)
        .expect("no seek in the samples");
    assert_eq!(frames[jump + 1], 16000, "the seek did not land on 2.0 s");
    let back = frames[jump + 1..]
        .windows(2)
        .position(|w| w[1] != w[0] + 1)
        .expect("no backward seek");
    let landed = frames[jump + 1 + back + 1];
    let expected = frames[jump + 1 + back] - 8000;
    assert!(
        (landed - expected).abs() <= 200,
        "seek_by(-1) went from {} to {landed}",
        frames[jump + 1 + back]
    );
}

#[test]
fn a_newer_sound_replaces_the_older_and_stop_silences() {
    let r = rig(Pace::RealTime);
    let one = counting_wav(&r.dir, "one.wav", 24000);
    let two = counting_wav(&r.dir, "two.wav", 24000);
    r.player.play(1, &one, 0.0);
    assert!(matches!(
        r.next_event(),
        PlayerEvent::Started { token: 1, .. }
    ));
    r.player.play(2, &two, 1.0);
    assert!(matches!(
        r.next_event(),
        PlayerEvent::Started { token: 2, .. }
    ));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(r.player.position().map(|(t, _)| t), Some(2));
    r.player.stop();
    assert_eq!(r.player.position(), None);
    let len = r.samples().len();
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        r.samples().len() <= len + 2 * 128,
        "still playing after stop"
    );
    assert!(
        r.events.recv_timeout(Duration::from_millis(100)).is_err(),
        "a stopped sound reported"
    );
}

#[test]
fn stop_right_after_play_leaves_silence() {
    let r = rig(Pace::RealTime);
    let path = counting_wav(&r.dir, "count.wav", 24000);
    for token in 1..=20 {
        r.player.play(token, &path, 0.0);
        r.player.stop();
    }
    // A sound may have started before its stop came; none may go on after.
    std::thread::sleep(Duration::from_millis(200));
    let len = r.samples().len();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(r.samples().len(), len, "still playing after stop");
    assert_eq!(r.player.position(), None);
    let events: Vec<PlayerEvent> = r.events.try_iter().collect();
    assert!(
        events
            .iter()
            .all(|e| matches!(e, PlayerEvent::Started { .. })),
        "{events:?}"
    );
}

#[test]
fn a_vanished_file_fails_with_its_name() {
    let r = rig(Pace::Unpaced);
    let gone = r.dir.join("gone.wav");
    r.player.play(4, &gone, 0.0);
    match r.next_event() {
        PlayerEvent::Failed { token: 4, message } => {
            assert!(
                message.contains("gone.wav") && message.contains("failed to open"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_file_that_does_not_decode_fails_with_its_name() {
    let r = rig(Pace::Unpaced);
    let junk = r.dir.join("junk.wav");
    std::fs::write(&junk, b"RIFF\x10\0\0\0WAVEjunk and more junk").unwrap();
    r.player.play(5, &junk, 0.0);
    match r.next_event() {
        PlayerEvent::Failed { token: 5, message } => {
            assert!(
                message.contains("junk.wav") && message.contains("failed to decode"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    // The player goes on.
    let good = counting_wav(&r.dir, "good.wav", 100);
    r.player.play(6, &good, 0.0);
    assert!(matches!(
        r.next_event(),
        PlayerEvent::Started { token: 6, .. }
    ));
}

#[test]
fn without_a_device_the_player_says_so_and_refuses() {
    let (tx, events) = mpsc::channel();
    let tx = Mutex::new(tx);
    let player = Player::spawn(
        || Err(PlaybackError::NoDevice("no card".into())),
        Arc::new(move |e| {
            let _ = tx.lock().unwrap().send(e);
        }),
    );
    let next = || {
        events
            .recv_timeout(Duration::from_secs(10))
            .expect("no event")
    };
    assert_eq!(next(), PlayerEvent::DeviceMissing("no card".into()));
    player.play(1, Path::new("/nonexistent.wav"), 0.0);
    assert!(matches!(next(), PlayerEvent::Failed { token: 1, .. }));
}

#[test]
fn without_the_sound_library_the_player_says_so_and_refuses() {
    let (tx, events) = mpsc::channel();
    let tx = Mutex::new(tx);
    let player = Player::spawn(
        || {
            Err(PlaybackError::NoSoundLibrary {
                library: "libasound.so.2".into(),
                cause: "libasound.so.2: cannot open shared object file".into(),
            })
        },
        Arc::new(move |e| {
            let _ = tx.lock().unwrap().send(e);
        }),
    );
    let next = || {
        events
            .recv_timeout(Duration::from_secs(10))
            .expect("no event")
    };
    match next() {
        PlayerEvent::DeviceMissing(reason) => assert!(
            reason.contains("no sound library")
                && reason.contains("`libasound.so.2`")
                && reason.contains("cannot open shared object file"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    player.play(1, Path::new("/nonexistent.wav"), 0.0);
    assert!(matches!(next(), PlayerEvent::Failed { token: 1, .. }));
}
