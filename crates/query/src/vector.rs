//! Nearest vectors: the [`VectorIndex`] trait the engine searches through,
//! and [`ExactIndex`], an exact scan over every vector in memory.
//!
//! The exact scan is the right tool for small libraries (under ~20k files it
//! is as fast as an approximate index and never misses), and the reference
//! an approximate index is checked against. An ANN index (HNSW) plugs in
//! behind the same trait for large ones (see [`crate::Engine::open_with`]).

use hark_store::{Catalog, FileId};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// A searchable set of unit vectors, one per file.
pub trait VectorIndex: Send + Sync {
    /// The `k` files whose vectors are most similar to `query` (cosine:
    /// the dot product of unit vectors, higher is closer), best first, with
    /// their similarity. Only files for which `allow` returns true are
    /// considered (all if `None`). `query` has [`VectorIndex::dim`]
    /// components.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(FileId) -> bool>,
    ) -> Result<Vec<(FileId, f32)>>;

    /// The stored vector of a file, if the index has one.
    fn vector(&self, id: FileId) -> Option<Vec<f32>>;

    /// How many vectors the index holds.
    fn len(&self) -> usize;

    /// Whether the index holds no vector.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of components of each vector (0 for an empty index).
    fn dim(&self) -> usize;
}

/// hark-store's [`VectorSearcher`](hark_store::ann::VectorSearcher): the
/// HNSW graph of the ANN cache when the index has one (from 20,000
/// vectors), with stale entries dropped and newer vectors scanned exactly;
/// an exact scan otherwise. What [`crate::Engine::open`] uses.
pub struct AnnIndex(pub hark_store::ann::VectorSearcher);

impl VectorIndex for AnnIndex {
    fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(FileId) -> bool>,
    ) -> Result<Vec<(FileId, f32)>> {
        Ok(self.0.search(query, k, allow)?)
    }

    fn vector(&self, id: FileId) -> Option<Vec<f32>> {
        self.0.vector(id)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn dim(&self) -> usize {
        self.0.dim()
    }
}

/// Every vector of one model in one contiguous matrix, searched by an
/// exact scan.
#[derive(Debug, Clone, Default)]
pub struct ExactIndex {
    /// File ids, ascending (row `i` of `data` is `ids[i]`'s vector).
    ids: Vec<FileId>,
    dim: usize,
    /// `ids.len() × dim` components, row-major.
    data: Vec<f32>,
}

/// Rows scored per parallel task: enough work to amortise the task, small
/// enough that two cores share a scan of a few thousand vectors.
const ROWS_PER_TASK: usize = 2048;

impl ExactIndex {
    /// Reads every vector `model` made under `pipeline` from the catalog,
    /// in one snapshot.
    pub fn load(catalog: &Catalog, model: &str, pipeline: &str) -> Result<ExactIndex> {
        let mut index = ExactIndex::default();
        let mut bad_dim: Option<(FileId, usize)> = None;
        catalog.vectors(model, pipeline, |id, v| {
            if index.ids.is_empty() {
                index.dim = v.len();
            }
            if v.len() != index.dim {
                bad_dim.get_or_insert((id, v.len()));
                return;
            }
            index.ids.push(id);
            index.data.extend_from_slice(v);
        })?;
        if let Some((id, found)) = bad_dim {
            return Err(hark_store::Error::Corrupt {
                path: catalog.path().to_owned(),
                what: format!(
                    "the vector of file {} has {found} components, others have {}",
                    id.0, index.dim
                ),
            }
            .into());
        }
        Ok(index)
    }

