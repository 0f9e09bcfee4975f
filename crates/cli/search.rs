//! `hark search QUERY` and `hark similar FILE`: ask the index (crate
//! hark-query) and print the hits as a table, JSON lines or paths.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hark_query::{Engine, Hit, SimilarTarget};
use unicode_width::UnicodeWidthStr;

use hark_types::terminal;

use crate::{model_cmd, output, Cli};

/// Exit code when nothing matched (grep's convention).
const EXIT_NO_HITS: u8 = 1;

/// `hark search --help`, after the options.
pub const SEARCH_HELP: &str = "\
Quote the query as one argument for the shell:
  hark search 'thunder -rain dur:<2s'
  hark search -k 5 -- '-rain dur:<2s'     (a query that starts with `-` goes after `--`)

The query language:
  distant thunder           words: described to the CLAP model (by sound), and looked up in
                            file names, folders and tags (by words; 3+ letters match as prefixes,
                            so `creak` finds `creaky`)
  \"creaky door\"             a phrase: these words next to each other, exactly
  -rain  -\"heavy rain\"      exclude: drop files whose names/tags match, and push down sounds
                            close to that text
  dur:<2s  dur:1s..5s       duration (<, <=, >, >=, =, a..b; units ms, s, m, h)
  sr:>=96k  sr:44.1k        sample rate
  ch:1  ch:stereo  ch:>2    channels
  bits:24  bits:>=24        bit depth
  ext:wav  ext:flac,aif     file extension (commas: any of)
  in:Doors                  a piece of the folder path
  cat:DOORWood  cat:DOORS   UCS CatID, Category, or Category-SubCategory (of the UCS file
                            name, else of CATID or CATEGORY/SUBCATEGORY tags)
  -ext:mp3                  `-` before a filter excludes what it matches
A query of filters only lists the files that pass, by path.

Hits are ranked by sound and by words, and the two rankings fused; MATCH says how each hit
was found: sound, words, both (or filter, for a listing). SCORE is the fused rank score,
1 = first both ways. Without the model (or before `hark index` has embedded anything), words,
phrases, exclusions and filters still work: one warning says why, and every hit is `words`.

Files over 30 s are also searched by moment (10 s windows): when a moment matches better
than the whole file, the hit says where it starts (DUR `4:00 @1:20`, JSON offset_s).

Output: a table; --json prints one object per hit per line (rank, path, score, duration_s,
sample_rate, channels, matched, id; offset_s when a hit is a moment in a long file);
--paths one path per line (-0: ending in NUL instead).
Names and tags come from anywhere, so on a terminal (the table always) control characters
and bidi marks in them are shown escaped, the way `ls` does (`\\e`, `\\t`, `\\u{202E}`,
`\\xFF` for a byte that is not UTF-8); --paths and -0 on a pipe keep the exact bytes, and
JSON is exact (JSON's own escapes).
Exit status: 0 if anything matched, 1 if nothing did, 2 on error.";

/// `hark similar --help`, after the options.
pub const SIMILAR_HELP: &str = "\
FILE may be in the index (its stored vector is used) or any sound file (it is decoded and
embedded now). The file itself is never among the hits. SCORE is the cosine similarity
to FILE (moved toward --plus TEXT if given), of the hit's best-matching moment when that
is a moment of a long file (DUR `4:00 @1:20`, JSON offset_s).

Output: a table; --json prints one object per hit per line (rank, path, score, duration_s,
sample_rate, channels, matched, id; offset_s for a moment); --paths one path per line
(-0: ending in NUL instead). Names are escaped on a terminal as `hark search --help` says.
Exit status: 0 if anything matched, 1 if nothing did, 2 on error.";

/// How many hits, and how to print them.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// How many hits to return
    #[arg(short = 'k', value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    k: u32,
    /// Print one JSON object per hit per line
    #[arg(long, conflicts_with = "paths")]
    json: bool,
    /// Print one path per line: the exact bytes on a pipe, escaped on a terminal
    #[arg(long)]
    paths: bool,
    /// Print paths ending in a NUL byte instead of a newline, for names that hold
    /// newlines (`xargs -0`); implies --paths
    #[arg(short = '0', long, conflicts_with = "json")]
    null: bool,
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The query; several arguments are joined with spaces. Quote it when it has
    /// an exclusion or a `<`/`>` filter: 'thunder -rain dur:<2s'
    // No `allow_hyphen_values`: on a list of values it would swallow a later
    // `-k 3 --json` into the query. An unquoted `-rain` gets clap's error,
    // whose tip (`-- -rain`) works too.
    #[arg(required = true, value_name = "QUERY")]
    query: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Args)]
