//! End-to-end tests of the `hark` binary, on the small CLAP checkpoint in
//! `tests/fixtures/clap-tiny` (embedding dimension 32, loads in milliseconds).
//!
//! Every run goes through [`run_within`], which fails the test (and kills the
//! process) when `hark` takes longer than it may. The environment is made
//! hermetic: `HARK_MODEL` and `HARK_INDEX` are removed unless a test sets them,
//! and the tests that look at the default model point `HF_HOME` at an empty
//! temporary directory.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

mod common;
use common::*;

/// `hark embed --model FIXTURE ARGS...`.
fn embed<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = hark();
    cmd.args(["embed", "--model", fixture()]).args(args);
    cmd
}

/// An empty temporary directory.
/// Checks one `hark embed` line: an object with exactly `key: value` and a
/// unit-length `embedding` of [`DIM`] finite numbers. Returns the embedding.
#[track_caller]
fn check_line(line: &str, key: &str, value: &str) -> Vec<f64> {
    let parsed: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
    let object = parsed
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {line:?}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = vec![key, "embedding"];
    expected.sort_unstable();
    assert_eq!(keys, expected, "unexpected keys in {}", truncate(line));
    assert_eq!(
        object[key].as_str(),
        Some(value),
        "wrong {key:?} in {}",
        truncate(line)
    );
    let embedding: Vec<f64> = object["embedding"]
        .as_array()
        .unwrap_or_else(|| panic!("`embedding` is not an array in {}", truncate(line)))
        .iter()
        .map(|v| {
            v.as_f64()
                .unwrap_or_else(|| panic!("non-number {v} in the embedding of {}", truncate(line)))
        })
        .collect();
    assert_eq!(
        embedding.len(),
        DIM,
        "embedding of the wrong length in {}",
        truncate(line)
    );
    assert!(
        embedding.iter().all(|x| x.is_finite()),
        "non-finite value in {}",
        truncate(line)
    );
    let norm = embedding.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!(
        (norm - 1.0).abs() <= 1e-4,
        "embedding is not a unit vector (L2 norm {norm}) in {}",
        truncate(line)
    );
    embedding
}

/// The embedding of a `hark embed` line exactly as printed (the JSON array),
/// for bit-for-bit comparisons: f32 values print in their shortest round-trip form,
/// so equal text means equal bits.
#[track_caller]
fn embedding_text(line: &str) -> &str {
    const KEY: &str = "\"embedding\":";
    let start = line
        .find(KEY)
        .unwrap_or_else(|| panic!("no {KEY} in {}", truncate(line)))
        + KEY.len();
    let array = line[start..].trim_end().trim_end_matches('}');
    assert!(
        array.starts_with('[') && array.ends_with(']'),
        "`embedding` is not the last field of {}",
        truncate(line)
    );
    array
}

// 1. Output format.

#[test]
fn embed_prints_one_json_line_per_input_in_order() {
    let wav = fixture_file("stereo_48k.wav");
    let out = run(embed([
        "--text",
        "a dog barks",
        "--audio",
        &wav,
        "--text",
        "x",
    ]));
    out.assert_success();
    let lines = out.lines(3);
    let dog = check_line(lines[0], "text", "a dog barks");
    let audio = check_line(lines[1], "audio", &wav);
    let x = check_line(lines[2], "text", "x");
    // Guards against a constant output passing the checks above.
    assert_ne!(dog, x, "two different texts gave the same embedding");
    assert_ne!(dog, audio, "a text and a sound gave the same embedding");
}

#[test]
fn embed_reports_audio_paths_as_given() {
    // An absolute path and a relative one with `./`, each printed unchanged.
    let absolute = root().join(fixture_file("mono_44k1.wav"));
    let absolute = absolute.to_str().expect("UTF-8 path");
    let dotted = format!("./{}", fixture_file("stereo_48k.wav"));
    let out = run(embed(["--audio", absolute, "--audio", &dotted]));
    out.assert_success();
    let lines = out.lines(2);
    check_line(lines[0], "audio", absolute);
    check_line(lines[1], "audio", &dotted);
}

// 2. Determinism.

#[test]
fn audio_embedding_is_identical_run_after_run() {
    let wav = fixture_file("stereo_48k.wav");
    let first = run(embed(["--audio", &wav]));
    first.assert_success();
    let second = run(embed(["--audio", &wav]));
    second.assert_success();
    let (a, b) = (first.lines(1), second.lines(1));
    assert_eq!(a, b, "two runs on the same file differ");
    check_line(a[0], "audio", &wav);
}

