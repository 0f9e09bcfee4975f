//! hark's own graph file, `ann-<g>.graph`: written once after a build,
//! then memory-mapped and searched in place by every reader.
//!
//! hnsw_rs builds the graph, but a reader does not use hnsw_rs: its loader
//! deserialises every point and neighbour list into separate allocations
//! (3.9 s for 100k vectors, seconds more per million), and no crate offers
//! a zero-copy view of an hnsw_rs graph. So the build exports the graph into
//! flat little-endian arrays (point ids, vectors, one CSR adjacency per
//! level) and the search below is hand-written over them: greedy descent
//! through the upper levels, then a beam search of width `ef` on level 0,
//! the same algorithm hnsw_rs runs. Opening is a map, a hash of the small
//! sections and a validation pass: milliseconds.
//!
//! `index-format.md` ("The graph file") gives the layout byte by byte.
//! Everything read from the file is checked before use: [`MappedGraph::open`]
//! rejects a file whose header, sizes, ids or adjacency are inconsistent,
//! with the reason, and the search reads every index through bounds-checked
//! accessors as well, so a damaged file gives wrong results at worst, never
//! a panic or undefined behaviour. The vectors are not hashed on open (they
//! are most of the file); a damaged vector changes scores, nothing else.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use memmap2::Mmap;

use super::kernel::{dot, dot_rows};
use crate::{Error, Result};

/// The first 8 bytes of a graph file.
pub(crate) const MAGIC: [u8; 8] = *b"HARKHNSW";
/// The version of the layout in this module.
pub(crate) const VERSION: u32 = 1;
/// Fixed part of the header; the level table follows it.
const HEADER_BYTES: u64 = 64;
/// One entry of the level table: members, edges, section offset.
const LEVEL_ENTRY_BYTES: u64 = 24;
/// More levels than this is not a file hark wrote (hnsw_rs has 16).
const MAX_LEVELS: u32 = 64;
/// The vectors start at a multiple of this (a cache line; SIMD loads).
const VECTOR_ALIGN: u64 = 64;
/// Every other section starts at a multiple of this (i64 ids).
const SECTION_ALIGN: u64 = 8;

/// One level's adjacency in CSR form, in point indices (positions in the
/// id and vector arrays).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Csr {
    /// The points present on this level, ascending. Empty on level 0,
    /// where every point is present and the row of point `i` is `i`.
    pub members: Vec<u32>,
    /// Row `r`'s neighbours are `neighbours[offsets[r]..offsets[r + 1]]`;
    /// one more entry than rows.
    pub offsets: Vec<u32>,
    pub neighbours: Vec<u32>,
}

impl Csr {
    fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    fn row(&self, r: usize) -> &[u32] {
        &self.neighbours[self.offsets[r] as usize..self.offsets[r + 1] as usize]
    }
}

/// A graph in memory in the file's terms: what the build exports and
/// [`write`] stores. Points are in file order (see [`Graph::orphans_last`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Graph {
    /// Catalog ids of the points.
    pub ids: Vec<i64>,
    /// Points `[0, reachable)` can be reached from the entry point; the
    /// rest are orphans.
    pub reachable: usize,
    /// The point where every search starts, a member of the top level.
    pub entry: u32,
    /// Level 0 first.
    pub levels: Vec<Csr>,
}

impl Graph {
    /// The row of point `p` on level `l`, if it is there.
    fn row_of(&self, l: usize, p: u32) -> Option<usize> {
        let level = &self.levels[l];
        if l == 0 {
            return ((p as usize) < level.rows()).then_some(p as usize);
        }
        level.members.binary_search(&p).ok()
    }

