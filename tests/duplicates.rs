//! `hark duplicates` end to end (issue 14): a library of sounds generated
//! with sox (kicks, cymbal-like noise bursts, pads, a 20 s ambience), each
//! with copies made by sox and lame (44.1 kHz/24-bit WAV, MP3 192k, -6 dB,
//! mono fold-down, 30 ms trimmed; a 3 s excerpt of the ambience). Every copy
//! is grouped with its original, with the right relation and keeper, and no
//! group mixes two different sounds of one kind. sox and lame are needed
//! (CI installs them): without them the tests fail, they do not skip.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

/// The originals: folder, UCS-style name (so that a copy of equal format
/// loses the keeper's tie-break to it), and sox's synth arguments. 48 kHz,
/// 24-bit, stereo.
const SOUNDS: &[(&str, &str, &str)] = &[
    ("kicks", "DRUMKick_Deep Kick One_HRK_Test", "synth 0.6 sine 150:45 synth 0.6 brownnoise mix fade q 0.002 0.6 0.55 gain -3"),
    ("kicks", "DRUMKick_Deep Kick Two_HRK_Test", "synth 0.5 sine 190:55 synth 0.5 pinknoise mix fade q 0.001 0.5 0.45 gain -3"),
    ("kicks", "DRUMKick_Deep Kick Three_HRK_Test", "synth 0.7 sine 120:40 synth 0.7 brownnoise mix fade q 0.004 0.7 0.65 gain -4"),
    ("cymbals", "DRUMCymb_Crash One_HRK_Test", "synth 2.2 whitenoise trim 0.2 1.5 gain -8 sinc 3000-12000 fade q 0.001 1.5 1.45"),
    ("cymbals", "DRUMCymb_Crash Two_HRK_Test", "synth 2.2 whitenoise trim 0.6 1.2 gain -8 sinc 2000-9000 fade q 0.001 1.2 1.1"),
    ("cymbals", "DRUMCymb_Crash Three_HRK_Test", "synth 2.2 pinknoise trim 0.3 1.8 gain -8 sinc 4000-14000 fade q 0.002 1.8 1.7"),
    ("pads", "SYNPad_Warm Pad One_HRK_Test", "synth 4 sine 220 sine 277 synth 4 sine mix 330 tremolo 3 40 fade h 0.5 4 1.5 gain -8"),
    ("pads", "SYNPad_Warm Pad Two_HRK_Test", "synth 4 sine 196 sine 247 synth 4 sine mix 294 tremolo 5 30 fade h 0.5 4 1.5 gain -8"),
    ("pads", "SYNPad_Saw Pad_HRK_Test", "synth 3.5 sawtooth 110 sawtooth 165 lowpass 900 tremolo 2 50 fade h 0.8 3.5 1 gain -10"),
    ("amb", "AMBRoom_Hum And Air_HRK_Test", "synth 20 sine 180:320 synth 20 sine mix 660:520 synth 20 pinknoise mix tremolo 0.3 50 gain -10"),
];

/// A copy: file-name suffix, extension, tool and its arguments (`IN` and
/// `OUT` stand for the paths), and the relation expected to the keeper.
const COPIES: &[(&str, &str, &str, &str, &str)] = &[
    (" 44k", "wav", "sox", "IN -r 44100 -b 24 OUT", "same audio"),
    (
        " preview",
        "mp3",
        "lame",
        "--quiet -b 192 IN OUT",
        "same audio",
    ),
    (" -6dB", "wav", "sox", "IN OUT gain -6", "same audio"),
    (" mono", "wav", "sox", "IN OUT remix -", "same audio"),
    (" trimmed", "wav", "sox", "IN OUT trim 0.03", "trimmed"),
];

struct Library {
    _dir: tempfile::TempDir,
    root: PathBuf,
    index: PathBuf,
}

