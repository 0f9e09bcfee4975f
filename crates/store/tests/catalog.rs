//! The catalog through its public API, each test in its own directory.

use std::path::{Path, PathBuf};

use hark_store::{
    Catalog, CatalogWriter, Error, FileId, FileRecord, FileStatus, FtsHit, MomentVector, PointId,
    RootId, TextMatch, UcsFields, SCHEMA_VERSION,
};

const MODEL: &str = "laion/clap-htsat-fused@abc123";
const PIPELINE: &str = "hark-clap-1";

fn setup() -> (tempfile::TempDir, Catalog, RootId) {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path()).unwrap();
    let root = catalog
        .transaction(|tx| tx.add_root(Path::new("/lib")))
        .unwrap();
    (dir, catalog, root)
}

fn add(catalog: &mut Catalog, record: &FileRecord) -> FileId {
    catalog.transaction(|tx| tx.upsert_file(record)).unwrap()
}

fn record(root: RootId, path: &str) -> FileRecord {
    let mut r = FileRecord::new(root, path, 1000, 1_700_000_000_123_456_789);
    r.content_hash = Some(path.as_bytes().to_vec());
    r
}

fn unit_vector(seed: f32) -> Vec<f32> {
    (0..512).map(|i| (i as f32 * 0.37 + seed).sin()).collect()
}

/// The files matching every word of `words` (not failed), best first.
fn search(catalog: &Catalog, words: &str, limit: usize) -> Result<Vec<FtsHit>, Error> {
    catalog.read(|tx| tx.fts_ranked(&TextMatch::words(words), limit, None))
}

fn raw(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join(hark_store::FILE_NAME)).unwrap()
}

#[test]
fn creates_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("nested/index");
    let catalog = Catalog::open(&index).unwrap();
    assert_eq!(catalog.path(), index.join("catalog.sqlite3"));
    assert!(index.join("catalog.sqlite3-wal").exists());

    let conn = raw(&index);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 4);
    for table in [
        "roots",
        "files",
        "vectors",
        "meta",
        "files_fts",
        "vector_seq",
        "vector_tombstones",
        "fingerprints",
    ] {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "table {table}");
    }
    // Opening again is a no-op, not a second migration.
    drop(catalog);
    Catalog::open(&index).unwrap();
    Catalog::open_readonly(&index).unwrap();
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Catalog::open(dir.path()).unwrap());
    raw(dir.path())
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    for result in [
        Catalog::open(dir.path()),
        Catalog::open_readonly(dir.path()),
    ] {
        match result {
            Err(Error::TooNew {
                found, supported, ..
            }) => assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION)),
            other => panic!("expected TooNew, got {:?}", other.map(|_| ())),
        }
    }
    // The refused catalog is left as it was.
    let version: u32 = raw(dir.path())
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION + 1);
}

#[test]
fn readonly_needs_an_existing_catalog_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Catalog::open_readonly(dir.path()),
        Err(Error::Missing { .. })
    ));
    drop(Catalog::open(dir.path()).unwrap());
    let mut reader = Catalog::open_readonly(dir.path()).unwrap();
    assert!(matches!(
        reader.transaction(|tx| tx.add_root(Path::new("/x"))),
        Err(Error::ReadOnly { .. })
    ));
    let writer = Catalog::open(dir.path()).unwrap();
    assert!(matches!(
        writer.read(|tx| tx.set_meta("k", "v")),
        Err(Error::ReadOnly { .. })
    ));
}

#[test]
fn roots_are_remembered_once() {
    let (_dir, mut catalog, root) = setup();
    let again = catalog
        .transaction(|tx| tx.add_root(Path::new("/lib")))
        .unwrap();
    assert_eq!(again, root);
    let other = catalog
        .transaction(|tx| tx.add_root(Path::new("/other")))
        .unwrap();
    let roots = catalog.roots().unwrap();
    let got: Vec<_> = roots.iter().map(|r| (r.id, r.path.clone())).collect();
    assert_eq!(
        got,
        [
            (root, PathBuf::from("/lib")),
            (other, PathBuf::from("/other"))
        ]
    );
    assert!(roots[0].added_at > 1_700_000_000);
}

