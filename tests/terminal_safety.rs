//! Names from a sample pack never reach a terminal raw (issue 12 point 2):
//! a library whose file names hold OSC 52 (sets the clipboard), OSC 0 (sets
//! the window title), CSI 2J (clears the screen), BEL, a tab, a newline and
//! a bidi override is indexed and searched with stdout and stderr on a
//! pseudo-terminal, and the raw bytes the terminal receives are checked:
//! the only escape sequences are hark's own colours, and the names show in
//! escaped form. On a pipe, `--paths` and `-0` keep the exact bytes and
//! `--json` stays exact.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use portable_pty::{native_pty_system, CommandBuilder, PtySize};

/// The hostile names, each with the escaped form a terminal must show.
const NAMES: &[(&str, &str)] = &[
    (
        "osc52 \x1b]52;c;SEFDS0VE\x07 tabla.wav",
        "osc52 \\e]52;c;SEFDS0VE\\x07 tabla.wav",
    ),
    (
        "title \x1b]0;pwned\x07 tabla.wav",
        "title \\e]0;pwned\\x07 tabla.wav",
    ),
    ("clear \x1b[2J tabla.wav", "clear \\e[2J tabla.wav"),
    ("tab\there tabla.wav", "tab\\there tabla.wav"),
    ("new\nline tabla.wav", "new\\nline tabla.wav"),
    ("bidi tabla \u{202E}3pm.wav", "bidi tabla \\u{202E}3pm.wav"),
];

/// A short tone as a 16-bit mono WAV.
fn wav(freq: f32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut bytes, spec).expect("wav writer");
    for i in 0..11_025 {
        let t = i as f32 / 22_050.0;
        w.write_sample((0.4 * (std::f32::consts::TAU * freq * t).sin() * 32767.0) as i16)
            .expect("sample");
    }
    w.finalize().expect("finish wav");
    bytes.into_inner()
}

/// A library of the hostile names (plus a damaged file with a hostile
/// name, so that warnings and `status --errors` name it too).
fn library(dir: &Path) -> Vec<PathBuf> {
    let lib = dir.join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let mut paths = Vec::new();
    for (i, (name, _)) in NAMES.iter().enumerate() {
        let path = lib.join(name);
        std::fs::write(&path, wav(220.0 + 110.0 * i as f32))
            .unwrap_or_else(|e| panic!("cannot write {name:?}: {e}"));
        paths.push(path);
    }
    std::fs::write(
        lib.join("broken \x1b]0;owned\x07 tabla.wav"),
        b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk",
    )
    .unwrap();
    paths
}

/// Runs hark with stdin, stdout and stderr on an 100×30 pseudo-terminal;
/// returns the exit code and every byte the terminal received.
fn on_pty(args: &[&OsStr], index: &Path) -> (u32, Vec<u8>) {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut cmd = CommandBuilder::new(HARK);
    cmd.args(args);
    cmd.cwd(root());
    cmd.env("TERM", "xterm-256color");
    cmd.env("HARK_INDEX", index);
    cmd.env_remove("HARK_MODEL");
    cmd.env_remove("NO_COLOR");
    let mut child = pty.slave.spawn_command(cmd).expect("start hark on a pty");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    let read = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        // Linux answers EIO once the last writer closed the pty: the end.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
        }
        bytes
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for hark") {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("hark {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(pty.master);
    let bytes = read.join().expect("pty reader panicked");
    (status.exit_code(), bytes)
}