fn tool(name: &str, args: &[&str]) {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("this test needs `{name}` (sox and lame; CI installs them): cannot run it: {e}")
    });
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The library and its index, made once for all tests.
fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = empty_dir();
        let root = dir.path().join("lib");
        for (folder, name, synth) in SOUNDS {
            let folder = root.join(folder);
            std::fs::create_dir_all(&folder).unwrap();
            let original = folder.join(format!("{name}.wav"));
            let original_s = original.to_str().unwrap();
            let mut args = vec!["-R", "-n", "-r", "48000", "-b", "24", "-c", "2", original_s];
            args.extend(synth.split(' '));
            tool("sox", &args);
            let stem = name.split('_').nth(1).unwrap().to_lowercase();
            for (suffix, ext, program, template, _) in COPIES {
                let copy = folder.join(format!("{stem}{suffix}.{ext}"));
                let args: Vec<&str> = template
                    .split(' ')
                    .map(|a| match a {
                        "IN" => original_s,
                        "OUT" => copy.to_str().unwrap(),
                        a => a,
                    })
                    .collect();
                tool(program, &args);
            }
        }
        // A 3 s excerpt of the ambience, from 7.3 s on; and a byte-for-byte
        // copy of a kick under a name with an escape sequence.
        let amb = root.join("amb/AMBRoom_Hum And Air_HRK_Test.wav");
        tool(
            "sox",
            &[
                amb.to_str().unwrap(),
                root.join("amb/hum excerpt.wav").to_str().unwrap(),
                "trim",
                "7.3",
                "3",
            ],
        );
        std::fs::create_dir_all(root.join("exact")).unwrap();
        std::fs::copy(
            root.join("kicks/DRUMKick_Deep Kick Two_HRK_Test.wav"),
            root.join("exact/kick\x1b[31mred.wav"),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();

        let index = dir.path().join("index");
        let out = run_within(
            {
                let mut cmd = hark();
                cmd.args(["--model", fixture(), "--index"])
                    .arg(&index)
                    .arg("index")
                    .arg(&root)
                    .arg("--quiet");
                cmd
            },
            LIMIT,
        );
        out.assert_code(0);
        Library {
            _dir: dir,
            root,
            index,
        }
    })
}

fn duplicates(args: &[&str]) -> Output {
    let lib = library();
    let mut cmd = hark();
    cmd.arg("--index")
        .arg(&lib.index)
        .arg("duplicates")
        .args(args);
    run_within(cmd, LIMIT)
}

/// `path` relative to the library root.
fn rel(path: &str) -> String {
    Path::new(path)
        .strip_prefix(&library().root)
        .unwrap_or_else(|_| panic!("{path} is not in the library"))
        .to_string_lossy()
        .into_owned()
}

fn groups(out: &Output) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn every_copy_is_grouped_with_its_original_and_no_two_sounds_are_mixed() {
    let out = duplicates(&["--json"]);
    out.assert_success();
    let groups = groups(&out);
    // member (relative path) -> (keeper, relation)
    let mut found: BTreeMap<String, (String, String, Value)> = BTreeMap::new();
    for g in &groups {
        let files = g["files"].as_array().unwrap();
        let keepers: Vec<&Value> = files.iter().filter(|f| f["keep"] == true).collect();
        assert_eq!(keepers.len(), 1, "one keeper per group: {g}");
        assert_eq!(files[0]["keep"], true, "the keeper comes first: {g}");
        let keeper = rel(files[0]["path"].as_str().unwrap());
        for f in files {
            assert!(f["why"].as_str().is_some_and(|w| !w.is_empty()), "{f}");
            let path = rel(f["path"].as_str().unwrap());
            let relation = f["relation"].as_str().unwrap().to_owned();
            found.insert(path, (keeper.clone(), relation, f.clone()));
        }
    }
    assert_eq!(
        groups.len(),
        SOUNDS.len(),
        "one group per original: {}",
        out.stdout
    );
    for (folder, name, _) in SOUNDS {
        let original = format!("{folder}/{name}.wav");
        let (keeper, relation, _) = found
            .get(&original)
            .unwrap_or_else(|| panic!("{original} is in no group"));
        assert_eq!(
            keeper, &original,
            "the original (lossless, 48k, 24-bit, longest, UCS-named) is kept"
        );
        assert_eq!(relation, "keep");
        let stem = name.split('_').nth(1).unwrap().to_lowercase();
        for (suffix, ext, _, _, expected) in COPIES {
            let copy = format!("{folder}/{stem}{suffix}.{ext}");
            let (keeper, relation, json) = found
                .get(&copy)
                .unwrap_or_else(|| panic!("{copy} is in no group"));
            assert_eq!(keeper, &original, "{copy} is grouped with its original");
            // A pad's 30 ms trim cuts only its fade-in's silence: the same audio.
            let ok = relation == expected
                || (*expected == "trimmed" && *folder == "pads" && relation == "same audio");
            assert!(ok, "{copy}: {relation}, expected {expected}: {json}");
            assert!(
                json.get("via").is_none(),
                "{copy} matches its keeper directly: {json}"
            );
            if *suffix == " -6dB" {
                let gain = json["gain_db"].as_f64().unwrap();
                assert!((gain + 6.0).abs() < 0.6, "{copy}: gain {gain}");
            }
        }
    }
    let (keeper, relation, json) = &found["amb/hum excerpt.wav"];
    assert_eq!(keeper, "amb/AMBRoom_Hum And Air_HRK_Test.wav");
    assert_eq!(relation, "contained at 0:07", "{json}");
    let offset = json["offset_s"].as_f64().unwrap();
    assert!((offset - 7.3).abs() < 0.05, "offset {offset}");
    let (keeper, relation, _) = &found["exact/kick\x1b[31mred.wav"];
    assert_eq!(keeper, "kicks/DRUMKick_Deep Kick Two_HRK_Test.wav");
    assert_eq!(relation, "exact");
    // Every file of the library is in a group, and no other file.
    let files = SOUNDS.len() * (1 + COPIES.len()) + 2;
    assert_eq!(found.len(), files, "{:#?}", found.keys());
}

