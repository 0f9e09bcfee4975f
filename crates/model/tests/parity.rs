//! Parity with transformers: the small checkpoint in `tests/fixtures/clap-tiny`
//! and the golden values `scripts/make_test_model.py tiny` computed for it.

use std::sync::OnceLock;

use candle_core::Tensor;
mod common;
use common::fixture_dir;
use hark_model::Clap;

const SR: f64 = 48_000.0;

fn model() -> &'static Clap {
    static M: OnceLock<Clap> = OnceLock::new();
    M.get_or_init(|| Clap::from_dir(&fixture_dir()).expect("load the tiny checkpoint"))
}

struct Golden {
    tensors: std::collections::HashMap<String, Tensor>,
    meta: serde_json::Value,
}

fn golden() -> &'static Golden {
    static G: OnceLock<Golden> = OnceLock::new();
    G.get_or_init(|| {
        let dir = fixture_dir();
        let tensors = candle_core::safetensors::load(
            dir.join("golden.safetensors"),
            &candle_core::Device::Cpu,
        )
        .expect("read golden.safetensors");
        let meta = serde_json::from_str(
            &std::fs::read_to_string(dir.join("golden.json")).expect("read golden.json"),
        )
        .expect("parse golden.json");
        Golden { tensors, meta }
    })
}

