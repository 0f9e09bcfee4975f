//! Writing a graph file: the header, ids, adjacency and vectors laid out as
//! [`Layout`] says, the prefix before the vectors hashed on the way, and the
//! file fsynced. Naming, renaming and publishing it are the cache's job (the
//! `files` module).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::format::{Layout, Written, HEADER_BYTES, MAGIC, MAX_LEVELS, VECTOR_ALIGN, VERSION};
use super::surgery::Graph;

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
pub(crate) fn write_file<'v>(
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