    /// Adds, on level 0, the reverse of each point's first `nearest` edges
    /// where the neighbour's list lacks it: `p → q` among p's nearest gives
    /// `q → p`. Returns how many edges were added.
    ///
    /// hnsw_rs prunes a neighbour's list to its own nearest when a new
    /// point links to it, so in dense clusters many points keep out-edges
    /// but lose every in-edge: no search reaches them (on 200k clustered
    /// vectors, 28% of points; recall@10 0.96 at ef 64; at 1M, 0.88).
    /// Giving every point in-edges from its own nearest neighbours makes it
    /// reachable wherever they are, at the cost of longer lists for the
    /// points many others are near. Lists keep their order (hnsw_rs's,
    /// nearest first) and the new edges follow.
    pub fn add_reverse_edges(&mut self, nearest: usize) -> usize {
        let Some(level) = self.levels.first_mut() else {
            return 0;
        };
        let rows = level.rows();
        let mut extra: Vec<Vec<u32>> = vec![Vec::new(); rows];
        for p in 0..rows {
            for &q in level.row(p).iter().take(nearest) {
                let q = q as usize;
                if q < rows && q != p && !level.row(q).contains(&(p as u32)) {
                    extra[q].push(p as u32);
                }
            }
        }
        let added: usize = extra.iter().map(Vec::len).sum();
        if added == 0 {
            return 0;
        }
        let mut csr = Csr {
            members: Vec::new(),
            offsets: Vec::with_capacity(rows + 1),
            neighbours: Vec::with_capacity(level.neighbours.len() + added),
        };
        csr.offsets.push(0);
        for (r, more) in extra.iter().enumerate() {
            csr.neighbours.extend_from_slice(level.row(r));
            csr.neighbours.extend_from_slice(more);
            csr.offsets.push(csr.neighbours.len() as u32);
        }
        *level = csr;
        added
    }

    /// Which points a walk from the entry point along every level's edges
    /// reaches (hnsw_rs can leave some unreachable, upstream issue #37).
    pub fn reached(&self) -> Vec<bool> {
        let n = self.ids.len();
        let mut seen = vec![false; n];
        if n == 0 {
            return seen;
        }
        let mut stack = vec![self.entry];
        seen[self.entry as usize] = true;
        while let Some(p) = stack.pop() {
            for l in 0..self.levels.len() {
                let Some(r) = self.row_of(l, p) else { continue };
                for &q in self.levels[l].row(r) {
                    if !seen[q as usize] {
                        seen[q as usize] = true;
                        stack.push(q);
                    }
                }
            }
        }
        seen
    }

    /// Puts the points `reached` says are unreachable after the others,
    /// keeping the order within each group, and renumbers the adjacency.
    /// Returns the new order: `order[new] = old`.
    pub fn orphans_last(&mut self, reached: &[bool]) -> Vec<u32> {
        let n = self.ids.len();
        let order: Vec<u32> = (0..n as u32)
            .filter(|&p| reached[p as usize])
            .chain((0..n as u32).filter(|&p| !reached[p as usize]))
            .collect();
        let mut new_of = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            new_of[old as usize] = new as u32;
        }
        let mut levels = Vec::with_capacity(self.levels.len());
        for (l, level) in self.levels.iter().enumerate() {
            // (new index, old row), in new order.
            let rows: Vec<(u32, usize)> = if l == 0 {
                order
                    .iter()
                    .enumerate()
                    .map(|(new, &old)| (new as u32, old as usize))
                    .collect()
            } else {
                let mut rows: Vec<(u32, usize)> = level
                    .members
                    .iter()
                    .enumerate()
                    .map(|(r, &old)| (new_of[old as usize], r))
                    .collect();
                rows.sort_unstable();
                rows
            };
            let mut csr = Csr {
                members: if l == 0 {
                    Vec::new()
                } else {
                    rows.iter().map(|r| r.0).collect()
                },
                offsets: Vec::with_capacity(rows.len() + 1),
                neighbours: Vec::with_capacity(level.neighbours.len()),
            };
            csr.offsets.push(0);
            for &(_, old_row) in &rows {
                csr.neighbours
                    .extend(level.row(old_row).iter().map(|&q| new_of[q as usize]));
                csr.offsets.push(csr.neighbours.len() as u32);
            }
            levels.push(csr);
        }
        self.ids = order.iter().map(|&old| self.ids[old as usize]).collect();
        self.entry = if n == 0 {
            0
        } else {
            new_of[self.entry as usize]
        };
        self.reachable = reached.iter().filter(|r| **r).count();
        self.levels = levels;
        order
    }
}

fn align(x: u64, to: u64) -> Option<u64> {
    x.checked_add(to - 1).map(|v| v / to * to)
}

/// Where each section lies, computed from the counts alone: the writer
/// lays the file out by it and the reader requires the header to match it,
/// so sections can neither overlap nor leave gaps.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    ids: u64,
    /// Start of each level's section: members (not on level 0), offsets,
    /// neighbours, each u32, back to back.
    levels: Vec<u64>,
    vectors: u64,
    total: u64,
}

