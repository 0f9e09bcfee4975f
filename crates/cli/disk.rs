//! The hint for a full disk: where the index is, how much space is free
//! there, and about how much the rest of the run needs.

use std::path::Path;

use hark_types::terminal;

use crate::index::human_bytes;

/// Bytes a file takes in the catalog when the catalog cannot tell yet (it
/// holds under 100 files): a 512-float vector (2 KB) with its row, the
/// file's metadata and full-text rows, and SQLite's slack. Measured: the
/// benchmark catalog of 20,000 files (docs/benchmarks.md) takes 95.9 MB,
/// 4.8 KB a file.
const BYTES_PER_FILE_GUESS: u64 = 5_000;

/// Free space under which an I/O error is taken for a full disk: SQLite
/// reports some writes on a full disk as a plain I/O error (the
/// shared-memory file that cannot grow: `SQLITE_IOERR_SHMSIZE`).
const NEARLY_FULL: u64 = 1 << 20;

/// Whether `error`, met while writing the index in `index_dir`, is a full
/// disk: said so by SQLite or the OS, or an I/O error with (almost) no
/// space left there.
pub fn is_full(error: &(dyn std::error::Error + 'static), index_dir: &Path) -> bool {
    hark_store::is_disk_full(error)
        || (hark_store::is_io_error(error)
            && free_bytes(index_dir).is_some_and(|free| free < NEARLY_FULL))
}

/// What a run still needed when it stopped.
pub struct Left {
    /// Files planned but not yet done (unknown before the walk ends).
    pub files: Option<u64>,
}

/// The hint for `hark index` stopped by a full disk in `index_dir`.
pub fn hint(index_dir: &Path, left: &Left) -> String {
    let catalog = index_dir.join(hark_store::FILE_NAME);
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let catalog_bytes = size(&catalog) + size(&catalog.with_extension("sqlite3-wal"));
    let stored = hark_store::Catalog::open_readonly(index_dir)
        .and_then(|c| c.counts())
        .map_or(0, |c| c.files);
    // The catalog's own bytes per file once it holds enough files to say.
    let per_file = if stored >= 100 {
        (catalog_bytes / stored).max(1)
    } else {
        BYTES_PER_FILE_GUESS
    };
    let ann_bytes: u64 = std::fs::read_dir(index_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("ann"))
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let free = free_bytes(index_dir)
        .map(|b| format!("{} free", human_bytes(b)))
        .unwrap_or_else(|| "free space unknown".into());
    let need = match left.files {
        Some(files) => {
            // The files left, plus a rebuilt search graph written beside the
            // old one before it replaces it.
            let bytes = files * per_file + ann_bytes;
            format!(
                "the {files} files left need about {} more (about {} a file{}); ",
                human_bytes(bytes),
                human_bytes(per_file),
                if ann_bytes > 0 {
                    ", and room for a new search graph"
                } else {
                    ""
                }
            )
        }
        None => format!("each file needs about {} there; ", human_bytes(per_file)),
    };
    format!(
        "the disk holding the index `{}` is full ({free}): {need}\
         free some space there, or move the index to a larger disk (--index DIR or HARK_INDEX); \
         then run `hark index` again: it resumes where this run stopped",
        terminal::escape_path(index_dir)
    )
}

/// Free bytes for an unprivileged user on the file system holding `dir`.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the plain struct or fails; the path is a valid
    // NUL-terminated string that outlives the call. (std has no portable
    // free-space call, and one libc call does not warrant a crate.)
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_names_the_directory_the_free_space_and_the_need() {
        let dir = std::env::temp_dir();
        let hint = hint(&dir, &Left { files: Some(1000) });
        assert!(hint.contains(&format!("`{}`", dir.display())), "{hint}");
        assert!(hint.contains(" free)"), "{hint}");
        // No catalog there: the guess, 5 KB a file, times 1,000 files.
        assert!(
            hint.contains("the 1000 files left need about 5.0 MB"),
            "{hint}"
        );
        let unknown = super::hint(&dir, &Left { files: None });
        assert!(
            unknown.contains("each file needs about 5.0 KB"),
            "{unknown}"
        );
    }
}
