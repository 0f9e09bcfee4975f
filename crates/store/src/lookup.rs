//! Reads for search and browsing: files that pass metadata filters, full-text
//! ranking restricted by those filters, the facts a hit displays, one file by
//! id, and a cheap change counter.
//!
//! Filters are [`FileFilter`] values, which this module turns into SQL over
//! the `files` table, so the query crate never writes SQL and the catalog
//! keeps its schema to itself. A [`TextMatch`] is a set of words and phrases
//! matched against the full-text index (file names, folders, tags); it is a
//! filter too ([`FileFilter::Text`]), which is how lexical exclusions are
//! expressed (`Not(Text(..))`).
//!
//! Failed files (status `failed`) are never returned: they have no reliable
//! metadata and nothing to listen to.

use std::ops::Bound;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{params_from_iter, OptionalExtension};

use crate::{
    bytes_to_path, path_to_bytes, Catalog, FileId, FtsHit, Result, StoredFile, Tx, BM25_WEIGHTS,
};

/// A range of numbers, each end open, inclusive or exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumRange {
    /// The lower end.
    pub lower: Bound<f64>,
    /// The upper end.
    pub upper: Bound<f64>,
}

impl NumRange {
    /// Exactly `value`.
    pub fn exactly(value: f64) -> NumRange {
        NumRange {
            lower: Bound::Included(value),
            upper: Bound::Included(value),
        }
    }
}

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

impl TextMatch {
    /// The FTS5 query expression, or `None` if no required term has a word.
    pub(crate) fn fts_expression(&self) -> Option<String> {
        let all = fts_terms(&self.terms, " AND ")?;
        Some(match fts_terms(&self.excluded, " OR ") {
            Some(none) => format!("({all}) NOT ({none})"),
            None => all,
        })
    }
}

/// A condition on a file, for [`Tx::filter_ids`], [`Tx::list_files`] and
/// [`Tx::fts_ranked`]. A file whose field is unknown (NULL) does not pass a
/// condition on that field (and passes its negation).
#[derive(Debug, Clone, PartialEq)]
pub enum FileFilter {
    /// Duration in seconds.
    Duration(NumRange),
    /// Sample rate in Hz.
    SampleRate(NumRange),
    /// Channel count.
    Channels(NumRange),
    /// Bits per sample.
    Bits(NumRange),
    /// The file name's extension (without the dot), ASCII case-insensitive.
    Extension(String),
    /// A piece of the folder path the file is in (everything before the
    /// file name), ASCII case-insensitive.
    InFolder(String),
    /// A UCS CatID (`DOORWood`), Category (`DOORS`) or `Category-SubCategory`
    /// (`DOORS-WOOD`), case-insensitive.
    Category(String),
    /// Matches the full-text index (see [`TextMatch`]).
    Text(TextMatch),
    /// Passes if any of these does (none: passes nothing).
    AnyOf(Vec<FileFilter>),
    /// Passes if the inner filter does not.
    Not(Box<FileFilter>),
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl FileFilter {
    /// Appends this filter as an SQL condition on the `files` table aliased
    /// `f`, pushing its parameters (anonymous `?`) in order.
    fn to_sql(&self, sql: &mut String, params: &mut Vec<Value>) {
        fn range(column: &str, r: &NumRange, sql: &mut String, params: &mut Vec<Value>) {
            sql.push('(');
            sql.push_str(column);
            sql.push_str(" IS NOT NULL");
            for (bound, inclusive, exclusive) in [(r.lower, ">=", ">"), (r.upper, "<=", "<")] {
                let (op, v) = match bound {
                    Bound::Included(v) => (inclusive, v),
                    Bound::Excluded(v) => (exclusive, v),
                    Bound::Unbounded => continue,
                };
                sql.push_str(&format!(" AND {column} {op} ?"));
                params.push(Value::Real(v));
            }
            sql.push(')');
        }
        match self {
            FileFilter::Duration(r) => range("f.duration_s", r, sql, params),
            FileFilter::SampleRate(r) => range("f.sample_rate", r, sql, params),
            FileFilter::Channels(r) => range("f.channels", r, sql, params),
            FileFilter::Bits(r) => range("f.bits_per_sample", r, sql, params),
            FileFilter::Extension(ext) => {
                sql.push_str("(f.path_text LIKE ? ESCAPE '\\')");
                params.push(Value::Text(format!(
                    "%.{}",
                    like_escape(ext.trim_start_matches('.'))
                )));
            }
            FileFilter::InFolder(part) => {
                // rtrim(p, replace(p, '/', '')) strips the characters after
                // the last '/', leaving the folder part with its slash.
                sql.push_str(
                    "(rtrim(f.path_text, replace(f.path_text, '/', '')) LIKE ? ESCAPE '\\')",
                );
                params.push(Value::Text(format!("%{}%", like_escape(part))));
            }
            FileFilter::Category(c) => {
                sql.push_str(
                    "(f.ucs_cat_id = ? COLLATE NOCASE OR f.ucs_category = ? COLLATE NOCASE
                      OR f.ucs_category || '-' || f.ucs_subcategory = ? COLLATE NOCASE)",
                );
                params.extend(std::iter::repeat_n(Value::Text(c.clone()), 3));
            }
            FileFilter::Text(m) => match m.fts_expression() {
                Some(expr) => {
                    sql.push_str("(f.id IN (SELECT rowid FROM files_fts WHERE files_fts MATCH ?))");
                    params.push(Value::Text(expr));
                }
                None => sql.push_str("(0)"),
            },
            FileFilter::AnyOf(filters) => {
                if filters.is_empty() {
                    sql.push_str("(0)");
                    return;
                }
                sql.push('(');
                for (i, f) in filters.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(" OR ");
                    }
                    sql.push_str("coalesce(");
                    f.to_sql(sql, params);
                    sql.push_str(", 0)");
                }
                sql.push(')');
            }
            FileFilter::Not(inner) => {
                sql.push_str("(NOT coalesce(");
                inner.to_sql(sql, params);
                sql.push_str(", 0))");
            }
        }
    }
}

