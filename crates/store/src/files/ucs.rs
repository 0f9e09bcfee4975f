//! The UCS fields of every file derived again, without opening a file:
//! what they are derived from (the path and the stored tags), and a
//! file's fields replaced. The indexer does this once when the rule that
//! derives them changes (`meta::UCS_RULE`).

use std::path::PathBuf;

use rusqlite::params;

use crate::paths::bytes_to_path;
use crate::{FileId, Result, Tx, UcsFields};

/// A file's UCS fields as stored, and what they are derived from.
#[derive(Debug, Clone, PartialEq)]
pub struct UcsSource {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// Its tags, in file order.
    pub tags: Vec<(String, String)>,
    /// Its UCS fields as the catalog holds them.
    pub ucs: UcsFields,
}

impl Tx<'_> {
    /// Calls `f` with the [`UcsSource`] of every file, failed ones too, in
    /// id order.
    pub fn ucs_sources(&self, mut f: impl FnMut(UcsSource)) -> Result<()> {
        const WHAT: &str = "read the files' names and tags";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, path, tags, ucs_cat_id, ucs_category, ucs_subcategory, ucs_fx_name
                 FROM files ORDER BY id",
            )
            .map_err(self.err(WHAT))?;
        let mut rows = stmt.query([]).map_err(self.err(WHAT))?;
        while let Some(r) = rows.next().map_err(self.err(WHAT))? {
            let id = FileId(r.get(0).map_err(self.err(WHAT))?);
            let tags: String = r.get(2).map_err(self.err(WHAT))?;
            // Written by `tags_to_json` as an array of [key, value] pairs.
            let tags = serde_json::from_str(&tags).map_err(|e| {
                self.corrupt(format!(
                    "file {} has tags that are not [key, value] pairs: {e}",
                    id.0
                ))
            })?;
            let source = (|| {
                Ok::<_, rusqlite::Error>(UcsSource {
                    id,
                    path: bytes_to_path(r.get(1)?),
                    tags,
                    ucs: UcsFields {
                        cat_id: r.get(3)?,
                        category: r.get(4)?,
                        subcategory: r.get(5)?,
                        fx_name: r.get(6)?,
                    },
                })
            })()
            .map_err(self.err(WHAT))?;
            f(source);
        }
        Ok(())
    }

    /// Replaces a file's UCS fields, all four, and refreshes its full-text
    /// row (which holds the Category and SubCategory words). Nothing else
    /// changes: not its vectors, not `indexed_at`.
    pub fn set_ucs(&self, id: FileId, ucs: &UcsFields) -> Result<()> {
        const WHAT: &str = "update a file's UCS fields";
        self.check_writable(WHAT)?;
        let changed = self
            .conn
            .execute(
                "UPDATE files SET ucs_cat_id = ?1, ucs_category = ?2, ucs_subcategory = ?3,
                    ucs_fx_name = ?4
                 WHERE id = ?5",
                params![ucs.cat_id, ucs.category, ucs.subcategory, ucs.fx_name, id.0],
            )
            .map_err(self.err(WHAT))?;
        if changed == 0 {
            return Err(self.corrupt(format!("no file with id {}", id.0)));
        }
        self.refresh_fts(id)
    }
}
