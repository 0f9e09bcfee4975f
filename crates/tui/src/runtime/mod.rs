//! The running UI: the terminal, the event loop, and the threads that do
//! the slow work so the UI thread never waits.
//!
//! Threads, each reporting to the UI thread through one channel of
//! [`Msg`]s:
//!
//! - input: crossterm events (keys, mouse, resize, paste);
//! - the workers (`workers`): search, detail, reload;
//! - the player's, and short-lived ones for exports and opening folders.
//!
//! A panic in a worker is caught and shown as an error; the UI goes on.

mod error;
mod workers;

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::clipboard::CopyToClipboard;
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::execute;
use ratatui::Terminal;

pub use error::Error;

use crate::app::{App, Effect, Msg, PlaybackEvent, Settings};
use crate::backend::{error_chain, Backend};
use crate::playback::{self, AudioSink, Notify, Pace, Player, PlayerEvent};
use crate::terminal::Session;
use crate::{files, ui};
use workers::{spawn, CategoryJob, InfoJob, ListJob, Workers};

/// Where the sound goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioOutput {
    /// The system's default output device (needs the `playback` feature;
    /// without it, or without a device, the UI says there is no sound).
    Device,
    /// Nowhere: sounds "play" silently at their real pace, so the position
    /// moves (demos, tests, machines without sound).
    Silent,
}

/// How to run the UI.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// The log file (appended to). Everything the process would print while
    /// the UI runs goes there too.
    pub log_file: PathBuf,
    /// Where the sound goes.
    pub audio: AudioOutput,
    /// How often to ask the backend for a newly published index.
    pub reload_every: Duration,
    /// The UI core's settings.
    pub settings: Settings,
}

impl TuiOptions {
    /// Defaults: sound on the default device, a reload check every 2 s, and
    /// colour unless `NO_COLOR` is set.
    pub fn new(log_file: impl Into<PathBuf>) -> Self {
        let settings = Settings {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            ..Settings::default()
        };
        TuiOptions {
            log_file: log_file.into(),
            audio: AudioOutput::Device,
            reload_every: Duration::from_secs(2),
            settings,
        }
    }
}

/// Runs the terminal UI on `backend` until the user quits, starting with
/// `initial_query`'s results (the library when `None`). The terminal is
/// given back on every way out, panics and SIGTERM included.
pub fn run<B: Backend>(
    backend: B,
    initial_query: Option<String>,
    options: TuiOptions,
) -> Result<(), Error> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.log_file)
        .map_err(|cause| Error::Log {
            path: options.log_file.clone(),
            cause,
        })?;
    init_logging(&log);
    tracing::info!("hark tui starting");

    let (session, writer) = Session::start(&log).map_err(Error::Terminal)?;
    let result = event_loop(Arc::new(backend), initial_query, &options, writer);
    drop(session);
    match &result {
        Ok(()) => tracing::info!("hark tui closed"),
        Err(e) => tracing::error!("hark tui stopped: {}", error_chain(e)),
    }
    result
}

/// Sends the crate's `tracing` events to `log`, unless the program set up
/// its own subscriber (whose stderr output then lands in the log anyway,
/// fd 2 being redirected while the UI runs).
fn init_logging(log: &File) {
    let Ok(writer) = log.try_clone() else { return };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(Mutex::new(writer))
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
}

fn event_loop<B: Backend>(
    backend: Arc<B>,
    initial_query: Option<String>,
    options: &TuiOptions,
    writer: File,
) -> Result<(), Error> {
    let mut terminal = Terminal::new(CrosstermBackend::new(writer)).map_err(Error::Terminal)?;
    let size = terminal.size().map_err(Error::Terminal)?;
    let (tx, rx) = mpsc::channel::<Msg>();
    let stop = Arc::new(AtomicBool::new(false));

    // SIGTERM, SIGHUP and SIGINT end the loop like `q`, so the terminal is restored.
    let signalled = Arc::new(AtomicBool::new(false));
    let mut watched = Vec::new();
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        match signal_hook::flag::register(signal, Arc::clone(&signalled)) {
            Ok(id) => watched.push(id),
            Err(e) => tracing::warn!("cannot watch signal {signal}: {e}"),
        }
    }

    let input = spawn_input(tx.clone(), Arc::clone(&stop))?;
    let workers = Workers::start(
        Arc::clone(&backend),
        options.reload_every,
        tx.clone(),
        Arc::clone(&stop),
    )?;
    let player = start_player(options.audio, tx.clone());

    let (mut app, effects) = App::new(
        initial_query.as_deref(),
        options.settings.clone(),
        (size.width, size.height),
    );
    for effect in effects {
        perform(effect, &workers, &player, &mut terminal, &tx);
    }
    let mut last_position = None;
    let result = loop {
        if let Err(e) = terminal.draw(|frame| ui::draw(frame, &app)) {
            break Err(Error::Terminal(e));
        }
        let now = Instant::now();
        // Wake for the next deadline, and at least every 250 ms for signals.
        let wait = app
            .next_deadline(now)
            .map_or(Duration::from_millis(250), |t| {
                t.saturating_duration_since(now)
            })
            .min(Duration::from_millis(250));
        let mut messages = match rx.recv_timeout(wait) {
            Ok(msg) => vec![msg],
            Err(RecvTimeoutError::Timeout) => vec![Msg::Tick],
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        };
        // Apply everything that queued up before drawing again.
        messages.extend(rx.try_iter().take(256));
        messages.push(Msg::Tick);
        let position = player.position();
        if position != last_position {
            if let Some((token, position_s)) = position {
                messages.push(Msg::Playback(PlaybackEvent::Position { token, position_s }));
            }
            last_position = position;
        }
        if signalled.load(Ordering::Relaxed) {
            messages.push(Msg::Quit);
        }
        for msg in messages {
            for effect in app.update(msg, Instant::now()) {
                perform(effect, &workers, &player, &mut terminal, &tx);
            }
        }
        if app.quit {
            break Ok(());
        }
    };
    player.stop();
    stop.store(true, Ordering::Relaxed);
    // The signals get their usual meaning back.
    for id in watched {
        signal_hook::low_level::unregister(id);
    }
    // The input thread polls with a short timeout; let it finish so it does
    // not read keys meant for the shell. Not forever: on a hung-up terminal
    // crossterm's read can spin without returning, and the process must
    // still exit.
    let _ = input.recv_timeout(Duration::from_millis(500));
    result
}

