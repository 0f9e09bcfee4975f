//! `hark tag`: a description, keywords and a UCS category written into the
//! files themselves (hark-audio's `write_tags`), the catalog row updated in
//! place (same vectors: the audio did not change), every write logged in
//! the index directory so `hark tag --undo` puts the files back byte for
//! byte.
//!
//! The undo log (index-format.md, "Tag log"): one folder per batch,
//! `<index>/tag-log/<batch>/`, with `log.jsonl` (one JSON object a line:
//! a `plan` before a file is touched, then `written` and `renamed` as
//! those happen) and, per file, `N.head` and `N.tail`, the old bytes
//! before and after its audio. `undone` marks a batch undone.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use hark_audio::{parse_ucs, Before, FieldChange, TagEdit, UcsCategory};
use hark_indexer::{hash_file, mtime_ns, IndexLock};
use hark_store::{Catalog, FileId, FileRecord};
use serde::{Deserialize, Serialize};

use crate::output::{self, safe};
use crate::Cli;

/// Exit code when some files were refused or failed (the others written).
const EXIT_ERROR: u8 = 2;

/// The log folder's name in the index directory.
const LOG_DIR: &str = "tag-log";

pub const TAG_HELP: &str = "\
Writes into the files themselves, so every tool (Soundminer, BaseHead, Soundly, a DAW) sees it:
  WAV/BWF (RIFF, RF64): the bext Description (first 256 bytes; bext added if absent, its other
    fields kept) and iXML's USER block: DESCRIPTION, KEYWORDS, CATID, CATEGORY, SUBCATEGORY,
    CATEGORYFULL, FXNAME (an ASWG block's twins updated where present);
  FLAC: Vorbis comments of the same names;  MP3 and AIFF: ID3v2 (COMM for the description,
    TXXX frames for the others).  Ogg, MP4 and other formats are refused.
Safety: the audio is never changed: each file is rewritten beside itself under a temporary
name, synced, its audio bytes compared by hash with the original's, and only then renamed over
it (a failure leaves the original untouched and no temporary file). Every other chunk is kept
in order, byte for byte. Read-only and hard-linked files are refused, and so are files not in
the index or changed since it was indexed (run `hark index` first).
The index follows at once, without re-embedding: the file's row gets its new size, time, hash
and tags, and keeps its vectors, so `hark search` finds a new description word right away.
Every batch is logged in the index directory (old and new values, the old bytes around the
audio); `hark tag --undo` restores the last batch's files byte for byte (and their names).
--rename-ucs renames to CatID_FXName_CreatorID_SourceID.ext: the CatID of --category (or the
file's), FXName, CreatorID and SourceID from the file's UCS name unless given; a name taken
gets a number after the FXName.
Exit status: 0 all written (or nothing to change), 2 if any file was refused or failed.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The files to write
    #[arg(value_name = "FILE", required_unless_present = "undo")]
    files: Vec<PathBuf>,
    /// The description (bext Description, iXML DESCRIPTION, Vorbis DESCRIPTION, ID3 COMM)
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// A UCS CatID (DOORWood): CATID, CATEGORY, SUBCATEGORY and CATEGORYFULL from the UCS list
    #[arg(long, value_name = "CATID")]
    category: Option<String>,
    /// Keywords (KEYWORDS), comma-separated by convention
    #[arg(long, value_name = "TEXT")]
    keywords: Option<String>,
    /// The UCS FXName (FXNAME), and the FXName block of --rename-ucs
    #[arg(long, value_name = "TEXT")]
    fx_name: Option<String>,
    /// Rename to the UCS convention, CatID_FXName_CreatorID_SourceID
    #[arg(long)]
    rename_ucs: bool,
    /// The CreatorID block for --rename-ucs (default: the file's UCS name's)
    #[arg(long, value_name = "ID", requires = "rename_ucs")]
    creator: Option<String>,
    /// The SourceID block for --rename-ucs (default: the file's UCS name's)
    #[arg(long, value_name = "ID", requires = "rename_ucs")]
    source: Option<String>,
    /// Print what would change; write nothing
    #[arg(long)]
    dry_run: bool,
    /// One JSON object per file on stdout
    #[arg(long)]
    json: bool,
    /// Restore the files of the last batch as they were, byte for byte
    #[arg(long, conflicts_with_all = ["files", "description", "category", "keywords", "fx_name", "rename_ucs", "dry_run"])]
    undo: bool,
}

/// One line of a batch's `log.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum LogLine {
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Stat {
    size: u64,
    mtime_ns: i64,
    hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Change {
    key: String,
    old: Option<String>,
    new: String,
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

/// What one file's line of output says.
#[derive(Debug, Serialize)]
struct Report {
    path: String,
    format: Option<&'static str>,
    dry_run: bool,
    written: bool,
    changes: Vec<Change>,
    renamed_to: Option<String>,
    error: Option<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn utf8(path: &Path) -> anyhow::Result<String> {
    path.to_str().map(str::to_string).ok_or_else(|| {
        anyhow!(
            "`{}`: hark tag needs file names that are UTF-8",
            path.display()
        )
    })
}

fn stat(path: &Path) -> anyhow::Result<Stat> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let hash = hash_file(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(Stat {
        size: meta.len(),
        mtime_ns: mtime_ns(&meta),
        hash: hex(&hash),
    })
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let index_dir = cli.index_dir()?;
    if args.undo {
        return undo(&index_dir, args.json);
    }
    let edit = edit_of(args)?;
    if edit.is_empty() && !args.rename_ucs {
        bail!("nothing to write\nhint: give --description, --category, --keywords, --fx-name or --rename-ucs");
    }
    let mut catalog = Catalog::open(&index_dir)
        .with_context(|| format!("cannot open the index in `{}`", index_dir.display()))?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(IndexLock::acquire(&index_dir, false)?)
    };
    let mut batch = None;
    let mut failed = 0;
    for (n, file) in args.files.iter().enumerate() {
        let report = match tag_one(&mut catalog, &index_dir, &mut batch, n, file, &edit, args) {
            Ok(report) => report,
            Err(e) => {
                failed += 1;
                if !args.json {
                    output::print_error(&e);
                }
                Report {
                    path: file.to_string_lossy().into_owned(),
                    format: None,
                    dry_run: args.dry_run,
                    written: false,
                    changes: Vec::new(),
                    renamed_to: None,
                    error: Some(format!("{e:#}")),
                }
            }
        };
        print_report(&report, args.json)?;
    }
    Ok(if failed > 0 {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

fn edit_of(args: &Args) -> anyhow::Result<TagEdit> {
    let category = match &args.category {
        None => None,
        Some(id) => Some(UcsCategory::of(id).ok_or_else(|| {
            // The lenient parser knows other spellings of a known CatID.
            let near = parse_ucs(&format!("{id}_x_x_x"))
                .filter(|u| u.category.is_some())
                .map(|u| format!("\nhint: did you mean {}?", u.cat_id))
                .unwrap_or_else(|| {
                    "\nhint: CatIDs are those of the UCS 8.2.1 list, such as DOORWood or AMBForst"
                        .into()
                });
            anyhow!("`{id}` is not a UCS CatID{near}")
        })?),
    };
    Ok(TagEdit {
        description: args.description.clone(),
        keywords: args.keywords.clone(),
        category,
        fx_name: args.fx_name.clone(),
    })
}

/// The open batch: its folder and log.
struct Batch {
    dir: PathBuf,
    log: File,
}

impl Batch {
    fn create(index_dir: &Path) -> anyhow::Result<Batch> {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos();
        let dir = index_dir.join(LOG_DIR).join(format!("{stamp:024}"));
        fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
        let log = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(dir.join("log.jsonl"))
            .with_context(|| format!("cannot create the tag log in `{}`", dir.display()))?;
        Ok(Batch { dir, log })
    }

    /// Appends a line and syncs it: the log is on disk before the file
    /// changes.
    fn append(&mut self, line: &LogLine) -> anyhow::Result<()> {
        let mut text = serde_json::to_string(line)?;
        text.push('\n');
        self.log
            .write_all(text.as_bytes())
            .and_then(|()| self.log.sync_all())
            .with_context(|| format!("cannot write the tag log in `{}`", self.dir.display()))
    }

    fn blob(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        let mut file =
            File::create(&path).with_context(|| format!("cannot create `{}`", path.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write `{}`", path.display()))
    }
}

fn tag_one(
    catalog: &mut Catalog,
    index_dir: &Path,
    batch: &mut Option<Batch>,
    n: usize,
    file: &Path,
    edit: &TagEdit,
    args: &Args,
) -> anyhow::Result<Report> {
    let path =
        fs::canonicalize(file).with_context(|| format!("cannot find `{}`", file.display()))?;
    let path_text = utf8(&path)?;
    let stored = catalog.file_by_path(&path)?.ok_or_else(|| {
        anyhow!(
            "`{}` is not in the index\nhint: run `hark index` on its folder first",
            path.display()
        )
    })?;
    let now = stat(&path)?;
    let indexed = &stored.record;
    if now.size != indexed.size
        || now.mtime_ns != indexed.mtime_ns
        || Some(now.hash.as_str()) != indexed.content_hash.as_deref().map(hex).as_deref()
    {
        bail!(
            "`{}` changed since it was indexed; hark does not write over what it has not seen\nhint: run `hark index` first",
            path.display()
        );
    }

    let mut edit = edit.clone();
    let new_name = if args.rename_ucs {
        Some(ucs_name(&path, &edit, indexed, args)?)
    } else {
        None
    };
    if args.rename_ucs && edit.fx_name.is_none() {
        edit.fx_name = new_name.as_ref().map(|(_, fx)| fx.clone());
    }
    let plan = hark_audio::write_tags(&path, &edit, true)?;
    let changes: Vec<Change> = plan.changes.iter().map(Change::from).collect();
    let target = match &new_name {
        Some((name, _)) => Some(free_name(&path, name)?),
        None => None,
    };
    let mut report = Report {
        path: path_text.clone(),
        format: Some(plan.format),
        dry_run: args.dry_run,
        written: false,
        changes,
        renamed_to: target.as_ref().map(|t| t.to_string_lossy().into_owned()),
        error: None,
    };
    if args.dry_run || (plan.changes.is_empty() && target.is_none()) {
        return Ok(report);
    }

    if batch.is_none() {
        *batch = Some(Batch::create(index_dir)?);
    }
    let log = batch.as_mut().expect("just created");
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
            // Changed between the plan and the write (by another program:
            // hark holds the index lock): the logged bytes are not the ones
            // replaced. Say so rather than let an undo restore the wrong bytes.
            bail!(
                "`{}` changed between hark's reading and writing it; it was written, but `hark tag --undo` cannot restore it",
                path.display()
            );
        }
        log.append(&LogLine::Written {
            n,
            new: stat(&path)?,
        })?;
    }
    let mut final_path = path.clone();
    if let Some(target) = &target {
        rename_no_replace(&path, target)?;
        log.append(&LogLine::Renamed {
            n,
            from: utf8(&path)?,
            to: utf8(target)?,
        })?;
        final_path = target.clone();
    }
    catalog.transaction(|tx| refresh_row(tx, stored.id, indexed, &final_path))?;
    Ok(report)
}

/// The catalog row of a file rewritten in place: new path, stat, hash,
/// tags and UCS fields; the same id and vectors.
fn refresh_row(
    tx: &hark_store::Tx<'_>,
    id: FileId,
    old: &FileRecord,
    path: &Path,
) -> anyhow::Result<()> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut record = old.clone();
    record.path = path.to_path_buf();
    record.size = meta.len();
    record.mtime_ns = mtime_ns(&meta);
    record.content_hash =
        Some(hash_file(path).with_context(|| format!("cannot read `{}`", path.display()))?);
    record.tags = hark_audio::read_metadata(path)?.tags.all;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let ucs = parse_ucs(&name);
    record.ucs_cat_id = ucs.as_ref().map(|u| u.cat_id.clone());
    record.ucs_category = ucs.as_ref().and_then(|u| u.category.map(str::to_string));
    record.ucs_subcategory = ucs.as_ref().and_then(|u| u.subcategory.map(str::to_string));
    record.ucs_fx_name = ucs.map(|u| u.fx_name);
    tx.retag_file(id, &record)?;
    Ok(())
}

/// The UCS name of a file (without a number for collisions) and its FXName.
fn ucs_name(
    path: &Path,
    edit: &TagEdit,
    indexed: &FileRecord,
    args: &Args,
) -> anyhow::Result<(String, String)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let ucs = parse_ucs(&name);
    let tag = |key: &str| {
        indexed
            .tags
            .iter()
            .find(|(k, _)| {
                k.rsplit(['.', ':'])
                    .next()
                    .is_some_and(|l| l.eq_ignore_ascii_case(key))
            })
            .map(|(_, v)| v.clone())
    };
    let cat_id = edit
        .category
        .as_ref()
        .map(|c| c.cat_id.clone())
        .or_else(|| ucs.as_ref().map(|u| u.cat_id.clone()))
        .or_else(|| tag("CATID"))
        .ok_or_else(|| {
            anyhow!(
                "`{}` has no CatID to rename by\nhint: give --category",
                path.display()
            )
        })?;
    let fx_name = args
        .fx_name
        .clone()
        .or_else(|| ucs.as_ref().map(|u| u.fx_name.clone()))
        .or_else(|| tag("FXNAME"))
        .unwrap_or_else(|| {
            Path::new(&*name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let creator = args
        .creator
        .clone()
        .or_else(|| ucs.as_ref().map(|u| u.creator_id.clone()))
        .ok_or_else(|| {
            anyhow!(
                "`{}` has no UCS CreatorID\nhint: give --creator",
                path.display()
            )
        })?;
    let source = args
        .source
        .clone()
        .or_else(|| ucs.as_ref().map(|u| u.source_id.clone()))
        .ok_or_else(|| {
            anyhow!(
                "`{}` has no UCS SourceID\nhint: give --source",
                path.display()
            )
        })?;
    // `_` separates the blocks; a path separator or control character has no place in a name.
    let block = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c == '_' || c == '/' || c == '\\' || c.is_control() {
                    ' '
                } else {
                    c
                }
            })
            .collect::<String>()
            .trim()
            .to_string()
    };
    let (fx_name, creator, source) = (block(&fx_name), block(&creator), block(&source));
    if fx_name.is_empty() || creator.is_empty() || source.is_empty() {
        bail!(
            "`{}`: an empty UCS block; give --fx-name, --creator and --source",
            path.display()
        );
    }
    let mut stem = format!("{cat_id}_{fx_name}_{creator}_{source}");
    if let Some(data) = ucs.and_then(|u| u.user_data) {
        stem.push('_');
        stem.push_str(&data);
    }
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    Ok((format!("{stem}{ext}"), fx_name))
}

/// `name` in `path`'s folder, or with ` 2`, ` 3`... after the FXName if
/// that is taken by another file.
fn free_name(path: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let candidate = dir.join(name);
    if candidate == path || !candidate.exists() {
        return Ok(candidate);
    }
    let blocks: Vec<&str> = name.splitn(3, '_').collect();
    let [cat_id, fx, rest] = blocks[..] else {
        bail!("`{name}` is not a UCS name");
    };
    for i in 2..10_000 {
        let candidate = dir.join(format!("{cat_id}_{fx} {i}_{rest}"));
        if candidate == path || !candidate.exists() {
            return Ok(candidate);
        }
    }
    bail!("no free name for `{}` in `{}`", name, dir.display())
}

/// Renames without replacing: a hard link where the file system has them
/// (atomic: it fails if the name is taken), else a check and a rename.
fn rename_no_replace(from: &Path, to: &Path) -> anyhow::Result<()> {
    if from == to {
        return Ok(());
    }
    match fs::hard_link(from, to) {
        Ok(()) => {
            fs::remove_file(from).with_context(|| format!("cannot rename `{}`", from.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!(
                "cannot rename `{}`: `{}` appeared meanwhile",
                from.display(),
                to.display()
            )
        }
        Err(_) => {
            if to.exists() {
                bail!(
                    "cannot rename `{}`: `{}` exists",
                    from.display(),
                    to.display()
                );
            }
            fs::rename(from, to).with_context(|| {
                format!("cannot rename `{}` to `{}`", from.display(), to.display())
            })
        }
    }
}

fn print_report(report: &Report, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, report)?;
        writeln!(out)?;
        return Ok(());
    }
    if report.error.is_some() {
        return Ok(());
    }
    let verb = if report.dry_run {
        "would write"
    } else if report.written {
        "wrote"
    } else {
        "unchanged"
    };
    let mut text = format!("{} ({verb})\n", report.path);
    for c in &report.changes {
        let old = c
            .old
            .as_deref()
            .map_or("(none)".to_string(), |o| format!("{o:?}"));
        text.push_str(&format!("  {}: {old} -> {:?}\n", c.key, c.new));
    }
    if let Some(to) = &report.renamed_to {
        if *to != report.path {
            let verb = if report.dry_run {
                "would rename to"
            } else {
                "renamed to"
            };
            text.push_str(&format!("  {verb} {to}\n"));
        }
    }
    out.write_all(safe(&text).as_bytes())?;
    Ok(())
}

/// One file of a batch's log, gathered from its lines.
struct Logged {
    n: usize,
    path: String,
    old: Stat,
    offset: u64,
    len: u64,
    hash: String,
    written: Option<Stat>,
    renamed: Option<String>,
}

/// `hark tag --undo`: the last batch not yet undone, file by file in
/// reverse order.
fn undo(index_dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let log_root = index_dir.join(LOG_DIR);
    let mut batches: Vec<PathBuf> = match fs::read_dir(&log_root) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("log.jsonl").is_file() && !p.join("undone").exists())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", log_root.display())),
    };
    batches.sort();
    let Some(dir) = batches.pop() else {
        bail!(
            "nothing to undo: no `hark tag` batch in `{}`",
            index_dir.display()
        );
    };
    let mut catalog = Catalog::open(index_dir)
        .with_context(|| format!("cannot open the index in `{}`", index_dir.display()))?;
    let _lock = IndexLock::acquire(index_dir, false)?;
    let text = fs::read_to_string(dir.join("log.jsonl"))
        .with_context(|| format!("cannot read the tag log in `{}`", dir.display()))?;
    let mut files: Vec<Logged> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<LogLine>(line)
            .with_context(|| format!("the tag log in `{}` is damaged", dir.display()))?
        {
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
    let mut failed = 0;
    for Logged {
        n,
        path,
        old,
        offset,
        len,
        hash,
        written,
        renamed,
    } in files.into_iter().rev()
    {
        let original = PathBuf::from(&path);
        let current = renamed.as_ref().map_or(original.clone(), PathBuf::from);
        let result = (|| -> anyhow::Result<()> {
            let now = stat(&current)?;
            let expected = written.as_ref().unwrap_or(&old);
            if now.hash != expected.hash {
                bail!(
                    "`{}` changed since hark tag wrote it; not restored",
                    current.display()
                );
            }
            if written.is_some() {
                let before =
                    Before {
                        head: fs::read(dir.join(format!("{n}.head")))?,
                        audio: hark_audio::AudioSpan {
                            offset,
                            len,
                            hash: unhex(&hash).and_then(|h| h.try_into().ok()).ok_or_else(
                                || anyhow!("the tag log in `{}` is damaged", dir.display()),
                            )?,
                        },
                        tail: fs::read(dir.join(format!("{n}.tail")))?,
                    };
                hark_audio::restore(&current, &before)?;
                let restored = stat(&current)?;
                if restored.hash != old.hash {
                    bail!("`{}` did not come back byte for byte", current.display());
                }
                // Its old time too, so the catalog's facts are the old ones.
                let time = UNIX_EPOCH + Duration::from_nanos(old.mtime_ns.max(0) as u64);
                OpenOptions::new()
                    .write(true)
                    .open(&current)
                    .and_then(|f| f.set_modified(time))
                    .with_context(|| format!("cannot set the time of `{}`", current.display()))?;
            }
            if current != original {
                rename_no_replace(&current, &original)?;
            }
            let stored = catalog
                .file_by_path(&current)?
                .ok_or_else(|| anyhow!("`{}` is no longer in the index", current.display()))?;
            catalog.transaction(|tx| refresh_row(tx, stored.id, &stored.record, &original))?;
            Ok(())
        })();
        let report = Report {
            path: path.clone(),
            format: None,
            dry_run: false,
            written: result.is_ok(),
            changes: Vec::new(),
            renamed_to: None,
            error: result.as_ref().err().map(|e| format!("{e:#}")),
        };
        if let Err(e) = &result {
            failed += 1;
            if !json {
                output::print_error(e);
            }
        }
        if json {
            print_report(&report, true)?;
        } else if result.is_ok() {
            let mut out = std::io::stdout().lock();
            out.write_all(safe(&format!("{path} (restored)\n")).as_bytes())?;
        }
    }
    if failed == 0 {
        fs::write(dir.join("undone"), b"")
            .with_context(|| format!("cannot mark `{}` undone", dir.display()))?;
    }
    Ok(if failed > 0 {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}
