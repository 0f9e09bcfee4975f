//! A graph file mapped into memory: opening it (size, checksum and
//! structure checked against the manifest), the accessors the searcher
//! reads ids and vectors through, the HNSW search with reused visited
//! marks, and the exact scoring of a range of its points.

use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

use memmap2::Mmap;

use super::format::{parse, View, Written, HEADER_BYTES};
use super::search::{nearest, Visited};
#[cfg(test)]
use super::surgery::{Csr, Graph};
use crate::ann::kernel::dot_rows;
use crate::ann::params::EF_SEARCH;
use crate::{Error, Result};

self_cell::self_cell!(
    struct MappedCell {
        owner: Mmap,
        #[covariant]
        dependent: View,
    }
);

/// A graph file mapped into memory and checked.
pub(crate) struct MappedGraph {
    cell: MappedCell,
    /// Reused visited marks, one per concurrent search.
    visited: Mutex<Vec<Visited>>,
}

impl MappedGraph {
    /// Maps the graph file `file` (at `path`, for messages) and checks it
    /// against what the manifest recorded (`expected`) and its vectors'
    /// dimension, then every structural invariant. Any mismatch is an
    /// [`Error::AnnCorrupt`] saying what is wrong.
    pub fn open(file: &File, path: &Path, expected: &Written, dim: usize) -> Result<MappedGraph> {
        let bad = |what: String| Error::AnnCorrupt {
            path: path.to_owned(),
            what,
        };
        if cfg!(target_endian = "big") {
            return Err(bad(
                "the graph file is little-endian and this machine is not".into(),
            ));
        }
        let len = file
            .metadata()
            .map_err(|source| Error::AnnIo {
                path: path.to_owned(),
                what: "stat",
                source,
            })?
            .len();
        if len != expected.bytes {
            return Err(bad(format!(
                "{len} bytes, the manifest says {}",
                expected.bytes
            )));
        }
        if expected.hashed_bytes > len || len < HEADER_BYTES {
            return Err(bad(format!(
                "{len} bytes is too short for a graph file (hashed prefix {})",
                expected.hashed_bytes
            )));
        }
        // SAFETY: the map is only sound while nobody changes the file.
        // hark never writes a published graph file: it is written under a
        // temporary name, fsynced and renamed into place, and retired by
        // unlinking, which leaves a mapped file's contents intact. Another
        // program truncating or rewriting the file in place would break
        // this (as it would for any mapped file); hark cannot prevent that.
        let map = unsafe { Mmap::map(file) }.map_err(|source| Error::AnnIo {
            path: path.to_owned(),
            what: "map",
            source,
        })?;
        if map.len() as u64 != len {
            return Err(bad("the file changed size while being mapped".into()));
        }
        let hash = blake3::hash(&map[..expected.hashed_bytes as usize]);
        if hash.to_hex().as_str() != expected.blake3 {
            return Err(bad(
                "header, ids or adjacency do not match their checksum".into()
            ));
        }
        let cell =
            MappedCell::try_new(map, |map| parse(map, expected.hashed_bytes, dim)).map_err(bad)?;
        Ok(MappedGraph {
            cell,
            visited: Mutex::new(Vec::new()),
        })
    }

