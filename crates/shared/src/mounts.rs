//! Where this host mounts the shared catalog's named roots: the index
//! directory's `mounts.json`.
//!
//! The same library is mounted at `/Volumes/SFX` on one workstation and
//! `/mnt/sfx` on another; the shared catalog knows it as one root, by
//! name, with paths relative to it. Each index directory keeps its own
//! mounts, so two index directories on one machine act as two hosts.
//! The file is small JSON, written whole beside itself and renamed over.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The file in the index directory that holds the mounts.
pub const MOUNTS_FILE: &str = "mounts.json";

/// One root of the shared catalog as this host mounts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// The root's name in the shared catalog.
    pub name: String,
    /// Where this host mounts it (absolute, canonical when added).
    pub path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    mounts: Vec<Mount>,
}

/// The mounts of one index directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mounts {
    /// The mounts, in the order added.
    pub mounts: Vec<Mount>,
}

impl Mounts {
    /// Reads `index_dir`'s mounts; none if the file does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if it cannot be read, [`Error::BadMounts`] if it is
    /// not a mounts file.
    pub fn load(index_dir: &Path) -> Result<Mounts> {
        let path = index_dir.join(MOUNTS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Mounts::default()),
            Err(source) => {
                return Err(Error::Io {
                    path,
                    what: "read the mounts file",
                    source,
                })
            }
        };
        let file: File = serde_json::from_str(&text).map_err(|e| Error::BadMounts {
            path: path.clone(),
            cause: e.to_string(),
        })?;
        if file.version != 1 {
            return Err(Error::BadMounts {
                path,
                cause: format!("version {} (this hark reads version 1)", file.version),
            });
        }
        Ok(Mounts {
            mounts: file.mounts,
        })
    }

    /// Records `path` as the mount of root `name` (replacing that name's
    /// mount, and any other name's mount at the same path). Returns whether
    /// anything changed.
    pub fn set(&mut self, name: &str, path: &Path) -> bool {
        let before = self.mounts.clone();
        self.mounts.retain(|m| m.name != name && m.path != path);
        self.mounts.push(Mount {
            name: name.to_owned(),
            path: path.to_owned(),
        });
        self.mounts.sort_by(|a, b| a.name.cmp(&b.name));
        before != self.mounts
    }

    /// The mount of root `name`.
    pub fn get(&self, name: &str) -> Option<&Mount> {
        self.mounts.iter().find(|m| m.name == name)
    }

    /// Writes the mounts into `index_dir` (a file beside, synced, renamed
    /// over the old one).
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn save(&self, index_dir: &Path) -> Result<()> {
        let path = index_dir.join(MOUNTS_FILE);
        let error = |source| Error::Io {
            path: path.clone(),
            what: "write the mounts file",
            source,
        };
        let text = serde_json::to_string_pretty(&File {
            version: 1,
            mounts: self.mounts.clone(),
        })
        .expect("mounts serialise");
        let mut tmp = tempfile::NamedTempFile::new_in(index_dir).map_err(error)?;
        tmp.write_all(text.as_bytes()).map_err(error)?;
        tmp.as_file().sync_all().map_err(error)?;
        tmp.persist(&path).map_err(|e| error(e.error))?;
        Ok(())
    }

    /// A stable text naming every mount, to notice that they changed.
    pub fn fingerprint(&self) -> String {
        serde_json::to_string(&self.mounts).expect("mounts serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_round_trip_and_replace_by_name_and_path() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Mounts::load(dir.path()).unwrap(), Mounts::default());
        let mut m = Mounts::default();
        assert!(m.set("sfx", Path::new("/mnt/sfx")));
        assert!(!m.set("sfx", Path::new("/mnt/sfx")));
        assert!(m.set("music", Path::new("/mnt/music")));
        // The same path under another name replaces the old name.
        assert!(m.set("fx", Path::new("/mnt/sfx")));
        m.save(dir.path()).unwrap();
        let back = Mounts::load(dir.path()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.mounts.len(), 2);
        assert_eq!(back.get("fx").unwrap().path, Path::new("/mnt/sfx"));
        assert!(back.get("sfx").is_none());
    }

    #[test]
    fn a_damaged_mounts_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MOUNTS_FILE), "{not json").unwrap();
        let e = Mounts::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains(MOUNTS_FILE), "{e}");
    }
}
