//! ANN benchmark on synthetic clustered unit vectors (the generator of
//! `tests/common`): build time, file size, open time, query latency
//! (p50/p99, top-10) of the graph and of the exact scan, recall@10 against
//! exact search, and peak memory (VmHWM).
//!
//! ```sh
//! cargo bench -p hark-store --bench ann -- --n 100000
//! cargo bench -p hark-store --bench ann -- --n 1000000 --queries 200 --exact-queries 50
//! ```
//!
//! Options: `--n N` vectors (default 100000), `--queries Q` held-out
//! queries for latency and recall (200), `--exact-queries E` of them also
//! timed on the exact scan (Q), `--ef A,B,...` search candidate lists to
//! try (the default EF_SEARCH), `--m M` and `--efc EF` graph parameters
//! (the defaults), `--clusters C` (200), `--seed S` (1).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{Clusters, DIM, MODEL, PIPELINE};
use hark_store::ann::{dot, refresh_ann_with, AnnParams, SearchMode, VectorSearcher, EF_SEARCH};
use hark_store::{Catalog, FileRecord};

struct Args {
    n: usize,
    queries: usize,
    exact_queries: Option<usize>,
    ef: Vec<usize>,
    params: AnnParams,
    clusters: usize,
    seed: u64,
}

fn parse() -> Args {
    let mut args = Args {
        n: 100_000,
        queries: 200,
        exact_queries: None,
        ef: vec![EF_SEARCH],
        params: AnnParams::default(),
        clusters: 200,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue;
        }
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let number =
            |s: String| -> usize { s.parse().unwrap_or_else(|_| panic!("bad number `{s}`")) };
        match flag.as_str() {
            "--n" => args.n = number(value()),
            "--queries" => args.queries = number(value()),
            "--exact-queries" => args.exact_queries = Some(number(value())),
            "--ef" => args.ef = value().split(',').map(|s| number(s.to_owned())).collect(),
            "--m" => args.params.max_nb_connection = number(value()),
            "--efc" => args.params.ef_construction = number(value()),
            "--clusters" => args.clusters = number(value()),
            "--seed" => args.seed = number(value()) as u64,
            other => panic!("unknown option `{other}`"),
        }
    }
    args
}

/// A line of /proc/self/status, in MB.
fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets VmHWM to the current RSS (Linux), so each phase's peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let i = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms[i]
}

fn latencies(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "p50 {:.3} ms, p99 {:.3} ms, mean {:.3} ms",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.iter().sum::<f64>() / ms.len() as f64
    )
}

