//! `hark index` against a shared catalog (hark-shared): this host's
//! mounts are walked into the shared catalog, then the files waiting for
//! vectors are claimed in batches and embedded, as many runs on as many
//! hosts as there are split them, each file once; the index directory's
//! catalog becomes a replica of the shared one.
//!
//! # Brief overview
//!
//! 1. The mounts: `hark index PATH --name NAME` records PATH as this index
//!    directory's mount of root NAME (`mounts.json`); every mount is walked.
//! 2. The survey: each mount is walked and compared with what the shared
//!    catalog has under its root, by path relative to the root. New and
//!    changed files are written as waiting (queued); files gone are
//!    removed, unless most of the root is missing (an unmounted share).
//!    A file whose modification time differs but whose size does not is
//!    hashed: mounts of one share can report times differently (SMB
//!    rounds them), and the same content is not a change.
//! 3. The claims: batches of queued files under this host's roots are
//!    claimed ([`SharedCatalog::claim`]), read on the decoding thread
//!    while this one embeds, and written back with [`Claim::finish`]. A
//!    lost connection is retried with backoff; a batch whose write was
//!    lost is claimed again, and what was already embedded is reused.
//! 4. The replica: [`replica::sync`], then the ANN cache.
//!
//! No writer lock is taken: the shared catalog's claims do that job, and
//! the replica's writes are SQLite transactions.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hark_model::PIPELINE_VERSION;
use hark_shared::{replica, Address, Claim, ClaimedFile, Embedded, Mounts, SharedCatalog};
use hark_store::ann::{refresh_ann, AnnAction};
use hark_store::{meta, Catalog, FileId, FileRecord, FileStatus, MomentVector, RootId};

use crate::error::{Error, Result};
use crate::moments::Moment;
use crate::pipeline::{Model, Options};
use crate::prepare::{hash_file, prepare, HeldByHash, Kind, MissingByHash, Prepared, Task};
use crate::report::{Event, Observer, Outcome, Summary};
use crate::walk::{walk_root, Found};

/// Files claimed at a time: small enough that two workers finish close
/// together and a lost batch costs little, large enough that a claim's
/// round trips are a small share (docs/benchmarks.md, the claim protocol).
const CLAIM_BATCH: usize = 16;
/// New and changed files written to the shared catalog per transaction.
const SURVEY_BATCH: usize = 1_000;
/// How long a worker keeps trying to reach a server that went away.
const PATIENCE: Duration = Duration::from_secs(300);
/// Tombstones older than this are pruned at the end of a run (a replica
/// not synced for that long reads the catalog whole again).
const TOMBSTONE_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Files (or moments of a long file) decoded ahead of the model.
const DECODE_AHEAD: usize = 4;

