//! A full disk (issue 12 point 6): `hark index` on a 288 KB file system
//! stops cleanly (exit 2) with a hint that names the index directory, the
//! free space and what the rest of the run needs, and a later run with room
//! resumes from the intact catalog.
//!
//! The small file system is a tmpfs mounted in a private user and mount
//! namespace (`unshare --user --map-root-user --mount`, util-linux), which
//! needs no privileges; where that is impossible the test fails and says so.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const FILES: usize = 200;

/// A library of `FILES` copies of a short tone, under long names (bigger
/// catalog rows, so the disk fills sooner).
fn library(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    for i in 0..FILES {
        let path = dir.join(format!(
            "DOORWood_Creak {i:03} a long name so that the catalog grows_HK_TestLib.wav"
        ));
        let mut w = hound::WavWriter::create(&path, spec).expect("create a wav");
        for n in 0..4_000 {
            let t = n as f32 / 22_050.0;
            let x = (std::f32::consts::TAU * (200.0 + i as f32) * t).sin();
            w.write_sample((x * 12_000.0) as i16).unwrap();
        }
        w.finalize().unwrap();
    }
}

#[test]
fn a_full_disk_stops_the_run_with_a_hint_and_the_next_run_resumes() {
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    library(&lib);
    let mnt = dir.path().join("small-disk");
    let kept = dir.path().join("kept");
    std::fs::create_dir_all(&mnt).unwrap();
    // In the namespace: mount the small disk, index onto it, and copy the
    // index out before the namespace (and its tmpfs) goes away.
    let script = r#"
        mount -t tmpfs -o size=288k tmpfs "$MNT" || { echo "cannot mount a tmpfs" >&2; exit 99; }
        "$HARK" index --index "$MNT/idx" --model "$MODEL" --batch 8 "$LIB"
        code=$?
        cp -a "$MNT/idx" "$KEPT" || exit 98
        exit $code
    "#;
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .current_dir(root())
        .env("HARK", HARK)
        .env("MNT", &mnt)
        .env("KEPT", &kept)
        .env("LIB", &lib)
        .env("MODEL", fixture())
        .env_remove("HARK_INDEX")
        .env_remove("HARK_MODEL");
    let out = run(&mut cmd);
    assert!(
        !matches!(out.status.code(), Some(98 | 99) | None) && !out.stderr.contains("unshare:"),
        "this test makes a small full disk with `unshare --user --map-root-user --mount` and a \
         tmpfs (util-linux, unprivileged user namespaces); that failed here: {}",
        out.describe()
    );
    out.assert_code(2)
        .assert_stderr_contains("the disk is full; the index is intact")
        .assert_stderr_contains(&format!(
            "the disk holding the index `{}/idx` is full (",
            mnt.display()
        ))
        .assert_stderr_contains(" free)")
        .assert_stderr_contains("files left need about")
        .assert_stderr_contains("then run `hark index` again");
    assert!(
        !out.stderr.contains("panicked"),
        "a full disk must not panic: {}",
        out.describe()
    );

    // With room, the same index resumes: what the first run committed stays,
    // the rest is added, and the catalog is whole.
    let mut again = hark();
    again
        .env("HARK_INDEX", &kept)
        .args(["index", "--json", "--model", fixture()])
        .arg(&lib);
    let out = run(&mut again);
    out.assert_code(0);
    let summary: serde_json::Value =
        serde_json::from_str(out.stdout.lines().next().expect("a JSON summary"))
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.describe()));
    let unchanged = summary["unchanged"].as_u64().unwrap();
    let added = summary["added"].as_u64().unwrap();
    assert!(
        unchanged > 0,
        "the first run's committed files must survive the full disk: {summary}"
    );
    assert_eq!(added + unchanged, FILES as u64, "{summary}");
    let catalog = hark_store::Catalog::open_readonly(&kept).expect("the catalog opens");
    let counts = catalog.counts().expect("counts");
    assert_eq!(counts.files, FILES as u64);
    assert_eq!(counts.waiting, 0, "every file has its vector");
}
