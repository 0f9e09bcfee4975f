//! A run's engine: the [`Pipeline`] owns the catalog, the model, the
//! options, the summary and the observer for one run, and carries a
//! [`Plan`] out. It surveys the roots, reads the planned files on a second
//! thread (hash, metadata, decoding to the model's input) while this one
//! embeds them and commits the results in batches, removes what is gone,
//! and brings the ANN cache up to date.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hark_model::{Clap, PIPELINE_VERSION};
use hark_store::ann::{refresh_ann, AnnAction};
use hark_store::{Catalog, FileId, FileRecord, FileStatus, MomentVector};

use crate::error::{Error, Result};
use crate::moments::Moment;
use crate::plan::{KeptRoot, Plan, Survey};
use crate::prepare::{prepare, HeldByHash, Kind, MissingByHash, Prepared, Task};
use crate::report::{Event, Observer, Outcome, Summary};
use crate::ucs::ucs_fields;
use crate::walk::{walk_root, Found, Walk};

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

// Clips go through the audio tower one at a time: on the CPU a batch of 4
// takes longer per clip than 4 single passes (132.6 against 116.9 ms per
// 10 s clip, docs/benchmarks.md), and a batch would delay every commit
// behind its slowest file.

/// Files (or moments of a long file) decoded ahead of the model.
const DECODE_AHEAD: usize = 4;

/// One run's state: what it writes to, embeds with, reports to, and counts.
pub(crate) struct Pipeline<'a> {
    catalog: Catalog,
    model: Option<Model<'a>>,
    options: &'a Options,
    summary: Summary,
    observer: &'a mut dyn Observer,
}

/// A processed file waiting for its batch's commit.
enum Ready {
    Record {
        record: Box<FileRecord>,
        vector: Option<Vec<f32>>,
        /// Its moments' vectors, if it is long (stored with `vector`).
        moments: Vec<MomentVector>,
        /// Its vectors are held from a repair: given to it at the commit.
        claim: bool,
        fingerprint: Option<Vec<u8>>,
        outcome: Outcome,
    },
    Moved {
        id: FileId,
        to: Found,
        from: PathBuf,
    },
    /// The fingerprint an unchanged, embedded file lacked.
    Fingerprint { path: PathBuf, data: Vec<u8> },
}

/// Files read and embedded since the last commit.
struct Batch {
    pending: Vec<Ready>,
    last_commit: Instant,
    /// The moments of the file being read: they come before its record.
    moments: Vec<MomentVector>,
    /// Why one of those moments could not be embedded, if one could not.
    moment_error: Option<String>,
    /// Files recognised as moved this run.
    moved: HashSet<FileId>,
}

