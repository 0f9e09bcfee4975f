//! `hark tag` end to end, with the fixture model: real-world-shaped WAVs
//! (LIST/INFO, `cue `, an existing iXML, odd-sized chunks) generated here,
//! indexed, tagged, searched, re-indexed and undone.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{empty_dir, fixture, hark, run, Output};

fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A 16-bit mono 48 kHz WAV of a tone at `hz`, with LIST/INFO, a `cue `
/// chunk, an odd-sized vendor chunk and an iXML chunk around its data.
fn wav(hz: f32) -> Vec<u8> {
    wav_with_ixml(
        hz,
        b"<BWFXML><PROJECT>Ghost</PROJECT><USER><NOTE>n</NOTE></USER></BWFXML>",
    )
}

/// [`wav`] with `ixml` as its iXML chunk.
fn wav_with_ixml(hz: f32, ixml: &[u8]) -> Vec<u8> {
    let mut fmt = Vec::new();
    for v in [1u16, 1] {
        fmt.extend(v.to_le_bytes());
    }
    fmt.extend(48_000u32.to_le_bytes());
    fmt.extend(96_000u32.to_le_bytes());
    fmt.extend(2u16.to_le_bytes());
    fmt.extend(16u16.to_le_bytes());
    let pcm: Vec<u8> = (0..24_000)
        .flat_map(|i| {
            let t = i as f32 / 48_000.0;
            (((t * hz * std::f32::consts::TAU).sin() * 12_000.0) as i16).to_le_bytes()
        })
        .collect();
    let mut list = b"INFO".to_vec();
    list.extend(chunk(b"INAM", b"Take 7\0"));
    let mut cue = 1u32.to_le_bytes().to_vec();
    cue.extend([0; 20]);
    let body = [
        chunk(b"fmt ", &fmt),
        chunk(b"LIST", &list),
        chunk(b"Xodd", b"vendor"),
        chunk(b"data", &pcm),
        chunk(b"cue ", &cue),
        chunk(b"iXML", ixml),
    ]
    .concat();
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32 + 4).to_le_bytes());
    out.extend(b"WAVE");
    out.extend(body);
    out
}

struct Lib {
    _dir: tempfile::TempDir,
    root: PathBuf,
    index: PathBuf,
}

impl Lib {
    fn new(files: &[(&str, Vec<u8>)]) -> Lib {
        let dir = empty_dir();
        let root = dir.path().join("lib");
        fs::create_dir(&root).unwrap();
        for (name, bytes) in files {
            fs::write(root.join(name), bytes).unwrap();
        }
        let root = fs::canonicalize(root).unwrap();
        let index = dir.path().join("index");
        let lib = Lib {
            _dir: dir,
            root,
            index,
        };
        lib.hark(&["index", lib.root.to_str().unwrap()])
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

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }

