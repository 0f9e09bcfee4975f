//! End-to-end tests of `hark index` and `hark status` on libraries generated
//! here, with the small CLAP checkpoint: bad files, incremental runs, moves,
//! deletions, the unmounted-root guard, the writer lock, a run killed with
//! SIGKILL and resumed, a reader during a run, and indexing without a model.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::*;

// ---------------------------------------------------------------------------
// Generated sounds

/// Sample encodings for [`wav`].
#[derive(Clone, Copy)]
enum Enc {
    I16,
    F32,
}

/// A canonical WAV file: `frames` frames of `channels` channels at `rate`,
/// sample `i` of channel `c` given by `f(i, c)`.
fn wav(
    rate: u32,
    channels: u16,
    frames: usize,
    enc: Enc,
    f: impl Fn(usize, u16) -> f32,
) -> Vec<u8> {
    let (format, bytes) = match enc {
        Enc::I16 => (1u16, 2u16),
        Enc::F32 => (3u16, 4u16),
    };
    let data_len = frames * channels as usize * bytes as usize;
    let mut out = Vec::with_capacity(44 + data_len);
    out.extend(b"RIFF");
    out.extend(((36 + data_len) as u32).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(format.to_le_bytes());
    out.extend(channels.to_le_bytes());
    out.extend(rate.to_le_bytes());
    out.extend(rate.wrapping_mul(u32::from(channels * bytes)).to_le_bytes());
    out.extend((channels * bytes).to_le_bytes());
    out.extend((bytes * 8).to_le_bytes());
    out.extend(b"data");
    out.extend((data_len as u32).to_le_bytes());
    for i in 0..frames {
        for c in 0..channels {
            let x = f(i, c);
            match enc {
                Enc::I16 => out.extend(((x.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes()),
                Enc::F32 => out.extend(x.to_le_bytes()),
            }
        }
    }
    out
}

/// A tone at `freq` Hz, with a little deterministic noise from `seed`.
fn tone(rate: u32, seconds: f32, freq: f32, seed: u32) -> Vec<u8> {
    let frames = (rate as f32 * seconds) as usize;
    wav(rate, 1, frames, Enc::I16, move |i, _| {
        let noise = ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 16) as f32
            / 65536.0
            - 0.5;
        0.5 * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin() + 0.1 * noise
    })
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// A library of `n` small tones in two folders, named in UCS style.
fn tones(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let folder = if i % 2 == 0 { "Doors" } else { "Rain" };
            let path = dir
                .join(folder)
                .join(format!("DOORWood_Creak {i:03}_HK_TestLib.wav"));
            write(
                &path,
                &tone(
                    22_050,
                    0.25 + (i % 3) as f32 * 0.1,
                    200.0 + 37.0 * i as f32,
                    i as u32,
                ),
            );
            path
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Running hark

/// `hark --index INDEX --model FIXTURE index --json ARGS...`.
fn index_cmd(index: &Path, args: &[&str]) -> Command {
    index_cmd_with(index, Path::new(fixture()), args)
}

/// [`index_cmd`] with another model directory.
fn index_cmd_with(index: &Path, model: &Path, args: &[&str]) -> Command {
    let mut cmd = hark();
    cmd.arg("--index")
        .arg(index)
        .arg("--model")
        .arg(model)
        .args(["index", "--json"])
        .args(args);
    cmd
}

/// A copy of the fixture model in `dir`.
fn model_copy(dir: &Path) -> PathBuf {
    let to = dir.join("model");
    fs::create_dir_all(&to).unwrap();
    for f in [
        "config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "model.safetensors",
    ] {
        fs::copy(root().join(fixture()).join(f), to.join(f)).unwrap();
    }
    to
}

/// Runs `hark index` and returns its JSON summary, after checking the exit code.
#[track_caller]
fn index(index: &Path, args: &[&str], code: i32) -> Value {
    let out = run(index_cmd(index, args));
    out.assert_code(code);
    let lines = out.lines(1);
    serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", out.describe()))
}

/// `hark status --json [--errors]`.
#[track_caller]
fn status(index: &Path, errors: bool) -> Value {
    let mut cmd = hark();
    cmd.arg("--index").arg(index).args(["status", "--json"]);
    if errors {
        cmd.arg("--errors");
    }
    let out = run(cmd);
    out.assert_success();
    serde_json::from_str(out.lines(1)[0]).unwrap()
}

#[track_caller]
fn count(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {key:?} in {v}"))
}

/// The catalog's records by path.
fn records(index: &Path) -> BTreeMap<PathBuf, hark_store::StoredFile> {
    let catalog = hark_store::Catalog::open_readonly(index).unwrap();
    let mut out = BTreeMap::new();
    for root in catalog.roots().unwrap() {
        for state in catalog.files_under_root(root.id).unwrap() {
            let file = catalog.file_by_path(&state.path).unwrap().unwrap();
            out.insert(state.path, file);
        }
    }
    out
}

fn vector_of(index: &Path, path: &Path) -> Vec<f32> {
    let catalog = hark_store::Catalog::open_readonly(index).unwrap();
    let file = catalog
        .file_by_path(path)
        .unwrap()
        .unwrap_or_else(|| panic!("{} not indexed", path.display()));
    catalog.vector(file.id).unwrap().expect("a vector").data
}

/// Canonical form of a tempdir path, as hark stores roots.
fn canon(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap()
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn index_then_rerun_changes_nothing() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    tones(&lib, 6);
    write(
        &lib.join(".hidden/DOORWood_Hidden_HK_TestLib.wav"),
        &tone(22_050, 0.2, 300.0, 9),
    );
    write(&lib.join("Doors/.secret.wav"), &tone(22_050, 0.2, 300.0, 9));
    write(
        &lib.join("Doors/notes.txt"),
        b"not audio, not a sound extension",
    );

    let first = index(&idx, &[lib.to_str().unwrap()], 0);
    assert_eq!(count(&first, "added"), 6, "{first}");
    assert_eq!(count(&first, "failed"), 0, "{first}");
    // Six vectors: an exact scan, no ANN graph.
    assert_eq!(first["ann"], "not needed", "{first}");
    let st = status(&idx, false);
    assert_eq!(
        (
            count(&st, "files"),
            count(&st, "embedded"),
            count(&st, "waiting")
        ),
        (6, 6, 0),
        "{st}"
    );
    assert_eq!(
        st["roots"][0]["path"],
        Value::from(canon(&lib).to_str().unwrap()),
        "{st}"
    );
    assert!(count(&st, "size_bytes") > 0, "{st}");
    assert_eq!(st["last_run"]["added"], 6, "{st}");

    // Metadata, UCS fields and peaks are stored.
    let recs = records(&idx);
    let rec = &recs.values().next().unwrap().record;
    assert_eq!(rec.ucs_cat_id.as_deref(), Some("DOORWood"));
    assert_eq!(rec.ucs_category.as_deref(), Some("DOORS"));
    assert_eq!(rec.sample_rate, Some(22_050));
    assert_eq!(rec.channels, Some(1));
    assert_eq!(rec.bits_per_sample, Some(16));
    assert_eq!(rec.format.as_deref(), Some("wav"));
    assert_eq!(rec.peaks.len(), 512);
    let lowest = rec.peaks.iter().map(|p| p.0).min().unwrap();
    let highest = rec.peaks.iter().map(|p| p.1).max().unwrap();
    assert!(
        lowest < -50 && highest > 50 && lowest > -90 && highest < 90,
        "peaks {lowest}..{highest}"
    );
    let vector = vector_of(&idx, &recs.keys().next().unwrap().clone());
    let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "vector norm {norm}");

    // What `hark index` built is what `hark search` reads.
    let mut cmd = hark();
    cmd.arg("--index")
        .arg(&idx)
        .args(["--model", fixture(), "search", "creak 004", "--json"]);
    let out = run(cmd);
    out.assert_code(0);
    let first_hit: Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert!(
        first_hit["path"]
            .as_str()
            .unwrap()
            .ends_with("DOORWood_Creak 004_HK_TestLib.wav"),
        "{}",
        out.stdout
    );
    assert_eq!(first_hit["matched"], "both", "{}", out.stdout);

    // No path: every known root; nothing changed.
    let again = index(&idx, &[], 0);
    assert_eq!(count(&again, "unchanged"), 6, "{again}");
    for key in ["added", "updated", "removed", "moved", "failed", "embedded"] {
        assert_eq!(count(&again, key), 0, "{key}: {again}");
    }
}

#[test]
fn changed_deleted_and_moved_files() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    let files = tones(&lib, 8);
    index(&idx, &[lib.to_str().unwrap()], 0);
    let lib = canon(&lib);
    let before: Vec<Vec<f32>> = files
        .iter()
        .map(|f| {
            vector_of(
                &idx,
                &lib.join(f.strip_prefix(dir.path().join("lib")).unwrap()),
            )
        })
        .collect();

    // Change one (new content), delete one, move one to another folder and
    // rename another in place.
    let rel = |p: &PathBuf| lib.join(p.strip_prefix(dir.path().join("lib")).unwrap());
    std::thread::sleep(Duration::from_millis(20));
    write(&rel(&files[0]), &tone(22_050, 0.5, 1234.0, 77));
    fs::remove_file(rel(&files[1])).unwrap();
    let moved_to = lib.join("Moved/elsewhere.wav");
    fs::create_dir_all(moved_to.parent().unwrap()).unwrap();
    fs::rename(rel(&files[2]), &moved_to).unwrap();
    let renamed = rel(&files[3]).with_file_name("renamed in place.wav");
    fs::rename(rel(&files[3]), &renamed).unwrap();

    let s = index(&idx, &[], 0);
    assert_eq!(
        (
            count(&s, "updated"),
            count(&s, "removed"),
            count(&s, "moved"),
            count(&s, "added"),
            count(&s, "unchanged")
        ),
        (1, 1, 2, 0, 4),
        "{s}"
    );
    let recs = records(&idx);
    assert_eq!(recs.len(), 7);
    assert!(!recs.contains_key(&rel(&files[1])));
    assert!(!recs.contains_key(&rel(&files[2])));
    // Moved files keep their vectors (not re-embedded: same bits).
    assert_eq!(vector_of(&idx, &moved_to), before[2]);
    assert_eq!(vector_of(&idx, &renamed), before[3]);
    assert_ne!(vector_of(&idx, &rel(&files[0])), before[0]);
    // The moved file's folder is searchable under its new name.
    let catalog = hark_store::Catalog::open_readonly(&idx).unwrap();
    let moved = hark_store::TextMatch::words("moved");
    let hits = catalog.read(|tx| tx.fts_ranked(&moved, 10, None)).unwrap();
    let moved_id = catalog.file_by_path(&moved_to).unwrap().unwrap().id;
    assert!(hits.iter().any(|h| h.id == moved_id), "{hits:?}");

    let again = index(&idx, &[], 0);
    assert_eq!(count(&again, "unchanged"), 7, "{again}");
}

/// The paths `hark search QUERY --json` lists (the filter's files), or none
/// when it exits 1 (nothing matched).
fn search_paths(index: &Path, query: &str) -> Vec<PathBuf> {
    let mut cmd = hark();
    cmd.arg("--index").arg(index).args([
        "--model",
        fixture(),
        "search",
        query,
        "--json",
        "-k",
        "50",
    ]);
    let out = run(cmd);
    if out.status.code() == Some(1) {
        return Vec::new();
    }
    out.assert_code(0);
    out.stdout
        .lines()
        .map(|l| {
            let hit: Value = serde_json::from_str(l).unwrap();
            PathBuf::from(hit["path"].as_str().unwrap())
        })
        .collect()
}

/// The UCS fields of the catalog's row for `path`.
fn ucs_of(index: &Path, path: &Path) -> [Option<String>; 4] {
    let r = &records(index)[path].record;
    [
        r.ucs_cat_id.clone(),
        r.ucs_category.clone(),
        r.ucs_subcategory.clone(),
        r.ucs_fx_name.clone(),
    ]
}

/// Runs `hark index` after a rename and checks that it was a move and
/// nothing was embedded.
#[track_caller]
fn index_a_move(index_dir: &Path) {
    let s = index(index_dir, &[], 0);
    assert_eq!(
        (
            count(&s, "moved"),
            count(&s, "embedded"),
            count(&s, "added"),
            count(&s, "updated")
        ),
        (1, 0, 0, 0),
        "{s}"
    );
}

/// Issue 15: a file renamed from one UCS name to another takes the new
/// name's category (the old one's is gone from `cat:` and the catalog row),
/// and one renamed to a plain name has none; it is never embedded again.
#[test]
fn a_renamed_file_takes_the_ucs_category_of_its_new_name() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    // RAINGenr and RAINDrip are CatID-shaped but not in the UCS 8.2.1 list
    // (kept by CatID, with no Category); RAINMetl is RAIN / METAL.
    write(
        &lib.join("RAINGenr_Steady Rain_HK_TestLib.wav"),
        &tone(22_050, 0.3, 300.0, 1),
    );
    write(
        &lib.join("Other/DOORWood_Creak_HK_TestLib.wav"),
        &tone(22_050, 0.3, 700.0, 2),
    );
    index(&idx, &[lib.to_str().unwrap()], 0);
    let lib = canon(&lib);
    let some = |s: &str| Some(s.to_string());
    let first = lib.join("RAINGenr_Steady Rain_HK_TestLib.wav");
    let vector = vector_of(&idx, &first);
    assert_eq!(
        search_paths(&idx, "cat:RAINGenr"),
        std::slice::from_ref(&first)
    );

    let drip = lib.join("RAINDrip_Steady Drips_HK_TestLib.wav");
    fs::rename(&first, &drip).unwrap();
    index_a_move(&idx);
    assert_eq!(vector_of(&idx, &drip), vector, "not embedded again");
    assert_eq!(
        ucs_of(&idx, &drip),
        [some("RAINDrip"), None, None, some("Steady Drips")]
    );
    assert_eq!(
        search_paths(&idx, "cat:RAINDrip"),
        std::slice::from_ref(&drip)
    );
    assert!(search_paths(&idx, "cat:RAINGenr").is_empty());

    let metal = lib.join("RAINMetl_Gutter_HK_TestLib.wav");
    fs::rename(&drip, &metal).unwrap();
    index_a_move(&idx);
    assert_eq!(
        ucs_of(&idx, &metal),
        [
            some("RAINMetl"),
            some("RAIN"),
            some("METAL"),
            some("Gutter")
        ]
    );
    assert_eq!(
        search_paths(&idx, "cat:RAINMetl"),
        std::slice::from_ref(&metal)
    );
    assert_eq!(
        search_paths(&idx, "cat:RAIN-METAL"),
        std::slice::from_ref(&metal)
    );
    assert!(search_paths(&idx, "cat:RAINDrip").is_empty());

    let plain = lib.join("Other/gutter.wav");
    fs::rename(&metal, &plain).unwrap();
    index_a_move(&idx);
    assert_eq!(vector_of(&idx, &plain), vector, "not embedded again");
    assert_eq!(ucs_of(&idx, &plain), [None, None, None, None]);
    assert!(search_paths(&idx, "cat:RAINMetl").is_empty());
    assert!(search_paths(&idx, "cat:RAIN").is_empty());
    // The file that stayed keeps its own.
    assert_eq!(
        search_paths(&idx, "cat:DOORWood"),
        [lib.join("Other/DOORWood_Creak_HK_TestLib.wav")]
    );
}

#[test]
fn a_mostly_missing_root_is_kept_until_pruned() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    let files = tones(&lib, 6);
    index(&idx, &[lib.to_str().unwrap()], 0);

    // Four of six gone: taken for an unmounted drive.
    for f in &files[..4] {
        fs::remove_file(f).unwrap();
    }
    let out = run(index_cmd(&idx, &[]));
    out.assert_code(1)
        .assert_stderr_contains("4 of the 6 files under")
        .assert_stderr_contains("--prune-missing");
    let s: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!(count(&s, "removed"), 0, "{s}");
    assert_eq!(
        s["roots_kept"][0],
        Value::from(canon(&lib).to_str().unwrap())
    );
    assert_eq!(count(&status(&idx, false), "files"), 6);

    // The whole root gone (unmounted): kept too.
    let away = dir.path().join("away");
    fs::rename(&lib, &away).unwrap();
    let out = run(index_cmd(&idx, &[]));
    out.assert_code(1)
        .assert_stderr_contains("is missing (an unmounted drive?)");
    assert_eq!(count(&status(&idx, false), "files"), 6);
    fs::rename(&away, &lib).unwrap();

    let s = index(&idx, &["--prune-missing"], 0);
    assert_eq!(count(&s, "removed"), 4, "{s}");
    assert_eq!(count(&status(&idx, false), "files"), 2);
}

