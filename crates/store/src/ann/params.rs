//! The numbers that decide when a graph is kept and how it is built and
//! searched, each chosen by measurement (docs/benchmarks.md).

/// Below this many vectors of a model, search scans them exactly (it is
/// then about as fast as the graph, and exact), and no graph is kept.
pub const EXACT_THRESHOLD: usize = 20_000;

/// A graph is rebuilt when its stale entries plus the vectors added since
/// exceed this fraction of its size.
pub const REBUILD_FRACTION: f64 = 0.15;

/// hnsw_rs `max_nb_connection` (M): edges per point in the upper layers,
/// twice that in layer 0. Chosen by measurement (docs/benchmarks.md).
pub const MAX_NB_CONNECTION: usize = 32;

/// hnsw_rs `ef_construction`: the candidate list while inserting.
/// Chosen by measurement (docs/benchmarks.md).
pub const EF_CONSTRUCTION: usize = 100;

/// The candidate list of a search (at least k). Chosen by measurement for
/// recall@10 ≥ 0.98 on dense clusters (docs/benchmarks.md: 200k vectors
/// in 40 clusters, 0.978 at 64, 0.9975 at 128, p50 ~1 ms either way).
pub const EF_SEARCH: usize = 128;

/// The parameters of a graph build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnParams {
    /// hnsw_rs `max_nb_connection` (M), 2 to 255.
    pub max_nb_connection: usize,
    /// hnsw_rs `ef_construction`, at least 1.
    pub ef_construction: usize,
}

impl Default for AnnParams {
    /// [`MAX_NB_CONNECTION`] and [`EF_CONSTRUCTION`].
    fn default() -> Self {
        AnnParams {
            max_nb_connection: MAX_NB_CONNECTION,
            ef_construction: EF_CONSTRUCTION,
        }
    }
}
