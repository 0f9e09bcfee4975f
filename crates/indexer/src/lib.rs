//! Keeps a hark index up to date with the sound libraries it covers.
//!
//! [`run`] is `hark index`: it takes the index's writer lock, walks every
//! root (hidden entries skipped, symlink loops survived, unreadable folders
//! reported), compares each sound file's size and modification time with
//! the catalog, and processes only what changed: a new or changed file is
//! hashed, its metadata read, its audio decoded (streamed: a two-hour file
//! never sits whole in memory) into the CLAP model's input and a waveform
//! overview, and embedded. Decoding runs on its own thread while the model
//! embeds the previous file. Results are committed in batches, so a run
//! killed at any moment loses at most the current batch and the next run
//! continues from there. A file that moved (a new path with the content
//! hash of a vanished one) keeps its record and vector; a deleted file
//! leaves the index, unless most of its root is missing (an unmounted
//! drive), in which case the root's entries are kept and the run says so.
//! Without a model, files are indexed by name and metadata and wait for
//! their vectors; a later run with the model embeds only those. A change of
//! model or embedding pipeline re-embeds every file.
//!
//! A bad sound file never stops a run: it is stored as failed, with its
//! cause, and tried again when it changes. The crate never prints; it
//! reports through an [`Observer`].

mod error;
mod lock;
mod moments;
mod prepare;
mod walk;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hark_model::{Clap, PIPELINE_VERSION};
use hark_store::{Catalog, FileId, FileRecord, FileState, FileStatus, MomentVector, RootId};
use serde::Serialize;

pub use crate::error::{Error, Result};
pub use crate::lock::{IndexLock, LOCK_FILE};
pub use crate::walk::{is_audio_path, walk_root, Found, Walk, WalkProblem, AUDIO_EXTENSIONS};

use crate::prepare::{prepare, Kind, MissingByHash, Prepared, Task};

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Folders to add as roots before the run (remembered); every known root
    /// is brought up to date.
    pub add_roots: Vec<PathBuf>,
    /// Wait for another run's writer lock instead of failing at once.
    pub wait: bool,
    /// Remove missing files even from a root that looks unmounted (more
    /// than half of its files missing).
    pub prune_missing: bool,
    /// Commit after this many files...
    pub commit_files: usize,
    /// ...or this much time, whichever comes first.
    pub commit_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            add_roots: Vec::new(),
            wait: false,
            prune_missing: false,
            commit_files: 64,
            commit_interval: Duration::from_secs(2),
        }
    }
}

/// The model a run embeds with.
#[derive(Clone, Copy)]
pub struct Model<'a> {
    /// The loaded model.
    pub clap: &'a Clap,
    /// Its identity, stored with each vector.
    pub identity: &'a str,
    /// A readable name (hub id or directory).
    pub name: &'a str,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new file, indexed (embedded when a model is present).
    Added,
    /// A changed file, indexed again.
    Updated,
    /// An unchanged file given a vector it lacked.
    Embedded,
    /// A file found under a new path, keeping its record and vector.
    Moved {
        /// Where the catalog had it.
        from: PathBuf,
    },
    /// Could not be indexed; recorded with its cause.
    Failed {
        /// Why.
        cause: String,
    },
    /// Disappeared while being read; not recorded.
    Vanished {
        /// What was seen.
        cause: String,
    },
}