    /// The stored vectors of every file, by path.
    fn vectors(&self) -> Vec<(String, Vec<u8>)> {
        let db = rusqlite::Connection::open(self.index.join("catalog.sqlite3")).unwrap();
        let mut stmt = db
            .prepare(
                "SELECT f.path_text, v.data FROM files f JOIN vectors v ON v.file_id = f.id
                 ORDER BY f.path_text, v.point",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The paths a word search finds by their words (not by sound).
    fn word_hits(&self, query: &str) -> Vec<String> {
        let out = self.hark(&["search", query, "--json", "-k", "50"]);
        out.stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| matches!(v["matched"].as_str(), Some("words" | "both")))
            .map(|v| v["path"].as_str().unwrap().to_string())
            .collect()
    }

    /// The files `hark search QUERY --paths` lists, by name (none when it
    /// exits 1: nothing matched).
    fn search_names(&self, query: &str) -> Vec<String> {
        let out = self.hark(&["search", query, "--paths", "-k", "50"]);
        if out.status.code() == Some(1) {
            return Vec::new();
        }
        out.assert_code(0);
        let mut names: Vec<String> = out.stdout.lines().map(|p| name(p).to_string()).collect();
        names.sort();
        names
    }

    /// Sets the catalog back to how a hark that read UCS categories from
    /// names only left it: the UCS fields of files with no UCS name
    /// cleared, and no `ucs_rule` meta key.
    fn forget_tag_categories(&self) {
        let db = rusqlite::Connection::open(self.index.join("catalog.sqlite3")).unwrap();
        db.execute_batch(
            "UPDATE files SET ucs_cat_id = NULL, ucs_category = NULL, ucs_subcategory = NULL,
                ucs_fx_name = NULL WHERE path_text NOT LIKE '%/DOOR%';
             DELETE FROM meta WHERE key = 'ucs_rule';",
        )
        .unwrap();
    }
}

fn name(path: &str) -> &str {
    Path::new(path).file_name().unwrap().to_str().unwrap()
}

#[test]
fn tag_search_reindex_and_undo() {
    let (a, b) = (wav(440.0), wav(660.0));
    let lib = Lib::new(&[("take7.wav", a.clone()), ("other.wav", b.clone())]);
    let vectors = lib.vectors();
    assert_eq!(vectors.len(), 2, "{vectors:?}");
    assert!(lib.word_hits("zebrawood").is_empty());

    // A dry run says what would change and writes nothing.
    let dry = lib.hark(&[
        "tag",
        &lib.arg("take7.wav"),
        "--description",
        "Squeaky zebrawood hinge",
        "--category",
        "DOORWood",
        "--dry-run",
    ]);
    dry.assert_success()
        .assert_stdout_contains("would write")
        .assert_stdout_contains("ixml.USER.CATID: (none) -> \"DOORWood\"");
    assert_eq!(fs::read(lib.path("take7.wav")).unwrap(), a);
    assert!(
        !lib.index.join("tag-log").exists(),
        "a dry run logs nothing"
    );

    let out = lib.hark(&[
        "tag",
        &lib.arg("take7.wav"),
        "--description",
        "Squeaky zebrawood hinge",
        "--category",
        "DOORWood",
        "--keywords",
        "door, hinge",
        "--json",
    ]);
    out.assert_success();
    let report: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(report["written"], true, "{report}");
    assert_eq!(report["format"], "wav");
    assert!(report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["key"] == "bext.Description"));
    assert_ne!(fs::read(lib.path("take7.wav")).unwrap(), a);

    // Found by the new word at once, with the same vectors.
    let hits = lib.word_hits("zebrawood");
    assert_eq!(
        hits.iter().map(|p| name(p)).collect::<Vec<_>>(),
        ["take7.wav"]
    );
    assert_eq!(lib.vectors(), vectors, "vectors kept");
    assert_eq!(
        lib.word_hits("DOORS").len(),
        1,
        "the category is searchable"
    );

    // The next index run has nothing to redo.
    let index = lib.hark(&["index", lib.root.to_str().unwrap()]);
    index
        .assert_code(0)
        .assert_stderr_contains("0 updated, 2 unchanged");
    assert_eq!(lib.vectors(), vectors);

    // Undo: the file back byte for byte, the index back to its words.
    lib.hark(&["tag", "--undo"])
        .assert_success()
        .assert_stdout_contains("restored");
    assert_eq!(fs::read(lib.path("take7.wav")).unwrap(), a);
    assert!(lib.word_hits("zebrawood").is_empty());
    assert_eq!(lib.vectors(), vectors);
    lib.hark(&["index", lib.root.to_str().unwrap()])
        .assert_stderr_contains("0 updated, 2 unchanged");
    lib.hark(&["tag", "--undo"])
        .assert_code(2)
        .assert_stderr_contains("nothing to undo");
}

