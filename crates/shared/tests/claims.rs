//! The claim protocol against a real PostgreSQL: concurrent workers embed
//! every queued file exactly once, and a worker killed mid-batch (its
//! process SIGKILLed) loses nothing committed and leaves nothing claimed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hark_pgtest::Cluster;
use hark_shared::{Address, ClaimedFile, Embedded, SharedCatalog};
use hark_store::{FileId, FileRecord, FileStatus, RootId};

/// Set in the child process of the kill test: the catalog URL it works on.
const CHILD_URL: &str = "HARK_TEST_CLAIM_CHILD_URL";

fn open(url: &str) -> SharedCatalog {
    SharedCatalog::open(&Address::resolve(url).unwrap()).unwrap()
}

/// A catalog with `n` queued files under root `sfx`.
fn queued_catalog(cluster: &Cluster, n: usize) -> (String, Vec<FileId>) {
    let url = cluster.create_database("sfx");
    let mut c = open(&url);
    let root = c.add_root("sfx").unwrap();
    let ids = (0..n)
        .map(|i| {
            let file = FileRecord::new(root, format!("f{i:04}.wav"), 100 + i as u64, 1);
            c.upsert_file(&file).unwrap()
        })
        .collect();
    (url, ids)
}

/// The fake embedder: a vector from the file's id, a little work.
fn embed(file: &ClaimedFile) -> Embedded {
    std::thread::sleep(Duration::from_millis(2));
    let mut record = FileRecord::new(file.root, &file.rel_path, file.size, file.mtime_ns);
    record.status = FileStatus::Ok;
    Embedded {
        id: file.id,
        record,
        vector: Some(vec![file.id.0 as f32, 1.0, 2.0]),
        moments: Vec::new(),
        fingerprint: None,
    }
}

/// Claims and embeds batches until the queue has nothing free; returns how
/// many times each file was embedded by this worker.
fn work(url: &str, batch: usize, log: &Mutex<HashMap<FileId, u32>>) -> usize {
    let mut c = open(url);
    let mut written = 0;
    loop {
        let claim = c.claim(batch, &[RootId(1)]).unwrap();
        if claim.is_empty() {
            return written;
        }
        let done: Vec<Embedded> = claim
            .files()
            .iter()
            .map(|f| {
                *log.lock().unwrap().entry(f.id).or_default() += 1;
                embed(f)
            })
            .collect();
        written += claim.finish("fake", "fake-1", &done).unwrap();
    }
}

fn vector_count(cluster: &Cluster) -> usize {
    cluster
        .psql("sfx", "SELECT count(*) FROM hark_vectors")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn two_concurrent_workers_embed_every_file_exactly_once() {
    let cluster = Cluster::start();
    let (url, ids) = queued_catalog(&cluster, 300);
    let log = Arc::new(Mutex::new(HashMap::new()));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (url, log) = (url.clone(), Arc::clone(&log));
            std::thread::spawn(move || work(&url, 8, &log))
        })
        .collect();
    let written: Vec<usize> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), ids.len(), "some files were never embedded");
    let twice: Vec<_> = log.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "embedded more than once: {twice:?}");
    assert_eq!(written.iter().sum::<usize>(), ids.len());
    // Both took part (each batch takes 16 ms of fake work, so one worker
    // alone cannot drain 300 files before the other starts).
    assert!(written.iter().all(|&w| w > 0), "{written:?}");
    assert_eq!(vector_count(&cluster), ids.len());
    assert_eq!(open(&url).queued().unwrap(), 0);
    assert_eq!(
        cluster
            .psql(
                "sfx",
                "SELECT count(*) FROM hark_files WHERE status <> 'ok'"
            )
            .trim(),
        "0"
    );
}

#[test]
fn a_file_that_changed_while_claimed_stays_queued() {
    let cluster = Cluster::start();
    let (url, ids) = queued_catalog(&cluster, 1);
    let mut worker = open(&url);
    let mut walker = open(&url);
    let claim = worker.claim(10, &[RootId(1)]).unwrap();
    assert_eq!(claim.files().len(), 1);
    let done = vec![embed(&claim.files()[0])];
    // The walk sees the file grow while the worker embeds it.
    let root = RootId(claim.files()[0].root.0);
    walker
        .upsert_file(&FileRecord::new(root, "f0000.wav", 999, 2))
        .unwrap();
    assert_eq!(claim.finish("fake", "fake-1", &done).unwrap(), 0);
    assert_eq!(worker.queued().unwrap(), 1);
    let again = worker.claim(10, &[RootId(1)]).unwrap();
    assert_eq!(again.files()[0].id, ids[0]);
    assert_eq!(again.files()[0].size, 999);
}

