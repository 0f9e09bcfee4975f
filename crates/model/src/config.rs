//! `config.json` and `preprocessor_config.json`, as Hugging Face writes them.
//!
//! Field names are those of the files. Values hark does not implement are
//! rejected by [`ClapConfig::load`] and [`PreprocessorConfig::load`] with an
//! [`Error::Unsupported`] that names the key, never ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// An integer or a pair of integers, as HF writes `patch_size` and `patch_stride`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrTwo {
    /// The same value for height and width.
    One(usize),
    /// `[height, width]`.
    Two([usize; 2]),
}

impl OneOrTwo {
    /// `(height, width)`.
    pub fn pair(self) -> (usize, usize) {
        match self {
            OneOrTwo::One(v) => (v, v),
            OneOrTwo::Two([h, w]) => (h, w),
        }
    }
}

/// The HTSAT audio tower's settings (`audio_config`).
#[derive(Debug, Clone, Deserialize)]
pub struct ClapAudioConfig {
    /// Swin window size (8).
    pub window_size: usize,
    /// Mel bins (64).
    pub num_mel_bins: usize,
    /// Side of the square spectrogram image (256).
    pub spec_size: usize,
    /// MLP activation; only exact `gelu` is implemented.
    pub hidden_act: String,
    /// Patch size (4).
    pub patch_size: OneOrTwo,
    /// Patch stride; must equal the patch size.
    pub patch_stride: OneOrTwo,
    /// Width of the last Swin stage (768).
    pub hidden_size: usize,
    /// Output dimension of the projection (512).
    pub projection_dim: usize,
    /// Blocks per stage (2, 2, 6, 2).
    pub depths: Vec<usize>,
    /// Attention heads per stage (4, 8, 16, 32).
    pub num_attention_heads: Vec<usize>,
    /// Whether the model fuses local crops (true for `clap-htsat-fused`).
    pub enable_fusion: bool,
    /// Fusion kind; `aff_2d` (or unset) is implemented.
    pub fusion_type: Option<String>,
    /// Input channels of the patch embedding (1).
    #[serde(default = "one")]
    pub patch_embed_input_channels: usize,
    /// Whether patch embeddings are flattened to tokens (true).
    #[serde(default = "yes")]
    pub flatten_patch_embeds: bool,
    /// Width of the first Swin stage (96).
    pub patch_embeds_hidden_size: usize,
    /// Whether a LayerNorm follows the patch embedding.
    #[serde(default = "yes")]
    pub enable_patch_layer_norm: bool,
    /// Whether query, key and value projections have biases.
    #[serde(default = "yes")]
    pub qkv_bias: bool,
    /// MLP width as a multiple of the stage width (4).
    pub mlp_ratio: f64,
    /// Channel reduction of the AFF block (4).
    pub aff_block_r: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Projection activation; only `relu` is implemented.
    #[serde(default = "relu")]
    pub projection_hidden_act: String,
}

/// The RoBERTa text tower's settings (`text_config`).
#[derive(Debug, Clone, Deserialize)]
pub struct ClapTextConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width (768).
    pub hidden_size: usize,
    /// Layers (12).
    pub num_hidden_layers: usize,
    /// Heads (12).
    pub num_attention_heads: usize,
    /// MLP width (3072).
    pub intermediate_size: usize,
    /// MLP activation; only exact `gelu` is implemented.
    pub hidden_act: String,
    /// Rows of the position table (514).
    pub max_position_embeddings: usize,
    /// Rows of the token type table (1).
    pub type_vocab_size: usize,
    /// LayerNorm epsilon (CLAP's default is 1e-12, not RoBERTa's 1e-5).
    #[serde(default = "text_eps")]
    pub layer_norm_eps: f64,
    /// Output dimension of the projection.
    pub projection_dim: usize,
    /// Padding token id (1).
    #[serde(default = "one_u32")]
    pub pad_token_id: u32,
    /// Projection activation; only `relu` is implemented.
    #[serde(default = "relu")]
    pub projection_hidden_act: String,
}

/// The whole `config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct ClapConfig {
    /// Text tower settings.
    pub text_config: ClapTextConfig,
    /// Audio tower settings.
    pub audio_config: ClapAudioConfig,
    /// Shared embedding dimension; overrides the towers' own, as in transformers.
    pub projection_dim: Option<usize>,
    /// Shared projection activation; overrides the towers' own, as in transformers.
    pub projection_hidden_act: Option<String>,
}