#[test]
fn bad_files_are_recorded_with_their_cause_and_the_run_goes_on() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    let assets = root().join("assets/test");
    let good = tone(48_000, 0.5, 440.0, 1);

    // Expected to fail, with a phrase of the cause.
    let mut failing: Vec<(&str, Vec<u8>, &str)> = vec![
        ("zero length.wav", Vec::new(), "empty"),
        (
            "text file.wav",
            b"just some text, not a RIFF header at all\n".repeat(20),
            "unsupported format",
        ),
        ("header cut short.wav", good[..30].to_vec(), ""),
        ("zero hz.wav", wav(0, 1, 100, Enc::I16, |_, _| 0.1), "0 Hz"),
        (
            "absurd rate.wav",
            wav(4_000_000_000, 1, 100, Enc::I16, |_, _| 0.1),
            "rate",
        ),
        (
            "flac cut in header.flac",
            fs::read(assets.join("sine440_44k1_mono_16bit.flac")).unwrap()[..20].to_vec(),
            "",
        ),
    ];
    // Expected to be indexed (what any player would play).
    let mut lying = good.clone();
    lying[40..44].copy_from_slice(&u32::MAX.to_le_bytes()); // data size far beyond the file
    let nan = wav(48_000, 2, 24_000, Enc::F32, |i, c| {
        if i % 100 == 0 {
            f32::NAN
        } else if i % 101 == 0 {
            f32::INFINITY
        } else {
            0.3 * ((i + c as usize) as f32 * 0.05).sin()
        }
    });
    let flac = fs::read(assets.join("sine440_44k1_mono_16bit.flac")).unwrap();
    let mp3 = fs::read(assets.join("sine440_44k1_mono.mp3")).unwrap();
    // (name, bytes, sample rate, channels)
    type Case = (&'static str, Vec<u8>, Option<u32>, Option<u32>);
    let passing: Vec<Case> = vec![
        ("data size lies.wav", lying, Some(48_000), Some(1)),
        (
            "truncated in data.wav",
            good[..good.len() / 2].to_vec(),
            Some(48_000),
            Some(1),
        ),
        (
            "truncated.flac",
            flac[..flac.len() * 2 / 3].to_vec(),
            Some(44_100),
            Some(1),
        ),
        (
            "truncated.mp3",
            mp3[..mp3.len() / 2].to_vec(),
            Some(44_100),
            Some(1),
        ),
        ("nan and inf.wav", nan, Some(48_000), Some(2)),
        (
            "one sample.wav",
            wav(48_000, 1, 1, Enc::I16, |_, _| 0.5),
            Some(48_000),
            Some(1),
        ),
        (
            "eight channels.wav",
            wav(48_000, 8, 4_800, Enc::I16, |i, c| {
                ((i * (c as usize + 1)) as f32 * 0.01).sin()
            }),
            Some(48_000),
            Some(8),
        ),
        (
            "thirty-two channels.wav",
            wav(44_100, 32, 4_410, Enc::I16, |i, c| {
                ((i * (c as usize + 1)) as f32 * 0.01).sin()
            }),
            Some(44_100),
            Some(32),
        ),
        (
            "384k.wav",
            wav(384_000, 1, 38_400, Enc::F32, |i, _| {
                (i as f32 * 0.01).sin() * 0.5
            }),
            Some(384_000),
            Some(1),
        ),
    ];
    for (name, bytes, _) in &failing {
        write(&lib.join(name), bytes);
    }
    for (name, bytes, _, _) in &passing {
        write(&lib.join(name), bytes);
    }
    // A name that is not UTF-8.
    let odd_name = lib.join(std::ffi::OsStr::from_bytes(b"caf\xe9 ambience.wav"));
    write(&odd_name, &good);
    // An unreadable file; hark runs as nobody when the tests run as root
    // (root reads everything).
    let denied = lib.join("no permission.wav");
    write(&denied, &good);
    fs::set_permissions(&denied, fs::Permissions::from_mode(0o000)).unwrap();
    failing.push(("no permission.wav", Vec::new(), "ermission denied"));

    let out = run(unprivileged_index(dir.path(), &[lib.to_str().unwrap()]));
    out.assert_code(0);
    let s: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!(
        count(&s, "failed"),
        failing.len() as u64,
        "{s}\n{}",
        out.stderr
    );
    assert_eq!(
        count(&s, "added"),
        passing.len() as u64 + 1,
        "{s}\n{}",
        out.stderr
    );

    let st = status(&idx, true);
    let errors: BTreeMap<String, String> = st["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let path = PathBuf::from(e["path"].as_str().unwrap());
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                e["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (name, _, phrase) in &failing {
        let cause = errors
            .get(*name)
            .unwrap_or_else(|| panic!("{name} not listed as failed: {errors:#?}"));
        assert!(
            cause.contains(phrase),
            "{name}: cause {cause:?} lacks {phrase:?}"
        );
        assert!(!cause.is_empty());
    }
    let lib = canon(&lib);
    let recs = records(&idx);
    for (name, _, rate, channels) in &passing {
        let rec = &recs
            .get(&lib.join(name))
            .unwrap_or_else(|| panic!("{name} not indexed"))
            .record;
        assert_eq!(
            rec.status,
            hark_store::FileStatus::Ok,
            "{name}: {:?}",
            rec.error
        );
        assert_eq!(
            (rec.sample_rate, rec.channels),
            (*rate, *channels),
            "{name}"
        );
        let v = vector_of(&idx, &lib.join(name));
        assert!(v.iter().all(|x| x.is_finite()), "{name}: non-finite vector");
    }
    assert!(
        recs[&lib.join("truncated in data.wav")]
            .record
            .duration_s
            .unwrap()
            < 0.26
    );
    assert_eq!(
        recs[&canon(&odd_name)].record.status,
        hark_store::FileStatus::Ok
    );

    // Failed files are not retried while unchanged; a fixed one is.
    let again = run(unprivileged_index(dir.path(), &[]));
    again.assert_code(0);
    let again: Value = serde_json::from_str(again.lines(1)[0]).unwrap();
    assert_eq!(count(&again, "failed"), 0, "{again}");
    write(&lib.join("zero length.wav"), &good);
    let fixed = run(unprivileged_index(dir.path(), &[]));
    let fixed: Value = serde_json::from_str(fixed.lines(1)[0]).unwrap();
    assert_eq!(count(&fixed, "updated"), 1, "{fixed}");
    assert_eq!(
        count(&status(&idx, false), "failed"),
        failing.len() as u64 - 1
    );
}

/// `hark index` on `dir/index` with a copy of the fixture model in `dir`,
/// run as `nobody` (uid and gid 65534) when the tests run as root, so that
/// file permissions apply (root reads everything); `dir` is opened to it.
fn unprivileged_index(dir: &Path, args: &[&str]) -> Command {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let model = model_copy(dir);
    let mut cmd = index_cmd_with(&dir.join("index"), &model, args);
    // /proc/self belongs to the effective user.
    if fs::metadata("/proc/self").unwrap().uid() != 0 {
        return cmd;
    }
    for entry in walk_all(dir) {
        let meta = fs::symlink_metadata(&entry).unwrap();
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode();
        if mode & 0o777 == 0 {
            continue; // the unreadable file stays unreadable
        }
        let open = if entry.is_dir() { 0o777 } else { 0o666 };
        fs::set_permissions(&entry, fs::Permissions::from_mode(open)).unwrap();
    }
    // The path to `dir` must be passable too.
    for parent in dir.ancestors().skip(1) {
        let mode = fs::metadata(parent).unwrap().permissions().mode();
        assert!(
            mode & 0o001 != 0,
            "{} is closed to other users; cannot test permissions as nobody",
            parent.display()
        );
    }
    cmd.uid(65_534).gid(65_534).env("HOME", dir);
    cmd
}

fn walk_all(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if fs::symlink_metadata(&out[i]).is_ok_and(|m| m.is_dir()) {
            if let Ok(entries) = fs::read_dir(&out[i]) {
                out.extend(entries.filter_map(|e| Some(e.ok()?.path())));
            }
        }
        i += 1;
    }
    out
}

