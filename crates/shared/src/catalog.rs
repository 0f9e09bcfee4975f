//! [`SharedCatalog`]: one connection to a shared catalog, and what the
//! indexer writes through it (roots by name, files by path relative to
//! their root, the work queue).

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use hark_store::{FileId, FileRecord, FileStatus, RootId};
use postgres::{Client, Row};

use crate::address::Address;
use crate::error::{Error, Result};
use crate::schema::{self, write_error};
use crate::RedactedUrl;

/// How long the server keeps a transaction that has gone quiet: a worker
/// embeds inside its claim's transaction, so this bounds one batch's work,
/// and frees the claims of a worker that hangs without dying.
pub const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(600);

/// How soon the server probes a silent connection (TCP keepalive), so
/// that a worker whose host lost power or network loses its claims within
/// about `idle + interval * count` = 25 s, not the kernel's two hours.
const KEEPALIVE: (u32, u32, u32) = (10, 5, 3);

/// A file as the catalog knows it, for a walk to compare with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFile {
    /// Its id.
    pub id: FileId,
    /// Its path relative to its root.
    pub rel_path: PathBuf,
    /// Its size when recorded.
    pub size: u64,
    /// Its modification time when recorded (as the host that recorded it
    /// saw it).
    pub mtime_ns: i64,
    /// Its content hash, once a worker has read it.
    pub content_hash: Option<Vec<u8>>,
    /// Waiting for a worker, embedded, or failed.
    pub status: FileStatus,
}

/// A connection to a shared catalog whose schema has been checked (and
/// brought up to date when opened for writing).
pub struct SharedCatalog {
    pub(crate) client: Client,
    pub(crate) address: RedactedUrl,
    pub(crate) role: String,
    /// Kept to reconnect (its Debug shows the address redacted).
    settings: Address,
}

impl std::fmt::Debug for SharedCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedCatalog({} as {})", self.address, self.role)
    }
}

impl SharedCatalog {
    /// Connects, checks that the database is hark's and migrates its schema
    /// to [`crate::SCHEMA_VERSION`] (creating it in an empty database).
    ///
    /// # Errors
    ///
    /// [`Error::Connect`]; [`Error::Foreign`] or [`Error::Corrupt`] for a
    /// database that is not a sound hark catalog (nothing is written);
    /// [`Error::TooNew`]; [`Error::ReadOnlyRole`] when the schema needs
    /// creating or upgrading and the role may not.
    pub fn open(address: &Address) -> Result<SharedCatalog> {
        let mut catalog = SharedCatalog::connect(address)?;
        schema::migrate(&mut catalog.client, &catalog.address, &catalog.role, true)?;
        Ok(catalog)
    }

    /// Connects and checks the schema without writing anything: for
    /// search and replicas, with any role that may read.
    ///
    /// # Errors
    ///
    /// As [`SharedCatalog::open`], and [`Error::TooOld`] for a schema that
    /// needs upgrading.
    pub fn open_readonly(address: &Address) -> Result<SharedCatalog> {
        let mut catalog = SharedCatalog::connect(address)?;
        schema::migrate(&mut catalog.client, &catalog.address, &catalog.role, false)?;
        Ok(catalog)
    }