fn g(name: &str) -> Vec<f32> {
    golden()
        .tensors
        .get(name)
        .unwrap_or_else(|| panic!("golden tensor {name} missing"))
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// The script's test signal (`synth` in make_test_model.py), operation for operation.
fn synth(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed;
    let dur = (n as f64 / SR).max(1e-9);
    let (f0, f1) = (200.0f64, 4000.0f64);
    (0..n)
        .map(|i| {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            let noise = state as f64 / 2147483648.0 - 1.0;
            let t = i as f64 / SR;
            let phase = 2.0 * std::f64::consts::PI * (f0 * t + (f1 - f0) * t * t / (2.0 * dur));
            let tremolo = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
            (0.4 * phase.sin() * tremolo + 0.05 * noise) as f32
        })
        .collect()
}

fn case(name: &str) -> Vec<f32> {
    let c = &golden().meta["cases"][name];
    synth(
        c["samples"].as_u64().unwrap() as usize,
        c["seed"].as_u64().unwrap() as u32,
    )
}

const CASES: [&str; 5] = ["s0_2", "s3", "s10", "s480200", "s27"];

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn assert_embedding(name: &str, got: &[f32], want: &[f32], min_cos: f64, max_abs: f32) {
    let c = cosine(got, want);
    let d = max_abs_diff(got, want);
    eprintln!("{name}: cosine {c:.9}, max abs diff {d:.2e}");
    assert!(c >= min_cos, "{name}: cosine {c} < {min_cos}");
    assert!(d <= max_abs, "{name}: max abs diff {d} > {max_abs}");
}

#[test]
fn mel_features_match_reference() {
    let m = model();
    for name in CASES {
        let feats = m.audio_features(&case(name)).unwrap();
        let want = g(&format!("{name}.mel"));
        let chunk = want.len() / if want.len() == feats.len() { 4 } else { 1 };
        assert_eq!(feats.len(), 4 * 1001 * 64, "{name}: feature size");
        let got = if want.len() == feats.len() {
            feats.clone()
        } else {
            for c in 1..4 {
                assert_eq!(
                    &feats[..chunk],
                    &feats[c * chunk..(c + 1) * chunk],
                    "{name}: channel {c} is not a copy"
                );
            }
            feats[..chunk].to_vec()
        };
        let d = max_abs_diff(&got, &want);
        eprintln!("{name}: mel max abs diff {d:.2e} dB");
        assert!(d <= 5e-3, "{name}: mel differs by {d} dB");
    }
}

#[test]
fn audio_blocks_match_reference() {
    let m = model();
    let tower = m.audio_tower().unwrap();
    for name in ["s27", "s3"] {
        let feats = m.audio_features(&case(name)).unwrap();
        let (traced, trace) = tower.forward_traced(&feats, 1).unwrap();
        let plain = tower.forward(&feats, 1).unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(
            flat(&traced),
            flat(&plain),
            "{name}: traced and plain passes differ"
        );
        let mut blocks: Vec<(String, &Tensor)> = vec![
            ("patch_embed".into(), trace.patch_embed.as_ref().unwrap()),
            ("final_norm".into(), trace.final_norm.as_ref().unwrap()),
            ("pooled".into(), trace.pooled.as_ref().unwrap()),
        ];
        if name == "s27" {
            blocks.insert(0, ("image".into(), trace.image.as_ref().unwrap()));
        }
        for (i, s) in trace.stages.iter().enumerate() {
            blocks.push((format!("stage{i}"), s));
        }
        for (block, t) in blocks {
            let got: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            let want = g(&format!("{name}.{block}"));
            let scale = want.iter().fold(1f32, |a, v| a.max(v.abs()));
            let d = max_abs_diff(&got, &want);
            eprintln!("{name}.{block}: max abs diff {d:.2e} (scale {scale:.1})");
            assert!(
                d <= 2e-4 * scale,
                "{name}.{block}: max abs diff {d} at scale {scale}"
            );
        }
    }
}

#[test]
fn audio_embeddings_match_reference() {
    let m = model();
    for name in CASES {
        let e = m.embed_audio(&case(name)).unwrap();
        assert_embedding(name, &e, &g(&format!("{name}.embedding")), 0.99999, 1e-4);
    }
}

#[test]
fn decoded_files_match_reference() {
    let m = model();
    let dir = fixture_dir();
    let stereo = hark_audio::decode_file(&dir.join("stereo_48k.wav")).unwrap();
    assert_eq!(stereo.channels, 2);
    let e = m.embed_audio(&stereo.samples).unwrap();
    assert_embedding("stereo_48k", &e, &g("stereo_48k.embedding"), 0.99999, 1e-4);
    // Through the resampler: transformers was fed soxr's very-high-quality resample.
    let resampled = hark_audio::decode_file(&dir.join("mono_44k1.wav")).unwrap();
    assert_eq!(resampled.source_rate, 44_100);
    let e = m.embed_audio(&resampled.samples).unwrap();
    assert_embedding("mono_44k1", &e, &g("mono_44k1.embedding"), 0.999, 1.0);
}

#[test]
fn text_matches_reference() {
    let m = model();
    let meta = &golden().meta;
    let texts: Vec<&str> = meta["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let want_ids: Vec<Vec<u32>> = serde_json::from_value(meta["input_ids"].clone()).unwrap();
    let ids: Vec<Vec<u32>> = texts.iter().map(|t| m.tokenize(t).unwrap()).collect();
    let (pooled, padded) = m.text_tower().unwrap().pooled(&ids).unwrap();
    assert_eq!(padded, want_ids, "token ids");
    let d = max_abs_diff(
        &pooled.flatten_all().unwrap().to_vec1().unwrap(),
        &g("text.pooled"),
    );
    assert!(d <= 1e-4, "pooled differs by {d}");
    let got = m.embed_texts(&texts).unwrap();
    let want = g("text.embedding");
    let dim = m.embedding_dim();
    for (i, e) in got.iter().enumerate() {
        assert_embedding(texts[i], e, &want[i * dim..(i + 1) * dim], 0.99999, 1e-4);
    }
    // Alone, without padding, each text gives the same vector.
    for (i, t) in texts.iter().enumerate() {
        let alone = m.embed_text(t).unwrap();
        assert!(
            max_abs_diff(&alone, &got[i]) <= 1e-5,
            "{t}: padded and alone differ"
        );
    }
}

#[test]
fn embeddings_are_deterministic_and_batch_independent() {
    let m = model();
    let clips: Vec<Vec<f32>> = ["s0_2", "s3", "s27"].iter().map(|c| case(c)).collect();
    let first = m.embed_audio(&clips[1]).unwrap();
    let again = m.embed_audio(&clips[1]).unwrap();
    assert_eq!(first, again, "same clip, same process: bit-identical");
    let refs: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
    let batch = m.embed_audio_batch(&refs).unwrap();
    for (clip, b) in clips.iter().zip(&batch) {
        let alone = m.embed_audio(clip).unwrap();
        let d = max_abs_diff(&alone, b);
        assert!(d <= 1e-6, "batch vs alone differ by {d}");
    }
}

#[test]
fn every_checkpoint_tensor_is_used_exactly_once() {
    // A fresh model, so the counts are this test's own.
    let m = Clap::from_dir(&fixture_dir()).unwrap();
    m.audio_tower().unwrap();
    m.text_tower().unwrap();
    let counts = m.weights().read_counts();
    let ignored = |n: &str| {
        hark_model::weights::IGNORED_SUFFIXES
            .iter()
            .any(|s| n.ends_with(s))
    };
    let mut problems = Vec::new();
    for name in m.weights().names() {
        let n = counts.get(name).copied().unwrap_or(0);
        match (ignored(name), n) {
            (false, 1) | (true, 0) => {}
            (false, n) => problems.push(format!("{name}: read {n} times")),
            (true, n) => problems.push(format!("{name}: ignored buffer read {n} times")),
        }
    }
    assert!(
        problems.is_empty(),
        "weight usage:\n{}",
        problems.join("\n")
    );
    let weights = m.weights().names().iter().filter(|n| !ignored(n)).count();
    assert_eq!(
        counts.len(),
        weights,
        "tensors read vs weights in the checkpoint"
    );
}
