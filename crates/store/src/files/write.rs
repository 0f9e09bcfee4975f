//! What the indexer writes about files: roots, a file's record (its
//! full-text row refreshed, a vector of other content dropped), a file's
//! new place or stat after a move, and removals.

use std::path::Path;

use rusqlite::{params, OptionalExtension};

use crate::paths::path_to_bytes;
use crate::{Error, FileId, FileRecord, Result, RootId, Tx, UcsFields};

impl Tx<'_> {
    /// Adds a root folder, or finds it if already added, and returns its
    /// id. The path is stored as given; callers pass it canonicalised.
    pub fn add_root(&self, path: &Path) -> Result<RootId> {
        self.check_writable("add a root")?;
        let bytes = path_to_bytes(path);
        self.conn
            .execute(
                "INSERT INTO roots (path, added_at) VALUES (?1, unixepoch())
                 ON CONFLICT (path) DO NOTHING",
                [&bytes],
            )
            .map_err(self.err("add a root"))?;
        self.conn
            .query_row("SELECT id FROM roots WHERE path = ?1", [&bytes], |r| {
                r.get(0).map(RootId)
            })
            .map_err(self.err("add a root"))
    }

    /// Inserts a file, or updates the one with the same path (keeping its
    /// id), and refreshes its full-text row. If the file had a vector and
    /// its content hash changed (or either hash is unknown), the vector is
    /// deleted: it described other content; so is its fingerprint. Call
    /// [`Tx::set_vector`] and [`Tx::set_fingerprint`] after this, not before.
    pub fn upsert_file(&self, file: &FileRecord) -> Result<FileId> {
        const WHAT: &str = "store a file";
        self.check_writable(WHAT)?;
        let path = path_to_bytes(&file.path);
        let old: Option<(i64, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT id, content_hash FROM files WHERE path = ?1",
                [&path],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err(WHAT))?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO files (root_id, path, path_text, size, mtime_ns, content_hash,
                    format, codec, duration_s, sample_rate, channels, bits_per_sample, tags,
                    ucs_cat_id, ucs_category, ucs_subcategory, ucs_fx_name, peaks, status,
                    error, indexed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                    ?16, ?17, ?18, ?19, ?20, unixepoch())
                 ON CONFLICT (path) DO UPDATE SET
                    root_id = excluded.root_id, path_text = excluded.path_text,
                    size = excluded.size, mtime_ns = excluded.mtime_ns,
                    content_hash = excluded.content_hash, format = excluded.format,
                    codec = excluded.codec, duration_s = excluded.duration_s,
                    sample_rate = excluded.sample_rate, channels = excluded.channels,
                    bits_per_sample = excluded.bits_per_sample, tags = excluded.tags,
                    ucs_cat_id = excluded.ucs_cat_id, ucs_category = excluded.ucs_category,
                    ucs_subcategory = excluded.ucs_subcategory,
                    ucs_fx_name = excluded.ucs_fx_name, peaks = excluded.peaks,
                    status = excluded.status, error = excluded.error,
                    indexed_at = excluded.indexed_at
                 RETURNING id",
            )
            .map_err(self.err(WHAT))?;
        let id: i64 = stmt
            .query_row(
                params![
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
                    tags_to_json(&file.tags),
                    file.ucs_cat_id,
                    file.ucs_category,
                    file.ucs_subcategory,
                    file.ucs_fx_name,
                    peaks_to_bytes(&file.peaks),
                    file.status.as_str(),
                    file.error,
                ],
                |r| r.get(0),
            )
            .map_err(self.err(WHAT))?;
        if let Some((_, old_hash)) = old {
            if old_hash.is_none() || file.content_hash.is_none() || old_hash != file.content_hash {
                self.remove_vectors(FileId(id), WHAT)?;
                self.remove_fingerprint(FileId(id), WHAT)?;
            }
        }
        self.refresh_fts(FileId(id))?;
        Ok(FileId(id))
    }

    /// Removes files, their vectors and their full-text rows; returns how
    /// many existed.
    pub fn remove_files(&self, ids: &[FileId]) -> Result<usize> {
        const WHAT: &str = "remove files";
        self.check_writable(WHAT)?;
        let mut removed = 0;
        for &id in ids {
            self.remove_fts(id, WHAT)?;
            // The vector goes with it: ON DELETE CASCADE.
            removed += self
                .conn
                .execute("DELETE FROM files WHERE id = ?1", [id.0])
                .map_err(self.err(WHAT))?;
        }
        Ok(removed)
    }

    /// Records that a file moved to `new_path` (same content), keeping its
    /// id, metadata and vector, with `ucs` as its UCS fields: they come
    /// from the name, so the caller derives them from the new one (all
    /// `None` when it has no UCS category). The root becomes the known
    /// root that contains `new_path` most closely; [`Error::NotUnderRoot`]
    /// if none. The full-text row is refreshed.
    pub fn move_file(&self, id: FileId, new_path: &Path, ucs: &UcsFields) -> Result<()> {
        const WHAT: &str = "move a file";
        self.check_writable(WHAT)?;
        let root = self
            .roots()?
            .into_iter()
            .filter(|root| new_path.starts_with(&root.path))
            .max_by_key(|root| root.path.components().count())
            .ok_or_else(|| Error::NotUnderRoot {
                catalog: self.path.to_owned(),
                path: new_path.to_owned(),
            })?;
        let changed = self
            .conn
            .execute(
                "UPDATE files SET path = ?1, path_text = ?2, root_id = ?3, ucs_cat_id = ?4,
                    ucs_category = ?5, ucs_subcategory = ?6, ucs_fx_name = ?7
                 WHERE id = ?8",
                params![
                    path_to_bytes(new_path),
                    new_path.to_string_lossy(),
                    root.id.0,
                    ucs.cat_id,
                    ucs.category,
                    ucs.subcategory,
                    ucs.fx_name,
                    id.0
                ],
            )
            .map_err(self.err(WHAT))?;
        if changed == 0 {
            return Err(self.corrupt(format!("no file with id {} to move", id.0)));
        }
        self.refresh_fts(id)
    }

    /// Records what a metadata-only rewrite of a file changed (`hark tag`):
    /// its path (after a rename in the same folder), size, modification
    /// time, content hash, tags and UCS fields, from `file`. Unlike
    /// [`Tx::upsert_file`], the file keeps its id and its vectors: the
    /// audio they were computed from did not change. Its full-text row is
    /// refreshed, so a search for a new tag word finds it at once.
    pub fn retag_file(&self, id: FileId, file: &FileRecord) -> Result<()> {
        const WHAT: &str = "update a retagged file";
        self.check_writable(WHAT)?;
        let changed = self
            .conn
            .execute(
                "UPDATE files SET path = ?1, path_text = ?2, size = ?3, mtime_ns = ?4,
                    content_hash = ?5, tags = ?6, ucs_cat_id = ?7, ucs_category = ?8,
                    ucs_subcategory = ?9, ucs_fx_name = ?10
                 WHERE id = ?11",
                params![
                    path_to_bytes(&file.path),
                    file.path.to_string_lossy(),
                    file.size as i64,
                    file.mtime_ns,
                    file.content_hash,
                    tags_to_json(&file.tags),
                    file.ucs_cat_id,
                    file.ucs_category,
                    file.ucs_subcategory,
                    file.ucs_fx_name,
                    id.0
                ],
            )
            .map_err(self.err(WHAT))?;
        if changed == 0 {
            return Err(self.corrupt(format!("no file with id {}", id.0)));
        }
        self.refresh_fts(id)
    }

    /// Updates the size and modification time recorded for a file, as after
    /// a move that changed them (a copy and delete) but not its content.
    pub fn set_file_stat(&self, id: FileId, size: u64, mtime_ns: i64) -> Result<()> {
        const WHAT: &str = "update a file's size and time";
        self.check_writable(WHAT)?;
        let changed = self
            .conn
            .execute(
                "UPDATE files SET size = ?1, mtime_ns = ?2 WHERE id = ?3",
                params![size as i64, mtime_ns, id.0],
            )
            .map_err(self.err(WHAT))?;
        if changed == 0 {
            return Err(self.corrupt(format!("no file with id {}", id.0)));
        }
        Ok(())
    }
}

/// Tags as a JSON array of `[key, value]` pairs, in order.
pub(crate) fn tags_to_json(tags: &[(String, String)]) -> String {
    fn string(out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    let mut out = String::from("[");
    for (i, (key, value)) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        string(&mut out, key);
        out.push(',');
        string(&mut out, value);
        out.push(']');
    }
    out.push(']');
    out
}

/// Peaks as interleaved (min, max) bytes.
pub(crate) fn peaks_to_bytes(peaks: &[(i8, i8)]) -> Vec<u8> {
    peaks
        .iter()
        .flat_map(|&(min, max)| [min as u8, max as u8])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_json_escapes() {
        assert_eq!(tags_to_json(&[]), "[]");
        assert_eq!(
            tags_to_json(&[("a\"b".into(), "c\\d\n\u{1}é".into())]),
            r#"[["a\"b","c\\d\n\u0001é"]]"#
        );
    }
}
