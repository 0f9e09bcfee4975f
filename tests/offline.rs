//! hark on a machine without the model (issue 16): `hark index` fetches
//! the default model itself unless told not to, and indexes by name and
//! metadata when it cannot; `hark search` then finds by words, phrases,
//! exclusions and filters, with one warning; a later run with the model
//! embeds the waiting files and search ranks by sound again.
//!
//! The hub is a loopback socket the test opens (`HF_ENDPOINT`, which
//! hf-hub reads): whether anything connected to it tells whether hark
//! tried the network.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use serde_json::Value;

/// The generated library: (path under the library, seconds).
const LIBRARY: &[(&str, f32)] = &[
    ("Drums/Kick Deep 01.wav", 0.4),
    ("Drums/Kick Deep 02.wav", 0.5),
    ("Drums/Kick Long Boom.wav", 1.5),
    ("Drums/Snare Tight.wav", 0.3),
    ("Weather/Rain Heavy Roof.wav", 1.2),
];

fn write_library(dir: &Path) -> PathBuf {
    let lib = dir.join("lib");
    for (i, (rel, seconds)) in LIBRARY.iter().enumerate() {
        let path = lib.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 22_050,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        let freq = 80.0 + 150.0 * i as f32;
        for n in 0..(22_050.0 * seconds) as usize {
            let x = (std::f32::consts::TAU * freq * n as f32 / 22_050.0).sin();
            w.write_sample((x * 12_000.0) as i16).unwrap();
        }
        w.finalize().unwrap();
    }
    lib
}

/// A hub that counts who connects to it and closes each connection at
/// once (a download from it fails fast).
struct Hub {
    endpoint: String,
    connections: Arc<AtomicUsize>,
}

impl Hub {
    fn open() -> Hub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        // Ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Hub {
            endpoint,
            connections,
        }
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Connections made so far.
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// `hark --index INDEX` with an empty Hugging Face cache in `hf` and `hub`
/// as the hub, no proxy and no offline flag.
fn hark_at(index: &Path, hf: &Path, hub: &Hub) -> Command {
    let mut cmd = hark();
    cmd.env("HF_HOME", hf)
        .env("HF_ENDPOINT", hub.endpoint())
        .env_remove("HF_HUB_OFFLINE")
        .arg("--index")
        .arg(index);
    for proxy in PROXIES {
        cmd.env_remove(proxy);
    }
    cmd
}

/// The proxy settings a test removes, so that the loopback hub is the only
/// way out.
const PROXIES: [&str; 6] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
];

/// The lines of stderr that are warnings.
fn warnings(out: &Output) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect()
}