#[test]
fn upsert_and_get_round_trip() {
    let (_dir, mut catalog, root) = setup();
    let mut r = record(root, "/lib/Doors/DOORWood_CreakyOpen-02.wav");
    r.format = Some("wav".into());
    r.codec = Some("pcm_s24le".into());
    r.duration_s = Some(2.5);
    r.sample_rate = Some(96_000);
    r.channels = Some(2);
    r.bits_per_sample = Some(24);
    r.tags = vec![
        ("bext.Description".into(), "Old door \"creak\"\nslow".into()),
        ("riff.ICMT".into(), "take 2".into()),
        (
            "bext.Description".into(),
            "duplicate keys keep their order".into(),
        ),
    ];
    r.ucs_cat_id = Some("DOORWood".into());
    r.ucs_category = Some("DOORS".into());
    r.ucs_subcategory = Some("WOOD".into());
    r.ucs_fx_name = Some("Creaky Open".into());
    r.peaks = vec![(-127, 127), (0, 0), (-3, 5)];
    r.status = FileStatus::Ok;
    r.size = u64::from(u32::MAX) + 7;
    r.mtime_ns = -5;
    let id = add(&mut catalog, &r);

    let stored = catalog.file_by_path(&r.path).unwrap().unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(stored.record, r);
    assert!(stored.indexed_at > 1_700_000_000);
    assert_eq!(
        catalog.file_by_path(Path::new("/lib/nope.wav")).unwrap(),
        None
    );

    // Same path again: same id, new values.
    r.size = 1;
    r.tags.clear();
    r.status = FileStatus::Failed;
    r.error = Some("truncated".into());
    assert_eq!(add(&mut catalog, &r), id);
    assert_eq!(catalog.file_by_path(&r.path).unwrap().unwrap().record, r);
    assert_eq!(catalog.counts().unwrap().files, 1);
}

#[cfg(unix)]
#[test]
fn non_utf8_paths_survive() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let (_dir, mut catalog, root) = setup();
    let latin1 = Path::new(OsStr::from_bytes(b"/lib/Gr\xfcn_Wald.wav"));
    let utf8 = Path::new("/lib/Grün_Wald.wav");
    let a = add(&mut catalog, &FileRecord::new(root, latin1, 1, 1));
    let b = add(&mut catalog, &FileRecord::new(root, utf8, 2, 2));
    assert_ne!(a, b, "lossy text must not merge distinct names");
    let stored = catalog.file_by_path(latin1).unwrap().unwrap();
    assert_eq!(
        stored.record.path.as_os_str().as_bytes(),
        b"/lib/Gr\xfcn_Wald.wav"
    );
    assert_eq!(stored.record.size, 1);
    let states = catalog.files_under_root(root).unwrap();
    assert!(states.iter().any(|s| s.path == latin1 && s.id == a));
    // The lossy display text still makes its words searchable.
    let hits = search(&catalog, "wald", 10).unwrap();
    assert_eq!(hits.len(), 2);
}

#[test]
fn vectors_round_trip_bit_exact() {
    let (_dir, mut catalog, root) = setup();
    let a = add(&mut catalog, &record(root, "/lib/a.wav"));
    let b = add(&mut catalog, &record(root, "/lib/b.wav"));
    let c = add(&mut catalog, &record(root, "/lib/c.wav"));
    let mut va = unit_vector(0.1);
    va[0] = -0.0;
    va[1] = f32::from_bits(1); // subnormal
    va[2] = f32::from_bits(0x7fc0_1234); // NaN with a payload
    va[3] = f32::MAX;
    let vb = unit_vector(0.2);
    catalog
        .transaction(|tx| {
            tx.set_vector(a, MODEL, PIPELINE, &va)?;
            tx.set_vector(b, MODEL, PIPELINE, &vb)?;
            tx.set_vector(c, "other-model", PIPELINE, &vb)
        })
        .unwrap();

    let mut got = Vec::new();
    catalog
        .vectors(MODEL, PIPELINE, |id, v| got.push((id, v.to_vec())))
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, PointId::whole(a));
    assert_eq!(got[1].0, PointId::whole(b));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got[0].1), bits(&va));
    assert_eq!(bits(&got[1].1), bits(&vb));

    let stored = catalog.vector(c).unwrap().unwrap();
    assert_eq!(stored.model, "other-model");
    assert_eq!(stored.pipeline, PIPELINE);
    assert_eq!(bits(&stored.data), bits(&vb));

    // Stored as little-endian f32, as index-format.md says.
    let blob: Vec<u8> = raw(_dir.path())
        .query_row("SELECT data FROM vectors WHERE file_id = ?1", [b.0], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(&blob[..4], &vb[0].to_le_bytes());
    assert_eq!(blob.len(), 512 * 4);
}

