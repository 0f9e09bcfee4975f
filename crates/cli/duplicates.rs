//! `hark duplicates [PATH]...`: groups of indexed files holding the same
//! sound (crate hark-query's `duplicates`), as a table, JSON lines or the
//! paths of the copies a user might remove. hark itself never deletes,
//! moves or renames a file.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hark_query::duplicates::{Copy, DuplicateGroup};
use hark_query::Engine;
use unicode_width::UnicodeWidthStr;

use crate::search::{display_path, duration, format_facts};
use crate::{model_cmd, output, Cli};

/// Exit code when no group was found (grep's convention).
const EXIT_NONE: u8 = 1;

/// `hark duplicates --help`, after the options.
pub const DUPLICATES_HELP: &str = "\
Groups of indexed files that hold the same sound:
  exact              the same bytes
  same audio         the same recording in another container, codec (lossless or lossy),
                     sample rate, bit depth, channel layout (stereo and its mono fold-down)
                     or gain
  trimmed            the same with silence or a little of the sound cut at either end
  contained at 0:42  an excerpt (at least 2 s) of the keeper, starting 42 s into it
  contains at 0:42   the keeper is an excerpt of this file, starting 42 s into it
Decided by each file's audio fingerprint (computed by `hark index`) and its content hash,
never by how alike two sounds are to CLAP: two different door slams are not copies.
Short one-shots (0.1 s and up) are compared as well as long files.

Each group names a suggested keeper: lossless over lossy, then the higher sample rate,
then the higher bit depth, then the longer, then a UCS-categorised file (a UCS name,
CatID_FXName_..., or a UCS category in its tags), then the first path. Every other file
says how it relates to the keeper, and why; one that does not match the keeper directly
says which member it was linked through.
hark never deletes, moves or renames a file: --paths lists the copies for you to decide.

