//! The claim protocol: how several `hark index` runs, on one host or many,
//! split the embedding of a catalog's queued files so that each file is
//! embedded once.
//!
//! A worker calls [`SharedCatalog::claim`]: in a new transaction it locks
//! up to `limit` rows of the work queue (`hark_work`) with
//! `SELECT ... FOR UPDATE SKIP LOCKED`, so that concurrent workers take
//! disjoint batches without waiting for each other. It then decodes and
//! embeds those files while the transaction stays open, and
//! [`Claim::finish`] writes their records and vectors, deletes their queue
//! rows and commits, all at once. A claim is thus a row lock: it lives
//! exactly as long as the worker's transaction, and the server drops it
//! the moment the worker's connection ends (a killed process, a closed
//! socket) or the session is cut off (an unplugged host, found by TCP
//! keepalive in about 25 s; a hung one after
//! [`crate::IDLE_IN_TRANSACTION_TIMEOUT`]). The queue rows are then simply
//! unlocked, still there, and the next claim of any worker takes them.
//! Nothing the worker did is half-committed: its writes are in the same
//! transaction.
//!
//! Leases (a claimed-until time on each row, renewed by the worker) were
//! the alternative: they survive a connection blip, but a dead worker's
//! files wait for the lease to run out, every worker must renew, and the
//! protocol depends on clocks. Row locks need none of that; their cost is
//! one open transaction per worker, bounded by the batch's length.
//!
//! A file that changes on disk while claimed is queued again by the walk
//! (its queue row exists, so nothing changes there) and gets new
//! size and mtime; [`Claim::finish`] writes a result only if the file's
//! size and mtime are still those it claimed, and otherwise leaves the
//! queue row for the next claim.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use hark_store::{FileId, FileRecord, MomentVector, PointId, RootId};
use postgres::Transaction;

use crate::catalog::SharedCatalog;
use crate::error::{Error, Result};
use crate::schema::write_error;
use crate::RedactedUrl;

/// A file a worker holds in a [`Claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedFile {
    /// Its id in the shared catalog.
    pub id: FileId,
    /// The root it is under.
    pub root: RootId,
    /// Its path relative to the root.
    pub rel_path: PathBuf,
    /// Its size as the catalog knows it.
    pub size: u64,
    /// Its modification time as the catalog knows it.
    pub mtime_ns: i64,
}

/// A claimed file's result: its record (path relative to its root, the
/// status `Ok` or `Failed`) and, when embedded, its vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    /// The claimed file.
    pub id: FileId,
    /// What the worker read of it.
    pub record: FileRecord,
    /// The whole-file vector (`None` for a failed file).
    pub vector: Option<Vec<f32>>,
    /// Vectors of moments of a long file.
    pub moments: Vec<MomentVector>,
    /// Its audio fingerprint (hark-fingerprint's bytes), if one was made.
    pub fingerprint: Option<Vec<u8>>,
}

/// A batch of queued files locked by this worker until [`Claim::finish`]
/// commits their results or the claim is dropped (which releases them).
pub struct Claim<'c> {
    tx: Transaction<'c>,
    files: Vec<ClaimedFile>,
    address: RedactedUrl,
    role: String,
}

impl std::fmt::Debug for Claim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim").field("files", &self.files).finish()
    }
}

