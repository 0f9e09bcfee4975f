//! The silent sink: pulls voices at their own pace or as fast as it can,
//! and can keep the samples (tests, benchmarks, a machine without sound).

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::player::{AudioSink, PlaybackError, Voice};

/// How a [`NullSink`] pulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// At the sound's own rate, like a device (the position moves as it
    /// would with sound).
    RealTime,
    /// As fast as it can (tests, benchmarks).
    Unpaced,
}

/// A sink without sound: pulls each voice on a thread of its own, and can
/// keep what it pulled.
#[derive(Debug, Clone)]
pub struct NullSink {
    pace: Pace,
    capture: Option<Arc<Mutex<Vec<f32>>>>,
}

impl NullSink {
    /// A sink that pulls at `pace` and keeps nothing.
    pub fn new(pace: Pace) -> Self {
        NullSink {
            pace,
            capture: None,
        }
    }

    /// A sink that appends every sample pulled (of every voice) to
    /// `capture`.
    pub fn capturing(pace: Pace, capture: Arc<Mutex<Vec<f32>>>) -> Self {
        NullSink {
            pace,
            capture: Some(capture),
        }
    }
}

impl AudioSink for NullSink {
    fn play(&mut self, mut voice: Voice) -> Result<(), PlaybackError> {
        let pace = self.pace;
        let capture = self.capture.clone();
        thread::Builder::new()
            .name("hark-null-sink".into())
            .spawn(move || {
                let frames_per_block = (voice.rate / 100.0).max(1.0) as usize; // 10 ms
                let block = frames_per_block * voice.channels;
                let start = Instant::now();
                let mut blocks = 0u32;
                let mut buffer = Vec::with_capacity(block);
                loop {
                    buffer.clear();
                    buffer.extend(voice.by_ref().take(block));
                    if let Some(capture) = &capture {
                        capture
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend_from_slice(&buffer);
                    }
                    if buffer.len() < block {
                        break;
                    }
                    blocks += 1;
                    if pace == Pace::RealTime {
                        let due = start + Duration::from_millis(10) * blocks;
                        thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                }
            })
            .map(|_| ())
            .map_err(|e| {
                PlaybackError::NoDevice(format!("cannot start the null sink's thread: {e}"))
            })
    }
}