/// Brings the shared catalog at `address` up to date with this host's
/// mounts (adding `add`, root names and their local paths, first), embeds
/// queued files with the other workers, and syncs the replica in
/// `index_dir`. See the module docs.
///
/// # Errors
///
/// [`Error::BadRoot`]; [`Error::LocalIndex`] when `index_dir` holds a
/// local index; [`Error::NoMounts`]; [`Error::SharedModel`]; the shared
/// catalog's errors ([`hark_shared::Error::ReadOnlyRole`] for a role that
/// may not write); catalog and model failures. Bad sound files are not
/// errors.
pub fn run_shared(
    index_dir: &Path,
    address: &Address,
    add: &[(String, PathBuf)],
    options: &Options,
    model: Option<Model<'_>>,
    observer: &mut dyn Observer,
) -> Result<Summary> {
    let started = Instant::now();
    let mut local = match Catalog::open(index_dir) {
        // A damaged replica is set aside and made again: the salvage keeps
        // what it can, and the next read starts from the beginning so that
        // what was lost comes back from the shared catalog.
        Err(e) if e.is_damaged() => {
            let repair = hark_store::salvage::repair(index_dir, &crate::moments::RULE)?;
            observer.event(Event::Repaired(&repair));
            let mut local = Catalog::open(index_dir)?;
            local.transaction(|tx| tx.set_meta(replica::META_POSITION, "0"))?;
            local
        }
        opened => opened?,
    };
    if !replica::is_replica(&local)? && local.read(|tx| tx.has_files())? {
        return Err(Error::LocalIndex {
            dir: index_dir.to_owned(),
        });
    }
    let mut mounts = Mounts::load(index_dir)?;
    for (name, path) in add {
        let canonical = std::fs::canonicalize(path).map_err(|e| Error::BadRoot {
            path: path.to_owned(),
            cause: e.to_string(),
        })?;
        if !canonical.is_dir() {
            return Err(Error::BadRoot {
                path: path.to_owned(),
                cause: "not a folder".into(),
            });
        }
        if name.is_empty() {
            return Err(Error::BadRoot {
                path: path.to_owned(),
                cause: "the root's name is empty (give one with --name)".into(),
            });
        }
        // Kept even if the catalog refuses this role's writes: a
        // workstation that may only read needs its mounts to search.
        if mounts.set(name, &canonical) {
            mounts.save(index_dir)?;
        }
    }
    if mounts.mounts.is_empty() {
        return Err(Error::NoMounts {
            dir: index_dir.to_owned(),
        });
    }

    let mut shared = SharedCatalog::open(address)?;
    if let Some(m) = model {
        check_model(&mut shared, m)?;
    } else {
        observer.event(Event::NoModel);
    }
    let mut summary = Summary::default();
    let mut roots: Vec<(RootId, PathBuf)> = Vec::new();
    for mount in &mounts.mounts {
        let id = shared.add_root(&mount.name)?;
        roots.push((id, mount.path.clone()));
    }
    let work = survey(&mut shared, &roots, options, observer, &mut summary)?;
    observer.event(Event::Planned {
        work,
        unchanged: summary.unchanged as usize,
    });
    if let Some(m) = model {
        m.clap.audio_tower()?;
        Worker {
            roots: &roots,
            model: m,
            batch: options.commit_files.clamp(1, CLAIM_BATCH),
            observer: &mut *observer,
            summary: &mut summary,
            done: HashMap::new(),
        }
        .run(&mut shared)?;
    }
    shared.prune_tombstones(TOMBSTONE_AGE)?;
    summary.waiting = shared.queued()?;

    replica::sync(&mut shared, &mut local, index_dir, &mounts)?;
    refresh(&local, index_dir, model, observer, &mut summary);
    summary.seconds = started.elapsed().as_secs_f64();
    summary.finished_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let json = serde_json::to_string(&summary).expect("a summary serialises");
    local.transaction(|tx| tx.set_meta(meta::LAST_RUN, &json))?;
    Ok(summary)
}

/// Refuses a model other than the one the shared catalog's vectors were
/// made with; records this one in a catalog that has none yet.
fn check_model(shared: &mut SharedCatalog, m: Model<'_>) -> Result<()> {
    let theirs = (shared.meta("model")?, shared.meta("pipeline")?);
    match theirs {
        (Some(model), Some(pipeline)) => {
            if (model.as_str(), pipeline.as_str()) != (m.identity, PIPELINE_VERSION) {
                return Err(Error::SharedModel {
                    catalog: shared.address().to_string(),
                    theirs: format!("{model} ({pipeline})"),
                    ours: format!("{} ({PIPELINE_VERSION})", m.identity),
                });
            }
        }
        _ => {
            shared.set_meta("model", m.identity)?;
            shared.set_meta("model_name", m.name)?;
            shared.set_meta("pipeline", PIPELINE_VERSION)?;
        }
    }
    Ok(())
}

