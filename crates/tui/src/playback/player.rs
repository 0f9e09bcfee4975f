//! The player and its voices: requests from the UI, the player's thread
//! that opens and probes files, and the [`Voice`] a sink pulls samples from.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use rodio::{Decoder, Source};

/// Why a sound cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    /// The file could not be opened (vanished since indexing, unreadable).
    #[error("failed to open `{}`: {cause}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        cause: std::io::Error,
    },
    /// The decoder did not recognise or could not start the file.
    #[error("failed to decode `{}`: {cause}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What rodio's decoder said.
        #[source]
        cause: rodio::decoder::DecoderError,
    },
    /// Seeking to the start position failed.
    #[error("failed to seek in `{}` to {seconds:.2} s: {cause}", path.display())]
    Seek {
        /// The file.
        path: PathBuf,
        /// The position asked for.
        seconds: f64,
        /// What the decoder said.
        #[source]
        cause: rodio::source::SeekError,
    },
    /// There is no output device.
    #[error("no audio device: {0}")]
    NoDevice(String),
    /// The system's sound library could not be loaded (not installed, or
    /// lacking a function hark calls).
    #[error("no sound library: cannot load `{library}`")]
    NoSoundLibrary {
        /// The library's file name, as given to the dynamic loader.
        library: String,
        /// What the dynamic loader said.
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Something that plays [`Voice`]s. It need not be `Send`: it lives on the
/// player's thread (a cpal stream may not move between threads).
pub trait AudioSink {
    /// Starts pulling samples from `voice` until it ends. The previous voice
    /// has been told to stop; the sink need not wait for it.
    fn play(&mut self, voice: Voice) -> Result<(), PlaybackError>;
}

/// What the player tells its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    /// The sink is open.
    DeviceReady,
    /// There is no sink; why.
    DeviceMissing(String),
    /// The first sample of `token` was pulled by the sink.
    Started {
        /// The request.
        token: u64,
        /// The file's length, when the decoder knows it.
        duration_s: Option<f64>,
        /// From [`Player::play`] to the first sample pulled.
        latency: Duration,
    },
    /// `token` played to its end.
    Finished {
        /// The request.
        token: u64,
    },
    /// `token` could not be played.
    Failed {
        /// The request.
        token: u64,
        /// Why (the error and its causes).
        message: String,
    },
}

/// The callback that receives [`PlayerEvent`]s; called from the player's
/// thread and from the sink's (the audio callback), so it must not block.
pub type Notify = Arc<dyn Fn(PlayerEvent) + Send + Sync>;

/// Settings shared by every voice of a player.
#[derive(Debug)]
struct Shared {
    /// f32 bits.
    volume: AtomicU32,
    looping: AtomicBool,
}

/// The controls and published state of one voice.
#[derive(Debug)]
struct VoiceState {
    token: u64,
    stop: AtomicBool,
    /// A pending absolute seek target in seconds (f64 bits), or `NO_SEEK`.
    seek_to: AtomicU64,
    /// Position in microseconds from the file's start.
    position_us: AtomicU64,
    requested: Instant,
    started: OnceLock<Instant>,
}

const NO_SEEK: u64 = u64::MAX;

/// Controls are applied and the position published every this many frames
/// (2.7 ms at 48 kHz): often enough for a smooth cursor and snappy seeks,
/// rare enough to cost nothing.
const CHECK_FRAMES: usize = 128;

/// One sound being played: a rodio [`Source`] over the file's decoder that
/// obeys the player's controls. Made by the player; sinks only pull it.
pub struct Voice {
    inner: Box<dyn Source + Send>,
    state: Arc<VoiceState>,
    shared: Arc<Shared>,
    notify: Notify,
    /// Interleaved channels of the file.
    pub(super) channels: usize,
    /// Frames per second of the file.
    pub(super) rate: f64,
    duration_s: Option<f64>,
    /// Position of the sample counter's zero, seconds from the file's start.
    base_s: f64,
    /// Samples (not frames) given out since `base_s`.
    samples: u64,
    countdown: usize,
    volume: f32,
    ended: bool,
}

impl Voice {
    /// The request this voice answers.
    pub fn token(&self) -> u64 {
        self.state.token
    }

    fn position_s(&self) -> f64 {
        self.base_s + self.samples as f64 / (self.channels as f64 * self.rate)
    }

    /// Applies pending controls at a frame boundary and publishes the position.
    fn check_controls(&mut self) {
        self.volume = f32::from_bits(self.shared.volume.load(Ordering::Relaxed));
        let target = self.state.seek_to.swap(NO_SEEK, Ordering::AcqRel);
        if target != NO_SEEK {
            let mut seconds = f64::from_bits(target).max(0.0);
            if let Some(d) = self.duration_s {
                seconds = seconds.min(d);
            }
            // A failed seek leaves the decoder where it was (rodio says
            // whether the source is intact); play on from there.
            if self
                .inner
                .try_seek(Duration::from_secs_f64(seconds))
                .is_ok()
            {
                self.base_s = seconds;
                self.samples = 0;
            }
        }
        let us = (self.position_s() * 1e6) as u64;
        self.state.position_us.store(us, Ordering::Relaxed);
    }

