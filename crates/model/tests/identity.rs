//! `ModelLocation::identity`: the same files give the same identity wherever
//! they are; different weights give a different one.

use std::path::PathBuf;

use hark_model::ModelLocation;

fn tiny() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clap-tiny");
    assert!(
        dir.join("model.safetensors").is_file(),
        "fixture missing: {}",
        dir.display()
    );
    dir
}

fn location(dir: PathBuf) -> ModelLocation {
    ModelLocation {
        id: dir.display().to_string(),
        dir,
        revision: None,
    }
}

#[test]
fn identity_follows_content_not_place() {
    let original = location(tiny()).identity().unwrap();
    assert!(original.starts_with("dir:"), "{original}");

    let copy = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(tiny().join(f), copy.path().join(f)).unwrap();
    }
    assert_eq!(
        location(copy.path().to_path_buf()).identity().unwrap(),
        original
    );

    // Flip one byte at the end of the weights: a new identity.
    let w = copy.path().join("model.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&w, bytes).unwrap();
    assert_ne!(
        location(copy.path().to_path_buf()).identity().unwrap(),
        original
    );

    let hub = ModelLocation {
        dir: tiny(),
        id: "laion/clap-htsat-fused".into(),
        revision: Some("abc".into()),
    };
    assert_eq!(hub.identity().unwrap(), "laion/clap-htsat-fused@abc");
}