    /// An index of these vectors (any order of ids; each of length `dim`).
    pub fn from_vectors(
        dim: usize,
        vectors: impl IntoIterator<Item = (FileId, Vec<f32>)>,
    ) -> Result<ExactIndex> {
        let mut rows: Vec<(FileId, Vec<f32>)> = vectors.into_iter().collect();
        rows.sort_by_key(|(id, _)| *id);
        let mut index = ExactIndex {
            ids: Vec::with_capacity(rows.len()),
            dim,
            data: Vec::with_capacity(rows.len() * dim),
        };
        for (id, v) in rows {
            if v.len() != dim {
                return Err(Error::Dimension {
                    expected: dim,
                    found: v.len(),
                });
            }
            index.ids.push(id);
            index.data.extend_from_slice(&v);
        }
        Ok(index)
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

impl VectorIndex for ExactIndex {
    fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(FileId) -> bool>,
    ) -> Result<Vec<(FileId, f32)>> {
        if k == 0 || self.ids.is_empty() || query.len() != self.dim {
            return Ok(Vec::new());
        }
        // `allow` need not be Sync, so it is asked here, once per file,
        // before the parallel scan.
        let mask: Option<Vec<bool>> = allow.map(|f| self.ids.iter().map(|&id| f(id)).collect());
        let mut best: Vec<(f32, u32)> = self
            .data
            .par_chunks(ROWS_PER_TASK * self.dim)
            .enumerate()
            .flat_map_iter(|(task, chunk)| {
                let first = task * ROWS_PER_TASK;
                let mut scored: Vec<(f32, u32)> = chunk
                    .chunks_exact(self.dim)
                    .enumerate()
                    .filter(|(i, _)| mask.as_ref().is_none_or(|m| m[first + i]))
                    .map(|(i, row)| (dot(query, row), (first + i) as u32))
                    .collect();
                top_k(&mut scored, k);
                scored
            })
            .collect();
        top_k(&mut best, k);
        Ok(best
            .into_iter()
            .map(|(score, i)| (self.ids[i as usize], score))
            .collect())
    }

    fn vector(&self, id: FileId) -> Option<Vec<f32>> {
        let i = self.ids.binary_search(&id).ok()?;
        Some(self.row(i).to_vec())
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn dim(&self) -> usize {
        self.dim
    }
}

/// Keeps the `k` highest scores of `scored`, sorted best first (ties: lower
/// row first, so results are deterministic).
fn top_k(scored: &mut Vec<(f32, u32)>, k: usize) {
    let better = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if scored.len() > k {
        scored.select_nth_unstable_by(k - 1, better);
        scored.truncate(k);
    }
    scored.sort_unstable_by(better);
}

/// The dot product. Eight independent sums let the compiler keep them in
/// vector registers (a single running sum is a serial dependency chain the
/// optimiser may not reorder for floats).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 8];
    let (ca, ra) = a.as_chunks::<8>();
    let (cb, rb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Scales `v` to unit length (left as is if it is all zeros).
pub fn normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random unit vectors (xorshift).
    fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                let mut v: Vec<f32> = (0..dim)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
                    })
                    .collect();
                normalize(&mut v);
                v
            })
            .collect()
    }

    #[test]
    fn dot_matches_a_plain_sum() {
        for len in [0, 1, 7, 8, 9, 31, 512] {
            let v = vectors(2, len.max(1), 3);
            let (a, b) = (&v[0][..len], &v[1][..len]);
            let plain: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(a, b) as f64 - plain).abs() < 1e-5, "len {len}");
        }
    }

    #[test]
    fn search_equals_brute_force_across_task_boundaries() {
        // More rows than one task holds, ids not contiguous.
        let n = ROWS_PER_TASK * 2 + 77;
        let dim = 24;
        let rows = vectors(n, dim, 7);
        let index = ExactIndex::from_vectors(
            dim,
            rows.iter()
                .enumerate()
                .map(|(i, v)| (FileId(3 * i as i64 + 1), v.clone())),
        )
        .unwrap();
        let query = &vectors(1, dim, 99)[0];
        let mut brute: Vec<(FileId, f32)> = rows
            .iter()
            .enumerate()
            .map(|(i, v)| (FileId(3 * i as i64 + 1), dot(query, v)))
            .collect();
        brute.sort_by(|a, b| b.1.total_cmp(&a.1));
        for k in [1, 10, 100] {
            let got = index.search(query, k, None).unwrap();
            assert_eq!(got, brute[..k], "k = {k}");
        }
        // With a filter: only even ids.
        let allow = |id: FileId| id.0 % 2 == 0;
        let got = index.search(query, 15, Some(&allow)).unwrap();
        let expected: Vec<(FileId, f32)> = brute
            .iter()
            .filter(|(id, _)| allow(*id))
            .take(15)
            .copied()
            .collect();
        assert_eq!(got, expected);
        // k beyond the allowed set returns all of it.
        let few = |id: FileId| id.0 < 10;
        assert_eq!(index.search(query, 50, Some(&few)).unwrap().len(), 3);
        // A query of the wrong dimension finds nothing rather than panicking.
        assert!(index.search(&[1.0], 5, None).unwrap().is_empty());
    }

    #[test]
    fn vector_lookup() {
        let rows = vectors(5, 8, 1);
        let index = ExactIndex::from_vectors(
            8,
            rows.iter()
                .enumerate()
                .rev()
                .map(|(i, v)| (FileId(10 + i as i64), v.clone())),
        )
        .unwrap();
        assert_eq!(index.len(), 5);
        assert_eq!(index.dim(), 8);
        assert_eq!(index.vector(FileId(12)).as_deref(), Some(&rows[2][..]));
        assert_eq!(index.vector(FileId(9)), None);
        assert!(matches!(
            ExactIndex::from_vectors(8, [(FileId(1), vec![0.0; 3])]),
            Err(Error::Dimension {
                expected: 8,
                found: 3
            })
        ));
    }
}
