//! Query speed on a synthetic index: N files (default 100 000) with
//! generated UCS-style names in folders, format facts, and random unit
//! 512-d vectors tagged with a model identity.
//!
//!     cargo bench -p hark-query --bench query -- [--files N] [--runs R]
//!         [--model DIR] [--hark PATH/TO/hark]
//!
//! Prints a Markdown table of milliseconds:
//!
//! - in process, `Engine::run` with given query vectors (the text tower
//!   excluded): p50 and p99 over R random queries of each kind;
//! - with `--hark` (a release `hark` binary) and `--model` (a full-size
//!   checkpoint, e.g. the random-weight one `just full-model` makes): cold
//!   `hark search` processes, the median time to the first byte of output
//!   and to exit over 21 runs: with a text new to the text cache, each
//!   paired with a cold `hark embed --text` of the same text (the text
//!   tower alone, model load included), and the median of the pairs'
//!   differences; with no cache file yet; with a cache hit; a listing.
//!
//! The index is built once per (N, model identity) under
//! `$CARGO_TARGET_DIR/bench-index-N` (or `target/…`) and reused.
//! A plain harness, not criterion: the cold-process figures are whole
//! processes, and the percentiles are what the targets are stated in.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use hark_model::hub::{self, ModelSpec};
use hark_query::{Engine, Query, QueryVectors, SimilarTarget};
use hark_store::{Catalog, FileId, FileRecord, FileStatus};

const DIM: usize = 512;

/// Words of names and queries.
const WORDS: &[&str] = &[
    "door",
    "creak",
    "slam",
    "wood",
    "metal",
    "glass",
    "rain",
    "heavy",
    "light",
    "roof",
    "thunder",
    "distant",
    "rumble",
    "wind",
    "howl",
    "gust",
    "water",
    "drip",
    "splash",
    "river",
    "ocean",
    "wave",
    "footsteps",
    "gravel",
    "concrete",
    "snow",
    "mud",
    "grass",
    "run",
    "walk",
    "jump",
    "car",
    "engine",
    "idle",
    "pass",
    "horn",
    "brake",
    "tire",
    "skid",
    "crash",
    "impact",
    "hit",
    "punch",
    "whoosh",
    "swish",
    "sword",
    "gun",
    "shot",
    "reload",
    "laser",
    "beep",
    "alarm",
    "bell",
    "chime",
    "clock",
    "tick",
    "crowd",
    "cheer",
    "applause",
    "laugh",
    "scream",
    "baby",
    "dog",
    "bark",
    "cat",
    "meow",
    "bird",
    "chirp",
    "crow",
    "owl",
    "insect",
    "bee",
    "fly",
    "fire",
    "crackle",
    "burn",
    "explosion",
    "debris",
    "paper",
    "tear",
    "cloth",
    "zipper",
    "keys",
    "coins",
    "phone",
    "ring",
    "keyboard",
    "mouse",
    "click",
    "button",
    "switch",
    "machine",
    "hum",
    "buzz",
    "drone",
    "low",
    "high",
    "short",
    "long",
    "soft",
    "hard",
    "close",
    "far",
    "interior",
    "exterior",
    "room",
    "hall",
    "forest",
    "city",
    "street",
    "traffic",
    "train",
    "plane",
    "boat",
];

const CAT_IDS: &[&str] = &[
    "DOORWood",
    "DOORMetl",
    "RAIN",
    "WINDGust",
    "WATRDrip",
    "FOOTGrvl",
    "VEHCar",
    "GUNAuto",
    "BELLHand",
    "CROWDCheer",
    "ANMLDog",
    "BIRDSong",
    "FIREBurn",
    "EXPLReal",
    "CLOTHMvmt",
    "MACHHum",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn vector(&mut self) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM).map(|_| self.unit() - 0.5).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    }
}

struct Args {
    files: usize,
    runs: usize,
    model: Option<PathBuf>,
    hark: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        files: 100_000,
        runs: 300,
        model: None,
        hark: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--files" => a.files = it.next().and_then(|v| v.parse().ok()).expect("--files N"),
            "--runs" => a.runs = it.next().and_then(|v| v.parse().ok()).expect("--runs R"),
            "--model" => a.model = Some(it.next().expect("--model DIR").into()),
            "--hark" => a.hark = Some(it.next().expect("--hark PATH").into()),
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => panic!("unknown argument {other:?}"),
        }
    }
    a
}