    fn end(&mut self) -> Option<f32> {
        if !self.ended {
            self.ended = true;
            if !self.state.stop.load(Ordering::Relaxed) {
                (self.notify)(PlayerEvent::Finished {
                    token: self.state.token,
                });
            }
        }
        None
    }
}

impl Iterator for Voice {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        if self.ended || self.state.stop.load(Ordering::Relaxed) {
            return self.end();
        }
        if self.countdown == 0 {
            self.countdown = CHECK_FRAMES * self.channels;
            self.check_controls();
        }
        self.countdown -= 1;
        let sample = match self.inner.next() {
            Some(s) => s,
            None if self.shared.looping.load(Ordering::Relaxed) && self.samples > 0 => {
                if self.inner.try_seek(Duration::ZERO).is_err() {
                    return self.end();
                }
                self.base_s = 0.0;
                self.samples = 0;
                self.countdown = CHECK_FRAMES * self.channels - 1;
                match self.inner.next() {
                    Some(s) => s,
                    None => return self.end(),
                }
            }
            None => return self.end(),
        };
        if self.samples == 0 && self.state.started.set(Instant::now()).is_ok() {
            let latency = self
                .state
                .started
                .get()
                .map_or(Duration::ZERO, |t| t.duration_since(self.state.requested));
            (self.notify)(PlayerEvent::Started {
                token: self.state.token,
                duration_s: self.duration_s,
                latency,
            });
        }
        self.samples += 1;
        Some(sample * self.volume)
    }
}

impl Source for Voice {
    // One file keeps its rate and channel count throughout, so there are
    // no span boundaries to announce.
    fn current_span_len(&self) -> Option<usize> {
        None
    }

    fn channels(&self) -> rodio::ChannelCount {
        self.inner.channels()
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        self.inner.sample_rate()
    }

    fn total_duration(&self) -> Option<Duration> {
        self.inner.total_duration()
    }
}

enum Command {
    Play {
        state: Arc<VoiceState>,
        path: PathBuf,
        start_s: f64,
    },
}

/// Plays one sound at a time. Cheap calls from the UI thread; the file is
/// opened and probed on the player's own thread.
pub struct Player {
    commands: Sender<Command>,
    shared: Arc<Shared>,
    current: Arc<Mutex<Option<Arc<VoiceState>>>>,
    /// The token the owner wants playing (0: silence), so a `stop` that
    /// overtakes its `play` on the way to the thread still wins.
    wanted: Arc<AtomicU64>,
}

