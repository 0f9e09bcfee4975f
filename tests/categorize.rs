//! `hark categorize` end to end, with the fixture model. Its weights are
//! random, so these tests hold the mechanics, not the model's taste: a copy
//! of a labelled file gets its CatID, the zero-shot match gives every file
//! a CatID and a confidence, the threshold is honoured, `--evaluate` counts
//! what a constructed library makes certain, and the zero-shot vectors are
//! made once per model. Sounds are made with sox (needed: CI installs it).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{empty_dir, fixture, hark, run, Output};

fn sox(args: &[&str]) {
    let out = Command::new("sox").args(args).output().unwrap_or_else(|e| {
        panic!("this test needs `sox` (CI installs it; `apt-get install sox`): cannot run it: {e}")
    });
    assert!(
        out.status.success(),
        "sox {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A sound made by sox's `synth` into `path` (48 kHz, 16-bit, mono).
fn synth(path: &Path, synth: &str) {
    let mut args = vec![
        "-R",
        "-n",
        "-r",
        "48000",
        "-b",
        "16",
        "-c",
        "1",
        path.to_str().unwrap(),
    ];
    args.extend(synth.split(' '));
    sox(&args);
}

/// Textured sounds (the fingerprint needs change over time to tell a copy;
/// steady tones say too little).
const SWEEP: &str = "synth 2 sine 200-2000 vol 0.5";
const RAIN: &str = "synth 2 whitenoise vol 0.3 tremolo 7 60";
const BURST: &str = "synth 1.5 pinknoise vol 0.4 tremolo 3 90";
const BUZZ: &str = "synth 1.5 square 150 vol 0.3 fade 0 1.5 1";

struct Lib {
    _dir: tempfile::TempDir,
    root: PathBuf,
    index: PathBuf,
}

impl Lib {
    /// A library made by `make` in its folder, then indexed.
    fn new(make: impl FnOnce(&Path)) -> Lib {
        let dir = empty_dir();
        let root = dir.path().join("lib");
        fs::create_dir(&root).unwrap();
        make(&root);
        let root = fs::canonicalize(root).unwrap();
        let lib = Lib {
            index: dir.path().join("index"),
            _dir: dir,
            root,
        };
        lib.hark(&["index", "--quiet", lib.root.to_str().unwrap()])
            .assert_code(0);
        lib
    }

    fn hark(&self, args: &[&str]) -> Output {
        let mut cmd = hark();
        cmd.args(["--model", fixture(), "--index"])
            .arg(&self.index)
            .args(args);
        run(cmd)
    }

    /// `hark categorize ARGS --json`: the lines, parsed, by file name.
    fn suggestions(&self, args: &[&str]) -> (Output, Vec<(String, serde_json::Value)>) {
        let mut all = vec!["categorize", "--json"];
        all.extend(args);
        let out = self.hark(&all);
        let lines = out
            .stdout
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}\n{}", out.describe()));
                let name = Path::new(v["path"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (name, v)
            })
            .collect();
        (out, lines)
    }

    fn cache(&self) -> PathBuf {
        self.index.join("ucs-vectors.bin")
    }
}

fn get<'a>(lines: &'a [(String, serde_json::Value)], name: &str) -> &'a serde_json::Value {
    &lines
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no line for {name:?} in {lines:?}"))
        .1
}

/// Whether `v` is a CatID of the UCS list.
fn is_cat_id(v: &serde_json::Value) -> bool {
    v.as_str()
        .is_some_and(|id| hark_audio::ucs_category(id).is_some())
}

