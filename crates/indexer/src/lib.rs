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
//! hash of a vanished one) keeps its record and vector, and takes the UCS
//! fields of its new name (a file's UCS category is its name's, else its
//! tags': `ucs.rs`, which also derives every file's again, once, for a
//! catalog written under an older rule); a deleted file
//! leaves the index, unless most of its root is missing (an unmounted
//! drive), in which case the root's entries are kept and the run says so.
//! Without a model, files are indexed by name and metadata and wait for
//! their vectors; a later run with the model embeds only those. A change of
//! model or embedding pipeline re-embeds every file.
//!
//! # Brief overview
//!
//! [`run`] takes the lock and hands the run to a pipeline (`pipeline.rs`)
//! that owns the catalog, the model, the [`Options`], the [`Summary`] and
//! the [`Observer`] for the run. The pipeline walks the roots ([`walk_root`])
//! and asks the catalog what it has; a plan (`plan.rs`) decides from that
//! alone what to add, read again, embed, offer as moves and remove. The
//! pipeline then reads each planned file once (`prepare.rs`: hash, then one
//! open of the sound file for its metadata and audio, cut into moments when
//! it is long, `moments.rs`), embeds, commits, removes, and refreshes the
//! ANN cache.
//!
//! A damaged catalog (pages overwritten) is repaired before the walk: set
//! aside, and a new one built from what can still be read
//! ([`hark_store::salvage`]); the run then indexes only what was lost, and
//! [`Summary::salvaged`] says how many vectors were kept.
//!
//! A bad sound file never stops a run: it is stored as failed, with its
//! cause, and tried again when it changes. The crate never prints; it
//! reports through an [`Observer`].
//!
//! [`tag`] writes descriptions, keywords and UCS categories into indexed
//! files (`hark tag`, and the terminal UI's "accept the suggested
//! category"): under the same writer lock, checked against the catalog,
//! logged for [`tag::undo_last`], with the catalog row updated in place.

mod error;
mod lock;
mod moments;
mod pipeline;
mod plan;
mod prepare;
mod report;
mod shared;
pub mod tag;
mod ucs;
mod walk;

use std::path::{Path, PathBuf};
use std::time::Instant;

use hark_model::PIPELINE_VERSION;
use hark_store::Catalog;

pub use crate::error::{Error, Result};
pub use crate::lock::{IndexLock, LOCK_FILE};
pub use crate::pipeline::{Model, Options};
pub use crate::prepare::hash_file;
pub use crate::report::{Event, Observer, Outcome, Summary};
pub use crate::shared::run_shared;
pub use crate::walk::{
    is_audio_path, mtime_ns, walk_root, Found, Walk, WalkProblem, AUDIO_EXTENSIONS,
};

use hark_store::meta;

use crate::pipeline::Pipeline;

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
    let (catalog, mut salvaged) = match Catalog::open(index_dir) {
        Err(e) if e.is_damaged() => {
            let salvaged = repair(index_dir, observer)?;
            (Catalog::open(index_dir)?, Some(salvaged))
        }
        opened => (opened?, None),
    };
    let result = match run_on(catalog, index_dir, options, model, observer, started) {
        // Damage the open check did not see, met by a statement of the run:
        // repaired the same way, once, and the run starts over.
        Err(Error::Store(e)) if e.is_damaged() && salvaged.is_none() => {
            salvaged = Some(repair(index_dir, observer)?);
            let catalog = Catalog::open(index_dir)?;
            run_on(catalog, index_dir, options, model, observer, started)
        }
        result => result,
    };
    let (mut pipeline, mut summary) = result?;
    // The vectors the repair kept with their file; those it held by
    // content hash and the run gave back are counted by the run.
    if let Some(salvaged) = salvaged {
        summary.salvaged += salvaged;
    }
    let json = serde_json::to_string(&summary).expect("a summary serialises");
    pipeline.set_meta(&[(meta::LAST_RUN, &json)])?;
    Ok(summary)
}

/// Sets the damaged catalog in `index_dir` aside and builds a new one from
/// what can be read of it (see [`hark_store::salvage`]); returns how many
/// vectors were salvaged.
fn repair(index_dir: &Path, observer: &mut dyn Observer) -> Result<u64> {
    let repair = hark_store::salvage::repair(index_dir, &moments::RULE)?;
    observer.event(Event::Repaired(&repair));
    Ok(repair.vectors)
}

/// The run proper, on an open catalog: returns the pipeline (to record the
/// summary with) and the summary.
fn run_on<'a>(
    mut catalog: Catalog,
    index_dir: &Path,
    options: &'a Options,
    model: Option<Model<'a>>,
    observer: &'a mut dyn Observer,
    started: Instant,
) -> Result<(Pipeline<'a>, Summary)> {
    add_roots(&mut catalog, &options.add_roots)?;
    let recategorised = ucs::refresh(&mut catalog)?;
    if recategorised > 0 {
        observer.event(Event::UcsRefreshed {
            files: recategorised,
        });
    }
    let indexed_with = match (catalog.meta(meta::MODEL)?, catalog.meta(meta::PIPELINE)?) {
        (Some(model), Some(pipeline)) => Some((model, pipeline)),
        _ => None,
    };

    let mut pipeline = Pipeline::new(catalog, model, options, observer);
    let plan = pipeline.plan(indexed_with)?;
    if let Some(m) = model {
        // Declared before the first vector: readers with another model
        // then refuse the index rather than mix vectors.
        pipeline.set_meta(&[
            (meta::MODEL, m.identity),
            (meta::MODEL_NAME, m.name),
            (meta::PIPELINE, PIPELINE_VERSION),
        ])?;
    }
    pipeline.execute(plan)?;
    pipeline.drop_held()?;
    pipeline.refresh_ann(index_dir);
    let summary = pipeline.finish(started)?;
    Ok((pipeline, summary))
}

/// Adds `roots` to the catalog, each as its canonical path.
///
/// # Errors
///
/// [`Error::BadRoot`] if one is not a readable folder (then none is added).
fn add_roots(catalog: &mut Catalog, roots: &[PathBuf]) -> Result<()> {
    let mut add = Vec::new();
    for root in roots {
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
    if add.is_empty() {
        return Ok(());
    }
    catalog.transaction(|tx| {
        for root in &add {
            tx.add_root(root)?;
        }
        Ok::<_, Error>(())
    })
}
