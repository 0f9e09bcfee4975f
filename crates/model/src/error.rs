//! The model crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while locating, loading or running CLAP.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file of the model directory could not be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A configuration file is not valid JSON of the expected shape.
    #[error("invalid `{}`: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A configuration value that hark does not implement.
    #[error("`{}`: {key} = {value} is not supported (hark supports {supported})", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The key, dotted (`audio_config.hidden_act`).
        key: String,
        /// The value found.
        value: String,
        /// What hark accepts instead.
        supported: String,
    },
    /// A checkpoint tensor is missing or has the wrong shape or type.
    #[error("checkpoint `{}`: tensor `{name}`: {message}", path.display())]
    Tensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor's key.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// No model files where they were looked for.
    #[error("{message}")]
    ModelNotFound {
        /// A full explanation: where hark looked, which files it expects and how to supply them.
        message: String,
    },
    /// Downloading from the Hugging Face hub failed.
    #[error("cannot download `{file}` of `{repo}` from the Hugging Face hub")]
    Download {
        /// The hub repository.
        repo: String,
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The tokenizer could not be loaded or failed on a text.
    #[error("tokenizer `{}`: {message}", path.display())]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The caller passed something the model cannot take (an empty clip, say).
    #[error("{0}")]
    Input(String),
    /// A tensor operation failed.
    #[error("tensor computation failed")]
    Candle(#[from] candle_core::Error),
}

/// Short for `Result<T, hark_model::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
