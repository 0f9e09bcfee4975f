//! Speed of the model on a full-size checkpoint (random weights are fine:
//! speed does not depend on their values). Prints one JSON object of median
//! milliseconds, comparable key for key with `scripts/bench_reference.py`.
//!
//!     python scripts/make_test_model.py full      # once: target/clap-full-random
//!     cargo bench -p hark-model --bench clap [-- MODEL_DIR]
//!
//! A plain harness rather than criterion: each audio run takes ~150 ms, and
//! the numbers must line up with the PyTorch script's, which times the same
//! way (warm-up, then the median of N runs).

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use hark_model::Clap;

fn median_ms(warmup: usize, runs: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    t[t.len() / 2]
}

/// Time of the audio tower's matrix products alone, per clip: every matmul
/// the tower performs, with its shapes and layouts, on random data.
fn audio_matmul_ms(clap: &Clap) -> f64 {
    let cfg = &clap.config().audio_config;
    let dev = Device::Cpu;
    let rand = |shape: &[usize]| Tensor::randn(0f32, 1.0, shape, &dev).unwrap();
    // (rows, in, out) of x·Wᵀ, and (batch, m, k, n) of the attention products.
    let mut linears: Vec<(usize, usize, usize)> = Vec::new();
    let mut batched: Vec<(usize, usize, usize, usize)> = Vec::new();
    let grid = cfg.spec_size / cfg.patch_size.pair().0;
    let c0 = cfg.patch_embeds_hidden_size;
    linears.push((grid * grid, 16, c0));
    linears.push((grid * (grid - 1), 48, c0));
    let w = cfg.window_size;
    for (s, (&depth, &heads)) in cfg.depths.iter().zip(&cfg.num_attention_heads).enumerate() {
        let c = c0 << s;
        let res = grid >> s;
        let tokens = res * res;
        let win = w.min(res);
        let n = win * win;
        let nw = tokens / n;
        let hd = c / heads;
        let mlp = (cfg.mlp_ratio * c as f64) as usize;
        for _ in 0..depth {
            linears.extend([
                (tokens, c, 3 * c),
                (tokens, c, c),
                (tokens, c, mlp),
                (tokens, mlp, c),
            ]);
            batched.extend([(nw * heads, n, hd, n), (nw * heads, n, n, hd)]);
        }
        if s + 1 < cfg.depths.len() {
            linears.push((tokens / 4, 4 * c, 2 * c));
        }
    }
    let lin: Vec<(Tensor, Tensor)> = linears
        .iter()
        .map(|&(r, i, o)| (rand(&[r, i]), rand(&[o, i])))
        .collect();
    let bat: Vec<(Tensor, Tensor)> = batched
        .iter()
        .map(|&(b, m, k, n)| (rand(&[b, m, k]), rand(&[b, k, n])))
        .collect();
    median_ms(2, 10, || {
        for (x, wt) in &lin {
            x.matmul(&wt.t().unwrap()).unwrap();
        }
        for (a, b) in &bat {
            a.matmul(b).unwrap();
        }
    })
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    // `profile-audio` / `profile-text` after the directory: loop one path, for perf.
    let profile = args.get(1).cloned();
    let dir = args.first().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/clap-full-random")
    });
    assert!(
        dir.join("config.json").is_file(),
        "no checkpoint at {}: run `python scripts/make_test_model.py full`",
        dir.display()
    );
    let text_ids = |n: usize| -> Vec<u32> {
        let mut ids = vec![0u32];
        ids.extend((100..).take(n - 2));
        ids.push(2);
        ids
    };

    // Cold paths: load (mmap) to the first text and the first audio embedding.
    if let Some(what) = profile {
        let clap = Clap::from_dir(&dir).expect("load");
        let feats = clap.audio_features(&vec![0.1f32; 480_000]).unwrap();
        for _ in 0..30 {
            match what.as_str() {
                "profile-audio" => drop(clap.audio_tower().unwrap().forward(&feats, 1).unwrap()),
                _ => drop(clap.text_tower().unwrap().forward(&[text_ids(16)]).unwrap()),
            }
        }
        return;
    }
    let t = Instant::now();
    let clap = Clap::from_dir(&dir).expect("load");
    clap.text_tower().unwrap().forward(&[text_ids(8)]).unwrap();
    let load_to_text = t.elapsed().as_secs_f64() * 1000.0;
    let wave: Vec<f32> = {
        let mut s = 0x1234_5678u32;
        (0..480_000)
            .map(|_| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                (s as f32 / u32::MAX as f32 - 0.5) * 0.2
            })
            .collect()
    };
    let t = Instant::now();
    clap.embed_audio(&wave).unwrap();
    let first_audio = t.elapsed().as_secs_f64() * 1000.0;

    let mel = median_ms(5, 50, || {
        clap.audio_features(&wave).unwrap();
    });
    let feats = clap.audio_features(&wave).unwrap();
    let tower = clap.audio_tower().unwrap();
    let audio = median_ms(2, 10, || {
        tower.forward(&feats, 1).unwrap();
    });
    let feats4 = feats.repeat(4);
    let audio4 = median_ms(1, 5, || {
        tower.forward(&feats4, 4).unwrap();
    }) / 4.0;
    let matmul = audio_matmul_ms(&clap);
    let text = clap.text_tower().unwrap();
    let t8 = median_ms(3, 20, || {
        text.forward(&[text_ids(8)]).unwrap();
    });
    let t16 = median_ms(3, 20, || {
        text.forward(&[text_ids(16)]).unwrap();
    });
    println!(
        "{}",
        serde_json::json!({
            "threads": candle_core::utils::get_num_threads(),
            "load_to_first_text_ms": load_to_text,
            "first_audio_ms_incl_tower_load": first_audio,
            "mel_10s_ms": mel,
            "audio_10s_ms": audio,
            "audio_10s_matmul_only_ms": matmul,
            "audio_batch4_per_clip_ms": audio4,
            "text_8_tokens_ms": t8,
            "text_16_tokens_ms": t16,
        })
    );
}
