//! Finding the sound files under a root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use walkdir::WalkDir;

/// File extensions hark indexes (compared case-insensitively): the
/// containers hark-audio decodes. A file is chosen by its extension so that
/// a walk never opens files; whether it really is audio shows when it is
/// decoded (a text file named `.wav` is recorded as failed, with the cause).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "bwf", "rf64", "w64", "aif", "aiff", "aifc", "flac", "mp3", "mp2", "ogg", "oga",
    "opus", "m4a", "mp4", "caf", "mka", "mkv", "webm", "au", "snd", "wv",
];

/// Whether `path` has one of the [`AUDIO_EXTENSIONS`].
pub fn is_audio_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// A sound file found by a walk, with the facts change detection compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its path, under the root as given.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
}

/// Something a walk could not look at; the walk goes on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkProblem {
    /// The folder or file.
    pub path: PathBuf,
    /// What went wrong, for a person.
    pub cause: String,
}

/// What a walk of one root found.
#[derive(Debug, Default)]
pub struct Walk {
    /// The sound files, in walk order (sorted by name within a folder).
    pub files: Vec<Found>,
    /// Folders and files that could not be read, and symlink loops.
    pub problems: Vec<WalkProblem>,
    /// Folders that could not be listed: files indexed under them earlier
    /// are not known to be gone, so they are kept.
    pub unreadable_dirs: BTreeSet<PathBuf>,
}

/// The modification time of `meta` in nanoseconds since the Unix epoch
/// (negative before it; 0 if the platform has none).
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    match meta.modified() {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
        },
        Err(_) => 0,
    }
}

/// Whether a walk entry is hidden (its name starts with a dot). The root
/// itself is never hidden, whatever its name.
fn hidden(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0 && entry.file_name().as_encoded_bytes().first() == Some(&b'.')
}

/// Walks `root`: every file with an audio extension, following symbolic
/// links (a link that loops back to a folder above it is reported and not
/// followed), skipping hidden files and folders. Unreadable folders and
/// files are reported in [`Walk::problems`] and skipped.
pub fn walk_root(root: &Path) -> Walk {
    let mut walk = Walk::default();
    let entries = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !hidden(e));
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let cause = if let Some(ancestor) = err.loop_ancestor() {
                    format!(
                        "symbolic link loop back to `{}`; not followed",
                        ancestor.display()
                    )
                } else if let Some(io) = err.io_error() {
                    // walkdir reports a folder it cannot list at the folder's depth.
                    if path.is_dir() || io.kind() == std::io::ErrorKind::PermissionDenied {
                        walk.unreadable_dirs.insert(path.clone());
                    }
                    format!("cannot read: {io}")
                } else {
                    err.to_string()
                };
                walk.problems.push(WalkProblem { path, cause });
                continue;
            }
        };
        if !entry.file_type().is_file() || !is_audio_path(entry.path()) {
            continue;
        }
        match entry.metadata() {
            Ok(meta) => walk.files.push(Found {
                path: entry.into_path(),
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
            }),
            Err(err) => walk.problems.push(WalkProblem {
                path: entry.path().to_path_buf(),
                cause: format!("cannot stat: {err}"),
            }),
        }
    }
    walk
}

/// Whether `path` is inside one of `dirs` (or is one).
pub fn under_any(path: &Path, dirs: &BTreeSet<PathBuf>) -> bool {
    path.ancestors().any(|a| dirs.contains(a))
}
