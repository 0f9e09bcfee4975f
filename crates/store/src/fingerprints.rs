//! Audio fingerprints, one per file: the bytes hark-fingerprint makes,
//! whose first byte is their format version. Written by the indexer beside
//! a file's record, dropped with the file or when its content changes, and
//! read whole by the duplicate finder.

use std::collections::HashSet;
use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};

use crate::paths::bytes_to_path;
use crate::{Catalog, FileId, Result, Tx};

/// A file as the duplicate finder reads it: what decides the keeper of a
/// group, and its fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintedFile {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// The BLAKE3 hash of its bytes.
    pub content_hash: Option<Vec<u8>>,
    /// Container format (`wav`, `flac`, `mp3`, ...).
    pub format: Option<String>,
    /// Codec (`pcm_s24le`, `flac`, `mp3`, ...).
    pub codec: Option<String>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Channels.
    pub channels: Option<u32>,
    /// Bits per sample, where the format has them.
    pub bits_per_sample: Option<u32>,
    /// Its UCS CatID (`ucs_cat_id`: its name's, else its tags'), if any.
    pub ucs_cat_id: Option<String>,
    /// Its fingerprint's bytes, if it has one (of any format version).
    pub fingerprint: Option<Vec<u8>>,
}

impl Catalog {
    /// [`Tx::files_without_fingerprint`] in its own snapshot.
    pub fn files_without_fingerprint(&self, version: u8) -> Result<HashSet<FileId>> {
        self.read(|tx| tx.files_without_fingerprint(version))
    }

    /// [`Tx::fingerprinted_files`] in its own snapshot.
    pub fn fingerprinted_files(&self, f: impl FnMut(FingerprintedFile)) -> Result<()> {
        self.read(|tx| tx.fingerprinted_files(f))
    }

    /// [`Tx::fingerprint`] in its own snapshot.
    pub fn fingerprint(&self, id: FileId) -> Result<Option<Vec<u8>>> {
        self.read(|tx| tx.fingerprint(id))
    }

    /// [`Tx::fingerprints`] in its own snapshot.
    pub fn fingerprints(&self, f: impl FnMut(FileId, &[u8])) -> Result<()> {
        self.read(|tx| tx.fingerprints(f))
    }
}

impl Tx<'_> {
    /// Stores a file's fingerprint, replacing any.
    pub fn set_fingerprint(&self, id: FileId, data: &[u8]) -> Result<()> {
        const WHAT: &str = "store a fingerprint";
        self.check_writable(WHAT)?;
        self.conn
            .prepare_cached(
                "INSERT INTO fingerprints (file_id, data) VALUES (?1, ?2)
                 ON CONFLICT (file_id) DO UPDATE SET data = excluded.data",
            )
            .and_then(|mut stmt| stmt.execute(params![id.0, data]))
            .map_err(self.err(WHAT))?;
        Ok(())
    }

    /// Drops a file's fingerprint (its content changed, or could not be read).
    pub(crate) fn remove_fingerprint(&self, id: FileId, what: &'static str) -> Result<()> {
        self.conn
            .execute("DELETE FROM fingerprints WHERE file_id = ?1", [id.0])
            .map_err(self.err(what))?;
        Ok(())
    }

    /// Files that could be read (not failed) without a fingerprint of
    /// format `version`.
    pub fn files_without_fingerprint(&self, version: u8) -> Result<HashSet<FileId>> {
        const WHAT: &str = "list files without a fingerprint";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.id FROM files f LEFT JOIN fingerprints p ON p.file_id = f.id
                 WHERE f.status != 'failed'
                   AND (p.file_id IS NULL OR hex(substr(p.data, 1, 1)) != printf('%02X', ?1))",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([i64::from(version)], |r| Ok(FileId(r.get(0)?)))
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Calls `f` with every file that could be read (not failed), with its
    /// fingerprint if it has one, in file id order.
    pub fn fingerprinted_files(&self, mut f: impl FnMut(FingerprintedFile)) -> Result<()> {
        const WHAT: &str = "read files and fingerprints";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.id, f.path, f.content_hash, f.format, f.codec, f.duration_s,
                        f.sample_rate, f.channels, f.bits_per_sample, f.ucs_cat_id, p.data
                 FROM files f LEFT JOIN fingerprints p ON p.file_id = f.id
                 WHERE f.status != 'failed' ORDER BY f.id",
            )
            .map_err(self.err(WHAT))?;
        let mut rows = stmt.query([]).map_err(self.err(WHAT))?;
        while let Some(r) = rows.next().map_err(self.err(WHAT))? {
            let file = (|| {
                Ok::<_, rusqlite::Error>(FingerprintedFile {
                    id: FileId(r.get(0)?),
                    path: bytes_to_path(r.get(1)?),
                    content_hash: r.get(2)?,
                    format: r.get(3)?,
                    codec: r.get(4)?,
                    duration_s: r.get(5)?,
                    sample_rate: r.get(6)?,
                    channels: r.get(7)?,
                    bits_per_sample: r.get(8)?,
                    ucs_cat_id: r.get(9)?,
                    fingerprint: r.get(10)?,
                })
            })()
            .map_err(self.err(WHAT))?;
            f(file);
        }
        Ok(())
    }

    /// The stored fingerprint of one file, if it has one (of any format
    /// version).
    pub fn fingerprint(&self, id: FileId) -> Result<Option<Vec<u8>>> {
        const WHAT: &str = "read a fingerprint";
        self.conn
            .prepare_cached("SELECT data FROM fingerprints WHERE file_id = ?1")
            .and_then(|mut stmt| stmt.query_row([id.0], |r| r.get(0)).optional())
            .map_err(self.err(WHAT))
    }

    /// Calls `f` with every stored fingerprint, in file id order.
    pub fn fingerprints(&self, mut f: impl FnMut(FileId, &[u8])) -> Result<()> {
        const WHAT: &str = "read fingerprints";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT file_id, data FROM fingerprints ORDER BY file_id")
            .map_err(self.err(WHAT))?;
        let mut rows = stmt.query([]).map_err(self.err(WHAT))?;
        while let Some(row) = rows.next().map_err(self.err(WHAT))? {
            let id = FileId(row.get(0).map_err(self.err(WHAT))?);
            let data = row.get_ref(1).map_err(self.err(WHAT))?;
            f(id, data.as_blob().map_err(|e| self.err(WHAT)(e.into()))?);
        }
        Ok(())
    }
}