/// Progress of a run, for the caller to show.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A root was walked.
    Walked {
        /// The root.
        root: &'a Path,
        /// Sound files found under it.
        files: usize,
    },
    /// A folder or file the walk could not read, or a symlink loop.
    Problem(&'a WalkProblem),
    /// A root's folder is gone (an unmounted drive?): its entries are kept.
    RootMissing {
        /// The root.
        root: &'a Path,
        /// Entries kept.
        kept: usize,
    },
    /// More than half of a root's files are missing: its entries are kept.
    RootMostlyMissing {
        /// The root.
        root: &'a Path,
        /// Files missing.
        missing: usize,
        /// Files the catalog has under it.
        known: usize,
    },
    /// The model or pipeline differs from the one the index was built with:
    /// every file is embedded again.
    ModelChanged {
        /// The index's model and pipeline.
        from: String,
        /// This run's.
        to: String,
    },
    /// No model: files are indexed without vectors.
    NoModel,
    /// The work is known.
    Planned {
        /// Files to process.
        work: usize,
        /// Files unchanged.
        unchanged: usize,
    },
    /// A file was processed.
    File {
        /// Its path.
        path: &'a Path,
        /// What happened.
        outcome: &'a Outcome,
    },
    /// Files that left the index.
    Removed {
        /// How many.
        count: usize,
    },
    /// The ANN cache is being brought up to date (a build can take minutes
    /// on a large library).
    AnnStarted,
    /// The ANN cache was brought up to date.
    Ann(&'a hark_store::ann::AnnRefresh),
    /// The ANN cache could not be refreshed; searches scan exactly until a
    /// later run succeeds. The catalog is unaffected.
    AnnFailed(&'a hark_store::Error),
}

/// Receives a run's [`Event`]s.
pub trait Observer {
    /// One event.
    fn event(&mut self, event: Event<'_>);
}

impl<F: FnMut(Event<'_>)> Observer for F {
    fn event(&mut self, event: Event<'_>) {
        self(event)
    }
}

/// What a run did (`hark index --json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Summary {
    /// New files indexed.
    pub added: u64,
    /// Changed files indexed again.
    pub updated: u64,
    /// Files that left the index.
    pub removed: u64,
    /// Files found under a new path.
    pub moved: u64,
    /// Files that could not be indexed (new or changed this run).
    pub failed: u64,
    /// Files not touched.
    pub unchanged: u64,
    /// Unchanged files given a vector they lacked.
    pub embedded: u64,
    /// Moments of long files embedded (see `index-format.md`).
    #[serde(default)]
    pub moments: u64,
    /// Files in the index still waiting for a vector.
    pub waiting: u64,
    /// Folders or files the walk could not read.
    pub problems: u64,
    /// Roots whose missing files were kept (unmounted drive?).
    pub roots_kept: Vec<PathBuf>,
    /// What happened to the ANN cache: `built`, `rebuilt`, `kept`,
    /// `removed`, `not needed` (fewer vectors than an exact scan handles
    /// well), `failed`, or `none` (no model this run).
    #[serde(default)]
    pub ann: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// When the run finished, seconds since the Unix epoch.
    pub finished_at: i64,
}

impl Summary {
    /// Whether a root looked unmounted and its entries were kept.
    pub fn kept_missing_roots(&self) -> bool {
        !self.roots_kept.is_empty()
    }
}

// Clips go through the audio tower one at a time: on the CPU a batch of 4
// takes longer per clip than 4 single passes (132.6 against 116.9 ms per
// 10 s clip, docs/benchmarks.md), and a batch would delay every commit
// behind its slowest file.

/// Files (or moments of a long file) decoded ahead of the model.
const DECODE_AHEAD: usize = 4;

/// Brings the index in `index_dir` up to date. See the crate docs.
///
/// # Errors
///
/// [`Error::Locked`] if another run holds the index (and `wait` is off);
/// [`Error::BadRoot`] if a root to add is not a folder; catalog and model
/// failures. Bad sound files are not errors.
pub fn run(
    index_dir: &Path,
    options: &Options,
    model: Option<Model<'_>>,
    observer: &mut dyn Observer,
) -> Result<Summary> {
    let started = Instant::now();
    let _lock = IndexLock::acquire(index_dir, options.wait)?;
    let mut catalog = Catalog::open(index_dir)?;

    let mut add = Vec::new();
    for root in &options.add_roots {
        let canonical = std::fs::canonicalize(root).map_err(|e| Error::BadRoot {
            path: root.clone(),
            cause: e.to_string(),
        })?;
        if !canonical.is_dir() {
            return Err(Error::BadRoot {
                path: root.clone(),
                cause: "not a folder".into(),
            });
        }
        add.push(canonical);
    }
    if !add.is_empty() {
        catalog.transaction(|tx| {
            for root in &add {
                tx.add_root(root)?;
            }
            Ok::<_, Error>(())
        })?;
    }

    let mut summary = Summary::default();
    let roots = catalog.roots()?;

    // Walk every root; a file under nested roots belongs to the deepest.
    let mut seen: HashMap<PathBuf, (RootId, Found)> = HashMap::new();
    let mut known: HashMap<PathBuf, (RootId, FileState)> = HashMap::new();
    let mut unreadable = BTreeSet::new();
    let mut absent_roots = HashSet::new();
    let mut by_depth = roots.clone();
    by_depth.sort_by_key(|r| std::cmp::Reverse(r.path.components().count()));
    for root in &by_depth {
        for state in catalog.files_under_root(root.id)? {
            known.insert(state.path.clone(), (root.id, state));
        }
        if !root.path.is_dir() {
            absent_roots.insert(root.id);
            continue;
        }
        let walk = walk_root(&root.path);
        observer.event(Event::Walked {
            root: &root.path,
            files: walk.files.len(),
        });
        for problem in &walk.problems {
            observer.event(Event::Problem(problem));
        }
        summary.problems += walk.problems.len() as u64;
        unreadable.extend(walk.unreadable_dirs);
        for found in walk.files {
            seen.entry(found.path.clone()).or_insert((root.id, found));
        }
    }

    let identity = model.map(|m| (m.identity.to_string(), PIPELINE_VERSION));
    let needs_vector: HashSet<FileId> = match &identity {
        Some((id, pipeline)) => catalog
            .files_waiting_for_vectors(id, pipeline)?
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
        None => HashSet::new(),
    };
    match &identity {
        Some((id, pipeline)) => {
            let (old_id, old_pipeline) = (
                catalog.meta(hark_store::meta::MODEL)?,
                catalog.meta(hark_store::meta::PIPELINE)?,
            );
            if let (Some(old_id), Some(old_pipeline)) = (old_id, old_pipeline) {
                if (&old_id, old_pipeline.as_str()) != (id, *pipeline) {
                    observer.event(Event::ModelChanged {
                        from: format!("{old_id} ({old_pipeline})"),
                        to: format!("{id} ({pipeline})"),
                    });
                }
            }
        }
        None => observer.event(Event::NoModel),
    }

    // Classify.
    let mut tasks = Vec::new();
    for (path, (root, found)) in &seen {
        let kind = match known.get(path) {
            None => Kind::New,
            Some((_, state)) if state.size != found.size || state.mtime_ns != found.mtime_ns => {
                Kind::Changed
            }
            Some((_, state)) if needs_vector.contains(&state.id) => Kind::Embed,
            Some(_) => {
                summary.unchanged += 1;
                continue;
            }
        };
        tasks.push(Task {
            kind,
            root: *root,
            found: found.clone(),
        });
    }
    // Walk order: folder by folder, as a person would expect to see it go.
    tasks.sort_by(|a, b| a.found.path.cmp(&b.found.path));

    // Missing files, per root; a root that looks unmounted keeps them.
    let mut missing: Vec<FileState> = Vec::new();
    let mut missing_per_root: HashMap<RootId, usize> = HashMap::new();
    let mut known_per_root: HashMap<RootId, usize> = HashMap::new();
    for (path, (root, state)) in &known {
        *known_per_root.entry(*root).or_default() += 1;
        if !seen.contains_key(path) && !walk::under_any(path, &unreadable) {
            *missing_per_root.entry(*root).or_default() += 1;
            missing.push(state.clone());
        }
    }
    let mut kept_roots = HashSet::new();
    for root in &roots {
        let known = known_per_root.get(&root.id).copied().unwrap_or(0);
        let gone = missing_per_root.get(&root.id).copied().unwrap_or(0);
        if absent_roots.contains(&root.id) {
            observer.event(Event::RootMissing {
                root: &root.path,
                kept: known,
            });
            kept_roots.insert(root.id);
        } else if gone * 2 > known && !options.prune_missing {
            observer.event(Event::RootMostlyMissing {
                root: &root.path,
                missing: gone,
                known,
            });
            kept_roots.insert(root.id);
        }
    }
    summary.roots_kept = roots
        .iter()
        .filter(|r| kept_roots.contains(&r.id))
        .map(|r| r.path.clone())
        .collect();
    let mut missing_by_hash = MissingByHash::new();
    for state in &missing {
        if let Some(hash) = &state.content_hash {
            missing_by_hash
                .entry(hash.clone())
                .or_default()
                .push(state.clone());
        }
    }

    observer.event(Event::Planned {
        work: tasks.len(),
        unchanged: summary.unchanged as usize,
    });
    if let Some(m) = model {
        // Declared before the first vector: readers with another model
        // then refuse the index rather than mix vectors.
        catalog.transaction(|tx| {
            tx.set_meta(hark_store::meta::MODEL, m.identity)?;
            tx.set_meta(hark_store::meta::MODEL_NAME, m.name)?;
            tx.set_meta(hark_store::meta::PIPELINE, PIPELINE_VERSION)?;
            Ok::<_, Error>(())
        })?;
    }

    let moved = process(
        &mut catalog,
        tasks,
        missing_by_hash,
        model,
        options,
        &mut summary,
        observer,
    )?;

    let gone: Vec<FileId> = {
        let root_of: HashMap<FileId, RootId> = known
            .values()
            .map(|(root, state)| (state.id, *root))
            .collect();
        missing
            .iter()
            .filter(|s| !moved.contains(&s.id) && !kept_roots.contains(&root_of[&s.id]))
            .map(|s| s.id)
            .collect()
    };
    if !gone.is_empty() {
        let removed = catalog.transaction(|tx| tx.remove_files(&gone))?;
        summary.removed = removed as u64;
        observer.event(Event::Removed { count: removed });
    }

    summary.ann = match model {
        None => "none".into(),
        Some(m) => {
            observer.event(Event::AnnStarted);
            match hark_store::ann::refresh_ann(&catalog, index_dir, m.identity, PIPELINE_VERSION) {
                Ok(refresh) => {
                    observer.event(Event::Ann(&refresh));
                    use hark_store::ann::AnnAction;
                    match refresh.action {
                        AnnAction::Built => "built",
                        AnnAction::Rebuilt(_) => "rebuilt",
                        AnnAction::Kept => "kept",
                        AnnAction::Removed => "removed",
                        AnnAction::NotNeeded => "not needed",
                    }
                    .into()
                }
                Err(e) => {
                    observer.event(Event::AnnFailed(&e));
                    summary.problems += 1;
                    "failed".into()
                }
            }
        }
    };
    summary.waiting = catalog.counts()?.waiting;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.finished_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let json = serde_json::to_string(&summary).expect("a summary serialises");
    catalog.transaction(|tx| tx.set_meta(hark_store::meta::LAST_RUN, &json))?;
    Ok(summary)
}

/// A processed file waiting for its batch's commit.
enum Ready {
    Record {
        record: Box<FileRecord>,
        vector: Option<Vec<f32>>,
        /// Its moments' vectors, if it is long (stored with `vector`).
        moments: Vec<MomentVector>,
        outcome: Outcome,
    },
    Moved {
        id: FileId,
        to: Found,
        from: PathBuf,
    },
}

/// Decodes on a second thread while this one embeds and commits; returns
/// the ids of files recognised as moved.
fn process(
    catalog: &mut Catalog,
    tasks: Vec<Task>,
    mut missing: MissingByHash,
    model: Option<Model<'_>>,
    options: &Options,
    summary: &mut Summary,
    observer: &mut dyn Observer,
) -> Result<HashSet<FileId>> {
    let mut moved = HashSet::new();
    if tasks.is_empty() {
        return Ok(moved);
    }
    let front_end = model.map(|m| m.clap.front_end());
    if let Some(m) = model {
        // Load the audio tower before the decoder starts, so a broken
        // checkpoint fails the run at once.
        m.clap.audio_tower()?;
    }
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Prepared>(DECODE_AHEAD);
        let decoder = std::thread::Builder::new()
            .name("hark-decode".into())
            .spawn_scoped(scope, move || {
                for task in tasks {
                    let mut emit = |m| {
                        // A closed channel ends the loop below at once.
                        let _ = tx.send(Prepared::Moment(m));
                    };
                    if tx
                        .send(prepare(task, &mut missing, front_end, &mut emit))
                        .is_err()
                    {
                        break;
                    }
                }
            })
            .map_err(|e| Error::Worker(e.to_string()))?;

        let mut pending: Vec<Ready> = Vec::new();
        let mut last_commit = Instant::now();
        // The moments of the file being decoded: they come before its record.
        let mut moments: Vec<MomentVector> = Vec::new();
        let mut moment_error: Option<String> = None;
        loop {
            let prepared = match rx.recv() {
                Ok(Prepared::Moment(m)) => {
                    if moment_error.is_none() {
                        match embed(model, Some(m.features)) {
                            Some(Ok(data)) => moments.push(MomentVector {
                                start_s: m.start_s,
                                end_s: m.end_s,
                                data,
                            }),
                            Some(Err(e)) => {
                                moment_error = Some(format!(
                                    "the model failed on its moment at {:.1} s: {e}",
                                    m.start_s
                                ))
                            }
                            None => {}
                        }
                    }
                    continue;
                }
                Ok(p) => p,
                Err(_) => break,
            };
            let file_moments = std::mem::take(&mut moments);
            let file_moment_error = moment_error.take();
            let ready = match prepared {
                Prepared::Moment(_) => unreachable!("moments are taken on receipt"),
                Prepared::Vanished { task, cause } => {
                    let outcome = Outcome::Vanished { cause };
                    observer.event(Event::File {
                        path: &task.found.path,
                        outcome: &outcome,
                    });
                    continue;
                }
                Prepared::Moved { task, from } => {
                    moved.insert(from.id);
                    Ready::Moved {
                        id: from.id,
                        to: task.found,
                        from: from.path,
                    }
                }
                Prepared::Record {
                    task,
                    mut record,
                    features,
                } => {
                    let (vector, outcome) = match (record.status, embed(model, features)) {
                        (FileStatus::Failed, _) => {
                            let cause = record.error.clone().unwrap_or_default();
                            (None, Outcome::Failed { cause })
                        }
                        (_, Some(Err(e))) => {
                            record.status = FileStatus::Failed;
                            record.error = Some(format!("the model failed on this file: {e}"));
                            let cause = record.error.clone().unwrap_or_default();
                            (None, Outcome::Failed { cause })
                        }
                        (_, Some(Ok(_))) if file_moment_error.is_some() => {
                            record.status = FileStatus::Failed;
                            record.error = file_moment_error;
                            let cause = record.error.clone().unwrap_or_default();
                            (None, Outcome::Failed { cause })
                        }
                        (_, v) => {
                            let outcome = match task.kind {
                                Kind::New => Outcome::Added,
                                Kind::Changed => Outcome::Updated,
                                Kind::Embed => Outcome::Embedded,
                            };
                            (v.and_then(|v| v.ok()), outcome)
                        }
                    };
                    Ready::Record {
                        record,
                        vector,
                        moments: file_moments,
                        outcome,
                    }
                }
            };
            pending.push(ready);
            if pending.len() >= options.commit_files
                || last_commit.elapsed() >= options.commit_interval
            {
                commit(catalog, &mut pending, model, summary, observer)?;
                last_commit = Instant::now();
            }
        }
        commit(catalog, &mut pending, model, summary, observer)?;
        decoder
            .join()
            .map_err(|_| Error::Worker("the decoding thread panicked".into()))?;
        Ok(moved)
    })
}

