//! The output device on Linux: voices mixed by rodio's mixer and written to
//! ALSA's `default` PCM by a thread of the sink's own, with libasound loaded
//! when the sink opens.
//!
//! The writer sleeps while nothing plays. A voice wakes it; it then writes
//! period after period (blocking on the device) until a whole buffer of
//! silence has followed the last sound, so the tail plays out and a sound
//! shorter than the buffer still reaches the start threshold; then it stops
//! the device and sleeps again. A sound played from silence therefore starts
//! as soon as its first buffer is decoded, not behind a running stream's
//! buffer.

use std::num::NonZero;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;
use std::time::Duration;

use super::alsa::{self, Alsa, AlsaError, Buffering, Pcm, PcmSample};
use super::player::{AudioSink, PlaybackError, Voice};

/// The PCM hark plays to: the system's default output, as configured
/// (PipeWire, PulseAudio, dmix or a card).
const PCM_NAME: &std::ffi::CStr = c"default";

/// The ring buffer's length. The same as rodio gave cpal before (two
/// periods of the power of two nearest 50 ms: 85 ms at 48 kHz); ALSA splits
/// it into four periods.
const LATENCY_US: u32 = 85_000;

/// Channels of the output; voices are converted to it by the mixer.
const CHANNELS: u16 = 2;

/// Output settings to try, best first: 32-bit float needs no conversion of
/// the mixer's samples; 16-bit and 44.1 kHz for devices that take nothing
/// else.
const SETTINGS: [(Format, u32); 4] = [
    (Format::F32, 48_000),
    (Format::I16, 48_000),
    (Format::F32, 44_100),
    (Format::I16, 44_100),
];

/// Write attempts per block before the block is given up (each failed
/// attempt is followed by ALSA's recovery).
const WRITE_TRIES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    F32,
    I16,
}

/// The system's default output device, through ALSA.
pub struct DeviceSink {
    voices: Sender<Voice>,
}

impl DeviceSink {
    /// Loads the sound library, opens the default output device and starts
    /// the thread that writes to it. Write errors go to the log.
    pub fn open() -> Result<DeviceSink, PlaybackError> {
        Self::open_library(alsa::LIBRARY)
    }

    /// [`DeviceSink::open`] with the sound library's file name given.
    fn open_library(library: &str) -> Result<DeviceSink, PlaybackError> {
        let alsa = Alsa::load(library).map_err(|cause| PlaybackError::NoSoundLibrary {
            library: library.to_string(),
            cause: Box::new(cause),
        })?;
        let (voices, inbox) = mpsc::channel();
        let (opened_tx, opened) = mpsc::channel();
        // The PCM is opened on the writer's thread and never leaves it.
        thread::Builder::new()
            .name("hark-alsa".into())
            .spawn(move || match Writer::open(alsa) {
                Ok(writer) => {
                    let _ = opened_tx.send(Ok(()));
                    writer.run(inbox);
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                }
            })
            .map_err(|e| PlaybackError::NoDevice(format!("cannot start the audio thread: {e}")))?;
        match opened.recv() {
            Ok(Ok(())) => Ok(DeviceSink { voices }),
            // Worded without "ALSA": the pty test takes that word on the
            // screen for alsa-lib's stderr leaking over the UI.
            Ok(Err(e)) => Err(PlaybackError::NoDevice(format!(
                "cannot open the `{}` sound output: {e}",
                PCM_NAME.to_string_lossy()
            ))),
            Err(_) => Err(PlaybackError::NoDevice(
                "the audio thread ended while opening the device".into(),
            )),
        }
    }
}

impl AudioSink for DeviceSink {
    fn play(&mut self, voice: Voice) -> Result<(), PlaybackError> {
        self.voices
            .send(voice)
            .map_err(|_| PlaybackError::NoDevice("the audio thread has ended".into()))
    }
}

/// The writer thread's state: the open device and how it is set up.
struct Writer {
    pcm: Pcm,
    format: Format,
    rate: u32,
    buffering: Buffering,
}