/// `bytes` without hark's own styling: SGR colour sequences (`ESC [ … m`)
/// and, for the index run, the progress bar's cursor and line controls
/// (`ESC [ K`, `ESC [ nA`, `ESC [ ?25l/h`). Whatever ESC is left came from a name.
fn without_own_sequences(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b && bytes.get(i + 1) == Some(&b'[') {
            let mut j = i + 2;
            while j < bytes.len()
                && (bytes[j].is_ascii_digit() || bytes[j] == b';' || bytes[j] == b'?')
            {
                j += 1;
            }
            if j < bytes.len()
                && matches!(
                    bytes[j],
                    b'm' | b'K' | b'A' | b'B' | b'G' | b'l' | b'h' | b'J'
                )
                && !(bytes[j] == b'J' && &bytes[i + 2..j] == b"2")
            {
                i = j + 1;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[track_caller]
fn assert_nothing_raw(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let clean = without_own_sequences(bytes);
    assert!(
        !clean.contains(&0x1b) && !clean.contains(&0x07),
        "{what}: an ESC or BEL from a name reached the terminal:\n{text:?}"
    );
    assert!(
        !String::from_utf8_lossy(&clean).contains('\u{202E}'),
        "{what}: a bidi override reached the terminal:\n{text:?}"
    );
    assert!(
        !String::from_utf8_lossy(&clean).contains('\t'),
        "{what}: a raw tab reached the terminal:\n{text:?}"
    );
}

#[track_caller]
fn assert_shows(what: &str, bytes: &[u8], shown: &str) {
    let clean = without_own_sequences(bytes);
    let text = String::from_utf8_lossy(&clean);
    assert!(
        text.contains(shown),
        "{what}: expected the escaped name {shown:?} on the terminal:\n{text:?}"
    );
}

/// An index of the hostile library, made with stderr on a pty (so the
/// progress bar, warnings and summary are checked too).
fn indexed() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = empty_dir();
    let paths = library(dir.path());
    let index = dir.path().join("index");
    let (code, bytes) = on_pty(
        &[
            OsStr::new("index"),
            OsStr::new("--model"),
            OsStr::new(fixture()),
            dir.path().join("lib").as_os_str(),
        ],
        &index,
    );
    assert_eq!(
        code,
        0,
        "hark index failed:\n{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_nothing_raw("hark index", &bytes);
    assert_shows(
        "hark index's warning",
        &bytes,
        "broken \\e]0;owned\\x07 tabla.wav",
    );
    (dir, paths)
}

#[test]
fn the_table_paths_and_status_show_hostile_names_escaped_on_a_terminal() {
    let (dir, _) = indexed();
    let index = dir.path().join("index");
    let model = ["--model", fixture()];
    for args in [
        vec!["search", "tabla", "-k", "50"],
        vec!["search", "tabla", "-k", "50", "--paths"],
        vec!["search", "tabla", "-k", "50", "-0"],
    ] {
        let all: Vec<&OsStr> = args.iter().chain(&model).map(OsStr::new).collect();
        let (code, bytes) = on_pty(&all, &index);
        assert_eq!(
            code,
            0,
            "hark {args:?}:\n{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_nothing_raw(&format!("hark {args:?}"), &bytes);
        for (_, shown) in NAMES {
            assert_shows(&format!("hark {args:?}"), &bytes, shown);
        }
    }
    let (code, bytes) = on_pty(&[OsStr::new("status"), OsStr::new("--errors")], &index);
    assert_eq!(
        code,
        0,
        "hark status --errors:\n{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_nothing_raw("hark status --errors", &bytes);
    assert_shows(
        "hark status --errors",
        &bytes,
        "broken \\e]0;owned\\x07 tabla.wav",
    );
}

#[test]
fn pipes_get_the_exact_bytes() {
    let (dir, paths) = indexed();
    let index = dir.path().join("index");
    let expected: BTreeSet<Vec<u8>> = paths
        .iter()
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .collect();
    let search = |extra: &str| {
        let mut cmd = hark();
        cmd.env("HARK_INDEX", &index).args([
            "search",
            "tabla",
            "-k",
            "50",
            "--model",
            fixture(),
            extra,
        ]);
        let out = cmd.output().expect("run hark");
        assert_eq!(out.status.code(), Some(0), "hark search {extra}: {out:?}");
        out.stdout
    };

    let nul = search("-0");
    let got: BTreeSet<Vec<u8>> = nul
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(
        got, expected,
        "-0 on a pipe must give each path's exact bytes"
    );
    assert!(nul.ends_with(b"\0"), "-0 ends every path with NUL");

    let lines = search("--paths");
    for path in &expected {
        assert!(
            lines.windows(path.len()).any(|w| w == path.as_slice()),
            "--paths on a pipe lost the exact bytes of {:?}",
            String::from_utf8_lossy(path)
        );
    }
    assert!(
        lines.contains(&0x1b),
        "--paths on a pipe must not escape (scripts need the names)"
    );

    let json = search("--json");
    let got: BTreeSet<Vec<u8>> = json
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).expect("a JSON line");
            v["path"].as_str().expect("a path").as_bytes().to_vec()
        })
        .collect();
    assert_eq!(got, expected, "--json must carry each path exactly");
    assert!(
        !json.contains(&0x1b),
        "JSON escapes control characters itself"
    );
}
