//! The CLAP vectors of files: a file's whole-file vector and, for a long
//! file, one per moment, each a *point* ([`PointId`]) tagged with the model
//! and pipeline that made it. Writing and reading them is here; the vector
//! sequence that numbers every change for the ANN cache, and the tombstones
//! of deleted points, are in `sequence`.

use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};

use crate::paths::bytes_to_path;
use crate::{Catalog, FileId, Result, Tx};

mod sequence;

/// The id of one vector in the catalog, a *point* of the vector space: a
/// file's whole-file vector (segment 0) or one moment of a long file
/// (segment 1 on). It is `file_id * 2^20 + segment` (schema V3), so the
/// file of any point is known without a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PointId(pub i64);

impl PointId {
    /// Bits of a point id that hold the segment.
    pub const SEGMENT_BITS: u32 = 20;
    /// Segments a file can have, the whole-file one included.
    pub const MAX_SEGMENTS: u32 = 1 << Self::SEGMENT_BITS;

    /// The point of a file's whole-file vector.
    pub fn whole(file: FileId) -> PointId {
        PointId(file.0 << Self::SEGMENT_BITS)
    }

    /// The point of segment `segment` of `file` (0 is the whole file).
    /// `segment` must be below [`PointId::MAX_SEGMENTS`].
    pub fn new(file: FileId, segment: u32) -> PointId {
        debug_assert!(segment < Self::MAX_SEGMENTS);
        PointId((file.0 << Self::SEGMENT_BITS) | i64::from(segment & (Self::MAX_SEGMENTS - 1)))
    }

    /// The file the point belongs to.
    pub fn file(self) -> FileId {
        FileId(self.0 >> Self::SEGMENT_BITS)
    }

    /// Its segment: 0 for the whole file, from 1 for a moment.
    pub fn segment(self) -> u32 {
        (self.0 & i64::from(Self::MAX_SEGMENTS - 1)) as u32
    }

    /// Whether this is a moment rather than the whole file.
    pub fn is_moment(self) -> bool {
        self.segment() != 0
    }
}

/// The vector of one moment of a long file: the stretch from `start_s` to
/// `end_s` seconds, embedded on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentVector {
    /// Where the moment starts, in seconds from the start of the file.
    pub start_s: f64,
    /// Where it ends.
    pub end_s: f64,
    /// Its vector.
    pub data: Vec<f32>,
}

/// A stored vector with the identity of what made it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVector {
    /// Model identity (hub id and revision, or directory).
    pub model: String,
    /// Embedding pipeline version (`hark-clap-1`).
    pub pipeline: String,
    /// The vector.
    pub data: Vec<f32>,
}

impl Catalog {
    /// [`Tx::files_waiting_for_vectors`] in its own snapshot.
    pub fn files_waiting_for_vectors(
        &self,
        model: &str,
        pipeline: &str,
    ) -> Result<Vec<(FileId, PathBuf)>> {
        self.read(|tx| tx.files_waiting_for_vectors(model, pipeline))
    }

    /// [`Tx::vector`] in its own snapshot.
    pub fn vector(&self, id: FileId) -> Result<Option<StoredVector>> {
        self.read(|tx| tx.vector(id))
    }

    /// [`Tx::vectors`] in its own snapshot.
    pub fn vectors(
        &self,
        model: &str,
        pipeline: &str,
        f: impl FnMut(PointId, &[f32]),
    ) -> Result<()> {
        self.read(|tx| tx.vectors(model, pipeline, f))
    }
}

