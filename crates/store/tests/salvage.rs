//! A catalog with pages overwritten: found damaged on open and on read,
//! and repaired by `salvage::repair` with every row that can still be read.

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use hark_store::{salvage, Catalog, Error, FileId, FileRecord, PointId, TextMatch, FILE_NAME};

const MODEL: &str = "laion/clap-htsat-fused@abc123";
const PIPELINE: &str = "hark-clap-1";
const FILES: i64 = 300;
/// The indexer's moment rule (`hark-indexer`'s `moments` module).
const RULE: salvage::MomentRule = salvage::MomentRule {
    long_file_s: 30.0,
    min_tail_s: 1.0,
};

fn unit_vector(seed: f32) -> Vec<f32> {
    (0..512).map(|i| (i as f32 * 0.37 + seed).sin()).collect()
}

/// A word naming `i` in letters (`12` is `qbc`): the tokenizer would cut
/// digits from letters.
fn word(i: i64) -> String {
    let digits = i.to_string();
    let letters = digits.bytes().map(|d| (d - b'0' + b'a') as char);
    std::iter::once('q').chain(letters).collect()
}

/// The fingerprint stored for file `id` (format version 1).
fn fingerprint(id: i64) -> Vec<u8> {
    [vec![1], id.to_le_bytes().repeat(50)].concat()
}

/// A catalog of `FILES` files with tags, a vector and a fingerprint each
/// (and moments for every tenth), closed so that everything is in the main
/// file. File rows and vectors are written in turn, so that damage anywhere
/// hits both.
fn build(dir: &Path) {
    build_with(dir, false);
}

/// [`build`], but every file row first and every vector after, so that the
/// file rows' pages come before the vectors' in the file.
fn build_apart(dir: &Path) {
    build_with(dir, true);
}

fn build_with(dir: &Path, apart: bool) {
    let mut catalog = Catalog::open(dir).unwrap();
    catalog
        .transaction(|tx| {
            let root = tx.add_root(Path::new("/lib"))?;
            let vectors = |id: FileId| {
                tx.set_vector(id, MODEL, PIPELINE, &unit_vector(id.0 as f32))?;
                tx.set_fingerprint(id, &fingerprint(id.0))?;
                if (id.0 - 1) % 10 == 0 {
                    let m = hark_store::MomentVector {
                        start_s: 0.0,
                        end_s: 10.0,
                        data: unit_vector(-(id.0 as f32)),
                    };
                    tx.set_moments(id, MODEL, PIPELINE, &[m.clone(), m])?;
                }
                Ok::<_, Error>(())
            };
            for i in 0..FILES {
                let mut r = FileRecord::new(root, format!("/lib/door {i}.wav"), 1000, i);
                r.content_hash = Some(i.to_le_bytes().to_vec());
                r.tags = vec![("bext.Description".into(), format!("creak {}", word(i)))];
                // Rows as big as a vector's.
                r.peaks = vec![(-3, 3); 1000];
                let id = tx.upsert_file(&r)?;
                if !apart {
                    vectors(id)?;
                }
            }
            if apart {
                for i in 0..FILES {
                    vectors(FileId(i + 1))?;
                }
            }
            tx.set_meta(hark_store::meta::MODEL, MODEL)?;
            tx.set_meta(hark_store::meta::PIPELINE, PIPELINE)
        })
        .unwrap();
}

/// Writes garbage over `count` pages in the middle of the catalog file
/// (page size from its header).
fn corrupt_pages(path: &Path, count: u64) {
    corrupt_pages_at(path, 0.5, count);
}

/// Writes garbage over `count` pages from `at` (a share of the file's
/// length) of the catalog file.
fn corrupt_pages_at(path: &Path, at: f64, count: u64) {
    let mut file = std::fs::OpenOptions::new()
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
    let pages = file.metadata().unwrap().len() / page;
    assert!(pages > 20, "the catalog is only {pages} pages");
    file.seek(SeekFrom::Start((pages as f64 * at) as u64 * page))
        .unwrap();
    let garbage: Vec<u8> = (0..page * count).map(|i| (i * 7 + 13) as u8).collect();
    file.write_all(&garbage).unwrap();
    file.sync_all().unwrap();
}