#[test]
fn embeddings_are_identical_alone_and_in_a_batch() {
    let stereo = fixture_file("stereo_48k.wav");
    let mono = fixture_file("mono_44k1.wav");
    let text = "a dog barks";

    let text_alone = run(embed(["--text", text]));
    text_alone.assert_success();
    let audio_alone = run(embed(["--audio", &stereo]));
    audio_alone.assert_success();
    let batch = run(embed([
        "--text",
        "rain on a tin roof",
        "--audio",
        &mono,
        "--text",
        text,
        "--audio",
        &stereo,
        "--text",
        "a much longer text about a door creaking open slowly in an empty house",
    ]));
    batch.assert_success();

    let batch_lines = batch.lines(5);
    let text_line = text_alone.lines(1)[0];
    let audio_line = audio_alone.lines(1)[0];
    check_line(batch_lines[2], "text", text);
    check_line(batch_lines[3], "audio", &stereo);
    assert_eq!(
        embedding_text(text_line),
        embedding_text(batch_lines[2]),
        "the text's embedding differs alone and in a batch"
    );
    assert_eq!(
        embedding_text(audio_line),
        embedding_text(batch_lines[3]),
        "the sound's embedding differs alone and in a batch"
    );
    assert_eq!(text_line, batch_lines[2]);
    assert_eq!(audio_line, batch_lines[3]);
}

// 3. Where the model comes from.

#[test]
fn model_from_env_and_flag_in_either_position() {
    let reference = run(embed(["--text", "x"]));
    reference.assert_success();
    let expected = reference.lines(1)[0];
    check_line(expected, "text", "x");

    let from_env = run(hark()
        .env("HARK_MODEL", fixture())
        .args(["embed", "--text", "x"]));
    let after = run(hark().args(["embed", "--text", "x", "--model", fixture()]));
    let before = run(hark().args(["--model", fixture(), "embed", "--text", "x"]));
    for out in [&from_env, &after, &before] {
        out.assert_success();
        assert_eq!(
            out.lines(1)[0],
            expected,
            "different output: {}",
            out.describe()
        );
    }
}

#[test]
fn model_flag_overrides_env() {
    let empty = empty_dir();
    let out = run(hark().env("HARK_MODEL", empty.path()).args([
        "embed",
        "--text",
        "x",
        "--model",
        fixture(),
    ]));
    out.assert_success();
    check_line(out.lines(1)[0], "text", "x");
}

// 4. Failing inputs.

#[test]
fn missing_audio_file_fails_but_other_inputs_print() {
    let out = run(embed(["--audio", "/nonexistent.wav", "--text", "y"]));
    out.assert_code(2)
        .assert_stderr_contains("/nonexistent.wav");
    assert!(
        out.stderr.starts_with("error:"),
        "stderr does not start with `error:`: {}",
        out.describe()
    );
    check_line(out.lines(1)[0], "text", "y");
}

#[test]
fn undecodable_wav_fails_and_is_named() {
    let dir = empty_dir();
    let fake = dir.path().join("not-audio.wav");
    std::fs::write(&fake, "this is text, not a RIFF file\n").expect("cannot write the test file");
    let fake = fake.to_str().expect("UTF-8 path");

    let out = run(embed(["--audio", fake]));
    out.assert_code(2).assert_stderr_contains(fake);
    assert!(
        out.stderr.starts_with("error:"),
        "stderr does not start with `error:`: {}",
        out.describe()
    );
    assert!(
        out.stdout.is_empty(),
        "unexpected stdout: {}",
        out.describe()
    );

    // Among good inputs, the others still print, in order.
    let wav = fixture_file("mono_44k1.wav");
    let out = run(embed(["--text", "a", "--audio", fake, "--audio", &wav]));
    out.assert_code(2).assert_stderr_contains(fake);
    let lines = out.lines(2);
    check_line(lines[0], "text", "a");
    check_line(lines[1], "audio", &wav);
}

// 5. Nothing to do.

#[test]
fn embed_without_inputs_fails_with_a_hint() {
    let out = run(embed(std::iter::empty::<&str>()));
    out.assert_code(2)
        .assert_stderr_contains("--audio")
        .assert_stderr_contains("--text");
    assert!(
        out.stdout.is_empty(),
        "unexpected stdout: {}",
        out.describe()
    );
}

// 6. No model.

/// `hark` using the default model, with an empty Hugging Face cache and no network.
fn without_model(hf_home: &Path) -> Command {
    let mut cmd = hark();
    cmd.env("HF_HOME", hf_home)
        .env("HF_ENDPOINT", "http://127.0.0.1:9");
    cmd
}

#[track_caller]
fn assert_model_missing_explained(out: &Output) {
    out.assert_code(2)
        .assert_stderr_contains("error:")
        .assert_stderr_contains("config.json")
        .assert_stderr_contains("model.safetensors")
        .assert_stderr_contains("hark model fetch");
    assert!(
        out.stdout.is_empty(),
        "unexpected stdout: {}",
        out.describe()
    );
}

#[test]
fn embed_without_model_says_what_is_missing_at_once() {
    let hf_home = empty_dir();
    let out = run_within(
        without_model(hf_home.path()).args(["embed", "--text", "x"]),
        Duration::from_secs(5),
    );
    assert_model_missing_explained(&out);
}

#[test]
fn model_path_without_model_says_what_is_missing_at_once() {
    let hf_home = empty_dir();
    let out = run_within(
        without_model(hf_home.path()).args(["model", "path"]),
        Duration::from_secs(5),
    );
    assert_model_missing_explained(&out);
    let left: Vec<_> = std::fs::read_dir(hf_home.path())
        .expect("HF_HOME")
        .collect();
    assert!(
        left.is_empty(),
        "`hark model path` wrote into HF_HOME: {left:?}"
    );
}

