//! The hark TUI on a fake backend of eight generated sounds (written as WAV
//! files into a temporary folder, so they play), for trying the UI without
//! an index and for the pseudo-terminal test.
//!
//! ```sh
//! cargo run -p hark-tui --example demo -- [QUERY] [--silent] [--embed-ms N] [--log FILE] [--publish-after-ms N]
//! ```
//!
//! `--silent` plays into a null sink at real-time pace (no audio device
//! needed); `--embed-ms` is how long the fake text tower takes (default
//! 400, to show the spinner); `--log` is the log file (default: in the
//! temporary folder); `--publish-after-ms` pretends a cron run publishes a
//! new index after that long.

#[path = "../tests/common/fake.rs"]
mod fake;

use std::process::ExitCode;
use std::time::Duration;

use hark_tui::{AudioOutput, TuiOptions};

struct Args {
    query: Option<String>,
    silent: bool,
    embed_ms: u64,
    log: Option<std::path::PathBuf>,
    publish_after_ms: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        query: None,
        silent: false,
        embed_ms: 400,
        log: None,
        publish_after_ms: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: not a number: {v}"))
        };
        match arg.as_str() {
            "--silent" => args.silent = true,
            "--embed-ms" => args.embed_ms = number("--embed-ms")?,
            "--publish-after-ms" => args.publish_after_ms = Some(number("--publish-after-ms")?),
            "--log" => args.log = Some(it.next().ok_or("--log needs a file")?.into()),
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            other => args.query = Some(other.to_string()),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot make a temporary folder: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = fake::write_sounds(dir.path()) {
        eprintln!("error: cannot write the demo sounds: {e}");
        return ExitCode::from(2);
    }
    let backend = fake::FakeBackend::new(dir.path(), Duration::from_millis(args.embed_ms));
    if let Some(ms) = args.publish_after_ms {
        backend.publish_after(Duration::from_millis(ms));
    }
    let mut options = TuiOptions::new(args.log.unwrap_or_else(|| dir.path().join("tui.log")));
    if args.silent {
        options.audio = AudioOutput::Silent;
    }
    match hark_tui::run(backend, args.query, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", hark_tui::backend::error_chain(&e));
            ExitCode::from(2)
        }
    }
}
