//! Tags written into indexed files, logged for undo, with the catalog
//! following: what `hark tag` and the terminal UI's "accept the suggested
//! category" share.
//!
//! A [`TagBatch`] takes the index's writer lock (a `hark index` running at
//! the same time would see the files change under it), checks each file
//! against the catalog (indexed, and unchanged since: hark does not write
//! over what it has not seen), writes it through hark-audio's
//! [`write_tags`](hark_audio::write_tags) (the audio compared by hash
//! before the new file replaces the old), optionally renames it to its UCS
//! name, and updates its catalog row in place (new path, size, time, hash
//! and tags; the same id and vectors, since the audio did not change). The
//! first file written opens the batch's log folder in the index directory,
//! and every step is logged before (or right after) it happens, so
//! [`undo_last`] restores the files byte for byte.
//!
//! The log (index-format.md, "Tag log"): one folder per batch,
//! `<index>/tag-log/<batch>/`, with `log.jsonl` (one JSON object a line: a
//! `plan` before a file is touched, then `written` and `renamed` as those
//! happen) and, per file, `N.head` and `N.tail`, the old bytes before and
//! after its audio. `undone` marks a batch undone.

mod error;
mod log;
mod names;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use hark_audio::{Before, TagEdit};
use hark_store::{Catalog, FileId, FileRecord};

pub use self::error::{Error, Result};
pub use self::log::Change;
use self::log::{hex, unhex, Batch, LogLine, Logged, Stat, LOG_DIR};
use self::names::{free_name, rename_no_replace, ucs_name};
use crate::{mtime_ns, IndexLock};

/// How to write, beyond the fields of the [`TagEdit`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagOptions {
    /// Rename the file to the UCS convention,
    /// `CatID_FXName_CreatorID_SourceID.ext`: the CatID of the edit's
    /// category (or the file's), the FXName of the edit (or the file's UCS
    /// name's, or its CATID/FXNAME tags', or its stem), the CreatorID and
    /// SourceID given here or the file's UCS name's. A name taken gets a
    /// number after the FXName.
    pub rename_ucs: bool,
    /// The CreatorID block for `rename_ucs`.
    pub creator: Option<String>,
    /// The SourceID block for `rename_ucs`.
    pub source: Option<String>,
    /// Work out what would change and write nothing.
    pub dry_run: bool,
}

/// What tagging one file did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq)]
pub struct TagReport {
    /// The file, as its canonical path before any rename.
    pub path: PathBuf,
    /// The container (`wav`, `flac`, `mp3`, `aiff`).
    pub format: &'static str,
    /// The fields changed (or that would be).
    pub changes: Vec<Change>,
    /// Whether the file was rewritten (false in a dry run, and when it
    /// already said all that).
    pub written: bool,
    /// Its new name, when it is (or would be) renamed.
    pub renamed_to: Option<PathBuf>,
}

/// A batch of tag writes: the catalog, the writer lock (unless a dry run)
/// and, from the first write, the batch's log. Undone as one by
/// [`undo_last`].
pub struct TagBatch {
    catalog: Catalog,
    index_dir: PathBuf,
    dry_run: bool,
    _lock: Option<IndexLock>,
    log: Option<Batch>,
    /// The number the next file gets in the log.
    next: usize,
}

impl TagBatch {
    /// Opens the index in `index_dir` for writing tags, taking its writer
    /// lock unless `dry_run` (then nothing is written).
    pub fn open(index_dir: &Path, dry_run: bool) -> Result<TagBatch> {
        let catalog = Catalog::open(index_dir).map_err(|source| Error::OpenIndex {
            dir: index_dir.to_owned(),
            source: Box::new(source),
        })?;
        let lock = if dry_run {
            None
        } else {
            Some(IndexLock::acquire(index_dir, false)?)
        };
        Ok(TagBatch {
            catalog,
            index_dir: index_dir.to_owned(),
            dry_run,
            _lock: lock,
            log: None,
            next: 0,
        })
    }