    fn connect(address: &Address) -> Result<SharedCatalog> {
        let shown = address.shown().clone();
        let mut config = address.config().clone();
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(KEEPALIVE.0.into()));
        let mut client =
            config
                .connect(crate::tls::connector())
                .map_err(|source| Error::Connect {
                    address: shown.clone(),
                    source,
                })?;
        let setup = format!(
            "SET idle_in_transaction_session_timeout = '{}s';
             SET tcp_keepalives_idle = {}; SET tcp_keepalives_interval = {};
             SET tcp_keepalives_count = {};",
            IDLE_IN_TRANSACTION_TIMEOUT.as_secs(),
            KEEPALIVE.0,
            KEEPALIVE.1,
            KEEPALIVE.2
        );
        client.batch_execute(&setup).map_err(|source| Error::Sql {
            address: shown.clone(),
            what: "set up the session",
            source,
        })?;
        let role: String = client
            .query_one("SELECT current_user::text", &[])
            .map_err(|source| Error::Sql {
                address: shown.clone(),
                what: "read the role",
                source,
            })?
            .get(0);
        Ok(SharedCatalog {
            client,
            address: shown,
            role,
            settings: address.clone(),
        })
    }

    /// Connects again after the connection was lost (the server restarted,
    /// the network dropped), trying at growing intervals (0.25 s doubling
    /// to 8 s) until `patience` has passed. Whatever was in flight was
    /// rolled back by the server (claims included), so the caller simply
    /// carries on: claims again, writes its batch again.
    ///
    /// # Errors
    ///
    /// The last [`Error::Connect`] when `patience` runs out.
    pub fn reconnect(&mut self, patience: Duration) -> Result<()> {
        let started = std::time::Instant::now();
        let mut wait = Duration::from_millis(250);
        loop {
            match SharedCatalog::connect(&self.settings) {
                Ok(fresh) => {
                    *self = fresh;
                    return Ok(());
                }
                Err(e) if e.is_connection() && started.elapsed() + wait < patience => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(8));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The catalog's address, redacted.
    pub fn address(&self) -> &RedactedUrl {
        &self.address
    }

    /// The role connected as.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// Adds the root named `name`, or finds it; returns its id.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnlyRole`], or a failed statement.
    pub fn add_root(&mut self, name: &str) -> Result<RootId> {
        let row = self
            .client
            .query_one(
                "WITH added AS (
                     INSERT INTO hark_roots (name) VALUES ($1)
                     ON CONFLICT (name) DO NOTHING RETURNING id)
                 SELECT id FROM added UNION ALL SELECT id FROM hark_roots WHERE name = $1",
                &[&name],
            )
            .map_err(|e| self.write_error(e, "add a root"))?;
        Ok(RootId(row.get(0)))
    }

    /// The roots, by id, with their names.
    ///
    /// # Errors
    ///
    /// A failed statement.
    pub fn roots(&mut self) -> Result<Vec<(RootId, String)>> {
        let rows = self
            .client
            .query("SELECT id, name FROM hark_roots ORDER BY id", &[])
            .map_err(|e| self.sql(e, "list the roots"))?;
        Ok(rows.iter().map(|r| (RootId(r.get(0)), r.get(1))).collect())
    }

    /// Stores a file's record under its root, `file.path` being relative
    /// to the root, keeping the id of the file at that path; a file
    /// [`FileStatus::Waiting`] joins the work queue and loses the vectors
    /// and fingerprint of what it held before. Returns its id.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnlyRole`], or a failed statement.
    pub fn upsert_file(&mut self, file: &FileRecord) -> Result<FileId> {
        Ok(self.upsert_files(std::slice::from_ref(file))?[0])
    }

    /// [`SharedCatalog::upsert_file`] for many files, in one transaction
    /// (a walk of a large library writes its new files in batches).
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnlyRole`], or a failed statement: then none is
    /// written.
    pub fn upsert_files(&mut self, files: &[FileRecord]) -> Result<Vec<FileId>> {
        let mut tx = self.client.transaction().map_err(|e| Error::Sql {
            address: self.address.clone(),
            what: "begin a write",
            source: e,
        })?;
        let mut ids = Vec::with_capacity(files.len());
        for file in files {
            let (id, changed) = upsert_file(&mut tx, file)
                .map_err(|e| write_error(&self.address, &self.role, e, "store a file"))?;
            if file.status == FileStatus::Waiting && changed {
                tx.execute("DELETE FROM hark_vectors WHERE file_id = $1", &[&id.0])
                    .map_err(|e| write_error(&self.address, &self.role, e, "drop old vectors"))?;
                tx.execute(
                    "INSERT INTO hark_work (file_id) VALUES ($1) ON CONFLICT DO NOTHING",
                    &[&id.0],
                )
                .map_err(|e| write_error(&self.address, &self.role, e, "queue a file"))?;
            }
            ids.push(id);
        }
        tx.commit()
            .map_err(|e| write_error(&self.address, &self.role, e, "commit files"))?;
        Ok(ids)
    }

    /// What the catalog holds of the files under `root`: for a walk to
    /// compare with what it finds.
    ///
    /// # Errors
    ///
    /// A failed statement.
    pub fn files_of_root(&mut self, root: RootId) -> Result<Vec<KnownFile>> {
        let rows = self
            .client
            .query(
                "SELECT id, rel_path, size, mtime_ns, content_hash, status
                 FROM hark_files WHERE root_id = $1",
                &[&root.0],
            )
            .map_err(|e| self.sql(e, "list a root's files"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let rel: &[u8] = r.get(1);
                let status: &str = r.get(5);
                KnownFile {
                    id: FileId(r.get(0)),
                    rel_path: PathBuf::from(std::ffi::OsStr::from_bytes(rel)),
                    size: r.get::<_, i64>(2) as u64,
                    mtime_ns: r.get(3),
                    content_hash: r.get(4),
                    status: FileStatus::parse(status).unwrap_or(FileStatus::Failed),
                }
            })
            .collect())
    }

    /// Deletes the tombstones older than `age`, and records the newest
    /// change they held as `pruned_through` in the meta data: a replica
    /// that has not read that far reads the catalog whole again. Returns
    /// how many were deleted.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnlyRole`], or a failed statement.
    pub fn prune_tombstones(&mut self, age: Duration) -> Result<u64> {
        let seconds = age.as_secs_f64();
        let row = self
            .client
            .query_one(
                "WITH gone AS (
                     DELETE FROM hark_tombstones
                     WHERE at < now() - make_interval(secs => $1) RETURNING change),
                 top AS (SELECT count(*) AS n, max(change) AS through FROM gone),
                 noted AS (
                     INSERT INTO hark_meta (key, value)
                     SELECT 'pruned_through', through::text FROM top WHERE through IS NOT NULL
                     ON CONFLICT (key) DO UPDATE
                     SET value = greatest(hark_meta.value::bigint, excluded.value::bigint)::text)
                 SELECT n FROM top",
                &[&seconds],
            )
            .map_err(|e| self.write_error(e, "prune tombstones"))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// Removes files with their vectors and queue entries; returns how many
    /// existed.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnlyRole`], or a failed statement.
    pub fn remove_files(&mut self, ids: &[FileId]) -> Result<u64> {
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        self.client
            .execute("DELETE FROM hark_files WHERE id = ANY($1)", &[&ids])
            .map_err(|e| self.write_error(e, "remove files"))
    }

    /// How many files wait in the work queue.
    ///
    /// # Errors
    ///
    /// A failed statement.
    pub fn queued(&mut self) -> Result<u64> {
        let n: i64 = self
            .client
            .query_one("SELECT count(*) FROM hark_work", &[])
            .map_err(|e| self.sql(e, "count the work queue"))?
            .get(0);
        Ok(n as u64)
    }

    /// Sets a value of the catalog's meta data.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnlyRole`], or a failed statement.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.client
            .execute(
                "INSERT INTO hark_meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .map_err(|e| self.write_error(e, "set meta data"))?;
        Ok(())
    }

    /// A value of the catalog's meta data.
    ///
    /// # Errors
    ///
    /// A failed statement.
    pub fn meta(&mut self, key: &str) -> Result<Option<String>> {
        let row = self
            .client
            .query_opt("SELECT value FROM hark_meta WHERE key = $1", &[&key])
            .map_err(|e| self.sql(e, "read meta data"))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The server process serving this connection (for tests that cut a
    /// worker off from the server side).
    ///
    /// # Errors
    ///
    /// A failed statement.
    pub fn backend_pid(&mut self) -> Result<i32> {
        Ok(self
            .client
            .query_one("SELECT pg_backend_pid()", &[])
            .map_err(|e| self.sql(e, "read the backend pid"))?
            .get(0))
    }

    pub(crate) fn sql(&self, source: postgres::Error, what: &'static str) -> Error {
        Error::Sql {
            address: self.address.clone(),
            what,
            source,
        }
    }

    pub(crate) fn write_error(&self, source: postgres::Error, what: &'static str) -> Error {
        write_error(&self.address, &self.role, source, what)
    }
}

/// The columns of a file's record, in [`file_from_row`]'s order.
pub(crate) const FILE_COLUMNS: &str = "id, root_id, rel_path, size, mtime_ns, content_hash, \
    format, codec, duration_s, sample_rate, channels, bits_per_sample, tags, ucs_cat_id, \
    ucs_category, ucs_subcategory, ucs_fx_name, peaks, status, error, fingerprint";

/// Inserts or updates the file at `file`'s (root, relative path); returns
/// its id and whether the row was written. A waiting record of a file the
/// catalog has with the same size and time is not written: two hosts
/// walking one library at once both find a new file, and the second must
/// not queue again what the first's workers may have embedded already.
pub(crate) fn upsert_file(
    client: &mut impl postgres::GenericClient,
    file: &FileRecord,
) -> Result<(FileId, bool), postgres::Error> {
    let rel = file.path.as_os_str().as_bytes();
    let rel_text = file.path.to_string_lossy();
    let tags = serde_json::Value::Array(
        file.tags
            .iter()
            .map(|(k, v)| serde_json::json!([k, v]))
            .collect(),
    );
    let peaks: Vec<u8> = file
        .peaks
        .iter()
        .flat_map(|&(min, max)| [min as u8, max as u8])
        .collect();
    let opt_i32 = |v: Option<u32>| v.map(|v| v as i32);
    let row = client.query_opt(
        "INSERT INTO hark_files (root_id, rel_path, rel_path_text, size, mtime_ns,
             content_hash, format, codec, duration_s, sample_rate, channels, bits_per_sample,
             tags, ucs_cat_id, ucs_category, ucs_subcategory, ucs_fx_name, peaks, status, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20)
         ON CONFLICT (root_id, rel_path) DO UPDATE SET
             size = excluded.size, mtime_ns = excluded.mtime_ns,
             content_hash = excluded.content_hash, format = excluded.format,
             codec = excluded.codec, duration_s = excluded.duration_s,
             sample_rate = excluded.sample_rate, channels = excluded.channels,
             bits_per_sample = excluded.bits_per_sample, tags = excluded.tags,
             ucs_cat_id = excluded.ucs_cat_id, ucs_category = excluded.ucs_category,
             ucs_subcategory = excluded.ucs_subcategory, ucs_fx_name = excluded.ucs_fx_name,
             peaks = excluded.peaks, status = excluded.status, error = excluded.error,
             fingerprint = NULL, indexed_at = now()
         WHERE excluded.status <> 'waiting'
            OR hark_files.size <> excluded.size OR hark_files.mtime_ns <> excluded.mtime_ns
         RETURNING id",
        &[
            &file.root.0,
            &rel,
            &rel_text.as_ref(),
            &(file.size as i64),
            &file.mtime_ns,
            &file.content_hash,
            &file.format,
            &file.codec,
            &file.duration_s,
            &opt_i32(file.sample_rate),
            &opt_i32(file.channels),
            &opt_i32(file.bits_per_sample),
            &tags,
            &file.ucs_cat_id,
            &file.ucs_category,
            &file.ucs_subcategory,
            &file.ucs_fx_name,
            &(!peaks.is_empty()).then_some(peaks),
            &file.status.as_str(),
            &file.error,
        ],
    )?;
    if let Some(row) = row {
        return Ok((FileId(row.get(0)), true));
    }
    let row = client.query_one(
        "SELECT id FROM hark_files WHERE root_id = $1 AND rel_path = $2",
        &[&file.root.0, &rel],
    )?;
    Ok((FileId(row.get(0)), false))
}

