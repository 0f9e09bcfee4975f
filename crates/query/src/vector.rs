//! Nearest vectors: the [`VectorIndex`] trait the engine searches through,
//! and [`AnnIndex`], the store's searcher behind it.
//!
//! [`dot`] and [`normalize`] are hark-store's kernel (SIMD, chosen by what
//! the CPU supports), re-exported: the query arithmetic and the search
//! score vectors with the same code.
//!
//! A file has a whole-file vector and, when long, one vector per moment;
//! each is a point ([`PointId`]). Searches return files, each as its
//! nearest point, so a moment inside a long file can be the hit.

use hark_store::ann::Allow;
pub use hark_store::ann::{dot, normalize};
use hark_store::{FileId, PointId};

use crate::error::Result;

/// A searchable set of unit vectors: whole files and moments of them.
pub trait VectorIndex: Send + Sync {
    /// The `k` files with a point most similar to `query` (cosine: the dot
    /// product of unit vectors, higher is closer), best first, each as its
    /// most similar point and that similarity. Only files `allow` passes
    /// are considered (all if `None`). `query` has [`VectorIndex::dim`]
    /// components.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<Allow<'_>>,
    ) -> Result<Vec<(PointId, f32)>>;

    /// The stored whole-file vector of a file, if the index has one.
    fn vector(&self, id: FileId) -> Option<Vec<f32>> {
        self.point_vector(PointId::whole(id))
    }

    /// The stored vector of a point (a whole file or a moment).
    fn point_vector(&self, point: PointId) -> Option<Vec<f32>>;

    /// How many vectors the index holds.
    fn len(&self) -> usize;

    /// Whether the index holds no vector.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of components of each vector (0 for an empty index).
    fn dim(&self) -> usize;

    /// Readies the index so that the first searches are as fast as later
    /// ones (e.g. maps a file's pages), where that is worth doing; for a
    /// background thread. An index with nothing to ready does nothing.
    fn prefault(&self) {}
}

/// hark-store's [`VectorSearcher`](hark_store::ann::VectorSearcher): the
/// HNSW graph of the ANN cache when the index has one (from 20,000
/// vectors), with stale entries dropped and newer vectors scanned exactly;
/// an exact scan otherwise. What [`crate::Engine::open`] uses; any other
/// index plugs in with [`crate::Engine::open_with`].
pub struct AnnIndex(pub hark_store::ann::VectorSearcher);

impl VectorIndex for AnnIndex {
    fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<Allow<'_>>,
    ) -> Result<Vec<(PointId, f32)>> {
        Ok(self.0.search(query, k, allow)?)
    }

    fn point_vector(&self, point: PointId) -> Option<Vec<f32>> {
        self.0.point_vector(point)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn dim(&self) -> usize {
        self.0.dim()
    }

    fn prefault(&self) {
        self.0.prefault();
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
}