/// The file ids of the damaged copy that a lookup by id can still read.
fn readable_files(path: &Path) -> BTreeSet<i64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    (1..=FILES)
        .filter(|id| {
            conn.query_row("SELECT path, tags FROM files WHERE id = ?1", [id], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })
            .is_ok()
        })
        .collect()
}

#[test]
fn a_damaged_catalog_is_refused_with_a_hint_then_repaired_from_what_survives() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    corrupt_pages(&dir.path().join(FILE_NAME), 4);

    let e = Catalog::open(dir.path()).err().expect("open must fail");
    assert!(e.is_damaged(), "{e}");
    assert!(e.to_string().contains("hint: run `hark index`"), "{e}");
    // A reader meets the damage when it reads the pages.
    let reader = Catalog::open_readonly(dir.path()).and_then(|c| {
        c.read(|tx| {
            let mut n = 0;
            tx.vectors(MODEL, PIPELINE, |_, _| n += 1)?;
            tx.counts()
        })
    });
    assert!(reader.as_ref().is_err_and(Error::is_damaged), "{reader:?}");

    let repair = salvage::repair(dir.path(), &RULE).unwrap();
    assert!(repair.damaged.is_file());
    let name = repair.damaged.file_name().unwrap().to_string_lossy();
    assert!(
        name.starts_with("catalog.damaged-") && name.ends_with(".sqlite3"),
        "{name}"
    );
    assert!(repair.gaps > 0);
    assert_eq!(repair.roots, 1);
    let survivors = readable_files(&repair.damaged);
    assert!(!survivors.is_empty() && survivors.len() < FILES as usize);
    assert_eq!(repair.files, survivors.len() as u64);

    let catalog = Catalog::open(dir.path()).unwrap();
    assert_eq!(catalog.counts().unwrap().files, repair.files);
    assert_eq!(
        catalog.meta(hark_store::meta::MODEL).unwrap().as_deref(),
        Some(MODEL)
    );
    let mut vectors = 0;
    catalog
        .vectors(MODEL, PIPELINE, |point, v| {
            vectors += 1;
            let id = point.file().0;
            assert!(survivors.contains(&id), "vector of a lost file {id}");
            let seed = if point.is_moment() { -id } else { id };
            assert_eq!(v, unit_vector(seed as f32).as_slice());
        })
        .unwrap();
    assert!(vectors > 0);
    assert_eq!(vectors, repair.vectors);
    // Salvaged rows keep their id, tags and full-text row.
    let some = *survivors.iter().next().unwrap();
    let file = catalog.file_by_id(FileId(some)).unwrap().unwrap();
    assert_eq!(file.record.tags[0].1, format!("creak {}", word(some - 1)));
    let hits = catalog
        .read(|tx| tx.fts_ranked(&TextMatch::words(&word(some - 1)), 5, None))
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, FileId(some));
    // Files that kept their row but lost their vector wait for one.
    let waiting = catalog
        .read(|tx| tx.files_waiting_for_vectors(MODEL, PIPELINE))
        .unwrap();
    let whole = vectors
        - catalog
            .read(|tx| {
                let mut n = 0;
                tx.vectors(MODEL, PIPELINE, |p: PointId, _| n += p.is_moment() as u64)?;
                Ok::<_, Error>(n)
            })
            .unwrap();
    assert_eq!(waiting.len() as u64 + whole, repair.files);
}

