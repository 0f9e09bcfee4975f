//! Vectors held by content hash after a repair: the readable vectors of
//! files whose row was lost in a damaged catalog. A repair
//! ([`crate::salvage::repair`]) cannot give them a file row (path, root and
//! metadata were on the lost page), but it can still read each lost row's
//! content hash from the `files_content_hash` index, whose pages are apart
//! from the table's. The vectors wait in `held_vectors` under that hash;
//! when the run that follows finds the file again (same bytes, same hash),
//! [`Tx::claim_held`] gives them to its new row, so the file is read for its
//! metadata and waveform but not embedded again. What is not claimed by the
//! end of a complete run is dropped ([`Tx::drop_held`]).

use std::collections::HashMap;

use rusqlite::OptionalExtension;

use crate::{Catalog, FileId, PointId, Result, Tx};

/// The table, created by a repair (never by a migration: an index that was
/// never repaired does not have it, and older builds ignore it).
pub(crate) const CREATE: &str = "
CREATE TABLE IF NOT EXISTS held_vectors (
    content_hash BLOB NOT NULL,
    segment      INTEGER NOT NULL CHECK (segment >= 0 AND segment < 1048576),
    start_s      REAL,
    end_s        REAL,
    model        TEXT NOT NULL,
    pipeline     TEXT NOT NULL,
    dim          INTEGER NOT NULL,
    data         BLOB NOT NULL CHECK (length(data) = 4 * dim),
    PRIMARY KEY (content_hash, segment)
) WITHOUT ROWID;
";

/// What is held for one content hash: a whole-file vector and these
/// moments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    /// Moment vectors held (segments 1 to `moments`, none missing).
    pub moments: u32,
    /// Where the last held moment ends, in seconds.
    pub last_end_s: Option<f64>,
}

impl Catalog {
    /// [`Tx::holds_vectors`] in its own snapshot.
    pub fn holds_vectors(&self) -> Result<bool> {
        self.read(|tx| tx.holds_vectors())
    }

    /// [`Tx::held_vectors`] in its own snapshot.
    pub fn held_vectors(&self, model: &str, pipeline: &str) -> Result<HashMap<Vec<u8>, Held>> {
        self.read(|tx| tx.held_vectors(model, pipeline))
    }
}

impl Tx<'_> {
    /// The content hashes with held vectors of `model` under `pipeline`
    /// that a file can be given: a whole-file vector, and moments numbered
    /// from 1 without a gap. Empty when nothing is held.
    pub fn held_vectors(&self, model: &str, pipeline: &str) -> Result<HashMap<Vec<u8>, Held>> {
        const WHAT: &str = "list held vectors";
        if !self.holds_vectors()? {
            return Ok(HashMap::new());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT content_hash, sum(segment = 0), sum(segment > 0), max(segment),
                        max(CASE WHEN segment > 0 THEN end_s END)
                 FROM held_vectors WHERE model = ?1 AND pipeline = ?2
                 GROUP BY content_hash",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([model, pipeline], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                ))
            })
            .map_err(self.err(WHAT))?;
        let mut held = HashMap::new();
        for row in rows {
            let (hash, whole, moments, last, last_end_s) = row.map_err(self.err(WHAT))?;
            if whole == 1 && moments == last {
                let moments = u32::try_from(moments).unwrap_or(0);
                held.insert(
                    hash,
                    Held {
                        moments,
                        last_end_s,
                    },
                );
            }
        }
        Ok(held)
    }

    /// Gives the vectors held under `hash` (of `model` under `pipeline`) to
    /// file `id`, replacing any it has, and lets go of that hash; a file
    /// waiting for its vector becomes [`FileStatus::Ok`](crate::FileStatus::Ok).
    /// Returns how many vectors it was given (0 when none were held).
    pub fn claim_held(&self, id: FileId, hash: &[u8], model: &str, pipeline: &str) -> Result<u64> {
        const WHAT: &str = "give held vectors to a file";
        self.check_writable(WHAT)?;
        if !self.holds_vectors()? {
            return Ok(0);
        }
        self.conn
            .prepare_cached("DELETE FROM vectors WHERE file_id = ?1")
            .and_then(|mut s| s.execute([id.0]))
            .map_err(self.err(WHAT))?;
        let claimed = self
            .conn
            .prepare_cached(
                "INSERT INTO vectors (point, file_id, segment, start_s, end_s, model, pipeline,
                                      dim, data)
                 SELECT ?1 + segment, ?2, segment, start_s, end_s, model, pipeline, dim, data
                 FROM held_vectors
                 WHERE content_hash = ?3 AND model = ?4 AND pipeline = ?5
                 ORDER BY segment",
            )
            .and_then(|mut s| {
                s.execute(rusqlite::params![
                    PointId::whole(id).0,
                    id.0,
                    hash,
                    model,
                    pipeline
                ])
            })
            .map_err(self.err(WHAT))?;
        self.conn
            .prepare_cached("DELETE FROM held_vectors WHERE content_hash = ?1")
            .and_then(|mut s| s.execute([hash]))
            .map_err(self.err(WHAT))?;
        if claimed > 0 {
            self.conn
                .prepare_cached(
                    "UPDATE files SET status = 'ok', error = NULL
                     WHERE id = ?1 AND status = 'waiting'",
                )
                .and_then(|mut s| s.execute([id.0]))
                .map_err(self.err(WHAT))?;
        }
        Ok(claimed as u64)
    }

    /// Drops what is still held: the files it belonged to were not found
    /// again by a complete run.
    pub fn drop_held(&self) -> Result<()> {
        const WHAT: &str = "drop held vectors";
        self.check_writable(WHAT)?;
        self.conn
            .execute_batch("DROP TABLE IF EXISTS held_vectors")
            .map_err(self.err(WHAT))
    }

    /// Whether a repair left held vectors (the `held_vectors` table).
    pub fn holds_vectors(&self) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'held_vectors'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(self.err("look for held vectors"))
    }
}
