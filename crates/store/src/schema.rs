//! The catalog schema and its migrations.
//!
//! `PRAGMA user_version` holds the schema version: the number of
//! [`MIGRATIONS`] applied. Each migration runs in its own transaction
//! together with the version bump, so a crash leaves the catalog at one
//! version or the next, never between. Migrations are append-only: a
//! released one is never edited, a change is a new one.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::{Error, Result};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1];

/// Version 1: roots, files, vectors, meta and the full-text index.
const V1: &str = "
CREATE TABLE roots (
    id       INTEGER PRIMARY KEY,
    path     BLOB NOT NULL UNIQUE,
    added_at INTEGER NOT NULL
);

CREATE TABLE files (
    id              INTEGER PRIMARY KEY,
    root_id         INTEGER NOT NULL REFERENCES roots(id),
    path            BLOB NOT NULL UNIQUE,
    path_text       TEXT NOT NULL,
    size            INTEGER NOT NULL,
    mtime_ns        INTEGER NOT NULL,
    content_hash    BLOB,
    format          TEXT,
    codec           TEXT,
    duration_s      REAL,
    sample_rate     INTEGER,
    channels        INTEGER,
    bits_per_sample INTEGER,
    tags            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    ucs_cat_id      TEXT,
    ucs_category    TEXT,
    ucs_subcategory TEXT,
    ucs_fx_name     TEXT,
    peaks           BLOB,
    status          TEXT NOT NULL CHECK (status IN ('ok', 'waiting', 'failed')),
    error           TEXT,
    indexed_at      INTEGER NOT NULL
);
CREATE INDEX files_root ON files(root_id);
CREATE INDEX files_content_hash ON files(content_hash);
CREATE INDEX files_status ON files(status);

CREATE TABLE vectors (
    file_id  INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    model    TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    dim      INTEGER NOT NULL,
    data     BLOB NOT NULL CHECK (length(data) = 4 * dim)
);
CREATE INDEX vectors_model ON vectors(model, pipeline);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE VIRTUAL TABLE files_fts USING fts5(
    name, folder, tags,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
";

/// Reads the schema version.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Brings the catalog to [`SCHEMA_VERSION`], or refuses a newer one.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    migrate_to(conn, path, SCHEMA_VERSION)
}

/// Applies the migrations up to `target`, one transaction each.
pub(crate) fn migrate_to(conn: &mut Connection, path: &Path, target: u32) -> Result<()> {
    loop {
        let sqlite = |version| {
            move |source| Error::Migrate {
                path: path.to_owned(),
                version,
                source,
            }
        };
        // IMMEDIATE takes the write lock before reading the version, so two
        // processes opening an old catalog at once cannot both migrate it.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(0))?;
        let found = version(&tx).map_err(sqlite(0))?;
        if found > SCHEMA_VERSION {
            return Err(Error::TooNew {
                path: path.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found >= target {
            return Ok(());
        }
        let next = found + 1;
        tx.execute_batch(MIGRATIONS[found as usize])
            .map_err(sqlite(next))?;
        tx.pragma_update(None, "user_version", next)
            .map_err(sqlite(next))?;
        tx.commit().map_err(sqlite(next))?;
    }
}
