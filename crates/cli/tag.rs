//! `hark tag`: a description, keywords and a UCS category written into the
//! files themselves, and `hark tag --undo`. The work (checks, the log in
//! the index directory, the write, the catalog row updated in place) is
//! hark-indexer's `tag` module; this prints what it did.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use hark_audio::{parse_ucs, TagEdit, UcsCategory};
use hark_indexer::tag::{self, Change, TagBatch, TagOptions, TagReport};
use serde::Serialize;

use crate::output::{self, safe};
use crate::Cli;

/// Exit code when some files were refused or failed (the others written).
const EXIT_ERROR: u8 = 2;

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

impl Report {
    fn of(r: TagReport, dry_run: bool) -> Report {
        Report {
            path: r.path.to_string_lossy().into_owned(),
            format: Some(r.format),
            dry_run,
            written: r.written,
            changes: r.changes,
            renamed_to: r.renamed_to.map(|t| t.to_string_lossy().into_owned()),
            error: None,
        }
    }

    fn failed(path: String, dry_run: bool, e: &anyhow::Error) -> Report {
        Report {
            path,
            format: None,
            dry_run,
            written: false,
            changes: Vec::new(),
            renamed_to: None,
            error: Some(format!("{e:#}")),
        }
    }
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let index_dir = cli.index_dir()?;
    if args.undo {
        return undo(&index_dir, args.json);
    }
    let edit = edit_of(args)?;
    if edit.is_empty() && !args.rename_ucs {
        anyhow::bail!("nothing to write\nhint: give --description, --category, --keywords, --fx-name or --rename-ucs");
    }
    let options = TagOptions {
        rename_ucs: args.rename_ucs,
        creator: args.creator.clone(),
        source: args.source.clone(),
        dry_run: args.dry_run,
    };
    let mut batch = TagBatch::open(&index_dir, args.dry_run)?;
    let mut failed = 0;
    for file in &args.files {
        let report = match batch.tag(file, &edit, &options) {
            Ok(report) => Report::of(report, args.dry_run),
            Err(e) => {
                let e = anyhow::Error::from(e);
                failed += 1;
                if !args.json {
                    output::print_error(&e);
                }
                Report::failed(file.to_string_lossy().into_owned(), args.dry_run, &e)
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

/// `hark tag --undo`: the last batch not yet undone, file by file in
/// reverse order.
fn undo(index_dir: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let undone = tag::undo_last(index_dir)?;
    let mut failed = 0;
    for file in undone.files {
        let path = file.path.to_string_lossy().into_owned();
        let error = file.result.err().map(anyhow::Error::from);
        if let Some(e) = &error {
            failed += 1;
            if !json {
                output::print_error(e);
            }
        }
        if json {
            let report = Report {
                path,
                format: None,
                dry_run: false,
                written: error.is_none(),
                changes: Vec::new(),
                renamed_to: None,
                error: error.as_ref().map(|e| format!("{e:#}")),
            };
            print_report(&report, true)?;
        } else if error.is_none() {
            let mut out = std::io::stdout().lock();
            out.write_all(safe(&format!("{path} (restored)\n")).as_bytes())?;
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}
