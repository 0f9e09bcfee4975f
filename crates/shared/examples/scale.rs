//! Benchmark helpers for the shared catalog at scale (docs/benchmarks.md,
//! "The shared catalog"):
//!
//! ```text
//! scale server [--fsync] [DATABASES]  a throwaway cluster (hark-pgtest) with databases
//!                                     hark1..hark<DATABASES> (default 1); prints their URLs,
//!                                     runs until stdin closes
//! scale fill URL N [MODEL_ID]         N synthetic files under root `sfx` (UCS names in
//!                                     folders, tags, UCS fields, 512 peaks, a content hash)
//!                                     with one random unit 512-d vector each, by binary COPY
//! scale change URL K                  K files of the catalog changed as an index run changes
//!                                     them: written as waiting (new mtime), claimed in batches
//!                                     of 16 and finished with new vectors
//! scale sync INDEX_DIR URL MOUNT [--ann]
//!                                     one replica sync (mount `sfx` at MOUNT), timed; with
//!                                     --ann, the ANN refresh after it, timed on its own
//! ```
//!
//! `cargo run --release -p hark-shared --example scale -- ...`

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use hark_shared::{replica, Address, Embedded, Mounts, SharedCatalog};
use hark_store::{Catalog, FileRecord, FileStatus, RootId};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

const DIM: usize = 512;
const PEAKS: usize = 512;
const CATEGORIES: &[(&str, &str, &str)] = &[
    ("DOORWood", "DOORS", "WOOD"),
    ("DOORMetl", "DOORS", "METAL"),
    ("WATRDrip", "WATER", "DRIP"),
    ("WATRSurf", "WATER", "SURF"),
    ("WINDGust", "WIND", "GUST"),
    ("FOLYFeet", "FOLEY", "FEET"),
    ("GLASBrk", "GLASS", "BREAK"),
    ("VEHCar", "VEHICLES", "CAR"),
    ("AMBCity", "AMBIENCE", "CITY"),
    ("WEAPGun", "WEAPONS", "GUN"),
];
const WORDS: &[&str] = &[
    "creak", "slam", "heavy", "light", "distant", "close", "rumble", "howl", "drip", "splash",
    "crash", "whoosh", "impact", "scrape", "rattle", "hum", "buzz", "click", "thud", "hiss",
];

/// SplitMix64: a seeded generator for synthetic data, not worth a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn vector(&mut self) -> Vec<f32> {
        // Sum of uniforms: near-Gaussian enough for random directions.
        let mut v: Vec<f32> = (0..DIM)
            .map(|_| self.unit() + self.unit() + self.unit() - 1.5)
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, what: &str| -> String {
        args.get(i)
            .cloned()
            .unwrap_or_else(|| panic!("missing argument: {what} (see the example's docs)"))
    };
    match arg(0, "command").as_str() {
        "server" => server(
            args.iter().any(|a| a == "--fsync"),
            args.iter().find_map(|a| a.parse().ok()).unwrap_or(1),
        ),
        "fill" => fill(
            &arg(1, "URL"),
            arg(2, "N").parse().expect("N"),
            args.get(3).map_or("bench", |s| s.as_str()),
        ),
        "change" => change(&arg(1, "URL"), arg(2, "K").parse().expect("K")),
        "sync" => sync(
            Path::new(&arg(1, "INDEX_DIR")),
            &arg(2, "URL"),
            Path::new(&arg(3, "MOUNT")),
            args.iter().any(|a| a == "--ann"),
        ),
        other => panic!("unknown command `{other}`"),
    }
}

fn server(fsync: bool, databases: usize) {
    let cluster = hark_pgtest::Cluster::start_with_fsync(fsync);
    for i in 1..=databases {
        println!("{}", cluster.create_database(&format!("hark{i}")));
    }
    eprintln!(
        "cluster in {} (fsync={}); close stdin to stop it",
        cluster.socket_dir().display(),
        if fsync { "on" } else { "off" }
    );
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
}

