//! hark-model runs LAION's CLAP (`laion/clap-htsat-fused`) on candle, on the
//! CPU: sounds and texts in, unit vectors of one shared space out.
//!
//! # Overview
//!
//! - [`hub`] finds a model directory (`--model DIR`, or a hub id in the
//!   Hugging Face cache) and downloads one on request.
//! - [`Clap`] loads it: `config.json` and `preprocessor_config.json` (checked
//!   by [`config`]), the weights memory-mapped ([`weights`]), and builds each
//!   tower the first time it is needed, so a text search never pays for the
//!   audio tower.
//! - [`mel::MelFrontEnd`] turns 48 kHz mono samples into the (4, 1001, 64)
//!   log-mel input under hark's deterministic rules; [`htsat::AudioTower`]
//!   embeds it; [`tokenizer::TextTokenizer`] and [`text::TextTower`] do the
//!   same for text.
//!
//! The maths follows transformers' `modeling_clap.py` and
//! `feature_extraction_clap.py`; the parity tests hold it to golden outputs
//! that transformers computes for a small checkpoint.

pub mod config;
pub mod error;
pub mod htsat;
pub mod hub;
pub mod kernels;
pub mod mel;
pub mod ops;
pub mod text;
pub mod tokenizer;
pub mod weights;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use candle_core::Tensor;

pub use crate::config::{ClapConfig, PreprocessorConfig};
pub use crate::error::{Error, Result};
pub use crate::hub::{ModelLocation, ModelSpec};
pub use crate::mel::FeatureStream;

use crate::htsat::AudioTower;
use crate::mel::MelFrontEnd;
use crate::text::TextTower;
use crate::tokenizer::TextTokenizer;
use crate::weights::Weights;

/// The sample rate CLAP takes.
pub const SAMPLE_RATE: u32 = 48_000;

/// Names hark's embedding rules; stored with every vector, so that a change
/// of rules re-embeds. Bump it whenever the audio path changes its output.
pub const PIPELINE_VERSION: &str = "hark-clap-2 (fusion always; repeatpad; middle-of-third crops; \
     channel mean; 48k sinc; 10 s moments of files over 30 s)";

/// Process settings for the CPU backend; call first thing in `main`, before
/// any other thread exists (it sets an environment variable).
///
/// candle runs its element-wise operations on a pool whose idle workers spin
/// for ~25000 rounds before sleeping; on 2 cores a spinning worker takes a
/// core from the matrix products that follow. hark does its heavy element-wise
/// work in its own kernels, so candle's pool gets a short spin instead.
/// An explicit `CANDLE_BARRIER_POOL_SPIN_LIMIT` in the environment wins.
pub fn tune_runtime() {
    const SPIN: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(SPIN).is_none() {
        // set_var races with other threads reading the environment: hence the
        // contract above (first thing in main, before any thread exists).
        std::env::set_var(SPIN, "200");
    }
}

/// A loaded CLAP model.
pub struct Clap {
    location: ModelLocation,
    config: ClapConfig,
    front_end: MelFrontEnd,
    weights: Arc<Weights>,
    audio: OnceLock<AudioTower>,
    text: OnceLock<(TextTokenizer, TextTower)>,
}

impl std::fmt::Debug for Clap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clap")
            .field("location", &self.location)
            .finish()
    }
}

/// The tiny test checkpoint (`tests/fixtures/clap-tiny`), for unit tests;
/// a missing fixture fails with how to make it.
#[cfg(test)]
pub(crate) fn tiny_model() -> Clap {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clap-tiny");
    assert!(
        dir.join("model.safetensors").is_file(),
        "missing test fixture {}: run `python scripts/make_test_model.py tiny`",
        dir.display()
    );
    Clap::from_dir(&dir).expect("load the tiny test model")
}

/// One embedding: a unit vector of [`Clap::embedding_dim`] values.
pub type Embedding = Vec<f32>;

fn rows(t: &Tensor) -> Result<Vec<Embedding>> {
    Ok(t.to_vec2::<f32>()?)
}

/// The threads the towers compute on, one per core. A forward pass runs
/// inside this pool, so the calling thread waits instead of competing with
/// the workers for the cores (on 2 cores, a third busy thread costs a third).
fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("hark-model-{i}"))
            .build()
            .unwrap_or_else(|_| {
                // Thread creation failed (a process limit): compute on the caller's thread.
                rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .use_current_thread()
                    .build()
                    .expect("a pool of the current thread")
            })
    })
}

