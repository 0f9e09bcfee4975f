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

/// Where the audio tower's time goes, per clip: its linear layers (gemm) and
/// its window attention, each timed alone on random data with the tower's
/// shapes and the same kernels. The rest (LayerNorm, GELU, gathers, patch
/// embedding, allocation) is the total minus these.
fn audio_breakdown_ms(clap: &Clap) -> (f64, f64) {
    use hark_model::kernels;
    let cfg = &clap.config().audio_config;
    let rand = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 2654435761usize) % 1000) as f32 / 1000.0 - 0.5)
            .collect()
    };
    // (rows, in, out) of every x·Wᵀ; (tokens, heads, head dim, bias windows) of every attention.
    let mut linears: Vec<(usize, usize, usize)> = Vec::new();
    let mut attentions: Vec<(usize, usize, usize, usize)> = Vec::new();
    let grid = cfg.spec_size / cfg.patch_size.pair().0;
    let c0 = cfg.patch_embeds_hidden_size;
    linears.push((grid * grid, 16, c0));
    linears.push((grid * (grid - 1), 48, c0));
    for (s, (&depth, &heads)) in cfg.depths.iter().zip(&cfg.num_attention_heads).enumerate() {
        let c = c0 << s;
        let res = grid >> s;
        let tokens = res * res;
        let win = cfg.window_size.min(res);
        let mlp = (cfg.mlp_ratio * c as f64) as usize;
        for i in 0..depth {
            linears.extend([
                (tokens, c, 3 * c),
                (tokens, c, c),
                (tokens, c, mlp),
                (tokens, mlp, c),
            ]);
            let shifted = i % 2 == 1 && res > cfg.window_size;
            attentions.push((
                tokens,
                heads,
                c / heads,
                if shifted { tokens / (win * win) } else { 1 },
            ));
        }
        if s + 1 < cfg.depths.len() {
            linears.push((tokens / 4, 4 * c, 2 * c));
        }
    }
    let lin: Vec<_> = linears
        .iter()
        .map(|&(r, i, o)| (rand(r * i), rand(o * i), r, i, o))
        .collect();
    let linear_ms = median_ms(2, 10, || {
        for (x, w, r, i, o) in &lin {
            let mut dst = vec![0f32; r * o];
            kernels::matmul_acc(x, *r, *i, w, *o, &mut dst);
        }
    });
    let n = cfg.window_size * cfg.window_size;
    let att: Vec<_> = attentions
        .iter()
        .map(|&(t, h, hd, bw)| (rand(t * 3 * h * hd), rand(bw * h * n * n), t, h, hd))
        .collect();
    let attention_ms = median_ms(2, 10, || {
        for (qkv, bias, t, h, hd) in &att {
            let mut out = vec![0f32; t * h * hd];
            kernels::window_attention(qkv, bias, &mut out, n, *h, *hd);
        }
    });
    (linear_ms, attention_ms)
}

fn main() {
    hark_model::tune_runtime();
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
                "profile-audio" => drop(clap.embed_features(std::slice::from_ref(&feats)).unwrap()),
                _ => drop(
                    clap.install(|| clap.text_tower().unwrap().forward(&[text_ids(16)]).unwrap()),
                ),
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
        clap.install(|| tower.forward(&feats, 1).unwrap());
    });
    let feats4 = feats.repeat(4);
    let audio4 = median_ms(1, 5, || {
        clap.install(|| tower.forward(&feats4, 4).unwrap());
    }) / 4.0;
    let (linear_ms, attention_ms) = clap.install(|| audio_breakdown_ms(&clap));
    let text = clap.text_tower().unwrap();
    let t8 = median_ms(3, 20, || {
        clap.install(|| text.forward(&[text_ids(8)]).unwrap());
    });
    let t16 = median_ms(3, 20, || {
        clap.install(|| text.forward(&[text_ids(16)]).unwrap());
    });
    println!(
        "{}",
        serde_json::json!({
            "threads": candle_core::utils::get_num_threads(),
            "load_to_first_text_ms": load_to_text,
            "first_audio_ms_incl_tower_load": first_audio,
            "mel_10s_ms": mel,
            "audio_10s_ms": audio,
            "audio_10s_linear_layers_ms": linear_ms,
            "audio_10s_window_attention_ms": attention_ms,
            "audio_10s_rest_ms": audio - linear_ms - attention_ms,
            "audio_batch4_per_clip_ms": audio4,
            "text_8_tokens_ms": t8,
            "text_16_tokens_ms": t16,
        })
    );
}
