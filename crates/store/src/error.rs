//! The errors of hark-store.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// What went wrong with a catalog, and where.
///
/// Every variant names the catalog file; SQLite failures also say which
/// operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The index directory could not be created.
    #[error("failed to create the index directory `{}`", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A new catalog could not be put in place (synced and linked under
    /// its name).
    #[error("failed to create the catalog `{}`", path.display())]
    Create {
        /// The catalog's path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The catalog file could not be opened or set up (pragmas, WAL mode).
    #[error("failed to open the catalog `{}`: {what}", path.display())]
    Open {
        /// The catalog file.
        path: PathBuf,
        /// The step that failed.
        what: &'static str,
        /// Why.
        source: rusqlite::Error,
    },
    /// There is no catalog in the index directory (nothing indexed yet).
    #[error("there is no catalog at `{}`; run `hark index` first", path.display())]
    Missing {
        /// The catalog file looked for.
        path: PathBuf,
    },
    /// SQLite would not put the catalog in WAL mode (a file system without
    /// shared memory support, such as some network mounts).
    #[error(
        "the catalog `{}` cannot use WAL mode (journal mode is `{mode}`); \
         put the index on a local disk",
        path.display()
    )]
    NoWal {
        /// The catalog file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// The catalog was written by a newer hark, with a schema this one does
    /// not know.
    #[error(
        "the catalog `{}` has schema version {found}, newer than version {supported} \
         that this hark supports; upgrade hark",
        path.display()
    )]
    TooNew {
        /// The catalog file.
        path: PathBuf,
        /// The catalog's schema version.
        found: u32,
        /// The newest version this build supports.
        supported: u32,
    },
    /// A read-only open found an older schema, which only a writer may
    /// upgrade.
    #[error(
        "the catalog `{}` has schema version {found}, older than version {supported}; \
         run `hark index` to upgrade it",
        path.display()
    )]
    TooOld {
        /// The catalog file.
        path: PathBuf,
        /// The catalog's schema version.
        found: u32,
        /// The version this build needs.
        supported: u32,
    },
    /// Applying a schema migration failed; the catalog keeps the previous
    /// version.
    #[error("failed to upgrade the catalog `{}` to schema version {version}", path.display())]
    Migrate {
        /// The catalog file.
        path: PathBuf,
        /// The version being applied.
        version: u32,
        /// Why.
        source: rusqlite::Error,
    },
    /// A query or statement failed.
    #[error("catalog `{}`: failed to {what}", path.display())]
    Sqlite {
        /// The catalog file.
        path: PathBuf,
        /// What was being done ("insert file", "read vectors", ...).
        what: &'static str,
        /// Why.
        source: rusqlite::Error,
    },
    /// A write was attempted through a read-only catalog or a read snapshot.
    #[error("catalog `{}`: cannot {what} through a read-only view", path.display())]
    ReadOnly {
        /// The catalog file.
        path: PathBuf,
        /// The write attempted.
        what: &'static str,
    },
    /// A path given to a file operation lies under no known root.
    #[error("catalog `{}`: `{}` is not under any indexed root", catalog.display(), path.display())]
    NotUnderRoot {
        /// The catalog file.
        catalog: PathBuf,
        /// The path.
        path: PathBuf,
    },
    /// SQLite found the catalog file damaged: pages overwritten by a disk
    /// fault or a bad copy. `hark index` repairs it (see
    /// [`crate::salvage`]); every other command refuses it.
    #[error(
        "the catalog `{}` is damaged ({cause})\n\
         hint: run `hark index` to repair it: it keeps the damaged file aside, salvages what \
         can still be read and embeds only what was lost",
        path.display()
    )]
    Damaged {
        /// The catalog file.
        path: PathBuf,
        /// What SQLite said.
        cause: String,
    },
    /// A damaged catalog could not be renamed aside for repair.
    #[error("failed to rename the damaged catalog file `{}` to `{}`", path.display(), to.display())]
    SetAside {
        /// The file being renamed.
        path: PathBuf,
        /// The name it was to take.
        to: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Stored data that breaks the catalog's invariants.
    #[error("catalog `{}` is damaged: {what}", path.display())]
    Corrupt {
        /// The catalog file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Reading, writing or renaming a file of the ANN cache failed.
    #[error("ANN cache `{}`: failed to {what}", path.display())]
    AnnIo {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// An ANN cache file is damaged, truncated, from another build of hark,
    /// or does not match the catalog. The cache is rebuildable: the next
    /// `hark index` replaces it, and search meanwhile scans exactly.
    #[error("ANN cache `{}` is unusable: {what}", path.display())]
    AnnCorrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Building or writing the ANN graph failed inside hnsw_rs.
    #[error("ANN cache `{}`: failed to {what}: {cause}", path.display())]
    AnnBuild {
        /// The index directory.
        path: PathBuf,
        /// The step that failed.
        what: &'static str,
        /// hnsw_rs's message (or panic message).
        cause: String,
    },
    /// A query vector does not fit the vectors searched.
    #[error("query vector has {found} components, the indexed vectors have {expected}")]
    QueryDimension {
        /// The dimension of the indexed vectors.
        expected: usize,
        /// The query's.
        found: usize,
    },
    /// A query vector is zero or not finite, so it has no direction.
    #[error("query vector is zero or not finite")]
    QueryNotFinite,
}

impl Error {
    /// An [`Error::Sqlite`] for `what` failing, or [`Error::Damaged`] when
    /// SQLite's cause is a damaged file.
    pub(crate) fn sqlite(path: &Path, what: &'static str, source: rusqlite::Error) -> Error {
        match damage(path, &source) {
            Some(damaged) => damaged,
            None => Error::Sqlite {
                path: path.to_owned(),
                what,
                source,
            },
        }
    }

    /// An [`Error::Open`] for step `what` failing, or [`Error::Damaged`]
    /// when SQLite's cause is a damaged file.
    pub(crate) fn open(path: &Path, what: &'static str, source: rusqlite::Error) -> Error {
        match damage(path, &source) {
            Some(damaged) => damaged,
            None => Error::Open {
                path: path.to_owned(),
                what,
                source,
            },
        }
    }

    /// Whether this is [`Error::Damaged`]: the catalog needs `hark index`
    /// to repair it.
    pub fn is_damaged(&self) -> bool {
        matches!(self, Error::Damaged { .. })
    }
}

/// [`Error::Damaged`] if `source` is SQLite saying the file is damaged
/// (`SQLITE_CORRUPT`, or `SQLITE_NOTADB` when the header itself is gone).
pub(crate) fn damage(path: &Path, source: &rusqlite::Error) -> Option<Error> {
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Some(Error::Damaged {
            path: path.to_owned(),
            cause: source.to_string(),
        }),
        _ => None,
    }
}

/// A catalog result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether `error` or any error in its chain of sources says the disk is
/// full (or the user's quota spent): SQLite's `SQLITE_FULL`, or an I/O error
/// `ENOSPC`/`EDQUOT`. The CLI turns this into a hint that names the index
/// directory and the space a run needs.
pub fn is_disk_full(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(rusqlite::Error::SqliteFailure(failure, _)) =
            e.downcast_ref::<rusqlite::Error>()
        {
            if failure.code == rusqlite::ErrorCode::DiskFull {
                return true;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// Whether `error` or any error in its chain of sources is an I/O failure:
/// SQLite's `SQLITE_IOERR` family (a shared-memory file that cannot grow on
/// a full disk is one) or an `std::io::Error`. The CLI checks the free space
/// after such an error to tell a full disk from another fault.
pub fn is_io_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(rusqlite::Error::SqliteFailure(failure, _)) =
            e.downcast_ref::<rusqlite::Error>()
        {
            if failure.code == rusqlite::ErrorCode::SystemIoFailure {
                return true;
            }
        }
        if e.downcast_ref::<std::io::Error>().is_some() {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_found_anywhere_in_the_chain() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let wrapped = Error::Sqlite {
            path: "/idx/catalog.sqlite3".into(),
            what: "insert file",
            source: full,
        };
        assert!(is_disk_full(&wrapped));
        let io = Error::AnnIo {
            path: "/idx/ann".into(),
            what: "write",
            source: std::io::Error::from_raw_os_error(28), // ENOSPC
        };
        assert!(is_disk_full(&io));
        let busy = Error::Sqlite {
            path: "/idx/catalog.sqlite3".into(),
            what: "insert file",
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                None,
            ),
        };
        assert!(!is_disk_full(&busy));
        assert!(!is_io_error(&busy));
        let shm = Error::Open {
            path: "/idx/catalog.sqlite3".into(),
            what: "set journal_mode=WAL",
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR_SHMSIZE),
                None,
            ),
        };
        assert!(is_io_error(&shm) && !is_disk_full(&shm));
    }
}