/// Walks each mount and writes what changed into the shared catalog;
/// returns how many files wait for a worker after it.
fn survey(
    shared: &mut SharedCatalog,
    roots: &[(RootId, PathBuf)],
    options: &Options,
    observer: &mut dyn Observer,
    summary: &mut Summary,
) -> Result<usize> {
    let mut waiting = 0;
    for (root, base) in roots {
        if !base.is_dir() {
            let known = shared.files_of_root(*root)?.len();
            observer.event(Event::RootMissing {
                root: base,
                kept: known,
            });
            summary.roots_kept.push(base.clone());
            continue;
        }
        let walk = walk_root(base);
        observer.event(Event::Walked {
            root: base,
            files: walk.files.len(),
        });
        for problem in &walk.problems {
            observer.event(Event::Problem(problem));
        }
        summary.problems += walk.problems.len() as u64;
        let known: HashMap<PathBuf, hark_shared::KnownFile> = shared
            .files_of_root(*root)?
            .into_iter()
            .map(|k| (k.rel_path.clone(), k))
            .collect();
        let mut seen = HashSet::new();
        let mut write: Vec<(FileRecord, bool)> = Vec::new();
        for found in &walk.files {
            let Ok(rel) = found.path.strip_prefix(base) else {
                continue;
            };
            seen.insert(rel.to_path_buf());
            let record = FileRecord::new(*root, rel, found.size, found.mtime_ns);
            match known.get(rel) {
                None => write.push((record, true)),
                Some(k) if k.size == found.size && k.mtime_ns == found.mtime_ns => {
                    summary.unchanged += 1;
                    waiting += usize::from(k.status == FileStatus::Waiting);
                }
                Some(k) if k.size == found.size && same_content(&found.path, k) => {
                    summary.unchanged += 1;
                    waiting += usize::from(k.status == FileStatus::Waiting);
                }
                Some(_) => write.push((record, false)),
            }
        }
        let missing: Vec<FileId> = known
            .values()
            .filter(|k| !seen.contains(&k.rel_path))
            .filter(|k| {
                !walk
                    .unreadable_dirs
                    .iter()
                    .any(|d| base.join(&k.rel_path).starts_with(d))
            })
            .map(|k| k.id)
            .collect();
        for chunk in write.chunks(SURVEY_BATCH) {
            let records: Vec<FileRecord> = chunk.iter().map(|(r, _)| r.clone()).collect();
            shared.upsert_files(&records)?;
        }
        waiting += write.len();
        summary.added += write.iter().filter(|(_, new)| *new).count() as u64;
        summary.updated += write.iter().filter(|(_, new)| !*new).count() as u64;
        let mostly_missing = !known.is_empty() && missing.len() * 2 > known.len();
        if mostly_missing && !options.prune_missing {
            observer.event(Event::RootMostlyMissing {
                root: base,
                missing: missing.len(),
                known: known.len(),
            });
            summary.roots_kept.push(base.clone());
        } else if !missing.is_empty() {
            let removed = shared.remove_files(&missing)? as usize;
            summary.removed += removed as u64;
            observer.event(Event::Removed { count: removed });
        }
    }
    Ok(waiting)
}

/// Whether the file at `path` holds the content the catalog has for `k`.
fn same_content(path: &Path, k: &hark_shared::KnownFile) -> bool {
    match (&k.content_hash, hash_file(path)) {
        (Some(known), Ok(hash)) => *known == hash,
        _ => false,
    }
}

/// The claim loop of one run.
struct Worker<'a, 'o> {
    roots: &'a [(RootId, PathBuf)],
    model: Model<'a>,
    batch: usize,
    observer: &'o mut dyn Observer,
    summary: &'o mut Summary,
    /// Results of a batch whose write was lost with the connection, kept
    /// for when its files are claimed again.
    done: HashMap<FileId, Embedded>,
}

/// What the decoding thread sends back.
type Decoded = (FileId, Prepared);

