//! The batch log in the index directory (index-format.md, "Tag log"): its
//! lines, the old bytes around each file's audio, and reading it back.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hark_audio::FieldChange;
use serde::{Deserialize, Serialize};

use super::{Error, Result};
use crate::{hash_file, mtime_ns};

/// The log folder's name in the index directory.
pub(super) const LOG_DIR: &str = "tag-log";

/// One line of a batch's `log.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum LogLine {
    /// Before the file is touched: what it was, what will change.
    Plan {
        n: usize,
        path: String,
        old: Stat,
        changes: Vec<Change>,
        audio_offset: u64,
        audio_len: u64,
        audio_hash: String,
    },
    /// The file was rewritten.
    Written { n: usize, new: Stat },
    /// The file was renamed.
    Renamed { n: usize, from: String, to: String },
}

/// A file's size, time and content hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(super) struct Stat {
    pub(super) size: u64,
    pub(super) mtime_ns: i64,
    pub(super) hash: String,
}

impl Stat {
    /// The file at `path` now.
    pub(super) fn of(path: &Path) -> Result<Stat> {
        let read = |source| Error::Io {
            path: path.to_owned(),
            what: "read",
            source,
        };
        let meta = fs::metadata(path).map_err(read)?;
        let hash = hash_file(path).map_err(read)?;
        Ok(Stat {
            size: meta.len(),
            mtime_ns: mtime_ns(&meta),
            hash: hex(&hash),
        })
    }
}

/// A field a write changes: its key (as in the catalog's tags), the old
/// value if there was one, and the new.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Change {
    /// The key (`bext.Description`, `ixml.USER.CATID`, `vorbis.KEYWORDS`).
    pub key: String,
    /// The value before, if the field was there.
    pub old: Option<String>,
    /// The value after.
    pub new: String,
}

impl From<&FieldChange> for Change {
    fn from(c: &FieldChange) -> Change {
        Change {
            key: c.key.clone(),
            old: c.old.clone(),
            new: c.new.clone(),
        }
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `path` as UTF-8, which the log's JSON needs.
pub(super) fn utf8(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::NotUtf8 {
            path: path.to_owned(),
        })
}

/// The open batch: its folder and log.
pub(super) struct Batch {
    dir: PathBuf,
    log: File,
}

impl Batch {
    /// A new batch folder in `index_dir`'s log, named by the time.
    pub(super) fn create(index_dir: &Path) -> Result<Batch> {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos();
        let dir = index_dir.join(LOG_DIR).join(format!("{stamp:024}"));
        fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            what: "create",
            source,
        })?;
        let log = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(dir.join("log.jsonl"))
            .map_err(|source| Error::Io {
                path: dir.join("log.jsonl"),
                what: "create the tag log",
                source,
            })?;
        Ok(Batch { dir, log })
    }

    /// Appends a line and syncs it: the log is on disk before the file
    /// changes.
    pub(super) fn append(&mut self, line: &LogLine) -> Result<()> {
        let mut text = serde_json::to_string(line).expect("a log line serialises");
        text.push('\n');
        self.log
            .write_all(text.as_bytes())
            .and_then(|()| self.log.sync_all())
            .map_err(|source| Error::Io {
                path: self.dir.join("log.jsonl"),
                what: "write the tag log",
                source,
            })
    }

    /// Writes the file `name` of the batch, synced.
    pub(super) fn blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(name);
        let io = |what| {
            let path = path.clone();
            move |source| Error::Io { path, what, source }
        };
        let mut file = File::create(&path).map_err(io("create"))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(io("write"))
    }
}

/// One file of a batch's log, gathered from its lines.
pub(super) struct Logged {
    pub(super) n: usize,
    pub(super) path: String,
    pub(super) old: Stat,
    pub(super) offset: u64,
    pub(super) len: u64,
    pub(super) hash: String,
    pub(super) written: Option<Stat>,
    pub(super) renamed: Option<String>,
}

impl Logged {
    /// The files of the batch in `dir`, in the batch's order.
    pub(super) fn read(dir: &Path) -> Result<Vec<Logged>> {
        let text = fs::read_to_string(dir.join("log.jsonl")).map_err(|source| Error::Io {
            path: dir.join("log.jsonl"),
            what: "read the tag log",
            source,
        })?;
        let mut files: Vec<Logged> = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let line: LogLine = serde_json::from_str(line).map_err(|_| Error::LogDamaged {
                dir: dir.to_owned(),
            })?;
            match line {
                LogLine::Plan {
                    n,
                    path,
                    old,
                    audio_offset,
                    audio_len,
                    audio_hash,
                    ..
                } => files.push(Logged {
                    n,
                    path,
                    old,
                    offset: audio_offset,
                    len: audio_len,
                    hash: audio_hash,
                    written: None,
                    renamed: None,
                }),
                LogLine::Written { n, new } => {
                    if let Some(f) = files.iter_mut().find(|f| f.n == n) {
                        f.written = Some(new);
                    }
                }
                LogLine::Renamed { n, to, .. } => {
                    if let Some(f) = files.iter_mut().find(|f| f.n == n) {
                        f.renamed = Some(to);
                    }
                }
            }
        }
        Ok(files)
    }
}