    fn view(&self) -> &View<'_> {
        self.cell.borrow_dependent()
    }

    /// Maps the file's pages into the process now, reading from disk what
    /// the page cache lacks. A search reads a few thousand vectors scattered
    /// over the file, and the first searches of a process take a page fault
    /// for most of them (about 5 ms of a 7 ms first search at 100k vectors
    /// on the 2-core machine); this moves that cost to a moment with time
    /// to spare, such as while the text tower runs.
    ///
    /// Plain reads, not `madvise(MADV_POPULATE_READ)`: that call holds the
    /// process's memory-map lock while it works, which stalls every
    /// allocation another thread makes with `mmap` (the text tower loading
    /// its weights: a cold `hark search` was 10 ms slower with it). A page
    /// fault takes the lock of its one mapping only.
    ///
    /// Then it runs one search (near the entry point), which allocates the
    /// visited marks searches reuse and brings the upper levels into the
    /// CPU's caches.
    pub fn prefault(&self) {
        // One read per 64 KiB: a fault on a file mapping maps the cached
        // pages around it, 64 KiB by default (`fault_around_bytes`), so
        // this maps every page in half the time of a read per page (2.2
        // against 4.5 ms at 100k vectors). Where that setting is smaller,
        // fewer pages are mapped ahead, and searches fault in the rest.
        const STRIDE: usize = 64 << 10;
        let map: &[u8] = self.cell.borrow_owner();
        let mut sum = 0u8;
        for i in (0..map.len()).step_by(STRIDE) {
            sum = sum.wrapping_add(map[i]);
        }
        std::hint::black_box(sum);
        let entry = self.view().entry as usize;
        if let Some(v) = self.vector(entry) {
            std::hint::black_box(self.search(v, 10, EF_SEARCH));
        }
    }

    /// Points in the file, orphans included.
    pub fn len(&self) -> usize {
        self.view().ids.len()
    }

    /// Points a search can reach: `[0, reachable)`; the rest are orphans.
    pub fn reachable(&self) -> usize {
        self.view().reachable
    }

    /// The catalog ids of the points, in file order.
    pub fn ids(&self) -> &[i64] {
        self.view().ids
    }

    /// The vectors of points `range`, row-major.
    pub fn rows(&self, range: std::ops::Range<usize>) -> &[f32] {
        let v = self.view();
        v.vectors
            .get(range.start * v.dim..range.end * v.dim)
            .unwrap_or(&[])
    }

    /// The point index of catalog id `id`.
    pub fn find(&self, id: i64) -> Option<usize> {
        let v = self.view();
        let (main, orphans) = v.ids.split_at(v.reachable);
        main.binary_search(&id)
            .ok()
            .or_else(|| orphans.binary_search(&id).ok().map(|i| v.reachable + i))
    }

    /// The vector of point `i`.
    pub fn vector(&self, i: usize) -> Option<&[f32]> {
        self.view().vector(i)
    }

    /// The `want` reachable points nearest `q` (a unit vector of the
    /// graph's dimension) found by an HNSW search with candidate list `ef`
    /// (at least `want`), as (point index, `q`·vector), best first.
    pub fn search(&self, q: &[f32], want: usize, ef: usize) -> Vec<(usize, f32)> {
        let view = self.view();
        let n = view.ids.len();
        if n == 0 || want == 0 {
            return Vec::new();
        }
        let mut visited = self
            .visited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        visited.reset(n);
        let found = nearest(view, q, ef.max(want), &mut visited);
        self.visited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(visited);
        found
            .into_iter()
            .take(want)
            .map(|s| (s.point as usize, s.score))
            .collect()
    }

    /// The whole graph back in memory (for tests of the round trip).
    #[cfg(test)]
    pub fn to_graph(&self) -> Graph {
        let v = self.view();
        Graph {
            ids: v.ids.to_vec(),
            reachable: v.reachable,
            entry: v.entry,
            levels: v
                .levels
                .iter()
                .map(|l| Csr {
                    members: l.members.map_or_else(Vec::new, <[u32]>::to_vec),
                    offsets: l.offsets.to_vec(),
                    neighbours: l.neighbours.to_vec(),
                })
                .collect(),
        }
    }
}

/// Scores the rows of `graph`'s points `range` against `q` in blocks,
/// calling `f(point, score)` for each.
pub(crate) fn score_rows(
    graph: &MappedGraph,
    q: &[f32],
    range: std::ops::Range<usize>,
    mut f: impl FnMut(usize, f32),
) {
    const BLOCK: usize = 256;
    let mut scores = [0f32; BLOCK];
    let mut start = range.start;
    while start < range.end {
        let end = (start + BLOCK).min(range.end);
        let rows = graph.rows(start..end);
        let scores = &mut scores[..end - start];
        if rows.len() != scores.len() * q.len() {
            return;
        }
        dot_rows(q, rows, scores);
        for (i, &s) in scores.iter().enumerate() {
            f(start + i, s);
        }
        start = end;
    }
}