fn one() -> usize {
    1
}
fn one_u32() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn relu() -> String {
    "relu".into()
}
fn text_eps() -> f64 {
    1e-12
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Config {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Checks one setting; the error names the file, the key and what is supported.
struct Checker<'a> {
    path: &'a Path,
}

impl Checker<'_> {
    fn require(
        &self,
        ok: bool,
        key: &str,
        value: impl std::fmt::Display,
        supported: &str,
    ) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(Error::Unsupported {
                path: self.path.to_owned(),
                key: key.to_owned(),
                value: value.to_string(),
                supported: supported.to_owned(),
            })
        }
    }
}

impl ClapConfig {
    /// Reads and validates `config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let mut config: ClapConfig = read_json(path)?;
        // transformers' ClapConfig copies these onto both towers.
        if let Some(dim) = config.projection_dim {
            config.text_config.projection_dim = dim;
            config.audio_config.projection_dim = dim;
        }
        if let Some(act) = config.projection_hidden_act.clone() {
            config.text_config.projection_hidden_act = act.clone();
            config.audio_config.projection_hidden_act = act;
        }
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let c = Checker { path };
        let a = &self.audio_config;
        let t = &self.text_config;
        c.require(
            a.enable_fusion,
            "audio_config.enable_fusion",
            a.enable_fusion,
            "true (laion/clap-htsat-fused)",
        )?;
        let fusion = a.fusion_type.as_deref().unwrap_or("null");
        c.require(
            matches!(fusion, "aff_2d" | "null"),
            "audio_config.fusion_type",
            fusion,
            "\"aff_2d\"",
        )?;
        c.require(
            a.hidden_act == "gelu",
            "audio_config.hidden_act",
            &a.hidden_act,
            "\"gelu\"",
        )?;
        c.require(
            t.hidden_act == "gelu",
            "text_config.hidden_act",
            &t.hidden_act,
            "\"gelu\"",
        )?;
        for (key, act) in [
            (
                "audio_config.projection_hidden_act",
                &a.projection_hidden_act,
            ),
            (
                "text_config.projection_hidden_act",
                &t.projection_hidden_act,
            ),
        ] {
            c.require(act == "relu", key, act, "\"relu\"")?;
        }
        let (ph, pw) = a.patch_size.pair();
        c.require(
            ph == pw,
            "audio_config.patch_size",
            format!("{ph}x{pw}"),
            "a square patch",
        )?;
        c.require(
            a.patch_stride.pair() == (ph, pw),
            "audio_config.patch_stride",
            format!("{:?}", a.patch_stride.pair()),
            "a stride equal to the patch size",
        )?;
        c.require(
            a.patch_embed_input_channels == 1,
            "audio_config.patch_embed_input_channels",
            a.patch_embed_input_channels,
            "1",
        )?;
        c.require(
            a.flatten_patch_embeds,
            "audio_config.flatten_patch_embeds",
            a.flatten_patch_embeds,
            "true",
        )?;
        c.require(
            a.num_mel_bins > 0 && a.spec_size.is_multiple_of(a.num_mel_bins),
            "audio_config.spec_size",
            a.spec_size,
            "a multiple of num_mel_bins",
        )?;
        let stages = a.depths.len();
        c.require(
            stages > 0 && a.num_attention_heads.len() == stages,
            "audio_config.num_attention_heads",
            format!("{:?}", a.num_attention_heads),
            "one entry per stage of depths",
        )?;
        c.require(
            a.patch_embeds_hidden_size << (stages - 1) == a.hidden_size,
            "audio_config.hidden_size",
            a.hidden_size,
            "patch_embeds_hidden_size * 2^(stages-1)",
        )?;
        // Each stage's grid must tile into whole windows (no padding path).
        let grid = a.spec_size / ph;
        for s in 0..stages {
            let res = grid >> s;
            let dim = a.patch_embeds_hidden_size << s;
            c.require(
                res > 0 && (res <= a.window_size || res.is_multiple_of(a.window_size)),
                "audio_config.window_size",
                a.window_size,
                "a window that tiles every stage's grid",
            )?;
            c.require(
                dim.is_multiple_of(a.num_attention_heads[s]),
                "audio_config.num_attention_heads",
                format!("{:?}", a.num_attention_heads),
                "head counts that divide each stage's width",
            )?;
        }
        c.require(
            a.aff_block_r > 0 && a.patch_embeds_hidden_size.is_multiple_of(a.aff_block_r),
            "audio_config.aff_block_r",
            a.aff_block_r,
            "a divisor of patch_embeds_hidden_size",
        )?;
        c.require(
            t.num_attention_heads > 0 && t.hidden_size.is_multiple_of(t.num_attention_heads),
            "text_config.num_attention_heads",
            t.num_attention_heads,
            "a divisor of hidden_size",
        )?;
        c.require(
            t.max_position_embeddings > t.pad_token_id as usize + 2,
            "text_config.max_position_embeddings",
            t.max_position_embeddings,
            "room for positions after the padding index",
        )?;
        c.require(
            t.type_vocab_size >= 1,
            "text_config.type_vocab_size",
            t.type_vocab_size,
            "at least 1",
        )?;
        c.require(
            a.projection_dim == t.projection_dim,
            "projection_dim",
            format!("audio {} / text {}", a.projection_dim, t.projection_dim),
            "one shared dimension",
        )?;
        Ok(())
    }

    /// Dimension of the shared embedding space (512 for the real model).
    pub fn embedding_dim(&self) -> usize {
        self.audio_config.projection_dim
    }
}

