//! The shared catalog against a real PostgreSQL (a throwaway cluster per
//! test, hark-pgtest): the schema and its checks, roles, redaction, and
//! the change sequence.

use std::path::PathBuf;

use hark_pgtest::Cluster;
use hark_shared::{
    Address, Change, Embedded, Error, Position, SharedCatalog, SharedVector, SCHEMA_VERSION,
};
use hark_store::{FileId, FileRecord, FileStatus, PointId, RootId};

fn address(url: &str) -> Address {
    Address::resolve(url).expect("a test address resolves")
}

fn waiting(root: RootId, rel: &str) -> FileRecord {
    FileRecord::new(root, PathBuf::from(rel), 1000, 1_700_000_000_000_000_000)
}

#[test]
fn an_empty_database_gets_the_schema_and_opens_again() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    SharedCatalog::open(&address(&url)).unwrap();
    assert_eq!(
        cluster
            .psql("sfx", "SELECT max(version) FROM hark_schema")
            .trim(),
        SCHEMA_VERSION.to_string()
    );
    // Twice, and read-only: no error, no second migration row.
    SharedCatalog::open(&address(&url)).unwrap();
    SharedCatalog::open_readonly(&address(&url)).unwrap();
    assert_eq!(
        cluster
            .psql("sfx", "SELECT count(*) FROM hark_schema")
            .trim(),
        "1"
    );
}

#[test]
fn two_hosts_creating_the_schema_at_once_both_succeed() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || SharedCatalog::open(&address(&url)).map(|_| ()))
        })
        .collect();
    for handle in opened {
        handle.join().unwrap().unwrap();
    }
    assert_eq!(
        cluster
            .psql("sfx", "SELECT count(*) FROM hark_schema")
            .trim(),
        "1"
    );
}

#[test]
fn a_foreign_database_is_refused_and_left_untouched() {
    let cluster = Cluster::start();
    let url = cluster.create_database("accounts");
    cluster.psql(
        "accounts",
        "CREATE TABLE invoices (id int); CREATE TABLE clients (id int)",
    );
    let before = cluster.psql("accounts", "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace");
    let e = SharedCatalog::open(&address(&url)).unwrap_err();
    assert!(matches!(e, Error::Foreign { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains("not a hark catalog"), "{message}");
    assert!(message.contains("clients, invoices"), "{message}");
    assert!(message.contains("nothing was written"), "{message}");
    let after = cluster.psql("accounts", "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace");
    assert_eq!(before, after);
    let e = SharedCatalog::open_readonly(&address(&url)).unwrap_err();
    assert!(matches!(e, Error::Foreign { .. }), "{e:?}");
}

#[test]
fn a_damaged_or_newer_catalog_is_refused() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    SharedCatalog::open(&address(&url)).unwrap();

    cluster.psql("sfx", "DROP TABLE hark_work");
    let e = SharedCatalog::open(&address(&url)).unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains("hark_work"), "{e}");
    // Nothing was written: the table is still missing.
    assert_eq!(
        cluster
            .psql("sfx", "SELECT to_regclass('hark_work') IS NULL")
            .trim(),
        "t"
    );

    let url2 = cluster.create_database("newer");
    SharedCatalog::open(&address(&url2)).unwrap();
    cluster.psql("newer", "INSERT INTO hark_schema (version) VALUES (99)");
    let e = SharedCatalog::open(&address(&url2)).unwrap_err();
    assert!(matches!(e, Error::TooNew { found: 99, .. }), "{e:?}");

    let url3 = cluster.create_database("odd");
    cluster.psql("odd", "CREATE TABLE hark_schema (name text)");
    let e = SharedCatalog::open(&address(&url3)).unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e:?}");
}

