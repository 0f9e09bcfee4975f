//! End-to-end repair of a damaged index with the small CLAP checkpoint:
//! pages of `catalog.sqlite3` overwritten make `status` and `search` fail
//! with a hint naming `hark index`, which sets the damaged file aside,
//! salvages what can be read and embeds only what was lost; a damaged ANN
//! file is rebuilt without a word.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::*;

/// A 16-bit mono WAV of a tone at `freq` Hz, a quarter second long.
fn tone(freq: f32) -> Vec<u8> {
    let rate = 22_050u32;
    let samples: Vec<i16> = (0..rate / 4)
        .map(|i| {
            let x = (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin();
            (x * 0.5 * 32767.0) as i16
        })
        .collect();
    let data_len = samples.len() as u32 * 2;
    let mut out = Vec::new();
    out.extend(b"RIFF");
    out.extend((36 + data_len).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(rate.to_le_bytes());
    out.extend((rate * 2).to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend(b"data");
    out.extend(data_len.to_le_bytes());
    for s in samples {
        out.extend(s.to_le_bytes());
    }
    out
}

/// A library of `n` tones with distinct names.
fn library(dir: &Path, n: usize) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let path = dir.join(format!("DOORWood_Creak {i:03}_HK_TestLib.wav"));
        fs::write(path, tone(150.0 + 23.0 * i as f32)).unwrap();
    }
}

/// Runs `hark --index INDEX --model FIXTURE index --json ARGS` and returns
/// its JSON summary and its stderr, after checking it succeeded.
#[track_caller]
fn index(index: &Path, args: &[&str]) -> (Value, String) {
    let mut cmd = hark();
    cmd.arg("--index")
        .arg(index)
        .args(["--model", fixture(), "index", "--json"])
        .args(args);
    let out = run(cmd);
    out.assert_code(0);
    let summary = serde_json::from_str(out.lines(1)[0])
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", out.describe()));
    (summary, out.stderr)
}

#[track_caller]
fn count(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {key:?} in {v}"))
}

/// `hark ARGS` on `index`, with the fixture model.
fn hark_on(index: &Path, args: &[&str]) -> Output {
    let mut cmd = hark();
    cmd.arg("--index")
        .arg(index)
        .args(["--model", fixture()])
        .args(args);
    run(cmd)
}

/// The leaf pages of `table`'s b-tree in the SQLite file at `path`, in
/// order (SQLite's `dbstat` table).
fn leaf_pages(path: &Path, table: &str) -> Vec<u64> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare("SELECT pageno FROM dbstat WHERE name = ?1 AND pagetype = 'leaf' ORDER BY path")
        .unwrap();
    let pages: Vec<u64> = stmt
        .query_map([table], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|p| p.unwrap() as u64)
        .collect();
    assert!(
        pages.len() >= 4,
        "{table} has only {} leaf pages",
        pages.len()
    );
    pages
}

/// Writes garbage over page `pageno` (numbered from 1) of the SQLite file
/// at `path`.
fn corrupt_page(path: &Path, pageno: u64) {
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut header = [0u8; 100];
    file.read_exact(&mut header).unwrap();
    let page = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    file.seek(SeekFrom::Start((pageno - 1) * page)).unwrap();
    let garbage: Vec<u8> = (0..page).map(|i| (i * 7 + 13) as u8).collect();
    file.write_all(&garbage).unwrap();
    file.sync_all().unwrap();
}

/// What a lookup can still read in the damaged catalog at `path`.
struct Readable {
    /// Files whose row can be read.
    rows: BTreeSet<PathBuf>,
    /// Files whose row and vector can be read.
    vectors: BTreeSet<PathBuf>,
    /// Files whose row is lost but whose content hash (from the index) and
    /// vector can be read: the repair holds their vectors by hash.
    held: BTreeSet<PathBuf>,
}

/// What a lookup by id (or by hash, in the content-hash index) can still
/// read in the damaged catalog at `path`.
fn readable(path: &Path, ids: &[(i64, PathBuf, Vec<u8>)]) -> Readable {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut found = Readable {
        rows: BTreeSet::new(),
        vectors: BTreeSet::new(),
        held: BTreeSet::new(),
    };
    for (id, file, hash) in ids {
        let row = conn.query_row(
            "SELECT path, tags, peaks FROM files WHERE id = ?1",
            [id],
            |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?)),
        );
        let vector = conn.query_row(
            "SELECT data FROM vectors WHERE point = ?1 * 1048576",
            [id],
            |r| r.get::<_, Vec<u8>>(0),
        );
        if row.is_ok() {
            found.rows.insert(file.clone());
            if vector.is_ok() {
                found.vectors.insert(file.clone());
            }
            continue;
        }
        let by_hash = conn.query_row(
            "SELECT rowid FROM files INDEXED BY files_content_hash WHERE content_hash = ?1",
            [hash],
            |r| r.get::<_, i64>(0),
        );
        if by_hash.as_ref() == Ok(id) && vector.is_ok() {
            found.held.insert(file.clone());
        }
    }
    found
}

/// Every file of the index with its id and content hash.
fn file_ids(index: &Path) -> Vec<(i64, PathBuf, Vec<u8>)> {
    let catalog = hark_store::Catalog::open_readonly(index).unwrap();
    let mut out = Vec::new();
    for root in catalog.roots().unwrap() {
        for state in catalog.files_under_root(root.id).unwrap() {
            out.push((state.id.0, state.path, state.content_hash.unwrap()));
        }
    }
    out
}

