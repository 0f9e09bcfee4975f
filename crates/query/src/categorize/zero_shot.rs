//! Zero-shot CLAP: each UCS CatID described in a few texts, put through
//! the text tower, averaged and normalised into one vector per CatID, and
//! kept in a cache file in the index directory so that the text tower runs
//! once per model (752 CatIDs × 3 texts; with the full model about a
//! minute on two cores).
//!
//! The cache, `ucs-vectors.bin` (index-format.md, "Zero-shot category
//! vectors"), is only a cache: a damaged file, one of another model, of
//! other texts or of a newer format is computed afresh and replaced; one
//! that cannot be written is reported, not fatal.

use std::io::Write;
use std::path::{Path, PathBuf};

use hark_audio::UcsEntry;
use hark_model::Clap;

use super::ucs;
use crate::error::Result;
use crate::vector::{dot, normalize};

/// The cache's file name in the index directory.
pub const ZERO_SHOT_CACHE_FILE: &str = "ucs-vectors.bin";

/// The cache file's first bytes.
const MAGIC: &[u8; 8] = b"HARKUCSV";

/// Its format version.
const VERSION: u32 = 1;

/// How many synonyms the synonym text lists (the list's first, which it
/// sorts alphabetically): enough to say what the CatID holds, short enough
/// to keep the text tower's work small (some CatIDs have over 100).
const SYNONYMS: usize = 16;

/// Texts put through the text tower at once.
const BATCH: usize = 32;

/// The texts that describe a CatID to CLAP's text tower: its category and
/// subcategory ("the sound of doors, wood"), the UCS explanation, and its
/// synonyms ("doors, wood: apartment, armoires, barn, ...").
pub fn prompts(entry: &UcsEntry) -> Vec<String> {
    let category = entry.category.to_lowercase();
    let subcategory = entry.subcategory.to_lowercase();
    // MISC and GENERAL say nothing about the sound.
    let what = if matches!(entry.subcategory, "MISC" | "GENERAL") {
        category
    } else {
        format!("{category}, {subcategory}")
    };
    let synonyms: Vec<&str> = entry.synonyms().take(SYNONYMS).collect();
    let mut texts = vec![format!("the sound of {what}")];
    texts.push(format!("{what} sound effect: {}", entry.explanation));
    if !synonyms.is_empty() {
        texts.push(format!("sounds of {what}: {}", synonyms.join(", ")));
    }
    texts
}

/// One unit vector per CatID of the UCS list, in list order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CategoryTexts {
    dim: usize,
    data: Vec<f32>,
}

impl CategoryTexts {
    /// The cosine of `vector` (a unit vector) with each CatID's vector.
    pub(crate) fn cosines(&self, vector: &[f32]) -> Vec<f32> {
        if vector.len() != self.dim {
            return vec![0.0; self.data.len() / self.dim.max(1)];
        }
        self.data
            .chunks_exact(self.dim)
            .map(|t| dot(t, vector))
            .collect()
    }

    /// The vector dimension.
    pub(crate) fn dim(&self) -> usize {
        self.dim
    }
}

/// The key a cache file is valid for: the model's identity and every text
/// (so new templates or a new UCS list are computed afresh).
fn cache_key(model: &str) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&VERSION.to_le_bytes());
    h.update(model.as_bytes());
    h.update(b"\0");
    for entry in ucs() {
        h.update(entry.cat_id.as_bytes());
        for text in prompts(entry) {
            h.update(b"\0");
            h.update(text.as_bytes());
        }
        h.update(b"\n");
    }
    *h.finalize().as_bytes()
}