/// Builds (or reuses) the synthetic index; returns its directory.
fn build_index(files: usize, model: &str) -> PathBuf {
    // Benches run in the crate's folder: default to the workspace's target.
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = base.join(format!("bench-index-{files}"));
    let marker = dir.join("built-for");
    // The model, the embedding pipeline and the ANN format the index was
    // built for: any change builds it again.
    let built_for = format!(
        "{model}\n{}\nschema {}",
        hark_model::PIPELINE_VERSION,
        hark_store::SCHEMA_VERSION
    );
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(built_for.as_str()) {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let start = Instant::now();
    let mut catalog = Catalog::open(&dir).expect("create the bench catalog");
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let root = Path::new("/bench/Sound Library");
    let batch = 5000;
    for first in (0..files).step_by(batch) {
        catalog
            .transaction(|tx| {
                let root_id = tx.add_root(root)?;
                for i in first..(first + batch).min(files) {
                    let cat = CAT_IDS[rng.below(CAT_IDS.len())];
                    let name = format!(
                        "{cat}_{} {} {}_HK_Bench {i}.wav",
                        WORDS[rng.below(WORDS.len())],
                        WORDS[rng.below(WORDS.len())],
                        WORDS[rng.below(WORDS.len())]
                    );
                    let folder = format!(
                        "{}/{}",
                        WORDS[rng.below(WORDS.len())],
                        WORDS[rng.below(WORDS.len())]
                    );
                    let path = root.join(folder).join(&name);
                    let mut r = FileRecord::new(root_id, &path, 1_000_000, i as i64);
                    r.content_hash = Some((i as u64).to_le_bytes().to_vec());
                    r.format = Some("wav".into());
                    r.duration_s = Some(0.1 + 60.0 * f64::from(rng.unit()).powi(3));
                    r.sample_rate = Some([44_100, 48_000, 96_000][rng.below(3)]);
                    r.channels = Some(1 + rng.below(2) as u32);
                    r.bits_per_sample = Some([16, 24][rng.below(2)]);
                    if let Some(ucs) = hark_audio::parse_ucs(&name) {
                        r.ucs_category = ucs.category.map(str::to_owned);
                        r.ucs_subcategory = ucs.subcategory.map(str::to_owned);
                        r.ucs_fx_name = Some(ucs.fx_name.clone());
                        r.ucs_cat_id = Some(ucs.cat_id);
                    }
                    r.status = FileStatus::Ok;
                    let id = tx.upsert_file(&r)?;
                    tx.set_vector(id, model, hark_model::PIPELINE_VERSION, &rng.vector())?;
                }
                Ok::<_, hark_store::Error>(())
            })
            .expect("fill the bench catalog");
    }
    catalog
        .transaction(|tx| {
            tx.set_meta(hark_store::meta::MODEL, model)?;
            tx.set_meta(hark_store::meta::PIPELINE, hark_model::PIPELINE_VERSION)
        })
        .expect("write meta");
    // What `hark index` does at the end of a run: the ANN graph, from
    // 20,000 vectors on.
    let ann = hark_store::ann::refresh_ann(&catalog, &dir, model, hark_model::PIPELINE_VERSION)
        .expect("build the ANN graph");
    eprintln!(
        "ANN: {:?} over {} vectors in {:.1} s",
        ann.action, ann.indexed, ann.seconds
    );
    drop(catalog);
    std::fs::write(&marker, &built_for).expect("write the marker");
    eprintln!(
        "built {files} files in {:.1} s at {}",
        start.elapsed().as_secs_f64(),
        dir.display()
    );
    dir
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// (p50, p99) of the samples.
fn percentiles(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| t[((q * t.len() as f64).ceil() as usize).clamp(1, t.len()) - 1];
    (at(0.5), at(0.99))
}

fn median(t: Vec<f64>) -> f64 {
    percentiles(t).0
}

fn row(name: &str, (p50, p99): (f64, f64)) {
    println!("| {name} | {p50:.2} | {p99:.2} |");
}

fn in_process(dir: &Path, model: ModelSpec, runs: usize, files: usize) {
    // What the first query with filters pays (reading the column table),
    // and the first listing (the path order), and what the table keeps.
    let catalog = Catalog::open_readonly(dir).expect("open the catalog");
    let start = Instant::now();
    let columns = catalog
        .read(|tx| tx.file_columns())
        .expect("read the columns");
    let columns_ms = ms(start);
    let start = Instant::now();
    let filter = Query::parse("dur:<1s").unwrap().filters[0]
        .condition
        .clone();
    catalog
        .read(|tx| columns.list_by_path(tx, &[filter], 20))
        .expect("list");
    let order_ms = ms(start);
    let (columns_mb, columns_len) = (columns.heap_bytes() as f64 / 1e6, columns.len());
    drop((columns, catalog));
    let start = Instant::now();
    let engine = Engine::open(dir, model).expect("open the bench index");
    let open_ms = ms(start);
    let start = Instant::now();
    engine.warm().expect("load the vectors");
    let warm_ms = ms(start);
    println!("\nIn process, {files} files, {runs} queries each (ms):\n");
    println!("| step | p50 | p99 |");
    println!("| --- | ---: | ---: |");
    println!("| Engine::open | {open_ms:.2} | |");
    println!("| load vectors (ANN graph from 20k vectors, else exact) | {warm_ms:.1} | |");
    println!("| read the column table (first query with filters) | {columns_ms:.1} | |");
    println!("| its path order (first listing) | {order_ms:.1} | |");
    println!("| column table memory: {columns_mb:.1} MB for {columns_len} files | | |");
    let mut rng = Rng(7);
    let k = 20;
    let mut time = |name: &str, make: &mut dyn FnMut(&mut Rng) -> (Query, Option<QueryVectors>)| {
        let mut t = Vec::with_capacity(runs);
        let mut hits = 0usize;
        for _ in 0..runs {
            let (q, v) = make(&mut rng);
            let s = Instant::now();
            hits += engine.run(&q, v.as_ref(), k).expect("run").len();
            t.push(ms(s));
        }
        assert!(hits > 0, "{name}: no hits at all");
        row(name, percentiles(t));
    };
    let vectors = |rng: &mut Rng, excluded: usize| QueryVectors {
        positive: Some(rng.vector()),
        excluded: (0..excluded).map(|_| rng.vector()).collect(),
        computed: 0,
    };
    let word = |rng: &mut Rng| WORDS[rng.below(WORDS.len())];
    time("text query (sound + words), k=20", &mut |rng| {
        let q = Query::parse(&format!("{} {}", word(rng), word(rng))).unwrap();
        (q, Some(vectors(rng, 0)))
    });
    time("text query with an exclusion", &mut |rng| {
        let q = Query::parse(&format!("{} -{}", word(rng), word(rng))).unwrap();
        (q, Some(vectors(rng, 1)))
    });
    time(
        "text query + filter dur:<2s (same filter as before)",
        &mut |rng| {
            let q = Query::parse(&format!("{} dur:<2s", word(rng))).unwrap();
            (q, Some(vectors(rng, 0)))
        },
    );
    time(
        "text query + a new filter each time (dur:<Xs)",
        &mut |rng| {
            let limit = 1.0 + rng.unit() * 3.0;
            let q = Query::parse(&format!("{} dur:<{limit:.4}s", word(rng))).unwrap();
            (q, Some(vectors(rng, 0)))
        },
    );
    time(
        "text query + filter ch:1 sr:>=48k (same filter)",
        &mut |rng| {
            let q = Query::parse(&format!("{} ch:1 sr:>=48k", word(rng))).unwrap();
            (q, Some(vectors(rng, 0)))
        },
    );
    time("words only (no vectors)", &mut |rng| {
        (Query::parse(word(rng)).unwrap(), None)
    });
    time("words + filter dur:<2s (no vectors)", &mut |rng| {
        (
            Query::parse(&format!("{} dur:<2s", word(rng))).unwrap(),
            None,
        )
    });
    time("listing dur:<1s ch:2", &mut |_| {
        (Query::parse("dur:<1s ch:2").unwrap(), None)
    });
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs {
        let id = FileId(1 + rng.below(files) as i64);
        let s = Instant::now();
        let hits = engine
            .similar(&SimilarTarget::File(id), k, None)
            .expect("similar");
        t.push(ms(s));
        assert_eq!(hits.len(), k);
    }
    row("similar (indexed file), k=20", percentiles(t));
    let filter = Query::parse("dur:<2s").unwrap();
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs {
        let id = FileId(1 + rng.below(files) as i64);
        let s = Instant::now();
        let hits = engine
            .similar_filtered(&SimilarTarget::File(id), k, None, Some(&filter))
            .expect("similar");
        t.push(ms(s));
        assert_eq!(hits.len(), k);
    }
    row(
        "similar + filter dur:<2s (sound alone), k=20",
        percentiles(t),
    );
}

/// Runs `cmd`, returning (ms to the first byte of stdout, ms to exit).
fn timed(cmd: &mut Command) -> (f64, f64) {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hark");
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    let first = match stdout.read(&mut byte) {
        Ok(1) => ms(start),
        _ => f64::NAN,
    };
    let mut rest = Vec::new();
    let _ = stdout.read_to_end(&mut rest);
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    let status = child.wait().expect("wait for hark");
    let total = ms(start);
    assert!(status.success(), "{cmd:?} failed: {err}");
    (first, total)
}

fn cold(hark: &Path, dir: &Path, model: &Path, runs: usize) {
    let query = "distant thunder rumble";
    let base = || {
        let mut c = Command::new(hark);
        c.arg("--index").arg(dir).arg("--model").arg(model);
        c
    };
    // The text tower alone against a search that runs it, in pairs: each
    // pair embeds and searches the same text, new to the text cache (a
    // number unique to this run and pair), one right after the other, so
    // that the machine's drifts fall on both; one pair first warms the OS
    // page cache. The difference is taken per pair.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() % 1_000_000);
    let (mut tower, mut search, mut extra) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..=runs {
        let text = format!("{query} {nonce}{i:03}");
        let e = timed(base().args(["embed", "--text", &text]));
        let s = timed(base().args(["search", &text, "--json"]));
        if i > 0 {
            tower.push(e);
            search.push(s);
            extra.push((s.0 - e.0, s.1 - e.1));
        }
    }
    let mut rows: Vec<(&str, Vec<(f64, f64)>)> = vec![
        ("hark embed --text (text tower alone, cold)", tower),
        (
            "hark search, a text new to the cache (text tower runs)",
            search,
        ),
        (
            "  the search's extra time, median of the pairs' differences",
            extra,
        ),
    ];
    let mut record = |name, f: &mut dyn FnMut() -> (f64, f64)| {
        f(); // warm the OS page cache
        rows.push((name, (0..runs).map(|_| f()).collect()));
    };
    // The first search of an index also creates the text cache's file.
    let cache = dir.join(hark_query::TEXT_CACHE_FILE);
    record("hark search, no text cache file yet", &mut || {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = cache.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
        timed(base().args(["search", query, "--json"]))
    });
    record("hark search, text cache hit (no model load)", &mut || {
        timed(base().args(["search", query, "--json"]))
    });
    record("hark search 'dur:<2s ch:1' (listing)", &mut || {
        timed(base().args(["search", "dur:<2s ch:1", "--json"]))
    });
    println!("\nCold processes, median of {runs} (ms):\n");
    println!("| command | first byte | exit |");
    println!("| --- | ---: | ---: |");
    for (name, t) in rows {
        let first = median(t.iter().map(|x| x.0).collect());
        let exit = median(t.iter().map(|x| x.1).collect());
        println!("| {name} | {first:.1} | {exit:.1} |");
    }
}

fn main() {
    let args = args();
    let identity = match &args.model {
        Some(dir) => hub::locate(&ModelSpec::Dir(dir.clone()))
            .expect("the model directory")
            .identity()
            .expect("the model's identity"),
        None => "bench-model@synthetic".to_owned(),
    };
    let dir = build_index(args.files, &identity);
    let spec = ModelSpec::Dir(args.model.clone().unwrap_or_else(|| dir.join("no-model")));
    in_process(&dir, spec, args.runs, args.files);
    if let (Some(hark), Some(model)) = (&args.hark, &args.model) {
        cold(hark, &dir, model, 21);
    }
}