#[test]
fn unreadable_folders_and_symlink_loops_are_reported_and_skipped() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    tones(&lib, 4);
    std::os::unix::fs::symlink(&lib, lib.join("Doors/loop")).unwrap();
    let out = run(unprivileged_index(dir.path(), &[lib.to_str().unwrap()]));
    out.assert_code(0)
        .assert_stderr_contains("symbolic link loop");
    let s: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!(count(&s, "added"), 4, "{s}");

    // A folder that cannot be listed: reported, and its files stay indexed.
    fs::set_permissions(lib.join("Rain"), fs::Permissions::from_mode(0o000)).unwrap();
    let out = run(unprivileged_index(dir.path(), &[]));
    fs::set_permissions(lib.join("Rain"), fs::Permissions::from_mode(0o755)).unwrap();
    out.assert_code(0)
        .assert_stderr_contains("Rain")
        .assert_stderr_contains("ermission denied");
    let s: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!(count(&s, "removed"), 0, "{s}");
    assert!(count(&s, "problems") >= 1, "{s}");
    assert_eq!(count(&status(&idx, false), "files"), 4);
}

#[test]
fn without_a_model_files_wait_and_a_later_run_embeds_only_them() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    tones(&lib, 5);
    let hf_home = dir.path().join("hf");
    fs::create_dir_all(&hf_home).unwrap();
    let mut cmd = hark();
    // Offline: `hark index` would otherwise download the absent model.
    cmd.env("HF_HOME", &hf_home)
        .env("HF_HUB_OFFLINE", "1")
        .arg("--index")
        .arg(&idx)
        .args(["index", "--json"])
        .arg(&lib);
    let out = run(cmd);
    out.assert_code(0)
        .assert_stderr_contains("no model")
        .assert_stderr_contains("hark model fetch");
    let s: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!((count(&s, "added"), count(&s, "waiting")), (5, 5), "{s}");
    assert_eq!(s["ann"], "none", "{s}");
    let st = status(&idx, false);
    assert_eq!(
        (
            count(&st, "files"),
            count(&st, "embedded"),
            count(&st, "waiting")
        ),
        (5, 0, 5),
        "{st}"
    );
    // Names are searchable already.
    let catalog = hark_store::Catalog::open_readonly(&idx).unwrap();
    let creak = hark_store::TextMatch::words("creak");
    let hits = catalog.read(|tx| tx.fts_ranked(&creak, 10, None)).unwrap();
    assert_eq!(hits.len(), 5);

    let s = index(&idx, &[], 0);
    assert_eq!(
        (
            count(&s, "embedded"),
            count(&s, "added"),
            count(&s, "waiting")
        ),
        (5, 0, 0),
        "{s}"
    );
    let st = status(&idx, false);
    assert_eq!(
        (count(&st, "embedded"), count(&st, "waiting")),
        (5, 0),
        "{st}"
    );
}

