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
    /// The decoding thread stopped unexpectedly.
    #[error("the decoding thread stopped: {0}")]
    Worker(String),
}

/// The indexer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
