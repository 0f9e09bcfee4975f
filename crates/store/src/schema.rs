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
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

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

/// Version 2: a change sequence on vectors, for the ANN cache (see
/// `index-format.md`, "The vector sequence").
///
/// Every insert or rewrite of a `vectors` row takes the next number of the
/// `vector_seq.last` counter as its `seq`, and every delete records the next
/// number in `vector_tombstones`, all by trigger, so no code path can change
/// a vector without the sequence moving. Rows that exist when the catalog is
/// upgraded get `seq = file_id` (distinct, and below every later number).
const V2: &str = "
ALTER TABLE vectors ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE vectors SET seq = file_id;
CREATE INDEX vectors_seq ON vectors(seq);

CREATE TABLE vector_seq (
    id             INTEGER PRIMARY KEY CHECK (id = 0),
    last           INTEGER NOT NULL,
    pruned_through INTEGER NOT NULL
);
INSERT INTO vector_seq (id, last, pruned_through)
    VALUES (0, (SELECT coalesce(max(seq), 0) FROM vectors), 0);

CREATE TABLE vector_tombstones (
    seq     INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL
);

CREATE TRIGGER vectors_seq_insert AFTER INSERT ON vectors BEGIN
    UPDATE vector_seq SET last = last + 1 WHERE id = 0;
    UPDATE vectors SET seq = (SELECT last FROM vector_seq WHERE id = 0)
        WHERE file_id = NEW.file_id;
END;

CREATE TRIGGER vectors_seq_update AFTER UPDATE OF file_id, model, pipeline, dim, data
ON vectors BEGIN
    UPDATE vector_seq SET last = last + 1 WHERE id = 0;
    INSERT INTO vector_tombstones (seq, file_id)
        SELECT last, OLD.file_id FROM vector_seq
        WHERE id = 0 AND OLD.file_id != NEW.file_id;
    UPDATE vector_seq SET last = last + 1 WHERE id = 0;
    UPDATE vectors SET seq = (SELECT last FROM vector_seq WHERE id = 0)
        WHERE file_id = NEW.file_id;
END;

CREATE TRIGGER vectors_seq_delete AFTER DELETE ON vectors BEGIN
    UPDATE vector_seq SET last = last + 1 WHERE id = 0;
    INSERT INTO vector_tombstones (seq, file_id)
        SELECT last, OLD.file_id FROM vector_seq WHERE id = 0;
END;
";

/// Version 3: vectors of moments. A file keeps its whole-file vector
/// (segment 0) and, for a long file, one vector per moment (segment 1 on,
/// each with its start and end in seconds). Each vector is a *point* with
/// the id `file_id * 2^20 + segment` (see [`crate::PointId`]), which is
/// what the vector sequence, the tombstones and the ANN cache number.
///
/// Existing vectors become segment 0 of their file; tombstones are
/// renumbered the same way. An ANN cache of version 2 numbered files, so
/// its format version changes and it is rebuilt.
const V3: &str = "
CREATE TABLE vectors_v3 (
    point    INTEGER PRIMARY KEY,
    file_id  INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    segment  INTEGER NOT NULL CHECK (segment >= 0 AND segment < 1048576),
    start_s  REAL,
    end_s    REAL,
    model    TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    dim      INTEGER NOT NULL,
    data     BLOB NOT NULL CHECK (length(data) = 4 * dim),
    seq      INTEGER NOT NULL DEFAULT 0,
    CHECK (point = file_id * 1048576 + segment),
    CHECK ((segment = 0) = (start_s IS NULL AND end_s IS NULL))
);
INSERT INTO vectors_v3 (point, file_id, segment, model, pipeline, dim, data, seq)
    SELECT file_id * 1048576, file_id, 0, model, pipeline, dim, data, seq FROM vectors;
DROP TABLE vectors;
ALTER TABLE vectors_v3 RENAME TO vectors;
CREATE INDEX vectors_file ON vectors(file_id, segment);
CREATE INDEX vectors_model ON vectors(model, pipeline);
CREATE INDEX vectors_seq ON vectors(seq);

UPDATE vector_tombstones SET file_id = file_id * 1048576;
ALTER TABLE vector_tombstones RENAME COLUMN file_id TO point;

CREATE TRIGGER vectors_seq_insert AFTER INSERT ON vectors BEGIN
    UPDATE vector_seq SET last = last + 1 WHERE id = 0;
    UPDATE vectors SET seq = (SELECT last FROM vector_seq WHERE id = 0)
        WHERE point = NEW.point;
END;

CREATE TRIGGER vectors_seq_update
AFTER UPDATE OF point, file_id, segment, start_s, end_s, model, pipeline, dim, data
ON vectors BEGIN
    UPDATE vector_seq SET last = last + 1 WHERE id = 0;
    INSERT INTO vector_tombstones (seq, point)
        SELECT last, OLD.point FROM vector_seq
        WHERE id = 0 AND OLD.point != NEW.point;
    UPDATE vector_seq SET last = last + 1 WHERE id = 0;
    UPDATE vectors SET seq = (SELECT last FROM vector_seq WHERE id = 0)
        WHERE point = NEW.point;
END;

CREATE TRIGGER vectors_seq_delete AFTER DELETE ON vectors BEGIN
    UPDATE vector_seq SET last = last + 1 WHERE id = 0;
    INSERT INTO vector_tombstones (seq, point)
        SELECT last, OLD.point FROM vector_seq WHERE id = 0;
END;
";

/// Version 4: audio fingerprints for the duplicate finder, one per file
/// (hark-fingerprint's bytes, whose first byte is their format version).
/// A file without one (every file of an older catalog) gets it on the next
/// `hark index`, without being embedded again.
const V4: &str = "
CREATE TABLE fingerprints (
    file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    data    BLOB NOT NULL CHECK (length(data) >= 1)
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
            move |source| {
                crate::error::damage(path, &source).unwrap_or_else(|| Error::Migrate {
                    path: path.to_owned(),
                    version,
                    source,
                })
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
