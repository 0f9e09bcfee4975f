//! The running UI: the terminal, the event loop, and the threads that do
//! the slow work so the UI thread never waits.
//!
//! Threads, each reporting to the UI thread through one channel of
//! [`Msg`]s:
//!
//! - input: crossterm events (keys, mouse, resize, paste);
//! - search: lists (text queries in two stages, similar, refine, recent);
//!   only the newest request is worked on, and a stage whose request was
//!   replaced while it ran is not reported;
//! - detail: a file's details and the index summary, newest request first;
//! - reload: asks the backend every couple of seconds whether a new index
//!   was published;
//! - the player's, and short-lived ones for exports and opening folders.
//!
//! A panic in a worker is caught and shown as an error; the UI goes on.

use std::fs::{File, OpenOptions};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::clipboard::CopyToClipboard;
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::execute;
use ratatui::Terminal;

use crate::app::{App, Effect, Msg, PlaybackEvent, Settings};
use crate::backend::{error_chain, Backend, FileId};
use crate::playback::{self, AudioSink, Notify, Pace, Player, PlayerEvent};
use crate::terminal::Session;
use crate::{files, ui};

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

/// Why the UI could not run (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The log file could not be opened.
    #[error("failed to open the log file `{}`: {cause}", path.display())]
    Log {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        cause: std::io::Error,
    },
    /// The terminal could not be set up or written to (or standard output
    /// is not a terminal).
    #[error("terminal: {0}")]
    Terminal(#[source] std::io::Error),
    /// A thread could not be started.
    #[error("failed to start the {name} thread: {cause}")]
    Thread {
        /// Which.
        name: &'static str,
        /// What the operating system said.
        #[source]
        cause: std::io::Error,
    },
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

fn spawn(
    name: &'static str,
    body: impl FnOnce() + Send + 'static,
) -> Result<thread::JoinHandle<()>, Error> {
    thread::Builder::new()
        .name(format!("hark-{name}"))
        .spawn(body)
        .map_err(|cause| Error::Thread { name, cause })
}

/// A backend panic, for the status line.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    crate::strings::engine_panicked(&message)
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
    let workers = Workers::start(Arc::clone(&backend), options, tx.clone(), Arc::clone(&stop))?;
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
        Effect::Recent { seq } => workers.list(ListJob::Recent { seq }),
        Effect::Search { seq, text } => workers.list(ListJob::Search { seq, text }),
        Effect::Similar { seq, id } => workers.list(ListJob::Similar { seq, id }),
        Effect::Refine {
            seq,
            text,
            wanted,
            unwanted,
        } => workers.list(ListJob::Refine {
            seq,
            text,
            wanted,
            unwanted,
        }),
        Effect::LoadDetail(id) => workers.info(InfoJob::Detail(id)),
        Effect::LoadSummary => workers.info(InfoJob::Summary),
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

/// A list request for the search thread.
enum ListJob {
    Recent {
        seq: u64,
    },
    Search {
        seq: u64,
        text: String,
    },
    Similar {
        seq: u64,
        id: FileId,
    },
    Refine {
        seq: u64,
        text: String,
        wanted: Vec<FileId>,
        unwanted: Vec<FileId>,
    },
}

impl ListJob {
    fn seq(&self) -> u64 {
        match self {
            ListJob::Recent { seq }
            | ListJob::Search { seq, .. }
            | ListJob::Similar { seq, .. }
            | ListJob::Refine { seq, .. } => *seq,
        }
    }
}

/// A request for the detail thread.
enum InfoJob {
    Detail(FileId),
    Summary,
}

/// The worker threads' inboxes.
struct Workers<B: Backend> {
    lists: Sender<ListJob>,
    info: Sender<InfoJob>,
    /// The newest list request, so the search thread can drop stale work.
    latest: Arc<AtomicU64>,
    _backend: std::marker::PhantomData<B>,
}

impl<B: Backend> Workers<B> {
    fn start(
        backend: Arc<B>,
        options: &TuiOptions,
        tx: Sender<Msg>,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, Error> {
        let (lists, list_inbox) = mpsc::channel();
        let (info, info_inbox) = mpsc::channel();
        let latest = Arc::new(AtomicU64::new(0));
        let k = options.settings.k;
        {
            let (backend, tx, latest) = (Arc::clone(&backend), tx.clone(), Arc::clone(&latest));
            spawn("search", move || {
                search_thread(&*backend, list_inbox, &tx, &latest, k)
            })?;
        }
        {
            let (backend, tx) = (Arc::clone(&backend), tx.clone());
            spawn("detail", move || info_thread(&*backend, info_inbox, &tx))?;
        }
        let every = options.reload_every;
        spawn("reload", move || {
            reload_thread(&*backend, every, &tx, &stop)
        })?;
        Ok(Workers {
            lists,
            info,
            latest,
            _backend: std::marker::PhantomData,
        })
    }

    fn list(&self, job: ListJob) {
        self.latest.store(job.seq(), Ordering::Release);
        let _ = self.lists.send(job);
    }

    fn info(&self, job: InfoJob) {
        let _ = self.info.send(job);
    }
}

/// Text vectors of recent queries, so refining and going back do not
/// re-run the text tower. Small: a session types a few hundred queries.
struct VectorCache<V> {
    entries: Vec<(String, Arc<V>)>,
}

impl<V> VectorCache<V> {
    const SIZE: usize = 64;

    fn get(&self, text: &str) -> Option<Arc<V>> {
        self.entries
            .iter()
            .find(|(t, _)| t == text)
            .map(|(_, v)| Arc::clone(v))
    }

    fn put(&mut self, text: &str, vectors: Arc<V>) {
        if self.entries.len() >= Self::SIZE {
            self.entries.remove(0);
        }
        self.entries.push((text.to_string(), vectors));
    }
}

fn search_thread<B: Backend>(
    backend: &B,
    inbox: Receiver<ListJob>,
    tx: &Sender<Msg>,
    latest: &AtomicU64,
    k: usize,
) {
    let mut cache = VectorCache {
        entries: Vec::new(),
    };
    while let Ok(mut job) = inbox.recv() {
        while let Ok(newer) = inbox.try_recv() {
            job = newer;
        }
        let seq = job.seq();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run_list_job(backend, job, tx, latest, k, &mut cache)
        }));
        if let Err(payload) = outcome {
            let _ = tx.send(Msg::Hits {
                seq,
                result: Err(panic_text(&*payload)),
                done: true,
            });
        }
    }
}

