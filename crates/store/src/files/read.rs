//! Reading files back: a stored record by path or id, the change-detection
//! facts of a root's files, the roots, counts and failures for
//! `hark status`, and the facts a search hit shows.

use std::path::Path;

use rusqlite::OptionalExtension;

use super::{facts_row, Counts, FailedFile, FileFacts, FileState, Root, StoredFile, FACTS_COLUMNS};
use crate::paths::{bytes_to_path, path_to_bytes};
use crate::{Catalog, FileId, FileRecord, FileStatus, Result, RootId, Tx};

impl Catalog {
    /// [`Tx::roots`] in its own snapshot.
    pub fn roots(&self) -> Result<Vec<Root>> {
        self.read(|tx| tx.roots())
    }

    /// [`Tx::file_by_path`] in its own snapshot.
    pub fn file_by_path(&self, path: &Path) -> Result<Option<StoredFile>> {
        self.read(|tx| tx.file_by_path(path))
    }

    /// [`Tx::files_under_root`] in its own snapshot.
    pub fn files_under_root(&self, root: RootId) -> Result<Vec<FileState>> {
        self.read(|tx| tx.files_under_root(root))
    }

    /// [`Tx::counts`] in its own snapshot.
    pub fn counts(&self) -> Result<Counts> {
        self.read(|tx| tx.counts())
    }

    /// [`Tx::files_per_root`] in its own snapshot.
    pub fn files_per_root(&self) -> Result<Vec<(RootId, u64)>> {
        self.read(|tx| tx.files_per_root())
    }

    /// [`Tx::failed_files`] in its own snapshot.
    pub fn failed_files(&self) -> Result<Vec<FailedFile>> {
        self.read(|tx| tx.failed_files())
    }

    /// [`Tx::file_by_id`] in its own snapshot.
    pub fn file_by_id(&self, id: FileId) -> Result<Option<StoredFile>> {
        self.read(|tx| tx.file_by_id(id))
    }
}

