//! Handing sounds on: copying hits into a folder (to drag into a DAW) and
//! opening a file's folder in the file manager.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use crate::app::ExportReport;
use crate::strings;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The folder could not be created.
    #[error("failed to create the folder `{}`: {cause}", dir.display())]
    CreateDir {
        /// The folder.
        dir: PathBuf,
        /// What the operating system said.
        #[source]
        cause: io::Error,
    },
    /// A file could not be copied (vanished since indexing, no room, no
    /// permission). The files before it were copied.
    #[error("failed to copy `{}` to `{}`: {cause} ({copied} copied before it)", from.display(), to.display())]
    Copy {
        /// The file.
        from: PathBuf,
        /// Where it was going.
        to: PathBuf,
        /// Files copied before this one.
        copied: usize,
        /// What the operating system said.
        #[source]
        cause: io::Error,
    },
    /// A path has no file name (a root or `..`).
    #[error("`{}` has no file name to copy it under", path.display())]
    NoFileName {
        /// The path.
        path: PathBuf,
    },
}

/// `path` with a leading `~` replaced by `home` (the prompt is typed by a
/// person; the shell is not there to expand it).
pub fn expand_home(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// Where a folder typed at the export prompt is: a leading `~` is `home`,
/// and a relative path is under `cwd` (the UI's working folder), made
/// absolute so the report says where the files went.
pub fn resolve_dir(dir: &Path, home: Option<&Path>, cwd: Option<&Path>) -> PathBuf {
    let dir = expand_home(dir, home);
    match cwd {
        Some(cwd) if dir.is_relative() => cwd.join(dir),
        _ => dir,
    }
}

/// Copies `files` into `dir` (created if missing; a leading `~` is the
/// home folder, a relative path is under the working folder) under their
/// own names. hark never overwrites: when a file
/// of that name is already there with the same content, it is left alone
/// and counted as skipped; when a different file has the name (two marked
/// hits from two folders, or another sound already in the folder), the
/// copy goes under `NAME (2).EXT`, `NAME (3).EXT`, ... and is reported.
pub fn export(files: &[PathBuf], dir: &Path) -> Result<ExportReport, ExportError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let cwd = std::env::current_dir().ok();
    let dir = &resolve_dir(dir, home.as_deref(), cwd.as_deref());
    std::fs::create_dir_all(dir).map_err(|cause| ExportError::CreateDir {
        dir: dir.to_path_buf(),
        cause,
    })?;
    let mut report = ExportReport {
        dir: dir.to_path_buf(),
        copied: 0,
        skipped: 0,
        renamed: Vec::new(),
    };
    for from in files {
        let name = from
            .file_name()
            .ok_or_else(|| ExportError::NoFileName { path: from.clone() })?;
        let fail = |to: PathBuf, copied: usize, cause: io::Error| ExportError::Copy {
            from: from.clone(),
            to,
            copied,
            cause,
        };
        let mut attempt = 1;
        let (to, mut target) = loop {
            let candidate = dir.join(numbered(name, attempt));
            // create_new: an existing file is never truncated, even if it
            // appears between a check and the copy.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&candidate)
            {
                Ok(file) => break (candidate, Some(file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let same = same_content(from, &candidate)
                        .map_err(|cause| fail(candidate.clone(), report.copied, cause))?;
                    if same {
                        break (candidate, None);
                    }
                    attempt += 1;
                }
                Err(cause) => return Err(fail(candidate, report.copied, cause)),
            }
        };
        let Some(file) = target.as_mut() else {
            report.skipped += 1;
            continue;
        };
        let copied = std::fs::File::open(from).and_then(|mut source| io::copy(&mut source, file));
        if let Err(cause) = copied {
            drop(target);
            // Leave no half file behind under a name the user will trust.
            let _ = std::fs::remove_file(&to);
            return Err(fail(to, report.copied, cause));
        }
        report.copied += 1;
        if attempt > 1 {
            let given = to.file_name().unwrap_or_default().to_string_lossy();
            report.renamed.push((from.clone(), given.into_owned()));
        }
    }
    Ok(report)
}

/// `name` for the `n`th try: itself first, then `stem (n).ext`.
fn numbered(name: &OsStr, n: u32) -> OsString {
    if n == 1 {
        return name.to_os_string();
    }
    let path = Path::new(name);
    let stem = path.file_stem().unwrap_or(name);
    let mut out = stem.to_os_string();
    out.push(format!(" ({n})"));
    if let Some(ext) = path.extension() {
        out.push(".");
        out.push(ext);
    }
    out
}

/// Whether the files `a` and `b` hold the same bytes.
fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    use std::io::Read;
    let (mut fa, mut fb) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        fb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// Asks the desktop to open `dir` (xdg-open and friends, through the `open`
/// crate). Returns once the opener started; fails when the folder is gone
/// or no opener exists (a server), saying so in words: the `open` crate's
/// own error names the last launcher tried and its exit status, which is
/// kept for the log.
pub fn open_folder(dir: &Path) -> io::Result<()> {
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the folder no longer exists",
        ));
    }
    open::that_detached(dir).map_err(|cause| {
        tracing::warn!("opening `{}`: {cause}", dir.display());
        io::Error::new(cause.kind(), strings::NO_FOLDER_OPENER)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_copies_creates_the_folder_and_never_overwrites() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let a = tmp.path().join("a.wav");
        let b = tmp.path().join("b.wav");
        std::fs::write(&a, b"aaaa").unwrap();
        std::fs::write(&b, b"bbbb").unwrap();
        let out = tmp.path().join("out/nested");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("b.wav"), b"mine").unwrap();

        let report = export(&[a.clone(), b.clone()], &out).expect("export");
        // b.wav there holds other bytes: b is copied beside it (issue 17).
        assert_eq!((report.copied, report.skipped), (2, 0));
        assert_eq!(std::fs::read(out.join("a.wav")).unwrap(), b"aaaa");
        assert_eq!(
            std::fs::read(out.join("b.wav")).unwrap(),
            b"mine",
            "existing file overwritten"
        );
        assert_eq!(std::fs::read(out.join("b (2).wav")).unwrap(), b"bbbb");
        // Again: everything is there with the same content.
        let report = export(&[a, b], &out).expect("export");
        assert_eq!((report.copied, report.skipped), (0, 2));
    }

    /// Issue 17 point 4: two marked hits of one name (different sounds in
    /// two folders) were exported as one, the other called "already there".
    #[test]
    fn same_named_files_are_both_copied_under_distinct_names() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let a = tmp.path().join("basses/rave_bass02.ogg");
        let b = tmp.path().join("bassloops/rave_bass02.ogg");
        let c = tmp.path().join("more/rave_bass02.ogg");
        for (p, bytes) in [(&a, b"one" as &[u8]), (&b, b"two"), (&c, b"three")] {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        let out = tmp.path().join("out");
        let report = export(&[a, b.clone(), c.clone()], &out).expect("export");
        assert_eq!((report.copied, report.skipped), (3, 0));
        assert_eq!(std::fs::read(out.join("rave_bass02.ogg")).unwrap(), b"one");
        assert_eq!(
            std::fs::read(out.join("rave_bass02 (2).ogg")).unwrap(),
            b"two"
        );
        assert_eq!(
            std::fs::read(out.join("rave_bass02 (3).ogg")).unwrap(),
            b"three"
        );
        assert_eq!(
            report.renamed,
            vec![
                (b, "rave_bass02 (2).ogg".to_string()),
                (c, "rave_bass02 (3).ogg".to_string())
            ]
        );
        let text =
            crate::strings::exported(report.copied, report.skipped, &report.renamed, &report.dir);
        assert!(text.contains("as `rave_bass02 (2).ogg`"), "{text}");
        assert!(!text.contains("already there"), "{text}");
    }

    #[test]
    fn a_name_without_an_extension_is_numbered_too() {
        assert_eq!(numbered(OsStr::new("kick"), 2), OsString::from("kick (2)"));
        assert_eq!(
            numbered(OsStr::new("a.b.wav"), 3),
            OsString::from("a.b (3).wav")
        );
    }

    #[test]
    fn export_of_a_vanished_file_names_it_and_leaves_no_partial_copy() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let gone = tmp.path().join("gone.wav");
        let out = tmp.path().join("out");
        let err = export(std::slice::from_ref(&gone), &out).expect_err("must fail");
        let text = err.to_string();
        assert!(
            text.contains("gone.wav") && text.contains("0 copied"),
            "{text}"
        );
        assert!(!out.join("gone.wav").exists());
    }

    #[test]
    fn a_leading_tilde_is_the_home_folder() {
        let home = Path::new("/home/ann");
        assert_eq!(
            expand_home(Path::new("~/picks"), Some(home)),
            PathBuf::from("/home/ann/picks")
        );
        assert_eq!(
            expand_home(Path::new("~"), Some(home)),
            PathBuf::from("/home/ann")
        );
        assert_eq!(
            expand_home(Path::new("/tmp/~x"), Some(home)),
            PathBuf::from("/tmp/~x")
        );
        assert_eq!(
            expand_home(Path::new("~bob/x"), Some(home)),
            PathBuf::from("~bob/x")
        );
        assert_eq!(
            expand_home(Path::new("~/picks"), None),
            PathBuf::from("~/picks")
        );
    }

    /// Issue 17 point 13: `out3` was created under the UI's working folder
    /// and reported as `out3`.
    #[test]
    fn a_relative_folder_resolves_under_the_working_folder() {
        let (home, cwd) = (Path::new("/home/ann"), Path::new("/srv/work"));
        assert_eq!(
            resolve_dir(Path::new("out3"), Some(home), Some(cwd)),
            PathBuf::from("/srv/work/out3")
        );
        assert_eq!(
            resolve_dir(Path::new("~/picks"), Some(home), Some(cwd)),
            PathBuf::from("/home/ann/picks")
        );
        assert_eq!(
            resolve_dir(Path::new("/tmp/x"), Some(home), Some(cwd)),
            PathBuf::from("/tmp/x")
        );
        let tmp = tempfile::tempdir().expect("temp dir");
        let a = tmp.path().join("a.wav");
        std::fs::write(&a, b"a").unwrap();
        let report = export(&[a], &tmp.path().join("out")).expect("export");
        assert!(report.dir.is_absolute());
    }

    #[test]
    fn open_folder_refuses_a_missing_folder() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let err = open_folder(&tmp.path().join("nope")).expect_err("must fail");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