/// Runs one list request, reporting each stage unless a newer request came.
fn run_list_job<B: Backend>(
    backend: &B,
    job: ListJob,
    tx: &Sender<Msg>,
    latest: &AtomicU64,
    k: usize,
    cache: &mut VectorCache<B::Vectors>,
) {
    let current = |seq: u64| latest.load(Ordering::Acquire) == seq;
    let send = |seq: u64, result: Result<Vec<crate::Hit>, B::Error>, done: bool| {
        let _ = tx.send(Msg::Hits {
            seq,
            result: result.map_err(|e| error_chain(&e)),
            done,
        });
    };
    match job {
        ListJob::Recent { seq } => send(seq, backend.recent(k), true),
        ListJob::Similar { seq, id } => send(seq, backend.similar(id, k), true),
        ListJob::Search { seq, text } => {
            let query = match backend.parse(&text) {
                Ok(q) => q,
                Err(e) => return send(seq, Err(e), true),
            };
            if let Some(vectors) = cache.get(&text) {
                return send(seq, backend.run(&query, Some(&vectors), k), true);
            }
            // Stage 1, at once: words and filters.
            match backend.run(&query, None, k) {
                Ok(hits) => send(seq, Ok(hits), false),
                Err(e) => return send(seq, Err(e), true),
            }
            if !current(seq) {
                return;
            }
            // Stage 2: the text tower, then the full search.
            let vectors = match backend.embed_query(&query) {
                Ok(v) => Arc::new(v),
                Err(e) => return send(seq, Err(e), true),
            };
            cache.put(&text, Arc::clone(&vectors));
            if current(seq) {
                send(seq, backend.run(&query, Some(&vectors), k), true);
            }
        }
        ListJob::Refine {
            seq,
            text,
            wanted,
            unwanted,
        } => {
            let query = match backend.parse(&text) {
                Ok(q) => q,
                Err(e) => return send(seq, Err(e), true),
            };
            let vectors = if text.trim().is_empty() {
                None
            } else if let Some(v) = cache.get(&text) {
                Some(v)
            } else {
                match backend.embed_query(&query) {
                    Ok(v) => {
                        let v = Arc::new(v);
                        cache.put(&text, Arc::clone(&v));
                        Some(v)
                    }
                    Err(e) => return send(seq, Err(e), true),
                }
            };
            send(
                seq,
                backend.refine(&query, vectors.as_deref(), &wanted, &unwanted, k),
                true,
            );
        }
    }
}