/// Issue 15: `cat:` sees a UCS category held only in tags: one that
/// `hark tag --category` wrote into a plain-named file (at once; gone
/// again with `--undo`), and ones another tool wrote into iXML (Soundminer's
/// USER CATID, an ASWG CATEGORY and SUBCATEGORY pair). An index made when
/// only names counted learns them on its next run without embedding, and a
/// file keeps its tags' category when it is renamed.
#[test]
fn cat_finds_categories_held_in_tags() {
    let soundminer = wav_with_ixml(
        330.0,
        b"<BWFXML><USER><CATID>RAINMetl</CATID><CATEGORY>RAIN</CATEGORY>\
          <SUBCATEGORY>METAL</SUBCATEGORY><FXNAME>Gutter</FXNAME></USER></BWFXML>",
    );
    let aswg = wav_with_ixml(
        550.0,
        b"<BWFXML><ASWG><category>DOORS</category><subCategory>METAL</subCategory>\
          </ASWG></BWFXML>",
    );
    let lib = Lib::new(&[
        ("take7.wav", wav(440.0)),
        ("gutter take.wav", soundminer),
        ("slam.wav", aswg),
        ("DOORWood_Creak_JD_Lib.wav", wav(660.0)),
    ]);
    let named = "DOORWood_Creak_JD_Lib.wav";
    assert_eq!(lib.search_names("cat:RAINMetl"), ["gutter take.wav"]);
    assert_eq!(lib.search_names("cat:RAIN-METAL"), ["gutter take.wav"]);
    assert_eq!(lib.search_names("cat:DOORMetl"), ["slam.wav"]);
    assert_eq!(lib.search_names("cat:DOORS"), [named, "slam.wav"]);
    assert_eq!(lib.search_names("cat:DOORWood"), [named]);
    let vectors = lib.vectors();

    // `hark tag --category` on a plain-named file: found at once, by CatID,
    // Category and pair.
    lib.hark(&["tag", &lib.arg("take7.wav"), "--category", "DOORWood"])
        .assert_success();
    assert_eq!(lib.search_names("cat:DOORWood"), [named, "take7.wav"]);
    assert_eq!(lib.search_names("cat:DOORS-WOOD"), [named, "take7.wav"]);
    assert_eq!(
        lib.search_names("cat:DOORS"),
        [named, "slam.wav", "take7.wav"]
    );
    lib.hark(&["tag", "--undo"]).assert_success();
    assert_eq!(lib.search_names("cat:DOORWood"), [named]);

    // An index whose UCS fields came from names only: the next run reads
    // the stored tags (the three tag-categorised files), and embeds nothing.
    lib.hark(&["tag", &lib.arg("take7.wav"), "--category", "DOORWood"])
        .assert_success();
    lib.forget_tag_categories();
    assert_eq!(lib.search_names("cat:DOORWood"), [named]);
    assert!(lib.search_names("cat:RAINMetl").is_empty());
    let out = lib.hark(&["index", "--json", lib.root.to_str().unwrap()]);
    out.assert_code(0)
        .assert_stderr_contains("the UCS categories of 3 files were read again");
    let summary: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        (
            &summary["unchanged"],
            &summary["updated"],
            &summary["embedded"]
        ),
        (&4.into(), &0.into(), &0.into()),
        "{summary}"
    );
    assert_eq!(lib.vectors(), vectors, "nothing embedded again");
    assert_eq!(lib.search_names("cat:DOORWood"), [named, "take7.wav"]);
    assert_eq!(lib.search_names("cat:RAINMetl"), ["gutter take.wav"]);
    assert_eq!(lib.search_names("cat:DOORMetl"), ["slam.wav"]);
    // Once: the run after says nothing of it.
    let again = lib.hark(&["index", lib.root.to_str().unwrap()]);
    again.assert_code(0);
    assert!(!again.stderr.contains("read again"), "{}", again.stderr);

    // Renamed (plain name to plain name): the stored tags still say DOORWood.
    fs::rename(lib.path("take7.wav"), lib.path("door take.wav")).unwrap();
    lib.hark(&["index", lib.root.to_str().unwrap()])
        .assert_code(0)
        .assert_stderr_contains("0 added, 0 updated");
    assert_eq!(lib.search_names("cat:DOORWood"), [named, "door take.wav"]);
}