#[test]
fn paths_lists_the_copies_exactly_and_nul_separated() {
    let lib = library();
    let out = duplicates(&["--paths"]);
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), SOUNDS.len() * COPIES.len() + 2);
    assert!(
        lines.iter().all(|l| !l.contains("_HRK_Test")),
        "keepers are not listed"
    );
    // On a pipe, exact bytes: the escape character is there as it is in the name.
    assert!(lines.contains(&lib.root.join("exact/kick\x1b[31mred.wav").to_str().unwrap()));

    let out = duplicates(&["-0"]);
    out.assert_success();
    let names: Vec<&str> = out.stdout.split_terminator('\0').collect();
    assert_eq!(names, lines);
}

#[test]
fn path_limits_the_search_and_exit_codes_are_greps() {
    let lib = library();
    let kicks = lib.root.join("kicks");
    let out = duplicates(&["--json", kicks.to_str().unwrap()]);
    out.assert_success();
    let groups = groups(&out);
    assert_eq!(groups.len(), 3);
    for g in &groups {
        for f in g["files"].as_array().unwrap() {
            assert!(
                f["path"]
                    .as_str()
                    .unwrap()
                    .starts_with(kicks.to_str().unwrap()),
                "{f}"
            );
            assert_ne!(
                f["relation"], "exact",
                "the copy outside kicks/ is left out: {f}"
            );
        }
    }
    // Nothing in the folder: 1, and nothing printed.
    let empty = lib.root.join("empty");
    let out = duplicates(&[empty.to_str().unwrap()]);
    out.assert_code(1);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    // A folder that does not exist: an error, 2.
    let out = duplicates(&[lib.root.join("nowhere").to_str().unwrap()]);
    out.assert_code(2).assert_stderr_contains("nowhere");
}

#[test]
fn the_table_escapes_names_and_shows_relations() {
    let out = duplicates(&[]);
    out.assert_success();
    assert!(
        !out.stdout.contains('\x1b'),
        "a raw escape reached the table: {}",
        out.stdout
    );
    assert!(out.stdout.contains("kick\\e[31mred.wav"), "{}", out.stdout);
    assert!(out.stdout.starts_with("RELATION"), "{}", out.stdout);
    for relation in [
        "keep",
        "exact",
        "same audio",
        "trimmed",
        "contained at 0:07",
    ] {
        out.assert_stdout_contains(relation);
    }
}

#[test]
fn files_without_a_fingerprint_are_counted_and_hark_index_computes_them() {
    // A copy of the index whose fingerprints are gone, as an older hark left it.
    let lib = library();
    let dir = empty_dir();
    let index = dir.path().join("index");
    std::fs::create_dir_all(&index).unwrap();
    for entry in std::fs::read_dir(&lib.index).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), index.join(entry.file_name())).unwrap();
        }
    }
    let conn = rusqlite::Connection::open(index.join(hark_store::FILE_NAME)).unwrap();
    conn.execute("DELETE FROM fingerprints", []).unwrap();
    drop(conn);

    let run = |args: &[&str]| {
        let mut cmd = hark();
        cmd.args(["--model", fixture(), "--index"])
            .arg(&index)
            .args(args);
        run_within(cmd, LIMIT)
    };
    let out = run(&["duplicates", "--json"]);
    // Only the byte-for-byte copy is found, and the warning says why.
    out.assert_code(0);
    assert_eq!(groups(&out).len(), 1, "{}", out.stdout);
    let files = SOUNDS.len() * (1 + COPIES.len()) + 2;
    out.assert_stderr_contains(&format!("{files} files have no fingerprint yet"));
    out.assert_stderr_contains("hark index");

    let out = run(&["index", "--json"]);
    out.assert_code(0);
    let summary: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(summary["fingerprinted"], files as u64, "{summary}");
    assert_eq!(summary["embedded"], 0, "{summary}");
    let out = run(&["duplicates", "--json"]);
    out.assert_success();
    assert_eq!(groups(&out).len(), SOUNDS.len());
}
