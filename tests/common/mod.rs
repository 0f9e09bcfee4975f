//! Helpers shared by the end-to-end tests of the `hark` binary: a hermetic
//! command, the fixture model, and runs with a time limit that kill a hung
//! process and fail the test.

#![allow(dead_code)] // each test crate uses its own subset

use std::borrow::BorrowMut;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const HARK: &str = env!("CARGO_BIN_EXE_hark");

/// The embedding dimension of the fixture model.
pub const DIM: usize = 32;

/// Generous limit for ordinary runs (the tiny model loads in milliseconds, but
/// the machine may be busy); the tests about speed set their own.
pub const LIMIT: Duration = Duration::from_secs(120);

/// Files of `tests/fixtures/clap-tiny` the tests rely on.
pub const FIXTURE_FILES: &[&str] = &[
    "config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "model.safetensors",
    "stereo_48k.wav",
    "mono_44k1.wav",
];

/// The package root (the working directory of every run).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture directory, relative to [`root`], after checking it is complete.
/// A missing fixture fails the test: it is committed, and CI must not pass without it.
pub fn fixture() -> &'static str {
    const DIR: &str = "tests/fixtures/clap-tiny";
    for file in FIXTURE_FILES {
        let path = root().join(DIR).join(file);
        assert!(
            path.is_file(),
            "test fixture missing: {} (the fixture is committed; `just fixtures` regenerates it)",
            path.display()
        );
    }
    DIR
}

/// A file of the fixture directory, as a path relative to [`root`].
pub fn fixture_file(name: &str) -> String {
    format!("{}/{name}", fixture())
}

/// `hark` with a hermetic environment, run from the package root.
pub fn hark() -> Command {
    let mut cmd = Command::new(HARK);
    cmd.current_dir(root())
        .env_remove("HARK_MODEL")
        .env_remove("HARK_INDEX");
    cmd
}

pub fn empty_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("cannot create a temporary directory")
}

pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub what: String,
}

impl Output {
    pub fn describe(&self) -> String {
        format!(
            "{}\n  status: {}\n  stdout: {:?}\n  stderr: {:?}",
            self.what,
            self.status,
            truncate(&self.stdout),
            self.stderr
        )
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.status.code(),
            Some(code),
            "expected exit code {code}: {}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0);
        assert!(
            self.stderr.is_empty(),
            "expected an empty stderr: {}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "expected stderr to contain {needle:?}: {}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "expected stdout to contain {needle:?}: {}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn lines(&self, count: usize) -> Vec<&str> {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            count,
            "expected {count} line(s) on stdout: {}",
            self.describe()
        );
        assert!(
            self.stdout.ends_with('\n'),
            "stdout does not end with a newline: {}",
            self.describe()
        );
        lines
    }
}

pub fn truncate(s: &str) -> String {
    const MAX: usize = 2000;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}… ({} bytes in all)", &s[..i], s.len()),
        None => s.to_owned(),
    }
}

pub fn read_all(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child`, killing it and failing the test after `limit`.
pub fn wait_within(
    child: &mut Child,
    limit: Duration,
    what: &str,
    stderr: JoinHandle<String>,
) -> (ExitStatus, JoinHandle<String>) {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (status, stderr),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = stderr.join().unwrap_or_default();
                panic!("{what} did not finish within {limit:?} (killed)\n  stderr: {stderr:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("cannot wait for {what}: {e}"),
        }
    }
}

/// Runs `cmd` (stdin empty, stdout and stderr captured), failing the test if
/// it has not exited within `limit`.
#[track_caller]
pub fn run_within(mut cmd: impl BorrowMut<Command>, limit: Duration) -> Output {
    let cmd = cmd.borrow_mut();
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {HARK}: {e}"));
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let (status, stderr) = wait_within(&mut child, limit, &what, stderr);
    Output {
        status,
        stdout: stdout.join().expect("stdout reader panicked"),
        stderr: stderr.join().expect("stderr reader panicked"),
        what,
    }
}

#[track_caller]
pub fn run(cmd: impl BorrowMut<Command>) -> Output {
    run_within(cmd, LIMIT)
}
