//! The ANN cache on disk: its manifest, its file names, how a new graph is
//! published and an old one retired, and how a reader pins the file it
//! maps. `index-format.md` ("The ANN cache") describes the same protocol
//! for someone reading the directory.
//!
//! A graph is one file, `ann-<generation>.graph` (hark's own format, see
//! the `graph` module), and `ann.json` names the current generation with
//! the file's size and the BLAKE3 hash of everything in it but the vectors.
//! A writer writes the file under a temporary name (`ann-tmp-...`), fsyncs
//! it, renames it to its generation's name, then replaces `ann.json` by
//! rename and fsyncs the directory. Until that last rename, readers see the
//! previous generation, whole.
//!
//! Retiring a generation must not pull a file from under a reader that is
//! opening it. A reader holds a shared `flock` on the graph file while it
//! maps and checks it; a writer deletes a generation only if it gets the
//! exclusive lock without waiting, and otherwise leaves it for the next run.
//! Once mapped, a file may be unlinked: the mapping keeps its contents.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::graph::{MappedGraph, Written};
use crate::{Error, Result};

/// The manifest's file name.
pub(crate) const MANIFEST: &str = "ann.json";
/// Held exclusively by a writer for a whole refresh.
pub(crate) const WRITER_LOCK: &str = "ann.lock";
/// Prefix of every temporary name a writer uses; such files are removed,
/// never loaded.
const TMP_PREFIX: &str = "ann-tmp-";
const MANIFEST_TMP_PREFIX: &str = "ann.json.tmp-";
/// The version of the manifest and of the files it names. 1: hnsw_rs's
/// dump files (`.hnsw.graph`, `.hnsw.data`) numbered by file; 2: the same
/// numbered by point (file and segment, schema V3); 3: hark's graph file,
/// numbered by point.
pub(crate) const FORMAT: u32 = 3;
/// The hnsw_rs release that builds the graphs (recorded, not checked: the
/// file format is hark's own).
pub(crate) const HNSW_RS_VERSION: &str = "0.3.5";
/// The graph file's suffix.
const GRAPH_SUFFIX: &str = "graph";
/// Suffixes of format 1's files, still recognised so that they are retired.
const LEGACY_SUFFIXES: [&str; 2] = ["hnsw.graph", "hnsw.data"];
/// A manifest bigger than this is not one hark wrote (orphan lists are
/// short); refusing it bounds what a damaged file can make us allocate.
const MANIFEST_MAX_BYTES: u64 = 64 << 20;

/// The graph file as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GraphSum {
    /// File name inside the index directory.
    pub name: String,
    /// Exact size in bytes.
    pub bytes: u64,
    /// Length of the prefix that `blake3` covers: the header, ids and
    /// adjacency, everything before the vectors.
    pub hashed_bytes: u64,
    /// BLAKE3 hash of that prefix, lower-case hex.
    pub blake3: String,
}

impl GraphSum {
    pub fn written(&self) -> Written {
        Written {
            bytes: self.bytes,
            hashed_bytes: self.hashed_bytes,
            blake3: self.blake3.clone(),
        }
    }
}

/// `ann.json`: what the current graph covers and how to check its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// Increases with every graph published in this directory.
    pub generation: u64,
    /// Model identity of every vector in the graph.
    pub model: String,
    /// Embedding pipeline of every vector in the graph.
    pub pipeline: String,
    /// Vector dimension.
    pub dim: usize,
    /// Vectors of the snapshot the graph was built from: its points plus
    /// the vectors left out of it (not finite, listed in `orphans`).
    pub count: usize,
    /// The graph holds exactly the catalog's vectors of `model`/`pipeline`
    /// with `seq <= built_seq`, as of the snapshot it was built from.
    pub built_seq: i64,
    /// hnsw_rs `max_nb_connection` (M; layer 0 keeps 2·M).
    pub max_nb_connection: usize,
    /// hnsw_rs `ef_construction`.
    pub ef_construction: usize,
    /// [`HNSW_RS_VERSION`] when built.
    pub hnsw_rs: String,
    /// File ids that no search of the graph reaches from its entry point
    /// (the file's orphan points, and vectors left out of the graph);
    /// readers scan them exactly.
    pub orphans: Vec<i64>,
    /// The graph file.
    pub graph: GraphSum,
    /// When the build finished, seconds since the Unix epoch.
    pub built_at: i64,
    /// How long the build took (reading, inserting, exporting, writing).
    pub build_seconds: f64,
}

impl Manifest {
    /// Why this manifest's file cannot be read by this build of hark, if so.
    pub fn incompatibility(&self) -> Option<String> {
        if self.format != FORMAT {
            return Some(format!("format {} (this hark reads {FORMAT})", self.format));
        }
        if self.graph.name != graph_name(self.generation) {
            return Some("the file name does not match the generation".into());
        }
        None
    }
}