#[test]
fn a_copy_in_another_format_and_name_gets_its_originals_cat_id() {
    let lib = Lib::new(|root| {
        synth(&root.join("DOORWood_Creaky Sweep_JD_Lib.wav"), SWEEP);
        synth(&root.join("RAINMetl_Tin Roof_JD_Lib.wav"), RAIN);
        synth(&root.join("Audio 017.wav"), BUZZ);
        // The door at 44.1 kHz, 24-bit FLAC, under a name that says nothing.
        sox(&[
            root.join("DOORWood_Creaky Sweep_JD_Lib.wav")
                .to_str()
                .unwrap(),
            "-r",
            "44100",
            "-b",
            "24",
            root.join("take 3.flac").to_str().unwrap(),
        ]);
    });
    let (out, lines) = lib.suggestions(&[]);
    out.assert_code(0);
    // Only the files without a UCS category are suggested for.
    let mut names: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["Audio 017.wav", "take 3.flac"],
        "{}",
        out.describe()
    );

    let copy = get(&lines, "take 3.flac");
    assert_eq!(copy["catid"], "DOORWood", "{copy:#}");
    assert_eq!(copy["category"], "DOORS");
    assert_eq!(copy["subcategory"], "WOOD");
    let confidence = copy["confidence"].as_f64().unwrap();
    assert!(confidence >= 0.98, "a copy decides: {copy:#}");
    let copies = copy["evidence"]["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 1, "{copy:#}");
    assert!(copies[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("DOORWood_Creaky Sweep_JD_Lib.wav"));
    assert_eq!(copies[0]["catid"], "DOORWood");
    let text = copy["evidence"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("same audio as `DOORWood_Creaky Sweep_JD_Lib.wav` (DOORWood)"),
        "{text}"
    );
    assert_eq!(copy["candidates"][0]["catid"], "DOORWood");
    assert_eq!(copy["candidates"][0]["copies"], 1);

    // The other file is no copy of anything, whatever it is given.
    let other = get(&lines, "Audio 017.wav");
    assert_eq!(
        other["evidence"]["copies"].as_array().unwrap().len(),
        0,
        "{other:#}"
    );

    // The table says the same, the evidence under the file.
    let table = lib.hark(&["categorize"]);
    table.assert_code(0);
    let at = table
        .stdout
        .find("take 3.flac")
        .expect("a row for the copy");
    let row_start = table.stdout[..at].rfind('\n').map_or(0, |i| i + 1);
    let row = &table.stdout[row_start..];
    assert!(row.starts_with("DOORWood  0.9"), "{}", table.describe());
    assert!(
        row.lines()
            .nth(1)
            .unwrap()
            .contains("same audio as `DOORWood_Creaky Sweep_JD_Lib.wav`"),
        "{}",
        table.describe()
    );
}

#[test]
fn the_zero_shot_match_gives_every_file_a_cat_id_and_a_confidence() {
    let lib = Lib::new(|root| {
        synth(&root.join("Audio 001.wav"), SWEEP);
        synth(&root.join("Audio 002.wav"), RAIN);
        synth(&root.join("Audio 003.wav"), BURST);
        synth(&root.join("Audio 004.wav"), BUZZ);
    });
    let (out, lines) = lib.suggestions(&["--min-confidence", "0"]);
    out.assert_code(0);
    out.assert_stderr_contains("no file in the index has a UCS category");
    assert_eq!(lines.len(), 4, "{}", out.describe());
    for (name, v) in &lines {
        assert!(is_cat_id(&v["catid"]), "{name}: {v:#}");
        let confidence = v["confidence"].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&confidence) && confidence > 0.0,
            "{name}: {v:#}"
        );
        // With no labelled file the zero-shot match decides alone.
        assert_eq!(v["evidence"]["library_weight"], 0.0, "{name}: {v:#}");
        assert_eq!(v["evidence"]["neighbours"].as_array().unwrap().len(), 0);
        let candidates = v["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 3, "{name}: {v:#}");
        assert_eq!(candidates[0]["catid"], v["catid"]);
        let mut last = f64::INFINITY;
        for c in candidates {
            assert!(is_cat_id(&c["catid"]), "{c:#}");
            let (p, z) = (
                c["confidence"].as_f64().unwrap(),
                c["zero_shot"].as_f64().unwrap(),
            );
            assert!(
                (p - z).abs() < 1e-6,
                "confidence is the zero-shot probability: {c:#}"
            );
            assert!(p <= last, "most likely first: {v:#}");
            last = p;
        }
        assert_eq!(v["evidence"]["zero_shot_best"]["catid"], v["catid"]);
        let text = v["evidence"]["text"].as_str().unwrap();
        assert!(
            text.starts_with("no categorised files to learn from; zero-shot "),
            "{text}"
        );
    }
}

#[test]
fn below_the_threshold_there_is_no_suggestion() {
    let lib = Lib::new(|root| {
        synth(&root.join("DOORWood_Creaky Sweep_JD_Lib.wav"), SWEEP);
        fs::copy(
            root.join("DOORWood_Creaky Sweep_JD_Lib.wav"),
            root.join("same bytes.wav"),
        )
        .unwrap();
        synth(&root.join("Audio 002.wav"), RAIN);
    });
    // Nothing reaches a confidence of 1: no suggestion anywhere, exit 1.
    let (out, lines) = lib.suggestions(&["--min-confidence", "1"]);
    out.assert_code(1);
    assert_eq!(lines.len(), 2, "{}", out.describe());
    for (name, v) in &lines {
        assert!(v["catid"].is_null(), "{name}: {v:#}");
        assert!(
            v["category"].is_null() && v["subcategory"].is_null(),
            "{v:#}"
        );
        // The best guess is still told.
        assert!(is_cat_id(&v["candidates"][0]["catid"]), "{v:#}");
        assert!(v["confidence"].as_f64().unwrap() < 1.0);
    }
    let table = lib.hark(&["categorize", "--min-confidence", "1"]);
    table.assert_code(1);
    assert_eq!(
        table.stdout.matches("no suggestion").count(),
        2,
        "{}",
        table.describe()
    );
    assert!(
        table
            .stdout
            .contains("best guess DOORWood (0.99): same audio as"),
        "{}",
        table.describe()
    );

    // At 0.9 the byte copy is suggested, the rest is what the threshold makes it.
    let (out, lines) = lib.suggestions(&["--min-confidence", "0.9"]);
    out.assert_code(0);
    for (name, v) in &lines {
        let confidence = v["confidence"].as_f64().unwrap();
        assert_eq!(v["catid"].is_null(), confidence < 0.9, "{name}: {v:#}");
    }
    assert_eq!(get(&lines, "same bytes.wav")["catid"], "DOORWood");

    // Out of range: a usage error.
    lib.hark(&["categorize", "--min-confidence", "1.5"])
        .assert_code(2)
        .assert_stderr_contains("not a confidence between 0 and 1");
}

#[test]
fn evaluate_counts_what_a_constructed_library_makes_certain() {
    // Two labelled pairs of byte copies that agree, and one pair of byte
    // copies labelled two ways: leaving one out, its copy decides (98%), so
    // the agreeing pairs are right and the disagreeing one wrong at top-1.
    let lib = Lib::new(|root| {
        synth(&root.join("DOORWood_Creaky Sweep_JD_Lib.wav"), SWEEP);
        fs::copy(
            root.join("DOORWood_Creaky Sweep_JD_Lib.wav"),
            root.join("DOORWood_Creaky Sweep Two_JD_Lib.wav"),
        )
        .unwrap();
        synth(&root.join("RAINMetl_Tin Roof_JD_Lib.wav"), RAIN);
        fs::copy(
            root.join("RAINMetl_Tin Roof_JD_Lib.wav"),
            root.join("RAINMetl_Tin Roof Again_JD_Lib.wav"),
        )
        .unwrap();
        synth(&root.join("GUNAuto_Burst_JD_Lib.wav"), BURST);
        fs::copy(
            root.join("GUNAuto_Burst_JD_Lib.wav"),
            root.join("GUNPis_Burst_JD_Lib.wav"),
        )
        .unwrap();
        // Uncategorised files take no part.
        synth(&root.join("Audio 017.wav"), BUZZ);
    });
    let out = lib.hark(&["categorize", "--evaluate", "--json"]);
    out.assert_code(0);
    let lines = out.lines(1);
    let e: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(e["files"], 6, "{e:#}");
    assert_eq!(e["top1"], 4, "{e:#}");
    assert!((e["top1_accuracy"].as_f64().unwrap() - 4.0 / 6.0).abs() < 1e-9);
    let top3 = e["top3"].as_u64().unwrap();
    assert!((4..=6).contains(&top3), "{e:#}");
    assert_eq!(e["min_confidence"], 0.5);
    // Every file is decided by a copy at 98%: all suggested, the pairs right.
    assert_eq!(e["suggested"], 6, "{e:#}");
    assert_eq!(e["suggested_right"], 4, "{e:#}");
    let per: Vec<&serde_json::Value> = e["per_category"].as_array().unwrap().iter().collect();
    let find = |id: &str| {
        *per.iter()
            .find(|c| c["catid"] == id)
            .unwrap_or_else(|| panic!("no {id} in {e:#}"))
    };
    for id in ["DOORWood", "RAINMetl"] {
        let c = find(id);
        assert_eq!(
            (c["files"].as_u64(), c["top1"].as_u64(), c["top3"].as_u64()),
            (Some(2), Some(2), Some(2)),
            "{c:#}"
        );
    }
    for id in ["GUNAuto", "GUNPis"] {
        let c = find(id);
        assert_eq!(
            (c["files"].as_u64(), c["top1"].as_u64()),
            (Some(1), Some(0)),
            "{c:#}"
        );
    }
    assert_eq!(find("GUNAuto")["category"], "GUNS");
    assert_eq!(per.len(), 4);
    // The most files first.
    assert_eq!(per[0]["files"], 2);

    // The table.
    let table = lib.hark(&["categorize", "--evaluate"]);
    table.assert_code(0);
    table
        .assert_stdout_contains("Leave-one-out over 6 categorised files")
        .assert_stdout_contains("top-1  66.7%  (4 of 6)")
        .assert_stdout_contains(
            "at --min-confidence 0.5: 6 suggested (100.0%), 4 right (66.7% of those)",
        );
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["DOORWood", "2", "100.0%", "100.0%"]),
        "{}",
        table.describe()
    );

    // PATH and --evaluate do not go together; a library with no labels has nothing to evaluate.
    lib.hark(&["categorize", "--evaluate", lib.root.to_str().unwrap()])
        .assert_code(2);
    let bare = Lib::new(|root| synth(&root.join("Audio 1.wav"), SWEEP));
    bare.hark(&["categorize", "--evaluate"])
        .assert_code(2)
        .assert_stderr_contains("nothing to evaluate");
}

