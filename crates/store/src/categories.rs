//! What suggesting categories reads: every readable file with the UCS
//! category its name and its tags give it, if any. Which of these make a
//! known UCS CatID is the reader's business (hark-query's `categorize`);
//! the catalog only hands over the stored values.

use std::path::PathBuf;

use crate::paths::bytes_to_path;
use crate::{Catalog, FileId, Result, Tx};

/// A file's category facts: what its name and tags say, and what tells a
/// copy of it.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryFacts {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// The BLAKE3 hash of its bytes.
    pub content_hash: Option<Vec<u8>>,
    /// The catalog's UCS CatID (`ucs_cat_id`): its UCS file name's, else
    /// its tags' (see [`crate::UcsFields`]), known to the UCS list or not.
    pub name_cat_id: Option<String>,
    /// The first tag whose key ends in `CATID` (after its last `.` or `:`,
    /// any case): `ixml.USER.CATID`, `vorbis.CATID`, `id3.TXXX:CATID`.
    pub tag_cat_id: Option<String>,
    /// The first tag whose key ends in `CATEGORY`, as for `tag_cat_id`.
    pub tag_category: Option<String>,
    /// The first tag whose key ends in `SUBCATEGORY`, as for `tag_cat_id`.
    pub tag_subcategory: Option<String>,
}

impl Catalog {
    /// [`Tx::category_facts`] in its own snapshot.
    pub fn category_facts(&self, f: impl FnMut(CategoryFacts)) -> Result<()> {
        self.read(|tx| tx.category_facts(f))
    }
}

/// The value of a file's first tag (in file order) whose key's last part,
/// after a `.` or `:`, is `NAME` in any case; `?1`-free, so one text per
/// field. The `tags` column is a JSON array of `[key, value]` pairs.
fn tag_ending_in(name: &str) -> String {
    format!(
        "(SELECT json_extract(t.value, '$[1]') FROM json_each(f.tags) t
          WHERE upper(json_extract(t.value, '$[0]')) GLOB '*[.:]{name}'
          ORDER BY t.key LIMIT 1)"
    )
}

impl Tx<'_> {
    /// Calls `f` with the category facts of every file that could be read
    /// (not failed), in file id order.
    pub fn category_facts(&self, mut f: impl FnMut(CategoryFacts)) -> Result<()> {
        const WHAT: &str = "read the files' categories";
        let sql = format!(
            "SELECT f.id, f.path, f.duration_s, f.content_hash, f.ucs_cat_id, {}, {}, {}
             FROM files f WHERE f.status != 'failed' ORDER BY f.id",
            tag_ending_in("CATID"),
            tag_ending_in("CATEGORY"),
            tag_ending_in("SUBCATEGORY"),
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err(WHAT))?;
        let mut rows = stmt.query([]).map_err(self.err(WHAT))?;
        while let Some(r) = rows.next().map_err(self.err(WHAT))? {
            let facts = (|| {
                Ok::<_, rusqlite::Error>(CategoryFacts {
                    id: FileId(r.get(0)?),
                    path: bytes_to_path(r.get(1)?),
                    duration_s: r.get(2)?,
                    content_hash: r.get(3)?,
                    name_cat_id: r.get(4)?,
                    tag_cat_id: r.get(5)?,
                    tag_category: r.get(6)?,
                    tag_subcategory: r.get(7)?,
                })
            })()
            .map_err(self.err(WHAT))?;
            f(facts);
        }
        Ok(())
    }
}