fn open(url: &str) -> SharedCatalog {
    SharedCatalog::open(&Address::resolve(url).expect("a URL")).expect("open the catalog")
}

fn fill(url: &str, n: usize, model: &str) {
    let started = Instant::now();
    let mut catalog = open(url);
    let root = catalog.add_root("sfx").expect("add root");
    catalog.set_meta("model", model).unwrap();
    catalog.set_meta("model_name", "bench").unwrap();
    catalog
        .set_meta("pipeline", hark_shared_pipeline())
        .unwrap();
    drop(catalog);
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let mut rng = Rng(13);
    let mut tx = client.transaction().unwrap();
    let sink = tx
        .copy_in(
            "COPY hark_files (root_id, rel_path, rel_path_text, size, mtime_ns, content_hash,
                 format, codec, duration_s, sample_rate, channels, bits_per_sample, tags,
                 ucs_cat_id, ucs_category, ucs_subcategory, ucs_fx_name, peaks, status)
             FROM STDIN (FORMAT binary)",
        )
        .unwrap();
    let types = [
        Type::INT8,
        Type::BYTEA,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::BYTEA,
        Type::TEXT,
        Type::TEXT,
        Type::FLOAT8,
        Type::INT4,
        Type::INT4,
        Type::INT4,
        Type::JSONB,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::BYTEA,
        Type::TEXT,
    ];
    let mut w = BinaryCopyInWriter::new(sink, &types);
    for i in 0..n {
        let (cat_id, cat, sub) = CATEGORIES[rng.below(CATEGORIES.len())];
        let fx = format!(
            "{} {} {:04}",
            WORDS[rng.below(WORDS.len())],
            WORDS[rng.below(WORDS.len())],
            i % 10_000
        );
        let rel = format!("{cat}/{sub}/{:03}/{cat_id}_{fx} {i}.wav", i % 1000);
        let hash: Vec<u8> = (0..4).flat_map(|_| rng.next().to_le_bytes()).collect();
        let tags = serde_json::json!([
            ["title", fx],
            ["artist", "Bench Studio"],
            [
                "comment",
                format!("take {} of {cat} {sub}, recorded at 96k", i % 7)
            ],
        ]);
        let peaks: Vec<u8> = (0..PEAKS * 2).map(|_| rng.next() as u8).collect();
        let duration = 0.2 + rng.unit() as f64 * 30.0;
        w.write(&[
            &root.0,
            &rel.as_bytes(),
            &rel,
            &((duration * 288_000.0) as i64),
            &(1_700_000_000_000_000_000i64 + i as i64),
            &hash,
            &"wav",
            &"pcm_s24le",
            &duration,
            &[44_100i32, 48_000, 96_000][rng.below(3)],
            &[1i32, 2][rng.below(2)],
            &24i32,
            &tags,
            &cat_id,
            &cat,
            &sub,
            &fx,
            &peaks,
            &"ok",
        ])
        .unwrap();
    }
    w.finish().unwrap();
    // One COPY takes consecutive ids.
    let first: i64 = tx
        .query_one("SELECT max(id) FROM hark_files", &[])
        .unwrap()
        .get::<_, i64>(0)
        - n as i64
        + 1;
    eprintln!("{n} files in {:.1?}", started.elapsed());
    let sink = tx
        .copy_in(
            "COPY hark_vectors (point, file_id, segment, model, pipeline, dim, data)
             FROM STDIN (FORMAT binary)",
        )
        .unwrap();
    let types = [
        Type::INT8,
        Type::INT8,
        Type::INT4,
        Type::TEXT,
        Type::TEXT,
        Type::INT4,
        Type::BYTEA,
    ];
    let mut w = BinaryCopyInWriter::new(sink, &types);
    let pipeline = hark_shared_pipeline();
    for i in 0..n as i64 {
        let id = first + i;
        w.write(&[
            &(id * 1_048_576),
            &id,
            &0i32,
            &model,
            &pipeline,
            &(DIM as i32),
            &le_bytes(&rng.vector()),
        ])
        .unwrap();
    }
    w.finish().unwrap();
    tx.commit().unwrap();
    eprintln!("{n} files and vectors in {:.1?}", started.elapsed());
    client.batch_execute("VACUUM ANALYZE").unwrap();
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .unwrap()
        .get(0);
    println!(
        "filled {n} files in {:.1} s; database {:.1} MB",
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
}