#[test]
fn removing_a_file_removes_its_vector_and_words() {
    let (dir, mut catalog, root) = setup();
    let a = add(&mut catalog, &record(root, "/lib/Thunder_Rumble.wav"));
    let b = add(&mut catalog, &record(root, "/lib/Thunder_Clap.wav"));
    catalog
        .transaction(|tx| {
            tx.set_vector(a, MODEL, PIPELINE, &unit_vector(1.0))?;
            tx.set_vector(b, MODEL, PIPELINE, &unit_vector(2.0))
        })
        .unwrap();
    assert_eq!(search(&catalog, "thunder", 10).unwrap().len(), 2);

    let removed = catalog
        .transaction(|tx| tx.remove_files(&[a, FileId(999)]))
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(catalog.vector(a).unwrap(), None);
    assert!(catalog.vector(b).unwrap().is_some());
    let hits = search(&catalog, "thunder", 10).unwrap();
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [b]);
    let counts = catalog.counts().unwrap();
    assert_eq!((counts.files, counts.embedded), (1, 1));

    // The cascade is the schema's, not only the API's.
    let conn = raw(dir.path());
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn.execute("DELETE FROM files WHERE id = ?1", [b.0])
        .unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM vectors", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn moving_a_file_keeps_its_id_and_vector() {
    let (_dir, mut catalog, root) = setup();
    let other = catalog
        .transaction(|tx| tx.add_root(Path::new("/lib/Archive")))
        .unwrap();
    let mut r = record(root, "/lib/RAIN_Old Name_HK_Lib.wav");
    r.tags = vec![("vorbis.COMMENT".into(), "gravel".into())];
    r.set_ucs(UcsFields {
        cat_id: Some("RAIN".into()),
        category: Some("RAIN".into()),
        subcategory: Some("GENERAL".into()),
        fx_name: Some("Old Name".into()),
    });
    let id = add(&mut catalog, &r);
    let v = unit_vector(3.0);
    catalog
        .transaction(|tx| tx.set_vector(id, MODEL, PIPELINE, &v))
        .unwrap();
    assert_eq!(search(&catalog, "general", 10).unwrap()[0].id, id);

    // The new name's UCS fields replace the old name's, all four.
    let new_path = Path::new("/lib/Archive/RAINMetl_Footsteps Gravel_HK_Lib.wav");
    let metal = UcsFields {
        cat_id: Some("RAINMetl".into()),
        category: Some("RAIN".into()),
        subcategory: Some("METAL".into()),
        fx_name: Some("Footsteps Gravel".into()),
    };
    catalog
        .transaction(|tx| tx.move_file(id, new_path, &metal))
        .unwrap();

    assert_eq!(catalog.file_by_path(&r.path).unwrap(), None);
    let moved = catalog.file_by_path(new_path).unwrap().unwrap();
    assert_eq!(moved.id, id);
    assert_eq!(moved.record.root, other, "the closest root contains it");
    assert_eq!(moved.record.tags, r.tags);
    assert_eq!(moved.record.content_hash, r.content_hash);
    assert_eq!(moved.record.ucs(), metal);
    assert_eq!(catalog.vector(id).unwrap().unwrap().data, v);
    assert!(search(&catalog, "old name", 10).unwrap().is_empty());
    assert_eq!(search(&catalog, "footsteps", 10).unwrap()[0].id, id);
    assert_eq!(search(&catalog, "archive", 10).unwrap()[0].id, id);
    assert_eq!(search(&catalog, "gravel", 10).unwrap().len(), 1);
    // The full-text row has the new category's words, not the old ones.
    assert_eq!(search(&catalog, "metal", 10).unwrap()[0].id, id);
    assert!(search(&catalog, "general", 10).unwrap().is_empty());

    // A name with no UCS category clears them.
    let plain = Path::new("/lib/Archive/take 7.wav");
    catalog
        .transaction(|tx| tx.move_file(id, plain, &UcsFields::default()))
        .unwrap();
    let moved = catalog.file_by_path(plain).unwrap().unwrap();
    assert_eq!(moved.record.ucs(), UcsFields::default());
    assert!(search(&catalog, "metal", 10).unwrap().is_empty());

    assert!(matches!(
        catalog.transaction(|tx| tx.move_file(id, Path::new("/elsewhere/x.wav"), &metal)),
        Err(Error::NotUnderRoot { .. })
    ));
}

