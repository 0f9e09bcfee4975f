//! Handing sounds on: copying hits into a folder (to drag into a DAW) and
//! opening a file's folder in the file manager.

use std::io;
use std::path::{Path, PathBuf};

use crate::app::ExportReport;

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

/// Copies `files` into `dir` (created if missing; a leading `~` is the
/// home folder) under their own names. A file already there under the same
/// name is left alone and counted as skipped: hark never overwrites.
pub fn export(files: &[PathBuf], dir: &Path) -> Result<ExportReport, ExportError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let dir = &expand_home(dir, home.as_deref());
    std::fs::create_dir_all(dir).map_err(|cause| ExportError::CreateDir {
        dir: dir.to_path_buf(),
        cause,
    })?;
    let mut report = ExportReport {
        dir: dir.to_path_buf(),
        copied: 0,
        skipped: 0,
    };
    for from in files {
        let name = from
            .file_name()
            .ok_or_else(|| ExportError::NoFileName { path: from.clone() })?;
        let to = dir.join(name);
        // create_new: an existing file is never truncated, even if it
        // appears between a check and the copy.
        let target = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&to);
        let mut target = match target {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                report.skipped += 1;
                continue;
            }
            Err(cause) => {
                return Err(ExportError::Copy {
                    from: from.clone(),
                    to,
                    copied: report.copied,
                    cause,
                })
            }
        };
        let copied =
            std::fs::File::open(from).and_then(|mut source| io::copy(&mut source, &mut target));
        if let Err(cause) = copied {
            drop(target);
            // Leave no half file behind under a name the user will trust.
            let _ = std::fs::remove_file(&to);
            return Err(ExportError::Copy {
                from: from.clone(),
                to,
                copied: report.copied,
                cause,
            });
        }
        report.copied += 1;
    }
    Ok(report)
}

/// Asks the desktop to open `dir` (xdg-open and friends, through the `open`
/// crate). Returns once the opener started; fails when the folder is gone
/// or no opener exists (a server).
pub fn open_folder(dir: &Path) -> io::Result<()> {
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the folder no longer exists",
        ));
    }
    open::that_detached(dir)
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
        assert_eq!((report.copied, report.skipped), (1, 1));
        assert_eq!(std::fs::read(out.join("a.wav")).unwrap(), b"aaaa");
        assert_eq!(
            std::fs::read(out.join("b.wav")).unwrap(),
            b"mine",
            "existing file overwritten"
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

    #[test]
    fn open_folder_refuses_a_missing_folder() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let err = open_folder(&tmp.path().join("nope")).expect_err("must fail");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