impl Clap {
    /// Loads the model at `location`: reads and checks both configs and maps
    /// the weights. The towers are built on first use.
    pub fn load(location: &ModelLocation) -> Result<Self> {
        let dir = &location.dir;
        let config = ClapConfig::load(&dir.join("config.json"))?;
        let pre_path = dir.join("preprocessor_config.json");
        let pre = PreprocessorConfig::load(&pre_path)?;
        config::check_pair(&pre, &config.audio_config, pre_path)?;
        if pre.sampling_rate != SAMPLE_RATE {
            return Err(Error::Unsupported {
                path: dir.join("preprocessor_config.json"),
                key: "sampling_rate".into(),
                value: pre.sampling_rate.to_string(),
                supported: SAMPLE_RATE.to_string(),
            });
        }
        let weights = Arc::new(Weights::open_dir(dir)?);
        Ok(Self {
            location: location.clone(),
            front_end: MelFrontEnd::new(&pre),
            config,
            weights,
            audio: OnceLock::new(),
            text: OnceLock::new(),
        })
    }

    /// Loads a model directory in the Hugging Face layout.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::load(&hub::locate(&ModelSpec::Dir(dir.to_owned()))?)
    }

    /// Where the model came from.
    pub fn location(&self) -> &ModelLocation {
        &self.location
    }

    /// The model's configuration.
    pub fn config(&self) -> &ClapConfig {
        &self.config
    }

    /// The open checkpoint (read counts are what the weight-usage test checks).
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// Dimension of the embeddings (512 for the real model).
    pub fn embedding_dim(&self) -> usize {
        self.config.embedding_dim()
    }

    /// The front end.
    pub fn front_end(&self) -> &MelFrontEnd {
        &self.front_end
    }

    /// The audio tower, built on first call.
    pub fn audio_tower(&self) -> Result<&AudioTower> {
        if let Some(t) = self.audio.get() {
            return Ok(t);
        }
        let tower = AudioTower::load(
            &self.weights,
            &self.config.audio_config,
            self.front_end.chunk_frames(),
        )?;
        Ok(self.audio.get_or_init(|| tower))
    }

    fn text_parts(&self) -> Result<&(TextTokenizer, TextTower)> {
        if let Some(t) = self.text.get() {
            return Ok(t);
        }
        let tower = TextTower::load(&self.weights, &self.config.text_config)?;
        let tok = TextTokenizer::load(
            &self.location.dir.join("tokenizer.json"),
            tower.max_tokens(),
        )?;
        Ok(self.text.get_or_init(|| (tok, tower)))
    }

    /// The text tower, built on first call.
    pub fn text_tower(&self) -> Result<&TextTower> {
        Ok(&self.text_parts()?.1)
    }

    /// Token ids of `text` as the text tower takes them.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        self.text_parts()?.0.encode(text)
    }

    /// Front-end features of one clip of 48 kHz mono samples (see [`mel`]).
    pub fn audio_features(&self, samples: &[f32]) -> Result<Vec<f32>> {
        pool().install(|| self.front_end.features(samples))
    }

    /// Runs `f` on the model's threads (see the crate's thread notes); what
    /// the towers' own methods do, for callers that drive a tower directly.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        pool().install(f)
    }

    /// Embeds clips already through [`Clap::audio_features`].
    pub fn embed_features(&self, features: &[Vec<f32>]) -> Result<Vec<Embedding>> {
        if features.is_empty() {
            return Ok(Vec::new());
        }
        let flat: Vec<f32> = features.concat();
        let tower = self.audio_tower()?;
        rows(&pool().install(|| tower.forward(&flat, features.len()))?)
    }

    /// Embeds one clip of 48 kHz mono samples.
    pub fn embed_audio(&self, samples: &[f32]) -> Result<Embedding> {
        let mut v = self.embed_audio_batch(&[samples])?;
        Ok(v.remove(0))
    }

    /// Embeds several clips in one pass through the tower.
    pub fn embed_audio_batch(&self, clips: &[&[f32]]) -> Result<Vec<Embedding>> {
        let features = clips
            .iter()
            .map(|c| self.audio_features(c))
            .collect::<Result<Vec<_>>>()?;
        self.embed_features(&features)
    }

    /// Embeds texts (one padded batch).
    pub fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (tok, tower) = self.text_parts()?;
        let ids = texts
            .iter()
            .map(|t| tok.encode(t))
            .collect::<Result<Vec<_>>>()?;
        rows(&tower.forward(&ids)?)
    }

    /// Embeds one text.
    pub fn embed_text(&self, text: &str) -> Result<Embedding> {
        let mut v = self.embed_texts(&[text])?;
        Ok(v.remove(0))
    }
}