#[test]
fn the_zero_shot_vectors_are_made_once_per_model() {
    let lib = Lib::new(|root| {
        synth(&root.join("Audio 001.wav"), SWEEP);
        synth(&root.join("Audio 002.wav"), RAIN);
    });
    let first = lib.hark(&["categorize", "--json", "--min-confidence", "0"]);
    first.assert_code(0);
    first.assert_stderr_contains("describing the 752 UCS categories to the model");
    first.assert_stderr_contains("saved the category vectors");
    let cache = lib.cache();
    let bytes = fs::read(&cache).expect("the cache file");
    let modified = fs::metadata(&cache).unwrap().modified().unwrap();

    // The second run reads them: nothing described, the file untouched.
    let second = lib.hark(&["categorize", "--json", "--min-confidence", "0"]);
    second.assert_code(0);
    assert!(
        !second.stderr.contains("describing"),
        "{}",
        second.describe()
    );
    assert_eq!(
        second.stdout, first.stdout,
        "the same suggestions from the cache"
    );
    assert_eq!(fs::read(&cache).unwrap(), bytes);
    assert_eq!(fs::metadata(&cache).unwrap().modified().unwrap(), modified);

    // A damaged cache is made anew, to the same vectors.
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    fs::write(&cache, &damaged).unwrap();
    let third = lib.hark(&["categorize", "--json", "--min-confidence", "0"]);
    third.assert_code(0);
    third.assert_stderr_contains("describing the 752 UCS categories");
    assert_eq!(third.stdout, first.stdout);
    assert_eq!(fs::read(&cache).unwrap(), bytes);
}