/// What deriving the UCS fields again reads, and their replacement: the
/// fields and the full-text words change, nothing else.
#[test]
fn ucs_sources_and_set_ucs() {
    let (_dir, mut catalog, root) = setup();
    let mut tagged = record(root, "/lib/take 7.wav");
    tagged.tags = vec![
        ("ixml.USER.CATID".into(), "RAINMetl".into()),
        ("riff.INAM".into(), "quote \" and tab\t".into()),
    ];
    let a = add(&mut catalog, &tagged);
    let mut named = record(root, "/lib/DOORWood_Creak_JD_Lib.wav");
    named.ucs_cat_id = Some("DOORWood".into());
    let b = add(&mut catalog, &named);
    catalog
        .transaction(|tx| tx.set_vector(a, MODEL, PIPELINE, &unit_vector(1.0)))
        .unwrap();

    let mut sources = Vec::new();
    catalog
        .read(|tx| tx.ucs_sources(|s| sources.push(s)))
        .unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(
        (sources[0].id, &sources[0].path, &sources[0].tags),
        (a, &tagged.path, &tagged.tags)
    );
    assert_eq!(sources[0].ucs, UcsFields::default());
    assert_eq!((sources[1].id, &sources[1].ucs), (b, &named.ucs()));

    let metal = UcsFields {
        cat_id: Some("RAINMetl".into()),
        category: Some("RAIN".into()),
        subcategory: Some("METAL".into()),
        fx_name: None,
    };
    assert!(search(&catalog, "metal", 10).unwrap().is_empty());
    catalog.transaction(|tx| tx.set_ucs(a, &metal)).unwrap();
    let stored = catalog.file_by_id(a).unwrap().unwrap();
    assert_eq!(stored.record.ucs(), metal);
    assert_eq!(stored.record.tags, tagged.tags);
    assert_eq!(search(&catalog, "metal", 10).unwrap()[0].id, a);
    assert_eq!(
        catalog.vector(a).unwrap().unwrap().data,
        unit_vector(1.0),
        "the vector stays"
    );
    assert!(catalog
        .transaction(|tx| tx.set_ucs(FileId(999), &metal))
        .is_err());
}

#[test]
fn changed_content_drops_the_stale_vector() {
    let (_dir, mut catalog, root) = setup();
    let mut r = record(root, "/lib/a.wav");
    r.status = FileStatus::Ok;
    let id = add(&mut catalog, &r);
    catalog
        .transaction(|tx| tx.set_vector(id, MODEL, PIPELINE, &unit_vector(0.0)))
        .unwrap();

    // Same content (a touched file, new tags): the vector stays.
    r.mtime_ns += 1;
    r.tags = vec![("riff.INAM".into(), "x".into())];
    assert_eq!(add(&mut catalog, &r), id);
    assert!(catalog.vector(id).unwrap().is_some());

    // New content: the vector described something else.
    r.content_hash = Some(b"new".to_vec());
    r.status = FileStatus::Waiting;
    add(&mut catalog, &r);
    assert_eq!(catalog.vector(id).unwrap(), None);
    assert_eq!(
        catalog.files_waiting_for_vectors(MODEL, PIPELINE).unwrap(),
        [(id, r.path.clone())]
    );
}

#[test]
fn waiting_files_and_model_changes() {
    let (_dir, mut catalog, root) = setup();
    let a = add(&mut catalog, &record(root, "/lib/a.wav"));
    let b = add(&mut catalog, &record(root, "/lib/b.wav"));
    let mut failed = record(root, "/lib/broken.wav");
    failed.status = FileStatus::Failed;
    failed.error = Some("not audio".into());
    add(&mut catalog, &failed);

    let ids = |list: Vec<(FileId, PathBuf)>| list.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(
        ids(catalog.files_waiting_for_vectors(MODEL, PIPELINE).unwrap()),
        [a, b]
    );

    catalog
        .transaction(|tx| tx.set_vector(a, MODEL, PIPELINE, &unit_vector(0.0)))
        .unwrap();
    assert_eq!(
        ids(catalog.files_waiting_for_vectors(MODEL, PIPELINE).unwrap()),
        [b]
    );
    let stored = catalog
        .file_by_path(Path::new("/lib/a.wav"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.record.status, FileStatus::Ok);
    // A new pipeline version needs every vector again.
    assert_eq!(
        ids(catalog
            .files_waiting_for_vectors(MODEL, "hark-clap-2")
            .unwrap()),
        [a, b]
    );
}

#[test]
fn counts_and_failures() {
    let (_dir, mut catalog, root) = setup();
    assert_eq!(catalog.counts().unwrap(), hark_store::Counts::default());
    let ok = add(&mut catalog, &record(root, "/lib/ok.wav"));
    add(&mut catalog, &record(root, "/lib/waiting.wav"));
    for (name, why) in [("z.wav", "truncated FLAC"), ("a.wav", "permission denied")] {
        let mut r = record(root, &format!("/lib/{name}"));
        r.status = FileStatus::Failed;
        r.error = Some(why.into());
        add(&mut catalog, &r);
    }
    catalog
        .transaction(|tx| tx.set_vector(ok, MODEL, PIPELINE, &unit_vector(0.0)))
        .unwrap();
    let counts = catalog.counts().unwrap();
    assert_eq!(
        (counts.files, counts.embedded, counts.waiting, counts.failed),
        (4, 1, 1, 2)
    );
    let failed: Vec<_> = catalog
        .failed_files()
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.error))
        .collect();
    assert_eq!(
        failed,
        [
            (PathBuf::from("/lib/a.wav"), "permission denied".to_string()),
            (PathBuf::from("/lib/z.wav"), "truncated FLAC".to_string()),
        ]
    );
}

