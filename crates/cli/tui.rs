//! `hark tui [QUERY]`: the terminal UI (crate hark-tui) on the search
//! engine (crate hark-query), joined by a thin adapter.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hark_query::{Engine, Query, QueryVectors, SimilarTarget};
use hark_tui::backend as ui;

use crate::{model_cmd, Cli};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A query to start with (the same language as `hark search`)
    #[arg(value_name = "QUERY", num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    query: Vec<String>,
    /// Play nothing (sounds play silently, the position still moves)
    #[arg(long)]
    silent: bool,
    /// The log file; default $XDG_STATE_HOME/hark/tui.log (~/.local/state/hark/tui.log)
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

pub const TUI_HELP: &str = "\
Type to search (as you type); Down or Enter moves to the list. Space plays or stops, \
a toggles audition-on-select, Left/Right seek, s finds similar sounds, +/- mark hits as \
wanted/unwanted and re-rank, Backspace goes back, y copies the path, e copies the marked \
files into a folder, o opens the folder, ? shows every key, q quits.

Logs go to the log file, never to the screen. A cron run that updates the index is picked up \
without a restart.";

/// The engine as the UI's backend: type conversions only.
struct EngineBackend(Engine);

fn id(id: hark_store::FileId) -> ui::FileId {
    ui::FileId(id.0)
}

fn store_id(id: ui::FileId) -> hark_store::FileId {
    hark_store::FileId(id.0)
}

fn hits(hits: Vec<hark_query::Hit>) -> Vec<ui::Hit> {
    hits.into_iter()
        .map(|h| ui::Hit {
            id: id(h.id),
            path: h.path,
            score: h.score,
            duration_s: h.duration_s,
            sample_rate: h.sample_rate,
            channels: h.channels,
            offset_s: h.offset_s,
            matched: match h.matched {
                hark_query::Matched::Sound => ui::Matched::Sound,
                hark_query::Matched::Words => ui::Matched::Words,
                hark_query::Matched::Both => ui::Matched::Both,
                hark_query::Matched::Filter => ui::Matched::Filter,
            },
        })
        .collect()
}

impl ui::Backend for EngineBackend {
    type Query = Query;
    type Vectors = QueryVectors;
    type Error = hark_query::Error;

    fn parse(&self, query: &str) -> Result<Query, Self::Error> {
        // The UI refines lists that have no query (similar sounds, the
        // library): an empty query, which the command line refuses, is
        // valid here and stands for "no words, no filters".
        if query.trim().is_empty() {
            return Ok(Query {
                source: String::new(),
                terms: Vec::new(),
                excluded: Vec::new(),
                filters: Vec::new(),
            });
        }
        self.0.parse(query)
    }

    fn embed_query(&self, query: &Query) -> Result<QueryVectors, Self::Error> {
        self.0.embed_query(query)
    }

    fn run(
        &self,
        query: &Query,
        vectors: Option<&QueryVectors>,
        k: usize,
    ) -> Result<Vec<ui::Hit>, Self::Error> {
        self.0.run(query, vectors, k).map(hits)
    }

    fn similar(&self, file: ui::FileId, k: usize) -> Result<Vec<ui::Hit>, Self::Error> {
        self.0
            .similar(&SimilarTarget::File(store_id(file)), k, None)
            .map(hits)
    }

    fn refine(
        &self,
        query: &Query,
        vectors: Option<&QueryVectors>,
        wanted: &[ui::FileId],
        unwanted: &[ui::FileId],
        k: usize,
    ) -> Result<Vec<ui::Hit>, Self::Error> {
        let wanted: Vec<_> = wanted.iter().copied().map(store_id).collect();
        let unwanted: Vec<_> = unwanted.iter().copied().map(store_id).collect();
        self.0
            .refine(query, vectors, &wanted, &unwanted, k)
            .map(hits)
    }

    fn recent(&self, k: usize) -> Result<Vec<ui::Hit>, Self::Error> {
        self.0.recent(k).map(hits)
    }

    fn detail(&self, file: ui::FileId) -> Result<ui::FileDetail, Self::Error> {
        let d = self.0.detail(store_id(file))?;
        Ok(ui::FileDetail {
            id: id(d.id),
            path: d.path,
            format: d.format,
            codec: d.codec,
            duration_s: d.duration_s,
            sample_rate: d.sample_rate,
            channels: d.channels,
            bits_per_sample: d.bits_per_sample,
            tags: d.tags,
            ucs_cat_id: d.ucs_cat_id,
            ucs_category: d.ucs_category,
            ucs_subcategory: d.ucs_subcategory,
            ucs_fx_name: d.ucs_fx_name,
            peaks: d.peaks,
        })
    }

    fn reload_if_changed(&self) -> Result<bool, Self::Error> {
        self.0.reload_if_changed()
    }

    fn summary(&self) -> Result<ui::IndexSummary, Self::Error> {
        let s = self.0.summary()?;
        Ok(ui::IndexSummary {
            files: s.files,
            indexed: s.embedded,
            failed: s.failed,
            model: s.model,
        })
    }
}

/// The log file: `--log`, else `$XDG_STATE_HOME/hark/tui.log`.
fn log_file(args: &Args) -> anyhow::Result<PathBuf> {
    if let Some(log) = &args.log {
        return Ok(log.clone());
    }
    let dir = dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .context("no directory for the log file: pass --log FILE")?
        .join("hark");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create `{}` for the log file", dir.display()))?;
    Ok(dir.join("tui.log"))
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "`hark tui` needs a terminal\nhint: for scripts, use `hark search QUERY` (with --json or --paths)"
        );
    }
    let index_dir = cli.index_dir()?;
    let engine = Engine::open(&index_dir, model_cmd::spec(cli))?;
    let mut options = hark_tui::runtime::TuiOptions::new(log_file(args)?);
    if args.silent {
        options.audio = hark_tui::runtime::AudioOutput::Silent;
    }
    let query = (!args.query.is_empty()).then(|| args.query.join(" "));
    hark_tui::runtime::run(EngineBackend(engine), query, options)?;
    Ok(ExitCode::SUCCESS)
}