#[test]
fn a_damaged_catalog_is_refused_then_repaired_by_index_embedding_only_what_was_lost() {
    const FILES: usize = 60;
    let dir = empty_dir();
    let lib = dir.path().join("lib");
    let idx = dir.path().join("index");
    library(&lib, FILES);
    let (first, _) = index(&idx, &[lib.to_str().unwrap()]);
    assert_eq!(count(&first, "added"), FILES as u64, "{first}");
    assert_eq!(count(&first, "salvaged"), 0, "{first}");
    let ids = file_ids(&idx);
    assert_eq!(ids.len(), FILES);

    let catalog = idx.join(hark_store::FILE_NAME);
    // A leaf page of file rows from the middle, whose files' vectors are
    // elsewhere (their rows are lost, their vectors held by content hash),
    // and a leaf page of vectors from the first quarter (those files keep
    // their row and are embedded again), wherever the layout puts them.
    let files = leaf_pages(&catalog, "files");
    let vectors = leaf_pages(&catalog, "vectors");
    corrupt_page(&catalog, files[files.len() / 2]);
    corrupt_page(&catalog, vectors[vectors.len() / 4]);
    let Readable {
        rows,
        vectors,
        held,
    } = readable(&catalog, &ids);
    assert!(rows.len() < FILES, "the damage must hit file rows");
    assert!(!vectors.is_empty(), "some vectors must survive");
    assert!(
        !held.is_empty(),
        "the damage must also lose rows whose vector survives, or the content-hash matching \
         goes untested"
    );

    // Readers: one error line and a hint naming `hark index`.
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["search", "creak", "--json"],
    ] {
        let out = hark_on(&idx, args);
        out.assert_code(2);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {}", out.describe());
        assert!(
            lines[0].starts_with("error: the catalog") && lines[0].contains("is damaged"),
            "{args:?}: {}",
            out.describe()
        );
        assert!(
            lines[1].starts_with("hint: run `hark index`"),
            "{args:?}: {}",
            out.describe()
        );
    }

    // The repair: no path needed, the roots are salvaged too.
    let (summary, stderr) = index(&idx, &[]);
    assert!(stderr.contains("the catalog was damaged"), "{stderr}");
    assert!(
        stderr.contains("vectors salvaged from the damaged catalog"),
        "{stderr}"
    );
    // The vectors kept with their row, and those of lost rows given back
    // by content hash when the run found the file again.
    assert_eq!(
        count(&summary, "salvaged"),
        (vectors.len() + held.len()) as u64,
        "{summary}"
    );
    // Lost rows are indexed anew (their vector given back where it was
    // held); rows without their vector are embedded.
    assert_eq!(
        count(&summary, "added"),
        (FILES - rows.len()) as u64,
        "{summary}"
    );

    assert_eq!(
        count(&summary, "embedded"),
        (rows.len() - vectors.len()) as u64,
        "{summary}"
    );
    assert_eq!(
        count(&summary, "unchanged"),
        vectors.len() as u64,
        "{summary}"
    );
    assert_eq!(count(&summary, "removed"), 0, "{summary}");

    let damaged: Vec<PathBuf> = fs::read_dir(&idx)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("catalog.damaged-") && name.ends_with(".sqlite3")
        })
        .collect();
    assert_eq!(damaged.len(), 1, "{damaged:?}");

    // A lost row's file has its old vector back, byte for byte, under its
    // new id.
    let old = rusqlite::Connection::open_with_flags(
        &damaged[0],
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let catalog = hark_store::Catalog::open_readonly(&idx).unwrap();
    for file in &held {
        let stored = catalog.file_by_path(file).unwrap().unwrap();
        let (old_id, _, _) = ids.iter().find(|(_, p, _)| p == file).unwrap();
        let before: Vec<u8> = old
            .query_row(
                "SELECT data FROM vectors WHERE point = ?1 * 1048576",
                [old_id],
                |r| r.get(0),
            )
            .unwrap();
        let now = catalog.vector(stored.id).unwrap().expect("a vector");
        let now: Vec<u8> = now.data.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(now, before, "{file:?}");
    }
    drop(catalog);
    // Nothing is held after the complete run.
    let conn = rusqlite::Connection::open_with_flags(
        idx.join(hark_store::FILE_NAME),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'held_vectors'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0);

    // Whole again: every file with its vector, and search answers.
    let out = hark_on(&idx, &["status", "--json"]);
    out.assert_success();
    let st: Value = serde_json::from_str(out.lines(1)[0]).unwrap();
    assert_eq!(
        (count(&st, "files"), count(&st, "embedded")),
        (FILES as u64, FILES as u64),
        "{st}"
    );
    let out = hark_on(&idx, &["search", "creak 007", "--json"]);
    out.assert_success();
    assert!(out.stdout.contains("Creak 007"), "{}", out.describe());
    // A run after the repair has nothing to do.
    let (again, _) = index(&idx, &[]);
    assert_eq!(count(&again, "unchanged"), FILES as u64, "{again}");
    assert_eq!(count(&again, "salvaged"), 0, "{again}");
}
