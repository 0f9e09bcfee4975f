//! The vector sequence (schema version 2): every write of a vector takes
//! the next number of a counter, and every delete leaves a numbered
//! tombstone, both by trigger, so no code path can change a vector without
//! the sequence moving. A reader that remembers the number it last saw
//! learns exactly which points changed since; this is how the ANN cache
//! stays a rebuildable copy of the catalog (see `index-format.md`, "The
//! vector sequence").

use rusqlite::params;

use crate::{Catalog, Error, PointId, Result, Tx};

impl Catalog {
    /// Drops tombstones numbered `through` or below, recording first that
    /// they are gone, so a reader whose snapshot predates them knows to
    /// reload in full instead of trusting an incomplete list.
    pub(crate) fn prune_tombstones(&self, through: i64) -> Result<()> {
        let sqlite = |what| {
            let path = self.path.clone();
            move |source| Error::sqlite(&path, what, source)
        };
        if !self.writable {
            return Err(Error::ReadOnly {
                path: self.path.clone(),
                what: "prune vector tombstones",
            });
        }
        // `&self` cannot use `transaction`; and no `Tx` can be alive here,
        // since `transaction` borrows the catalog mutably.
        self.conn
            .execute_batch(&format!(
                "BEGIN IMMEDIATE;
                 UPDATE vector_seq SET pruned_through = max(pruned_through, {through}) WHERE id = 0;
                 DELETE FROM vector_tombstones WHERE seq <= {through};
                 COMMIT;"
            ))
            .inspect_err(|_| {
                let _ = self.conn.execute_batch("ROLLBACK");
            })
            .map_err(sqlite("prune vector tombstones"))
    }
}

