//! `hark index [PATH]...` and `hark status`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use hark_indexer::{Event, Model, Options, Outcome, Summary};
use hark_model::hub;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use hark_types::terminal;

use crate::{disk, model_cmd, output, Cli};

/// Exit status of `hark index` when a root looked unmounted and its entries were kept.
pub const EXIT_ROOT_KEPT: u8 = 1;
/// Exit status of `hark index` when another run holds the index.
pub const EXIT_LOCKED: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folders to add to the library (remembered); with none, every known folder is refreshed
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// With --catalog: the name of the shared catalog's root that PATH is this host's mount
    /// of (default: PATH's folder name). Hosts mounting one library at different paths give
    /// it the same name, and share its files and vectors
    #[arg(long, value_name = "NAME", requires = "paths")]
    name: Option<String>,
    /// Do not download the model when it is absent (neither does HF_HUB_OFFLINE=1): files
    /// are then indexed by name and metadata and wait for their embeddings
    #[arg(long)]
    no_fetch: bool,
    /// Print nothing but warnings and errors (for cron)
    #[arg(long, short)]
    quiet: bool,
    /// Print a JSON summary on stdout: added, updated, removed, moved, failed, unchanged, salvaged, seconds, ...
    #[arg(long)]
    json: bool,
    /// If another `hark index` is running on this index, wait for it instead of exiting
    #[arg(long)]
    wait: bool,
    /// Remove missing files even when more than half of a folder's files are missing
    /// (by default such a folder is taken for an unmounted drive and its entries are kept)
    #[arg(long)]
    prune_missing: bool,
    /// Commit to the index after every N files (and at least every 2 seconds): a smaller
    /// batch loses less work when a run is interrupted and shows new files to searches
    /// sooner, a larger one writes less often
    #[arg(
        long,
        default_value_t = 64,
        value_name = "N",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    batch: usize,
}

pub const INDEX_HELP: &str = "\
Walks the folders, and for each new or changed sound file reads its metadata, \
decodes it, embeds it with the CLAP model and stores it; unchanged files are not opened, \
moved files keep their embedding, deleted files leave the index. Safe to interrupt \
(work is committed in batches) and to run from cron while searches and the TUI read the index.

When the default model is not in the Hugging Face cache, it is downloaded first (about 615 MB, \
once, as `hark model fetch` does), unless --no-fetch is given or HF_HUB_OFFLINE=1. Without a \
model (not downloaded, or the download failed) files are indexed by name and metadata and wait \
for their embeddings, and `hark search` and `hark tui` find them by words; a later run with the \
model embeds only those.