#[test]
fn a_read_only_role_reads_and_cannot_write() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let mut writer = SharedCatalog::open(&address(&url)).unwrap();
    let root = writer.add_root("sfx").unwrap();
    writer.upsert_file(&waiting(root, "a.wav")).unwrap();
    cluster.psql(
        "sfx",
        "CREATE ROLE reader LOGIN PASSWORD 'r3ader-pw';
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;",
    );
    let reader_url = cluster.url_as("reader", "r3ader-pw", "sfx");
    let mut reader = SharedCatalog::open_readonly(&address(&reader_url)).unwrap();
    let changes = collect(&mut reader, Position::START);
    assert_eq!(changes.files.len(), 1);
    // Opening for writing a current schema writes nothing, so it works;
    // the first write says what is wrong, without the password.
    let mut reader = SharedCatalog::open(&address(&reader_url)).unwrap();
    for e in [
        reader.add_root("other").unwrap_err(),
        reader.claim(10, &[root]).map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(e, Error::ReadOnlyRole { .. }), "{e:?}");
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("`reader` cannot write"), "{shown}");
        assert!(!shown.contains("r3ader-pw"), "{shown}");
    }
}

#[test]
fn no_error_shows_the_password() {
    let cluster = Cluster::start();
    // Nothing listens on the cluster's port + 1 (most likely); then the
    // port of a running server with a database that does not exist.
    let dead = format!(
        "postgres://hark:s3cret-pw@127.0.0.1:{}/sfx",
        cluster.port() + 1
    );
    let missing = format!(
        "postgres://hark:s3cret-pw@127.0.0.1:{}/nothere",
        cluster.port()
    );
    for url in [dead, missing] {
        let e = SharedCatalog::open(&address(&url)).unwrap_err();
        assert!(matches!(e, Error::Connect { .. }), "{e:?}");
        let mut shown = format!("{e} {e:?}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            shown.push_str(&format!(" {s} {s:?}"));
            source = s.source();
        }
        assert!(shown.contains("hark:***@127.0.0.1"), "{shown}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
    }
}

#[test]
fn changes_since_a_position_hold_what_changed_and_what_was_removed() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let mut c = SharedCatalog::open(&address(&url)).unwrap();
    let root = c.add_root("sfx").unwrap();
    let mut ids = Vec::new();
    for name in ["a.wav", "b.wav", "c.wav"] {
        ids.push(c.upsert_file(&waiting(root, name)).unwrap());
    }
    // A worker embeds them all.
    let claim = c.claim(10, &[root]).unwrap();
    let done: Vec<Embedded> = claim
        .files()
        .iter()
        .map(|f| embedded(f.id, root, &f.rel_path, 1000))
        .collect();
    assert_eq!(claim.finish("model", "pipe", &done).unwrap(), 3);

    let first = collect(&mut c, Position::START);
    assert_eq!(first.roots, vec![(root, "sfx".to_string())]);
    assert_eq!(first.files.len(), 3);
    assert!(first.files.iter().all(|(_, f)| f.status == FileStatus::Ok));
    assert_eq!(first.files[0].1.path, PathBuf::from("a.wav"));
    assert_eq!(
        first.files[0].1.tags,
        vec![("bext.Description".to_string(), "door".to_string())]
    );
    assert_eq!(first.fingerprints[0], Some(vec![7, 7]));
    assert_eq!(first.vectors.len(), 3);
    assert_eq!(first.vectors[0].data, vec![ids[0].0 as f32, 0.5]);
    assert!(first.removed_files.is_empty());

    // Nothing new: nothing read (the overlap is only of transactions that
    // were running).
    let quiet = collect(&mut c, first.next);
    assert!(
        quiet.files.is_empty() && quiet.vectors.is_empty(),
        "{quiet:?}"
    );

    // One file changes, one goes.
    let mut changed = waiting(root, "b.wav");
    changed.size = 2000;
    c.upsert_file(&changed).unwrap();
    c.remove_files(&[ids[2]]).unwrap();
    let second = collect(&mut c, quiet.next);
    let files: Vec<FileId> = second.files.iter().map(|(id, _)| *id).collect();
    assert_eq!(files, vec![ids[1]]);
    assert_eq!(second.removed_files, vec![ids[2]]);
    // The changed file's vector went when it was queued again, the
    // removed file's with it.
    let mut points = second.removed_points.clone();
    points.sort();
    assert_eq!(
        points,
        vec![PointId::new(ids[1], 0), PointId::new(ids[2], 0)]
    );
    assert!(second.next >= quiet.next);
}