/// Computes the vectors with `clap`'s text tower; `progress(done, total)`
/// after each batch of texts.
pub(crate) fn embed_category_texts(
    clap: &Clap,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CategoryTexts> {
    let per_entry: Vec<Vec<String>> = ucs().iter().map(prompts).collect();
    let texts: Vec<&str> = per_entry.iter().flatten().map(String::as_str).collect();
    let mut vectors = Vec::with_capacity(texts.len());
    progress(0, texts.len());
    for batch in texts.chunks(BATCH) {
        vectors.extend(clap.embed_texts(batch)?);
        progress(vectors.len(), texts.len());
    }
    let dim = vectors.first().map_or(0, Vec::len);
    let mut data = Vec::with_capacity(dim * per_entry.len());
    let mut next = vectors.into_iter();
    for prompts in &per_entry {
        let mut mean = vec![0.0f32; dim];
        for v in next.by_ref().take(prompts.len()) {
            // Each text's vector is a unit vector already (CLAP normalises).
            mean.iter_mut().zip(&v).for_each(|(m, x)| *m += x);
        }
        normalize(&mut mean);
        data.extend(mean);
    }
    Ok(CategoryTexts { dim, data })
}

/// The cache file in `dir`.
fn cache_path(dir: &Path) -> PathBuf {
    dir.join(ZERO_SHOT_CACHE_FILE)
}

/// The cached vectors for `model`, if the file in `dir` holds them intact.
pub(crate) fn load_cached(dir: &Path, model: &str) -> Option<CategoryTexts> {
    let bytes = std::fs::read(cache_path(dir)).ok()?;
    decode(&bytes, &cache_key(model))
}

fn decode(bytes: &[u8], key: &[u8; 32]) -> Option<CategoryTexts> {
    let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let rest = body.strip_prefix(MAGIC)?;
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    if u32_at(rest, 0)? != VERSION || rest.get(4..36)? != key {
        return None;
    }
    let model_len = u32_at(rest, 36)? as usize;
    let rest = rest.get(40 + model_len..)?;
    let dim = u32_at(rest, 0)? as usize;
    let count = u32_at(rest, 4)? as usize;
    let floats = rest.get(8..)?;
    if count != ucs().len() || dim == 0 || floats.len() != 4 * dim * count {
        return None;
    }
    let data = floats
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Some(CategoryTexts { dim, data })
}

fn encode(texts: &CategoryTexts, key: &[u8; 32], model: &str) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend(VERSION.to_le_bytes());
    out.extend(key);
    out.extend((model.len() as u32).to_le_bytes());
    out.extend(model.as_bytes());
    out.extend((texts.dim as u32).to_le_bytes());
    out.extend(((texts.data.len() / texts.dim.max(1)) as u32).to_le_bytes());
    for x in &texts.data {
        out.extend(x.to_le_bytes());
    }
    let checksum = blake3::hash(&out);
    out.extend(checksum.as_bytes());
    out
}

/// Saves the vectors for `model` in `dir`: a temporary file beside it,
/// synced, renamed over the old one.
pub(crate) fn save_cache(dir: &Path, model: &str, texts: &CategoryTexts) -> std::io::Result<()> {
    let path = cache_path(dir);
    let temp = dir.join(format!(
        ".{ZERO_SHOT_CACHE_FILE}.{}.tmp",
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&encode(texts, &cache_key(model), model))?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(dim: usize) -> CategoryTexts {
        let data = (0..ucs().len() * dim)
            .map(|i| (i % 7) as f32 - 3.0)
            .collect();
        CategoryTexts { dim, data }
    }

    #[test]
    fn prompts_say_the_category_its_explanation_and_synonyms() {
        let door = ucs().iter().find(|e| e.cat_id == "DOORWood").unwrap();
        assert_eq!(
            prompts(door),
            [
                "the sound of doors, wood",
                "doors, wood sound effect: Wood doors, home, school, most general door category probably.",
                "sounds of doors, wood: apartment, armoires, barn, cabin, church, closet, condo, entrance, front, home, house",
            ]
        );
        let rain = ucs().iter().find(|e| e.cat_id == "RAIN").unwrap();
        assert_eq!(prompts(rain)[0], "the sound of rain");
        // Every CatID has its three texts, none too long for the tokenizer to matter.
        for entry in ucs() {
            let p = prompts(entry);
            assert!((2..=3).contains(&p.len()), "{}", entry.cat_id);
            assert!(p.iter().all(|t| t.len() < 400), "{}: {p:?}", entry.cat_id);
        }
    }

    #[test]
    fn the_cache_round_trips_and_refuses_what_is_not_its_own() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_cached(dir.path(), "m@1"), None);
        let t = texts(4);
        save_cache(dir.path(), "m@1", &t).unwrap();
        assert_eq!(load_cached(dir.path(), "m@1"), Some(t.clone()));
        // Another model's: not used.
        assert_eq!(load_cached(dir.path(), "m@2"), None);
        // One byte changed anywhere: not used.
        let path = cache_path(dir.path());
        let good = std::fs::read(&path).unwrap();
        for at in [0, 9, 60, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 1;
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(load_cached(dir.path(), "m@1"), None, "byte {at}");
        }
        // Cut short, or empty.
        std::fs::write(&path, &good[..good.len() - 5]).unwrap();
        assert_eq!(load_cached(dir.path(), "m@1"), None);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(load_cached(dir.path(), "m@1"), None);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [ZERO_SHOT_CACHE_FILE]);
    }

    #[test]
    fn an_unwritable_place_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir");
        assert!(save_cache(&missing, "m", &texts(2)).is_err());
    }

    #[test]
    fn cosines_are_per_category() {
        let mut t = texts(2);
        t.data = vec![0.0; 2 * ucs().len()];
        t.data[0] = 1.0; // the first CatID points along x
        t.data[3] = 1.0; // the second along y
        let c = t.cosines(&[0.0, 1.0]);
        assert_eq!(c.len(), ucs().len());
        assert_eq!((c[0], c[1]), (0.0, 1.0));
        // A vector of another dimension matches nothing.
        assert!(t.cosines(&[1.0, 0.0, 0.0]).iter().all(|&x| x == 0.0));
    }
}