With --catalog URL (or HARK_CATALOG), the run works on a team's shared PostgreSQL catalog: \
PATH is recorded as this host's mount of the root named by --name (default: the folder's name), \
every mount is walked into the catalog, and the files waiting for vectors are claimed and \
embedded together with any other runs on any host (each file once; --json says how many this run \
`embedded`); then the index directory's replica is brought up to date. See the README, \
\"A shared library for a team\".

Exit status:
  0  the index is up to date (files that could not be read are recorded: `hark status --errors`)
  1  a folder looked unmounted (missing, or more than half its files gone): its entries were kept
  2  error
  3  another `hark index` is updating this index (use --wait to wait for it)";

/// The model for indexing: the loaded model, its identity and its name.
type Found = (hark_model::Clap, String, String);

/// Finds the model for indexing: an explicit `--model` must work; the
/// default is downloaded if absent (see [`fetch_default`]), and may stay
/// absent: the run then indexes without vectors, and the `Err` is the
/// warning that says so.
fn find_model(cli: &Cli, args: &Args) -> anyhow::Result<Result<Found, String>> {
    let spec = model_cmd::spec(cli);
    let location = match hub::locate(&spec) {
        Ok(location) => location,
        Err(hark_model::Error::ModelNotFound { .. }) if cli.model.is_none() => {
            match fetch_default(&spec, args) {
                Ok(location) => location,
                Err(why) => return Ok(Err(why)),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let identity = location
        .identity()
        .with_context(|| format!("cannot read the model in `{}`", location.dir.display()))?;
    let name = location.id.clone();
    let clap = hark_model::Clap::load(&location)
        .with_context(|| format!("failed to load the model in `{}`", location.dir.display()))?;
    Ok(Ok((clap, identity, name)))
}

/// Downloads the default model into the Hugging Face cache, as `hark
/// model fetch` does, unless `--no-fetch` or `HF_HUB_OFFLINE` forbid it;
/// when it cannot, the one-line warning for a run without the model.
fn fetch_default(spec: &hub::ModelSpec, args: &Args) -> Result<hub::ModelLocation, String> {
    let later = "files are indexed by name and metadata, and wait for their embeddings \
                 (`hark model fetch` or `--model DIR`, then `hark index` again, embeds them)";
    if args.no_fetch || model_cmd::hub_offline() {
        let flag = if args.no_fetch {
            "--no-fetch"
        } else {
            "HF_HUB_OFFLINE"
        };
        return Err(format!("no model, and not downloaded ({flag}): {later}"));
    }
    if !args.quiet {
        eprintln!(
            "downloading the model `{}` (about 615 MB, once) into the Hugging Face cache",
            hub::DEFAULT_MODEL
        );
    }
    model_cmd::fetch(spec, args.quiet)
        .map_err(|e| format!("no model: the download failed ({}): {later}", one_line(&e)))
}

/// An error and its causes on one line, each said once.
fn one_line(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let text = e.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = e.source();
    }
    parts.join(": ")
}

/// Shows a run's progress: a bar on a terminal, plain lines otherwise.
struct Reporter {
    quiet: bool,
    /// The warning for a run without the model.
    no_model: Option<String>,
    bar: Option<ProgressBar>,
    plain_every: Duration,
    last_line: Instant,
    done: u64,
    work: u64,
    started: Instant,
}

impl Reporter {
    fn new(quiet: bool, no_model: Option<String>) -> Self {
        Reporter {
            quiet,
            no_model,
            bar: None,
            plain_every: Duration::from_secs(10),
            last_line: Instant::now(),
            done: 0,
            work: 0,
            started: Instant::now(),
        }
    }

    fn say(&self, message: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{}", output::safe(message))),
            None => eprintln!("{}", output::safe(message)),
        }
    }

    fn warn(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| output::warn(message)),
            None => output::warn(message),
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Walked { root, files } => {
                self.say(&format!("{}: {files} sound files", root.display()))
            }
            Event::Problem(p) if !self.quiet => {
                self.warn(&format!("skipped `{}`: {}", p.path.display(), p.cause))
            }
            Event::RootMissing { root, kept } => self.warn(&format!(
                "`{}` is missing (an unmounted drive?): its {kept} files stay in the index",
                root.display()
            )),
            Event::RootMostlyMissing {
                root,
                missing,
                known,
            } => self.warn(&format!(
                "{missing} of the {known} files under `{}` are missing (an unmounted drive?): \
                 they stay in the index\nhint: if they were deleted, run `hark index --prune-missing`",
                root.display()
            )),
            Event::ModelChanged { from, to } => self.say(&format!(
                "the model or pipeline changed: every file is embedded again\n  index: {from}\n  now:   {to}"
            )),
            Event::NoModel => {
                if let Some(why) = &self.no_model {
                    self.warn(why)
                }
            }
            Event::Planned { work, unchanged } => {
                self.work = work as u64;
                self.started = Instant::now();
                self.say(&format!("{work} files to index, {unchanged} unchanged"));
                if !self.quiet && work > 0 && std::io::stderr().is_terminal() {
                    let bar = ProgressBar::with_draw_target(
                        Some(work as u64),
                        ProgressDrawTarget::stderr(),
                    );
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{bar:30.cyan/blue} {pos}/{len} files {per_sec:.dim} ETA {eta} {wide_msg:.dim}",
                        )
                        .expect("a valid template")
                        .progress_chars("=> "),
                    );
                    bar.enable_steady_tick(Duration::from_millis(200));
                    self.bar = Some(bar);
                }
            }
            Event::File { path, outcome } => {
                self.done += 1;
                match outcome {
                    Outcome::Failed { cause } if !self.quiet => {
                        self.warn(&format!("failed: {cause}"))
                    }
                    Outcome::Vanished { cause } if !self.quiet => {
                        self.warn(&format!("`{}` {cause}", path.display()))
                    }
                    _ => {}
                }
                if let Some(bar) = &self.bar {
                    bar.set_position(self.done);
                    bar.set_message(
                        path.file_name()
                            .map(|n| terminal::escape_path(Path::new(n)).into_owned())
                            .unwrap_or_default(),
                    );
                } else if !self.quiet && self.last_line.elapsed() >= self.plain_every {
                    let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                    self.say(&format!(
                        "indexed {}/{} files ({rate:.1} files/s)",
                        self.done, self.work
                    ));
                    self.last_line = Instant::now();
                }
            }
            Event::Repaired(r) => self.warn(&format!(
                "the catalog was damaged: it is kept aside as `{}`; {} roots, {} files and {} \
                 vectors were salvaged from it{}, and what was lost is indexed again",
                r.damaged.display(),
                r.roots,
                r.files,
                r.vectors,
                if r.held > 0 {
                    format!(
                        " ({} more vectors of lost files are kept by content and given back \
                         to those files when this run finds them)",
                        r.held
                    )
                } else {
                    String::new()
                }
            )),
            Event::UcsRefreshed { files } => self.say(&format!(
                "the UCS categories of {files} files were read again from their names and tags"
            )),
            Event::Removed { count } => self.say(&format!("{count} files left the index")),
            Event::AnnStarted => {
                if let Some(bar) = &self.bar {
                    bar.set_message("updating the search graph");
                }
            }
            Event::Ann(r) => {
                use hark_store::ann::AnnAction;
                let what = match &r.action {
                    AnnAction::Built => format!("built over {} vectors", r.indexed),
                    AnnAction::Rebuilt(why) => format!("rebuilt over {} vectors ({why})", r.indexed),
                    AnnAction::Removed => "removed (an exact scan is faster at this size)".into(),
                    AnnAction::Kept | AnnAction::NotNeeded => String::new(),
                };
                if !what.is_empty() {
                    self.say(&format!("search graph {what} in {:.1} s", r.seconds));
                }
            }
            Event::Reconnecting { cause } => self.warn(&format!(
                "lost the shared catalog ({cause}); reconnecting, the batch in flight will be claimed again"
            )),
            Event::AnnFailed(e) => self.warn(&format!(
                "the search graph could not be updated (searches scan every vector until a later run succeeds): {e}"
            )),
            _ => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let index_dir = cli.index_dir()?;
    if let Some(address) = crate::shared::address(cli)? {
        return run_shared(cli, args, &index_dir, &address);
    }
    if args.name.is_some() {
        anyhow::bail!("--name names a root of a shared catalog\nhint: give the catalog with --catalog URL (or HARK_CATALOG)");
    }
    let options = Options {
        add_roots: args.paths.clone(),
        wait: args.wait,
        prune_missing: args.prune_missing,
        commit_files: args.batch,
        ..Options::default()
    };
    // A damaged catalog is the run's to repair, roots and all.
    let has_roots = match hark_store::Catalog::open_readonly(&index_dir).and_then(|c| c.roots()) {
        Ok(roots) => !roots.is_empty(),
        Err(e) => e.is_damaged(),
    };
    if args.paths.is_empty() && !has_roots {
        anyhow::bail!(
            "no folders to index in `{}`\nhint: run `hark index PATH` to add a sound library",
            index_dir.display()
        );
    }
    // After the check above: a mistaken run downloads nothing.
    let (model, no_model) = match find_model(cli, args)? {
        Ok(found) => (Some(found), None),
        Err(why) => (None, Some(why)),
    };
    let mut reporter = Reporter::new(args.quiet, no_model);
    let result = hark_indexer::run(
        &index_dir,
        &options,
        model.as_ref().map(|(clap, identity, name)| Model {
            clap,
            identity,
            name,
        }),
        &mut |e: Event<'_>| reporter.event(e),
    );
    reporter.finish();
    let summary = match result {
        Ok(summary) => summary,
        Err(e @ hark_indexer::Error::Locked { .. }) => {
            output::print_error(&anyhow::Error::new(e).context(format!(
                "index `{}` is busy\nhint: wait for the other run, or pass --wait",
                index_dir.display()
            )));
            return Ok(ExitCode::from(EXIT_LOCKED));
        }
        Err(e) if disk::is_full(&e, &index_dir) => {
            let left = disk::Left {
                files: (reporter.work > 0).then(|| reporter.work.saturating_sub(reporter.done)),
            };
            let hint = disk::hint(&index_dir, &left);
            return Err(anyhow::Error::new(e).context(format!(
                "`hark index` stopped: the disk is full; the index is intact\nhint: {hint}"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    report(&summary, args)
}

/// `hark index` against a shared catalog: this host's mounts (PATHs are
/// added as mounts of their root names), the work split with the other
/// runs, the replica synced.
fn run_shared(
    cli: &Cli,
    args: &Args,
    index_dir: &std::path::Path,
    address: &hark_shared::Address,
) -> anyhow::Result<ExitCode> {
    if args.name.is_some() && args.paths.len() > 1 {
        anyhow::bail!("--name names one root: give one PATH with it");
    }
    let mut add = Vec::new();
    for path in &args.paths {
        let name = match &args.name {
            Some(name) => name.clone(),
            None => std::fs::canonicalize(path)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "cannot name the root `{}` after its folder\nhint: give its name with --name NAME",
                        path.display()
                    )
                })?,
        };
        add.push((name, path.clone()));
    }
    let options = Options {
        prune_missing: args.prune_missing,
        commit_files: args.batch,
        ..Options::default()
    };
    let (model, no_model) = match find_model(cli, args)? {
        Ok(found) => (Some(found), None),
        Err(why) => (None, Some(why)),
    };
    let mut reporter = Reporter::new(args.quiet, no_model);
    let result = hark_indexer::run_shared(
        index_dir,
        address,
        &add,
        &options,
        model.as_ref().map(|(clap, identity, name)| Model {
            clap,
            identity,
            name,
        }),
        &mut |e: Event<'_>| reporter.event(e),
    );
    reporter.finish();
    let summary = match result {
        Ok(summary) => summary,
        Err(hark_indexer::Error::Shared(e @ hark_shared::Error::ReadOnlyRole { .. }))
            if !add.is_empty() =>
        {
            return Err(anyhow::Error::new(e).context(
                "`hark index` needs a role that may write; the mount was recorded, so search, \
                 similar, status and tui use it",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    report(&summary, args)
}

/// A run's end, local or shared: the JSON summary (--json), the summary
/// line (unless --quiet), and the exit status.
fn report(summary: &Summary, args: &Args) -> anyhow::Result<ExitCode> {
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, summary)?;
        writeln!(out)?;
    }
    if !args.quiet {
        print_summary(summary);
    }
    Ok(if summary.kept_missing_roots() {
        ExitCode::from(EXIT_ROOT_KEPT)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(s: &Summary) {
    let mut parts = vec![
        format!("{} added", s.added),
        format!("{} updated", s.updated),
    ];
    for (n, what) in [
        (s.embedded, "embedded"),
        (s.moments, "moments of long files embedded"),
        (s.moved, "moved"),
        (s.removed, "removed"),
        (s.failed, "failed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.push(format!("{} unchanged", s.unchanged));
    eprintln!("indexed: {} in {:.1} s", parts.join(", "), s.seconds);
    if s.salvaged > 0 {
        eprintln!(
            "  {} vectors salvaged from the damaged catalog (not embedded again)",
            s.salvaged
        );
    }
    if s.failed > 0 {
        eprintln!("  files that failed, with their causes: `hark status --errors`");
    }
    if s.waiting > 0 {
        eprintln!("  {} files wait for their embeddings (no model)", s.waiting);
    }
}

// ---------------------------------------------------------------------------
// hark status

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// List each file that could not be indexed, with its cause
    #[arg(long)]
    errors: bool,
    /// Print one JSON object on stdout
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Status {
    index: PathBuf,
    roots: Vec<RootStatus>,
    files: u64,
    embedded: u64,
    moments: u64,
    waiting: u64,
    failed: u64,
    model: Option<String>,
    model_identity: Option<String>,
    pipeline: Option<String>,
    size_bytes: u64,
    last_run: Option<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<FailedJson>>,
    /// With --catalog: the shared catalog (redacted) and the replica.
    #[serde(skip_serializing_if = "Option::is_none")]
    shared: Option<SharedStatus>,
}

#[derive(serde::Serialize)]
struct SharedStatus {
    /// The catalog's address, its password masked.
    catalog: String,
    /// When the replica was last brought up to date (Unix seconds).
    replica_updated_at: Option<i64>,
    /// This index directory's mounts: root name and local path.
    mounts: Vec<hark_shared::Mount>,
}

#[derive(serde::Serialize)]
struct RootStatus {
    path: PathBuf,
    files: u64,
    present: bool,
}

#[derive(serde::Serialize)]
struct FailedJson {
    path: PathBuf,
    error: String,
}

/// Bytes used by the files in `dir` (not recursive: the index is flat).
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

pub fn status(cli: &Cli, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let index_dir = cli.index_dir()?;
    crate::shared::refresh_replica(cli, &index_dir)?;
    let catalog = hark_store::Catalog::open_readonly(&index_dir).map_err(|e| {
        if e.is_damaged() {
            return anyhow::Error::new(e);
        }
        anyhow::Error::new(e).context(format!(
            "no index in `{}`\nhint: run `hark index PATH` to build one",
            index_dir.display()
        ))
    })?;
    // A health report reads every page: damage anywhere is found here,
    // not only where a search happens to read.
    catalog.check()?;
    let counts = catalog.counts()?;
    let per_root: std::collections::HashMap<_, _> = catalog.files_per_root()?.into_iter().collect();
    let roots = catalog
        .roots()?
        .into_iter()
        .map(|r| RootStatus {
            files: per_root.get(&r.id).copied().unwrap_or(0),
            present: r.path.is_dir(),
            path: r.path,
        })
        .collect();
    let last_run = catalog
        .meta(hark_store::meta::LAST_RUN)?
        .and_then(|json| serde_json::from_str::<Summary>(&json).ok());
    let errors = if args.errors {
        Some(
            catalog
                .failed_files()?
                .into_iter()
                .map(|f| FailedJson {
                    path: f.path,
                    error: f.error,
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let status = Status {
        index: index_dir.clone(),
        roots,
        files: counts.files,
        embedded: counts.embedded,
        moments: counts.moments,
        waiting: counts.waiting,
        failed: counts.failed,
        model: catalog.meta(hark_store::meta::MODEL_NAME)?,
        model_identity: catalog.meta(hark_store::meta::MODEL)?,
        pipeline: catalog.meta(hark_store::meta::PIPELINE)?,
        size_bytes: dir_size(&index_dir),
        last_run,
        errors,
        shared: match crate::shared::address(cli)? {
            Some(address) => Some(SharedStatus {
                catalog: address.shown().to_string(),
                replica_updated_at: hark_shared::replica::last_synced(&index_dir).and_then(|t| {
                    t.duration_since(std::time::UNIX_EPOCH)
                        .ok()
                        .map(|d| d.as_secs() as i64)
                }),
                mounts: hark_shared::Mounts::load(&index_dir)?.mounts,
            }),
            None => None,
        },
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &status)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "index:    {} ({})",
        terminal::escape_path(&status.index),
        human_bytes(status.size_bytes)
    )?;
    if let Some(shared) = &status.shared {
        writeln!(
            out,
            "catalog:  {} (shared; this directory holds its replica)",
            terminal::escape(&shared.catalog)
        )?;
        for m in &shared.mounts {
            writeln!(
                out,
                "mount:    {} at {}",
                terminal::escape(&m.name),
                terminal::escape_path(&m.path)
            )?;
        }
    }
    writeln!(
        out,
        "files:    {} ({} embedded, {} waiting for the model, {} failed)",
        status.files, status.embedded, status.waiting, status.failed
    )?;
    if status.moments > 0 {
        writeln!(
            out,
            "moments:  {} (10 s windows of files over 30 s)",
            status.moments
        )?;
    }
    match (&status.model, &status.model_identity) {
        (Some(name), Some(identity)) if name != identity => writeln!(
            out,
            "model:    {} ({})",
            terminal::escape(name),
            terminal::escape(identity)
        )?,
        (_, Some(identity)) => writeln!(out, "model:    {}", terminal::escape(identity))?,
        _ => writeln!(out, "model:    none yet")?,
    }
    if let Some(run) = &status.last_run {
        let ago = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
            - run.finished_at;
        writeln!(
            out,
            "last run: {} ago, {:.1} s: {} added, {} updated, {} removed, {} moved, {} failed, {} unchanged",
            human_duration(ago.max(0) as u64),
            run.seconds,
            run.added,
            run.updated,
            run.removed,
            run.moved,
            run.failed,
            run.unchanged
        )?;
    }
    writeln!(out, "roots:")?;
    for root in &status.roots {
        let missing = if root.present { "" } else { "  (missing)" };
        writeln!(
            out,
            "  {}  {} files{missing}",
            terminal::escape_path(&root.path),
            root.files
        )?;
    }
    if let Some(errors) = &status.errors {
        if errors.is_empty() {
            writeln!(out, "no failed files")?;
        } else {
            writeln!(out, "failed files:")?;
            for f in errors {
                // One line each, whatever the name or the cause holds.
                writeln!(
                    out,
                    "  {}\n    {}",
                    terminal::escape_path(&f.path),
                    terminal::escape(&f.error)
                )?;
            }
        }
    } else if status.failed > 0 {
        writeln!(
            out,
            "{} files failed: `hark status --errors` lists them",
            status.failed
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}