impl Layout {
    /// `counts[l]` = (members, edges) of level `l`. `None` on overflow.
    fn new(n: u64, dim: u64, counts: &[(u64, u64)]) -> Option<Layout> {
        let header =
            HEADER_BYTES.checked_add(LEVEL_ENTRY_BYTES.checked_mul(counts.len() as u64)?)?;
        let ids = align(header, SECTION_ALIGN)?;
        let mut at = ids.checked_add(n.checked_mul(8)?)?;
        let mut levels = Vec::with_capacity(counts.len());
        for (l, &(members, edges)) in counts.iter().enumerate() {
            at = align(at, SECTION_ALIGN)?;
            levels.push(at);
            let listed = if l == 0 { 0 } else { members };
            let words = listed
                .checked_add(members.checked_add(1)?)?
                .checked_add(edges)?;
            at = at.checked_add(words.checked_mul(4)?)?;
        }
        let vectors = align(at, VECTOR_ALIGN)?;
        let total = vectors.checked_add(n.checked_mul(dim)?.checked_mul(4)?)?;
        Some(Layout {
            ids,
            levels,
            vectors,
            total,
        })
    }
}

/// What the manifest records about a written graph file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    /// The file's size.
    pub bytes: u64,
    /// The length of the hashed prefix: everything before the vectors.
    pub hashed_bytes: u64,
    /// BLAKE3 of that prefix, lower-case hex.
    pub blake3: String,
}

/// A writer that hashes what it writes until told to stop.
struct Out<W: Write> {
    w: W,
    at: u64,
    hasher: Option<blake3::Hasher>,
}

impl<W: Write> Out<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(h) = &mut self.hasher {
            h.update(bytes);
        }
        self.at += bytes.len() as u64;
        self.w.write_all(bytes)
    }

    fn pad_to(&mut self, at: u64) -> std::io::Result<()> {
        debug_assert!(at >= self.at);
        let zeros = [0u8; VECTOR_ALIGN as usize];
        while self.at < at {
            let k = ((at - self.at) as usize).min(zeros.len());
            self.put(&zeros[..k])?;
        }
        Ok(())
    }

    fn put_u32s(&mut self, xs: &[u32]) -> std::io::Result<()> {
        if cfg!(target_endian = "little") {
            self.put(bytemuck::cast_slice(xs))
        } else {
            xs.iter().try_for_each(|x| self.put(&x.to_le_bytes()))
        }
    }

    fn put_f32s(&mut self, xs: &[f32]) -> std::io::Result<()> {
        if cfg!(target_endian = "little") {
            self.put(bytemuck::cast_slice(xs))
        } else {
            xs.iter().try_for_each(|x| self.put(&x.to_le_bytes()))
        }
    }
}

/// Writes `graph` with vectors of `dim` floats (`vector(i)` for point `i`)
/// to a new file at `path`, fsyncs it, and returns what the manifest
/// records. The caller renames it into place.
pub(crate) fn write<'v>(
    path: &Path,
    graph: &Graph,
    dim: usize,
    vector: impl Fn(usize) -> &'v [f32],
) -> std::io::Result<Written> {
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, what);
    let n = graph.ids.len();
    let too_big = n >= u32::MAX as usize
        || graph
            .levels
            .iter()
            .any(|l| l.neighbours.len() > u32::MAX as usize);
    if too_big || graph.levels.is_empty() || graph.levels.len() > MAX_LEVELS as usize {
        return Err(invalid(format!(
            "a graph of {n} points and {} levels does not fit the file format",
            graph.levels.len()
        )));
    }
    let counts: Vec<(u64, u64)> = graph
        .levels
        .iter()
        .enumerate()
        .map(|(l, c)| {
            let members = if l == 0 { n } else { c.members.len() };
            (members as u64, c.neighbours.len() as u64)
        })
        .collect();
    let layout = Layout::new(n as u64, dim as u64, &counts)
        .ok_or_else(|| invalid("the graph's sizes overflow".into()))?;

    let file = File::create(path)?;
    let mut out = Out {
        w: BufWriter::with_capacity(1 << 20, file),
        at: 0,
        hasher: Some(blake3::Hasher::new()),
    };
    let mut header = Vec::with_capacity(HEADER_BYTES as usize);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&(dim as u32).to_le_bytes());
    header.extend_from_slice(&(n as u64).to_le_bytes());
    header.extend_from_slice(&(graph.reachable as u64).to_le_bytes());
    header.extend_from_slice(&(graph.levels.len() as u32).to_le_bytes());
    header.extend_from_slice(&graph.entry.to_le_bytes());
    header.extend_from_slice(&layout.ids.to_le_bytes());
    header.extend_from_slice(&layout.vectors.to_le_bytes());
    header.extend_from_slice(&layout.total.to_le_bytes());
    debug_assert_eq!(header.len() as u64, HEADER_BYTES);
    for (&(members, edges), &offset) in counts.iter().zip(&layout.levels) {
        header.extend_from_slice(&members.to_le_bytes());
        header.extend_from_slice(&edges.to_le_bytes());
        header.extend_from_slice(&offset.to_le_bytes());
    }
    out.put(&header)?;
    out.pad_to(layout.ids)?;
    for id in &graph.ids {
        out.put(&id.to_le_bytes())?;
    }
    for (l, (level, &offset)) in graph.levels.iter().zip(&layout.levels).enumerate() {
        out.pad_to(offset)?;
        if l > 0 {
            out.put_u32s(&level.members)?;
        }
        out.put_u32s(&level.offsets)?;
        out.put_u32s(&level.neighbours)?;
    }
    out.pad_to(layout.vectors)?;
    let hash = out.hasher.take().map(|h| h.finalize().to_hex().to_string());
    for i in 0..n {
        let v = vector(i);
        if v.len() != dim {
            return Err(invalid(format!(
                "point {i} has {} components, not {dim}",
                v.len()
            )));
        }
        out.put_f32s(v)?;
    }
    debug_assert_eq!(out.at, layout.total);
    let file = out.w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(Written {
        bytes: layout.total,
        hashed_bytes: layout.vectors,
        blake3: hash.unwrap_or_default(),
    })
}

