//! Reading the shared catalog's changes since a position, for a local
//! replica.
//!
//! Every row of files and vectors carries `change`, the id of the
//! transaction that last wrote it, and a delete leaves a tombstone with
//! its own. Transaction ids are handed out when a transaction first
//! writes, not when it commits, so "rows with a number above the last one
//! seen" would miss a transaction that started early and committed late.
//! A [`Position`] is therefore the *oldest transaction still running* when
//! the reader's snapshot was taken (`pg_snapshot_xmin`): every transaction
//! below it had finished and was seen whole, and everything at or above it
//! is read again next time. Rows read twice are applied twice, which a
//! replica does by upsert, so the overlap (the writes of transactions that
//! were running at the last read, at most a batch per worker) costs a
//! little reading and nothing else.

use hark_store::{FileId, FileRecord, PointId, RootId};

use crate::catalog::{file_from_row, SharedCatalog, FILE_COLUMNS};

/// A place in the shared catalog's change sequence: read "everything since"
/// it with [`SharedCatalog::changes_since`]. [`Position::START`] is before
/// everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position(pub i64);

impl Position {
    /// Before any change.
    pub const START: Position = Position(0);
}

/// A vector as the shared catalog holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedVector {
    /// Its point (file and segment).
    pub point: PointId,
    /// The moment's start and end in seconds (`None` for the whole file).
    pub span: Option<(f64, f64)>,
    /// The model identity that made it.
    pub model: String,
    /// The embedding pipeline version.
    pub pipeline: String,
    /// The vector.
    pub data: Vec<f32>,
}

/// One item of what changed since a position, in the order
/// [`SharedCatalog::changes_since`] hands them over: a [`Change::Reset`]
/// if the reader must start over, then every root and the meta data, then
/// removals, then files, then vectors. Applying them in that order brings
/// a copy to the snapshot's state: a file present among the files is
/// current, whatever its tombstones say.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The reader's position is older than the oldest tombstone kept
    /// ([`SharedCatalog::prune_tombstones`]): it must forget everything
    /// it holds; everything follows, from the start.
    Reset,
    /// A root (all of them come, every time: there are few).
    Root(RootId, String),
    /// A value of the catalog's meta data (all of them, every time).
    Meta(String, String),
    /// A file removed since.
    RemovedFile(FileId),
    /// A vector removed since.
    RemovedPoint(PointId),
    /// A file written since: its record (path relative to its root) and its
    /// fingerprint.
    File(FileId, Box<FileRecord>, Option<Vec<u8>>),
    /// A vector written since.
    Vector(SharedVector),
}

/// Rows fetched from the server at a time while streaming changes: bounds
/// the reader's memory whatever the catalog's size.
const FETCH_ROWS: i32 = 2_000;

impl SharedCatalog {
    /// Streams everything that changed since `since` in files under
    /// `roots` to `sink`, from one consistent snapshot (a read-only
    /// transaction: any role that may read can do this), and returns the
    /// position to read from next time. Rows are fetched a few thousand at
    /// a time, so memory stays small on a first read of a million files.
    ///
    /// # Errors
    ///
    /// A failed statement or a lost connection, or the sink's error: the
    /// caller then drops what it applied (a replica applies a read in one
    /// transaction of its own), so it stays at its last complete state.
    pub fn changes_since<E>(
        &mut self,
        since: Position,
        roots: &[RootId],
        sink: &mut dyn FnMut(Change) -> std::result::Result<(), E>,
    ) -> std::result::Result<Position, E>
    where
        E: From<crate::Error>,
    {
        let address = self.address.clone();
        let sql = |what: &'static str| {
            let address = address.clone();
            move |source| crate::Error::Sql {
                address,
                what,
                source,
            }
        };
        let roots: Vec<i64> = roots.iter().map(|r| r.0).collect();
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(sql("begin a change read"))?;
        // The first statement fixes the snapshot every later one sees.
        let next: i64 = tx
            .query_one(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
                &[],
            )
            .map_err(sql("read the snapshot"))?
            .get(0);
        let meta: Vec<(String, String)> = tx
            .query("SELECT key, value FROM hark_meta ORDER BY key", &[])
            .map_err(sql("read meta data"))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let pruned: i64 = meta
            .iter()
            .find(|(k, _)| k == "pruned_through")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut since = since.0;
        if since > 0 && since <= pruned {
            sink(Change::Reset)?;
            since = 0;
        }
        for r in tx
            .query("SELECT id, name FROM hark_roots ORDER BY id", &[])
            .map_err(sql("read roots"))?
        {
            sink(Change::Root(RootId(r.get(0)), r.get(1)))?;
        }
        for (key, value) in meta {
            sink(Change::Meta(key, value))?;
        }
        if since > 0 {
            let stmt = tx
                .prepare("SELECT kind, id FROM hark_tombstones WHERE change >= $1")
                .map_err(sql("read removals"))?;
            let portal = tx.bind(&stmt, &[&since]).map_err(sql("read removals"))?;
            loop {
                let rows = tx
                    .query_portal(&portal, FETCH_ROWS)
                    .map_err(sql("read removals"))?;
                for r in &rows {
                    sink(match r.get::<_, &str>(0) {
                        "file" => Change::RemovedFile(FileId(r.get(1))),
                        _ => Change::RemovedPoint(PointId(r.get(1))),
                    })?;
                }
                if rows.len() < FETCH_ROWS as usize {
                    break;
                }
            }
        }
        let stmt = tx
            .prepare(&format!(
                "SELECT {FILE_COLUMNS} FROM hark_files
                 WHERE change >= $1 AND root_id = ANY($2) ORDER BY id"
            ))
            .map_err(sql("read changed files"))?;
        let portal = tx
            .bind(&stmt, &[&since, &roots])
            .map_err(sql("read changed files"))?;
        loop {
            let rows = tx
                .query_portal(&portal, FETCH_ROWS)
                .map_err(sql("read changed files"))?;
            for r in &rows {
                let (id, record, fingerprint) = file_from_row(r);
                sink(Change::File(id, Box::new(record), fingerprint))?;
            }
            if rows.len() < FETCH_ROWS as usize {
                break;
            }
        }
        let stmt = tx
            .prepare(
                "SELECT v.point, v.start_s, v.end_s, v.model, v.pipeline, v.data
                 FROM hark_vectors v JOIN hark_files f ON f.id = v.file_id
                 WHERE v.change >= $1 AND f.root_id = ANY($2) ORDER BY v.point",
            )
            .map_err(sql("read changed vectors"))?;
        let portal = tx
            .bind(&stmt, &[&since, &roots])
            .map_err(sql("read changed vectors"))?;
        loop {
            let rows = tx
                .query_portal(&portal, FETCH_ROWS)
                .map_err(sql("read changed vectors"))?;
            for r in &rows {
                let start: Option<f64> = r.get(1);
                let end: Option<f64> = r.get(2);
                let bytes: &[u8] = r.get(5);
                sink(Change::Vector(SharedVector {
                    point: PointId(r.get(0)),
                    span: start.zip(end),
                    model: r.get(3),
                    pipeline: r.get(4),
                    data: bytes
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                }))?;
            }
            if rows.len() < FETCH_ROWS as usize {
                break;
            }
        }
        tx.commit().map_err(sql("end a change read"))?;
        Ok(Position(next))
    }
}
