//! `hark categorize [PATH]...`: a UCS CatID suggested for each indexed file
//! that has none (crate hark-query's `Categorizer`), as a table or JSON
//! lines; `--evaluate` measures the suggestions leave-one-out on the files
//! that have one.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use hark_query::categorize::DEFAULT_MIN_CONFIDENCE;
use hark_query::{
    Categorizer, CategorySuggestion, Engine, Evaluation, LabelledFile, ZeroShotSource,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use unicode_width::UnicodeWidthStr;

use crate::output::{self, safe};
use crate::search::display_path;
use crate::{model_cmd, Cli};

/// Exit code when nothing was suggested (grep's convention).
const EXIT_NONE: u8 = 1;

/// `hark categorize --help`, after the options.
pub const CATEGORIZE_HELP: &str = "\
Suggests a UCS CatID (DOORWood, AMBForst...) for each indexed file that has no UCS category:
no UCS file name (CatID_FXName_CreatorID_SourceID) and no CATID (or CATEGORY and SUBCATEGORY)
tag, as Soundminer, BaseHead and `hark tag --category` write them. PATH limits it to indexed
files under these folders. The evidence, combined into one confidence per CatID:
  your library   the files that have a UCS category are examples: the 10 nearest to the file
                 by sound vote, each weighted by how close it is (\"8 of your 10 nearest
                 categorised files are DOORWood\"); a categorised copy of the file (the same
                 bytes, or the same recording in another format, trimmed or cut from it, by
                 its audio fingerprint) all but decides (98%).
  zero-shot      how well the file's sound matches each CatID's description (its category,
                 subcategory, the UCS explanation and synonyms) through CLAP's text tower.
                 The texts are embedded once per model and kept in the index directory
                 (ucs-vectors.bin); the first run with a model takes a while (an estimated
                 minute with the full model on two cores).
With no categorised files, the zero-shot match decides alone. A confidence is in [0, 1];
below --min-confidence (default 0.5) hark says \"no suggestion\" rather than guess, and still
shows its best guess. `hark categorize --evaluate` tells how far to trust them on your library.

Needs the model (as `hark similar` does): the zero-shot half cannot run without it, and
confidences without it would mean something else, so hark stops with the model's error.

Accepting a suggestion: `hark tag --category CATID FILE`, or `c` on the file in `hark tui`
(its detail pane shows the suggestion); both are undone by `hark tag --undo`.

--evaluate: leave-one-out over the files that have a UCS category: each is suggested for as
if it had none (itself left out; its copies still count, as they would for a new file), and
top-1 and top-3 accuracy are reported overall and per CatID, with how many suggestions
--min-confidence lets through and how many of those are right.

Output: a table (the evidence under each file); --json prints one object per file per line:
path, id, catid (null for no suggestion), category, subcategory, confidence (of the best
guess), candidates (up to 3: catid, category, subcategory, confidence, neighbours, copies,
zero_shot), evidence (text, copies and neighbours: [{path, catid, similarity}],
library_weight, zero_shot_best: {catid, p}). With --evaluate, one object: files, top1, top3,
top1_accuracy, top3_accuracy, min_confidence, suggested, suggested_right, per_category:
[{catid, category, subcategory, files, top1, top3}]. Names are escaped on a terminal as
`hark search --help` says; JSON is exact.
Exit status: 0 if anything was suggested (or evaluated), 1 if nothing was, 2 on error.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only indexed files under these folders
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print one JSON object per file per line (with --evaluate, one object)
    #[arg(long)]
    json: bool,
    /// Say "no suggestion" below this confidence (0 to 1)
    #[arg(long, value_name = "X", default_value_t = DEFAULT_MIN_CONFIDENCE, value_parser = confidence)]
    min_confidence: f32,
    /// Measure the suggestions leave-one-out on the files that have a UCS category
    #[arg(long, conflicts_with = "paths")]
    evaluate: bool,
}