/// `preprocessor_config.json`: the ClapFeatureExtractor's settings.
#[derive(Debug, Clone, Deserialize)]
pub struct PreprocessorConfig {
    /// Mel bins (64).
    pub feature_size: usize,
    /// Expected input rate (48000).
    pub sampling_rate: u32,
    /// STFT hop in samples (480).
    pub hop_length: usize,
    /// Clip length in seconds (10).
    pub max_length_s: usize,
    /// FFT size (1024).
    pub fft_window_size: usize,
    /// Lowest mel filter edge in Hz (50 for the real model).
    #[serde(default)]
    pub frequency_min: f64,
    /// Highest mel filter edge in Hz (14000).
    pub frequency_max: f64,
    /// Only `null` is implemented.
    #[serde(default)]
    pub top_db: Option<f64>,
    /// Only `fusion` is implemented.
    pub truncation: String,
    /// Only `repeatpad` is implemented.
    pub padding: String,
}

impl PreprocessorConfig {
    /// Reads and validates `preprocessor_config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let config: PreprocessorConfig = read_json(path)?;
        let c = Checker { path };
        c.require(
            config.truncation == "fusion",
            "truncation",
            &config.truncation,
            "\"fusion\"",
        )?;
        c.require(
            config.padding == "repeatpad",
            "padding",
            &config.padding,
            "\"repeatpad\"",
        )?;
        c.require(
            config.top_db.is_none(),
            "top_db",
            format!("{:?}", config.top_db),
            "null",
        )?;
        c.require(
            config.sampling_rate > 0,
            "sampling_rate",
            config.sampling_rate,
            "a positive rate",
        )?;
        c.require(
            config.hop_length > 0
                && config.fft_window_size >= 2
                && config.fft_window_size.is_multiple_of(2),
            "fft_window_size",
            config.fft_window_size,
            "an even FFT size and a positive hop",
        )?;
        c.require(
            config.frequency_min >= 0.0
                && config.frequency_min < config.frequency_max
                && config.frequency_max <= config.sampling_rate as f64 / 2.0,
            "frequency_max",
            config.frequency_max,
            "frequency_min < frequency_max <= sampling_rate / 2",
        )?;
        Ok(config)
    }

    /// Samples in one clip (480000).
    pub fn max_samples(&self) -> usize {
        self.max_length_s * self.sampling_rate as usize
    }

    /// Mel frames in one clip (1001): the +1 comes from the centred STFT.
    pub fn chunk_frames(&self) -> usize {
        self.max_samples() / self.hop_length + 1
    }
}

/// Checks that the front end and the audio tower agree.
pub(crate) fn check_pair(
    pre: &PreprocessorConfig,
    audio: &ClapAudioConfig,
    path: PathBuf,
) -> Result<()> {
    let c = Checker { path: &path };
    c.require(
        pre.feature_size == audio.num_mel_bins,
        "feature_size",
        pre.feature_size,
        "audio_config.num_mel_bins of config.json",
    )?;
    let freq_ratio = audio.spec_size / audio.num_mel_bins;
    c.require(
        pre.chunk_frames() <= audio.spec_size * freq_ratio,
        "max_length_s",
        pre.max_length_s,
        "a clip whose frames fit the spectrogram image",
    )
}