#[test]
fn a_header_overwritten_leaves_nothing_to_salvage_but_a_working_catalog() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let path = dir.path().join(FILE_NAME);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..4096].fill(0xA5);
    std::fs::write(&path, bytes).unwrap();

    let e = Catalog::open(dir.path()).err().expect("open must fail");
    assert!(e.is_damaged(), "{e}");
    let e = Catalog::open_readonly(dir.path())
        .and_then(|c| c.counts())
        .unwrap_err();
    assert!(e.is_damaged(), "{e}");

    let repair = salvage::repair(dir.path(), &RULE).unwrap();
    assert_eq!((repair.roots, repair.files, repair.vectors), (0, 0, 0));
    assert!(repair.damaged.is_file());
    assert_eq!(
        Catalog::open(dir.path()).unwrap().counts().unwrap().files,
        0
    );
}

#[test]
fn vectors_of_lost_rows_are_held_by_content_hash_and_given_back() {
    let dir = tempfile::tempdir().unwrap();
    build_apart(dir.path());
    // Damage among the file rows, away from the vectors.
    corrupt_pages_at(&dir.path().join(FILE_NAME), 0.25, 4);
    let repair = salvage::repair(dir.path(), &RULE).unwrap();

    // What the damaged copy still tells: lost rows whose hash the index
    // lists and whose whole vector can be read.
    let damaged = rusqlite::Connection::open(&repair.damaged).unwrap();
    let survivors = readable_files(&repair.damaged);
    let recoverable: BTreeSet<i64> = (1..=FILES)
        .filter(|id| !survivors.contains(id))
        .filter(|id| {
            let hash: rusqlite::Result<Vec<u8>> = damaged.query_row(
                "SELECT content_hash FROM files INDEXED BY files_content_hash
                 WHERE content_hash = ?1",
                [(id - 1).to_le_bytes().to_vec()],
                |r| r.get(0),
            );
            let vector: rusqlite::Result<Vec<u8>> = damaged.query_row(
                "SELECT data FROM vectors WHERE point = ?1",
                [PointId::whole(FileId(*id)).0],
                |r| r.get(0),
            );
            hash.is_ok() && vector.is_ok()
        })
        .collect();
    assert!(
        !recoverable.is_empty(),
        "the damage must hit file rows whose vectors survive, or this test tests nothing"
    );

    let mut catalog = Catalog::open(dir.path()).unwrap();
    let held = catalog.held_vectors(MODEL, PIPELINE).unwrap();
    let held_ids: BTreeSet<i64> = held
        .keys()
        .map(|h| i64::from_le_bytes(h.as_slice().try_into().unwrap()) + 1)
        .collect();
    assert_eq!(held_ids, recoverable);
    assert!(repair.held >= recoverable.len() as u64, "{repair:?}");
    // Held for another model: nothing.
    assert!(catalog.held_vectors("other", PIPELINE).unwrap().is_empty());

    // The file found again under a new path gets its old vectors, moments
    // included, and is no longer waiting.
    let old = *recoverable.iter().next().unwrap();
    let hash = (old - 1).to_le_bytes().to_vec();
    assert_eq!(held[&hash].moments, if (old - 1) % 10 == 0 { 2 } else { 0 });
    let new_id = catalog
        .transaction(|tx| {
            let root = tx.roots()?[0].id;
            let mut r = FileRecord::new(root, "/lib/found again.wav", 1000, 1);
            r.content_hash = Some(hash.clone());
            r.status = hark_store::FileStatus::Waiting;
            let id = tx.upsert_file(&r)?;
            let claimed = tx.claim_held(id, &hash, MODEL, PIPELINE)?;
            assert_eq!(claimed, 1 + u64::from(held[&hash].moments));
            Ok::<_, Error>(id)
        })
        .unwrap();
    assert_ne!(new_id, FileId(old));
    let v = catalog.vector(new_id).unwrap().expect("a vector");
    assert_eq!(v.data, unit_vector(old as f32));
    let file = catalog.file_by_id(new_id).unwrap().unwrap();
    assert_eq!(file.record.status, hark_store::FileStatus::Ok);
    let held = catalog.held_vectors(MODEL, PIPELINE).unwrap();
    assert!(!held.contains_key(&hash));

    // A complete run lets go of the rest.
    catalog.transaction(|tx| tx.drop_held()).unwrap();
    assert!(catalog.held_vectors(MODEL, PIPELINE).unwrap().is_empty());
}