impl<'a> Pipeline<'a> {
    /// A pipeline writing to `catalog`, embedding with `model` (if any).
    pub(crate) fn new(
        catalog: Catalog,
        model: Option<Model<'a>>,
        options: &'a Options,
        observer: &'a mut dyn Observer,
    ) -> Pipeline<'a> {
        Pipeline {
            catalog,
            model,
            options,
            summary: Summary::default(),
            observer,
        }
    }

    /// Sets catalog meta entries, in one transaction.
    pub(crate) fn set_meta(&mut self, entries: &[(&str, &str)]) -> Result<()> {
        self.catalog.transaction(|tx| {
            for (key, value) in entries {
                tx.set_meta(key, value)?;
            }
            Ok::<_, Error>(())
        })
    }

    /// Walks every root, compares with the catalog and decides what to do,
    /// reporting as it goes. `indexed_with` is the model identity and
    /// pipeline version the index was built with, if it records them.
    pub(crate) fn plan(&mut self, indexed_with: Option<(String, String)>) -> Result<Plan> {
        let mut survey = Survey::new(self.catalog.roots()?);
        for root in survey.deepest_first() {
            let known = self.catalog.files_under_root(root.id)?;
            let walk = root.path.is_dir().then(|| walk_root(&root.path));
            if let Some(walk) = &walk {
                self.report_walk(&root.path, walk);
            }
            survey.add_root(root.id, known, walk);
        }

        let needs_vector: HashSet<FileId> = match self.model {
            Some(m) => self
                .catalog
                .files_waiting_for_vectors(m.identity, PIPELINE_VERSION)?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            None => HashSet::new(),
        };
        match (self.model, indexed_with) {
            (Some(m), Some((old_id, old_pipeline))) => {
                if (old_id.as_str(), old_pipeline.as_str()) != (m.identity, PIPELINE_VERSION) {
                    self.observer.event(Event::ModelChanged {
                        from: format!("{old_id} ({old_pipeline})"),
                        to: format!("{} ({PIPELINE_VERSION})", m.identity),
                    });
                }
            }
            (Some(_), None) => {}
            (None, _) => self.observer.event(Event::NoModel),
        }

        let needs_fingerprint = self
            .catalog
            .files_without_fingerprint(hark_fingerprint::FORMAT_VERSION)?;
        let plan = Plan::new(
            survey,
            &needs_vector,
            &needs_fingerprint,
            self.options.prune_missing,
        );
        for kept in &plan.kept {
            self.observer.event(match kept {
                KeptRoot::Absent { root, kept } => Event::RootMissing { root, kept: *kept },
                KeptRoot::MostlyMissing {
                    root,
                    missing,
                    known,
                } => Event::RootMostlyMissing {
                    root,
                    missing: *missing,
                    known: *known,
                },
            });
        }
        self.summary.roots_kept = plan.kept.iter().map(|k| k.root().to_path_buf()).collect();
        self.summary.unchanged = plan.unchanged;
        self.observer.event(Event::Planned {
            work: plan.tasks.len(),
            unchanged: plan.unchanged as usize,
        });
        Ok(plan)
    }

    fn report_walk(&mut self, root: &Path, walk: &Walk) {
        self.observer.event(Event::Walked {
            root,
            files: walk.files.len(),
        });
        for problem in &walk.problems {
            self.observer.event(Event::Problem(problem));
        }
        self.summary.problems += walk.problems.len() as u64;
    }

    /// Reads, embeds and stores the planned files, then removes the missing
    /// ones that did not turn out to have moved.
    pub(crate) fn execute(&mut self, plan: Plan) -> Result<()> {
        let moved = self.process(plan.tasks, plan.moves)?;
        let gone: Vec<FileId> = plan
            .removals
            .into_iter()
            .filter(|id| !moved.contains(id))
            .collect();
        if !gone.is_empty() {
            let removed = self.catalog.transaction(|tx| tx.remove_files(&gone))?;
            self.summary.removed = removed as u64;
            self.observer.event(Event::Removed { count: removed });
        }
        Ok(())
    }

    /// Reads the files on a second thread while this one embeds and
    /// commits; returns the ids of files recognised as moved.
    fn process(&mut self, tasks: Vec<Task>, mut moves: MissingByHash) -> Result<HashSet<FileId>> {
        let mut batch = Batch {
            pending: Vec::new(),
            last_commit: Instant::now(),
            moments: Vec::new(),
            moment_error: None,
            moved: HashSet::new(),
        };
        if tasks.is_empty() {
            return Ok(batch.moved);
        }
        let front_end = self.model.map(|m| m.clap.front_end());
        let mut held = HeldByHash::new();
        if let Some(m) = self.model {
            // Load the audio tower before the decoder starts, so a broken
            // checkpoint fails the run at once.
            m.clap.audio_tower()?;
            held = self.catalog.held_vectors(m.identity, PIPELINE_VERSION)?;
        }
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::sync_channel::<Prepared>(DECODE_AHEAD);
            let decoder = std::thread::Builder::new()
                .name("hark-decode".into())
                .spawn_scoped(scope, move || {
                    for task in tasks {
                        // A file read for its fingerprint alone is not embedded.
                        let front_end = match task.kind {
                            Kind::Fingerprint => None,
                            _ => front_end,
                        };
                        let mut emit = |m| {
                            // A closed channel ends the loop below at once.
                            let _ = tx.send(Prepared::Moment(m));
                        };
                        if tx
                            .send(prepare(task, &mut moves, &held, front_end, &mut emit))
                            .is_err()
                        {
                            break;
                        }
                    }
                })
                .map_err(|e| Error::Worker(e.to_string()))?;
            for prepared in rx {
                self.receive(prepared, &mut batch)?;
            }
            self.commit(&mut batch)?;
            decoder
                .join()
                .map_err(|_| Error::Worker("the decoding thread panicked".into()))
        })?;
        Ok(batch.moved)
    }

    /// Takes one result from the decoding thread: embeds it, adds it to the
    /// batch, and commits the batch when it is full or old enough.
    fn receive(&mut self, prepared: Prepared, batch: &mut Batch) -> Result<()> {
        let prepared = match prepared {
            Prepared::Moment(moment) => {
                self.embed_moment(moment, batch);
                return Ok(());
            }
            other => other,
        };
        let moments = std::mem::take(&mut batch.moments);
        let moment_error = batch.moment_error.take();
        let ready = match prepared {
            Prepared::Moment(_) => unreachable!("moments are taken above"),
            Prepared::Vanished { task, cause } => {
                let outcome = Outcome::Vanished { cause };
                self.observer.event(Event::File {
                    path: &task.found.path,
                    outcome: &outcome,
                });
                return Ok(());
            }
            Prepared::Moved { task, from } => {
                batch.moved.insert(from.id);
                Ready::Moved {
                    id: from.id,
                    to: task.found,
                    from: from.path,
                }
            }
            Prepared::Record {
                task,
                record,
                fingerprint,
                ..
            } if task.kind == Kind::Fingerprint => match fingerprint {
                Some(data) => Ready::Fingerprint {
                    path: task.found.path,
                    data,
                },
                // It decoded before and does not now: say so, change nothing.
                None => {
                    let outcome = Outcome::Failed {
                        cause: record.error.unwrap_or_default(),
                    };
                    self.summary.failed += 1;
                    self.observer.event(Event::File {
                        path: &task.found.path,
                        outcome: &outcome,
                    });
                    return Ok(());
                }
            },
            Prepared::Record {
                task,
                record,
                features,
                claim,
                fingerprint,
            } => {
                let mut record = record;
                let (vector, outcome) =
                    self.embed_record(task.kind, &mut record, features, moment_error);
                Ready::Record {
                    claim: claim && record.status != FileStatus::Failed,
                    record,
                    vector,
                    moments,
                    fingerprint,
                    outcome,
                }
            }
        };
        batch.pending.push(ready);
        if batch.pending.len() >= self.options.commit_files
            || batch.last_commit.elapsed() >= self.options.commit_interval
        {
            self.commit(batch)?;
            batch.last_commit = Instant::now();
        }
        Ok(())
    }

    /// Embeds a moment of the file being read; after one fails, the file's
    /// other moments are not tried.
    fn embed_moment(&mut self, moment: Moment, batch: &mut Batch) {
        if batch.moment_error.is_some() {
            return;
        }
        match embed(self.model, Some(moment.features)) {
            Some(Ok(data)) => batch.moments.push(MomentVector {
                start_s: moment.start_s,
                end_s: moment.end_s,
                data,
            }),
            Some(Err(e)) => {
                batch.moment_error = Some(format!(
                    "the model failed on its moment at {:.1} s: {e}",
                    moment.start_s
                ))
            }
            None => {}
        }
    }

    /// Embeds a file read as `kind`: its vector, if any, and the outcome. A
    /// failure of the model on the file or on one of its moments records the
    /// file as failed.
    fn embed_record(
        &mut self,
        kind: Kind,
        record: &mut FileRecord,
        features: Option<Vec<f32>>,
        moment_error: Option<String>,
    ) -> (Option<Vec<f32>>, Outcome) {
        match (record.status, embed(self.model, features)) {
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
            (_, Some(Ok(_))) if moment_error.is_some() => {
                record.status = FileStatus::Failed;
                record.error = moment_error;
                let cause = record.error.clone().unwrap_or_default();
                (None, Outcome::Failed { cause })
            }
            (_, v) => {
                let outcome = match kind {
                    Kind::New => Outcome::Added,
                    Kind::Changed => Outcome::Updated,
                    Kind::Embed => Outcome::Embedded,
                    Kind::Fingerprint => Outcome::Fingerprinted,
                };
                (v.and_then(|v| v.ok()), outcome)
            }
        }
    }

    /// Writes the batch in one transaction and reports each file.
    fn commit(&mut self, batch: &mut Batch) -> Result<()> {
        if batch.pending.is_empty() {
            return Ok(());
        }
        let model = self.model;
        let mut moments_stored = 0;
        let mut claimed = 0;
        self.catalog.transaction(|tx| {
            for ready in &batch.pending {
                match ready {
                    Ready::Record {
                        record,
                        vector,
                        moments,
                        claim,
                        fingerprint,
                        ..
                    } => {
                        let id = tx.upsert_file(record)?;
                        if let (true, Some(m), Some(hash)) = (claim, model, &record.content_hash) {
                            claimed += tx.claim_held(id, hash, m.identity, PIPELINE_VERSION)?;
                        }
                        if let Some(data) = fingerprint {
                            tx.set_fingerprint(id, data)?;
                        }
                        if let (Some(v), Some(m)) = (vector, model) {
                            tx.set_vector(id, m.identity, PIPELINE_VERSION, v)?;
                            tx.set_moments(id, m.identity, PIPELINE_VERSION, moments)?;
                            moments_stored += moments.len() as u64;
                        }
                    }
                    Ready::Moved { id, to, .. } => {
                        // Same content, same tags: the catalog's.
                        let tags = tx.file_by_id(*id)?.map(|f| f.record.tags);
                        let ucs = ucs_fields(&to.path, tags.as_deref().unwrap_or_default());
                        tx.move_file(*id, &to.path, &ucs)?;
                        tx.set_file_stat(*id, to.size, to.mtime_ns)?;
                    }
                    Ready::Fingerprint { path, data } => {
                        // Gone from the catalog meanwhile: nothing to add it to.
                        if let Some(id) = tx.file_id_by_path(path)? {
                            tx.set_fingerprint(id, data)?;
                        }
                    }
                }
            }
            Ok::<_, Error>(())
        })?;
        self.summary.moments += moments_stored;
        self.summary.salvaged += claimed;
        for ready in batch.pending.drain(..) {
            match ready {
                Ready::Record {
                    record, outcome, ..
                } => {
                    match &outcome {
                        Outcome::Added => self.summary.added += 1,
                        Outcome::Updated => self.summary.updated += 1,
                        Outcome::Embedded => self.summary.embedded += 1,
                        Outcome::Fingerprinted => self.summary.fingerprinted += 1,
                        Outcome::Failed { .. } => self.summary.failed += 1,
                        Outcome::Moved { .. } | Outcome::Vanished { .. } => {}
                    }
                    self.observer.event(Event::File {
                        path: &record.path,
                        outcome: &outcome,
                    });
                }
                Ready::Moved { to, from, .. } => {
                    self.summary.moved += 1;
                    self.observer.event(Event::File {
                        path: &to.path,
                        outcome: &Outcome::Moved { from },
                    });
                }
                Ready::Fingerprint { path, .. } => {
                    self.summary.fingerprinted += 1;
                    self.observer.event(Event::File {
                        path: &path,
                        outcome: &Outcome::Fingerprinted,
                    });
                }
            }
        }
        Ok(())
    }

    /// After a complete run with a model: drops the vectors still held from
    /// a repair, whose files were not found again. Kept while a root is
    /// absent or mostly missing (its files may come back with it).
    pub(crate) fn drop_held(&mut self) -> Result<()> {
        if self.model.is_none() || !self.summary.roots_kept.is_empty() {
            return Ok(());
        }
        // Most runs follow no repair: no write transaction for nothing.
        if self.catalog.holds_vectors()? {
            self.catalog.transaction(|tx| tx.drop_held())?;
        }
        Ok(())
    }

    /// Brings the ANN cache beside the catalog in `index_dir` up to date
    /// (with a model). A failure is reported and counted as a problem, not
    /// an error: searches scan exactly until a later run succeeds.
    pub(crate) fn refresh_ann(&mut self, index_dir: &Path) {
        let Some(m) = self.model else {
            self.summary.ann = "none".into();
            return;
        };
        self.observer.event(Event::AnnStarted);
        self.summary.ann = match refresh_ann(&self.catalog, index_dir, m.identity, PIPELINE_VERSION)
        {
            Ok(refresh) => {
                self.observer.event(Event::Ann(&refresh));
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
                self.observer.event(Event::AnnFailed(&e));
                self.summary.problems += 1;
                "failed".into()
            }
        };
    }

    /// The run's summary, completed: files still waiting for a vector, and
    /// the time taken since `started`.
    pub(crate) fn finish(&mut self, started: Instant) -> Result<Summary> {
        self.summary.waiting = self.catalog.counts()?.waiting;
        self.summary.seconds = started.elapsed().as_secs_f64();
        self.summary.finished_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Ok(self.summary.clone())
    }
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
