//! Indexing speed, on generated libraries.
//!
//!     cargo bench -p hark-indexer --bench index -- throughput MODEL_DIR [FILES] [ROUNDS]
//!     cargo bench -p hark-indexer --bench index -- rerun [FILES]
//!
//! `throughput` (full-size model, e.g. target/clap-full-random): files of
//! 10 s, 44.1 kHz stereo 16-bit. Alternates, ROUNDS times, (a) the bare
//! model: the audio tower alone on each file's precomputed input, and (b) a
//! whole `hark index` run into a fresh index (walk, hash, metadata, decode,
//! resample, mel, embed, commit). Prints files per second of each, their
//! ratio, and the catalog's size per file.
//!
//! `rerun`: FILES tiny files in 100 folders, indexed once without a model;
//! then the time of runs that find nothing changed (median of 5).
//!
//! A plain harness rather than criterion: one sample is a whole index run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use hark_indexer::{Event, Model, Options};
use hark_model::{Clap, ModelLocation};

fn wav(rate: u32, channels: u16, frames: usize, seed: u32) -> Vec<u8> {
    let data = frames * channels as usize * 2;
    let mut out = Vec::with_capacity(44 + data);
    out.extend(b"RIFF");
    out.extend(((36 + data) as u32).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(channels.to_le_bytes());
    out.extend(rate.to_le_bytes());
    out.extend((rate * u32::from(channels) * 2).to_le_bytes());
    out.extend((channels * 2).to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend(b"data");
    out.extend((data as u32).to_le_bytes());
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let freq = 80.0 + (seed % 97) as f32 * 23.0;
    for i in 0..frames {
        let tone = (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin();
        for _ in 0..channels {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let noise = (x >> 16) as f32 / 65_536.0 - 0.5;
            out.extend((((0.4 * tone + 0.2 * noise) * 32_767.0) as i16).to_le_bytes());
        }
    }
    out
}

fn index_dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn throughput(model_dir: &Path, files: usize, rounds: usize) {
    let scratch = tempfile::tempdir().unwrap();
    let lib = scratch.path().join("lib");
    let mut paths: Vec<PathBuf> = Vec::new();
    for i in 0..files {
        let p = lib
            .join(format!("folder {}", i % 4))
            .join(format!("clip {i:04}.wav"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, wav(44_100, 2, 441_000, i as u32)).unwrap();
        paths.push(p);
    }
    let location = ModelLocation {
        dir: model_dir.to_path_buf(),
        id: model_dir.display().to_string(),
        revision: None,
    };
    let identity = location.identity().unwrap();
    let clap = Clap::load(&location).unwrap();
    let features: Vec<Vec<f32>> = paths
        .iter()
        .map(|p| {
            let audio = hark_audio::decode_file(p).unwrap();
            clap.audio_features(&audio.samples).unwrap()
        })
        .collect();
    // Warm-up: build the tower, touch the weights.
    clap.embed_features(&features[..1]).unwrap();

    let mut bare = Vec::new();
    let mut whole = Vec::new();
    let mut size_per_file = 0.0;
    for round in 0..rounds {
        let t = Instant::now();
        for f in &features {
            clap.embed_features(std::slice::from_ref(f)).unwrap();
        }
        bare.push(files as f64 / t.elapsed().as_secs_f64());

        let index = scratch.path().join(format!("index-{round}"));
        let options = Options {
            add_roots: vec![lib.clone()],
            ..Options::default()
        };
        let model = Model {
            clap: &clap,
            identity: &identity,
            name: "bench",
        };
        let t = Instant::now();
        let summary =
            hark_indexer::run(&index, &options, Some(model), &mut |_: Event<'_>| {}).unwrap();
        whole.push(files as f64 / t.elapsed().as_secs_f64());
        assert_eq!(summary.added as usize, files, "{summary:?}");
        size_per_file = index_dir_size(&index) as f64 / files as f64;
        eprintln!(
            "round {round}: bare model {:.2} files/s, hark index {:.2} files/s",
            bare[round], whole[round]
        );
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (b, w) = (med(&mut bare), med(&mut whole));
    println!(
        "{{\"files\": {files}, \"rounds\": {rounds}, \"bare_model_files_per_s\": {b:.3}, \"index_files_per_s\": {w:.3}, \"ratio\": {:.3}, \"catalog_bytes_per_file\": {size_per_file:.0}}}",
        w / b
    );
}

fn rerun(files: usize) {
    let scratch = tempfile::tempdir().unwrap();
    let lib = scratch.path().join("lib");
    let tiny = wav(48_000, 1, 2_400, 1);
    for i in 0..files {
        let p = lib
            .join(format!("folder {:03}", i % 100))
            .join(format!("SFX_Sound {i:05}_HK_Lib.wav"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &tiny).unwrap();
    }
    let index = scratch.path().join("index");
    let mut options = Options {
        add_roots: vec![lib.clone()],
        ..Options::default()
    };
    let t = Instant::now();
    let first = hark_indexer::run(&index, &options, None, &mut |_: Event<'_>| {}).unwrap();
    let first_s = t.elapsed().as_secs_f64();
    assert_eq!(first.added as usize, files);
    options.add_roots.clear();
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let s = hark_indexer::run(&index, &options, None, &mut |_: Event<'_>| {}).unwrap();
            assert_eq!(s.unchanged as usize, files);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{{\"files\": {files}, \"first_run_no_model_s\": {first_s:.2}, \"no_change_rerun_s\": {:.3}, \"catalog_bytes_per_file_without_vectors\": {:.0}}}",
        times[2],
        index_dir_size(&index) as f64 / files as f64
    );
}

fn main() {
    hark_model::tune_runtime();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("throughput") => {
            let dir = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| "target/clap-full-random".into());
            let files = args.get(2).map_or(24, |s| s.parse().unwrap());
            let rounds = args.get(3).map_or(3, |s| s.parse().unwrap());
            throughput(&dir, files, rounds);
        }
        Some("rerun") => rerun(args.get(1).map_or(10_000, |s| s.parse().unwrap())),
        _ => eprintln!("usage: index (throughput MODEL_DIR [FILES] [ROUNDS] | rerun [FILES])"),
    }
}