/// The child of the kill test: commits one batch of 5, claims the next 5,
/// says so on stdout, and waits to be killed.
fn child(url: &str) {
    let mut c = open(url);
    let claim = c.claim(5, &[RootId(1)]).unwrap();
    let done: Vec<Embedded> = claim.files().iter().map(embed).collect();
    claim.finish("fake", "fake-1", &done).unwrap();
    let held = c.claim(5, &[RootId(1)]).unwrap();
    let ids: Vec<String> = held.files().iter().map(|f| f.id.0.to_string()).collect();
    println!("holding {}", ids.join(","));
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_killed_worker_loses_nothing_committed_and_leaves_nothing_claimed() {
    if let Ok(url) = std::env::var(CHILD_URL) {
        child(&url);
        return;
    }
    let cluster = Cluster::start();
    let (url, ids) = queued_catalog(&cluster, 20);
    let mut worker = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_worker_loses_nothing_committed_and_leaves_nothing_claimed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The test harness writes `test NAME ... ` before the child's line;
    // a child that never says it holds its batch fails the test in 60 s.
    let out = worker.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some((_, held)) = line.split_once("holding ") {
                let _ = tx.send(held.trim().to_string());
            }
        }
    });
    let Ok(held) = rx.recv_timeout(Duration::from_secs(60)) else {
        worker.kill().unwrap();
        panic!("the worker never held its second batch");
    };
    let held: Vec<FileId> = held
        .split(',')
        .map(|s| FileId(s.parse().unwrap()))
        .collect();
    assert_eq!(held, ids[5..10], "the child holds the second batch");

    // While the child lives, its files are not offered to another worker.
    let mut other = open(&url);
    let claim = other.claim(100, &[RootId(1)]).unwrap();
    let offered: Vec<FileId> = claim.files().iter().map(|f| f.id).collect();
    assert_eq!(offered, ids[10..], "{offered:?}");
    claim.release().unwrap();

    // kill -9: the server sees the socket close and frees the claims.
    worker.kill().unwrap();
    worker.wait().unwrap();
    let killed = Instant::now();
    let offered = loop {
        let claim = other.claim(100, &[RootId(1)]).unwrap();
        let offered: Vec<FileId> = claim.files().iter().map(|f| f.id).collect();
        claim.release().unwrap();
        if offered.len() == 15 || killed.elapsed() > Duration::from_secs(10) {
            break offered;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        offered,
        ids[5..],
        "the killed worker's files are free again"
    );
    eprintln!("claims freed {:.0?} after the kill", killed.elapsed());
    assert!(
        killed.elapsed() < Duration::from_secs(2),
        "{:?}",
        killed.elapsed()
    );
    // Its committed batch is kept, whole.
    assert_eq!(vector_count(&cluster), 5);
    assert_eq!(other.queued().unwrap(), 15);
    assert_eq!(
        cluster
            .psql(
                "sfx",
                "SELECT string_agg(id::text, ',' ORDER BY id) FROM hark_files WHERE status = 'ok'"
            )
            .trim(),
        ids[..5]
            .iter()
            .map(|i| i.0.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
}

#[test]
fn a_worker_carries_on_after_the_server_restarts() {
    let mut cluster = Cluster::start();
    let (url, ids) = queued_catalog(&cluster, 40);
    let log = Mutex::new(HashMap::new());
    let mut c = open(&url);
    // One batch committed, one claimed when the server goes down.
    let claim = c.claim(10, &[RootId(1)]).unwrap();
    let done: Vec<Embedded> = claim.files().iter().map(embed).collect();
    claim.finish("fake", "fake-1", &done).unwrap();
    let claim = c.claim(10, &[RootId(1)]).unwrap();
    let done: Vec<Embedded> = claim.files().iter().map(embed).collect();
    cluster.stop();
    let e = claim.finish("fake", "fake-1", &done).unwrap_err();
    assert!(e.is_connection(), "{e:?}");
    // The server comes back 1.5 s later; the worker retries meanwhile.
    let restarter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        cluster.restart();
        cluster
    });
    let started = Instant::now();
    c.reconnect(Duration::from_secs(60)).unwrap();
    eprintln!(
        "reconnected {:.1?} after the retries began",
        started.elapsed()
    );
    let cluster = restarter.join().unwrap();
    // The interrupted batch was not committed: its files are queued still,
    // and the worker embeds everything left, exactly once.
    assert_eq!(c.queued().unwrap(), 30);
    drop(c);
    let written = work(&url, 10, &log);
    assert_eq!(written, 30);
    assert!(log.lock().unwrap().values().all(|&n| n == 1));
    assert_eq!(vector_count(&cluster), ids.len());
}
