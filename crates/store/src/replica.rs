//! Writes for a local replica of a shared catalog (hark-shared): rows come
//! with the ids the shared catalog gave them, so a replica can apply the
//! shared catalog's changes again and again and land on the same state.
//!
//! A replica is an ordinary catalog: search, the UI and the ANN cache read
//! it as they read a catalog `hark index` writes. Only the writes differ:
//! roots, files and vectors are put at their shared ids (an upsert by id),
//! and removals name ids. Applying a change twice is harmless, which the
//! shared catalog's change reads rely on (they overlap a little).

use std::path::Path;

use rusqlite::params;

use crate::paths::path_to_bytes;
use crate::{FileId, FileRecord, PointId, Result, RootId, Tx};

impl Tx<'_> {
    /// Puts root `id` at `path` (a root at `path` with another id is
    /// removed first, with its files).
    pub fn replica_root(&self, id: RootId, path: &Path) -> Result<()> {
        const WHAT: &str = "store a replica's root";
        self.check_writable(WHAT)?;
        let bytes = path_to_bytes(path);
        let stale: Vec<i64> = self
            .conn
            .prepare_cached(
                "SELECT f.id FROM files f JOIN roots r ON r.id = f.root_id
                 WHERE r.path = ?1 AND r.id != ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![bytes, id.0], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(self.err(WHAT))?;
        let stale: Vec<FileId> = stale.into_iter().map(FileId).collect();
        self.remove_files(&stale)?;
        self.conn
            .execute(
                "DELETE FROM roots WHERE path = ?1 AND id != ?2",
                params![bytes, id.0],
            )
            .map_err(self.err(WHAT))?;
        self.conn
            .execute(
                "INSERT INTO roots (id, path, added_at) VALUES (?1, ?2, unixepoch())
                 ON CONFLICT (id) DO UPDATE SET path = excluded.path",
                params![id.0, bytes],
            )
            .map_err(self.err(WHAT))?;
        Ok(())
    }

    /// Puts file `id` with `file`'s record (`file.path` absolute, under
    /// its root's local path) and `fingerprint`, refreshing its full-text
    /// row. Its vectors are left as they are: the shared catalog's changes
    /// remove and add those on their own. A file at the same path with
    /// another id is removed first.
    pub fn replica_file(
        &self,
        id: FileId,
        file: &FileRecord,
        fingerprint: Option<&[u8]>,
    ) -> Result<()> {
        const WHAT: &str = "store a replica's file";
        self.check_writable(WHAT)?;
        let path = path_to_bytes(&file.path);
        let other: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM files WHERE path = ?1 AND id != ?2")
            .and_then(|mut s| {
                use rusqlite::OptionalExtension;
                s.query_row(params![path, id.0], |r| r.get(0)).optional()
            })
            .map_err(self.err(WHAT))?;
        if let Some(other) = other {
            self.remove_files(&[FileId(other)])?;
        }
        self.conn
            .prepare_cached(
                "INSERT INTO files (id, root_id, path, path_text, size, mtime_ns, content_hash,
                    format, codec, duration_s, sample_rate, channels, bits_per_sample, tags,
                    ucs_cat_id, ucs_category, ucs_subcategory, ucs_fx_name, peaks, status,
                    error, indexed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                    ?16, ?17, ?18, ?19, ?20, ?21, unixepoch())
                 ON CONFLICT (id) DO UPDATE SET
                    root_id = excluded.root_id, path = excluded.path,
                    path_text = excluded.path_text, size = excluded.size,
                    mtime_ns = excluded.mtime_ns, content_hash = excluded.content_hash,
                    format = excluded.format, codec = excluded.codec,
                    duration_s = excluded.duration_s, sample_rate = excluded.sample_rate,
                    channels = excluded.channels, bits_per_sample = excluded.bits_per_sample,
                    tags = excluded.tags, ucs_cat_id = excluded.ucs_cat_id,
                    ucs_category = excluded.ucs_category,
                    ucs_subcategory = excluded.ucs_subcategory,
                    ucs_fx_name = excluded.ucs_fx_name, peaks = excluded.peaks,
                    status = excluded.status, error = excluded.error,
                    indexed_at = excluded.indexed_at",
            )
            .and_then(|mut s| {
                s.execute(params![
                    id.0,
                    file.root.0,
                    path,
                    file.path.to_string_lossy(),
                    file.size as i64,
                    file.mtime_ns,
                    file.content_hash,
                    file.format,
                    file.codec,
                    file.duration_s,
                    file.sample_rate,
                    file.channels,
                    file.bits_per_sample,
                    crate::files::tags_to_json(&file.tags),
                    file.ucs_cat_id,
                    file.ucs_category,
                    file.ucs_subcategory,
                    file.ucs_fx_name,
                    crate::files::peaks_to_bytes(&file.peaks),
                    file.status.as_str(),
                    file.error,
                ])
            })
            .map_err(self.err(WHAT))?;
        match fingerprint {
            Some(data) => self.set_fingerprint(id, data)?,
            None => self.remove_fingerprint(id, WHAT)?,
        }
        self.refresh_fts(id)
    }

    /// Puts a vector at `point` (its file must be in the replica).
    pub fn replica_point(
        &self,
        point: PointId,
        span: Option<(f64, f64)>,
        model: &str,
        pipeline: &str,
        data: &[f32],
    ) -> Result<()> {
        const WHAT: &str = "store a replica's vector";
        self.check_writable(WHAT)?;
        self.insert_point(point, span, model, pipeline, data, WHAT)
    }

    /// Removes the vector at `point`, if there is one.
    pub fn replica_remove_point(&self, point: PointId) -> Result<()> {
        const WHAT: &str = "remove a replica's vector";
        self.check_writable(WHAT)?;
        self.conn
            .prepare_cached("DELETE FROM vectors WHERE point = ?1")
            .and_then(|mut s| s.execute([point.0]))
            .map_err(self.err(WHAT))?;
        Ok(())
    }

    /// Forgets every root, file, vector and fingerprint (a replica that
    /// starts over); meta data stays.
    pub fn replica_clear(&self) -> Result<()> {
        const WHAT: &str = "clear a replica";
        self.check_writable(WHAT)?;
        self.conn
            .execute_batch(
                "INSERT INTO files_fts (files_fts) VALUES ('delete-all');
                 DELETE FROM files;
                 DELETE FROM roots;",
            )
            .map_err(self.err(WHAT))?;
        Ok(())
    }
}
