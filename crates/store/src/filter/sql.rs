//! Filters in SQL: each [`FileFilter`] becomes a condition on the `files`
//! table, with its parameters bound, for a one-off evaluation or listing.

use std::ops::Bound;

use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::{FileFilter, ListOrder, NumRange};
use crate::files::{facts_row, FACTS_COLUMNS};
use crate::{FileFacts, FileId, Result, Tx};

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
}