#[test]
fn paths_limit_it_names_are_escaped_and_no_model_is_an_error() {
    let lib = Lib::new(|root| {
        fs::create_dir(root.join("a")).unwrap();
        fs::create_dir(root.join("b")).unwrap();
        synth(&root.join("a/red\x1b[31mname.wav"), SWEEP);
        synth(&root.join("b/other.wav"), RAIN);
    });
    let a = lib.root.join("a");
    let (out, lines) = lib.suggestions(&["--min-confidence", "0", a.to_str().unwrap()]);
    out.assert_code(0);
    assert_eq!(lines.len(), 1, "{}", out.describe());
    // JSON is exact.
    assert_eq!(lines[0].0, "red\x1b[31mname.wav");
    // The table escapes, on a pipe too.
    let table = lib.hark(&["categorize", "--min-confidence", "0", a.to_str().unwrap()]);
    table.assert_code(0);
    assert!(!table.stdout.contains('\x1b'), "{}", table.describe());
    table.assert_stdout_contains("red\\e[31mname.wav");
    // A file categorised by `hark tag --category` becomes an example.
    let other = lib.root.join("b/other.wav");
    lib.hark(&["tag", "--category", "RAINMetl", other.to_str().unwrap()])
        .assert_code(0);
    let (out, lines) = lib.suggestions(&["--min-confidence", "0"]);
    out.assert_code(0);
    assert_eq!(lines.len(), 1, "only the untagged file: {}", out.describe());
    let neighbours = lines[0].1["evidence"]["neighbours"].as_array().unwrap();
    assert_eq!(neighbours.len(), 1, "{:#}", lines[0].1);
    assert_eq!(neighbours[0]["catid"], "RAINMetl");
    assert_eq!(neighbours[0]["path"], other.to_str().unwrap());

    // A folder that is not there.
    lib.hark(&["categorize", "/no/such/folder"])
        .assert_code(2)
        .assert_stderr_contains("/no/such/folder");

    // No model (an empty directory as --model): a clear error, exit 2.
    let empty = empty_dir();
    let mut cmd = hark();
    cmd.args(["--model"])
        .arg(empty.path())
        .arg("--index")
        .arg(&lib.index)
        .arg("categorize");
    let out = run(cmd);
    out.assert_code(2);
    out.assert_stderr_contains("cannot suggest categories");
    assert!(out.stdout.is_empty(), "{}", out.describe());
}