fn confidence(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{text}` is not a confidence between 0 and 1")),
    }
}

/// A bar on stderr when it is a terminal.
fn bar(len: usize, what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:30.cyan/blue}} {{pos}}/{{len}} {what} ETA {{eta}}"
        ))
        .expect("a valid template")
        .progress_chars("=> "),
    );
    Some(bar)
}

fn categorizer(cli: &Cli) -> anyhow::Result<(Engine, Categorizer)> {
    let index_dir = cli.index_dir()?;
    crate::shared::refresh_replica(cli, &index_dir)?;
    let engine = Engine::open(&index_dir, model_cmd::spec(cli))?;
    let mut texts_bar: Option<ProgressBar> = None;
    let categorizer = engine
        .categorizer(&mut |done, total| {
            let bar = texts_bar.get_or_insert_with(|| {
                output::note(&format!(
                    "describing the {} UCS categories to the model ({total} texts; once per model)",
                    hark_query::categorize::ucs().len()
                ));
                bar(total, "texts").unwrap_or_else(ProgressBar::hidden)
            });
            bar.set_position(done as u64);
        })
        .context("cannot suggest categories")?;
    if let Some(bar) = texts_bar {
        bar.finish_and_clear();
    }
    if let ZeroShotSource::Computed { unsaved, .. } = categorizer.zero_shot() {
        match unsaved {
            None => output::note(&format!(
                "saved the category vectors in `{}` for next time",
                index_dir.join(hark_query::categorize::ZERO_SHOT_CACHE_FILE).display()
            )),
            Some(why) => output::warn(&format!(
                "cannot save the category vectors in `{}`: {why} (they will be made again next time)",
                index_dir.display()
            )),
        }
    }
    Ok((engine, categorizer))
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    if args.evaluate {
        return evaluate(cli, args);
    }
    let under = args
        .paths
        .iter()
        .map(|p| std::fs::canonicalize(p).with_context(|| format!("cannot open `{}`", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (_engine, categorizer) = categorizer(cli)?;
    let found = categorizer.uncategorised(&under);
    if found.without_vector > 0 {
        let n = found.without_vector;
        output::warn(&format!(
            "{n} file{} without a UCS category {} no sound vector yet, so no suggestion\nhint: run `hark index` with the model",
            if n == 1 { "" } else { "s" },
            if n == 1 { "has" } else { "have" },
        ));
    }
    if categorizer.labelled() == 0 {
        output::note(
            "no file in the index has a UCS category: the suggestions come from the zero-shot \
             match alone (UCS-named files, or `hark tag --category`, teach hark your categories)",
        );
    }
    let terminal = std::io::stdout().is_terminal();
    let style = Style {
        colour: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    // A bar only when the table is not on the terminal too (`--json > file`).
    let bar = (!terminal)
        .then(|| bar(found.files.len(), "files"))
        .flatten();
    let mut out = std::io::stdout().lock();
    let mut suggested = 0;
    let mut header = !args.json;
    for (id, _) in &found.files {
        let suggestion = categorizer.suggest(*id)?;
        let accepted = suggestion.suggested(args.min_confidence).is_some();
        suggested += usize::from(accepted);
        let line = if args.json {
            let mut l = serde_json::to_vec(&json_line(&suggestion, args.min_confidence))?;
            l.push(b'\n');
            l
        } else {
            let mut text = String::new();
            if std::mem::take(&mut header) {
                text.push_str(&style.paint("CATID     CONF  CATEGORY             PATH", "2"));
                text.push('\n');
            }
            text.push_str(&row(&suggestion, args.min_confidence, style));
            text.into_bytes()
        };
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        // One write per file: a closed pipe surfaces as an io::Error at once.
        out.write_all(&line)?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out.flush()?;
    Ok(if suggested > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NONE)
    })
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

/// A file's two lines of the table: the suggestion (or `-` for none) and
/// its evidence, indented. Names are escaped for a terminal, always.
fn row(s: &CategorySuggestion, min_confidence: f32, style: Style) -> String {
    let pad = |t: &str, w: usize| format!("{t}{}", " ".repeat(w.saturating_sub(t.width())));
    let path = display_path(&s.path);
    let Some(best) = s.best() else {
        return format!(
            "{}  {}  {}  {path}\n  nothing to go on\n",
            pad("-", 8),
            pad("-", 4),
            pad("-", 19)
        );
    };
    let evidence = safe(&s.explain(best)).into_owned();
    if s.suggested(min_confidence).is_some() {
        format!(
            "{}  {:.2}  {}  {path}\n  {}\n",
            style.paint(&pad(&best.cat_id, 8), "1"),
            best.confidence,
            pad(&format!("{}-{}", best.category, best.subcategory), 19),
            style.paint(&evidence, "2"),
        )
    } else {
        format!(
            "{}  {:.2}  {}  {path}\n  {}\n",
            pad("-", 8),
            best.confidence,
            pad("no suggestion", 19),
            style.paint(
                &format!(
                    "best guess {} ({:.2}): {evidence}",
                    best.cat_id, best.confidence
                ),
                "2"
            ),
        )
    }
}

#[derive(serde::Serialize)]
struct JsonSuggestion {
    path: String,
    id: i64,
    catid: Option<String>,
    category: Option<String>,
    subcategory: Option<String>,
    confidence: f32,
    candidates: Vec<JsonCandidate>,
    evidence: JsonEvidence,
}

#[derive(serde::Serialize)]
struct JsonCandidate {
    catid: String,
    category: String,
    subcategory: String,
    confidence: f32,
    neighbours: usize,
    copies: usize,
    zero_shot: f32,
}

#[derive(serde::Serialize)]
struct JsonEvidence {
    text: String,
    copies: Vec<JsonLabelled>,
    neighbours: Vec<JsonLabelled>,
    library_weight: f32,
    zero_shot_best: Option<JsonZeroShot>,
}

#[derive(serde::Serialize)]
struct JsonLabelled {
    path: String,
    catid: String,
    similarity: f32,
}

#[derive(serde::Serialize)]
struct JsonZeroShot {
    catid: String,
    p: f32,
}

fn labelled(files: &[LabelledFile]) -> Vec<JsonLabelled> {
    files
        .iter()
        .map(|f| JsonLabelled {
            path: f.path.to_string_lossy().into_owned(),
            catid: f.cat_id.clone(),
            similarity: f.similarity,
        })
        .collect()
}

fn json_line(s: &CategorySuggestion, min_confidence: f32) -> JsonSuggestion {
    let chosen = s.suggested(min_confidence);
    JsonSuggestion {
        // JSON strings are Unicode: a non-UTF-8 byte becomes U+FFFD.
        path: s.path.to_string_lossy().into_owned(),
        id: s.id.0,
        catid: chosen.map(|c| c.cat_id.clone()),
        category: chosen.map(|c| c.category.clone()),
        subcategory: chosen.map(|c| c.subcategory.clone()),
        confidence: s.best().map_or(0.0, |c| c.confidence),
        candidates: s
            .candidates
            .iter()
            .map(|c| JsonCandidate {
                catid: c.cat_id.clone(),
                category: c.category.clone(),
                subcategory: c.subcategory.clone(),
                confidence: c.confidence,
                neighbours: c.neighbours,
                copies: c.copies,
                zero_shot: c.zero_shot,
            })
            .collect(),
        evidence: JsonEvidence {
            text: s.best().map(|c| s.explain(c)).unwrap_or_default(),
            copies: labelled(&s.evidence.copies),
            neighbours: labelled(&s.evidence.neighbours),
            library_weight: s.evidence.library_weight,
            zero_shot_best: s
                .evidence
                .zero_shot_best
                .as_ref()
                .map(|(catid, p)| JsonZeroShot {
                    catid: catid.clone(),
                    p: *p,
                }),
        },
    }
}

fn evaluate(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let (_engine, categorizer) = categorizer(cli)?;
    if categorizer.labelled() == 0 {
        bail!(
            "nothing to evaluate: no file in the index has a UCS category\n\
             hint: --evaluate measures the suggestions on files with a UCS name or a CATID tag"
        );
    }
    let mut progress: Option<ProgressBar> = None;
    let eval = categorizer.evaluate(args.min_confidence, &mut |done, total| {
        progress
            .get_or_insert_with(|| bar(total, "files").unwrap_or_else(ProgressBar::hidden))
            .set_position(done as u64);
    })?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut line = serde_json::to_vec(&json_evaluation(&eval))?;
        line.push(b'\n');
        out.write_all(&line)?;
    } else {
        out.write_all(evaluation_table(&eval).as_bytes())?;
    }
    out.flush()?;
    Ok(if eval.files > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NONE)
    })
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn percent(part: usize, whole: usize) -> String {
    format!("{:.1}%", 100.0 * share(part, whole))
}

fn evaluation_table(e: &Evaluation) -> String {
    let mut out = format!(
        "Leave-one-out over {} categorised file{} (each suggested for as if it had no category):\n",
        e.files,
        if e.files == 1 { "" } else { "s" }
    );
    out.push_str(&format!(
        "  top-1  {}  ({} of {})\n",
        percent(e.top1, e.files),
        e.top1,
        e.files
    ));
    out.push_str(&format!(
        "  top-3  {}  ({} of {})\n",
        percent(e.top3, e.files),
        e.top3,
        e.files
    ));
    out.push_str(&format!(
        "  at --min-confidence {}: {} suggested ({}), {} right ({} of those)\n\n",
        e.min_confidence,
        e.suggested,
        percent(e.suggested, e.files),
        e.suggested_right,
        percent(e.suggested_right, e.suggested),
    ));
    let w = e
        .per_category
        .iter()
        .map(|c| c.cat_id.len())
        .chain(["CATID".len()])
        .max()
        .unwrap_or(5);
    out.push_str(&format!("{:<w$}  FILES   TOP-1   TOP-3\n", "CATID"));
    for c in &e.per_category {
        out.push_str(&format!(
            "{:<w$}  {:>5}  {:>6}  {:>6}\n",
            c.cat_id,
            c.files,
            percent(c.top1, c.files),
            percent(c.top3, c.files)
        ));
    }
    out
}

#[derive(serde::Serialize)]
struct JsonEvaluation {
    files: usize,
    top1: usize,
    top3: usize,
    top1_accuracy: f64,
    top3_accuracy: f64,
    min_confidence: f32,
    suggested: usize,
    suggested_right: usize,
    per_category: Vec<JsonCategoryScore>,
}

#[derive(serde::Serialize)]
struct JsonCategoryScore {
    catid: &'static str,
    category: &'static str,
    subcategory: &'static str,
    files: usize,
    top1: usize,
    top3: usize,
}

fn json_evaluation(e: &Evaluation) -> JsonEvaluation {
    JsonEvaluation {
        files: e.files,
        top1: e.top1,
        top3: e.top3,
        top1_accuracy: share(e.top1, e.files),
        top3_accuracy: share(e.top3, e.files),
        min_confidence: e.min_confidence,
        suggested: e.suggested,
        suggested_right: e.suggested_right,
        per_category: e
            .per_category
            .iter()
            .map(|c| {
                let (category, subcategory) =
                    hark_audio::ucs_category(c.cat_id).unwrap_or_default();
                JsonCategoryScore {
                    catid: c.cat_id,
                    category,
                    subcategory,
                    files: c.files,
                    top1: c.top1,
                    top3: c.top3,
                }
            })
            .collect(),
    }
}