impl Player {
    /// Starts the player's thread, which first calls `open_sink` (opening an
    /// audio device may take a while and must not hold up the UI) and
    /// reports [`PlayerEvent::DeviceReady`] or
    /// [`PlayerEvent::DeviceMissing`] to `notify`.
    pub fn spawn<F>(open_sink: F, notify: Notify) -> Player
    where
        F: FnOnce() -> Result<Box<dyn AudioSink>, PlaybackError> + Send + 'static,
    {
        let (commands, inbox) = mpsc::channel();
        let shared = Arc::new(Shared {
            volume: AtomicU32::new(1.0f32.to_bits()),
            looping: AtomicBool::new(false),
        });
        let current = Arc::new(Mutex::new(None));
        let wanted = Arc::new(AtomicU64::new(0));
        let player = Player {
            commands,
            shared: Arc::clone(&shared),
            current: Arc::clone(&current),
            wanted: Arc::clone(&wanted),
        };
        let report = Arc::clone(&notify);
        let spawned = thread::Builder::new()
            .name("hark-player".into())
            .spawn(move || {
                let sink = match open_sink() {
                    Ok(sink) => {
                        notify(PlayerEvent::DeviceReady);
                        Some(sink)
                    }
                    Err(PlaybackError::NoDevice(reason)) => {
                        notify(PlayerEvent::DeviceMissing(reason));
                        None
                    }
                    Err(e) => {
                        notify(PlayerEvent::DeviceMissing(crate::backend::error_chain(&e)));
                        None
                    }
                };
                player_thread(sink, inbox, shared, current, wanted, notify);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the player thread: {e}");
            report(PlayerEvent::DeviceMissing(format!(
                "cannot start the player thread: {e}"
            )));
        }
        player
    }

    /// Plays `path` from `start_s` seconds, stopping what played. `token`
    /// identifies the request in the events; use a new one each time.
    pub fn play(&self, token: u64, path: &Path, start_s: f64) {
        let requested = Instant::now();
        self.stop_current();
        self.wanted.store(token, Ordering::Release);
        let state = Arc::new(VoiceState {
            token,
            stop: AtomicBool::new(false),
            seek_to: AtomicU64::new(NO_SEEK),
            position_us: AtomicU64::new((start_s.max(0.0) * 1e6) as u64),
            requested,
            started: OnceLock::new(),
        });
        // The thread only ends with the player; a send cannot fail before.
        let _ = self.commands.send(Command::Play {
            state,
            path: path.to_path_buf(),
            start_s,
        });
    }

    /// Stops playing.
    pub fn stop(&self) {
        self.wanted.store(0, Ordering::Release);
        self.stop_current();
    }

    fn stop_current(&self) {
        if let Some(state) = self.lock_current().take() {
            state.stop.store(true, Ordering::Release);
        }
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, Option<Arc<VoiceState>>> {
        // A panic while holding this lock leaves a plain Option behind: still valid.
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves the play position by `by_s` seconds (clamped to the file).
    pub fn seek_by(&self, by_s: f64) {
        if let Some(state) = self.lock_current().as_ref() {
            let now = state.position_us.load(Ordering::Relaxed) as f64 / 1e6;
            state
                .seek_to
                .store((now + by_s).max(0.0).to_bits(), Ordering::Release);
        }
    }

    /// Moves the play position to `seconds` from the file's start.
    pub fn seek_to(&self, seconds: f64) {
        if let Some(state) = self.lock_current().as_ref() {
            state
                .seek_to
                .store(seconds.max(0.0).to_bits(), Ordering::Release);
        }
    }

    /// Sets the volume (0 to 1, applied to every sound from the next few
    /// milliseconds on).
    pub fn set_volume(&self, volume: f32) {
        self.shared
            .volume
            .store(volume.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }

    /// Loop sounds or not (also the one playing).
    pub fn set_looping(&self, looping: bool) {
        self.shared.looping.store(looping, Ordering::Relaxed);
    }

    /// The sound playing and its position in seconds from the file's start,
    /// once its first sample has gone out.
    pub fn position(&self) -> Option<(u64, f64)> {
        let current = self.lock_current();
        let state = current.as_ref()?;
        state.started.get()?;
        Some((
            state.token,
            state.position_us.load(Ordering::Relaxed) as f64 / 1e6,
        ))
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.stop();
    }
}

fn player_thread(
    mut sink: Option<Box<dyn AudioSink>>,
    inbox: Receiver<Command>,
    shared: Arc<Shared>,
    current: Arc<Mutex<Option<Arc<VoiceState>>>>,
    wanted: Arc<AtomicU64>,
    notify: Notify,
) {
    while let Ok(mut command) = inbox.recv() {
        // Only the newest request matters (keys held down, audition while scrolling).
        while let Ok(newer) = inbox.try_recv() {
            command = newer;
        }
        let Command::Play {
            state,
            path,
            start_s,
        } = command;
        let token = state.token;
        if wanted.load(Ordering::Acquire) != token {
            continue;
        }
        let Some(sink) = sink.as_mut() else {
            notify(PlayerEvent::Failed {
                token,
                message: strings_no_device(),
            });
            continue;
        };
        let voice = match open_voice(
            &path,
            start_s,
            Arc::clone(&state),
            Arc::clone(&shared),
            Arc::clone(&notify),
        ) {
            Ok(voice) => voice,
            Err(e) => {
                tracing::warn!("{}", crate::backend::error_chain(&e));
                notify(PlayerEvent::Failed {
                    token,
                    message: crate::backend::error_chain(&e),
                });
                continue;
            }
        };
        {
            let mut slot = current
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // A stop or a newer play may have come in while the file opened.
            if wanted.load(Ordering::Acquire) != token {
                continue;
            }
            if let Some(old) = slot.replace(Arc::clone(&state)) {
                old.stop.store(true, Ordering::Release);
            }
        }
        if let Err(e) = sink.play(voice) {
            notify(PlayerEvent::Failed {
                token,
                message: crate::backend::error_chain(&e),
            });
        }
    }
}

fn strings_no_device() -> String {
    crate::strings::NO_AUDIO.to_string()
}

/// Opens `path`, probes it and seeks to `start_s`: everything before the
/// first sample.
fn open_voice(
    path: &Path,
    start_s: f64,
    state: Arc<VoiceState>,
    shared: Arc<Shared>,
    notify: Notify,
) -> Result<Voice, PlaybackError> {
    let file = File::open(path).map_err(|cause| PlaybackError::Open {
        path: path.to_path_buf(),
        cause,
    })?;
    // TryFrom<File> gives the decoder the byte length, which seeking needs.
    let mut decoder = Decoder::try_from(file).map_err(|cause| PlaybackError::Decode {
        path: path.to_path_buf(),
        cause,
    })?;
    let duration_s = decoder.total_duration().map(|d| d.as_secs_f64());
    let mut base_s = 0.0;
    if start_s > 0.0 {
        decoder
            .try_seek(Duration::from_secs_f64(start_s))
            .map_err(|cause| PlaybackError::Seek {
                path: path.to_path_buf(),
                seconds: start_s,
                cause,
            })?;
        base_s = duration_s.map_or(start_s, |d| start_s.min(d));
    }
    let channels = usize::from(decoder.channels().get());
    let rate = f64::from(decoder.sample_rate().get());
    Ok(Voice {
        inner: Box::new(decoder),
        state,
        volume: f32::from_bits(shared.volume.load(Ordering::Relaxed)),
        shared,
        notify,
        channels,
        rate,
        duration_s,
        base_s,
        samples: 0,
        countdown: 0,
        ended: false,
    })
}
