//! The ANN cache on disk: its manifest, its file names, how a new graph is
//! published and an old one retired, and how a reader pins the files it
//! loads. `index-format.md` ("The ANN cache") describes the same protocol
//! for someone reading the directory.
//!
//! A graph is two hnsw_rs dump files, `ann-<generation>.hnsw.graph` and
//! `ann-<generation>.hnsw.data`, and `ann.json` names the current
//! generation with the size and BLAKE3 hash of each file. Two files cannot
//! be swapped atomically, so they are never swapped: a writer dumps to
//! temporary names (`ann-tmp-...`), fsyncs, renames them to a new
//! generation, then replaces `ann.json` by rename and fsyncs the directory.
//! Until that last rename, readers see the previous generation, whole.
//!
//! Retiring a generation must not pull files from under a reader that is
//! loading it. A reader holds a shared `flock` on the graph file while it
//! verifies and loads; a writer deletes a generation only if it gets the
//! exclusive lock without waiting, and otherwise leaves it for the next run.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The manifest's file name.
pub(crate) const MANIFEST: &str = "ann.json";
/// Held exclusively by a writer for a whole refresh.
pub(crate) const WRITER_LOCK: &str = "ann.lock";
/// Prefix of every temporary name a writer uses; such files are removed,
/// never loaded.
const TMP_PREFIX: &str = "ann-tmp-";
const MANIFEST_TMP_PREFIX: &str = "ann.json.tmp-";
/// The version of the manifest and of the way hark uses hnsw_rs's dump.
/// 2: the graph's ids are points (file and segment, schema V3), not files.
pub(crate) const FORMAT: u32 = 2;
/// The hnsw_rs release whose dump format the files are in.
pub(crate) const HNSW_RS_VERSION: &str = "0.3.5";
/// A manifest bigger than this is not one hark wrote (orphan lists are
/// short); refusing it bounds what a damaged file can make us allocate.
const MANIFEST_MAX_BYTES: u64 = 64 << 20;

/// One dump file as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileSum {
    /// File name inside the index directory.
    pub name: String,
    /// Exact size in bytes.
    pub bytes: u64,
    /// BLAKE3 hash of the content, lower-case hex.
    pub blake3: String,
}

/// `ann.json`: what the current graph covers and how to check its files.
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
    /// Vectors in the graph (including `orphans`).
    pub count: usize,
    /// The graph holds exactly the catalog's vectors of `model`/`pipeline`
    /// with `seq <= built_seq`, as of the snapshot it was built from.
    pub built_seq: i64,
    /// hnsw_rs `max_nb_connection` (M; layer 0 keeps 2·M).
    pub max_nb_connection: usize,
    /// hnsw_rs `ef_construction`.
    pub ef_construction: usize,
    /// Type name of the distance, as hnsw_rs records and checks it.
    pub distance: String,
    /// hnsw_rs writes native-endian integers and `usize`: the files are
    /// only readable where these match.
    pub byte_order: String,
    /// Bits of `usize` where the files were written.
    pub pointer_bits: u32,
    /// [`HNSW_RS_VERSION`] when written.
    pub hnsw_rs: String,
    /// File ids in the graph that no search can reach from its entry point;
    /// readers scan them exactly.
    pub orphans: Vec<i64>,
    /// The graph file.
    pub graph: FileSum,
    /// The data file.
    pub data: FileSum,
    /// When the build finished, seconds since the Unix epoch.
    pub built_at: i64,
    /// How long the build took (reading, inserting, checking, writing).
    pub build_seconds: f64,
}

impl Manifest {
    /// The hnsw_rs dump basename of this generation.
    pub fn basename(&self) -> String {
        generation_basename(self.generation)
    }

    /// Why these files cannot be loaded by this build of hark, if so.
    pub fn incompatibility(&self) -> Option<String> {
        if self.format != FORMAT {
            return Some(format!("format {} (this hark reads {FORMAT})", self.format));
        }
        if self.byte_order != byte_order() || self.pointer_bits != usize::BITS {
            return Some(format!(
                "written on a {}-endian {}-bit machine",
                self.byte_order, self.pointer_bits
            ));
        }
        if self.hnsw_rs != HNSW_RS_VERSION {
            return Some(format!(
                "written with hnsw_rs {} (this hark uses {HNSW_RS_VERSION})",
                self.hnsw_rs
            ));
        }
        let base = self.basename();
        if self.graph.name != format!("{base}.hnsw.graph")
            || self.data.name != format!("{base}.hnsw.data")
        {
            return Some("file names do not match the generation".into());
        }
        None
    }
}

pub(crate) fn byte_order() -> &'static str {
    if cfg!(target_endian = "little") {
        "little"
    } else {
        "big"
    }
}

