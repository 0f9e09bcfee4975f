//! One writer per index: an advisory lock on `<index>/index.lock`.
//!
//! The operating system releases the lock when the process ends, however it
//! ends (kill -9 included), so a crashed run never leaves a stale lock. The
//! catalog itself also serialises writers (SQLite), but two index runs
//! would do every file twice; the lock makes the second one stop at once.
//! Readers (search, the TUI) never take it.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::{Error, Result};

/// The lock file's name in the index directory.
pub const LOCK_FILE: &str = "index.lock";

/// The held writer lock; released on drop.
#[derive(Debug)]
pub struct IndexLock {
    _file: File,
}

impl IndexLock {
    /// Takes the lock of the index in `dir` (created if needed). With
    /// `wait`, blocks until the holder finishes; without, fails at once with
    /// [`Error::Locked`].
    pub fn acquire(dir: &Path, wait: bool) -> Result<IndexLock> {
        std::fs::create_dir_all(dir).map_err(|cause| Error::Io {
            path: dir.to_path_buf(),
            what: "create the index directory",
            cause,
        })?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|cause| Error::Io {
                path: path.clone(),
                what: "open the lock file",
                cause,
            })?;
        if wait {
            file.lock().map_err(|cause| Error::Io {
                path: path.clone(),
                what: "lock",
                cause,
            })?;
        } else {
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Err(Error::Locked { path }),
                Err(TryLockError::Error(cause)) => {
                    return Err(Error::Io {
                        path,
                        what: "lock",
                        cause,
                    })
                }
            }
        }
        Ok(IndexLock { _file: file })
    }
}