impl SharedCatalog {
    /// Claims up to `limit` queued files under `roots` (the roots this
    /// host has mounted) that no other worker holds, in queue order (file
    /// id). An empty claim means nothing is left that is not held by
    /// someone.
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnlyRole`] (locking rows needs UPDATE), or a failed
    /// statement.
    pub fn claim(&mut self, limit: usize, roots: &[RootId]) -> Result<Claim<'_>> {
        let roots: Vec<i64> = roots.iter().map(|r| r.0).collect();
        let address = self.address.clone();
        let role = self.role.clone();
        let mut tx = self.client.transaction().map_err(|source| Error::Sql {
            address: address.clone(),
            what: "begin a claim",
            source,
        })?;
        let rows = tx
            .query(
                "SELECT f.id, f.root_id, f.rel_path, f.size, f.mtime_ns
                 FROM hark_work w JOIN hark_files f ON f.id = w.file_id
                 WHERE f.root_id = ANY($2)
                 ORDER BY w.file_id
                 LIMIT $1
                 FOR UPDATE OF w SKIP LOCKED",
                &[&(limit as i64), &roots],
            )
            .map_err(|e| write_error(&address, &role, e, "claim files"))?;
        let files = rows
            .iter()
            .map(|r| ClaimedFile {
                id: FileId(r.get(0)),
                root: RootId(r.get(1)),
                rel_path: PathBuf::from(OsStr::from_bytes(r.get::<_, &[u8]>(2))),
                size: r.get::<_, i64>(3) as u64,
                mtime_ns: r.get(4),
            })
            .collect();
        Ok(Claim {
            tx,
            files,
            address,
            role,
        })
    }
}

impl Claim<'_> {
    /// The files held.
    pub fn files(&self) -> &[ClaimedFile] {
        &self.files
    }

    /// Whether nothing was claimed.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes the results (records and vectors of `model` and `pipeline`),
    /// takes their files off the queue and commits, releasing every claim
    /// of the batch; files without a result stay queued. Returns how many
    /// results were written: a result for a file not in the claim, or one
    /// whose size or mtime changed in the catalog since the claim, is not.
    ///
    /// # Errors
    ///
    /// A failed statement; then nothing of the batch is written and its
    /// files are free again.
    pub fn finish(mut self, model: &str, pipeline: &str, done: &[Embedded]) -> Result<usize> {
        let mut written = 0;
        let update = self
            .tx
            .prepare(
                "UPDATE hark_files SET content_hash = $4, format = $5, codec = $6,
                     duration_s = $7, sample_rate = $8, channels = $9, bits_per_sample = $10,
                     tags = $11, ucs_cat_id = $12, ucs_category = $13, ucs_subcategory = $14,
                     ucs_fx_name = $15, peaks = $16, status = $17, error = $18,
                     fingerprint = $19, indexed_at = now()
                 WHERE id = $1 AND size = $2 AND mtime_ns = $3",
            )
            .map_err(|e| self.error(e, "prepare the result update"))?;
        let insert = self
            .tx
            .prepare(
                "INSERT INTO hark_vectors
                     (point, file_id, segment, start_s, end_s, model, pipeline, dim, data)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .map_err(|e| self.error(e, "prepare the vector insert"))?;
        for result in done {
            let Some(claimed) = self.files.iter().find(|f| f.id == result.id) else {
                continue;
            };
            let r = &result.record;
            let tags = serde_json::Value::Array(
                r.tags
                    .iter()
                    .map(|(k, v)| serde_json::json!([k, v]))
                    .collect(),
            );
            let peaks: Vec<u8> = r
                .peaks
                .iter()
                .flat_map(|&(min, max)| [min as u8, max as u8])
                .collect();
            let opt_i32 = |v: Option<u32>| v.map(|v| v as i32);
            let changed = self
                .tx
                .execute(
                    &update,
                    &[
                        &claimed.id.0,
                        &(claimed.size as i64),
                        &claimed.mtime_ns,
                        &r.content_hash,
                        &r.format,
                        &r.codec,
                        &r.duration_s,
                        &opt_i32(r.sample_rate),
                        &opt_i32(r.channels),
                        &opt_i32(r.bits_per_sample),
                        &tags,
                        &r.ucs_cat_id,
                        &r.ucs_category,
                        &r.ucs_subcategory,
                        &r.ucs_fx_name,
                        &(!peaks.is_empty()).then_some(peaks),
                        &r.status.as_str(),
                        &r.error,
                        &result.fingerprint,
                    ],
                )
                .map_err(|e| self.error(e, "write a result"))?;
            if changed == 0 {
                continue;
            }
            self.tx
                .execute(
                    "DELETE FROM hark_vectors WHERE file_id = $1",
                    &[&claimed.id.0],
                )
                .map_err(|e| self.error(e, "replace vectors"))?;
            let segments = result.vector.iter().map(|v| (None, v.as_slice())).chain(
                result
                    .moments
                    .iter()
                    .map(|m| (Some((m.start_s, m.end_s)), m.data.as_slice())),
            );
            for (segment, (span, data)) in segments.enumerate() {
                let point = PointId::new(claimed.id, segment as u32);
                let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
                self.tx
                    .execute(
                        &insert,
                        &[
                            &point.0,
                            &claimed.id.0,
                            &(segment as i32),
                            &span.map(|s| s.0),
                            &span.map(|s| s.1),
                            &model,
                            &pipeline,
                            &(data.len() as i32),
                            &bytes,
                        ],
                    )
                    .map_err(|e| self.error(e, "store a vector"))?;
            }
            self.tx
                .execute("DELETE FROM hark_work WHERE file_id = $1", &[&claimed.id.0])
                .map_err(|e| self.error(e, "take a file off the queue"))?;
            written += 1;
        }
        let address = self.address.clone();
        let role = self.role.clone();
        self.tx
            .commit()
            .map_err(|e| write_error(&address, &role, e, "commit a batch"))?;
        Ok(written)
    }

    /// Gives the files back without writing anything (as dropping the
    /// claim does, but reporting a failure to roll back).
    ///
    /// # Errors
    ///
    /// A failed rollback (the server frees the claims all the same when
    /// the connection ends).
    pub fn release(self) -> Result<()> {
        let address = self.address.clone();
        self.tx.rollback().map_err(|source| Error::Sql {
            address,
            what: "release a claim",
            source,
        })
    }

    fn error(&self, source: postgres::Error, what: &'static str) -> Error {
        write_error(&self.address, &self.role, source, what)
    }
}