#[test]
fn a_transaction_that_commits_late_is_not_missed() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    let mut c = SharedCatalog::open(&address(&url)).unwrap();
    let root = c.add_root("sfx").unwrap();
    // A long transaction writes first (its id is the lower)...
    cluster.psql("sfx", "SELECT 1"); // warm
    let mut slow = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut slow_tx = slow.transaction().unwrap();
    slow_tx
        .execute(
            "INSERT INTO hark_files (root_id, rel_path, rel_path_text, size, mtime_ns, status)
             VALUES ($1, 'slow.wav', 'slow.wav', 1, 1, 'waiting')",
            &[&root.0],
        )
        .unwrap();
    // ...a quick one writes and commits after it...
    c.upsert_file(&waiting(root, "quick.wav")).unwrap();
    let read = collect(&mut c, Position::START);
    let names: Vec<_> = read.files.iter().map(|(_, f)| f.path.clone()).collect();
    assert_eq!(names, vec![PathBuf::from("quick.wav")]);
    // ...and the slow one commits last: the next read from the returned
    // position still sees it.
    slow_tx.commit().unwrap();
    let later = collect(&mut c, read.next);
    let names: Vec<_> = later.files.iter().map(|(_, f)| f.path.clone()).collect();
    assert!(names.contains(&PathBuf::from("slow.wav")), "{names:?}");
}

fn embedded(id: FileId, root: RootId, rel: &std::path::Path, size: u64) -> Embedded {
    let mut record = FileRecord::new(root, rel, size, 1_700_000_000_000_000_000);
    record.status = FileStatus::Ok;
    record.tags = vec![("bext.Description".into(), "door".into())];
    record.peaks = vec![(-3, 4)];
    Embedded {
        id,
        record,
        vector: Some(vec![id.0 as f32, 0.5]),
        moments: Vec::new(),
        fingerprint: Some(vec![7, 7]),
    }
}

/// What [`SharedCatalog::changes_since`] streamed, gathered.
#[derive(Debug, Default)]
struct Collected {
    reset: bool,
    roots: Vec<(RootId, String)>,
    files: Vec<(FileId, FileRecord)>,
    fingerprints: Vec<Option<Vec<u8>>>,
    vectors: Vec<SharedVector>,
    removed_files: Vec<FileId>,
    removed_points: Vec<PointId>,
    next: Position,
}

fn collect(c: &mut SharedCatalog, since: Position) -> Collected {
    let mut out = Collected::default();
    // Every root's files: the tests name few.
    let roots: Vec<RootId> = c.roots().unwrap().into_iter().map(|(id, _)| id).collect();
    out.next = c
        .changes_since(since, &roots, &mut |change| -> Result<(), Error> {
            match change {
                Change::Reset => out.reset = true,
                Change::Root(id, name) => out.roots.push((id, name)),
                Change::Meta(..) => {}
                Change::RemovedFile(id) => out.removed_files.push(id),
                Change::RemovedPoint(p) => out.removed_points.push(p),
                Change::File(id, record, fingerprint) => {
                    out.files.push((id, *record));
                    out.fingerprints.push(fingerprint);
                }
                Change::Vector(v) => out.vectors.push(v),
            }
            Ok(())
        })
        .unwrap();
    out
}

/// Whether the catalog's own session is encrypted.
fn session_uses_tls(url: &str) -> bool {
    let mut c = SharedCatalog::open(&address(url)).unwrap();
    let pid = c.backend_pid().unwrap();
    let mut probe =
        postgres::Client::connect(url.split('?').next().unwrap(), postgres::NoTls).unwrap();
    probe
        .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = $1", &[&pid])
        .unwrap()
        .get(0)
}

#[test]
fn sslmode_require_and_prefer_use_tls_and_require_fails_without_it() {
    let cluster = Cluster::start();
    let url = cluster.create_database("sfx");
    // Without TLS on the server: prefer falls back, require fails.
    assert!(!session_uses_tls(&url));
    let e = SharedCatalog::open(&address(&format!("{url}?sslmode=require"))).unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");

    cluster.enable_tls();
    assert!(session_uses_tls(&format!("{url}?sslmode=require")));
    assert!(
        session_uses_tls(&url),
        "prefer (the default) uses TLS when offered"
    );
    assert!(!session_uses_tls(&format!("{url}?sslmode=disable")));
}
