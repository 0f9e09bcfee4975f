//! The claim protocol's cost per file, on a throwaway local cluster
//! (hark-pgtest) over loopback TCP:
//!
//! - *claim only*: `claim(B)` then `release()`, the locking round trips
//!   alone (the same rows are claimed again each time, as a real claim of
//!   the queue's head would be);
//! - *full cycle*: `claim(B)`, then `finish` writing each file's record,
//!   one 512-d vector and taking it off the queue, one commit per batch;
//!   with one worker and with two at once.
//!
//! `cargo bench --profile dev -p hark-shared --bench claims` (dependencies
//! are optimised in the dev profile too; the time is the server's).

use std::time::Instant;

use hark_pgtest::Cluster;
use hark_shared::{Address, ClaimedFile, Embedded, SharedCatalog};
use hark_store::{FileRecord, FileStatus, RootId};

const FILES: usize = 4000;
const DIM: usize = 512;

fn open(url: &str) -> SharedCatalog {
    SharedCatalog::open(&Address::resolve(url).unwrap()).unwrap()
}

fn queue(cluster: &Cluster, db: &str) -> String {
    let url = cluster.create_database(db);
    let mut c = open(&url);
    let root = c.add_root("sfx").unwrap();
    cluster.psql(
        db,
        &format!(
            "WITH f AS (
                 INSERT INTO hark_files (root_id, rel_path, rel_path_text, size, mtime_ns, status)
                 SELECT {}, convert_to('f' || i || '.wav', 'UTF8'), 'f' || i || '.wav', i, 1, 'waiting'
                 FROM generate_series(1, {FILES}) i RETURNING id)
             INSERT INTO hark_work (file_id) SELECT id FROM f",
            root.0
        ),
    );
    cluster.psql(db, "VACUUM ANALYZE");
    url
}

fn result(file: &ClaimedFile) -> Embedded {
    let mut record = FileRecord::new(file.root, &file.rel_path, file.size, file.mtime_ns);
    record.status = FileStatus::Ok;
    record.peaks = vec![(-10, 10); 256];
    Embedded {
        id: file.id,
        record,
        vector: Some((0..DIM).map(|i| (i as f32 * 0.001).sin()).collect()),
        moments: Vec::new(),
        fingerprint: None,
    }
}

/// Full cycles until the queue is empty; returns files written.
fn drain(url: &str, batch: usize) -> usize {
    let mut c = open(url);
    let mut written = 0;
    loop {
        let claim = c.claim(batch, &[RootId(1)]).unwrap();
        if claim.is_empty() {
            return written;
        }
        let done: Vec<Embedded> = claim.files().iter().map(result).collect();
        written += claim.finish("bench", "bench-1", &done).unwrap();
    }
}

fn main() {
    let cluster = Cluster::start();
    for batch in [16usize, 64] {
        let url = queue(&cluster, &format!("claim_only_{batch}"));
        let mut c = open(&url);
        let rounds = 500;
        let started = Instant::now();
        for _ in 0..rounds {
            let claim = c.claim(batch, &[RootId(1)]).unwrap();
            assert_eq!(claim.files().len(), batch);
            claim.release().unwrap();
        }
        let per_file = started.elapsed() / (rounds * batch) as u32;
        println!("claim only, batch {batch:>2}: {per_file:>8.1?} per file ({rounds} claims)");

        let url = queue(&cluster, &format!("one_worker_{batch}"));
        let started = Instant::now();
        let written = drain(&url, batch);
        assert_eq!(written, FILES);
        let per_file = started.elapsed() / FILES as u32;
        println!("full cycle, 1 worker, batch {batch:>2}: {per_file:>8.1?} per file ({FILES} files, {DIM}-d)");

        let url = queue(&cluster, &format!("two_workers_{batch}"));
        let started = Instant::now();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || drain(&url, batch))
            })
            .collect();
        let written: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(written, FILES);
        let per_file = started.elapsed() / FILES as u32;
        println!("full cycle, 2 workers, batch {batch:>2}: {per_file:>8.1?} per file (wall clock)");
    }
}