fn info_thread<B: Backend>(backend: &B, inbox: Receiver<InfoJob>, tx: &Sender<Msg>) {
    while let Ok(first) = inbox.recv() {
        // The newest detail request, and the summary if any asked for it.
        let mut detail = None;
        let mut summary = false;
        for job in std::iter::once(first).chain(inbox.try_iter()) {
            match job {
                InfoJob::Detail(id) => detail = Some(id),
                InfoJob::Summary => summary = true,
            }
        }
        if let Some(id) = detail {
            let result = catch_unwind(AssertUnwindSafe(|| {
                backend
                    .detail(id)
                    .map(Box::new)
                    .map_err(|e| error_chain(&e))
            }))
            .unwrap_or_else(|p| Err(panic_text(&*p)));
            let _ = tx.send(Msg::Detail { id, result });
        }
        if summary {
            let result = catch_unwind(AssertUnwindSafe(|| {
                backend.summary().map_err(|e| error_chain(&e))
            }))
            .unwrap_or_else(|p| Err(panic_text(&*p)));
            let _ = tx.send(Msg::Summary(result));
        }
    }
}

fn reload_thread<B: Backend>(backend: &B, every: Duration, tx: &Sender<Msg>, stop: &AtomicBool) {
    let mut last_error: Option<String> = None;
    let step = Duration::from_millis(50);
    loop {
        let until = Instant::now() + every;
        while Instant::now() < until {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            thread::sleep(step.min(until.saturating_duration_since(Instant::now())));
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            backend.reload_if_changed().map_err(|e| error_chain(&e))
        }))
        .unwrap_or_else(|p| Err(panic_text(&*p)));
        let msg = match outcome {
            Ok(true) => {
                last_error = None;
                tracing::info!("a new index was published; reloaded");
                Msg::IndexChanged
            }
            Ok(false) => {
                last_error = None;
                continue;
            }
            // Said once, not every couple of seconds.
            Err(e) if last_error.as_deref() == Some(e.as_str()) => continue,
            Err(e) => {
                tracing::warn!("reload check: {e}");
                last_error = Some(e.clone());
                Msg::ReloadFailed(e)
            }
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    //! The worker threads' logic against a small scripted backend: two
    //! search stages, stale requests, the vector cache, caught panics,
    //! reload reports.

    use super::*;
    use crate::{FileDetail, Hit, IndexSummary, Matched};
    use std::sync::atomic::AtomicUsize;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct ScriptError(String);

    /// Hits are numbered by the query's length: lexical gives id 1, the
    /// full search id 2; `detail` panics; `reload_if_changed` follows
    /// `reloads`.
    #[derive(Default)]
    struct Script {
        embeds: AtomicUsize,
        reloads: Mutex<Vec<Result<bool, String>>>,
    }

    fn hit(id: i64) -> Hit {
        Hit {
            id: FileId(id),
            path: format!("/x/{id}.wav").into(),
            score: 1.0,
            duration_s: None,
            sample_rate: None,
            channels: None,
            offset_s: None,
            matched: Matched::Words,
        }
    }

    impl Backend for Script {
        type Query = String;
        type Vectors = usize;
        type Error = ScriptError;
        fn parse(&self, q: &str) -> Result<String, ScriptError> {
            if q.contains(':') {
                return Err(ScriptError("bad filter".into()));
            }
            Ok(q.to_string())
        }
        fn embed_query(&self, q: &String) -> Result<usize, ScriptError> {
            self.embeds.fetch_add(1, Ordering::SeqCst);
            Ok(q.len())
        }
        fn run(&self, _: &String, v: Option<&usize>, _: usize) -> Result<Vec<Hit>, ScriptError> {
            Ok(vec![hit(if v.is_some() { 2 } else { 1 })])
        }
        fn similar(&self, id: FileId, _: usize) -> Result<Vec<Hit>, ScriptError> {
            Ok(vec![hit(id.0 + 100)])
        }
        fn refine(
            &self,
            q: &String,
            v: Option<&usize>,
            w: &[FileId],
            u: &[FileId],
            _: usize,
        ) -> Result<Vec<Hit>, ScriptError> {
            Ok(vec![hit(q.len() as i64 * 1000
                + v.copied().unwrap_or(0) as i64 * 100
                + w.len() as i64 * 10
                + u.len() as i64)])
        }
        fn recent(&self, _: usize) -> Result<Vec<Hit>, ScriptError> {
            Ok(vec![hit(9)])
        }
        fn detail(&self, _: FileId) -> Result<FileDetail, ScriptError> {
            panic!("detail blew up");
        }
        fn reload_if_changed(&self) -> Result<bool, ScriptError> {
            let mut r = self.reloads.lock().unwrap();
            if r.is_empty() {
                Ok(false)
            } else {
                r.remove(0).map_err(ScriptError)
            }
        }
        fn summary(&self) -> Result<IndexSummary, ScriptError> {
            Ok(IndexSummary::default())
        }
    }

    fn ids(msg: &Msg) -> (u64, Vec<i64>, bool) {
        match msg {
            Msg::Hits {
                seq,
                result: Ok(h),
                done,
            } => (*seq, h.iter().map(|h| h.id.0).collect(), *done),
            other => panic!("{other:?}"),
        }
    }

    fn run_job(
        backend: &Script,
        job: ListJob,
        latest: u64,
        cache: &mut VectorCache<usize>,
    ) -> Vec<Msg> {
        let (tx, rx) = mpsc::channel();
        run_list_job(backend, job, &tx, &AtomicU64::new(latest), 10, cache);
        drop(tx);
        rx.into_iter().collect()
    }

    #[test]
    fn a_text_query_answers_twice_then_once_from_the_cache() {
        let b = Script::default();
        let mut cache = VectorCache {
            entries: Vec::new(),
        };
        let job = || ListJob::Search {
            seq: 4,
            text: "rain".into(),
        };
        let msgs = run_job(&b, job(), 4, &mut cache);
        assert_eq!(
            msgs.iter().map(ids).collect::<Vec<_>>(),
            vec![(4, vec![1], false), (4, vec![2], true)]
        );
        let msgs = run_job(&b, job(), 4, &mut cache);
        assert_eq!(
            msgs.iter().map(ids).collect::<Vec<_>>(),
            vec![(4, vec![2], true)]
        );
        assert_eq!(b.embeds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_replaced_request_stops_after_its_first_stage() {
        let b = Script::default();
        let mut cache = VectorCache {
            entries: Vec::new(),
        };
        let msgs = run_job(
            &b,
            ListJob::Search {
                seq: 4,
                text: "rain".into(),
            },
            5,
            &mut cache,
        );
        assert_eq!(
            msgs.iter().map(ids).collect::<Vec<_>>(),
            vec![(4, vec![1], false)]
        );
        assert_eq!(
            b.embeds.load(Ordering::SeqCst),
            0,
            "embedded for a replaced request"
        );
    }

    #[test]
    fn a_parse_error_ends_the_request_with_the_message() {
        let b = Script::default();
        let mut cache = VectorCache {
            entries: Vec::new(),
        };
        let msgs = run_job(
            &b,
            ListJob::Search {
                seq: 1,
                text: "dur:".into(),
            },
            1,
            &mut cache,
        );
        assert!(
            matches!(&msgs[..], [Msg::Hits { seq: 1, result: Err(e), done: true }] if e == "bad filter"),
            "{msgs:?}"
        );
    }

    #[test]
    fn refine_embeds_a_text_query_and_not_an_empty_one() {
        let b = Script::default();
        let mut cache = VectorCache {
            entries: Vec::new(),
        };
        let refine = |text: &str| ListJob::Refine {
            seq: 2,
            text: text.into(),
            wanted: vec![FileId(1), FileId(2)],
            unwanted: vec![FileId(3)],
        };
        // "rain": 4 chars, vectors 4, 2 wanted, 1 unwanted.
        assert_eq!(
            ids(&run_job(&b, refine("rain"), 2, &mut cache)[0]),
            (2, vec![4421], true)
        );
        assert_eq!(
            ids(&run_job(&b, refine(""), 2, &mut cache)[0]),
            (2, vec![21], true)
        );
        assert_eq!(b.embeds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_backend_becomes_an_error_message() {
        let (tx, rx) = mpsc::channel();
        let (jobs, inbox) = mpsc::channel();
        jobs.send(InfoJob::Detail(FileId(3))).unwrap();
        drop(jobs);
        info_thread(&Script::default(), inbox, &tx);
        drop(tx);
        let msgs: Vec<Msg> = rx.into_iter().collect();
        assert!(
            matches!(&msgs[..], [Msg::Detail { id: FileId(3), result: Err(e) }] if e.contains("panicked") && e.contains("detail blew up")),
            "{msgs:?}"
        );
    }

    #[test]
    fn the_reload_thread_reports_new_indexes_and_each_new_error_once() {
        let b = Script::default();
        *b.reloads.lock().unwrap() = vec![
            Ok(false),
            Ok(true),
            Err("locked".into()),
            Err("locked".into()),
            Ok(false),
            Err("locked".into()),
        ];
        let (tx, rx) = mpsc::channel();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| reload_thread(&b, Duration::from_millis(1), &tx, &stop));
            let first = rx.recv_timeout(Duration::from_secs(5)).expect("no report");
            let second = rx.recv_timeout(Duration::from_secs(5)).expect("no report");
            let third = rx.recv_timeout(Duration::from_secs(5)).expect("no report");
            stop.store(true, Ordering::Relaxed);
            assert_eq!(first, Msg::IndexChanged);
            assert_eq!(second, Msg::ReloadFailed("locked".into()));
            assert_eq!(
                third,
                Msg::ReloadFailed("locked".into()),
                "an error after a success is new again"
            );
        });
        assert!(rx.try_recv().is_err(), "an error was repeated");
    }
}