#[test]
fn files_under_root_gives_change_detection_facts() {
    let (_dir, mut catalog, root) = setup();
    let other = catalog
        .transaction(|tx| tx.add_root(Path::new("/other")))
        .unwrap();
    let a = add(&mut catalog, &record(root, "/lib/a.wav"));
    add(&mut catalog, &record(other, "/other/b.wav"));
    let states = catalog.files_under_root(root).unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].id, a);
    assert_eq!(states[0].path, Path::new("/lib/a.wav"));
    assert_eq!(states[0].size, 1000);
    assert_eq!(states[0].mtime_ns, 1_700_000_000_123_456_789);
    assert_eq!(states[0].content_hash.as_deref(), Some(&b"/lib/a.wav"[..]));
}

#[test]
fn full_text_search_over_names_folders_and_tags() {
    let (_dir, mut catalog, root) = setup();
    let door = add(
        &mut catalog,
        &record(root, "/lib/Foley/DOORWood_CreakyOpen.wav"),
    );
    let mut storm = record(root, "/lib/Weather/Thunder_Distant.wav");
    storm.tags = vec![("bext.Description".into(), "Thunder with light rain".into())];
    let storm = add(&mut catalog, &storm);
    let rain = add(&mut catalog, &record(root, "/lib/Weather/Rain_OnRoof.wav"));
    add(
        &mut catalog,
        &record(root, "/lib/Foley/Footsteps_Gravel.wav"),
    );

    let ids = |q: &str| -> Vec<FileId> {
        search(&catalog, q, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    assert_eq!(ids("creaky door"), [door]);
    assert_eq!(ids("doorwood"), [door]);
    assert_eq!(ids("Door-Wood"), [door]);
    // A name match ranks above a tag-only match; unrelated files are out.
    assert_eq!(ids("rain"), [rain, storm]);
    assert_eq!(ids("light rain"), [storm]);
    assert_eq!(ids("weather").len(), 2);
    assert!(ids("creaky door gravel").is_empty());
    assert!(ids("").is_empty());
    assert!(ids("\" * ( ) NEAR AND").is_empty(), "FTS5 syntax is quoted");

    let hits = search(&catalog, "rain", 1).unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].score > 0.0);
}

#[test]
fn a_failed_batch_commits_nothing() {
    let (_dir, mut catalog, root) = setup();
    let result: Result<(), Error> = catalog.transaction(|tx| {
        tx.upsert_file(&record(root, "/lib/a.wav"))?;
        tx.set_meta("last_run", "now")?;
        tx.set_vector(FileId(12345), MODEL, PIPELINE, &[1.0])?; // no such file
        Ok(())
    });
    assert!(matches!(result, Err(Error::Sqlite { .. })), "{result:?}");
    assert_eq!(catalog.counts().unwrap().files, 0);
    assert_eq!(catalog.meta("last_run").unwrap(), None);
}

#[test]
fn meta_get_and_set() {
    let (_dir, mut catalog, _) = setup();
    assert_eq!(catalog.meta("model").unwrap(), None);
    catalog
        .transaction(|tx| {
            tx.set_meta("model", MODEL)?;
            tx.set_meta("model", "replaced")
        })
        .unwrap();
    assert_eq!(catalog.meta("model").unwrap().as_deref(), Some("replaced"));
}

