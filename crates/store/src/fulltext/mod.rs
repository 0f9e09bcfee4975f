//! The full-text index (`files_fts`, FTS5): the words of each file's name,
//! folders and tags, kept in step with the `files` table, and the two ways
//! to ask it: [`Tx::fts_ranked`] ranks the files matching a [`TextMatch`]
//! by BM25, and [`Tx::fts_ids`] lists the files a match (or any of a few
//! terms) selects, for filters and exclusions. Names are split into words
//! here ([`split_words`], [`name_tokens`]) before FTS5's tokenizer sees
//! them.

use rusqlite::params;

use crate::paths::bytes_to_path;
use crate::{FileId, Result, Tx};

mod tokens;

pub(crate) use tokens::folder_tokens;
pub use tokens::{name_tokens, split_words};

/// BM25 weights of the full-text columns: a word in the file name counts
/// more than one in its folders, which counts more than one in its tags.
const BM25_WEIGHTS: (f64, f64, f64) = (10.0, 3.0, 1.0);

/// One term of a full-text match: a run of words that must appear in this
/// order, next to each other, in a file's name, folders or tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchTerm {
    /// The words, lower-case, as [`crate::split_words`] splits names.
    pub words: Vec<String>,
    /// Whether the last word may be the start of a longer word (`creak`
    /// matches `creaky`).
    pub prefix: bool,
}

/// Words and phrases that must all match (AND), and others none of which
/// may match. A match with no required term matches no file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextMatch {
    /// The terms, all required.
    pub terms: Vec<MatchTerm>,
    /// Terms that exclude a file if any of them matches.
    pub excluded: Vec<MatchTerm>,
}

impl TextMatch {
    /// A plain search for words: every word of `text`, split like names
    /// ([`split_words`]), each required whole; nothing excluded.
    pub fn words(text: &str) -> TextMatch {
        TextMatch {
            terms: split_words(text)
                .into_iter()
                .map(|w| MatchTerm {
                    words: vec![w],
                    prefix: false,
                })
                .collect(),
            excluded: Vec::new(),
        }
    }

    /// The FTS5 query expression, or `None` if no required term has a word.
    pub(crate) fn fts_expression(&self) -> Option<String> {
        let all = fts_terms(&self.terms, " AND ")?;
        Some(match fts_terms(&self.excluded, " OR ") {
            Some(none) => format!("({all}) NOT ({none})"),
            None => all,
        })
    }
}

