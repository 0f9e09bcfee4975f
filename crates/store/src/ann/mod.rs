//! Nearest-neighbour search over the catalog's vectors: an HNSW graph kept
//! beside the catalog as a rebuildable cache, and the searcher that search
//! and the UI use.
//!
//! # Brief overview
//!
//! The catalog numbers every vector write and delete (the vector sequence,
//! schema version 2). A graph records the highest number it covers, so at
//! any later moment the catalog says what changed since: the *delta* (its
//! model's vectors numbered above the graph's) and the *stale* ids (graph
//! entries whose vector was rewritten or deleted since). A graph cannot
//! delete, so stale entries are filtered out of results and the delta is
//! scanned exactly, until [`refresh_ann`] rebuilds the graph.
//!
//! [`refresh_ann`] is the writer's side, called by the indexer after each
//! run: it builds a graph once a model has [`EXACT_THRESHOLD`] vectors,
//! rebuilds it when more than [`REBUILD_FRACTION`] of it is stale or new, or
//! when the model or pipeline changed, and otherwise keeps it. hnsw_rs
//! builds the graph in memory; hark then exports it into its own file
//! format (the `mapped` module), which readers memory-map and search in
//! place, so opening a graph costs milliseconds rather than the seconds
//! hnsw_rs's loader takes. The file is published by temporary name, fsync
//! and rename (see the `files` module and `index-format.md`), so a reader
//! never sees a half-written graph.
//!
//! [`VectorSearcher`] is the reader's side. Its base is the mapped graph
//! when there is one, else a contiguous matrix of the vectors scanned
//! exactly. It answers top-k queries by cosine (the vectors are unit
//! length, so the dot product), with an optional predicate, and
//! [`VectorSearcher::reload_if_changed`] lets a long-lived UI pick up a new
//! graph and new vectors without a restart.
//!
//! # hnsw_rs and stdout
//!
//! hnsw_rs prints to stdout in some paths, which would corrupt a terminal
//! UI. hark only builds with it: it never calls `modify_level_scale` (it
//! prints on every call), `dump_layer_info` or `Point::debug_dump`, passes
//! `max_nb_connection` ≤ 256 (above, `Hnsw::new` prints and exits), and
//! uses neither its dump nor its loader.
//!
//! # The orphan guard
//!
//! HNSW insertion can leave a point that no edge leads to (hnsw_rs issues
//! #32 and #37; 0.3.5 carries the layer fix from #37, but pruning can still
//! drop every in-edge of a point, in parallel or sequential builds). After
//! a build, hark walks the exported graph from its entry point along every
//! level's edges; points it does not reach are orphans: the file keeps
//! them after the others and the manifest lists them, and readers scan them
//! exactly, so they are never lost. The recall test (`tests/ann.rs`) checks
//! the graph as a whole.

mod build;
mod files;
mod kernel;
mod mapped;
mod searcher;

pub use build::{refresh_ann, refresh_ann_with, AnnAction, AnnRefresh};
pub use kernel::{dot, UnitDot};
pub use searcher::{Allow, SearchMode, VectorSearcher};

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