#[test]
fn readers_see_a_consistent_snapshot_during_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Catalog::open(dir.path()).unwrap();
    let root = writer
        .transaction(|tx| tx.add_root(Path::new("/lib")))
        .unwrap();
    add(&mut writer, &record(root, "/lib/first.wav"));
    let reader = Catalog::open_readonly(dir.path()).unwrap();

    // A writer holding an open transaction neither blocks nor leaks into
    // a reader.
    writer
        .transaction(|tx| {
            tx.upsert_file(&record(root, "/lib/second.wav"))?;
            assert_eq!(tx.counts()?.files, 2);
            assert_eq!(reader.counts()?.files, 1);
            assert_eq!(search(&reader, "second", 10)?.len(), 0);
            Ok::<_, Error>(())
        })
        .unwrap();
    assert_eq!(reader.counts().unwrap().files, 2);

    // A reader's snapshot holds across a writer's commit.
    reader
        .read(|snap| {
            assert_eq!(snap.counts()?.files, 2);
            add(&mut writer, &record(root, "/lib/third.wav"));
            assert_eq!(snap.counts()?.files, 2);
            assert!(snap.file_by_path(Path::new("/lib/third.wav"))?.is_none());
            Ok::<_, Error>(())
        })
        .unwrap();
    assert_eq!(reader.counts().unwrap().files, 3);
}

fn rain() -> UcsFields {
    UcsFields {
        cat_id: Some("RAIN".into()),
        category: Some("RAIN".into()),
        subcategory: Some("GENERAL".into()),
        fx_name: Some("Heavy".into()),
    }
}

/// The indexer's writes through the backend seam land in the SQLite catalog
/// as through `Tx` itself.
#[test]
fn writes_through_the_catalog_writer_seam() {
    /// What an indexer run does, written against the seam only.
    fn index_run(w: &dyn CatalogWriter) -> Result<(FileId, FileId), Error> {
        let root = w.add_root(Path::new("/lib"))?;
        let kept = w.upsert_file(&record(root, "/lib/Rain_Heavy.wav"))?;
        let gone = w.upsert_file(&record(root, "/lib/Old.wav"))?;
        w.set_vector(kept, MODEL, PIPELINE, &unit_vector(0.5))?;
        let moment = MomentVector {
            start_s: 1.0,
            end_s: 2.0,
            data: unit_vector(0.7),
        };
        w.set_moments(kept, MODEL, PIPELINE, &[moment])?;
        w.move_file(
            kept,
            Path::new("/lib/Weather/Rain_Heavy.wav"),
            &UcsFields::default(),
        )?;
        w.set_file_stat(kept, 77, 88)?;
        w.set_ucs(kept, &rain())?;
        assert_eq!(w.remove_files(&[gone])?, 1);
        w.set_meta(hark_store::meta::MODEL, MODEL)?;
        Ok((kept, gone))
    }

    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path()).unwrap();
    let (kept, gone) = catalog.transaction(|tx| index_run(tx)).unwrap();

    let file = catalog.file_by_id(kept).unwrap().unwrap();
    assert_eq!(file.record.path, Path::new("/lib/Weather/Rain_Heavy.wav"));
    assert_eq!((file.record.size, file.record.mtime_ns), (77, 88));
    assert_eq!(file.record.ucs(), rain());
    assert_eq!(file.record.status, FileStatus::Ok);
    assert_eq!(catalog.file_by_id(gone).unwrap(), None);
    assert_eq!(
        catalog.vector(kept).unwrap().unwrap().data,
        unit_vector(0.5)
    );
    let moments = catalog
        .read(|tx| tx.moments(kept, MODEL, PIPELINE))
        .unwrap();
    assert_eq!(moments, [(PointId::new(kept, 1), 1.0, 2.0)]);
    assert_eq!(search(&catalog, "weather rain", 10).unwrap()[0].id, kept);
    assert_eq!(
        catalog.meta(hark_store::meta::MODEL).unwrap().as_deref(),
        Some(MODEL)
    );
}

/// Reads for search and browsing: filters in SQL, ranking by words under
/// filters, listings and the facts a hit shows.
mod filters_and_words {
    use std::ops::Bound;
    use std::path::Path;

    use hark_store::{
        Catalog, Error, FileFilter, FileId, FileRecord, FileStatus, FtsMatch, ListOrder, MatchTerm,
        NumRange, Result, RootId, TextMatch,
    };

    fn term(w: &str, prefix: bool) -> MatchTerm {
        MatchTerm {
            words: vec![w.into()],
            prefix,
        }
    }

    fn word(w: &str, prefix: bool) -> TextMatch {
        TextMatch {
            terms: vec![term(w, prefix)],
            excluded: vec![],
        }
    }

    fn range(lower: Bound<f64>, upper: Bound<f64>) -> NumRange {
        NumRange { lower, upper }
    }