impl Worker<'_, '_> {
    fn run(&mut self, shared: &mut SharedCatalog) -> Result<()> {
        let front_end = self.model.clap.front_end();
        let root_ids: Vec<RootId> = self.roots.iter().map(|(id, _)| *id).collect();
        std::thread::scope(|scope| {
            let (task_tx, task_rx) = mpsc::channel::<(FileId, Task)>();
            let (out_tx, out_rx) = mpsc::sync_channel::<Decoded>(DECODE_AHEAD);
            let decoder = std::thread::Builder::new()
                .name("hark-decode".into())
                .spawn_scoped(scope, move || {
                    let mut none = MissingByHash::new();
                    let held = HeldByHash::new();
                    for (id, task) in task_rx {
                        let mut emit = |m| {
                            let _ = out_tx.send((id, Prepared::Moment(m)));
                        };
                        let prepared = prepare(task, &mut none, &held, Some(front_end), &mut emit);
                        if out_tx.send((id, prepared)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| Error::Worker(e.to_string()))?;
            let result = self.claim_loop(shared, &root_ids, &task_tx, &out_rx);
            drop(task_tx);
            drop(out_rx);
            decoder
                .join()
                .map_err(|_| Error::Worker("the decoding thread panicked".into()))?;
            result
        })
    }

    fn claim_loop(
        &mut self,
        shared: &mut SharedCatalog,
        roots: &[RootId],
        tasks: &mpsc::Sender<(FileId, Task)>,
        decoded: &mpsc::Receiver<Decoded>,
    ) -> Result<()> {
        loop {
            let outcome = match shared.claim(self.batch, roots) {
                Ok(claim) if claim.is_empty() => return Ok(()),
                Ok(claim) => {
                    let files: Vec<ClaimedFile> = claim.files().to_vec();
                    let results = self.work(&files, tasks, decoded)?;
                    match finish(claim, self.model, &results) {
                        Ok(_) => {
                            self.report(&files, results);
                            Ok(())
                        }
                        Err(e) => {
                            for r in results {
                                self.done.insert(r.id, r);
                            }
                            Err(e)
                        }
                    }
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => {}
                Err(e) if e.is_connection() => {
                    self.observer.event(Event::Reconnecting {
                        cause: crate::error::chain(&e),
                    });
                    shared.reconnect(PATIENCE)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads and embeds the claimed files: the decoding thread reads the
    /// next while this one embeds.
    fn work(
        &mut self,
        files: &[ClaimedFile],
        tasks: &mpsc::Sender<(FileId, Task)>,
        decoded: &mpsc::Receiver<Decoded>,
    ) -> Result<Vec<Embedded>> {
        let mut results = Vec::new();
        let mut pending = 0;
        for f in files {
            if let Some(done) = self.done.remove(&f.id) {
                if done.record.size == f.size && done.record.mtime_ns == f.mtime_ns {
                    results.push(done);
                    continue;
                }
            }
            let Some(base) = self.root_path(f.root) else {
                continue;
            };
            let task = Task {
                kind: Kind::New,
                root: f.root,
                found: Found {
                    path: base.join(&f.rel_path),
                    size: f.size,
                    mtime_ns: f.mtime_ns,
                },
            };
            tasks
                .send((f.id, task))
                .map_err(|_| Error::Worker("the decoding thread stopped".into()))?;
            pending += 1;
        }
        let mut moments: Vec<MomentVector> = Vec::new();
        let mut moment_error: Option<String> = None;
        while pending > 0 {
            let (id, prepared) = decoded
                .recv()
                .map_err(|_| Error::Worker("the decoding thread stopped".into()))?;
            let claimed = files.iter().find(|f| f.id == id).expect("a claimed file");
            match prepared {
                Prepared::Moment(m) => self.embed_moment(m, &mut moments, &mut moment_error),
                Prepared::Record {
                    record,
                    features,
                    fingerprint,
                    ..
                } => {
                    pending -= 1;
                    let mut record = *record;
                    let vector = match (record.status, features) {
                        (FileStatus::Failed, _) => None,
                        (_, Some(features)) => match embed(self.model, features) {
                            Ok(v) if moment_error.is_none() => Some(v),
                            Ok(_) => {
                                record.status = FileStatus::Failed;
                                record.error = moment_error.take();
                                None
                            }
                            Err(e) => {
                                record.status = FileStatus::Failed;
                                record.error = Some(format!("the model failed on this file: {e}"));
                                None
                            }
                        },
                        (_, None) => None,
                    };
                    record.root = claimed.root;
                    record.path = claimed.rel_path.clone();
                    let moments = if vector.is_some() {
                        std::mem::take(&mut moments)
                    } else {
                        moments.clear();
                        Vec::new()
                    };
                    moment_error = None;
                    if vector.is_none() && record.status != FileStatus::Failed {
                        record.status = FileStatus::Failed;
                        record.error = Some("no audio to embed".into());
                    }
                    results.push(Embedded {
                        id,
                        record,
                        vector,
                        moments,
                        fingerprint,
                    });
                }
                Prepared::Vanished { cause, .. } => {
                    pending -= 1;
                    moments.clear();
                    moment_error = None;
                    let mut record = FileRecord::new(
                        claimed.root,
                        &claimed.rel_path,
                        claimed.size,
                        claimed.mtime_ns,
                    );
                    record.status = FileStatus::Failed;
                    record.error = Some(cause);
                    results.push(Embedded {
                        id,
                        record,
                        vector: None,
                        moments: Vec::new(),
                        fingerprint: None,
                    });
                }
                Prepared::Moved { .. } => {
                    // Never: the decoding thread is given no missing files.
                    pending -= 1;
                }
            }
        }
        Ok(results)
    }

    fn embed_moment(
        &mut self,
        moment: Moment,
        moments: &mut Vec<MomentVector>,
        error: &mut Option<String>,
    ) {
        if error.is_some() {
            return;
        }
        match embed(self.model, moment.features) {
            Ok(data) => moments.push(MomentVector {
                start_s: moment.start_s,
                end_s: moment.end_s,
                data,
            }),
            Err(e) => {
                *error = Some(format!(
                    "the model failed on its moment at {:.1} s: {e}",
                    moment.start_s
                ))
            }
        }
    }

    /// Counts and reports a written batch.
    fn report(&mut self, files: &[ClaimedFile], results: Vec<Embedded>) {
        for r in results {
            let Some(claimed) = files.iter().find(|f| f.id == r.id) else {
                continue;
            };
            let path = self
                .root_path(claimed.root)
                .map(|base| base.join(&claimed.rel_path))
                .unwrap_or_else(|| claimed.rel_path.clone());
            let outcome = if r.vector.is_some() {
                self.summary.embedded += 1;
                self.summary.moments += r.moments.len() as u64;
                Outcome::Embedded
            } else {
                self.summary.failed += 1;
                Outcome::Failed {
                    cause: r.record.error.clone().unwrap_or_default(),
                }
            };
            self.observer.event(Event::File {
                path: &path,
                outcome: &outcome,
            });
        }
    }

    fn root_path(&self, root: RootId) -> Option<&Path> {
        self.roots
            .iter()
            .find(|(id, _)| *id == root)
            .map(|(_, p)| p.as_path())
    }
}

/// Writes a claim's results with this run's model.
fn finish(claim: Claim<'_>, model: Model<'_>, results: &[Embedded]) -> hark_shared::Result<usize> {
    claim.finish(model.identity, PIPELINE_VERSION, results)
}

/// One audio-tower pass.
fn embed(model: Model<'_>, features: Vec<f32>) -> std::result::Result<Vec<f32>, hark_model::Error> {
    model
        .clap
        .embed_features(std::slice::from_ref(&features))
        .map(|mut v| v.remove(0))
}

/// Brings the ANN cache up to date after the replica's sync.
fn refresh(
    local: &Catalog,
    index_dir: &Path,
    model: Option<Model<'_>>,
    observer: &mut dyn Observer,
    summary: &mut Summary,
) {
    let (Ok(Some(identity)), Ok(Some(pipeline))) =
        (local.meta(meta::MODEL), local.meta(meta::PIPELINE))
    else {
        summary.ann = "none".into();
        return;
    };
    let _ = model;
    observer.event(Event::AnnStarted);
    summary.ann = match refresh_ann(local, index_dir, &identity, &pipeline) {
        Ok(refresh) => {
            observer.event(Event::Ann(&refresh));
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
    };
}