/// `hark search --json QUERY`: the hits' paths relative to `lib`, sorted,
/// and their `matched` values; the output checked for `code`.
#[track_caller]
fn search(
    mut cmd: Command,
    lib: &Path,
    query: &str,
    code: i32,
) -> (Vec<String>, Vec<String>, Output) {
    let out = run(cmd.args(["search", "--json", "--", query]));
    out.assert_code(code);
    let hits: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut paths: Vec<String> = hits
        .iter()
        .map(|h| {
            Path::new(h["path"].as_str().unwrap())
                .strip_prefix(lib.canonicalize().unwrap())
                .or_else(|_| Path::new(h["path"].as_str().unwrap()).strip_prefix(lib))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    paths.sort();
    let matched = hits
        .iter()
        .map(|h| h["matched"].as_str().unwrap().to_owned())
        .collect();
    (paths, matched, out)
}

#[track_caller]
fn index_summary(out: &Output) -> Value {
    serde_json::from_str(out.lines(1)[0]).unwrap()
}

#[test]
fn without_the_model_search_finds_by_words_with_one_warning_and_a_later_run_embeds() {
    let dir = empty_dir();
    let lib = write_library(dir.path());
    let index = dir.path().join("index");
    let hf = dir.path().join("hf");
    std::fs::create_dir_all(&hf).unwrap();
    let hub = Hub::open();

    let out = run(hark_at(&index, &hf, &hub)
        .args(["index", "--json", "--no-fetch"])
        .arg(&lib));
    out.assert_code(0);
    let s = index_summary(&out);
    assert_eq!(
        (s["added"].as_u64(), s["waiting"].as_u64()),
        (Some(5), Some(5)),
        "{s}"
    );

    let kicks = [
        "Drums/Kick Deep 01.wav",
        "Drums/Kick Deep 02.wav",
        "Drums/Kick Long Boom.wav",
    ];
    for (query, expected) in [
        ("kick", &kicks[..]),
        ("\"kick deep\"", &kicks[..2]),
        ("kick -boom", &kicks[..2]),
        ("dur:<1s kick", &kicks[..2]),
        ("dur:>1s kick", &kicks[2..]),
        ("rain roof", &["Weather/Rain Heavy Roof.wav"][..]),
    ] {
        let (paths, matched, out) = search(hark_at(&index, &hf, &hub), &lib, query, 0);
        assert_eq!(paths, expected, "{query}: {}", out.describe());
        assert!(matched.iter().all(|m| m == "words"), "{query}: {matched:?}");
        let warned = warnings(&out);
        assert_eq!(warned.len(), 1, "{query}: {}", out.describe());
        assert_eq!(out.stderr.lines().count(), 1, "{query}: {}", out.describe());
        assert!(
            warned[0].contains("searching by words only") && warned[0].contains("hark model fetch"),
            "{}",
            out.describe()
        );
    }
    // Nothing found is still grep's 1; a listing needs no model and warns of nothing.
    let (paths, _, out) = search(hark_at(&index, &hf, &hub), &lib, "xylophone", 1);
    assert!(
        paths.is_empty() && warnings(&out).len() == 1,
        "{}",
        out.describe()
    );
    let (paths, matched, out) = search(hark_at(&index, &hf, &hub), &lib, "dur:<0.45s", 0);
    assert_eq!(paths, ["Drums/Kick Deep 01.wav", "Drums/Snare Tight.wav"]);
    assert!(
        matched.iter().all(|m| m == "filter") && out.stderr.is_empty(),
        "{}",
        out.describe()
    );
    // `similar` on a file not in the index needs the model, and says so.
    let outside = dir.path().join("outside.wav");
    std::fs::copy(lib.join(LIBRARY[0].0), &outside).unwrap();
    let out = run(hark_at(&index, &hf, &hub).arg("similar").arg(&outside));
    out.assert_code(2)
        .assert_stderr_contains("error:")
        .assert_stderr_contains("hark model fetch");
    assert_eq!(hub.connections(), 0, "searching touched the network");

    // A later run with the model embeds the waiting files; search ranks by sound.
    let model = root().join(fixture());
    let out = run(hark_at(&index, &hf, &hub)
        .arg("--model")
        .arg(&model)
        .args(["index", "--json"]));
    out.assert_code(0);
    let s = index_summary(&out);
    assert_eq!(s["embedded"].as_u64(), Some(5), "{s}");
    let mut cmd = hark_at(&index, &hf, &hub);
    cmd.arg("--model").arg(&model);
    let (paths, matched, out) = search(cmd, &lib, "kick", 0);
    assert!(out.stderr.is_empty(), "{}", out.describe());
    assert!(
        kicks.iter().all(|k| paths.iter().any(|p| p == k)),
        "{paths:?}"
    );
    assert!(matched.iter().any(|m| m != "words"), "{matched:?}");

    // The complete index with the model gone: words again, one warning.
    let (paths, matched, out) = search(hark_at(&index, &hf, &hub), &lib, "kick", 0);
    assert_eq!(paths, kicks, "{}", out.describe());
    assert!(matched.iter().all(|m| m == "words"), "{matched:?}");
    assert_eq!(warnings(&out).len(), 1, "{}", out.describe());
    assert!(
        out.stderr.contains("is not on this machine"),
        "{}",
        out.describe()
    );
    assert_eq!(hub.connections(), 0, "searching touched the network");
}

#[test]
fn index_fetches_the_absent_model_unless_offline_or_no_fetch() {
    let dir = empty_dir();
    let lib = write_library(dir.path());
    let hf = dir.path().join("hf");
    std::fs::create_dir_all(&hf).unwrap();
    let hub = Hub::open();

    // HF_HUB_OFFLINE=1 and --no-fetch: the hub is never asked.
    for (i, (offline, flag)) in [
        (Some("1"), None),
        (Some("true"), None),
        (None, Some("--no-fetch")),
    ]
    .into_iter()
    .enumerate()
    {
        let index = dir.path().join(format!("index-{i}"));
        let mut cmd = hark_at(&index, &hf, &hub);
        if let Some(v) = offline {
            cmd.env("HF_HUB_OFFLINE", v);
        }
        cmd.args(["index", "--json"]).args(flag).arg(&lib);
        let out = run(cmd);
        out.assert_code(0);
        assert_eq!(
            hub.connections(),
            0,
            "{offline:?} {flag:?}: {}",
            out.describe()
        );
        assert_eq!(index_summary(&out)["waiting"].as_u64(), Some(5));
        let warned = warnings(&out);
        assert_eq!(warned.len(), 1, "{}", out.describe());
        assert!(
            warned[0].contains("not downloaded") && warned[0].contains("hark model fetch"),
            "{}",
            out.describe()
        );
        assert!(!out.stderr.contains("downloading"), "{}", out.describe());
    }

    // Otherwise the download is tried against the hub; its failure leaves
    // a name-and-metadata index and one line on how to add the model.
    let index = dir.path().join("index-fetch");
    let out = run(hark_at(&index, &hf, &hub)
        .args(["index", "--json"])
        .arg(&lib));
    out.assert_code(0);
    assert!(
        hub.connections() > 0,
        "no download was tried: {}",
        out.describe()
    );
    let s = index_summary(&out);
    assert_eq!(
        (s["added"].as_u64(), s["waiting"].as_u64()),
        (Some(5), Some(5)),
        "{s}"
    );
    let warned = warnings(&out);
    assert_eq!(warned.len(), 1, "{}", out.describe());
    assert!(
        warned[0].contains("the download failed") && warned[0].contains("hark model fetch"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("downloading the model"),
        "{}",
        out.describe()
    );
    // Names are searchable at once.
    let (paths, _, _) = search(hark_at(&index, &hf, &hub), &lib, "snare", 0);
    assert_eq!(paths, ["Drums/Snare Tight.wav"]);
}

/// The TUI without the model: `hark tui kick` on a pseudo-terminal shows
/// the word hits and says on its status line that it searches by words
/// only, without touching the network.
#[test]
fn the_tui_without_the_model_shows_word_hits_and_says_why() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::io::Read;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    let dir = empty_dir();
    let lib = write_library(dir.path());
    let index = dir.path().join("index");
    let hf = dir.path().join("hf");
    std::fs::create_dir_all(&hf).unwrap();
    let hub = Hub::open();
    let out = run(hark_at(&index, &hf, &hub)
        .args(["index", "--json", "--no-fetch"])
        .arg(&lib));
    out.assert_code(0);

    let (rows, cols): (u16, u16) = (24, 120);
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut cmd = CommandBuilder::new(HARK);
    cmd.args(["tui", "kick"]);
    cmd.env("TERM", "xterm-256color");
    cmd.env("HARK_INDEX", &index);
    cmd.env("HF_HOME", &hf);
    cmd.env("HF_ENDPOINT", hub.endpoint());
    for name in ["HARK_MODEL", "HF_HUB_OFFLINE"].into_iter().chain(PROXIES) {
        cmd.env_remove(name);
    }
    let mut child = pty.slave.spawn_command(cmd).expect("start hark tui");
    drop(pty.slave);
    let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
    let screen = Arc::new(Mutex::new(vt100::Parser::new(size(rows), size(cols), 0)));
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    let feed = Arc::clone(&screen);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().unwrap().process(&buf[..n]);
        }
    });
    // The status line may wrap the note: words are compared with the
    // screen's runs of blanks (line ends included) taken as one space.
    let wanted = [
        "Kick Deep 01.wav",
        "Kick Deep 02.wav",
        "Kick Long Boom.wav",
        "searching by words only: no file in the index has a sound vector yet",
        "hark model fetch",
    ];
    let start = Instant::now();
    let contents = loop {
        let contents = screen.lock().unwrap().screen().contents();
        let words = contents.split_whitespace().collect::<Vec<_>>().join(" ");
        if wanted.iter().all(|w| words.contains(w)) {
            break contents;
        }
        if start.elapsed() > Duration::from_secs(20) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("the TUI never showed {wanted:?}; its screen:\n{contents}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(!contents.contains("Snare Tight"), "{contents}");
    assert!(!contents.contains("Rain Heavy"), "{contents}");
    assert_eq!(hub.connections(), 0, "the TUI touched the network");
}
