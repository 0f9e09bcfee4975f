//! Helpers shared by the model's integration tests.

use std::path::PathBuf;

/// The small CLAP checkpoint and its goldens; fails (never skips) when absent.
pub fn fixture_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clap-tiny");
    assert!(
        dir.join("golden.safetensors").is_file() && dir.join("model.safetensors").is_file(),
        "missing test fixture {}: run `python scripts/make_test_model.py tiny`",
        dir.display()
    );
    dir
}
