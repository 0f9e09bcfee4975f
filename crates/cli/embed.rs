//! `hark embed (--audio FILE | --text TEXT)...`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::ArgMatches;

use crate::{output, Cli, EXIT_ERROR};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A sound file to embed (any format hark decodes); repeatable
    #[arg(long, value_name = "FILE", action = clap::ArgAction::Append)]
    audio: Vec<PathBuf>,
    /// A text to embed; repeatable
    #[arg(long, value_name = "TEXT", action = clap::ArgAction::Append)]
    text: Vec<String>,
}

/// One output line; f32 values print in their shortest round-trip form.
#[derive(serde::Serialize)]
struct Line<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    audio: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    embedding: &'a [f32],
}

enum Input<'a> {
    Audio(&'a PathBuf),
    Text(&'a str),
}

/// Inputs in the order they were given on the command line.
fn ordered<'a>(args: &'a Args, matches: &ArgMatches) -> Vec<Input<'a>> {
    let mut inputs: Vec<(usize, Input)> = Vec::new();
    if let Some(idx) = matches.indices_of("audio") {
        inputs.extend(idx.zip(&args.audio).map(|(i, a)| (i, Input::Audio(a))));
    }
    if let Some(idx) = matches.indices_of("text") {
        inputs.extend(
            idx.zip(&args.text)
                .map(|(i, t)| (i, Input::Text(t.as_str()))),
        );
    }
    inputs.sort_by_key(|(i, _)| *i);
    inputs.into_iter().map(|(_, input)| input).collect()
}

pub fn run(cli: &Cli, args: &Args, matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    let inputs = ordered(args, matches);
    if inputs.is_empty() {
        anyhow::bail!("nothing to embed\nhint: pass `--audio FILE` or `--text TEXT` (repeatable)");
    }
    let model = crate::model_cmd::load(cli)?;
    let mut out = std::io::stdout().lock();
    let mut failed = 0usize;
    for input in inputs {
        let (key, value, result) = match input {
            Input::Audio(path) => (
                "audio",
                path.to_string_lossy().into_owned(),
                match hark_query::embed_audio_file(&model, path) {
                    // The decoder's message names the file and the cause.
                    Err(hark_query::Error::NotAudio { cause }) => Err(anyhow::Error::from(cause)),
                    other => other.with_context(|| format!("failed to embed `{}`", path.display())),
                },
            ),
            Input::Text(text) => (
                "text",
                text.to_owned(),
                model
                    .embed_text(text)
                    .with_context(|| format!("failed to embed the text {text:?}")),
            ),
        };
        match result {
            Ok(embedding) => {
                let line = Line {
                    audio: (key == "audio").then_some(value.as_str()),
                    text: (key == "text").then_some(value.as_str()),
                    embedding: &embedding,
                };
                // One write_all per line: a closed stdout then surfaces as an
                // io::Error (serde_json's error would hide it; see output::is_broken_pipe).
                let mut bytes = serde_json::to_vec(&line)?;
                bytes.push(b'\n');
                out.write_all(&bytes)?;
            }
            Err(e) => {
                if output::is_broken_pipe(&e) {
                    return Err(e);
                }
                output::print_error(&e);
                failed += 1;
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        output::warn(&format!("{failed} input(s) could not be embedded"));
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    Ok(ExitCode::SUCCESS)
}