/// The graph file's name for a generation (`ann-12.graph`).
pub(crate) fn graph_name(generation: u64) -> String {
    format!("ann-{generation}.{GRAPH_SUFFIX}")
}

fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::AnnIo {
        path: path.to_owned(),
        what,
        source,
    }
}

fn corrupt(path: &Path, what: impl Into<String>) -> Error {
    Error::AnnCorrupt {
        path: path.to_owned(),
        what: what.into(),
    }
}

/// Reads `ann.json`: `Ok(None)` if there is none, an error if it exists
/// but cannot be read or parsed.
pub(crate) fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path, "open the manifest")(e)),
    };
    let mut text = String::new();
    file.take(MANIFEST_MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io_err(&path, "read the manifest"))?;
    if text.len() as u64 > MANIFEST_MAX_BYTES {
        return Err(corrupt(&path, "manifest is implausibly large"));
    }
    // The format first, so that a manifest of another format is reported
    // as such rather than as one that does not parse.
    #[derive(Deserialize)]
    struct Probe {
        format: u32,
    }
    if let Ok(Probe { format }) = serde_json::from_str::<Probe>(&text) {
        if format != FORMAT {
            return Err(corrupt(
                &path,
                format!(
                    "format {format} (this hark reads {FORMAT}); the next `hark index` rebuilds it"
                ),
            ));
        }
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| corrupt(&path, format!("manifest does not parse: {e}")))
}

/// What identifies the manifest file currently in place, to notice a new
/// one cheaply: a rename always brings a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

pub(crate) fn manifest_identity(dir: &Path) -> Option<FileIdentity> {
    let meta = std::fs::metadata(dir.join(MANIFEST)).ok()?;
    Some(identity(&meta))
}

fn identity(meta: &std::fs::Metadata) -> FileIdentity {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    #[cfg(unix)]
    let (dev, ino) = {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    };
    #[cfg(not(unix))]
    let (dev, ino) = (0, 0);
    FileIdentity {
        dev,
        ino,
        len: meta.len(),
        mtime_ns,
    }
}

/// Why pinning failed.
pub(crate) enum PinError {
    /// The generation was retired meanwhile: read the manifest again.
    Gone,
    /// The file is missing, damaged or unreadable.
    Bad(Error),
}

/// Pins the graph file `manifest` names with a shared lock, so no writer
/// retires it meanwhile, then maps and checks it (see
/// [`MappedGraph::open`]). The lock is released on return: the mapping
/// keeps the file's contents even if it is then unlinked.
pub(crate) fn pin_and_map(dir: &Path, manifest: &Manifest) -> Result<MappedGraph, PinError> {
    let path = dir.join(&manifest.graph.name);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PinError::Gone),
        Err(e) => return Err(PinError::Bad(io_err(&path, "open")(e))),
    };
    file.lock_shared()
        .map_err(|e| PinError::Bad(io_err(&path, "lock")(e)))?;
    // A writer unlinks only while holding the exclusive lock, so once we
    // hold the shared one the name either still points at this file (and
    // stays) or the file was retired before we got the lock.
    let held = file
        .metadata()
        .map_err(|e| PinError::Bad(io_err(&path, "stat")(e)))?;
    match std::fs::metadata(&path) {
        Ok(now) if same_file(&held, &now) => {}
        _ => return Err(PinError::Gone),
    }
    MappedGraph::open(&file, &path, &manifest.graph.written(), manifest.dim).map_err(PinError::Bad)
}

fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino() && a.nlink() > 0
    }
    #[cfg(not(unix))]
    {
        a.len() == b.len() && a.modified().ok() == b.modified().ok()
    }
}

/// The writer's exclusive lock on the cache directory, held for a refresh.
pub(crate) struct WriterLock {
    _file: File,
}

pub(crate) fn lock_writer(dir: &Path) -> Result<WriterLock> {
    let path = dir.join(WRITER_LOCK);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path, "open the writer lock"))?;
    file.lock().map_err(io_err(&path, "take the writer lock"))?;
    Ok(WriterLock { _file: file })
}