impl Writer {
    fn open(alsa: Alsa) -> Result<Writer, AlsaError> {
        let mut pcm = Pcm::open(alsa, PCM_NAME)?;
        let mut last = None;
        for (format, rate) in SETTINGS {
            let set = match format {
                Format::F32 => pcm.configure::<f32>(u32::from(CHANNELS), rate, LATENCY_US),
                Format::I16 => pcm.configure::<i16>(u32::from(CHANNELS), rate, LATENCY_US),
            };
            match set {
                Ok(buffering) if buffering.period > 0 && buffering.buffer > 0 => {
                    tracing::info!(
                        "audio device: {format:?} {rate} Hz, {CHANNELS} channels, \
                         buffer {} frames in periods of {}",
                        buffering.buffer,
                        buffering.period
                    );
                    return Ok(Writer {
                        pcm,
                        format,
                        rate,
                        buffering,
                    });
                }
                Ok(_) => {}
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| pcm.error("snd_pcm_get_params", -libc::EINVAL)))
    }

    fn run(mut self, inbox: Receiver<Voice>) {
        let (Some(channels), Some(rate)) = (NonZero::new(CHANNELS), NonZero::new(self.rate)) else {
            return;
        };
        let (mixer, mut mixed) = rodio::mixer::mixer(channels, rate);
        let period = self.buffering.period;
        let mut block = vec![0.0f32; period * usize::from(CHANNELS)];
        let mut block16 = Vec::new();
        // Asleep until a voice comes.
        while let Ok(voice) = inbox.recv() {
            mixer.add(voice);
            let mut silent_frames = 0;
            while silent_frames < self.buffering.buffer {
                loop {
                    match inbox.try_recv() {
                        Ok(voice) => mixer.add(voice),
                        Err(TryRecvError::Empty) => break,
                        // The sink is gone (the player ended): stop at once.
                        Err(TryRecvError::Disconnected) => return,
                    }
                }
                // Every slot asks the mixer, sound or not, so its channel
                // count stays in step with the block's frames.
                let mut heard = false;
                for slot in block.iter_mut() {
                    *slot = match mixed.next() {
                        Some(sample) => {
                            heard = true;
                            sample
                        }
                        None => 0.0,
                    };
                }
                silent_frames = if heard { 0 } else { silent_frames + period };
                match self.format {
                    Format::F32 => self.write(&block),
                    Format::I16 => {
                        block16.clear();
                        block16.extend(block.iter().map(|&s| to_i16(s)));
                        self.write(&block16)
                    }
                }
            }
            // All that is queued now is silence.
            if let Err(e) = self.pcm.stop() {
                tracing::warn!("audio device: {e}");
            }
        }
    }

    /// Writes one block, recovering from underruns. A block the device
    /// keeps refusing is logged and skipped after as long as it would have
    /// played, so the voices still move at their pace.
    fn write<S: PcmSample>(&mut self, block: &[S]) {
        let channels = usize::from(CHANNELS);
        let mut done = 0;
        let mut failures = 0;
        while done < block.len() {
            match self.pcm.write(&block[done..], channels) {
                Ok(frames) if frames > 0 => done += frames * channels,
                Ok(_) => failures += 1,
                Err(code) => {
                    failures += 1;
                    if let Err(e) = self.pcm.recover(code) {
                        tracing::warn!("audio device: {e}");
                        failures = WRITE_TRIES;
                    } else if failures == WRITE_TRIES {
                        tracing::warn!("audio device: {}", self.pcm.error("snd_pcm_writei", code));
                    }
                }
            }
            if failures >= WRITE_TRIES {
                let frames = (block.len() - done) / channels;
                thread::sleep(Duration::from_secs_f64(
                    frames as f64 / f64::from(self.rate),
                ));
                return;
            }
        }
    }
}

/// A mixed sample as 16 bits, clipped.
fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_sound_library_opening_says_so() {
        match DeviceSink::open_library("libasound-hark-test-missing.so.2") {
            Err(e @ PlaybackError::NoSoundLibrary { .. }) => {
                let chain = crate::backend::error_chain(&e);
                assert!(chain.contains("no sound library"), "{chain}");
                assert!(
                    chain.contains("libasound-hark-test-missing.so.2"),
                    "{chain}"
                );
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("opened a library that does not exist"),
        }
    }

    #[test]
    fn the_real_device_opens_or_says_why() {
        // Whatever the machine has (no library, no card, a card): never a panic.
        if let Err(e) = DeviceSink::open() {
            assert!(
                matches!(
                    e,
                    PlaybackError::NoSoundLibrary { .. } | PlaybackError::NoDevice(_)
                ),
                "{e}"
            );
        }
    }

    #[test]
    fn samples_clip_to_16_bits() {
        assert_eq!(to_i16(0.0), 0);
        assert_eq!(to_i16(1.5), i16::MAX);
        assert_eq!(to_i16(-1.5), -i16::MAX);
        assert_eq!(to_i16(0.5), 16383);
    }
}