pub(crate) fn generation_basename(generation: u64) -> String {
    format!("ann-{generation}")
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

/// Hashes a file from an open handle.
fn hash_file(file: &File, path: &Path) -> Result<(u64, String)> {
    let mut hasher = blake3::Hasher::new();
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    hasher
        .update_reader(&mut reader)
        .map_err(io_err(path, "read for its checksum"))?;
    let len = file.metadata().map_err(io_err(path, "stat"))?.len();
    Ok((len, hasher.finalize().to_hex().to_string()))
}

/// Checks a file against its manifest entry, by size first (cheap, and
/// catches truncation) and then by hash.
fn verify(file: &File, path: &Path, sum: &FileSum) -> Result<()> {
    let len = file.metadata().map_err(io_err(path, "stat"))?.len();
    if len != sum.bytes {
        return Err(corrupt(
            path,
            format!("{len} bytes, the manifest says {}", sum.bytes),
        ));
    }
    let (_, hash) = hash_file(file, path)?;
    if hash != sum.blake3 {
        return Err(corrupt(path, "content does not match its checksum"));
    }
    Ok(())
}

/// A generation's files, checked against the manifest and pinned: while
/// this lives no writer deletes them, so hnsw_rs can open them by name.
pub(crate) struct PinnedFiles {
    // Holds the shared lock; released on drop.
    _graph: File,
}

/// Why pinning failed.
pub(crate) enum PinError {
    /// The generation was retired meanwhile: read the manifest again.
    Gone,
    /// The files are missing, damaged or unreadable.
    Bad(Error),
}

/// Pins and verifies the files `manifest` names.
pub(crate) fn pin_and_verify(dir: &Path, manifest: &Manifest) -> Result<PinnedFiles, PinError> {
    let graph_path = dir.join(&manifest.graph.name);
    let data_path = dir.join(&manifest.data.name);
    let graph = match File::open(&graph_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PinError::Gone),
        Err(e) => return Err(PinError::Bad(io_err(&graph_path, "open")(e))),
    };
    graph
        .lock_shared()
        .map_err(|e| PinError::Bad(io_err(&graph_path, "lock")(e)))?;
    // A writer unlinks only while holding the exclusive lock, so once we
    // hold the shared one the name either still points at this file (and
    // stays) or the file was retired before we got the lock.
    let held = graph
        .metadata()
        .map_err(|e| PinError::Bad(io_err(&graph_path, "stat")(e)))?;
    match std::fs::metadata(&graph_path) {
        Ok(now) if same_file(&held, &now) => {}
        _ => return Err(PinError::Gone),
    }
    verify(&graph, &graph_path, &manifest.graph).map_err(PinError::Bad)?;
    let data = File::open(&data_path).map_err(|e| PinError::Bad(io_err(&data_path, "open")(e)))?;
    verify(&data, &data_path, &manifest.data).map_err(PinError::Bad)?;
    Ok(PinnedFiles { _graph: graph })
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

/// The generation a file name belongs to (`ann-12.hnsw.graph` → 12).
fn generation_of(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("ann-")?;
    let (number, suffix) = rest.split_once('.')?;
    if suffix != "hnsw.graph" && suffix != "hnsw.data" {
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
    for generation in generations {
        let base = generation_basename(generation);
        let graph_path = dir.join(format!("{base}.hnsw.graph"));
        let data_path = dir.join(format!("{base}.hnsw.data"));
        match File::open(&graph_path) {
            Ok(graph) => match graph.try_lock() {
                Ok(()) => {
                    remove_if_present(&data_path)?;
                    remove_if_present(&graph_path)?;
                }
                Err(std::fs::TryLockError::WouldBlock) => busy += 1,
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io_err(&graph_path, "lock for removal")(e))
                }
            },
            // No graph file: no reader can be pinning this generation.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => remove_if_present(&data_path)?,
            Err(e) => return Err(io_err(&graph_path, "open for removal")(e)),
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

/// Temporary dump names for a build in progress.
pub(crate) struct TempDump {
    pub dir: PathBuf,
    pub basename: String,
}

impl TempDump {
    pub fn new(dir: &Path, generation: u64) -> TempDump {
        TempDump {
            dir: dir.to_owned(),
            basename: format!("{TMP_PREFIX}{}-{generation}", std::process::id()),
        }
    }

    pub fn graph(&self) -> PathBuf {
        self.dir.join(format!("{}.hnsw.graph", self.basename))
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join(format!("{}.hnsw.data", self.basename))
    }

    /// Creates both files empty, so a directory we cannot write to fails
    /// here with an error rather than inside hnsw_rs (which prints to
    /// stdout and panics when it cannot open them).
    pub fn create(&self) -> Result<()> {
        for path in [self.graph(), self.data()] {
            File::create(&path).map_err(io_err(&path, "create a temporary dump file"))?;
        }
        Ok(())
    }

    /// Fsyncs both files and hashes them as written to disk; returns the
    /// (graph, data) entries, still to be named.
    pub fn seal(&self) -> Result<(FileSum, FileSum)> {
        let seal_one = |path: PathBuf| -> Result<FileSum> {
            let file = File::open(&path).map_err(io_err(&path, "open a dump file"))?;
            file.sync_all()
                .map_err(io_err(&path, "fsync a dump file"))?;
            let (bytes, blake3) = hash_file(&file, &path)?;
            Ok(FileSum {
                name: String::new(),
                bytes,
                blake3,
            })
        };
        Ok((seal_one(self.graph())?, seal_one(self.data())?))
    }

    /// Best-effort removal after a failed build.
    pub fn discard(&self) {
        let _ = std::fs::remove_file(self.graph());
        let _ = std::fs::remove_file(self.data());
    }
}

/// Moves a sealed dump to its generation's names and makes `manifest` the
/// current one: rename the files, write the manifest to a temporary name,
/// fsync it, rename it over `ann.json`, fsync the directory.
pub(crate) fn publish(dir: &Path, tmp: &TempDump, manifest: &Manifest) -> Result<()> {
    let graph = dir.join(&manifest.graph.name);
    let data = dir.join(&manifest.data.name);
    std::fs::rename(tmp.graph(), &graph).map_err(io_err(&graph, "rename the graph into place"))?;
    std::fs::rename(tmp.data(), &data).map_err(io_err(&data, "rename the data into place"))?;
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
        assert_eq!(generation_of("ann-12.hnsw.graph"), Some(12));
        assert_eq!(generation_of("ann-3.hnsw.data"), Some(3));
        assert_eq!(generation_of("ann-tmp-55-3.hnsw.data"), None);
        assert_eq!(generation_of("ann-3.json"), None);
        assert_eq!(generation_of("ann.json"), None);
    }
}
