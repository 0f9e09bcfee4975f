//! The indexer's errors: what stops a run. A bad sound file never does; it
//! is recorded in the catalog as failed, with its cause.

use std::path::PathBuf;

/// Why an index run could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another `hark index` holds the index's writer lock.
    #[error("another `hark index` is updating this index (lock `{}` is held)", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A file-system operation on the index itself failed.
    #[error("cannot {what} `{}`: {cause}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        cause: std::io::Error,
    },
    /// A root given on the command line is not a readable folder.
    #[error("cannot index `{}`: {cause}", path.display())]
    BadRoot {
        /// The root as given.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// The catalog failed.
    #[error(transparent)]
    Store(#[from] hark_store::Error),
    /// The model failed in a way that is not one file's fault.
    #[error("the model failed: {0}")]
    Model(#[from] hark_model::Error),
    /// The shared catalog failed.
    #[error(transparent)]
    Shared(#[from] hark_shared::Error),
    /// `--catalog` was given for an index directory that holds a local
    /// index: its catalog would be replaced by the shared one's replica.
    #[error(
        "the index directory `{}` holds a local index; a shared catalog needs an index \
         directory of its own (its catalog becomes a replica of the shared one)\n\
         hint: pass another --index DIR with --catalog",
        dir.display()
    )]
    LocalIndex {
        /// The index directory.
        dir: PathBuf,
    },
    /// A shared index run with no mount to walk.
    #[error(
        "the index directory `{}` mounts no root of the shared catalog\n\
         hint: `hark index PATH --name NAME` records PATH as this host's mount of root NAME",
        dir.display()
    )]
    NoMounts {
        /// The index directory.
        dir: PathBuf,
    },
    /// The shared catalog's vectors were made with another model.
    #[error(
        "the shared catalog `{catalog}` holds vectors of model {theirs}; this run's model is \
         {ours}, and vectors of two models cannot be mixed\n\
         hint: index with the catalog's model (--model), or give the new model a catalog of its own"
    )]
    SharedModel {
        /// The catalog, redacted.
        catalog: String,
        /// Its model and pipeline.
        theirs: String,
        /// This run's.
        ours: String,
    },
    /// The decoding thread stopped unexpectedly.
    #[error("the decoding thread stopped: {0}")]
    Worker(String),
}

/// The indexer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes on one line, `: `-separated (for events).
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}
