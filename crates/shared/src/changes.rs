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
use crate::error::Result;

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

/// What changed since a position, read in one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Every root (there are few), by id, with its name.
    pub roots: Vec<(RootId, String)>,
    /// Files written since, with their records (paths relative to roots).
    pub files: Vec<(FileId, FileRecord)>,
    /// Vectors written since.
    pub vectors: Vec<SharedVector>,
    /// Files removed since (apply before `files`: a file present in
    /// `files` is current, whatever its tombstones say).
    pub removed_files: Vec<FileId>,
    /// Vectors removed since (same rule, with `vectors`).
    pub removed_points: Vec<PointId>,
    /// Where the next read starts.
    pub next: Position,
}

impl SharedCatalog {
    /// Everything that changed since `since`, from one consistent snapshot
    /// (a read-only transaction: any role that may read can do this).
    ///
    /// # Errors
    ///
    /// A failed statement or a lost connection: nothing is returned, so a
    /// replica applying whole results stays at its last complete state.
    pub fn changes_since(&mut self, since: Position) -> Result<Changes> {
        let address = &self.address;
        let sql = |what: &'static str| {
            move |source| crate::Error::Sql {
                address: address.clone(),
                what,
                source,
            }
        };
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
        let roots = tx
            .query("SELECT id, name FROM hark_roots ORDER BY id", &[])
            .map_err(sql("read roots"))?
            .iter()
            .map(|r| (RootId(r.get(0)), r.get(1)))
            .collect();
        let files = tx
            .query(
                &format!("SELECT {FILE_COLUMNS} FROM hark_files WHERE change >= $1 ORDER BY id"),
                &[&since.0],
            )
            .map_err(sql("read changed files"))?
            .iter()
            .map(file_from_row)
            .collect();
        let vectors = tx
            .query(
                "SELECT point, start_s, end_s, model, pipeline, data FROM hark_vectors
                 WHERE change >= $1 ORDER BY point",
                &[&since.0],
            )
            .map_err(sql("read changed vectors"))?
            .iter()
            .map(|r| {
                let start: Option<f64> = r.get(1);
                let end: Option<f64> = r.get(2);
                let bytes: &[u8] = r.get(5);
                SharedVector {
                    point: PointId(r.get(0)),
                    span: start.zip(end),
                    model: r.get(3),
                    pipeline: r.get(4),
                    data: bytes
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                }
            })
            .collect();
        let mut removed_files = Vec::new();
        let mut removed_points = Vec::new();
        for r in tx
            .query(
                "SELECT kind, id FROM hark_tombstones WHERE change >= $1 ORDER BY change, id",
                &[&since.0],
            )
            .map_err(sql("read removals"))?
        {
            match r.get::<_, &str>(0) {
                "file" => removed_files.push(FileId(r.get(1))),
                _ => removed_points.push(PointId(r.get(1))),
            }
        }
        tx.commit().map_err(sql("end a change read"))?;
        Ok(Changes {
            roots,
            files,
            vectors,
            removed_files,
            removed_points,
            next: Position(next),
        })
    }
}
