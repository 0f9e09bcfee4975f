//! A model directory hark cannot run gives an error that names the problem:
//! unsupported settings, missing or misshapen tensors, absent files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
mod common;
use common::fixture_dir;
use hark_model::{Clap, Error};

/// A scratch copy of the tiny model directory, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

fn copy_model(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("hark-model-errors-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "model.safetensors",
    ] {
        std::fs::copy(fixture_dir().join(f), dir.join(f)).unwrap();
    }
    Scratch(dir)
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn load_err(dir: &Path) -> String {
    match Clap::from_dir(dir) {
        Ok(_) => panic!("{} loaded, an error was expected", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unsupported_settings_are_named() {
    let cases: [(&str, &str, serde_json::Value, &str); 5] = [
        (
            "config.json",
            "/audio_config/hidden_act",
            "relu".into(),
            "audio_config.hidden_act",
        ),
        (
            "config.json",
            "/audio_config/fusion_type",
            "channel_map".into(),
            "audio_config.fusion_type",
        ),
        (
            "config.json",
            "/audio_config/enable_fusion",
            false.into(),
            "audio_config.enable_fusion",
        ),
        (
            "config.json",
            "/text_config/hidden_act",
            "gelu_new".into(),
            "text_config.hidden_act",
        ),
        (
            "preprocessor_config.json",
            "/truncation",
            "rand_trunc".into(),
            "truncation",
        ),
    ];
    for (i, (file, pointer, value, key)) in cases.into_iter().enumerate() {
        let dir = copy_model(&format!("setting{i}"));
        edit_json(&dir.join(file), |v| {
            *v.pointer_mut(pointer).unwrap() = value.clone()
        });
        let msg = load_err(&dir);
        assert!(
            msg.contains(key) && msg.contains(file),
            "{pointer}: message {msg:?}"
        );
        assert!(msg.contains("not supported"), "{pointer}: {msg:?}");
    }
}

#[test]
fn a_config_that_is_not_json_names_the_file() {
    let dir = copy_model("badjson");
    std::fs::write(dir.join("config.json"), "{ not json").unwrap();
    let msg = load_err(&dir);
    assert!(msg.contains("config.json"), "{msg}");
}

fn rewrite_weights(dir: &Path, edit: impl FnOnce(&mut HashMap<String, Tensor>)) {
    let path = dir.join("model.safetensors");
    let mut tensors = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    edit(&mut tensors);
    candle_core::safetensors::save(&tensors, &path).unwrap();
}

#[test]
fn a_missing_tensor_is_named() {
    let name = "audio_model.audio_encoder.layers.2.blocks.3.attention.self.key.weight";
    let dir = copy_model("missing");
    rewrite_weights(&dir, |t| {
        t.remove(name).expect("the tensor exists in the fixture");
    });
    let clap = Clap::from_dir(&dir).unwrap();
    // The text tower does not need it: text still works.
    clap.embed_text("rain").unwrap();
    let err = clap
        .audio_tower()
        .err()
        .expect("the audio tower cannot load");
    assert!(matches!(err, Error::Tensor { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(name) && msg.contains("missing"), "{msg}");
}

#[test]
fn a_misshapen_tensor_is_named_with_both_shapes() {
    let name = "text_model.encoder.layer.1.intermediate.dense.weight";
    let dir = copy_model("shape");
    rewrite_weights(&dir, |t| {
        t.insert(
            name.into(),
            Tensor::zeros((7, 5), candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
    });
    let clap = Clap::from_dir(&dir).unwrap();
    let msg = clap
        .text_tower()
        .err()
        .expect("the text tower cannot load")
        .to_string();
    assert!(
        msg.contains(name) && msg.contains("[7, 5]") && msg.contains("[64, 32]"),
        "{msg}"
    );
}

#[test]
fn a_directory_without_weights_lists_what_it_needs() {
    let dir = copy_model("noweights");
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let msg = load_err(&dir);
    assert!(
        msg.contains("model.safetensors") && msg.contains("pytorch_model.bin"),
        "{msg}"
    );
}

#[test]
fn a_pytorch_bin_checkpoint_in_half_precision_loads_and_agrees() {
    let bin = fixture_dir().join("../clap-tiny-pth/pytorch_model.bin");
    assert!(
        bin.is_file(),
        "missing test fixture {}: run `python scripts/make_test_model.py tiny`",
        bin.display()
    );
    let dir = copy_model("pth");
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    std::fs::copy(&bin, dir.join("pytorch_model.bin")).unwrap();
    let from_bin = Clap::from_dir(&dir).unwrap();
    let from_st = Clap::from_dir(&fixture_dir()).unwrap();
    let wave: Vec<f32> = (0..96_000)
        .map(|i| (i as f32 * 0.031).sin() * 0.3)
        .collect();
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let (a, b) = (
        from_bin.embed_audio(&wave).unwrap(),
        from_st.embed_audio(&wave).unwrap(),
    );
    assert!(cos(&a, &b) > 0.995, "audio: cosine {}", cos(&a, &b));
    let (a, b) = (
        from_bin.embed_text("thunder").unwrap(),
        from_st.embed_text("thunder").unwrap(),
    );
    assert!(cos(&a, &b) > 0.995, "text: cosine {}", cos(&a, &b));
    assert_ne!(a, b, "f16 weights should differ in the last digits");
}

#[test]
fn empty_inputs_are_errors_not_panics() {
    let clap = Clap::from_dir(&fixture_dir()).unwrap();
    assert!(matches!(clap.embed_audio(&[]), Err(Error::Input(_))));
    assert!(clap.embed_texts(&[]).unwrap().is_empty());
    // A single sample is a valid (very short) clip.
    assert_eq!(
        clap.embed_audio(&[0.25]).unwrap().len(),
        clap.embedding_dim()
    );
}