impl Tx<'_> {
    /// All roots, in the order added.
    pub fn roots(&self) -> Result<Vec<Root>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, path, added_at FROM roots ORDER BY id")
            .map_err(self.err("list roots"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Root {
                    id: RootId(r.get(0)?),
                    path: bytes_to_path(r.get(1)?),
                    added_at: r.get(2)?,
                })
            })
            .map_err(self.err("list roots"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err("list roots"))
    }

    /// Inserts a file, or updates the one with the same path (keeping its
    /// id), and refreshes its full-text row. If the file had a vector and
    /// The stored file at `path`, if any.
    pub fn file_by_path(&self, path: &Path) -> Result<Option<StoredFile>> {
        const WHAT: &str = "read a file";
        let row = self
            .conn
            .query_row(
                "SELECT id, indexed_at, root_id, path, size, mtime_ns, content_hash, format,
                    codec, duration_s, sample_rate, channels, bits_per_sample, tags,
                    ucs_cat_id, ucs_category, ucs_subcategory, ucs_fx_name, peaks, status, error
                 FROM files WHERE path = ?1",
                [path_to_bytes(path)],
                |r| {
                    let size: i64 = r.get(4)?;
                    let status: String = r.get(19)?;
                    let tags: String = r.get(13)?;
                    let peaks: Option<Vec<u8>> = r.get(18)?;
                    let mut record = FileRecord::new(
                        RootId(r.get(2)?),
                        bytes_to_path(r.get(3)?),
                        size as u64,
                        r.get(5)?,
                    );
                    record.content_hash = r.get(6)?;
                    record.format = r.get(7)?;
                    record.codec = r.get(8)?;
                    record.duration_s = r.get(9)?;
                    record.sample_rate = r.get(10)?;
                    record.channels = r.get(11)?;
                    record.bits_per_sample = r.get(12)?;
                    record.ucs_cat_id = r.get(14)?;
                    record.ucs_category = r.get(15)?;
                    record.ucs_subcategory = r.get(16)?;
                    record.ucs_fx_name = r.get(17)?;
                    record.peaks = bytes_to_peaks(&peaks.unwrap_or_default());
                    record.error = r.get(20)?;
                    Ok((FileId(r.get(0)?), r.get(1)?, record, status, tags))
                },
            )
            .optional()
            .map_err(self.err(WHAT))?;
        let Some((id, indexed_at, mut record, status, tags)) = row else {
            return Ok(None);
        };
        record.status = FileStatus::parse(&status)
            .ok_or_else(|| self.corrupt(format!("file {} has status `{status}`", id.0)))?;
        record.tags = self.tags_from_json(&tags)?;
        Ok(Some(StoredFile {
            id,
            indexed_at,
            record,
        }))
    }

    /// Decodes the `tags` column with SQLite's JSON functions.
    fn tags_from_json(&self, json: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                 FROM json_each(?1) ORDER BY key",
            )
            .map_err(self.err("read tags"))?;
        let rows = stmt
            .query_map([json], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err("read tags"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err("read tags"))
    }

    /// The change-detection facts of every file under a root.
    pub fn files_under_root(&self, root: RootId) -> Result<Vec<FileState>> {
        const WHAT: &str = "list a root's files";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, path, size, mtime_ns, content_hash FROM files WHERE root_id = ?1",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([root.0], |r| {
                let size: i64 = r.get(2)?;
                Ok(FileState {
                    id: FileId(r.get(0)?),
                    path: bytes_to_path(r.get(1)?),
                    size: size as u64,
                    mtime_ns: r.get(3)?,
                    content_hash: r.get(4)?,
                })
            })
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// File counts by status, and how many have a vector.
    pub fn counts(&self) -> Result<Counts> {
        const WHAT: &str = "count files";
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM files),
                        (SELECT count(*) FROM vectors WHERE segment = 0),
                        (SELECT count(*) FROM files WHERE status = 'waiting'),
                        (SELECT count(*) FROM files WHERE status = 'failed'),
                        (SELECT count(*) FROM vectors WHERE segment > 0)",
                [],
                |r| {
                    Ok(Counts {
                        files: r.get::<_, i64>(0)? as u64,
                        embedded: r.get::<_, i64>(1)? as u64,
                        waiting: r.get::<_, i64>(2)? as u64,
                        failed: r.get::<_, i64>(3)? as u64,
                        moments: r.get::<_, i64>(4)? as u64,
                    })
                },
            )
            .map_err(self.err(WHAT))
    }

    /// How many files each root has, for every root (0 for an empty one).
    pub fn files_per_root(&self) -> Result<Vec<(RootId, u64)>> {
        const WHAT: &str = "count files per root";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.id, (SELECT count(*) FROM files f WHERE f.root_id = r.id)
                 FROM roots r ORDER BY r.id",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([], |r| Ok((RootId(r.get(0)?), r.get::<_, i64>(1)? as u64)))
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Every failed file with its cause, by path.
    pub fn failed_files(&self) -> Result<Vec<FailedFile>> {
        const WHAT: &str = "list failed files";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, path, coalesce(error, '') FROM files
                 WHERE status = 'failed' ORDER BY path_text",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FailedFile {
                    id: FileId(r.get(0)?),
                    path: bytes_to_path(r.get(1)?),
                    error: r.get(2)?,
                })
            })
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// The displayed facts of each file in `ids` that exists and has not
    /// failed, in the order of `ids`; missing ones are left out.
    pub fn file_facts(&self, ids: &[FileId]) -> Result<Vec<FileFacts>> {
        const WHAT: &str = "read file facts";
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {FACTS_COLUMNS} FROM files f WHERE f.id = ?1 AND f.status != 'failed'"
            ))
            .map_err(self.err(WHAT))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(facts) = stmt
                .query_row([id.0], facts_row)
                .optional()
                .map_err(self.err(WHAT))?
            {
                out.push(facts);
            }
        }
        Ok(out)
    }

    /// Whether the catalog holds any file (in any status).
    pub fn has_files(&self) -> Result<bool> {
        self.conn
            .query_row("SELECT EXISTS (SELECT 1 FROM files)", [], |r| r.get(0))
            .map_err(self.err("look for files"))
    }

    /// The stored file with this id, if any.
    pub fn file_by_id(&self, id: FileId) -> Result<Option<StoredFile>> {
        // By path, so that one function (`file_by_path`) decodes a file row.
        let path: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT path FROM files WHERE id = ?1", [id.0], |r| r.get(0))
            .optional()
            .map_err(self.err("read a file"))?;
        match path {
            Some(path) => self.file_by_path(&bytes_to_path(path)),
            None => Ok(None),
        }
    }

    /// The id of the file at `path`, if the catalog has it.
    pub fn file_id_by_path(&self, path: &Path) -> Result<Option<FileId>> {
        self.conn
            .query_row(
                "SELECT id FROM files WHERE path = ?1",
                [path_to_bytes(path)],
                |r| r.get(0).map(FileId),
            )
            .optional()
            .map_err(self.err("find a file by path"))
    }
}

fn bytes_to_peaks(bytes: &[u8]) -> Vec<(i8, i8)> {
    bytes
        .chunks_exact(2)
        .map(|p| (p[0] as i8, p[1] as i8))
        .collect()
}