/// The vector of a file's or a moment's features: one audio-tower pass,
/// if there is a model and there are features (`None` otherwise).
fn embed(
    model: Option<Model<'_>>,
    features: Option<Vec<f32>>,
) -> Option<std::result::Result<Vec<f32>, hark_model::Error>> {
    let (model, features) = (model?, features?);
    Some(
        model
            .clap
            .embed_features(std::slice::from_ref(&features))
            .map(|mut v| v.remove(0)),
    )
}

/// Writes `pending` in one transaction and reports each file.
fn commit(
    catalog: &mut Catalog,
    pending: &mut Vec<Ready>,
    model: Option<Model<'_>>,
    summary: &mut Summary,
    observer: &mut dyn Observer,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut moments_stored = 0;
    catalog.transaction(|tx| {
        for ready in pending.iter() {
            match ready {
                Ready::Record {
                    record,
                    vector,
                    moments,
                    ..
                } => {
                    let id = tx.upsert_file(record)?;
                    if let (Some(v), Some(m)) = (vector, model) {
                        tx.set_vector(id, m.identity, PIPELINE_VERSION, v)?;
                        tx.set_moments(id, m.identity, PIPELINE_VERSION, moments)?;
                        moments_stored += moments.len() as u64;
                    }
                }
                Ready::Moved { id, to, .. } => {
                    tx.move_file(*id, &to.path)?;
                    tx.set_file_stat(*id, to.size, to.mtime_ns)?;
                }
            }
        }
        Ok::<_, Error>(())
    })?;
    summary.moments += moments_stored;
    for ready in pending.drain(..) {
        match ready {
            Ready::Record {
                record, outcome, ..
            } => {
                match &outcome {
                    Outcome::Added => summary.added += 1,
                    Outcome::Updated => summary.updated += 1,
                    Outcome::Embedded => summary.embedded += 1,
                    Outcome::Failed { .. } => summary.failed += 1,
                    Outcome::Moved { .. } | Outcome::Vanished { .. } => {}
                }
                observer.event(Event::File {
                    path: &record.path,
                    outcome: &outcome,
                });
            }
            Ready::Moved { to, from, .. } => {
                summary.moved += 1;
                observer.event(Event::File {
                    path: &to.path,
                    outcome: &Outcome::Moved { from },
                });
            }
        }
    }
    Ok(())
}