impl Tx<'_> {
    /// The vector sequence: the last number handed out, and the number
    /// through which tombstones were pruned (see `index-format.md`).
    pub(crate) fn seq_state(&self) -> Result<(i64, i64)> {
        self.conn
            .query_row(
                "SELECT last, pruned_through FROM vector_seq WHERE id = 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.err("read the vector sequence"))
    }

    /// How many vectors `model` made under `pipeline`, and how many of
    /// them have a sequence number above `after`.
    ///
    /// Here and in [`Tx::vectors_after`], `+model` keeps SQLite from
    /// answering `seq > ?` through the `(model, pipeline)` index, which
    /// visits every vector row (2 KB each: 0.7 s at 100k vectors) to find
    /// the few above `after`; `vectors_seq` visits only those.
    pub(crate) fn count_vectors(
        &self,
        model: &str,
        pipeline: &str,
        after: i64,
    ) -> Result<(usize, usize)> {
        const WHAT: &str = "count vectors";
        let total: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM vectors WHERE model = ?1 AND pipeline = ?2")
            .and_then(|mut s| s.query_row(params![model, pipeline], |r| r.get(0)))
            .map_err(self.err(WHAT))?;
        let newer: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM vectors WHERE seq > ?3 AND +model = ?1 AND +pipeline = ?2",
            )
            .and_then(|mut s| s.query_row(params![model, pipeline, after], |r| r.get(0)))
            .map_err(self.err(WHAT))?;
        Ok((total as usize, newer as usize))
    }

    /// Calls `f` with every vector of `model`/`pipeline` whose sequence
    /// number is above `after`, in sequence order.
    pub(crate) fn vectors_after(
        &self,
        model: &str,
        pipeline: &str,
        after: i64,
        f: impl FnMut(PointId, &[f32]),
    ) -> Result<()> {
        const WHAT: &str = "read new vectors";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT point, dim, data FROM vectors
                 WHERE seq > ?3 AND +model = ?1 AND +pipeline = ?2 ORDER BY seq",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query(params![model, pipeline, after])
            .map_err(self.err(WHAT))?;
        self.each_vector(rows, WHAT, f)
    }

    /// Points whose vector (of any model) was written or deleted after
    /// sequence number `after`: every vector an index built at `after`
    /// holds for them is out of date. Sorted, without duplicates.
    pub(crate) fn vectors_changed_after(&self, after: i64) -> Result<Vec<PointId>> {
        const WHAT: &str = "list changed vectors";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT point FROM vectors WHERE seq > ?1
                 UNION ALL SELECT point FROM vector_tombstones WHERE seq > ?1",
            )
            .map_err(self.err(WHAT))?;
        let rows = stmt
            .query_map([after], |r| r.get(0).map(PointId))
            .map_err(self.err(WHAT))?;
        let mut ids: Vec<PointId> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(self.err(WHAT))?;
        // Sorted here: an ORDER BY or UNION in SQL makes SQLite scan the
        // whole vectors table instead of the few rows above `after`.
        ids.sort_unstable_by_key(|id| id.0);
        ids.dedup();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileId, MomentVector};

    #[test]
    fn version_2_vectors_and_tombstones_become_whole_file_points() {
        let dir = tempfile::tempdir().unwrap();
        let v = |x: f32| -> Vec<u8> { [x, 0.0].iter().flat_map(|f| f.to_le_bytes()).collect() };
        {
            let conn = Catalog::create_at_version(dir.path(), 2).unwrap();
            conn.execute_batch(
                "INSERT INTO roots (id, path, added_at) VALUES (1, CAST('/lib' AS BLOB), 1);
                 INSERT INTO files (id, root_id, path, path_text, size, mtime_ns, status, indexed_at)
                 VALUES (5, 1, CAST('/lib/a.wav' AS BLOB), '/lib/a.wav', 1, 1, 'ok', 1),
                        (9, 1, CAST('/lib/b.wav' AS BLOB), '/lib/b.wav', 1, 1, 'ok', 1);",
            )
            .unwrap();
            for (id, x) in [(5, 1.0f32), (9, 2.0), (7, 3.0)] {
                if id == 7 {
                    conn.execute_batch(
                        "INSERT INTO files (id, root_id, path, path_text, size, mtime_ns, status, indexed_at)
                         VALUES (7, 1, CAST('/lib/c.wav' AS BLOB), '/lib/c.wav', 1, 1, 'ok', 1)",
                    )
                    .unwrap();
                }
                conn.execute(
                    "INSERT INTO vectors (file_id, model, pipeline, dim, data) VALUES (?1, 'm', 'p', 2, ?2)",
                    params![id, v(x)],
                )
                .unwrap();
            }
            conn.execute("DELETE FROM files WHERE id = 7", []).unwrap();
        }
        let mut catalog = Catalog::open(dir.path()).unwrap();
        let mut got = Vec::new();
        catalog
            .vectors("m", "p", |id, v| got.push((id, v.to_vec())))
            .unwrap();
        assert_eq!(
            got,
            vec![
                (PointId::whole(FileId(5)), vec![1.0, 0.0]),
                (PointId::whole(FileId(9)), vec![2.0, 0.0])
            ]
        );
        let (last, _) = catalog.read(|tx| tx.seq_state()).unwrap();
        let changed = catalog.read(|tx| tx.vectors_changed_after(0)).unwrap();
        assert!(changed.contains(&PointId::whole(FileId(7))), "{changed:?}");
        // The triggers number moments too, and a file's removal takes them.
        let moment = MomentVector {
            start_s: 10.0,
            end_s: 20.0,
            data: vec![0.0, 1.0],
        };
        catalog
            .transaction(|tx| tx.set_moments(FileId(5), "m", "p", &[moment.clone(), moment]))
            .unwrap();
        let moments = catalog.read(|tx| tx.moments(FileId(5), "m", "p")).unwrap();
        assert_eq!(
            moments,
            vec![
                (PointId::new(FileId(5), 1), 10.0, 20.0),
                (PointId::new(FileId(5), 2), 10.0, 20.0)
            ]
        );
        let after = catalog.read(|tx| tx.vectors_changed_after(last)).unwrap();
        assert_eq!(after, vec![moments[0].0, moments[1].0]);
        assert_eq!(catalog.counts().unwrap().embedded, 2);
        catalog
            .transaction(|tx| tx.remove_files(&[FileId(5)]))
            .unwrap();
        let (last2, _) = catalog.read(|tx| tx.seq_state()).unwrap();
        let gone = catalog
            .read(|tx| tx.vectors_changed_after(last2 - 3))
            .unwrap();
        assert_eq!(
            gone,
            vec![PointId::whole(FileId(5)), moments[0].0, moments[1].0]
        );
    }
}
