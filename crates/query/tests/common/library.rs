//! A small sound library and its index, built for search tests: generated
//! WAV files in a temporary folder, catalogued through hark-store's API
//! (as `hark index` would), each with its real embedding by the test
//! checkpoint `tests/fixtures/clap-tiny`.
//!
//! Shared by `crates/query/tests/engine.rs` and the end-to-end
//! `tests/search.rs` (included there with `#[path]`).

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};

use hark_model::hub::{self, ModelSpec};
use hark_model::{Clap, PIPELINE_VERSION};
use hark_store::{Catalog, FileId, FileRecord, FileStatus};

/// How a test sound is made.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A sine at this frequency (Hz).
    Sine(f32),
    /// A sine gliding between two frequencies.
    Sweep(f32, f32),
    /// White noise (seeded).
    Noise(u64),
    /// Low-passed noise (a one-pole filter), a rumble.
    Rumble(u64),
    /// Short clicks at this rate (per second).
    Clicks(f32),
}

/// One file of the library.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Path under the library root.
    pub rel: &'static str,
    pub kind: Kind,
    pub seconds: f32,
    pub rate: u32,
    pub channels: u16,
    pub bits: u16,
    /// Tag items, as the indexer stores them.
    pub tags: &'static [(&'static str, &'static str)],
    pub status: FileStatus,
}

const fn spec(
    rel: &'static str,
    kind: Kind,
    seconds: f32,
    rate: u32,
    channels: u16,
    bits: u16,
) -> Spec {
    Spec {
        rel,
        kind,
        seconds,
        rate,
        channels,
        bits,
        tags: &[],
        status: FileStatus::Ok,
    }
}

/// The library: names chosen so that words, folders, tags, UCS fields and
/// every filter have something to find and something to leave out.
pub fn specs() -> Vec<Spec> {
    vec![
        spec(
            "Doors/DOORWood_Creaky Open_HK_TestLib.wav",
            Kind::Sweep(200.0, 800.0),
            1.5,
            48000,
            1,
            24,
        ),
        spec(
            "Doors/DOORMetl_Slam Heavy_HK_TestLib.wav",
            Kind::Noise(1),
            0.8,
            48000,
            2,
            16,
        ),
        spec(
            "Weather/RAINMetl_Heavy On Roof_HK_TestLib.wav",
            Kind::Noise(2),
            3.0,
            44100,
            2,
            16,
        ),
        spec(
            "Weather/Thunder Distant Rumble.wav",
            Kind::Rumble(3),
            4.0,
            96000,
            2,
            24,
        ),
        spec(
            "Tones/Tone Bright 880.wav",
            Kind::Sine(880.0),
            1.0,
            48000,
            1,
            16,
        ),
        spec(
            "Tones/Tone Bright 1760.wav",
            Kind::Sine(1760.0),
            1.0,
            48000,
            1,
            16,
        ),
        spec(
            "Tones/Tone Low 110.wav",
            Kind::Sine(110.0),
            2.0,
            48000,
            1,
            16,
        ),
        spec(
            "Foley/Footsteps Gravel Walk.wav",
            Kind::Clicks(4.0),
            2.5,
            48000,
            1,
            24,
        ),
        spec(
            "Foley/Footsteps Wood Run.bwf",
            Kind::Clicks(8.0),
            1.2,
            48000,
            2,
            24,
        ),
        Spec {
            tags: &[
                ("bext.Description", "storm far away"),
                ("riff.ICMT", "take 17"),
            ],
            ..spec("Misc/Take_017.wav", Kind::Noise(4), 1.0, 22050, 1, 16)
        },
        spec("Misc/Beep Short.wav", Kind::Sine(2000.0), 0.3, 22050, 1, 8),
        spec(
            "Misc/Wind Howl Long.wav",
            Kind::Sweep(300.0, 500.0),
            6.0,
            32000,
            1,
            16,
        ),
        Spec {
            status: FileStatus::Failed,
            ..spec("Misc/Broken Thunder.wav", Kind::Noise(5), 1.0, 48000, 1, 16)
        },
        Spec {
            status: FileStatus::Waiting,
            ..spec(
                "Misc/Thunder Waiting.wav",
                Kind::Rumble(6),
                1.0,
                48000,
                1,
                16,
            )
        },
    ]
}

