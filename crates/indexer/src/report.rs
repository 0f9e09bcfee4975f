//! What a run tells its caller: an [`Event`] for each step as it happens,
//! sent to an [`Observer`], and a [`Summary`] at the end.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::walk::WalkProblem;

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new file, indexed (embedded when a model is present).
    Added,
    /// A changed file, indexed again.
    Updated,
    /// An unchanged file given a vector it lacked.
    Embedded,
    /// An unchanged, embedded file given the audio fingerprint it lacked.
    Fingerprinted,
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
    /// The UCS fields of files were derived again from their names and
    /// stored tags, as this build reads them (once, after an upgrade that
    /// changed the rule); no file was opened.
    UcsRefreshed {
        /// Files whose fields changed.
        files: usize,
    },
    /// The catalog was damaged: it was set aside and a new one built from
    /// what could be read of it, before the walk.
    Repaired(&'a hark_store::salvage::Repair),
    /// The connection to the shared catalog was lost: the run reconnects
    /// with backoff and carries on (the batch in flight is claimed again).
    Reconnecting {
        /// Why, for a person (the address redacted).
        cause: String,
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
    /// Unchanged files given the audio fingerprint they lacked (an index
    /// made before fingerprints).
    #[serde(default)]
    pub fingerprinted: u64,
    /// Moments of long files embedded (see `index-format.md`).
    #[serde(default)]
    pub moments: u64,
    /// Vectors salvaged from a damaged catalog this run (whole-file and
    /// moments); their files were not embedded again.
    #[serde(default)]
    pub salvaged: u64,
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