// 7. `hark model path`.

#[test]
fn model_path_prints_the_directory() {
    let dir = root().join(fixture());
    let dir = dir.to_str().expect("UTF-8 path");
    let out = run(hark().args(["model", "path", "--model", dir]));
    out.assert_success();
    assert_eq!(out.stdout, format!("{dir}\n"), "{}", out.describe());
}

#[test]
fn model_path_on_an_empty_directory_lists_missing_files() {
    let empty = empty_dir();
    let out = run(hark().args(["model", "path", "--model"]).arg(empty.path()));
    out.assert_code(2)
        .assert_stderr_contains(empty.path().to_str().expect("UTF-8 path"));
    for file in [
        "config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "model.safetensors",
    ] {
        out.assert_stderr_contains(file);
    }
    assert!(
        out.stdout.is_empty(),
        "unexpected stdout: {}",
        out.describe()
    );
}

// 8. `hark model fetch` without network.

#[test]
fn model_fetch_without_network_fails_with_a_hint() {
    let hf_home = empty_dir();
    let mut cmd = without_model(hf_home.path());
    for proxy in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(proxy);
    }
    let out = run_within(cmd.args(["model", "fetch"]), Duration::from_secs(10));
    out.assert_code(2)
        .assert_stderr_contains("error:")
        .assert_stderr_contains("\nhint:");
    assert!(
        out.stderr.starts_with("error:"),
        "stderr does not start with `error:`: {}",
        out.describe()
    );
    assert!(
        out.stdout.is_empty(),
        "unexpected stdout: {}",
        out.describe()
    );
}

// 9. A reader that stops early (`hark embed … | head -1`).

/// Runs `hark embed` with many inputs, reads the first line, closes the pipe,
/// and expects a quiet, successful exit.
fn stop_reading_after_first_line(texts: &[String]) {
    let mut cmd = embed(texts.iter().flat_map(|t| ["--text", t.as_str()]));
    let what = format!("`hark embed` with {} texts", texts.len());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {HARK}: {e}"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .expect("cannot read the first line");
    drop(stdout);
    let (status, stderr) = wait_within(&mut child, LIMIT, &what, stderr);
    let stderr = stderr.join().expect("stderr reader panicked");

    check_line(first.trim_end(), "text", &texts[0]);
    assert_eq!(
        status.code(),
        Some(0),
        "{what}: a closed stdout must end hark quietly; status {status}, stderr: {stderr:?}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{what}: a closed stdout must end hark quietly; stderr: {stderr:?}"
    );
}

#[test]
fn closed_stdout_ends_quietly() {
    // Far more output (~120 KB) than a pipe and the reader's buffer hold.
    let texts: Vec<String> = (0..300).map(|i| format!("t{i}")).collect();
    stop_reading_after_first_line(&texts);
}

#[test]
fn closed_stdout_ends_quietly_with_long_lines() {
    // Lines longer than stdout's line buffer, so the pipe closes in the middle of one.
    let long = "footsteps on gravel ".repeat(150);
    let texts: Vec<String> = (0..100).map(|i| format!("{i} {long}")).collect();
    stop_reading_after_first_line(&texts);
}

// 10. Help.

#[test]
fn help_lists_commands_and_options() {
    let out = run(hark().arg("--help"));
    out.assert_success()
        .assert_stdout_contains("embed")
        .assert_stdout_contains("model");
    let out = run(hark().args(["embed", "--help"]));
    out.assert_success()
        .assert_stdout_contains("--audio")
        .assert_stdout_contains("--text");
    let out = run(hark().args(["model", "--help"]));
    out.assert_success()
        .assert_stdout_contains("fetch")
        .assert_stdout_contains("path");
}

#[test]
fn unknown_arguments_are_usage_errors() {
    let out = run(hark().args(["embed", "--no-such-flag"]));
    out.assert_code(2).assert_stderr_contains("--no-such-flag");
    let out = run(hark());
    out.assert_code(2);
}

// 11. No colour on a non-terminal, nor with NO_COLOR.

#[test]
fn errors_have_no_escape_sequences_off_a_terminal() {
    let empty = empty_dir();
    let failing: Vec<Command> = vec![
        embed(["--audio", "/nonexistent.wav", "--text", "y"]),
        embed(std::iter::empty::<&str>()),
        {
            let mut cmd = hark();
            cmd.args(["model", "path", "--model"]).arg(empty.path());
            cmd
        },
        {
            let mut cmd = without_model(empty.path());
            cmd.args(["embed", "--text", "x"]);
            cmd
        },
    ];
    for mut cmd in failing {
        for no_color in [Some("1"), None] {
            match no_color {
                Some(v) => cmd.env("NO_COLOR", v),
                None => cmd.env_remove("NO_COLOR"),
            };
            let out = run(&mut cmd);
            out.assert_code(2).assert_stderr_contains("error");
            assert!(
                !out.stderr.contains('\x1b') && !out.stdout.contains('\x1b'),
                "escape sequence in the output (NO_COLOR={no_color:?}): {}",
                out.describe()
            );
        }
    }
}