#[test]
fn a_long_file_that_lost_a_moment_keeps_no_vector_and_waits_to_be_embedded_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path()).unwrap();
    // Two 45 s files: moments at 0, 10, 20, 30 and an end-aligned 35-45.
    let spans = [
        (0.0, 10.0),
        (10.0, 20.0),
        (20.0, 30.0),
        (30.0, 40.0),
        (35.0, 45.0),
    ];
    let ids = catalog
        .transaction(|tx| {
            let root = tx.add_root(Path::new("/lib"))?;
            let mut ids = Vec::new();
            for name in ["a", "b", "c"] {
                let mut r = FileRecord::new(root, format!("/lib/{name}.wav"), 1000, 1);
                r.content_hash = Some(name.as_bytes().to_vec());
                r.duration_s = Some(45.0);
                let id = tx.upsert_file(&r)?;
                tx.set_vector(id, MODEL, PIPELINE, &unit_vector(1.0))?;
                let moments: Vec<_> = spans
                    .iter()
                    .map(|&(start_s, end_s)| hark_store::MomentVector {
                        start_s,
                        end_s,
                        data: unit_vector(start_s as f32),
                    })
                    .collect();
                tx.set_moments(id, MODEL, PIPELINE, &moments)?;
                ids.push(id);
            }
            Ok::<_, Error>(ids)
        })
        .unwrap();
    drop(catalog);
    // As if pages were lost: b's third moment, c's last.
    let conn = rusqlite::Connection::open(dir.path().join(FILE_NAME)).unwrap();
    for point in [PointId::new(ids[1], 3), PointId::new(ids[2], 5)] {
        conn.execute("DELETE FROM vectors WHERE point = ?1", [point.0])
            .unwrap();
    }
    drop(conn);

    let repair = salvage::repair(dir.path(), &RULE).unwrap();
    assert_eq!(repair.vectors, 6, "{repair:?}");
    let catalog = Catalog::open(dir.path()).unwrap();
    assert!(catalog.vector(ids[0]).unwrap().is_some());
    assert!(catalog.vector(ids[1]).unwrap().is_none());
    assert!(catalog.vector(ids[2]).unwrap().is_none());
    let waiting: Vec<FileId> = catalog
        .read(|tx| tx.files_waiting_for_vectors(MODEL, PIPELINE))
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(waiting, vec![ids[1], ids[2]]);
}

#[test]
fn fingerprints_are_salvaged_with_their_files_and_the_lost_ones_listed_for_the_run() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    corrupt_pages(&dir.path().join(FILE_NAME), 4);
    let repair = salvage::repair(dir.path(), &RULE).unwrap();
    let survivors = readable_files(&repair.damaged);

    let catalog = Catalog::open(dir.path()).unwrap();
    let mut kept = BTreeSet::new();
    catalog
        .fingerprints(|id, data| {
            assert!(
                survivors.contains(&id.0),
                "fingerprint of a lost file {id:?}"
            );
            assert_eq!(data, fingerprint(id.0), "file {id:?}");
            kept.insert(id.0);
        })
        .unwrap();
    assert!(!kept.is_empty());
    assert_eq!(kept.len() as u64, repair.fingerprints);
    // The run that follows computes the others: every surviving file is
    // either fingerprinted or listed as lacking one.
    let lacking = catalog.files_without_fingerprint(1).unwrap();
    assert!(lacking.iter().all(|id| !kept.contains(&id.0)));
    assert_eq!(lacking.len() + kept.len(), survivors.len());
}