    /// Three files: a known short mono one, a long stereo one, and one
    /// with no format facts; plus a failed one.
    fn setup() -> (tempfile::TempDir, Catalog, Vec<FileId>) {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = Catalog::open(dir.path()).unwrap();
        let ids = catalog
            .transaction(|tx| {
                let root = tx.add_root(Path::new("/lib"))?;
                let rec = |path: &str, dur: Option<f64>, ch: Option<u32>, status| {
                    let mut r = FileRecord::new(root, path, 10, 1);
                    r.content_hash = Some(path.as_bytes().to_vec());
                    r.duration_s = dur;
                    r.channels = ch;
                    r.status = status;
                    r
                };
                let mut a = rec(
                    "/lib/Doors/DOORWood_Creak_A_B.wav",
                    Some(1.0),
                    Some(1),
                    FileStatus::Ok,
                );
                a.ucs_cat_id = Some("DOORWood".into());
                a.ucs_category = Some("DOORS".into());
                a.ucs_subcategory = Some("WOOD".into());
                let b = rec(
                    "/lib/Rain/rain_100%_heavy.WAV",
                    Some(30.0),
                    Some(2),
                    FileStatus::Ok,
                );
                let c = rec("/lib/Misc/unknown.flac", None, None, FileStatus::Waiting);
                let d = rec(
                    "/lib/Rain/rain broken.wav",
                    Some(1.0),
                    Some(1),
                    FileStatus::Failed,
                );
                let ids = [a, b, c, d]
                    .iter()
                    .map(|r| tx.upsert_file(r))
                    .collect::<Result<Vec<_>>>()?;
                tx.set_vector(ids[0], "m", "p", &[1.0, 0.0])?;
                tx.set_vector(ids[1], "m", "p", &[0.0, 1.0])?;
                tx.set_vector(ids[2], "other", "p", &[0.0, 1.0])?;
                Ok::<_, Error>(ids)
            })
            .unwrap();
        (dir, catalog, ids)
    }

    fn ids_of(catalog: &Catalog, filters: &[FileFilter]) -> Vec<FileId> {
        catalog.read(|tx| tx.filter_ids(filters)).unwrap()
    }

