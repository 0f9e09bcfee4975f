//! The worker threads, each reporting to the UI thread through one
//! channel of [`Msg`]s:
//!
//! - search: lists (text queries in two stages, similar, copies, refine,
//!   recent);
//!   only the newest request is worked on, and a stage whose request was
//!   replaced while it ran is not reported;
//! - detail: a file's details and the index summary, newest request first;
//! - category: category suggestions (the newest request; the first one may
//!   take a while, as the backend prepares) and accepted categories
//!   written into files (every one, in order);
//! - reload: asks the backend every couple of seconds whether a new index
//!   was published.
//!
//! A panic in a worker is caught and reported as an error message.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::error::Error;
use crate::app::{ListRequest, Msg};
use crate::backend::{error_chain, Backend, FileId, Hit};

/// Starts a thread named `hark-{name}`.
pub(super) fn spawn(
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

/// A list request for the search thread.
pub(super) struct ListJob {
    /// The request's number; answers carry it.
    pub(super) seq: u64,
    /// Which list.
    pub(super) request: ListRequest,
    /// How many hits.
    pub(super) k: usize,
}

/// A request for the detail thread.
pub(super) enum InfoJob {
    Detail(FileId),
    Summary,
}

/// A request for the category thread.
pub(super) enum CategoryJob {
    /// A file's suggestion.
    Suggest(FileId),
    /// Write a CatID into a file.
    Accept { id: FileId, cat_id: String },
}

/// The worker threads' inboxes.
pub(super) struct Workers<B: Backend> {
    lists: Sender<ListJob>,
    info: Sender<InfoJob>,
    categories: Sender<CategoryJob>,
    /// The newest list request, so the search thread can drop stale work.
    latest: Arc<AtomicU64>,
    _backend: std::marker::PhantomData<B>,
}

impl<B: Backend> Workers<B> {
    /// Starts the search, detail and reload threads on `backend`: a
    /// reload check every `reload_every`; they report on `tx`, and the
    /// reload thread ends when `stop` is set.
    pub(super) fn start(
        backend: Arc<B>,
        reload_every: Duration,
        tx: Sender<Msg>,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, Error> {
        let (lists, list_inbox) = mpsc::channel();
        let (info, info_inbox) = mpsc::channel();
        let (categories, category_inbox) = mpsc::channel();
        let latest = Arc::new(AtomicU64::new(0));
        {
            let (backend, tx, latest) = (Arc::clone(&backend), tx.clone(), Arc::clone(&latest));
            spawn("search", move || {
                search_thread(&*backend, list_inbox, &tx, &latest)
            })?;
        }
        {
            let (backend, tx) = (Arc::clone(&backend), tx.clone());
            spawn("detail", move || info_thread(&*backend, info_inbox, &tx))?;
        }
        {
            let (backend, tx) = (Arc::clone(&backend), tx.clone());
            spawn("category", move || {
                category_thread(&*backend, category_inbox, &tx)
            })?;
        }
        let every = reload_every;
        spawn("reload", move || {
            reload_thread(&*backend, every, &tx, &stop)
        })?;
        Ok(Workers {
            lists,
            info,
            categories,
            latest,
            _backend: std::marker::PhantomData,
        })
    }

    /// Asks for a list; it replaces any list request not started yet.
    pub(super) fn list(&self, job: ListJob) {
        self.latest.store(job.seq, Ordering::Release);
        let _ = self.lists.send(job);
    }

    /// Asks for a detail or the summary.
    pub(super) fn info(&self, job: InfoJob) {
        let _ = self.info.send(job);
    }

    /// Asks for a suggestion, or to write a category.
    pub(super) fn category(&self, job: CategoryJob) {
        let _ = self.categories.send(job);
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
) {
    let mut cache = VectorCache {
        entries: Vec::new(),
    };
    while let Ok(mut job) = inbox.recv() {
        while let Ok(newer) = inbox.try_recv() {
            job = newer;
        }
        let seq = job.seq;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run_list_job(backend, job, tx, latest, &mut cache)
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
    cache: &mut VectorCache<B::Vectors>,
) {
    let current = |seq: u64| latest.load(Ordering::Acquire) == seq;
    let send = |seq: u64, result: Result<Vec<Hit>, B::Error>, done: bool| {
        let _ = tx.send(Msg::Hits {
            seq,
            result: result.map_err(|e| error_chain(&e)),
            done,
        });
    };
    // A note on the vectors (no sound ranking, say) goes to the status line.
    let noted = |vectors: &B::Vectors| {
        if let Some(note) = backend.note(vectors) {
            let _ = tx.send(Msg::Note(note));
        }
    };
    let (seq, k) = (job.seq, job.k);
    match job.request {
        ListRequest::Recent => send(seq, backend.recent(k), true),
        ListRequest::Similar { id } => send(seq, backend.similar(id, k), true),
        ListRequest::Copies { id } => {
            let _ = tx.send(Msg::Copies {
                seq,
                result: backend.copies(id).map_err(|e| error_chain(&e)),
            });
        }
        ListRequest::Search { text } => {
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
                Ok(v) => {
                    noted(&v);
                    Arc::new(v)
                }
                Err(e) => return send(seq, Err(e), true),
            };
            cache.put(&text, Arc::clone(&vectors));
            if current(seq) {
                send(seq, backend.run(&query, Some(&vectors), k), true);
            }
        }
        ListRequest::Refine {
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
                        noted(&v);
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

fn category_thread<B: Backend>(backend: &B, inbox: Receiver<CategoryJob>, tx: &Sender<Msg>) {
    while let Ok(first) = inbox.recv() {
        // Every write, in order, then the newest suggestion asked for.
        let mut suggest = None;
        for job in std::iter::once(first).chain(inbox.try_iter()) {
            match job {
                CategoryJob::Suggest(id) => suggest = Some(id),
                CategoryJob::Accept { id, cat_id } => {
                    let result = catch_unwind(AssertUnwindSafe(|| {
                        backend
                            .accept_category(id, &cat_id)
                            .map_err(|e| error_chain(&e))
                    }))
                    .unwrap_or_else(|p| Err(panic_text(&*p)));
                    let _ = tx.send(Msg::CategoryAccepted { id, cat_id, result });
                }
            }
        }
        if let Some(id) = suggest {
            let result = catch_unwind(AssertUnwindSafe(|| {
                backend
                    .suggest_category(id)
                    .map(|s| s.map(Box::new))
                    .map_err(|e| error_chain(&e))
            }))
            .unwrap_or_else(|p| Err(panic_text(&*p)));
            let _ = tx.send(Msg::Suggestion { id, result });
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
    use crate::{CategorySuggestion, FileDetail, IndexSummary, Matched};
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

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
        suggested: Mutex<Vec<i64>>,
        accepted: Mutex<Vec<(i64, String)>>,
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
        fn note(&self, v: &usize) -> Option<String> {
            // "kicks": words only.
            (*v == 5).then(|| "words only".to_string())
        }
        fn run(&self, _: &String, v: Option<&usize>, _: usize) -> Result<Vec<Hit>, ScriptError> {
            Ok(vec![hit(if v.is_some() { 2 } else { 1 })])
        }
        fn similar(&self, id: FileId, _: usize) -> Result<Vec<Hit>, ScriptError> {
            Ok(vec![hit(id.0 + 100)])
        }
        fn copies(&self, id: FileId) -> Result<crate::Copies, ScriptError> {
            if id.0 == 0 {
                return Err(ScriptError("no such file".into()));
            }
            Ok(crate::Copies {
                files: vec![
                    crate::Duplicate {
                        hit: hit(id.0),
                        relation: "keep".into(),
                    },
                    crate::Duplicate {
                        hit: hit(id.0 + 1),
                        relation: "same audio".into(),
                    },
                ],
                fingerprinted: true,
            })
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
        fn suggest_category(&self, id: FileId) -> Result<Option<CategorySuggestion>, ScriptError> {
            self.suggested.lock().unwrap().push(id.0);
            Ok((id.0 != 1).then(|| CategorySuggestion {
                id,
                ..CategorySuggestion::default()
            }))
        }
        fn accept_category(&self, id: FileId, cat_id: &str) -> Result<(), ScriptError> {
            self.accepted
                .lock()
                .unwrap()
                .push((id.0, cat_id.to_string()));
            if cat_id == "PANIC" {
                panic!("tagging blew up");
            }
            Ok(())
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
        run_list_job(backend, job, &tx, &AtomicU64::new(latest), cache);
        drop(tx);
        rx.into_iter().collect()
    }

    #[test]
    fn a_text_query_answers_twice_then_once_from_the_cache() {
        let b = Script::default();
        let mut cache = VectorCache {
            entries: Vec::new(),
        };
        let job = || ListJob {
            seq: 4,
            k: 10,
            request: ListRequest::Search {
                text: "rain".into(),
            },
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
    fn a_note_on_the_vectors_goes_to_the_status_line_between_the_stages() {
        let b = Script::default();
        let mut cache = VectorCache {
            entries: Vec::new(),
        };
        let search = |text: &str| ListJob {
            seq: 4,
            k: 10,
            request: ListRequest::Search { text: text.into() },
        };
        let msgs = run_job(&b, search("kicks"), 4, &mut cache);
        assert!(
            matches!(&msgs[..], [Msg::Hits { done: false, .. }, Msg::Note(n), Msg::Hits { done: true, .. }] if n == "words only"),
            "{msgs:?}"
        );
        let msgs = run_job(&b, search("rain"), 4, &mut cache);
        assert!(!msgs.iter().any(|m| matches!(m, Msg::Note(_))), "{msgs:?}");
    }

    #[test]
    fn a_replaced_request_stops_after_its_first_stage() {
        let b = Script::default();
        let mut cache = VectorCache {
            entries: Vec::new(),
        };
        let msgs = run_job(
            &b,
            ListJob {
                seq: 4,
                k: 10,
                request: ListRequest::Search {
                    text: "rain".into(),
                },
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
    fn copies_are_answered_with_their_relations_or_the_error() {
        let b = Script::default();
        let mut cache = VectorCache {
            entries: Vec::new(),
        };
        let copies = |id: i64| ListJob {
            seq: 3,
            k: 10,
            request: ListRequest::Copies { id: FileId(id) },
        };
        let msgs = run_job(&b, copies(7), 3, &mut cache);
        match &msgs[..] {
            [Msg::Copies {
                seq: 3,
                result: Ok(found),
            }] => {
                let files: Vec<(i64, &str)> = found
                    .files
                    .iter()
                    .map(|c| (c.hit.id.0, c.relation.as_str()))
                    .collect();
                assert_eq!(files, [(7, "keep"), (8, "same audio")]);
                assert!(found.fingerprinted);
            }
            other => panic!("{other:?}"),
        }
        let msgs = run_job(&b, copies(0), 3, &mut cache);
        assert!(
            matches!(&msgs[..], [Msg::Copies { seq: 3, result: Err(e) }] if e == "no such file"),
            "{msgs:?}"
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
            ListJob {
                seq: 1,
                k: 10,
                request: ListRequest::Search {
                    text: "dur:".into(),
                },
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
        let refine = |text: &str| ListJob {
            seq: 2,
            k: 10,
            request: ListRequest::Refine {
                text: text.into(),
                wanted: vec![FileId(1), FileId(2)],
                unwanted: vec![FileId(3)],
            },
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
    fn the_category_thread_writes_every_accept_then_suggests_for_the_newest() {
        let b = Script::default();
        let (tx, rx) = mpsc::channel();
        let (jobs, inbox) = mpsc::channel();
        jobs.send(CategoryJob::Suggest(FileId(2))).unwrap();
        jobs.send(CategoryJob::Accept {
            id: FileId(2),
            cat_id: "DOORWood".into(),
        })
        .unwrap();
        jobs.send(CategoryJob::Suggest(FileId(3))).unwrap();
        jobs.send(CategoryJob::Accept {
            id: FileId(3),
            cat_id: "PANIC".into(),
        })
        .unwrap();
        jobs.send(CategoryJob::Suggest(FileId(1))).unwrap();
        drop(jobs);
        category_thread(&b, inbox, &tx);
        drop(tx);
        let msgs: Vec<Msg> = rx.into_iter().collect();
        assert_eq!(
            *b.accepted.lock().unwrap(),
            [(2, "DOORWood".to_string()), (3, "PANIC".to_string())]
        );
        assert_eq!(
            *b.suggested.lock().unwrap(),
            [1],
            "only the newest is suggested for"
        );
        assert!(
            matches!(&msgs[..], [
                Msg::CategoryAccepted { id: FileId(2), result: Ok(()), .. },
                Msg::CategoryAccepted { id: FileId(3), result: Err(e), .. },
                Msg::Suggestion { id: FileId(1), result: Ok(None) },
            ] if e.contains("tagging blew up")),
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