/// A file as catalogued.
#[derive(Debug, Clone)]
pub struct LibFile {
    pub spec: Spec,
    /// Absolute, canonical path.
    pub path: PathBuf,
    pub id: FileId,
    /// Its stored vector (files with status `ok` only).
    pub vector: Option<Vec<f32>>,
}

/// A built library and index.
pub struct Library {
    /// Holds everything; removed on drop.
    pub temp: tempfile::TempDir,
    /// The library root (canonical).
    pub root: PathBuf,
    /// The index directory.
    pub index: PathBuf,
    /// The test model's directory.
    pub model_dir: PathBuf,
    /// The test model's identity, stored in the index.
    pub model_identity: String,
    pub files: Vec<LibFile>,
}

/// `tests/fixtures/clap-tiny`, found from this crate's directory upward.
pub fn model_dir() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in start.ancestors() {
        let candidate = dir.join("tests/fixtures/clap-tiny");
        if candidate.join("config.json").is_file() {
            return candidate;
        }
    }
    panic!(
        "test fixture missing: tests/fixtures/clap-tiny above {} (the fixture is committed; \
         `just fixtures` regenerates it)",
        start.display()
    );
}

/// The test model, loaded.
pub fn model() -> Clap {
    Clap::from_dir(&model_dir()).expect("the test model loads")
}

/// Samples of one channel of `spec`, in [-0.5, 0.5].
fn samples(spec: &Spec) -> Vec<f32> {
    let n = (spec.seconds * spec.rate as f32) as usize;
    let sr = spec.rate as f32;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    match spec.kind {
        Kind::Sine(f) => (0..n)
            .map(|i| 0.5 * (std::f32::consts::TAU * f * i as f32 / sr).sin())
            .collect(),
        Kind::Sweep(f0, f1) => {
            let mut phase = 0f32;
            (0..n)
                .map(|i| {
                    let f = f0 + (f1 - f0) * i as f32 / n as f32;
                    phase += std::f32::consts::TAU * f / sr;
                    0.5 * phase.sin()
                })
                .collect()
        }
        Kind::Noise(seed) => {
            (0..seed).for_each(|_| {
                noise();
            });
            (0..n).map(|_| noise()).collect()
        }
        Kind::Rumble(seed) => {
            (0..seed).for_each(|_| {
                noise();
            });
            let mut y = 0f32;
            (0..n)
                .map(|_| {
                    y += 0.02 * (noise() - y);
                    8.0 * y
                })
                .collect()
        }
        Kind::Clicks(rate) => {
            let period = (sr / rate) as usize;
            (0..n)
                .map(|i| {
                    let t = i % period;
                    if t < 200 {
                        0.5 * (1.0 - t as f32 / 200.0) * (t as f32 * 0.9).sin()
                    } else {
                        0.0
                    }
                })
                .collect()
        }
    }
}

/// Writes `spec` as a PCM WAV file (the same signal in every channel).
pub fn write_wav(path: &Path, spec: &Spec) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let wav_spec = hound::WavSpec {
        channels: spec.channels,
        sample_rate: spec.rate,
        bits_per_sample: spec.bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, wav_spec).unwrap();
    let scale = ((1i64 << (spec.bits - 1)) - 1) as f32;
    for s in samples(spec) {
        for _ in 0..spec.channels {
            let v = (s.clamp(-1.0, 1.0) * scale) as i32;
            match spec.bits {
                8 => writer.write_sample(v as i8).unwrap(),
                16 => writer.write_sample(v as i16).unwrap(),
                _ => writer.write_sample(v).unwrap(),
            }
        }
    }
    writer.finalize().unwrap();
}

/// Size and modification time, as the catalog stores them.
pub fn stat(path: &Path) -> (u64, i64) {
    let meta = std::fs::metadata(path).unwrap();
    let mtime = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    (meta.len(), mtime)
}

impl Library {
    /// Builds [`specs`] with the test model.
    pub fn build() -> Library {
        Library::build_from(specs())
    }