    #[test]
    fn filters_unknown_values_and_failed_files() {
        let (_dir, catalog, ids) = setup();
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        let short = FileFilter::Duration(range(Bound::Unbounded, Bound::Excluded(2.0)));
        // The failed file is never returned; the unknown duration fails the
        // condition and passes its negation.
        assert_eq!(ids_of(&catalog, &[]), [a, b, c]);
        assert_eq!(ids_of(&catalog, std::slice::from_ref(&short)), [a]);
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Not(Box::new(short.clone()))]),
            [b, c]
        );
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Channels(NumRange::exactly(2.0))]),
            [b]
        );
        assert_eq!(
            ids_of(
                &catalog,
                &[FileFilter::Duration(range(
                    Bound::Included(1.0),
                    Bound::Included(30.0)
                ))]
            ),
            [a, b]
        );
        assert_eq!(
            ids_of(
                &catalog,
                &[FileFilter::Duration(range(
                    Bound::Excluded(1.0),
                    Bound::Excluded(30.0)
                ))]
            ),
            []
        );
        // Extensions: case-insensitive, and `%`/`_` in values are literal.
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Extension("wav".into())]),
            [a, b]
        );
        assert_eq!(ids_of(&catalog, &[FileFilter::Extension("%".into())]), []);
        // Folders only, not file names.
        assert_eq!(
            ids_of(&catalog, &[FileFilter::InFolder("rain".into())]),
            [b]
        );
        assert_eq!(
            ids_of(&catalog, &[FileFilter::InFolder("heavy".into())]),
            []
        );
        assert_eq!(ids_of(&catalog, &[FileFilter::InFolder("_".into())]), []);
        for cat in ["doorwood", "DOORS", "doors-wood"] {
            assert_eq!(
                ids_of(&catalog, &[FileFilter::Category(cat.into())]),
                [a],
                "{cat}"
            );
        }
        assert_eq!(ids_of(&catalog, &[FileFilter::AnyOf(vec![])]), []);
        assert_eq!(
            ids_of(
                &catalog,
                &[FileFilter::AnyOf(vec![
                    short.clone(),
                    FileFilter::Extension("flac".into())
                ])]
            ),
            [a, c]
        );
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Text(word("rain", false))]),
            [b]
        );
        assert_eq!(
            ids_of(&catalog, &[FileFilter::Text(TextMatch::default())]),
            []
        );
        assert_eq!(
            ids_of(
                &catalog,
                &[FileFilter::Not(Box::new(FileFilter::Text(word(
                    "creak", false
                ))))]
            ),
            [b, c]
        );
    }

    #[test]
    fn ranked_words_listing_and_facts() {
        let (_dir, catalog, ids) = setup();
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        catalog
            .read(|tx| {
                // Prefix matching, and FTS syntax in user text stays literal.
                let hits = tx.fts_ranked(&word("cre", true), 10, None)?;
                assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [a]);
                assert!(tx.fts_ranked(&word("cre", false), 10, None)?.is_empty());
                assert!(tx
                    .fts_ranked(&word("rain OR creak", false), 10, None)?
                    .is_empty());
                // The failed file is left out; filters apply.
                let rain = tx.fts_ranked(&word("rain", false), 10, None)?;
                assert_eq!(rain.iter().map(|h| h.id).collect::<Vec<_>>(), [b]);
                let short = FileFilter::Duration(range(Bound::Unbounded, Bound::Excluded(2.0)));
                let allowed = tx.filter_ids(&[short])?;
                let keep = |id| allowed.contains(&id);
                assert!(tx
                    .fts_ranked(&word("rain", false), 10, Some(&keep))?
                    .is_empty());
                // Excluded terms, inside the FTS expression.
                let lib = TextMatch {
                    terms: vec![term("lib", false)],
                    excluded: vec![term("heavy", false), term("cre", true)],
                };
                let hits = tx.fts_ranked(&lib, 10, None)?;
                assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [c]);
                let mut any =
                    tx.fts_ids(FtsMatch::AnyOf(&[term("heavy", false), term("cre", true)]))?;
                any.sort();
                assert_eq!(any, [a, b]);
                // The failed file is in the index too: excluding it is harmless.
                assert_eq!(
                    tx.fts_ids(FtsMatch::AnyOf(&[term("broken", false)]))?,
                    [ids[3]]
                );
                assert!(tx
                    .fts_ids(FtsMatch::AnyOf(&[term("!!", false)]))?
                    .is_empty());
                assert!(tx.fts_ranked(&TextMatch::default(), 10, None)?.is_empty());

                let by_path = tx.list_files(&[], ListOrder::Path, 10)?;
                assert_eq!(by_path.iter().map(|f| f.id).collect::<Vec<_>>(), [a, c, b]);
                let newest = tx.list_files(&[], ListOrder::Newest, 2)?;
                assert_eq!(newest.iter().map(|f| f.id).collect::<Vec<_>>(), [c, b]);

                let facts = tx.file_facts(&[c, FileId(999), ids[3], a])?;
                assert_eq!(facts.iter().map(|f| f.id).collect::<Vec<_>>(), [c, a]);
                assert_eq!(
                    facts[1].path,
                    Path::new("/lib/Doors/DOORWood_Creak_A_B.wav")
                );
                assert_eq!(
                    (facts[1].duration_s, facts[1].channels),
                    (Some(1.0), Some(1))
                );

                assert_eq!(tx.vector_count("m", "p")?, 2);
                assert!(tx.has_files()?);
                assert_eq!(
                    tx.file_id_by_path(Path::new("/lib/Misc/unknown.flac"))?,
                    Some(c)
                );
                let file = tx.file_by_id(a)?.unwrap();
                assert_eq!(file.record.ucs_cat_id.as_deref(), Some("DOORWood"));
                assert_eq!(file.record.root, RootId(1));
                assert!(tx.file_by_id(FileId(999))?.is_none());
                Ok::<_, Error>(())
            })
            .unwrap();
    }

    #[test]
    fn data_version_moves_when_another_connection_commits() {
        let (dir, mut writer, _) = setup();
        let reader = Catalog::open_readonly(dir.path()).unwrap();
        let before = reader.data_version().unwrap();
        assert_eq!(reader.data_version().unwrap(), before);
        writer
            .transaction(|tx| tx.set_meta("last_run", "now"))
            .unwrap();
        assert_ne!(reader.data_version().unwrap(), before);
    }
}

/// Issue 12, point 4: a reader racing the creation of a new catalog sees
/// no catalog or a whole one, never one at schema version 0.
#[test]
fn a_reader_racing_the_first_open_never_sees_a_half_made_catalog() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    for round in 0..20 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(format!("index-{round}"));
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (dir, done) = (dir.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen = 0;
                while !done.load(Ordering::Relaxed) {
                    match Catalog::open_readonly(&dir) {
                        Ok(_) => seen += 1,
                        Err(hark_store::Error::Missing { .. }) => {}
                        Err(e) => panic!("round {round}: a reader saw {e}"),
                    }
                }
                seen
            })
        };
        let writer = Catalog::open(&dir).unwrap();
        drop(writer);
        done.store(true, Ordering::Relaxed);
        reader
            .join()
            .expect("the reader saw only no catalog or a whole one");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".new-"))
            .collect();
        assert!(left.is_empty(), "temporary catalog left behind: {left:?}");
    }
}
