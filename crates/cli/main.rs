//! The `hark` command: argument parsing and glue. All the work lives in the
//! library crates; this is the only place that prints.

mod categorize;
mod disk;
mod duplicates;
mod embed;
mod index;
mod model_cmd;
mod output;
mod search;
mod shared;
mod tag;
mod tui;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Exit code for an error (grep's convention: 0 found, 1 nothing found, 2 error).
const EXIT_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "hark",
    version,
    about = "Find sounds in a sound library by describing them",
    long_about = "Find sounds in a sound library by describing them.\n\n\
        hark indexes a sound library (`hark index PATH`), then finds sounds by description, \
        by example and by metadata (`hark search`, `hark similar`, `hark tui`), with LAION's \
        CLAP model (laion/clap-htsat-fused) running on the CPU.",
    after_help = "Exit status: 0 success, 2 error; `hark index --help` lists its own.\n\
        The model: --model DIR (a directory in the Hugging Face layout) or a hub id; \
        by default laion/clap-htsat-fused from the Hugging Face cache (`hark index` downloads it when \
        absent, as `hark model fetch` does)."
)]
struct Cli {
    /// The index directory. Default: $XDG_DATA_HOME/hark (~/.local/share/hark).
    #[arg(long, global = true, env = "HARK_INDEX", value_name = "DIR")]
    index: Option<PathBuf>,

    /// The model: a directory in the Hugging Face layout, or a hub id
    /// (`owner/name[@revision]`). Default: laion/clap-htsat-fused.
    #[arg(long, global = true, env = "HARK_MODEL", value_name = "DIR|HUB_ID")]
    model: Option<String>,

    /// A shared catalog for a team: a postgres:// URL (libpq's conventions: ~/.pgpass,
    /// PGPASSFILE, PGHOST, sslmode...). The index directory then holds this host's mounts and
    /// a local replica that search, similar, tui and status read. Default: none (the index
    /// directory's own SQLite catalog)
    #[arg(
        long,
        global = true,
        env = "HARK_CATALOG",
        hide_env_values = true,
        value_name = "URL"
    )]
    catalog: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add folders to the library and bring the index up to date
    #[command(after_help = index::INDEX_HELP)]
    Index(index::Args),
    /// Show the index: folders, counts, model, size, last run (--errors lists failed files)
    Status(index::StatusArgs),
    /// Find sounds by a description, words and filters
    #[command(after_help = search::SEARCH_HELP)]
    Search(search::SearchArgs),
    /// Find sounds like a sound file
    #[command(after_help = search::SIMILAR_HELP)]
    Similar(search::SimilarArgs),
    /// Write a description, keywords and a UCS category into files (--undo restores the last batch)
    #[command(after_help = tag::TAG_HELP)]
    Tag(tag::Args),
    /// The terminal UI: search as you type, hear every hit
    #[command(after_help = tui::TUI_HELP)]
    Tui(tui::Args),
    /// Suggest a UCS category for each file that has none (--evaluate: how good are they)
    #[command(after_help = categorize::CATEGORIZE_HELP)]
    Categorize(categorize::Args),
    /// Groups of indexed files that hold the same sound, each with a suggested keeper
    #[command(after_help = duplicates::DUPLICATES_HELP)]
    Duplicates(duplicates::Args),
    /// Print CLAP embeddings of sounds and texts, one JSON object per input per line
    #[command(after_help = "Inputs are embedded in the order given. Each line is \
            {\"audio\": PATH, \"embedding\": [...]} or {\"text\": TEXT, \"embedding\": [...]}.\n\
            Exit status: 0 if every input was embedded; 2 if any failed (each failure is reported on stderr).")]
    Embed(embed::Args),
    /// Get the model, or show where it is
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
}

impl Cli {
    /// The index directory: `--index`, `HARK_INDEX`, or the platform's data
    /// directory (`$XDG_DATA_HOME/hark`, else `~/.local/share/hark`).
    fn index_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.index {
            return Ok(dir.clone());
        }
        dirs::data_dir()
            .map(|d| d.join("hark"))
            .ok_or_else(|| anyhow::anyhow!("no index directory: pass --index DIR or set HARK_INDEX (no home directory to default to)"))
    }
}

fn main() -> ExitCode {
    hark_model::tune_runtime();
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match &cli.command {
        Command::Embed(args) => {
            let sub = matches.subcommand_matches("embed").expect("embed matches");
            embed::run(&cli, args, sub)
        }
        Command::Index(args) => index::run(&cli, args),
        Command::Status(args) => index::status(&cli, args),
        Command::Model(cmd) => model_cmd::run(&cli, cmd),
        Command::Search(args) => search::search(&cli, args),
        Command::Similar(args) => search::similar(&cli, args),
        Command::Tag(args) => tag::run(&cli, args),
        Command::Tui(args) => tui::run(&cli, args),
        Command::Duplicates(args) => duplicates::run(&cli, args),
        Command::Categorize(args) => categorize::run(&cli, args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if output::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            output::print_error(&e);
            ExitCode::from(EXIT_ERROR)
        }
    }
}