/// One level of a mapped graph.
struct LevelView<'a> {
    /// `None` on level 0 (every point, row = point index).
    members: Option<&'a [u32]>,
    offsets: &'a [u32],
    neighbours: &'a [u32],
}

impl<'a> LevelView<'a> {
    /// The neighbours of point `p`, empty if `p` is not on this level or
    /// the row is out of bounds.
    #[inline]
    fn neighbours_of(&self, p: u32) -> &'a [u32] {
        let r = match self.members {
            None => p as usize,
            Some(m) => match m.binary_search(&p) {
                Ok(r) => r,
                Err(_) => return &[],
            },
        };
        let (Some(&a), Some(&b)) = (self.offsets.get(r), self.offsets.get(r + 1)) else {
            return &[];
        };
        self.neighbours.get(a as usize..b as usize).unwrap_or(&[])
    }
}

/// The typed sections of a mapped file.
pub(crate) struct View<'a> {
    ids: &'a [i64],
    vectors: &'a [f32],
    dim: usize,
    reachable: usize,
    entry: u32,
    levels: Vec<LevelView<'a>>,
}

self_cell::self_cell!(
    struct MappedCell {
        owner: Mmap,
        #[covariant]
        dependent: View,
    }
);

/// Visited marks for one search: a stamp per point, so clearing is
/// bumping the stamp rather than writing n entries.
struct Visited {
    marks: Vec<u32>,
    stamp: u32,
}

impl Visited {
    fn reset(&mut self, n: usize) {
        if self.marks.len() != n {
            self.marks = vec![0; n];
            self.stamp = 0;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.marks.fill(0);
            self.stamp = 1;
        }
    }

    /// Marks `p`; false if it was marked already or is out of range.
    #[inline]
    fn insert(&mut self, p: u32) -> bool {
        match self.marks.get_mut(p as usize) {
            Some(m) if *m != self.stamp => {
                *m = self.stamp;
                true
            }
            _ => false,
        }
    }
}

/// A point and its score (dot product with the query), ordered by score.
#[derive(Debug, Clone, Copy)]
struct Scored {
    score: f32,
    point: u32,
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.point.cmp(&self.point))
    }
}

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
            std::hint::black_box(self.search(v, 10, super::EF_SEARCH));
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
            .unwrap_or(Visited {
                marks: Vec::new(),
                stamp: 0,
            });
        visited.reset(n);
        let found = view.search(q, ef.max(want), &mut visited);
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