/// The pipeline name the vectors are tagged with (any string works for
/// the replica; this one matches what an index run writes).
fn hark_shared_pipeline() -> &'static str {
    "hark-clap-2"
}

fn change(url: &str, k: usize) {
    let mut catalog = open(url);
    let model = catalog.meta("model").unwrap().unwrap_or_default();
    let pipeline = catalog.meta("pipeline").unwrap().unwrap_or_default();
    let root = RootId(1);
    let known = catalog.files_of_root(root).unwrap();
    let step = (known.len() / k).max(1);
    let started = Instant::now();
    let mut changed = Vec::new();
    for f in known.iter().step_by(step).take(k) {
        let mut record = FileRecord::new(root, &f.rel_path, f.size, f.mtime_ns + 1_000_000_000);
        record.status = FileStatus::Waiting;
        changed.push(record);
    }
    for chunk in changed.chunks(1000) {
        catalog.upsert_files(chunk).unwrap();
    }
    let surveyed = started.elapsed();
    let mut rng = Rng(k as u64);
    let mut written = 0;
    loop {
        let claim = catalog.claim(16, &[root]).unwrap();
        if claim.is_empty() {
            break;
        }
        let done: Vec<Embedded> = claim
            .files()
            .iter()
            .map(|f| {
                let mut record = FileRecord::new(f.root, &f.rel_path, f.size, f.mtime_ns);
                record.status = FileStatus::Ok;
                record.format = Some("wav".into());
                record.duration_s = Some(3.0);
                record.peaks = vec![(-100, 100); PEAKS];
                Embedded {
                    id: f.id,
                    record,
                    vector: Some(rng.vector()),
                    moments: Vec::new(),
                    fingerprint: None,
                }
            })
            .collect();
        written += claim.finish(&model, &pipeline, &done).unwrap();
    }
    println!(
        "changed {written} files: queued in {:.2} s, claimed and written in {:.2} s",
        surveyed.as_secs_f64(),
        (started.elapsed() - surveyed).as_secs_f64()
    );
}

fn sync(index_dir: &Path, url: &str, mount: &Path, ann: bool) {
    std::fs::create_dir_all(index_dir).unwrap();
    let mut mounts = Mounts::load(index_dir).unwrap();
    if mounts.set("sfx", &PathBuf::from(mount)) {
        mounts.save(index_dir).unwrap();
    }
    let started = Instant::now();
    let mut shared =
        SharedCatalog::open_readonly(&Address::resolve(url).unwrap()).expect("open the catalog");
    // As the CLI opens a replica before each command (no whole-file check).
    let mut local = Catalog::open_quick(index_dir).unwrap();
    let opened = started.elapsed();
    let synced = replica::sync(&mut shared, &mut local, index_dir, &mounts).unwrap();
    let sync_s = started.elapsed().as_secs_f64();
    println!(
        "sync: {:.3} s (connect and open {:.3} s): reset {}, {} files, {} vectors, {} removed",
        sync_s,
        opened.as_secs_f64(),
        synced.reset,
        synced.files,
        synced.vectors,
        synced.removed
    );
    if ann {
        let t = Instant::now();
        let refresh = replica::refresh_ann(&local, index_dir).unwrap();
        println!(
            "ANN refresh: {:.3} s: {:?}",
            t.elapsed().as_secs_f64(),
            refresh.map(|r| r.action)
        );
    }
}