pub struct SimilarArgs {
    /// A sound file
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Move the query toward this text ("distant", "with reverb")
    #[arg(long, value_name = "TEXT")]
    plus: Option<String>,
    /// Keep only hits passing these filters and exclusions ('dur:<2s -rain'; see `hark search --help`)
    #[arg(long, value_name = "QUERY", allow_hyphen_values = true)]
    filter: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

fn open(cli: &Cli) -> anyhow::Result<Engine> {
    let index_dir = cli.index_dir()?;
    crate::shared::refresh_replica(cli, &index_dir)?;
    Ok(Engine::open(&index_dir, model_cmd::spec(cli))?)
}

pub fn search(cli: &Cli, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let query = args.query.join(" ");
    let engine = open(cli)?;
    let (hits, words_only) = engine.search_or_words(&query, args.output.k as usize)?;
    if let Some(why) = words_only {
        output::warn(&why.to_string());
    }
    print(&hits, &args.output)
}

pub fn similar(cli: &Cli, args: &SimilarArgs) -> anyhow::Result<ExitCode> {
    let engine = open(cli)?;
    let filters = match &args.filter {
        Some(f) => {
            let q = engine.parse(f)?;
            if !q.terms.is_empty() {
                anyhow::bail!(
                    "`--filter` takes filters and exclusions, not words (found {:?})\n\
                     hint: move toward a text with `--plus TEXT`",
                    q.positive_text().unwrap_or_default()
                );
            }
            Some(q)
        }
        None => None,
    };
    let hits = engine.similar_filtered(
        &SimilarTarget::Path(args.file.clone()),
        args.output.k as usize,
        args.plus.as_deref(),
        filters.as_ref(),
    )?;
    print(&hits, &args.output)
}

fn print(hits: &[Hit], output: &OutputArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if output.json {
        for (i, hit) in hits.iter().enumerate() {
            // One write per line: a closed pipe surfaces as an io::Error.
            let mut line = serde_json::to_vec(&JsonHit::new(i + 1, hit))?;
            line.push(b'\n');
            out.write_all(&line)?;
        }
    } else if output.paths || output.null {
        let terminal = std::io::stdout().is_terminal();
        let end = if output.null { b'\0' } else { b'\n' };
        for hit in hits {
            output::write_path(&mut out, &hit.path, terminal, end)?;
        }
    } else if !hits.is_empty() {
        let terminal = std::io::stdout().is_terminal();
        let style = Style {
            colour: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        let width = terminal
            .then(|| terminal_size::terminal_size().map(|(w, _)| w.0 as usize))
            .flatten();
        out.write_all(table(hits, width, style).as_bytes())?;
    }
    out.flush()?;
    Ok(if hits.is_empty() {
        ExitCode::from(EXIT_NO_HITS)
    } else {
        ExitCode::SUCCESS
    })
}

/// A hit as a JSON line.
#[derive(serde::Serialize)]
struct JsonHit<'a> {
    rank: usize,
    path: String,
    score: f32,
    duration_s: Option<f64>,
    sample_rate: Option<u32>,
    channels: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset_s: Option<f64>,
    matched: &'a str,
    id: i64,
}

impl<'a> JsonHit<'a> {
    fn new(rank: usize, hit: &'a Hit) -> Self {
        JsonHit {
            rank,
            // JSON strings are Unicode: a non-UTF-8 byte becomes U+FFFD
            // (`--paths` prints the exact bytes).
            path: hit.path.to_string_lossy().into_owned(),
            score: hit.score,
            duration_s: hit.duration_s,
            sample_rate: hit.sample_rate,
            channels: hit.channels,
            offset_s: hit.offset_s,
            matched: hit.matched.as_str(),
            id: hit.id.0,
        }
    }
}

/// ANSI styling, or none.
#[derive(Clone, Copy)]
struct Style {
    colour: bool,
}

impl Style {
    fn paint(&self, text: &str, code: &str) -> String {
        if self.colour && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// `1.5s`, `59.9s`, `2:05`, `1:02:03`; `-` if unknown.
pub(crate) fn duration(d: Option<f64>) -> String {
    match d {
        Some(d) if d.is_finite() && d >= 0.0 => {
            if d < 59.95 {
                format!("{d:.1}s")
            } else {
                let s = d.round() as u64;
                if s < 3600 {
                    format!("{}:{:02}", s / 60, s % 60)
                } else {
                    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                }
            }
        }
        _ => "-".into(),
    }
}

/// `2ch 48k`, `1ch 44.1k`, `-` parts where unknown.
pub(crate) fn format_facts(channels: Option<u32>, rate: Option<u32>) -> String {
    let ch = channels.map_or("-".into(), |c| format!("{c}ch"));
    let rate = rate.map_or("-".into(), |r| {
        let k = format!("{:.2}", r as f64 / 1000.0);
        format!("{}k", k.trim_end_matches('0').trim_end_matches('.'))
    });
    format!("{ch} {rate}")
}

/// A path for the table, escaped for a terminal (`hark_types::terminal`):
/// relative to the working directory when under it (but never to `/`, which
/// would only drop the leading slash), else with the home directory as `~`.
pub(crate) fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if cwd.parent().is_some() {
            if let Ok(rel) = path.strip_prefix(&cwd) {
                return terminal::escape_path(rel).into_owned();
            }
        }
    }
    if let Some(home) = dirs::home_dir() {
        if let Ok(rel) = path.strip_prefix(&home) {
            return format!("~/{}", terminal::escape_path(rel));
        }
    }
    terminal::escape_path(path).into_owned()
}

/// `text` cut from the left to at most `width` columns, with `…` in front
/// when cut: the end of a path (the file name) matters most.
fn elide_left(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut kept = String::new();
    let mut used = 1; // the ellipsis
    for c in text.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width {
            break;
        }
        used += w;
        kept.insert(0, c);
    }
    format!("…{kept}")
}