/// `f.status != 'failed' AND <every filter>`, with its parameters.
pub(crate) fn where_clause(filters: &[FileFilter]) -> (String, Vec<Value>) {
    let mut sql = String::from("f.status != 'failed'");
    let mut params = Vec::new();
    for filter in filters {
        sql.push_str(" AND coalesce(");
        filter.to_sql(&mut sql, &mut params);
        sql.push_str(", 0)");
    }
    (sql, params)
}

/// The order of [`Tx::list_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// By path (as UTF-8 text).
    Path,
    /// Most recently indexed first (then highest id first).
    Newest,
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

const FACTS_COLUMNS: &str = "f.id, f.path, f.duration_s, f.sample_rate, f.channels";

fn facts_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileFacts> {
    Ok(FileFacts {
        id: FileId(r.get(0)?),
        path: bytes_to_path(r.get(1)?),
        duration_s: r.get(2)?,
        sample_rate: r.get(3)?,
        channels: r.get(4)?,
    })
}

impl Catalog {
    /// [`Tx::file_by_id`] in its own snapshot.
    pub fn file_by_id(&self, id: FileId) -> Result<Option<StoredFile>> {
        self.read(|tx| tx.file_by_id(id))
    }
}

impl Tx<'_> {
    /// Ids of the files (not failed) that pass every filter, in id order.
    pub fn filter_ids(&self, filters: &[FileFilter]) -> Result<Vec<FileId>> {
        const WHAT: &str = "filter files";
        let (cond, params) = where_clause(filters);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT f.id FROM files f WHERE {cond} ORDER BY f.id"
            ))
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map(params_from_iter(params), |r| r.get(0).map(FileId))
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Up to `limit` files (not failed) that pass every filter, in `order`.
    pub fn list_files(
        &self,
        filters: &[FileFilter],
        order: ListOrder,
        limit: usize,
    ) -> Result<Vec<FileFacts>> {
        const WHAT: &str = "list files";
        let (cond, mut params) = where_clause(filters);
        let order = match order {
            ListOrder::Path => "f.path_text, f.id",
            ListOrder::Newest => "f.indexed_at DESC, f.id DESC",
        };
        params.push(Value::Integer(limit.min(i64::MAX as usize) as i64));
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {FACTS_COLUMNS} FROM files f WHERE {cond} ORDER BY {order} LIMIT ?"
            ))
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map(params_from_iter(params), facts_row)
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Full-text ranking: files (not failed) matching every term of `text`
    /// and passing every filter, best BM25 first (names weigh most, then
    /// folders, then tags; equal scores by id), at most `limit`.
    ///
    /// The full-text index ranks on its own, and only the best candidates
    /// are checked against the filters, one by one, until `limit` pass:
    /// joining `files` to every match would cost a row lookup per match.
    pub fn fts_ranked(
        &self,
        text: &TextMatch,
        filters: &[FileFilter],
        limit: usize,
    ) -> Result<Vec<FtsHit>> {
        const WHAT: &str = "filter files";
        let (cond, params) = where_clause(filters);
        let mut check = self
            .conn
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM files f WHERE f.id = ? AND {cond})"
            ))
            .map_err(self.err(WHAT))?;
        let mut params: Vec<Value> = std::iter::once(Value::Null).chain(params).collect();
        self.fts_ranked_where(text, limit, &mut |id| {
            params[0] = Value::Integer(id.0);
            check
                .query_row(params_from_iter(params.iter()), |r| r.get(0))
                .map_err(self.err(WHAT))
        })
    }

    /// Full-text ranking of the files matching every term of `text` for
    /// which `keep` says yes, best BM25 first (equal scores by id), at most
    /// `limit`. `keep` is asked about the candidates in that order, and no
    /// more once `limit` have passed; it must leave out failed files.
    pub fn fts_ranked_where(
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
            .query(rusqlite::params![name, folder, tags, expr])
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

    /// Ids of the files (failed ones too) matching `text` in the full-text
    /// index (none if it has no required term with a word), in no order.
    pub fn fts_match_ids(&self, text: &TextMatch) -> Result<Vec<FileId>> {
        const WHAT: &str = "search names and tags";
        let Some(expr) = text.fts_expression() else {
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

    /// Ids of the files (failed ones too) matching any of `terms` in the
    /// full-text index, straight from it (no scan of `files`): what a
    /// lexical exclusion removes.
    pub fn fts_any(&self, terms: &[MatchTerm]) -> Result<Vec<FileId>> {
        const WHAT: &str = "search names and tags";
        let Some(expr) = fts_terms(terms, " OR ") else {
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

    /// How many files have a whole-file vector `model` made under
    /// `pipeline` (moments are not counted).
    pub fn vector_count(&self, model: &str, pipeline: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM vectors WHERE segment = 0 AND model = ?1 AND pipeline = ?2",
                [model, pipeline],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(self.err("count vectors"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, FileRecord, FileStatus, RootId};

    fn term(w: &str, prefix: bool) -> MatchTerm {
        MatchTerm {
            words: vec![w.into()],
            prefix,
        }
    }

    fn word(w: &str, prefix: bool) -> TextMatch {
        TextMatch {
            terms: vec![term(w, prefix)],
            excluded: vec![],
        }
    }

    fn range(lower: Bound<f64>, upper: Bound<f64>) -> NumRange {
        NumRange { lower, upper }
    }

    /// Three files: a known short mono one, a long stereo one, and one
    /// with no format facts; plus a failed one.
    fn setup() -> (tempfile::TempDir, Catalog, Vec<FileId>) {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = Catalog::open(dir.path()).unwrap();
        let ids = catalog
            .transaction(|tx| {
                let root = tx.add_root(Path::new("/lib"))?;
                let rec = |path: &str, dur: Option<f64>, ch: Option<u32>, status| {
                    let mut r = FileRecord::new(root, path, 10, 1);
                    r.content_hash = Some(path.as_bytes().to_vec());
                    r.duration_s = dur;
                    r.channels = ch;
                    r.status = status;
                    r
                };
                let mut a = rec(
                    "/lib/Doors/DOORWood_Creak_A_B.wav",
                    Some(1.0),
                    Some(1),
                    FileStatus::Ok,
                );
                a.ucs_cat_id = Some("DOORWood".into());
                a.ucs_category = Some("DOORS".into());
                a.ucs_subcategory = Some("WOOD".into());
                let b = rec(
                    "/lib/Rain/rain_100%_heavy.WAV",
                    Some(30.0),
                    Some(2),
                    FileStatus::Ok,
                );
                let c = rec("/lib/Misc/unknown.flac", None, None, FileStatus::Waiting);
                let d = rec(
                    "/lib/Rain/rain broken.wav",
                    Some(1.0),
                    Some(1),
                    FileStatus::Failed,
                );
                let ids = [a, b, c, d]
                    .iter()
                    .map(|r| tx.upsert_file(r))
                    .collect::<Result<Vec<_>>>()?;
                tx.set_vector(ids[0], "m", "p", &[1.0, 0.0])?;
                tx.set_vector(ids[1], "m", "p", &[0.0, 1.0])?;
                tx.set_vector(ids[2], "other", "p", &[0.0, 1.0])?;
                Ok::<_, Error>(ids)
            })
            .unwrap();
        (dir, catalog, ids)
    }

    fn ids_of(catalog: &Catalog, filters: &[FileFilter]) -> Vec<FileId> {
        catalog.read(|tx| tx.filter_ids(filters)).unwrap()
    }

    #[test]
    fn filters_unknown_values_and_failed_files() {
        let (_dir, catalog, ids) = setup();
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        let short = FileFilter::Duration(range(Bound::Unbounded, Bound::Excluded(2.0)));
        // The failed file is never returned; the unknown duration fails the
        // condition and passes its negation.
        assert_eq!(ids_of(&catalog, &[]), [a, b, c]);
        assert_eq!(ids_of(&catalog, std::slice::from_ref(&short)), [a]);
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Not(Box::new(short.clone()))]),
            [b, c]
        );
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Channels(NumRange::exactly(2.0))]),
            [b]
        );
        assert_eq!(
            ids_of(
                &catalog,
                &[FileFilter::Duration(range(
                    Bound::Included(1.0),
                    Bound::Included(30.0)
                ))]
            ),
            [a, b]
        );
        assert_eq!(
            ids_of(
                &catalog,
                &[FileFilter::Duration(range(
                    Bound::Excluded(1.0),
                    Bound::Excluded(30.0)
                ))]
            ),
            []
        );
        // Extensions: case-insensitive, and `%`/`_` in values are literal.
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Extension("wav".into())]),
            [a, b]
        );
        assert_eq!(ids_of(&catalog, &[FileFilter::Extension("%".into())]), []);
        // Folders only, not file names.
        assert_eq!(
            ids_of(&catalog, &[FileFilter::InFolder("rain".into())]),
            [b]
        );
        assert_eq!(
            ids_of(&catalog, &[FileFilter::InFolder("heavy".into())]),
            []
        );
        assert_eq!(ids_of(&catalog, &[FileFilter::InFolder("_".into())]), []);
        for cat in ["doorwood", "DOORS", "doors-wood"] {
            assert_eq!(
                ids_of(&catalog, &[FileFilter::Category(cat.into())]),
                [a],
                "{cat}"
            );
        }
        assert_eq!(ids_of(&catalog, &[FileFilter::AnyOf(vec![])]), []);
        assert_eq!(
            ids_of(
                &catalog,
                &[FileFilter::AnyOf(vec![
                    short.clone(),
                    FileFilter::Extension("flac".into())
                ])]
            ),
            [a, c]
        );
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Text(word("rain", false))]),
            [b]
        );
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Text(TextMatch::default())]),
            []
        );
        assert_eq!(
            ids_of(
                &catalog,
                &[FileFilter::Not(Box::new(FileFilter::Text(word(
                    "creak", false
                ))))]
            ),
            [b, c]
        );
    }

    #[test]
    fn ranked_words_listing_and_facts() {
        let (_dir, catalog, ids) = setup();
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        catalog
            .read(|tx| {
                // Prefix matching, and FTS syntax in user text stays literal.
                let hits = tx.fts_ranked(&word("cre", true), &[], 10)?;
                assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [a]);
                assert!(tx.fts_ranked(&word("cre", false), &[], 10)?.is_empty());
                assert!(tx
                    .fts_ranked(&word("rain OR creak", false), &[], 10)?
                    .is_empty());
                // The failed file is left out; filters apply.
                let rain = tx.fts_ranked(&word("rain", false), &[], 10)?;
                assert_eq!(rain.iter().map(|h| h.id).collect::<Vec<_>>(), [b]);
                let short = FileFilter::Duration(range(Bound::Unbounded, Bound::Excluded(2.0)));
                assert!(tx
                    .fts_ranked(&word("rain", false), &[short], 10)?
                    .is_empty());
                // Excluded terms, inside the FTS expression.
                let lib = TextMatch {
                    terms: vec![term("lib", false)],
                    excluded: vec![term("heavy", false), term("cre", true)],
                };
                let hits = tx.fts_ranked(&lib, &[], 10)?;
                assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [c]);
                let mut any = tx.fts_any(&[term("heavy", false), term("cre", true)])?;
                any.sort();
                assert_eq!(any, [a, b]);
                // The failed file is in the index too: excluding it is harmless.
                assert_eq!(tx.fts_any(&[term("broken", false)])?, [ids[3]]);
                assert!(tx.fts_any(&[term("!!", false)])?.is_empty());
                assert!(tx.fts_ranked(&TextMatch::default(), &[], 10)?.is_empty());

                let by_path = tx.list_files(&[], ListOrder::Path, 10)?;
                assert_eq!(by_path.iter().map(|f| f.id).collect::<Vec<_>>(), [a, c, b]);
                let newest = tx.list_files(&[], ListOrder::Newest, 2)?;
                assert_eq!(newest.iter().map(|f| f.id).collect::<Vec<_>>(), [c, b]);

                let facts = tx.file_facts(&[c, FileId(999), ids[3], a])?;
                assert_eq!(facts.iter().map(|f| f.id).collect::<Vec<_>>(), [c, a]);
                assert_eq!(
                    facts[1].path,
                    Path::new("/lib/Doors/DOORWood_Creak_A_B.wav")
                );
                assert_eq!(
                    (facts[1].duration_s, facts[1].channels),
                    (Some(1.0), Some(1))
                );

                assert_eq!(tx.vector_count("m", "p")?, 2);
                assert!(tx.has_files()?);
                assert_eq!(
                    tx.file_id_by_path(Path::new("/lib/Misc/unknown.flac"))?,
                    Some(c)
                );
                let file = tx.file_by_id(a)?.unwrap();
                assert_eq!(file.record.ucs_cat_id.as_deref(), Some("DOORWood"));
                assert_eq!(file.record.root, RootId(1));
                assert!(tx.file_by_id(FileId(999))?.is_none());
                Ok::<_, Error>(())
            })
            .unwrap();
    }

    #[test]
    fn data_version_moves_when_another_connection_commits() {
        let (dir, mut writer, _) = setup();
        let reader = Catalog::open_readonly(dir.path()).unwrap();
        let before = reader.data_version().unwrap();
        assert_eq!(reader.data_version().unwrap(), before);
        writer
            .transaction(|tx| tx.set_meta("last_run", "now"))
            .unwrap();
        assert_ne!(reader.data_version().unwrap(), before);
    }
}