#[test]
fn a_new_model_re_embeds_everything_and_says_so() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    let files = tones(&lib, 3);
    index(&idx, &[lib.to_str().unwrap()], 0);
    let before = vector_of(&idx, &canon(&files[0]));

    // The same architecture with other weights: another identity.
    let other = model_copy(dir.path());
    perturb_weights(&other.join("model.safetensors"));
    let mut cmd = hark();
    cmd.arg("--index")
        .arg(&idx)
        .arg("--model")
        .arg(&other)
        .args(["index", "--json"]);
    let out = run(cmd);
    out.assert_code(0)
        .assert_stderr_contains("every file is embedded again");
    let s: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!(
        (count(&s, "embedded"), count(&s, "unchanged")),
        (3, 0),
        "{s}"
    );
    assert_ne!(vector_of(&idx, &canon(&files[0])), before);
    let st = status(&idx, false);
    assert_ne!(st["model_identity"], Value::Null);
}

/// Scales every f32 of the last tensors of a safetensors file a little,
/// keeping it valid: new weights, same shapes.
fn perturb_weights(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let data = 8 + header_len;
    let n = (bytes.len() - data) / 4;
    for i in (n / 2)..n {
        let at = data + 4 * i;
        let x = f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        bytes[at..at + 4].copy_from_slice(&(x * 1.25).to_le_bytes());
    }
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_second_writer_exits_at_once_or_waits() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    tones(&lib, 2);
    index(&idx, &[lib.to_str().unwrap()], 0);

    // Hold the writer lock as a running `hark index` would.
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(idx.join("index.lock"))
        .unwrap();
    lock.try_lock().expect("the lock is free");
    let started = Instant::now();
    let out = run(index_cmd(&idx, &[]));
    out.assert_code(3)
        .assert_stderr_contains("another `hark index`")
        .assert_stderr_contains("--wait");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(out.stdout.is_empty());

    // Readers are not blocked by the lock.
    assert_eq!(count(&status(&idx, false), "files"), 2);

    let mut waiting = index_cmd(&idx, &["--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(waiting.try_wait().unwrap().is_none(), "--wait did not wait");
    drop(lock);
    let deadline = Instant::now() + LIMIT;
    let code = loop {
        if let Some(st) = waiting.try_wait().unwrap() {
            break st.code();
        }
        assert!(Instant::now() < deadline, "--wait never finished");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
}

#[test]
fn killed_midway_the_next_run_continues_and_a_reader_always_sees_a_consistent_index() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    // 10 s clips at 8 kHz: small files, but each needs resampling and a
    // full spectrogram, so the run lasts long enough (seconds) to be killed
    // midway, whatever the machine.
    let n = 400;
    for i in 0..n {
        write(
            &lib.join(format!("clip {i:03}.wav")),
            &tone(8_000, 10.0, 100.0 + 9.0 * i as f32, i),
        );
    }
    let mut child = index_cmd(&idx, &[lib.to_str().unwrap(), "--batch", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A reader polls while the writer works: every snapshot is consistent
    // (each file embedded, as one transaction stores a file with its
    // vector) and the count only grows.
    let deadline = Instant::now() + LIMIT;
    let mut last = 0;
    let mut polls = 0;
    loop {
        assert!(Instant::now() < deadline, "the run never got to 20 files");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        if idx.join("catalog.sqlite3").exists() {
            let st = status(&idx, false);
            let files = count(&st, "files");
            assert_eq!(count(&st, "embedded"), files, "{st}");
            assert!(files >= last, "count went back from {last} to {files}");
            last = files;
            polls += 1;
            if files >= 20 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(polls >= 2);

    let committed = count(&status(&idx, false), "files");
    assert!(committed >= 20 && committed < n as u64, "{committed}");
    let catalog = hark_store::Catalog::open(&idx).unwrap();
    drop(catalog);
    let s = index(&idx, &[], 0);
    assert_eq!(count(&s, "unchanged"), committed, "{s}");
    assert_eq!(count(&s, "added"), n as u64 - committed, "{s}");
    let st = status(&idx, false);
    assert_eq!(
        (count(&st, "files"), count(&st, "embedded")),
        (n as u64, n as u64),
        "{st}"
    );
}

#[test]
fn a_two_hour_96k_stereo_file_is_indexed() {
    // 2 h of 96 kHz stereo 16-bit is 2.76 GB; the data is a hole in a sparse
    // file (silence), so the test costs time, not disk.
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    fs::create_dir_all(&lib).unwrap();
    let idx = dir.path().join("index");
    let frames: u64 = 2 * 3600 * 96_000;
    let data_len = frames * 4;
    let mut header = wav(96_000, 2, 0, Enc::I16, |_, _| 0.0);
    header[4..8].copy_from_slice(&((36 + data_len) as u32).to_le_bytes());
    header[40..44].copy_from_slice(&(data_len as u32).to_le_bytes());
    let path = lib.join("long ambience.wav");
    let file = fs::File::create(&path).unwrap();
    use std::io::Write;
    (&file).write_all(&header).unwrap();
    file.set_len(44 + data_len).unwrap();
    drop(file);

    let out = run_within(
        index_cmd(&idx, &[lib.to_str().unwrap()]),
        Duration::from_secs(900),
    );
    out.assert_code(0);
    let s: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!(count(&s, "added"), 1, "{s}\n{}", out.stderr);
    let rec = &records(&idx)[&canon(&path)].record;
    assert_eq!(rec.duration_s, Some(7200.0));
    assert_eq!((rec.sample_rate, rec.channels), (Some(96_000), Some(2)));
}

#[test]
fn a_moment_inside_a_long_file_is_found_and_starts_where_it_is() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    let short = tones(&lib, 4);
    // 45 s at 48 kHz: a low hum, with a bright chirp from 20 s to 30 s.
    let rate = 48_000;
    let signal = |i: usize| -> f32 {
        let t = i as f32 / rate as f32;
        if (20.0..30.0).contains(&t) {
            let f = 1_000.0 + 300.0 * (t - 20.0);
            0.6 * (std::f32::consts::TAU * f * t).sin()
        } else {
            0.4 * (std::f32::consts::TAU * 110.0 * t).sin()
        }
    };
    let long = lib.join("Ambience/long hum.wav");
    write(
        &long,
        &wav(rate, 1, 45 * rate as usize, Enc::I16, |i, _| signal(i)),
    );
    // The chirp alone, outside the library: the same samples.
    let clip = dir.path().join("chirp.wav");
    let start = 20 * rate as usize;
    write(
        &clip,
        &wav(rate, 1, 10 * rate as usize, Enc::I16, |i, _| {
            signal(start + i)
        }),
    );

    let s = index(&idx, &[lib.to_str().unwrap()], 0);
    assert_eq!(count(&s, "added"), 5, "{s}");
    assert_eq!(count(&s, "moments"), 5, "{s}");
    let st = status(&idx, false);
    assert_eq!(
        (count(&st, "embedded"), count(&st, "moments")),
        (5, 5),
        "{st}"
    );
    let catalog = hark_store::Catalog::open_readonly(&idx).unwrap();
    let file = catalog.file_by_path(&canon(&long)).unwrap().unwrap();
    let model = catalog.meta("model").unwrap().unwrap();
    let pipeline = catalog.meta("pipeline").unwrap().unwrap();
    let moments = catalog
        .read(|tx| tx.moments(file.id, &model, &pipeline))
        .unwrap();
    let spans: Vec<(f64, f64)> = moments.iter().map(|m| (m.1, m.2)).collect();
    assert_eq!(
        spans,
        [
            (0.0, 10.0),
            (10.0, 20.0),
            (20.0, 30.0),
            (30.0, 40.0),
            (35.0, 45.0)
        ]
    );
    // Short files have none.
    let short = catalog.file_by_path(&canon(&short[0])).unwrap().unwrap();
    assert!(catalog
        .read(|tx| tx.moments(short.id, &model, &pipeline))
        .unwrap()
        .is_empty());

    let similar = |extra: &[&str]| {
        let mut cmd = hark();
        cmd.arg("--index")
            .arg(&idx)
            .arg("--model")
            .arg(fixture())
            .arg("similar")
            .arg(&clip)
            .args(extra);
        run(cmd)
    };
    let out = similar(&["--json"]);
    out.assert_success();
    assert_eq!(
        out.lines(5).len(),
        5,
        "the long file and the 4 tones, once each"
    );
    let first: Value = serde_json::from_str(out.lines(5)[0]).unwrap();
    assert_eq!(
        first["path"].as_str(),
        canon(&long).to_str(),
        "{}",
        out.stdout
    );
    assert_eq!(first["offset_s"].as_f64(), Some(20.0), "{first}");
    assert!(first["score"].as_f64().unwrap() > 0.999, "{first}");
    // The table says where the moment starts.
    let out = similar(&[]);
    out.assert_success();
    out.assert_stdout_contains("45.0s @20.0s");
    // Rewritten short, the file loses its moments.
    write(&long, &tone(rate, 3.0, 440.0, 1));
    let s = index(&idx, &[], 0);
    assert_eq!((count(&s, "updated"), count(&s, "moments")), (1, 0), "{s}");
    assert_eq!(count(&status(&idx, false), "moments"), 0);
    let catalog = hark_store::Catalog::open_readonly(&idx).unwrap();
    let file = catalog.file_by_path(&canon(&long)).unwrap().unwrap();
    assert!(catalog
        .read(|tx| tx.moments(file.id, &model, &pipeline))
        .unwrap()
        .is_empty());
}