/// The hit table, with a header; paths shortened to fit `width` columns
/// when the terminal's width is known.
fn table(hits: &[Hit], width: Option<usize>, style: Style) -> String {
    struct Row {
        rank: String,
        score: String,
        dur: String,
        format: String,
        path: String,
        matched: &'static str,
    }
    let rows: Vec<Row> = hits
        .iter()
        .enumerate()
        .map(|(i, h)| Row {
            rank: (i + 1).to_string(),
            score: format!("{:.3}", h.score),
            // A moment inside a long file: where it starts, after the length.
            dur: match h.offset_s {
                Some(at) => format!("{} @{}", duration(h.duration_s), duration(Some(at))),
                None => duration(h.duration_s),
            },
            format: format_facts(h.channels, h.sample_rate),
            path: display_path(&h.path),
            matched: h.matched.as_str(),
        })
        .collect();
    let col = |f: &dyn Fn(&Row) -> usize, header: &str| {
        rows.iter()
            .map(f)
            .chain([header.width()])
            .max()
            .unwrap_or(0)
    };
    let w_rank = col(&|r| r.rank.width(), "#");
    let w_score = col(&|r| r.score.width(), "SCORE");
    let w_dur = col(&|r| r.dur.width(), "DUR");
    let w_format = col(&|r| r.format.width(), "FORMAT");
    let w_match = col(&|r| r.matched.width(), "MATCH");
    let fixed = w_rank + w_score + w_dur + w_format + w_match + 5 * 2;
    let paths: Vec<String> = rows
        .iter()
        .map(|r| match width {
            Some(w) => elide_left(&r.path, w.saturating_sub(fixed).max(20)),
            None => r.path.clone(),
        })
        .collect();
    let w_path = paths
        .iter()
        .map(|p| p.width())
        .chain(["PATH".width()])
        .max()
        .unwrap_or(0);
    let pad = |s: &str, w: usize| " ".repeat(w.saturating_sub(s.width()));
    let mut out = String::new();
    let header = format!(
        "{}{}  {}{}  {}{}  {}{}  PATH{}  MATCH",
        pad("#", w_rank),
        "#",
        pad("SCORE", w_score),
        "SCORE",
        pad("DUR", w_dur),
        "DUR",
        "FORMAT",
        pad("FORMAT", w_format),
        pad("PATH", w_path),
    );
    out.push_str(&style.paint(&header, "2"));
    out.push('\n');
    for (row, path) in rows.iter().zip(&paths) {
        // The file name stands out; its folder is plain.
        let split = path.rfind('/').map_or(0, |i| i + 1);
        let (folder, name) = path.split_at(split);
        let matched_colour = match row.matched {
            "both" => "32",
            "words" => "36",
            "sound" => "35",
            _ => "2",
        };
        out.push_str(&format!(
            "{}{}  {}{}  {}{}  {}{}  {}{}{}  {}\n",
            pad(&row.rank, w_rank),
            style.paint(&row.rank, "2"),
            pad(&row.score, w_score),
            row.score,
            pad(&row.dur, w_dur),
            row.dur,
            row.format,
            pad(&row.format, w_format),
            folder,
            style.paint(name, "1"),
            pad(path, w_path),
            style.paint(row.matched, matched_colour),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_formats() {
        assert_eq!(duration(Some(0.3)), "0.3s");
        assert_eq!(duration(Some(1.25)), "1.2s");
        assert_eq!(duration(Some(59.9)), "59.9s");
        assert_eq!(duration(Some(59.96)), "1:00");
        assert_eq!(duration(Some(125.0)), "2:05");
        assert_eq!(duration(Some(3723.0)), "1:02:03");
        assert_eq!(duration(None), "-");
        assert_eq!(format_facts(Some(2), Some(48000)), "2ch 48k");
        assert_eq!(format_facts(Some(1), Some(44100)), "1ch 44.1k");
        assert_eq!(format_facts(Some(1), Some(22050)), "1ch 22.05k");
        assert_eq!(format_facts(None, Some(96000)), "- 96k");
        assert_eq!(format_facts(Some(6), None), "6ch -");
    }

    #[test]
    fn elision_keeps_the_end() {
        assert_eq!(elide_left("a/b/c.wav", 20), "a/b/c.wav");
        assert_eq!(elide_left("lib/Doors/Wood/creak.wav", 12), "…d/creak.wav");
        assert_eq!(elide_left("lib/雨の音.wav", 9), "…の音.wav");
        assert!(elide_left("lib/雨の音.wav", 9).width() <= 9);
    }
}
