//! `hark model fetch|path`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use hark_model::hub::{self, ModelSpec};

use crate::Cli;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the model into the Hugging Face cache (a progress bar on a terminal), then print its directory
    Fetch,
    /// Print the model's directory; fails with the files expected when there is none
    Path,
}

/// The model the user asked for (`--model`, `HARK_MODEL`, or the default).
pub fn spec(cli: &Cli) -> ModelSpec {
    ModelSpec::parse(cli.model.as_deref())
}

/// Downloads `spec` into the Hugging Face cache (a no-op for what is
/// there already), with hf-hub's progress bars on stderr when it is a
/// terminal and `quiet` is off.
pub fn fetch(spec: &ModelSpec, quiet: bool) -> Result<hub::ModelLocation, hark_model::Error> {
    hub::fetch(spec, !quiet && std::io::stderr().is_terminal())
}

/// Whether `HF_HUB_OFFLINE` forbids the network (`1`, `true`, `yes`, `on`,
/// as the Hugging Face libraries read it).
pub fn hub_offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// Finds and loads the model, without touching the network.
pub fn load(cli: &Cli) -> anyhow::Result<hark_model::Clap> {
    let location = hub::locate(&spec(cli))?;
    hark_model::Clap::load(&location)
        .with_context(|| format!("failed to load the model in `{}`", location.dir.display()))
}

pub fn run(cli: &Cli, cmd: &ModelCommand) -> anyhow::Result<ExitCode> {
    let spec = spec(cli);
    let location = match cmd {
        ModelCommand::Fetch => fetch(&spec, false).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "`hark model fetch` failed\nhint: with no network, copy the model's files ({}, {}) into a directory and pass `--model DIR`",
                hub::REQUIRED_FILES.join(", "),
                hub::WEIGHT_FILES[0]
            ))
        })?,
        ModelCommand::Path => hub::locate(&spec)?,
    };
    // Check that what is there loads, so `path` succeeding means the model works.
    hark_model::Clap::load(&location)
        .with_context(|| format!("the model in `{}` does not load", location.dir.display()))?;
    let mut out = std::io::stdout().lock();
    let terminal = out.is_terminal();
    crate::output::write_path(&mut out, &location.dir, terminal, b'\n')?;
    Ok(ExitCode::SUCCESS)
}
