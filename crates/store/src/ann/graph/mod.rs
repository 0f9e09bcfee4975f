//! hark's own graph file, `ann-<g>.graph`: written once after a build,
//! then memory-mapped and searched in place by every reader.
//!
//! hnsw_rs builds the graph, but a reader does not use hnsw_rs: its loader
//! deserialises every point and neighbour list into separate allocations
//! (3.9 s for 100k vectors, seconds more per million), and no crate offers
//! a zero-copy view of an hnsw_rs graph. So the build exports the graph into
//! flat little-endian arrays (point ids, vectors, one CSR adjacency per
//! level) and the search is hand-written over them: greedy descent through
//! the upper levels, then a beam search of width `ef` on level 0, the same
//! algorithm hnsw_rs runs. Opening is a map, a hash of the small sections
//! and a validation pass: milliseconds.
//!
//! `index-format.md` ("The graph file") gives the layout byte by byte.
//! Everything read from the file is checked before use: [`MappedGraph::open`]
//! rejects a file whose header, sizes, ids or adjacency are inconsistent,
//! with the reason, and the search reads every index through bounds-checked
//! accessors as well, so a damaged file gives wrong results at worst, never
//! a panic or undefined behaviour. The vectors are not hashed on open (they
//! are most of the file); a damaged vector changes scores, nothing else.
//!
//! # The parts
//!
//! - `surgery`: [`Graph`], the graph in memory in the file's terms, and
//!   the edits the build makes to it (reverse edges, orphans last).
//! - `format`: the layout, constants and [`Written`] (what the manifest
//!   records), and the parser that checks a mapped file and types it.
//! - `write`: [`write_file`], a [`Graph`] and its vectors into a new file.
//! - `search`: the HNSW search over a parsed file.
//! - `mapped`: [`MappedGraph`], a file mapped, checked and searched.
//!
//! Each depends only on those above it in this list (`mapped` uses
//! `surgery` only in a test), so none of them imports another that imports
//! it back.

mod format;
mod mapped;
mod search;
mod surgery;
mod write;

#[cfg(test)]
mod tests;

pub(crate) use format::Written;
pub(crate) use mapped::{score_rows, MappedGraph};
pub(crate) use surgery::{Csr, Graph};
pub(crate) use write::write_file;