    /// Writes `edit` into `file` (see the module docs); each call is the
    /// batch's next file, whether it succeeds or not. `options.dry_run` is
    /// the batch's.
    pub fn tag(&mut self, file: &Path, edit: &TagEdit, options: &TagOptions) -> Result<TagReport> {
        let n = self.next;
        self.next += 1;
        let path = fs::canonicalize(file).map_err(|source| Error::NotFound {
            path: file.to_owned(),
            source,
        })?;
        let path_text = log::utf8(&path)?;
        let stored = self
            .catalog
            .file_by_path(&path)?
            .ok_or_else(|| Error::NotIndexed { path: path.clone() })?;
        let now = Stat::of(&path)?;
        let indexed = &stored.record;
        if now.size != indexed.size
            || now.mtime_ns != indexed.mtime_ns
            || Some(now.hash.as_str()) != indexed.content_hash.as_deref().map(hex).as_deref()
        {
            return Err(Error::ChangedSinceIndexed { path });
        }

        let mut edit = edit.clone();
        let new_name = if options.rename_ucs {
            Some(ucs_name(&path, &edit, indexed, options)?)
        } else {
            None
        };
        if edit.fx_name.is_none() {
            edit.fx_name = new_name.as_ref().map(|(_, fx)| fx.clone());
        }
        let plan = hark_audio::write_tags(&path, &edit, true)?;
        let target = match &new_name {
            Some((name, _)) => Some(free_name(&path, name)?),
            None => None,
        };
        let mut report = TagReport {
            path: path.clone(),
            format: plan.format,
            changes: plan.changes.iter().map(Change::from).collect(),
            written: false,
            renamed_to: target.clone(),
        };
        if self.dry_run || (plan.changes.is_empty() && target.is_none()) {
            return Ok(report);
        }

        let log = match &mut self.log {
            Some(log) => log,
            empty => empty.insert(Batch::create(&self.index_dir)?),
        };
        let before = &plan.before;
        log.blob(&format!("{n}.head"), &before.head)?;
        log.blob(&format!("{n}.tail"), &before.tail)?;
        log.append(&LogLine::Plan {
            n,
            path: path_text,
            old: now,
            changes: report.changes.clone(),
            audio_offset: before.audio.offset,
            audio_len: before.audio.len,
            audio_hash: hex(&before.audio.hash),
        })?;
        if !plan.changes.is_empty() {
            let done = hark_audio::write_tags(&path, &edit, false)?;
            report.written = done.written;
            if done.before != plan.before {
                // Changed between the plan and the write (by another
                // program: hark holds the index lock): the logged bytes are
                // not the ones replaced. Say so rather than let an undo
                // restore the wrong bytes.
                return Err(Error::ChangedWhileWriting { path });
            }
            log.append(&LogLine::Written {
                n,
                new: Stat::of(&path)?,
            })?;
        }
        let mut final_path = path.clone();
        if let Some(target) = &target {
            rename_no_replace(&path, target)?;
            log.append(&LogLine::Renamed {
                n,
                from: log::utf8(&path)?,
                to: log::utf8(target)?,
            })?;
            final_path = target.clone();
        }
        self.catalog
            .transaction(|tx| refresh_row(tx, stored.id, indexed, &final_path))?;
        Ok(report)
    }
}

/// One file of an undone batch.
#[derive(Debug)]
pub struct UndoneFile {
    /// The file's path before the batch (where it is again if restored).
    pub path: PathBuf,
    /// Whether it was restored, or why not.
    pub result: Result<()>,
}

/// What [`undo_last`] did: the batch's folder and its files, in the order
/// they were restored (the reverse of the batch's).
#[derive(Debug)]
pub struct Undone {
    /// The batch's log folder.
    pub batch: PathBuf,
    /// Its files.
    pub files: Vec<UndoneFile>,
}