/// Starts the input thread; the receiver disconnects when it ends.
fn spawn_input(tx: Sender<Msg>, stop: Arc<AtomicBool>) -> Result<Receiver<()>, Error> {
    let (ended, input) = mpsc::channel::<()>();
    spawn("input", move || {
        let _ended = ended;
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(50)) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    tracing::error!("reading the terminal: {e}");
                    let _ = tx.send(Msg::Quit);
                    return;
                }
            }
            let msg = match event::read() {
                Ok(Event::Key(key)) => Msg::Key(key),
                Ok(Event::Mouse(mouse)) => Msg::Mouse(mouse),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(Event::Paste(text)) => Msg::Paste(text),
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("reading the terminal: {e}");
                    let _ = tx.send(Msg::Quit);
                    return;
                }
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    })?;
    Ok(input)
}

fn start_player(output: AudioOutput, tx: Sender<Msg>) -> Player {
    let notify: Notify = Arc::new(move |event| {
        let event = match event {
            PlayerEvent::DeviceReady => PlaybackEvent::DeviceReady,
            PlayerEvent::DeviceMissing(reason) => {
                tracing::info!("no audio device: {reason}");
                PlaybackEvent::DeviceMissing(reason)
            }
            PlayerEvent::Started {
                token,
                duration_s,
                latency,
            } => {
                tracing::debug!(
                    "sound {token} started {} ms after the key",
                    latency.as_millis()
                );
                PlaybackEvent::Started { token, duration_s }
            }
            PlayerEvent::Finished { token } => PlaybackEvent::Finished { token },
            PlayerEvent::Failed { token, message } => PlaybackEvent::Failed { token, message },
        };
        let _ = tx.send(Msg::Playback(event));
    });
    Player::spawn(move || open_sink(output), notify)
}

fn open_sink(output: AudioOutput) -> Result<Box<dyn AudioSink>, playback::PlaybackError> {
    match output {
        AudioOutput::Silent => Ok(Box::new(playback::NullSink::new(Pace::RealTime))),
        #[cfg(feature = "playback")]
        AudioOutput::Device => Ok(Box::new(playback::DeviceSink::open()?)),
        #[cfg(not(feature = "playback"))]
        AudioOutput::Device => Err(playback::PlaybackError::NoDevice(
            crate::strings::NO_PLAYBACK_BUILD.into(),
        )),
    }
}

fn perform<B: Backend>(
    effect: Effect,
    workers: &Workers<B>,
    player: &Player,
    terminal: &mut Terminal<CrosstermBackend<File>>,
    tx: &Sender<Msg>,
) {
    match effect {
        Effect::List { seq, request, k } => workers.list(ListJob { seq, request, k }),
        Effect::LoadDetail(id) => workers.info(InfoJob::Detail(id)),
        Effect::LoadSummary => workers.info(InfoJob::Summary),
        Effect::LoadSuggestion(id) => workers.category(CategoryJob::Suggest(id)),
        Effect::AcceptCategory { id, cat_id } => {
            workers.category(CategoryJob::Accept { id, cat_id })
        }
        Effect::Play {
            token,
            path,
            start_s,
        } => player.play(token, &path, start_s),
        Effect::Stop => player.stop(),
        Effect::SeekBy(by) => player.seek_by(by),
        Effect::SeekTo(to) => player.seek_to(to),
        Effect::SetVolume(v) => player.set_volume(v),
        Effect::SetLooping(on) => player.set_looping(on),
        Effect::CopyToClipboard(text) => {
            if let Err(e) = execute!(
                terminal.backend_mut(),
                CopyToClipboard::to_clipboard_from(text)
            ) {
                tracing::warn!("clipboard: {e}");
            }
        }
        Effect::Export { files: paths, dir } => {
            let reply = tx.clone();
            let started = spawn("export", move || {
                let result = files::export(&paths, &dir).map_err(|e| error_chain(&e));
                let _ = reply.send(Msg::Exported(result));
            });
            if let Err(e) = started {
                let _ = tx.send(Msg::Exported(Err(error_chain(&e))));
            }
        }
        Effect::OpenFolder(dir) => {
            let result = files::open_folder(&dir).map_err(|e| e.to_string());
            let _ = tx.send(Msg::Opened { dir, result });
        }
    }
}