PATH limits the search to indexed files under these folders.
Output: a table; --json prints one object per group per line: {\"group\": N, \"files\":
[{\"path\", \"keep\", \"relation\", \"why\", \"offset_s\" (excerpts), \"gain_db\" (dB louder
than the keeper), \"via\" (when linked through another member), \"duration_s\",
\"sample_rate\", \"bits_per_sample\", \"channels\", \"codec\", \"id\"}]}; --paths prints the
files that are not keepers, one per line (-0: ending in NUL instead); exact bytes on a
pipe, escaped on a terminal (as `hark search --help` says).
Files indexed by an older hark have no fingerprint yet: a warning says how many, and
`hark index` computes them (without embedding them again).
Exit status: 0 if any group was found, 1 if none, 2 on error.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only indexed files under these folders
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print one JSON object per group per line
    #[arg(long, conflicts_with = "paths_only")]
    json: bool,
    /// Print the files that are not keepers, one per line
    #[arg(long = "paths", id = "paths_only")]
    paths_only: bool,
    /// Print paths ending in a NUL byte instead of a newline; implies --paths
    #[arg(short = '0', long, conflicts_with = "json")]
    null: bool,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let under = args
        .paths
        .iter()
        .map(|p| std::fs::canonicalize(p).with_context(|| format!("cannot open `{}`", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let index_dir = cli.index_dir()?;
    crate::shared::refresh_replica(cli, &index_dir)?;
    let engine = Engine::open(&index_dir, model_cmd::spec(cli))?;
    let found = engine.duplicates(&under)?;
    if found.unfingerprinted > 0 {
        let n = found.unfingerprinted;
        output::warn(&format!(
            "{n} file{} {} no fingerprint yet (indexed by an older hark): only {} content hash \
             was compared\nhint: run `hark index` to compute them (the files are not embedded again)",
            if n == 1 { "" } else { "s" },
            if n == 1 { "has" } else { "have" },
            if n == 1 { "its" } else { "their" },
        ));
    }

    let mut out = std::io::stdout().lock();
    let terminal = std::io::stdout().is_terminal();
    if args.json {
        for (i, group) in found.groups.iter().enumerate() {
            let mut line = serde_json::to_vec(&JsonGroup::new(i + 1, group))?;
            line.push(b'\n');
            out.write_all(&line)?;
        }
    } else if args.paths_only || args.null {
        let end = if args.null { b'\0' } else { b'\n' };
        for copy in found
            .groups
            .iter()
            .flat_map(|g| &g.files)
            .filter(|c| !c.keep)
        {
            output::write_path(&mut out, &copy.path, terminal, end)?;
        }
    } else if !found.groups.is_empty() {
        out.write_all(table(&found.groups).as_bytes())?;
    }
    out.flush()?;
    Ok(if found.groups.is_empty() {
        ExitCode::from(EXIT_NONE)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(serde::Serialize)]
struct JsonGroup {
    group: usize,
    files: Vec<JsonCopy>,
}

#[derive(serde::Serialize)]
struct JsonCopy {
    path: String,
    keep: bool,
    relation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gain_db: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    via: Option<String>,
    why: String,
    duration_s: Option<f64>,
    sample_rate: Option<u32>,
    bits_per_sample: Option<u32>,
    channels: Option<u32>,
    codec: Option<String>,
    id: i64,
}

impl JsonGroup {
    fn new(group: usize, g: &DuplicateGroup) -> Self {
        JsonGroup {
            group,
            files: g
                .files
                .iter()
                .map(|c| JsonCopy {
                    // JSON strings are Unicode: a non-UTF-8 byte becomes
                    // U+FFFD (`--paths` prints the exact bytes).
                    path: c.path.to_string_lossy().into_owned(),
                    keep: c.keep,
                    relation: c.relation.to_string(),
                    offset_s: c.relation.offset_s(),
                    gain_db: c.gain_db.map(|g| (g * 10.0).round() / 10.0),
                    via: c.via.as_ref().map(|v| v.to_string_lossy().into_owned()),
                    why: c.why.clone(),
                    duration_s: c.duration_s,
                    sample_rate: c.sample_rate,
                    bits_per_sample: c.bits_per_sample,
                    channels: c.channels,
                    codec: c.codec.clone(),
                    id: c.id.0,
                })
                .collect(),
        }
    }
}

/// `flac 24-bit 2ch 96k`: codec, depth, channels, rate.
fn facts(c: &Copy) -> String {
    let codec = c.codec.as_deref().unwrap_or("-");
    let codec = terminal_safe(codec);
    match c.bits_per_sample {
        Some(bits) => format!(
            "{codec} {bits}-bit {}",
            format_facts(c.channels, c.sample_rate)
        ),
        None => format!("{codec} {}", format_facts(c.channels, c.sample_rate)),
    }
}

fn terminal_safe(text: &str) -> String {
    hark_types::terminal::escape(text).into_owned()
}

/// The groups as a table: one block per group, the keeper first, a blank
/// line between groups. Paths (and anything else from the library) are
/// escaped for a terminal, always.
fn table(groups: &[DuplicateGroup]) -> String {
    let rows: Vec<Vec<[String; 4]>> = groups
        .iter()
        .map(|g| {
            g.files
                .iter()
                .map(|c| {
                    let mut relation = c.relation.to_string();
                    if let Some(via) = &c.via {
                        relation.push_str(&format!(" (of {})", display_path(via)));
                    }
                    [
                        relation,
                        duration(c.duration_s),
                        facts(c),
                        display_path(&c.path),
                    ]
                })
                .collect()
        })
        .collect();
    let width = |k: usize, header: &str| {
        rows.iter()
            .flatten()
            .map(|r| r[k].width())
            .chain([header.width()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0, "RELATION"), width(1, "DUR"), width(2, "FORMAT")];
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.width())));
    let mut out = format!(
        "{}  {}  {}  PATH\n",
        pad("RELATION", widths[0]),
        pad("DUR", widths[1]),
        pad("FORMAT", widths[2])
    );
    for (i, group) in rows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for r in group {
            out.push_str(&format!(
                "{}  {}  {}  {}\n",
                pad(&r[0], widths[0]),
                pad(&r[1], widths[1]),
                pad(&r[2], widths[2]),
                r[3]
            ));
        }
    }
    out
}