#[test]
fn rename_ucs_is_collision_safe_and_undone() {
    let lib = Lib::new(&[
        ("DOORMetl_Slam_JD_Lib.wav", wav(300.0)),
        ("DOORWood_Slam_JD_Lib.wav", wav(500.0)),
    ]);
    let vectors = lib.vectors();
    let out = lib.hark(&[
        "tag",
        &lib.arg("DOORMetl_Slam_JD_Lib.wav"),
        "--category",
        "DOORWood",
        "--rename-ucs",
    ]);
    out.assert_success()
        .assert_stdout_contains("renamed to")
        .assert_stdout_contains("DOORWood_Slam 2_JD_Lib.wav");
    assert!(lib.path("DOORWood_Slam 2_JD_Lib.wav").is_file());
    assert!(!lib.path("DOORMetl_Slam_JD_Lib.wav").exists());
    // The catalog followed the rename, vectors and all.
    let renamed: Vec<String> = lib
        .vectors()
        .into_iter()
        .map(|(p, _)| name(&p).to_string())
        .collect();
    assert_eq!(
        renamed,
        ["DOORWood_Slam 2_JD_Lib.wav", "DOORWood_Slam_JD_Lib.wav"]
    );
    assert_eq!(
        lib.vectors()
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>(),
        vectors.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()
    );
    lib.hark(&["index", lib.root.to_str().unwrap()])
        .assert_stderr_contains("0 added, 0 updated, 2 unchanged");

    lib.hark(&["tag", "--undo"]).assert_success();
    assert!(lib.path("DOORMetl_Slam_JD_Lib.wav").is_file());
    assert!(!lib.path("DOORWood_Slam 2_JD_Lib.wav").exists());
    assert_eq!(
        fs::read(lib.path("DOORMetl_Slam_JD_Lib.wav")).unwrap(),
        wav(300.0)
    );
    assert_eq!(lib.vectors(), vectors);
}

#[test]
fn read_only_changed_unindexed_and_unsupported_files_are_refused() {
    let lib = Lib::new(&[("ro.wav", wav(200.0)), ("changed.wav", wav(250.0))]);

    let ro = lib.path("ro.wav");
    let mut perms = fs::metadata(&ro).unwrap().permissions();
    perms.set_readonly(true);
    fs::set_permissions(&ro, perms).unwrap();
    lib.hark(&["tag", &lib.arg("ro.wav"), "--keywords", "x"])
        .assert_code(2)
        .assert_stderr_contains("read-only");
    assert_eq!(fs::read(&ro).unwrap(), wav(200.0));

    // Changed after indexing (same size, other bytes).
    let mut changed = wav(250.0);
    let last = changed.len() - 1;
    changed[last] ^= 1;
    fs::write(lib.path("changed.wav"), &changed).unwrap();
    lib.hark(&["tag", &lib.arg("changed.wav"), "--keywords", "x"])
        .assert_code(2)
        .assert_stderr_contains("changed since it was indexed");
    assert_eq!(fs::read(lib.path("changed.wav")).unwrap(), changed);

    fs::write(lib.path("new.wav"), wav(100.0)).unwrap();
    lib.hark(&["tag", &lib.arg("new.wav"), "--keywords", "x"])
        .assert_code(2)
        .assert_stderr_contains("not in the index");

    lib.hark(&["tag", &lib.arg("new.wav"), "--category", "DoorWood"])
        .assert_code(2)
        .assert_stderr_contains("did you mean DOORWood");
    assert!(
        !lib.index.join("tag-log").exists(),
        "nothing written, nothing logged"
    );
    let leftovers: Vec<_> = fs::read_dir(&lib.root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("hark-tag"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