impl View<'_> {
    #[inline]
    fn vector(&self, i: usize) -> Option<&[f32]> {
        self.vectors.get(i * self.dim..(i + 1) * self.dim)
    }

    #[inline]
    fn score(&self, q: &[f32], p: u32) -> Option<f32> {
        let s = dot(q, self.vector(p as usize)?);
        (!s.is_nan()).then_some(s)
    }

    /// Greedy descent from the entry point through the upper levels, then
    /// a beam search of width `ef` on level 0. Best first.
    fn search(&self, q: &[f32], ef: usize, visited: &mut Visited) -> Vec<Scored> {
        let mut cur = self.entry;
        let Some(mut cur_score) = self.score(q, cur) else {
            return Vec::new();
        };
        for level in self.levels.iter().skip(1).rev() {
            loop {
                let mut moved = false;
                for &p in level.neighbours_of(cur) {
                    if let Some(s) = self.score(q, p) {
                        if s > cur_score {
                            (cur, cur_score) = (p, s);
                            moved = true;
                        }
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        let Some(level0) = self.levels.first() else {
            return Vec::new();
        };
        let start = Scored {
            score: cur_score,
            point: cur,
        };
        visited.insert(cur);
        // Candidates to expand, best first; the best `ef` found, worst first.
        let mut candidates = BinaryHeap::with_capacity(ef * 2);
        let mut best = BinaryHeap::with_capacity(ef + 1);
        candidates.push(start);
        best.push(Reverse(start));
        while let Some(c) = candidates.pop() {
            let worst = best.peek().map_or(f32::NEG_INFINITY, |w| w.0.score);
            if best.len() >= ef && c.score < worst {
                break;
            }
            for &p in level0.neighbours_of(c.point) {
                if !visited.insert(p) {
                    continue;
                }
                let Some(score) = self.score(q, p) else {
                    continue;
                };
                let worst = best.peek().map_or(f32::NEG_INFINITY, |w| w.0.score);
                if best.len() < ef || score > worst {
                    let s = Scored { score, point: p };
                    candidates.push(s);
                    best.push(Reverse(s));
                    if best.len() > ef {
                        best.pop();
                    }
                }
            }
        }
        let mut found: Vec<Scored> = best.into_iter().map(|r| r.0).collect();
        found.sort_unstable_by(|a, b| b.cmp(a));
        // Orphans are scanned exactly by the caller; a damaged file could
        // lead here to one.
        found.retain(|s| (s.point as usize) < self.reachable);
        found
    }
}

/// Little-endian reads at checked positions.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u32(&self, at: u64) -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        Some(u32::from_le_bytes(self.0.get(at..at + 4)?.try_into().ok()?))
    }

    fn u64(&self, at: u64) -> Option<u64> {
        let at = usize::try_from(at).ok()?;
        Some(u64::from_le_bytes(self.0.get(at..at + 8)?.try_into().ok()?))
    }
}

/// A typed slice of `count` elements at byte `at`, if in bounds and aligned.
fn section<T: bytemuck::Pod>(map: &[u8], at: u64, count: u64) -> Option<&[T]> {
    let start = usize::try_from(at).ok()?;
    let bytes = usize::try_from(count.checked_mul(std::mem::size_of::<T>() as u64)?).ok()?;
    bytemuck::try_cast_slice(map.get(start..start.checked_add(bytes)?)?).ok()
}

/// Checks the header and every section of a mapped file, and types them.
fn parse(map: &[u8], hashed_bytes: u64, dim: usize) -> std::result::Result<View<'_>, String> {
    let r = Reader(map);
    let short = || "the header is cut short".to_owned();
    if map.get(..8) != Some(&MAGIC[..]) {
        return Err("not a hark graph file (wrong magic)".into());
    }
    let version = r.u32(8).ok_or_else(short)?;
    if version != VERSION {
        return Err(format!(
            "graph file version {version} (this hark reads {VERSION})"
        ));
    }
    let file_dim = r.u32(12).ok_or_else(short)? as usize;
    let n = r.u64(16).ok_or_else(short)?;
    let reachable = r.u64(24).ok_or_else(short)?;
    let levels = r.u32(32).ok_or_else(short)?;
    let entry = r.u32(36).ok_or_else(short)?;
    let ids_at = r.u64(40).ok_or_else(short)?;
    let vectors_at = r.u64(48).ok_or_else(short)?;
    let total = r.u64(56).ok_or_else(short)?;
    if file_dim != dim || dim == 0 {
        return Err(format!(
            "vectors of dimension {file_dim}, the manifest says {dim}"
        ));
    }
    if n >= u32::MAX as u64 || reachable > n {
        return Err(format!("{n} points of which {reachable} reachable"));
    }
    if levels == 0 || levels > MAX_LEVELS {
        return Err(format!("{levels} levels"));
    }
    let mut counts = Vec::with_capacity(levels as usize);
    let mut offsets = Vec::with_capacity(levels as usize);
    for l in 0..levels as u64 {
        let at = HEADER_BYTES + l * LEVEL_ENTRY_BYTES;
        let members = r.u64(at).ok_or_else(short)?;
        let edges = r.u64(at + 8).ok_or_else(short)?;
        counts.push((members, edges));
        offsets.push(r.u64(at + 16).ok_or_else(short)?);
    }
    let layout =
        Layout::new(n, dim as u64, &counts).ok_or_else(|| "section sizes overflow".to_owned())?;
    if layout.total != map.len() as u64 || total != layout.total {
        return Err(format!(
            "{} bytes, its header implies {}",
            map.len(),
            layout.total
        ));
    }
    if layout.ids != ids_at || layout.vectors != vectors_at || layout.levels != offsets {
        return Err("section offsets do not match the counts".into());
    }
    if vectors_at != hashed_bytes {
        return Err(format!(
            "vectors start at {vectors_at}, the manifest hashed {hashed_bytes} bytes before them"
        ));
    }
    let bounds = || "a section lies outside the file".to_owned();
    let ids: &[i64] = section(map, ids_at, n).ok_or_else(bounds)?;
    let vectors: &[f32] = section(map, vectors_at, n * dim as u64).ok_or_else(bounds)?;
    let (main, orphans) = ids.split_at(reachable as usize);
    if !main.windows(2).all(|w| w[0] < w[1]) || !orphans.windows(2).all(|w| w[0] < w[1]) {
        return Err("point ids are not in ascending order".into());
    }
    let mut level_views: Vec<LevelView<'_>> = Vec::with_capacity(levels as usize);
    for (l, (&(members, edges), &at)) in counts.iter().zip(&layout.levels).enumerate() {
        if members > n || (l == 0 && members != n) {
            return Err(format!("level {l} has {members} of {n} points"));
        }
        let listed = if l == 0 { 0 } else { members };
        let member_list: &[u32] = section(map, at, listed).ok_or_else(bounds)?;
        let row_offsets: &[u32] = section(map, at + 4 * listed, members + 1).ok_or_else(bounds)?;
        let neighbours: &[u32] =
            section(map, at + 4 * (listed + members + 1), edges).ok_or_else(bounds)?;
        if row_offsets.first() != Some(&0)
            || row_offsets.last().map(|&e| e as u64) != Some(edges)
            || !row_offsets.windows(2).all(|w| w[0] <= w[1])
        {
            return Err(format!("level {l}: row offsets are not a valid CSR index"));
        }
        if l > 0 {
            if !member_list.windows(2).all(|w| w[0] < w[1]) {
                return Err(format!("level {l}: members are not in ascending order"));
            }
            // Every member of level l is on level l - 1 (HNSW levels nest).
            if let Some(below) = level_views[l - 1].members {
                if !member_list.iter().all(|p| below.binary_search(p).is_ok()) {
                    return Err(format!("level {l} has a point missing below it"));
                }
            } else if member_list.last().is_some_and(|&p| p as u64 >= n) {
                return Err(format!("level {l}: member index out of range"));
            }
        }
        // A neighbour must be a point of this level: on level 0 any point.
        let bad_neighbour = match l {
            0 => neighbours.iter().any(|&p| p as u64 >= n),
            _ => neighbours
                .iter()
                .any(|p| member_list.binary_search(p).is_err()),
        };
        if bad_neighbour {
            return Err(format!(
                "level {l}: a neighbour index is out of range or not on the level"
            ));
        }
        level_views.push(LevelView {
            members: (l > 0).then_some(member_list),
            offsets: row_offsets,
            neighbours,
        });
    }
    if n > 0 {
        let top = &level_views[levels as usize - 1];
        let on_top = match top.members {
            None => (entry as u64) < n,
            Some(m) => m.binary_search(&entry).is_ok(),
        };
        if !on_top || entry as u64 >= reachable {
            return Err(format!(
                "entry point {entry} is not a reachable point of the top level"
            ));
        }
    }
    Ok(View {
        ids,
        vectors,
        dim,
        reachable: reachable as usize,
        entry,
        levels: level_views,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A small hand-made graph: 6 points, 2 levels, point 5 an orphan.
    fn sample() -> (Graph, Vec<Vec<f32>>) {
        let graph = Graph {
            ids: vec![10, 20, 30, 40, 50, 7],
            reachable: 5,
            entry: 2,
            levels: vec![
                Csr {
                    members: vec![],
                    offsets: vec![0, 2, 4, 7, 9, 10, 11],
                    neighbours: vec![1, 2, 0, 2, 0, 1, 3, 2, 4, 3, 0],
                },
                Csr {
                    members: vec![0, 2],
                    offsets: vec![0, 1, 2],
                    neighbours: vec![2, 0],
                },
            ],
        };
        let dim = 4;
        let vectors = (0..6)
            .map(|i| {
                let mut v = vec![0f32; dim];
                v[i % dim] = 1.0;
                v[(i + 1) % dim] = 0.5;
                v
            })
            .collect();
        (graph, vectors)
    }

    fn write_sample(dir: &Path) -> (std::path::PathBuf, Written, Graph, Vec<Vec<f32>>) {
        let (graph, vectors) = sample();
        let path = dir.join("g.graph");
        let written = write(&path, &graph, 4, |i| &vectors[i]).unwrap();
        (path, written, graph, vectors)
    }

    fn open(path: &Path, written: &Written) -> Result<MappedGraph> {
        MappedGraph::open(&File::open(path).unwrap(), path, written, 4)
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (path, written, graph, vectors) = write_sample(dir.path());
        assert_eq!(written.hashed_bytes % VECTOR_ALIGN, 0);
        assert_eq!(written.bytes, written.hashed_bytes + 6 * 4 * 4);
        let mapped = open(&path, &written).unwrap();
        assert_eq!(mapped.to_graph(), graph);
        for (i, v) in vectors.iter().enumerate() {
            assert_eq!(mapped.vector(i), Some(&v[..]));
        }
        assert_eq!(mapped.find(7), Some(5));
        assert_eq!(mapped.find(30), Some(2));
        assert_eq!(mapped.find(31), None);
        // The best match of point 3's own vector is point 3, and the
        // orphan is never returned by the graph search.
        let hits = mapped.search(&vectors[3], 6, 6);
        assert_eq!(hits[0].0, 3);
        assert!(hits.iter().all(|h| h.0 < 5));
        // Prefaulting maps pages and warms caches; answers stay the same.
        mapped.prefault();
        assert_eq!(mapped.search(&vectors[3], 6, 6), hits);
    }

    /// The sample's file, byte for byte: a change to what `write` emits is
    /// a change of the format (and of `VERSION`), never a side effect.
    #[test]
    fn sample_file_bytes_are_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let (path, written, _, _) = write_sample(dir.path());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, written.bytes);
        assert_eq!(
            blake3::hash(&bytes).to_hex().as_str(),
            "2e9420cf6b9de612abb6a64b0db1eb3f5d7edc8bb51ee3f684142182b2c113f8"
        );
    }

    #[test]
    fn reverse_edges_reach_a_point_that_only_links_out() {
        // 0 ↔ 1, and 2 → 0 with nothing back: 2 is unreachable from 0.
        let mut g = Graph {
            ids: vec![10, 20, 30],
            reachable: 3,
            entry: 0,
            levels: vec![Csr {
                members: Vec::new(),
                offsets: vec![0, 1, 2, 4],
                neighbours: vec![1, 0, 0, 1],
            }],
        };
        assert_eq!(g.reached(), [true, true, false]);
        assert_eq!(g.add_reverse_edges(1), 1);
        assert_eq!(g.reached(), [true, true, true]);
        assert_eq!(g.levels[0].row(0), [1, 2]);
        assert_eq!(g.levels[0].row(2), [0, 1]);
        // Already symmetric for the nearest: nothing more to add.
        assert_eq!(g.add_reverse_edges(1), 0);
    }

    #[test]
    fn orphans_last_renumbers_consistently() {
        let (mut graph, _) = sample();
        graph.reachable = 6;
        let reached = graph.reached();
        // Point 5 has an edge out (to 0) but none in.
        assert_eq!(reached, vec![true, true, true, true, true, false]);
        let before = graph.clone();
        // Pretend 1 is the orphan, to see renumbering move a point that
        // has in- and out-edges.
        let order = graph.orphans_last(&[true, false, true, true, true, true]);
        assert_eq!(order, vec![0, 2, 3, 4, 5, 1]);
        assert_eq!(graph.reachable, 5);
        assert_eq!(graph.ids, vec![10, 30, 40, 50, 7, 20]);
        assert_eq!(graph.entry, 1);
        // Every edge survives, renumbered.
        for l in 0..2 {
            for (new, &old) in order.iter().enumerate() {
                let old_row = before.row_of(l, old);
                let new_row = graph.row_of(l, new as u32);
                assert_eq!(old_row.is_some(), new_row.is_some());
                if let (Some(o), Some(r)) = (old_row, new_row) {
                    let mapped: Vec<u32> = before.levels[l]
                        .row(o)
                        .iter()
                        .map(|&q| order.iter().position(|&x| x == q).unwrap() as u32)
                        .collect();
                    assert_eq!(graph.levels[l].row(r), &mapped[..]);
                }
            }
        }
    }

    /// Rewrites bytes of the file and the manifest's hash to match, so
    /// only the structural checks can catch the damage.
    fn patch(path: &Path, written: &mut Written, at: usize, bytes: &[u8]) {
        let mut data = std::fs::read(path).unwrap();
        data[at..at + bytes.len()].copy_from_slice(bytes);
        std::fs::write(path, &data).unwrap();
        written.blake3 = blake3::hash(&data[..written.hashed_bytes as usize])
            .to_hex()
            .to_string();
    }

    fn problem(path: &Path, written: &Written) -> String {
        match open(path, written) {
            Ok(_) => panic!("a damaged file was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn damage_is_rejected_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let (path, written, graph, _) = write_sample(dir.path());
        let pristine = std::fs::read(&path).unwrap();
        let reset = || std::fs::write(&path, &pristine).unwrap();
        let layout = Layout::new(6, 4, &[(6, 11), (2, 2)]).unwrap();
        let level0_neighbours = layout.levels[0] as usize + 4 * 7;
        let level1_neighbours = layout.levels[1] as usize + 4 * (2 + 3);

        let cases: Vec<(&str, usize, Vec<u8>, &str)> = vec![
            ("magic", 0, b"HARKHNSX".to_vec(), "magic"),
            ("version", 8, 2u32.to_le_bytes().to_vec(), "version 2"),
            (
                "neighbour out of range",
                level0_neighbours + 4,
                6u32.to_le_bytes().to_vec(),
                "neighbour",
            ),
            (
                "upper neighbour not on its level",
                level1_neighbours,
                1u32.to_le_bytes().to_vec(),
                "neighbour",
            ),
            (
                "offsets backwards",
                layout.levels[0] as usize + 4,
                9u32.to_le_bytes().to_vec(),
                "offsets",
            ),
            (
                "ids out of order",
                layout.ids as usize,
                25i64.to_le_bytes().to_vec(),
                "ascending",
            ),
            ("entry", 36, 5u32.to_le_bytes().to_vec(), "entry point"),
            ("dimension", 12, 8u32.to_le_bytes().to_vec(), "dimension"),
            ("points", 16, 7u64.to_le_bytes().to_vec(), "bytes"),
        ];
        for (what, at, bytes, reason) in cases {
            reset();
            let mut w = written.clone();
            patch(&path, &mut w, at, &bytes);
            let p = problem(&path, &w);
            assert!(p.contains(reason), "{what}: {p}");
        }

        // A flipped byte the manifest does not know about.
        reset();
        let mut data = pristine.clone();
        data[layout.ids as usize] ^= 1;
        std::fs::write(&path, &data).unwrap();
        assert!(problem(&path, &written).contains("checksum"));

        // Truncated: the size check, then (manifest updated) the header's.
        reset();
        std::fs::write(&path, &pristine[..pristine.len() - 4]).unwrap();
        assert!(problem(&path, &written).contains("manifest says"));
        let mut w = written.clone();
        w.bytes -= 4;
        assert!(problem(&path, &w).contains("header implies"));
        std::fs::write(&path, &pristine[..10]).unwrap();
        w.bytes = 10;
        assert!(problem(&path, &w).contains("too short"));

        reset();
        assert_eq!(open(&path, &written).unwrap().to_graph(), graph);
    }

    #[test]
    fn damaged_vectors_give_wrong_results_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let (path, written, _, vectors) = write_sample(dir.path());
        let mut data = std::fs::read(&path).unwrap();
        let at = written.hashed_bytes as usize;
        for (i, chunk) in data[at..].chunks_exact_mut(4).enumerate() {
            let x = match i % 3 {
                0 => f32::NAN,
                1 => f32::INFINITY,
                _ => -0.0,
            };
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        std::fs::write(&path, &data).unwrap();
        let mapped = open(&path, &written).unwrap();
        for v in &vectors {
            let hits = mapped.search(v, 3, 10);
            assert!(hits.iter().all(|h| !h.1.is_nan()));
        }
    }
}
