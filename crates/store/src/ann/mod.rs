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
//! format (the `graph` module), which readers memory-map and search in
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
//!
//! # The parts
//!
//! - `params`: the thresholds and graph parameters ([`EXACT_THRESHOLD`],
//!   [`AnnParams`], ...).
//! - `kernel`: [`dot`] and [`normalize`], the one dot-product kernel of
//!   hark (SIMD, picked by what the CPU supports; hark-query calls it too),
//!   and [`UnitDot`], the graph's distance.
//! - `top_k`: the result list of a search, one place per file.
//! - `graph`: the graph file: its layout, writer, parser, surgery and
//!   search.
//! - `files`: the cache on disk: manifest, file names, publishing and
//!   retiring generations, pinning a file while it is mapped.
//! - `build`: the writer's side, [`refresh_ann`].
//! - `searcher`: the reader's side, [`VectorSearcher`].
//!
//! Each uses only parts above it in this list, and this root only declares
//! and re-exports them.

mod build;
mod files;
mod graph;
mod kernel;
mod params;
mod searcher;
mod top_k;

pub use build::{refresh_ann, refresh_ann_with, AnnAction, AnnRefresh};
pub(crate) use files::unpublish;
pub use kernel::{dot, normalize, UnitDot};
pub use params::{
    AnnParams, EF_CONSTRUCTION, EF_SEARCH, EXACT_THRESHOLD, MAX_NB_CONNECTION, REBUILD_FRACTION,
};
pub use searcher::{Allow, SearchMode, VectorSearcher};
