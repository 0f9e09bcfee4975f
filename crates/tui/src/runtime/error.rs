//! Why the UI could not run, or stopped.

use std::path::PathBuf;

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
