//! The graph file's layout and its checks: the constants, where each
//! section lies, what the manifest records of a file, and the parser that
//! checks a mapped file's header and sections and types them as a [`View`].
//! `index-format.md` ("The graph file") gives the same layout byte by byte.

/// The first 8 bytes of a graph file.
pub(super) const MAGIC: [u8; 8] = *b"HARKHNSW";
/// The version of the layout described here.
pub(super) const VERSION: u32 = 1;
/// Fixed part of the header; the level table follows it.
pub(super) const HEADER_BYTES: u64 = 64;
/// One entry of the level table: members, edges, section offset.
pub(super) const LEVEL_ENTRY_BYTES: u64 = 24;
/// More levels than this is not a file hark wrote (hnsw_rs has 16).
pub(super) const MAX_LEVELS: u32 = 64;
/// The vectors start at a multiple of this (a cache line; SIMD loads).
pub(super) const VECTOR_ALIGN: u64 = 64;
/// Every other section starts at a multiple of this (i64 ids).
pub(super) const SECTION_ALIGN: u64 = 8;

fn align(x: u64, to: u64) -> Option<u64> {
    x.checked_add(to - 1).map(|v| v / to * to)
}

/// Where each section lies, computed from the counts alone: the writer
/// lays the file out by it and the reader requires the header to match it,
/// so sections can neither overlap nor leave gaps.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Layout {
    /// Start of the point ids.
    pub ids: u64,
    /// Start of each level's section: members (not on level 0), offsets,
    /// neighbours, each u32, back to back.
    pub levels: Vec<u64>,
    /// Start of the vectors: the length of the hashed prefix.
    pub vectors: u64,
    /// The file's size.
    pub total: u64,
}

impl Layout {
    /// `counts[l]` = (members, edges) of level `l`. `None` on overflow.
    pub fn new(n: u64, dim: u64, counts: &[(u64, u64)]) -> Option<Layout> {
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

/// One level of a mapped graph.
pub(super) struct LevelView<'a> {
    /// `None` on level 0 (every point, row = point index).
    pub members: Option<&'a [u32]>,
    /// Row `r`'s neighbours are `neighbours[offsets[r]..offsets[r + 1]]`.
    pub offsets: &'a [u32],
    /// Every row's neighbours, back to back.
    pub neighbours: &'a [u32],
}

impl<'a> LevelView<'a> {
    /// The neighbours of point `p`, empty if `p` is not on this level or
    /// the row is out of bounds.
    #[inline]
    pub fn neighbours_of(&self, p: u32) -> &'a [u32] {
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
pub(super) struct View<'a> {
    /// Catalog ids of the points, in file order.
    pub ids: &'a [i64],
    /// The points' vectors, row-major, `dim` floats each.
    pub vectors: &'a [f32],
    /// Components of each vector.
    pub dim: usize,
    /// Points `[0, reachable)` can be reached from the entry point; the
    /// rest are orphans.
    pub reachable: usize,
    /// The point where every search starts.
    pub entry: u32,
    /// Level 0 first.
    pub levels: Vec<LevelView<'a>>,
}

impl View<'_> {
    /// The vector of point `i`, if it is in the file.
    #[inline]
    pub fn vector(&self, i: usize) -> Option<&[f32]> {
        self.vectors.get(i * self.dim..(i + 1) * self.dim)
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
pub(super) fn parse(
    map: &[u8],
    hashed_bytes: u64,
    dim: usize,
) -> std::result::Result<View<'_>, String> {
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