/// Restores the files of the last batch not yet undone, byte for byte
/// (their names and times too), and their catalog rows; the batch is
/// marked undone if every file came back. A file changed since the batch
/// wrote it is left alone and reported. [`Error::NothingToUndo`] if there
/// is no batch.
pub fn undo_last(index_dir: &Path) -> Result<Undone> {
    let log_root = index_dir.join(LOG_DIR);
    let mut batches: Vec<PathBuf> = match fs::read_dir(&log_root) {
        Ok(entries) => entries
            .filter_map(std::result::Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("log.jsonl").is_file() && !p.join("undone").exists())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(Error::Io {
                path: log_root,
                what: "read",
                source,
            })
        }
    };
    batches.sort();
    let Some(dir) = batches.pop() else {
        return Err(Error::NothingToUndo {
            dir: index_dir.to_owned(),
        });
    };
    let mut catalog = Catalog::open(index_dir).map_err(|source| Error::OpenIndex {
        dir: index_dir.to_owned(),
        source: Box::new(source),
    })?;
    let _lock = IndexLock::acquire(index_dir, false)?;
    let files = Logged::read(&dir)?;
    let mut undone = Undone {
        batch: dir.clone(),
        files: Vec::new(),
    };
    for logged in files.into_iter().rev() {
        let path = PathBuf::from(&logged.path);
        let result = undo_one(&mut catalog, &dir, &logged);
        undone.files.push(UndoneFile { path, result });
    }
    if undone.files.iter().all(|f| f.result.is_ok()) {
        fs::write(dir.join("undone"), b"").map_err(|source| Error::Io {
            path: dir.join("undone"),
            what: "write",
            source,
        })?;
    }
    Ok(undone)
}

fn undo_one(catalog: &mut Catalog, dir: &Path, logged: &Logged) -> Result<()> {
    let Logged {
        n,
        path,
        old,
        offset,
        len,
        hash,
        written,
        renamed,
    } = logged;
    let original = PathBuf::from(path);
    let current = renamed.as_ref().map_or(original.clone(), PathBuf::from);
    let now = Stat::of(&current)?;
    let expected = written.as_ref().unwrap_or(old);
    if now.hash != expected.hash {
        return Err(Error::ChangedSinceTagged { path: current });
    }
    if written.is_some() {
        let read = |name: String| {
            let path = dir.join(name);
            fs::read(&path).map_err(|source| Error::Io {
                path,
                what: "read",
                source,
            })
        };
        let before = Before {
            head: read(format!("{n}.head"))?,
            audio: hark_audio::AudioSpan {
                offset: *offset,
                len: *len,
                hash: unhex(hash).and_then(|h| h.try_into().ok()).ok_or_else(|| {
                    Error::LogDamaged {
                        dir: dir.to_owned(),
                    }
                })?,
            },
            tail: read(format!("{n}.tail"))?,
        };
        hark_audio::restore(&current, &before)?;
        let restored = Stat::of(&current)?;
        if restored.hash != old.hash {
            return Err(Error::NotRestored { path: current });
        }
        // Its old time too, so the catalog's facts are the old ones.
        let time = UNIX_EPOCH + Duration::from_nanos(old.mtime_ns.max(0) as u64);
        fs::OpenOptions::new()
            .write(true)
            .open(&current)
            .and_then(|f| f.set_modified(time))
            .map_err(|source| Error::SetTime {
                path: current.clone(),
                source,
            })?;
    }
    if current != original {
        rename_no_replace(&current, &original)?;
    }
    let stored = catalog
        .file_by_path(&current)?
        .ok_or_else(|| Error::NoLongerIndexed {
            path: current.clone(),
        })?;
    catalog.transaction(|tx| refresh_row(tx, stored.id, &stored.record, &original))?;
    Ok(())
}

/// The catalog row of a file rewritten in place: new path, stat, hash,
/// tags and UCS fields; the same id and vectors.
fn refresh_row(tx: &hark_store::Tx<'_>, id: FileId, old: &FileRecord, path: &Path) -> Result<()> {
    let meta = fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        what: "read",
        source,
    })?;
    let mut record = old.clone();
    record.path = path.to_path_buf();
    record.size = meta.len();
    record.mtime_ns = mtime_ns(&meta);
    record.content_hash = Some(crate::hash_file(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        what: "read",
        source,
    })?);
    record.tags = hark_audio::read_metadata(path)?.tags.all;
    record.set_ucs(crate::ucs::ucs_fields(path, &record.tags));
    tx.retag_file(id, &record)?;
    Ok(())
}