/// A file's id, record (path relative to its root) and fingerprint from a
/// row of [`FILE_COLUMNS`].
pub(crate) fn file_from_row(row: &Row) -> (FileId, FileRecord, Option<Vec<u8>>) {
    use std::ffi::OsStr;
    let rel: Vec<u8> = row.get(2);
    let mut file = FileRecord::new(
        RootId(row.get(1)),
        PathBuf::from(OsStr::from_bytes(&rel)),
        row.get::<_, i64>(3) as u64,
        row.get(4),
    );
    let opt_u32 = |i: usize| row.get::<_, Option<i32>>(i).map(|v| v as u32);
    file.content_hash = row.get(5);
    file.format = row.get(6);
    file.codec = row.get(7);
    file.duration_s = row.get(8);
    file.sample_rate = opt_u32(9);
    file.channels = opt_u32(10);
    file.bits_per_sample = opt_u32(11);
    let tags: serde_json::Value = row.get(12);
    file.tags = tags
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            Some((
                pair.get(0)?.as_str()?.to_owned(),
                pair.get(1)?.as_str()?.to_owned(),
            ))
        })
        .collect();
    file.ucs_cat_id = row.get(13);
    file.ucs_category = row.get(14);
    file.ucs_subcategory = row.get(15);
    file.ucs_fx_name = row.get(16);
    let peaks: Option<Vec<u8>> = row.get(17);
    file.peaks = peaks
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|p| (p[0] as i8, p[1] as i8))
        .collect();
    let status: String = row.get(18);
    file.status = FileStatus::parse(&status).unwrap_or(FileStatus::Failed);
    file.error = row.get(19);
    (FileId(row.get(0)), file, row.get(20))
}
