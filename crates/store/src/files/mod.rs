//! The files and roots of the library as the catalog keeps them: the
//! `roots` and `files` tables, what the indexer writes to them
//! (`write`: a file's record, a move, a removal), what
//! everyone reads back (`read`: a record by path or id, the
//! change-detection facts of a root, counts, failures, the facts a hit
//! shows), and the UCS fields derived again (`ucs`). A file's full-text
//! row and its vectors belong to other modules; writing a file here keeps
//! them in step.

use std::path::PathBuf;

use crate::paths::bytes_to_path;
use crate::{FileId, FileRecord, RootId};

mod read;
mod ucs;
mod write;
pub(crate) use write::{peaks_to_bytes, tags_to_json};

pub use ucs::UcsSource;

/// A file as stored: its record plus what the catalog assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    /// The file's id.
    pub id: FileId,
    /// When the record was last written, seconds since the Unix epoch.
    pub indexed_at: i64,
    /// The record.
    pub record: FileRecord,
}

/// The facts change detection compares against the file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// Size in bytes when indexed.
    pub size: u64,
    /// Modification time when indexed, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Content hash when indexed.
    pub content_hash: Option<Vec<u8>>,
}

/// A root folder of the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// Its id.
    pub id: RootId,
    /// Its path, as added.
    pub path: PathBuf,
    /// When it was added, seconds since the Unix epoch.
    pub added_at: i64,
}

/// File counts for `hark status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// All files in the catalog.
    pub files: u64,
    /// Files with a whole-file vector (of any model).
    pub embedded: u64,
    /// Moment vectors of long files (see [`PointId`](crate::PointId)).
    pub moments: u64,
    /// Files with status [`FileStatus::Waiting`](crate::FileStatus::Waiting).
    pub waiting: u64,
    /// Files with status [`FileStatus::Failed`](crate::FileStatus::Failed).
    pub failed: u64,
}

/// A file that failed to index, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedFile {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// The cause recorded.
    pub error: String,
}

/// What a search hit shows about its file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileFacts {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Channel count.
    pub channels: Option<u32>,
}

/// The columns of [`FileFacts`] in a query on `files f`, in the order
/// [`facts_row`] reads them.
pub(crate) const FACTS_COLUMNS: &str = "f.id, f.path, f.duration_s, f.sample_rate, f.channels";

/// Reads a row of [`FACTS_COLUMNS`].
pub(crate) fn facts_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileFacts> {
    Ok(FileFacts {
        id: FileId(r.get(0)?),
        path: bytes_to_path(r.get(1)?),
        duration_s: r.get(2)?,
        sample_rate: r.get(3)?,
        channels: r.get(4)?,
    })
}