    /// Builds a library of these files with the test model.
    pub fn build_from(specs: Vec<Spec>) -> Library {
        let model_dir = model_dir();
        let clap = model();
        let model_identity = hub::locate(&ModelSpec::Dir(model_dir.clone()))
            .unwrap()
            .identity()
            .unwrap();
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("Sound Library");
        std::fs::create_dir_all(&root).unwrap();
        let root = root.canonicalize().unwrap();
        let index = temp.path().join("index");
        let mut catalog = Catalog::open(&index).unwrap();
        let mut files = Vec::new();
        for spec in specs {
            let path = root.join(spec.rel);
            let vector = if spec.status == FileStatus::Failed {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, b"not a sound").unwrap();
                None
            } else {
                write_wav(&path, &spec);
                let decoded = hark_audio::decode_file(&path).unwrap();
                Some(clap.embed_audio(&decoded.samples).unwrap())
            };
            let id = catalog
                .transaction(|tx| {
                    let root_id = tx.add_root(&root)?;
                    let record = record_for(root_id, &path, &spec);
                    let id = tx.upsert_file(&record)?;
                    if let (Some(v), FileStatus::Ok) = (&vector, spec.status) {
                        tx.set_vector(id, &model_identity, PIPELINE_VERSION, v)?;
                    }
                    Ok::<_, hark_store::Error>(id)
                })
                .unwrap();
            let vector = vector.filter(|_| spec.status == FileStatus::Ok);
            files.push(LibFile {
                spec,
                path,
                id,
                vector,
            });
        }
        catalog
            .transaction(|tx| {
                tx.set_meta(hark_store::meta::MODEL, &model_identity)?;
                tx.set_meta(hark_store::meta::PIPELINE, PIPELINE_VERSION)
            })
            .unwrap();
        Library {
            temp,
            root,
            index,
            model_dir,
            model_identity,
            files,
        }
    }

    /// The file at `rel` under the root.
    #[track_caller]
    pub fn file(&self, rel: &str) -> &LibFile {
        self.files
            .iter()
            .find(|f| f.spec.rel == rel)
            .unwrap_or_else(|| panic!("no file {rel} in the test library"))
    }

    /// The file with this id.
    #[track_caller]
    pub fn by_id(&self, id: FileId) -> &LibFile {
        self.files
            .iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("no file with id {} in the test library", id.0))
    }

    /// Every file with a vector, by descending cosine to `query`
    /// (computed in f64 from the stored vectors), except `skip`.
    pub fn brute_force(&self, query: &[f32], skip: Option<FileId>) -> Vec<(FileId, f64)> {
        let norm = query
            .iter()
            .map(|x| (*x as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let mut scored: Vec<(FileId, f64)> = self
            .files
            .iter()
            .filter(|f| Some(f.id) != skip)
            .filter_map(|f| {
                let v = f.vector.as_ref()?;
                let cos = v
                    .iter()
                    .zip(query)
                    .map(|(a, b)| *a as f64 * *b as f64)
                    .sum::<f64>()
                    / norm;
                Some((f.id, cos))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored
    }
}

/// The catalog record the indexer would write for `spec` at `path`.
pub fn record_for(root: hark_store::RootId, path: &Path, spec: &Spec) -> FileRecord {
    let (size, mtime_ns) = stat(path);
    let mut r = FileRecord::new(root, path, size, mtime_ns);
    r.content_hash = Some(content_hash(path));
    r.format = Some(path.extension().unwrap().to_string_lossy().to_lowercase());
    r.codec = Some(format!("pcm_s{}le", spec.bits));
    r.duration_s = Some(f64::from(spec.seconds));
    r.sample_rate = Some(spec.rate);
    r.channels = Some(u32::from(spec.channels));
    r.bits_per_sample = Some(u32::from(spec.bits));
    r.tags = spec
        .tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let stem = path.file_stem().unwrap().to_string_lossy();
    if let Some(ucs) = hark_audio::parse_ucs(&stem) {
        r.ucs_category = ucs.category.map(str::to_owned);
        r.ucs_subcategory = ucs.subcategory.map(str::to_owned);
        r.ucs_fx_name = Some(ucs.fx_name.clone());
        r.ucs_cat_id = Some(ucs.cat_id);
    }
    r.peaks = vec![(-10, 12), (-100, 90), (-3, 4)];
    r.status = spec.status;
    if spec.status == FileStatus::Failed {
        r.error = Some("failed to decode: not a sound".into());
    }
    r
}

/// A content hash: FNV-1a of the bytes (any stable function will do here).
fn content_hash(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h.to_le_bytes().to_vec()
}