fn main() {
    let args = parse();
    let dir = tempfile::tempdir().unwrap();
    let no_ann = tempfile::tempdir().unwrap();
    println!(
        "n={} dim={DIM} clusters={} queries={} M={} ef_construction={} threads={}",
        args.n,
        args.clusters,
        args.queries,
        args.params.max_nb_connection,
        args.params.ef_construction,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Fill the catalog in batches, never holding all vectors in memory.
    let mut gen = Clusters::new(args.seed, args.clusters, DIM);
    let queries = gen.take(args.queries);
    let start = Instant::now();
    {
        let mut catalog = Catalog::open(dir.path()).unwrap();
        let root = catalog
            .transaction(|tx| tx.add_root(std::path::Path::new("/lib")))
            .unwrap();
        let mut done = 0;
        while done < args.n {
            let batch = (args.n - done).min(10_000);
            let vectors = gen.take(batch);
            catalog
                .transaction(|tx| {
                    for (i, v) in vectors.iter().enumerate() {
                        let path = format!("/lib/{}.wav", done + i);
                        let mut r = FileRecord::new(root, &path, 1, 1);
                        r.content_hash = Some(path.into_bytes());
                        let id = tx.upsert_file(&r)?;
                        tx.set_vector(id, MODEL, PIPELINE, v)?;
                    }
                    Ok::<_, hark_store::Error>(())
                })
                .unwrap();
            done += batch;
        }
    }
    println!("catalog filled in {:.1} s", start.elapsed().as_secs_f64());
    let catalog = Catalog::open(dir.path()).unwrap();

    // Ground truth: one streaming pass over the catalog for all queries.
    let start = Instant::now();
    let mut truth: Vec<Vec<(f32, i64)>> = vec![Vec::new(); queries.len()];
    catalog
        .vectors(MODEL, PIPELINE, |id, v| {
            for (q, t) in queries.iter().zip(truth.iter_mut()) {
                let s = dot(q, v);
                if t.len() < 10 || s > t[9].0 {
                    t.push((s, id.0));
                    t.sort_by(|a, b| b.0.total_cmp(&a.0));
                    t.truncate(10);
                }
            }
        })
        .unwrap();
    println!("ground truth in {:.1} s", start.elapsed().as_secs_f64());

    reset_peak();
    let rss_before = status_mb("VmRSS");
    let report = refresh_ann_with(&catalog, dir.path(), MODEL, PIPELINE, &args.params).unwrap();
    println!(
        "build: {:?} in {:.1} s, {} orphans; writer peak RSS {:.0} MB (was {:.0} MB before)",
        report.action,
        report.seconds,
        report.orphans,
        status_mb("VmHWM"),
        rss_before
    );
    let mut file_mb = 0.0;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("ann") {
            let mb = e.metadata().unwrap().len() as f64 / 1e6;
            println!("  file {name}: {mb:.1} MB");
            file_mb += mb;
        }
    }
    println!("ANN files: {file_mb:.1} MB");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("ann.json")).unwrap())
            .unwrap();
    println!(
        "  hashed on open (header, ids, adjacency): {:.1} MB",
        manifest["graph"]["hashed_bytes"]
            .as_f64()
            .unwrap_or(f64::NAN)
            / 1e6
    );

    reset_peak();
    let rss_before = status_mb("VmRSS");
    let start = Instant::now();
    let mut searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    println!(
        "reader load: {:.1} ms, mode {:?}, RSS +{:.0} MB (peak +{:.0} MB during load)",
        start.elapsed().as_secs_f64() * 1e3,
        searcher.mode(),
        status_mb("VmRSS") - rss_before,
        status_mb("VmHWM") - rss_before
    );
    assert_eq!(searcher.mode(), SearchMode::Ann);
    // Opening again, as each new `hark search` process does (the page
    // cache warm): the searcher's open, its catalog connection included.
    let mut ms: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            let s = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
            assert_eq!(s.mode(), SearchMode::Ann);
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "reader reopen (7 times): median {:.1} ms, min {:.1} ms, max {:.1} ms",
        ms[3], ms[0], ms[6]
    );

    for &ef in &args.ef {
        searcher.set_ef_search(ef);
        let mut ms = Vec::new();
        let mut found = 0;
        for (q, t) in queries.iter().zip(&truth) {
            let start = Instant::now();
            let hits = searcher.search(q, 10, None).unwrap();
            ms.push(start.elapsed().as_secs_f64() * 1e3);
            found += hits
                .iter()
                .filter(|h| t.iter().any(|x| x.1 == h.0 .0))
                .count();
        }
        println!(
            "ANN ef={ef}: recall@10 {:.4}, top-10 query {}",
            found as f64 / (10 * queries.len()) as f64,
            latencies(ms)
        );
    }
    drop(searcher);

    let exact_n = args
        .exact_queries
        .unwrap_or(queries.len())
        .min(queries.len());
    if exact_n > 0 {
        // The same catalog with an empty ANN directory: an exact scan.
        let start = Instant::now();
        let exact = VectorSearcher::open(&catalog, no_ann.path(), MODEL, PIPELINE).unwrap();
        println!(
            "exact searcher load: {:.2} s, mode {:?}",
            start.elapsed().as_secs_f64(),
            exact.mode()
        );
        let mut ms = Vec::new();
        let mut agree = 0;
        for (q, t) in queries.iter().zip(&truth).take(exact_n) {
            let start = Instant::now();
            let hits = exact.search(q, 10, None).unwrap();
            ms.push(start.elapsed().as_secs_f64() * 1e3);
            agree += hits
                .iter()
                .filter(|h| t.iter().any(|x| x.1 == h.0 .0))
                .count();
        }
        println!(
            "exact: recall@10 {:.4} (sanity), top-10 query {} over {exact_n} queries",
            agree as f64 / (10 * exact_n) as f64,
            latencies(ms)
        );
    }
}
