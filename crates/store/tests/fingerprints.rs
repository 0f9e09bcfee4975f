//! Fingerprints in the catalog: stored and read back, listed as missing
//! by format version, dropped with their file and when its content changes.

use std::collections::HashSet;
use std::path::Path;

use hark_store::{Catalog, FileId, FileRecord, FileStatus, RootId};

fn setup() -> (tempfile::TempDir, Catalog, RootId) {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path()).unwrap();
    let root = catalog
        .transaction(|tx| tx.add_root(Path::new("/lib")))
        .unwrap();
    (dir, catalog, root)
}

fn record(root: RootId, path: &str, hash: &[u8]) -> FileRecord {
    let mut r = FileRecord::new(root, path, 1000, 1);
    r.content_hash = Some(hash.to_vec());
    r
}

fn all(catalog: &Catalog) -> Vec<(FileId, Vec<u8>)> {
    let mut out = Vec::new();
    catalog
        .fingerprints(|id, data| out.push((id, data.to_vec())))
        .unwrap();
    out
}

#[test]
fn fingerprints_are_kept_versioned_and_dropped_with_their_content() {
    let (_dir, mut catalog, root) = setup();
    let mut failed = record(root, "/lib/broken.wav", b"x");
    failed.status = FileStatus::Failed;
    let (a, b, c) = catalog
        .transaction(|tx| {
            let a = tx.upsert_file(&record(root, "/lib/a.wav", b"a"))?;
            let b = tx.upsert_file(&record(root, "/lib/b.wav", b"b"))?;
            let c = tx.upsert_file(&record(root, "/lib/c.wav", b"c"))?;
            tx.upsert_file(&failed)?;
            tx.set_fingerprint(a, &[1, 10, 11])?;
            tx.set_fingerprint(b, &[0, 20])?; // an older format
            Ok::<_, hark_store::Error>((a, b, c))
        })
        .unwrap();
    assert_eq!(all(&catalog), [(a, vec![1, 10, 11]), (b, vec![0, 20])]);
    // Version 1 is missing for b (older) and c (none); the failed file needs none.
    assert_eq!(
        catalog.files_without_fingerprint(1).unwrap(),
        HashSet::from([b, c])
    );

    // Replaced in place.
    catalog
        .transaction(|tx| tx.set_fingerprint(b, &[1, 21]))
        .unwrap();
    assert_eq!(
        catalog.files_without_fingerprint(1).unwrap(),
        HashSet::from([c])
    );

    // The same content stored again keeps it; other content drops it.
    catalog
        .transaction(|tx| tx.upsert_file(&record(root, "/lib/a.wav", b"a")))
        .unwrap();
    catalog
        .transaction(|tx| tx.upsert_file(&record(root, "/lib/b.wav", b"b2")))
        .unwrap();
    assert_eq!(all(&catalog), [(a, vec![1, 10, 11])]);

    // Gone with its file.
    catalog.transaction(|tx| tx.remove_files(&[a])).unwrap();
    assert!(all(&catalog).is_empty());
}

#[test]
fn files_are_read_with_their_facts_and_fingerprint_or_none() {
    let (_dir, mut catalog, root) = setup();
    let mut with = record(root, "/lib/DOORWood_Creak_JD_Lib.flac", b"a");
    with.codec = Some("flac".into());
    with.sample_rate = Some(96_000);
    with.bits_per_sample = Some(24);
    with.ucs_cat_id = Some("DOORWood".into());
    let mut failed = record(root, "/lib/broken.wav", b"x");
    failed.status = FileStatus::Failed;
    let (a, b) = catalog
        .transaction(|tx| {
            let a = tx.upsert_file(&with)?;
            let b = tx.upsert_file(&record(root, "/lib/b.wav", b"b"))?;
            tx.upsert_file(&failed)?;
            tx.set_fingerprint(a, &[1, 2, 3])?;
            Ok::<_, hark_store::Error>((a, b))
        })
        .unwrap();
    let mut files = Vec::new();
    catalog.fingerprinted_files(|f| files.push(f)).unwrap();
    assert_eq!(files.len(), 2, "the failed file is left out");
    assert_eq!(files[0].id, a);
    assert_eq!(files[0].path, Path::new("/lib/DOORWood_Creak_JD_Lib.flac"));
    assert_eq!(files[0].content_hash.as_deref(), Some(&b"a"[..]));
    assert_eq!(files[0].codec.as_deref(), Some("flac"));
    assert_eq!(
        (files[0].sample_rate, files[0].bits_per_sample),
        (Some(96_000), Some(24))
    );
    assert_eq!(files[0].ucs_cat_id.as_deref(), Some("DOORWood"));
    assert_eq!(files[0].fingerprint.as_deref(), Some(&[1, 2, 3][..]));
    assert_eq!(files[1].id, b);
    assert_eq!(files[1].fingerprint, None);
}
