//! The shared catalog's schema and its migrations (see index-format.md,
//! "The shared catalog").
//!
//! `hark_schema` holds one row per migration applied, the highest version
//! being the schema's. Migrations run in one transaction with the version
//! rows and under a transaction-level advisory lock, so two hosts opening
//! a new catalog at once cannot both migrate it, and a failure leaves the
//! catalog at the version it had. They are append-only: a released one is
//! never edited, a change is a new one. Plain SQL for PostgreSQL 13 and
//! newer; no extension.
//!
//! Before writing anything the opener checks that the database is hark's:
//! a schema (namespace) without `hark_schema` must hold no table at all,
//! and one with it must hold every table of its version.

use postgres::GenericClient;

use crate::error::{Error, Result};
use crate::RedactedUrl;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1];

/// The tables each version has (cumulative), for the damage check.
const TABLES: &[&[&str]] = &[&[
    "hark_meta",
    "hark_roots",
    "hark_files",
    "hark_vectors",
    "hark_tombstones",
    "hark_work",
]];

/// Key of the advisory lock migrations take (`hark` in ASCII, and 13).
const MIGRATION_LOCK: i64 = 0x6861_726b_0000_000d;

/// Made before version 1, in the same transaction.
const SCHEMA_TABLE: &str = "
CREATE TABLE hark_schema (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
";

/// Version 1: meta, named roots, files, vectors, the change positions and
/// tombstones, and the work queue.
///
/// `change` on files, vectors and tombstones is the id of the transaction
/// that last wrote the row (`pg_current_xact_id()`, as bigint), set by
/// default and by trigger, so no write can skip it; deletes leave a
/// tombstone by trigger. See index-format.md for how a replica reads
/// "everything since position N" from these without missing a late commit.
const V1: &str = "
CREATE FUNCTION hark_xact() RETURNS bigint LANGUAGE sql VOLATILE
    AS $$ SELECT pg_current_xact_id()::text::bigint $$;

CREATE TABLE hark_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
-- Which catalog this is: a replica made from another one starts over.
INSERT INTO hark_meta (key, value) VALUES ('catalog_id', gen_random_uuid()::text);

CREATE TABLE hark_roots (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text NOT NULL UNIQUE CHECK (name <> ''),
    added_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE hark_files (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    root_id         bigint NOT NULL REFERENCES hark_roots(id),
    rel_path        bytea NOT NULL,
    rel_path_text   text NOT NULL,
    size            bigint NOT NULL,
    mtime_ns        bigint NOT NULL,
    content_hash    bytea,
    format          text,
    codec           text,
    duration_s      double precision,
    sample_rate     integer,
    channels        integer,
    bits_per_sample integer,
    tags            jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    ucs_cat_id      text,
    ucs_category    text,
    ucs_subcategory text,
    ucs_fx_name     text,
    peaks           bytea,
    fingerprint     bytea,
    status          text NOT NULL CHECK (status IN ('ok', 'waiting', 'failed')),
    error           text,
    indexed_at      timestamptz NOT NULL DEFAULT now(),
    change          bigint NOT NULL DEFAULT hark_xact(),
    UNIQUE (root_id, rel_path)
);
CREATE INDEX hark_files_change ON hark_files(change);
CREATE INDEX hark_files_content_hash ON hark_files(content_hash);

CREATE TABLE hark_vectors (
    point    bigint PRIMARY KEY,
    file_id  bigint NOT NULL REFERENCES hark_files(id) ON DELETE CASCADE,
    segment  integer NOT NULL CHECK (segment >= 0 AND segment < 1048576),
    start_s  double precision,
    end_s    double precision,
    model    text NOT NULL,
    pipeline text NOT NULL,
    dim      integer NOT NULL CHECK (dim > 0),
    data     bytea NOT NULL CHECK (length(data) = 4 * dim),
    change   bigint NOT NULL DEFAULT hark_xact(),
    CHECK (point = file_id * 1048576 + segment),
    CHECK ((segment = 0) = (start_s IS NULL AND end_s IS NULL))
);
CREATE INDEX hark_vectors_file ON hark_vectors(file_id);
CREATE INDEX hark_vectors_change ON hark_vectors(change);

CREATE TABLE hark_tombstones (
    change bigint NOT NULL DEFAULT hark_xact(),
    kind   text NOT NULL CHECK (kind IN ('file', 'point')),
    id     bigint NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hark_tombstones_change ON hark_tombstones(change);

CREATE TABLE hark_work (
    file_id   bigint PRIMARY KEY REFERENCES hark_files(id) ON DELETE CASCADE,
    queued_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION hark_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change := hark_xact();
    RETURN NEW;
END $$;

CREATE TRIGGER hark_files_touch BEFORE INSERT OR UPDATE ON hark_files
    FOR EACH ROW EXECUTE FUNCTION hark_touch();
CREATE TRIGGER hark_vectors_touch BEFORE INSERT OR UPDATE ON hark_vectors
    FOR EACH ROW EXECUTE FUNCTION hark_touch();

CREATE FUNCTION hark_file_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hark_tombstones (kind, id) VALUES ('file', OLD.id);
    RETURN OLD;
END $$;
CREATE FUNCTION hark_point_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hark_tombstones (kind, id) VALUES ('point', OLD.point);
    RETURN OLD;
END $$;
CREATE TRIGGER hark_files_gone AFTER DELETE ON hark_files
    FOR EACH ROW EXECUTE FUNCTION hark_file_gone();
CREATE TRIGGER hark_vectors_gone AFTER DELETE ON hark_vectors
    FOR EACH ROW EXECUTE FUNCTION hark_point_gone();
";

/// Checks that the database is hark's and brings it to [`SCHEMA_VERSION`]
/// (when `may_write`), in one transaction. Nothing is written to a
/// foreign or damaged database.
pub(crate) fn migrate(
    client: &mut postgres::Client,
    address: &RedactedUrl,
    role: &str,
    may_write: bool,
) -> Result<()> {
    let sql = |what: &'static str| {
        move |source| Error::Sql {
            address: address.clone(),
            what,
            source,
        }
    };
    let mut tx = client
        .transaction()
        .map_err(sql("begin the schema check"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(sql("take the migration lock"))?;
    let schema: Option<String> = tx
        .query_one("SELECT current_schema()::text", &[])
        .map_err(sql("read the current schema"))?
        .get(0);
    let Some(schema) = schema else {
        return Err(Error::Corrupt {
            address: address.clone(),
            what: "no schema of the search_path exists".into(),
        });
    };
    let tables = tables_in(&mut tx, &schema).map_err(sql("list the tables"))?;
    let found = if tables.iter().any(|t| t == "hark_schema") {
        let version: Option<i32> = tx
            .query_one("SELECT max(version) FROM hark_schema", &[])
            .map_err(|e| Error::Corrupt {
                address: address.clone(),
                what: format!("its `hark_schema` table is not hark's ({e})"),
            })?
            .get(0);
        let version = version.unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(Error::TooNew {
                address: address.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < 0 {
            return Err(Error::Corrupt {
                address: address.clone(),
                what: format!("schema version {version}"),
            });
        }
        if version > 0 {
            let missing: Vec<&str> = TABLES[version as usize - 1]
                .iter()
                .copied()
                .filter(|t| !tables.iter().any(|have| have == t))
                .collect();
            if !missing.is_empty() {
                return Err(Error::Corrupt {
                    address: address.clone(),
                    what: format!(
                        "schema version {version} without its table(s) {}",
                        missing.join(", ")
                    ),
                });
            }
        }
        version
    } else if tables.is_empty() {
        0
    } else {
        let mut shown = tables;
        shown.truncate(5);
        return Err(Error::Foreign {
            address: address.clone(),
            schema,
            tables: shown,
        });
    };
    if found == SCHEMA_VERSION {
        return tx.commit().map_err(sql("end the schema check"));
    }
    if !may_write {
        return Err(Error::TooOld {
            address: address.clone(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == 0
        && !tables_in(&mut tx, &schema)
            .map_err(sql("list the tables"))?
            .iter()
            .any(|t| t == "hark_schema")
    {
        tx.batch_execute(SCHEMA_TABLE)
            .map_err(|e| write_error(address, role, e, "create the schema table"))?;
    }
    for version in found + 1..=SCHEMA_VERSION {
        tx.batch_execute(MIGRATIONS[version as usize - 1])
            .map_err(|e| write_error(address, role, e, "apply a schema migration"))?;
        tx.execute("INSERT INTO hark_schema (version) VALUES ($1)", &[&version])
            .map_err(sql("record the schema version"))?;
    }
    tx.commit().map_err(sql("commit the schema migration"))
}

/// An [`Error::ReadOnlyRole`] when the server refused for want of
/// privilege, else an [`Error::Sql`].
pub(crate) fn write_error(
    address: &RedactedUrl,
    role: &str,
    source: postgres::Error,
    what: &'static str,
) -> Error {
    use postgres::error::SqlState;
    let denied = source.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE)
        || source.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION);
    if denied {
        Error::ReadOnlyRole {
            address: address.clone(),
            role: role.to_owned(),
        }
    } else {
        Error::Sql {
            address: address.clone(),
            what,
            source,
        }
    }
}

/// The tables, views and sequences of `schema`, by name.
fn tables_in(
    client: &mut impl GenericClient,
    schema: &str,
) -> Result<Vec<String>, postgres::Error> {
    Ok(client
        .query(
            "SELECT c.relname::text FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
             ORDER BY c.relname",
            &[&schema],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