/// Removes what a killed writer left: temporary dumps and manifests.
/// Call with the writer lock held. Returns how many files went.
pub(crate) fn remove_leftovers(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    for name in list(dir)? {
        if name.starts_with(TMP_PREFIX) || name.starts_with(MANIFEST_TMP_PREFIX) {
            let path = dir.join(&name);
            std::fs::remove_file(&path).map_err(io_err(&path, "remove a leftover file"))?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn list(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(io_err(dir, "list the index directory"))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(dir, "list the index directory"))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// The generation a file name belongs to (`ann-12.graph` → 12; format
/// 1's `ann-12.hnsw.graph` and `.hnsw.data` too).
fn generation_of(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("ann-")?;
    let (number, suffix) = rest.split_once('.')?;
    if suffix != GRAPH_SUFFIX && !LEGACY_SUFFIXES.contains(&suffix) {
        return None;
    }
    number.parse().ok()
}

/// The highest generation that has files in the directory.
pub(crate) fn highest_generation(dir: &Path) -> Result<Option<u64>> {
    Ok(list(dir)?.iter().filter_map(|n| generation_of(n)).max())
}

/// Deletes the files of every generation but `keep`, skipping one that a
/// reader is loading. Call with the writer lock held. Returns how many
/// generations were left for later because a reader held them.
pub(crate) fn retire_generations(dir: &Path, keep: Option<u64>) -> Result<usize> {
    let mut generations: Vec<u64> = list(dir)?
        .iter()
        .filter_map(|n| generation_of(n))
        .filter(|g| Some(*g) != keep)
        .collect();
    generations.sort_unstable();
    generations.dedup();
    let mut busy = 0;
    'generations: for generation in generations {
        let base = format!("ann-{generation}");
        let names = [GRAPH_SUFFIX, LEGACY_SUFFIXES[0], LEGACY_SUFFIXES[1]]
            .map(|suffix| dir.join(format!("{base}.{suffix}")));
        // Readers pin the graph file (`.hnsw.graph` in format 1): hold the
        // exclusive locks while removing.
        let mut locks = Vec::new();
        for path in &names[..2] {
            match File::open(path) {
                Ok(file) => match file.try_lock() {
                    Ok(()) => locks.push(file),
                    Err(std::fs::TryLockError::WouldBlock) => {
                        busy += 1;
                        continue 'generations;
                    }
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(io_err(path, "lock for removal")(e))
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(path, "open for removal")(e)),
            }
        }
        for path in names.iter().rev() {
            remove_if_present(path)?;
        }
    }
    Ok(busy)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, "remove")(e)),
    }
}

/// The temporary name of a graph file being written.
pub(crate) struct TempGraph {
    pub path: PathBuf,
}

impl TempGraph {
    pub fn new(dir: &Path, generation: u64) -> TempGraph {
        TempGraph {
            path: dir.join(format!(
                "{TMP_PREFIX}{}-{generation}.{GRAPH_SUFFIX}",
                std::process::id()
            )),
        }
    }

    /// Best-effort removal after a failed build.
    pub fn discard(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Moves a written (fsynced) graph file to its generation's name and makes
/// `manifest` the current one: rename the file, write the manifest to a
/// temporary name, fsync it, rename it over `ann.json`, fsync the directory.
pub(crate) fn publish(dir: &Path, tmp: &TempGraph, manifest: &Manifest) -> Result<()> {
    let graph = dir.join(&manifest.graph.name);
    std::fs::rename(&tmp.path, &graph).map_err(io_err(&graph, "rename the graph into place"))?;
    let text = serde_json::to_string_pretty(manifest).map_err(|e| Error::AnnBuild {
        path: dir.to_owned(),
        what: "encode the manifest",
        cause: e.to_string(),
    })?;
    write_manifest_text(dir, &text)
}

fn write_manifest_text(dir: &Path, text: &str) -> Result<()> {
    let tmp = dir.join(format!("{MANIFEST_TMP_PREFIX}{}", std::process::id()));
    {
        let mut file = File::create(&tmp).map_err(io_err(&tmp, "create the manifest"))?;
        file.write_all(text.as_bytes())
            .map_err(io_err(&tmp, "write the manifest"))?;
        file.sync_all()
            .map_err(io_err(&tmp, "fsync the manifest"))?;
    }
    let path = dir.join(MANIFEST);
    std::fs::rename(&tmp, &path).map_err(io_err(&path, "rename the manifest into place"))?;
    sync_dir(dir)
}

/// Removes `ann.json` (no graph is current any more) durably.
pub(crate) fn unpublish(dir: &Path) -> Result<()> {
    remove_if_present(&dir.join(MANIFEST))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    // Makes the renames durable; on unix a directory can be opened and
    // fsynced like a file.
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "fsync the index directory"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_names_parse() {
        assert_eq!(generation_of("ann-12.graph"), Some(12));
        assert_eq!(generation_of("ann-12.hnsw.graph"), Some(12));
        assert_eq!(generation_of("ann-3.hnsw.data"), Some(3));
        assert_eq!(generation_of("ann-tmp-55-3.graph"), None);
        assert_eq!(generation_of("ann-tmp-55-3.hnsw.data"), None);
        assert_eq!(generation_of("ann-3.json"), None);
        assert_eq!(generation_of("ann.json"), None);
    }
}