/// `"w1 w2"` or `"w1 w2"*` for each term that has a word, joined by `op`.
/// Every word is quoted, so FTS5 operators in user text are plain words.
fn fts_terms(terms: &[MatchTerm], op: &str) -> Option<String> {
    let terms: Vec<String> = terms
        .iter()
        // A word of punctuation only would be an empty FTS5 phrase.
        .filter(|t| t.words.iter().any(|w| w.chars().any(char::is_alphanumeric)))
        .map(|t| {
            let phrase = t.words.join(" ").replace('"', "\"\"");
            if t.prefix {
                format!("\"{phrase}\"*")
            } else {
                format!("\"{phrase}\"")
            }
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(op))
}

/// What [`Tx::fts_ids`] looks up.
#[derive(Debug, Clone, Copy)]
pub enum FtsMatch<'a> {
    /// The files matching a [`TextMatch`]: every required term, no
    /// excluded one.
    Text(&'a TextMatch),
    /// The files matching any of these terms: what a lexical exclusion
    /// removes.
    AnyOf(&'a [MatchTerm]),
}

/// A full-text match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FtsHit {
    /// The matching file.
    pub id: FileId,
    /// Negated FTS5 `bm25()`: higher is a better match.
    pub score: f64,
}

impl Tx<'_> {
    /// Full-text ranking: the files matching `text`, best BM25 first (names
    /// weigh most, then folders, then tags; equal scores by id), at most
    /// `limit`. Among the files `keep` says yes to, which must leave out
    /// failed files; without `keep`, among every file that has not failed.
    ///
    /// The full-text index ranks on its own, and only the best candidates
    /// are checked, one by one, until `limit` pass: joining `files` to
    /// every match would cost a row lookup per match.
    pub fn fts_ranked(
        &self,
        text: &TextMatch,
        limit: usize,
        keep: Option<&dyn Fn(FileId) -> bool>,
    ) -> Result<Vec<FtsHit>> {
        const WHAT: &str = "filter files";
        match keep {
            Some(keep) => self.rank_words(text, limit, &mut |id| Ok(keep(id))),
            None => {
                let mut not_failed = self
                    .conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM files f WHERE f.id = ? AND f.status != 'failed')",
                    )
                    .map_err(self.err(WHAT))?;
                self.rank_words(text, limit, &mut |id| {
                    not_failed
                        .query_row([id.0], |r| r.get(0))
                        .map_err(self.err(WHAT))
                })
            }
        }
    }

    /// [`Tx::fts_ranked`] among the files for which `keep` says yes, asked
    /// about the candidates in rank order and no more once `limit` passed.
    fn rank_words(
        &self,
        text: &TextMatch,
        limit: usize,
        keep: &mut dyn FnMut(FileId) -> Result<bool>,
    ) -> Result<Vec<FtsHit>> {
        const WHAT: &str = "search names and tags";
        let Some(expr) = text.fts_expression() else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (name, folder, tags) = BM25_WEIGHTS;
        // The full-text table alone (no join), so SQLite scores each match
        // and sorts; `rowid` breaks ties as the index's own order did.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT rowid, bm25(files_fts, ?1, ?2, ?3) AS score FROM files_fts
                 WHERE files_fts MATCH ?4 ORDER BY score, rowid",
            )
            .map_err(self.err(WHAT))?;
        let mut rows = stmt
            .query(params![name, folder, tags, expr])
            .map_err(self.err(WHAT))?;
        let mut hits = Vec::with_capacity(limit);
        while let Some(r) = rows.next().map_err(self.err(WHAT))? {
            let id = FileId(r.get(0).map_err(self.err(WHAT))?);
            if keep(id)? {
                hits.push(FtsHit {
                    id,
                    score: -r.get::<_, f64>(1).map_err(self.err(WHAT))?,
                });
                if hits.len() == limit {
                    break;
                }
            }
        }
        Ok(hits)
    }

    /// Ids of the files (failed ones too) that `matching` selects, straight
    /// from the full-text index (no scan of `files`), in no order; none if
    /// it has no term with a word.
    pub fn fts_ids(&self, matching: FtsMatch<'_>) -> Result<Vec<FileId>> {
        const WHAT: &str = "search names and tags";
        let expr = match matching {
            FtsMatch::Text(text) => text.fts_expression(),
            FtsMatch::AnyOf(terms) => fts_terms(terms, " OR "),
        };
        let Some(expr) = expr else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT rowid FROM files_fts WHERE files_fts MATCH ?1")
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([expr], |r| r.get(0).map(FileId))
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Rewrites a file's full-text row from its stored path, root and tags.
    pub(crate) fn refresh_fts(&self, id: FileId) -> Result<()> {
        const WHAT: &str = "update the full-text index";
        let (path, root, tags): (Vec<u8>, Vec<u8>, String) = self
            .conn
            .query_row(
                "SELECT f.path, r.path,
                    concat_ws(' ', f.ucs_category, f.ucs_subcategory,
                        (SELECT group_concat(json_extract(value, '$[1]'), ' ')
                         FROM json_each(f.tags)))
                 FROM files f JOIN roots r ON r.id = f.root_id WHERE f.id = ?1",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(self.err(WHAT))?;
        let path = bytes_to_path(path);
        let root = bytes_to_path(root);
        let name = path
            .file_name()
            .map(|n| name_tokens(&n.to_string_lossy()))
            .unwrap_or_default();
        let folder = folder_tokens(&root, &path);
        self.conn
            .execute("DELETE FROM files_fts WHERE rowid = ?1", [id.0])
            .map_err(self.err(WHAT))?;
        self.conn
            .execute(
                "INSERT INTO files_fts (rowid, name, folder, tags) VALUES (?1, ?2, ?3, ?4)",
                params![id.0, name, folder, tags],
            )
            .map_err(self.err(WHAT))?;
        Ok(())
    }

    /// Deletes a file's full-text row; `what` names the operation for an
    /// error.
    pub(crate) fn remove_fts(&self, id: FileId, what: &'static str) -> Result<()> {
        self.conn
            .execute("DELETE FROM files_fts WHERE rowid = ?1", [id.0])
            .map_err(self.err(what))?;
        Ok(())
    }
}
