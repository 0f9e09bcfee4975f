//! The seam for a second catalog backend: [`CatalogWriter`], everything the
//! indexer writes to a catalog, and nothing it reads.
//!
//! Today the one implementation is the SQLite [`Tx`]. The intended second
//! is PostgreSQL as a *shared* catalog for a team (see design.md, "Beyond
//! one machine"): indexers on several machines write roots, files, vectors
//! and meta to it through this trait. Each workstation keeps searching its
//! local SQLite catalog, a mirror kept in step by replaying the shared
//! catalog's changes, in the order of its change sequence, into a [`Tx`]
//! through this same trait; search, the UI and the ANN cache never learn
//! where the data came from. Reads stay on [`Tx`]: they are what the local
//! SQLite catalog serves.
//!
//! Errors are this crate's [`Error`](crate::Error); a PostgreSQL
//! implementation would add its own variant for its driver's failures.

use std::path::Path;

use crate::{FileId, FileRecord, MomentVector, Result, RootId, Tx, UcsFields};

/// What the indexer writes to a catalog, in one transaction of the backend.
/// Each method is the [`Tx`] method of the same name; see there for what
/// it does exactly.
pub trait CatalogWriter {
    /// Adds a root folder, or finds it, and returns its id
    /// ([`Tx::add_root`]).
    fn add_root(&self, path: &Path) -> Result<RootId>;

    /// Stores a file's record, keeping the id of the file at the same path
    /// and dropping a vector of other content ([`Tx::upsert_file`]).
    fn upsert_file(&self, file: &FileRecord) -> Result<FileId>;

    /// Records that a file moved, keeping its id, metadata and vectors,
    /// with the UCS fields of its new name ([`Tx::move_file`]).
    fn move_file(&self, id: FileId, new_path: &Path, ucs: &UcsFields) -> Result<()>;

    /// Updates a file's size and modification time ([`Tx::set_file_stat`]).
    fn set_file_stat(&self, id: FileId, size: u64, mtime_ns: i64) -> Result<()>;

    /// Replaces a file's UCS fields ([`Tx::set_ucs`]).
    fn set_ucs(&self, id: FileId, ucs: &UcsFields) -> Result<()>;

    /// Removes files with their vectors and words; returns how many existed
    /// ([`Tx::remove_files`]).
    fn remove_files(&self, ids: &[FileId]) -> Result<usize>;

    /// Stores a file's whole-file vector ([`Tx::set_vector`]).
    fn set_vector(&self, id: FileId, model: &str, pipeline: &str, vector: &[f32]) -> Result<()>;

    /// Replaces a file's moment vectors ([`Tx::set_moments`]).
    fn set_moments(
        &self,
        id: FileId,
        model: &str,
        pipeline: &str,
        moments: &[MomentVector],
    ) -> Result<()>;

    /// Stores a file's audio fingerprint ([`Tx::set_fingerprint`]).
    fn set_fingerprint(&self, id: FileId, data: &[u8]) -> Result<()>;

    /// Sets a value of the index's meta data ([`Tx::set_meta`], keys in
    /// [`crate::meta`]).
    fn set_meta(&self, key: &str, value: &str) -> Result<()>;
}

impl CatalogWriter for Tx<'_> {
    fn add_root(&self, path: &Path) -> Result<RootId> {
        Tx::add_root(self, path)
    }

    fn upsert_file(&self, file: &FileRecord) -> Result<FileId> {
        Tx::upsert_file(self, file)
    }

    fn move_file(&self, id: FileId, new_path: &Path, ucs: &UcsFields) -> Result<()> {
        Tx::move_file(self, id, new_path, ucs)
    }

    fn set_file_stat(&self, id: FileId, size: u64, mtime_ns: i64) -> Result<()> {
        Tx::set_file_stat(self, id, size, mtime_ns)
    }

    fn set_ucs(&self, id: FileId, ucs: &UcsFields) -> Result<()> {
        Tx::set_ucs(self, id, ucs)
    }

    fn remove_files(&self, ids: &[FileId]) -> Result<usize> {
        Tx::remove_files(self, ids)
    }

    fn set_vector(&self, id: FileId, model: &str, pipeline: &str, vector: &[f32]) -> Result<()> {
        Tx::set_vector(self, id, model, pipeline, vector)
    }

    fn set_moments(
        &self,
        id: FileId,
        model: &str,
        pipeline: &str,
        moments: &[MomentVector],
    ) -> Result<()> {
        Tx::set_moments(self, id, model, pipeline, moments)
    }

    fn set_fingerprint(&self, id: FileId, data: &[u8]) -> Result<()> {
        Tx::set_fingerprint(self, id, data)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        Tx::set_meta(self, key, value)
    }
}