impl Tx<'_> {
    /// Stores a file's whole-file vector (replacing any), made by `model`
    /// under embedding `pipeline`, as little-endian f32; a file waiting for
    /// its vector becomes [`FileStatus::Ok`](crate::FileStatus::Ok).
    pub fn set_vector(
        &self,
        id: FileId,
        model: &str,
        pipeline: &str,
        vector: &[f32],
    ) -> Result<()> {
        const WHAT: &str = "store a vector";
        self.check_writable(WHAT)?;
        self.insert_point(PointId::whole(id), None, model, pipeline, vector, WHAT)?;
        self.conn
            .execute(
                "UPDATE files SET status = 'ok', error = NULL WHERE id = ?1 AND status = 'waiting'",
                [id.0],
            )
            .map_err(self.err(WHAT))?;
        Ok(())
    }

    /// Replaces the moment vectors of a file (segments 1 on, in the order
    /// given) with `moments`; an empty slice removes them. At most
    /// [`PointId::MAX_SEGMENTS`]` - 1` are kept.
    pub fn set_moments(
        &self,
        id: FileId,
        model: &str,
        pipeline: &str,
        moments: &[MomentVector],
    ) -> Result<()> {
        const WHAT: &str = "store moment vectors";
        self.check_writable(WHAT)?;
        self.conn
            .prepare_cached("DELETE FROM vectors WHERE file_id = ?1 AND segment > 0")
            .and_then(|mut s| s.execute([id.0]))
            .map_err(self.err(WHAT))?;
        let kept = moments.len().min(PointId::MAX_SEGMENTS as usize - 1);
        for (i, m) in moments[..kept].iter().enumerate() {
            let point = PointId::new(id, i as u32 + 1);
            let span = Some((m.start_s, m.end_s));
            self.insert_point(point, span, model, pipeline, &m.data, WHAT)?;
        }
        Ok(())
    }

    pub(crate) fn insert_point(
        &self,
        point: PointId,
        span: Option<(f64, f64)>,
        model: &str,
        pipeline: &str,
        vector: &[f32],
        what: &'static str,
    ) -> Result<()> {
        let data: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO vectors
                    (point, file_id, segment, start_s, end_s, model, pipeline, dim, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    point.0,
                    point.file().0,
                    point.segment(),
                    span.map(|s| s.0),
                    span.map(|s| s.1),
                    model,
                    pipeline,
                    vector.len() as i64,
                    data
                ])
            })
            .map_err(self.err(what))?;
        Ok(())
    }

    /// The moments of a file with a vector of `model` under `pipeline`:
    /// (point, start, end) in segment order.
    pub fn moments(
        &self,
        id: FileId,
        model: &str,
        pipeline: &str,
    ) -> Result<Vec<(PointId, f64, f64)>> {
        const WHAT: &str = "list moments";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT point, start_s, end_s FROM vectors
                 WHERE file_id = ?1 AND segment > 0 AND model = ?2 AND pipeline = ?3
                 ORDER BY segment",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map(params![id.0, model, pipeline], |r| {
                Ok((PointId(r.get(0)?), r.get(1)?, r.get(2)?))
            })
            .map_err(self.err(WHAT))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))
    }

    /// Where each of `points` starts in its file, in seconds: 0 for a
    /// whole-file point, the moment's start otherwise. Points not in the
    /// catalog are left out.
    pub fn point_starts(&self, points: &[PointId]) -> Result<Vec<(PointId, f64)>> {
        const WHAT: &str = "read moment starts";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT coalesce(start_s, 0) FROM vectors WHERE point = ?1")
            .map_err(self.err(WHAT))?;
        let mut out = Vec::with_capacity(points.len());
        for &p in points {
            let start: Option<f64> = stmt
                .query_row([p.0], |r| r.get(0))
                .optional()
                .map_err(self.err(WHAT))?;
            if let Some(start) = start {
                out.push((p, start));
            }
        }
        Ok(out)
    }

    /// A file's vector, whatever model made it.
    pub fn vector(&self, id: FileId) -> Result<Option<StoredVector>> {
        const WHAT: &str = "read a vector";
        let row: Option<(String, String, i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT model, pipeline, dim, data FROM vectors WHERE point = ?1",
                [PointId::whole(id).0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.err(WHAT))?;
        let Some((model, pipeline, dim, bytes)) = row else {
            return Ok(None);
        };
        let mut data = Vec::new();
        self.decode_vector(PointId::whole(id), dim, &bytes, &mut data)?;
        Ok(Some(StoredVector {
            model,
            pipeline,
            data,
        }))
    }

    fn decode_vector(&self, id: PointId, dim: i64, bytes: &[u8], out: &mut Vec<f32>) -> Result<()> {
        if dim < 0 || bytes.len() as u64 != 4 * dim as u64 {
            return Err(self.corrupt(format!(
                "vector {} (segment {} of file {}) has {} bytes for dimension {dim}",
                id.0,
                id.segment(),
                id.file().0,
                bytes.len()
            )));
        }
        out.clear();
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        Ok(())
    }

    /// Calls `f` with every vector made by `model` under `pipeline`, whole
    /// files and moments, in point order, without holding them all in
    /// memory.
    pub fn vectors(
        &self,
        model: &str,
        pipeline: &str,
        f: impl FnMut(PointId, &[f32]),
    ) -> Result<()> {
        const WHAT: &str = "read vectors";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT point, dim, data FROM vectors
                 WHERE model = ?1 AND pipeline = ?2 ORDER BY point",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query(params![model, pipeline])
            .map_err(self.err(WHAT))?;
        self.each_vector(rows, WHAT, f)
    }

    /// Calls `f` with each row of `(point, dim, data)` decoded.
    pub(crate) fn each_vector(
        &self,
        mut rows: rusqlite::Rows<'_>,
        what: &'static str,
        mut f: impl FnMut(PointId, &[f32]),
    ) -> Result<()> {
        let mut buf = Vec::new();
        while let Some(row) = rows.next().map_err(self.err(what))? {
            let id = PointId(row.get(0).map_err(self.err(what))?);
            let dim: i64 = row.get(1).map_err(self.err(what))?;
            let bytes = row
                .get_ref(2)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(self.err(what))?;
            self.decode_vector(id, dim, bytes, &mut buf)?;
            f(id, &buf);
        }
        Ok(())
    }

    /// Files that need a vector from `model` under `pipeline`: not failed,
    /// and without one (or with one from another model or pipeline).
    pub fn files_waiting_for_vectors(
        &self,
        model: &str,
        pipeline: &str,
    ) -> Result<Vec<(FileId, PathBuf)>> {
        const WHAT: &str = "list files waiting for vectors";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.id, f.path FROM files f
                 LEFT JOIN vectors v ON v.point = f.id * 1048576 AND v.model = ?1 AND v.pipeline = ?2
                 WHERE f.status != 'failed' AND v.point IS NULL ORDER BY f.id",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map(params![model, pipeline], |r| {
                Ok((FileId(r.get(0)?), bytes_to_path(r.get(1)?)))
            })
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

    /// Deletes every vector of a file (whole-file and moments), as when its
    /// content changed; `what` names the operation for an error.
    pub(crate) fn remove_vectors(&self, id: FileId, what: &'static str) -> Result<()> {
        self.conn
            .execute("DELETE FROM vectors WHERE file_id = ?1", [id.0])
            .map_err(self.err(what))?;
        Ok(())
    }
}
