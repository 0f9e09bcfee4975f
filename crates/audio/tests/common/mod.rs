//! Helpers shared by the integration tests: scratch directories, committed
//! fixtures, RIFF/IFF chunks.

// Each test binary uses its own subset.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// A scratch directory under cargo's per-target temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("hark-audio-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A committed fixture; its absence fails the test, never skips it.
pub fn fixture(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/test")
        .join(name);
    assert!(
        path.is_file(),
        "missing test fixture `{}`: regenerate it with `python assets/test/make_fixtures.py`",
        path.display()
    );
    path
}

/// A RIFF (little-endian) or IFF (big-endian) chunk, padded to even length.
pub fn chunk(id: &[u8; 4], body: &[u8], big_endian: bool) -> Vec<u8> {
    let mut out = id.to_vec();
    let len = body.len() as u32;
    out.extend(if big_endian {
        len.to_be_bytes()
    } else {
        len.to_le_bytes()
    });
    out.extend(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// xorshift64: a small deterministic pseudo-random generator, for
/// reproducible damage to test files.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
