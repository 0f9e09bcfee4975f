//! The one error type of hark-audio: what went wrong, naming the file.

use std::path::{Path, PathBuf};

/// Why a file could not be turned into samples, or (for [`read_metadata`](crate::read_metadata))
/// could not be opened or recognised as audio at all.
///
/// Each variant that concerns a file carries its path, and its `Display` reads
/// "failed to decode `path`: cause" (or "failed to open `path`: cause"), the
/// cause included, so the message stands on its own; the underlying errors are
/// kept in the `cause` fields for callers that want to inspect them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened (missing, unreadable).
    #[error("failed to open `{}`: {cause}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },

    /// The file is empty.
    #[error("failed to decode `{}`: empty file", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },

    /// No container reader recognised the content: not audio, a truncated
    /// header, or a format symphonia does not read.
    #[error("failed to decode `{}`: unrecognised or unsupported format ({cause})", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What the probe said.
        cause: symphonia::core::errors::Error,
    },

    /// A format hark recognises and does not decode, named: "GSM 6.10 in
    /// WAV", "WavPack", "G.721 ADPCM in AU".
    #[error("failed to decode `{}`: {format} is not supported", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The format or codec, with its container where that helps.
        format: String,
    },

    /// A format hark decodes through a system library (WavPack, through
    /// libwavpack) that could not be loaded.
    #[error(
        "failed to decode `{}`: {format} needs the {library} library, which could not be loaded \
         (install it: libwavpack1 on Debian and Ubuntu, wavpack on Homebrew); {cause}",
        path.display()
    )]
    NeedsLibrary {
        /// The file.
        path: PathBuf,
        /// The format's name.
        format: String,
        /// The library's file name.
        library: String,
        /// What the loader said.
        cause: String,
    },

    /// The container holds no track with an audio codec.
    #[error("failed to decode `{}`: no audio track", path.display())]
    NoAudioTrack {
        /// The file.
        path: PathBuf,
    },

    /// The audio track is in a codec symphonia cannot decode.
    #[error("failed to decode `{}`: unsupported codec {codec}", path.display())]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// The codec's short name, or its numeric id when symphonia has no
        /// name for it.
        codec: String,
    },

    /// The sample rate is 0 Hz, or too odd to resample (see
    /// [`resample_to_48k`](crate::resample_to_48k)). `path` is `None` when the error comes from
    /// [`resample_to_48k`](crate::resample_to_48k) called on its own.
    #[error("{}unsupported sample rate {rate} Hz", in_file(path))]
    SampleRate {
        /// The file, if any.
        path: Option<PathBuf>,
        /// The rate found.
        rate: u32,
    },

    /// The stream decoded cleanly but held no audio frames.
    #[error("failed to decode `{}`: no audio frames", path.display())]
    NoFrames {
        /// The file.
        path: PathBuf,
    },

    /// Reading or decoding the stream failed, or every packet was malformed.
    #[error("failed to decode `{}`: {cause}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What symphonia said.
        cause: symphonia::core::errors::Error,
    },

    /// The decoder panicked on this file; the panic was caught.
    #[error("failed to decode `{}`: decoder panicked: {message}", path.display())]
    Panic {
        /// The file.
        path: PathBuf,
        /// The panic's message.
        message: String,
    },

    /// The resampler failed. Not expected in practice: the resampler is set
    /// up for the rate before use. `path` is `None` when the error comes from
    /// [`resample_to_48k`](crate::resample_to_48k) called on its own.
    #[error("{}resampling from {rate} Hz failed: {message}", in_file(path))]
    Resample {
        /// The file, if any.
        path: Option<PathBuf>,
        /// The source rate.
        rate: u32,
        /// What rubato said.
        message: String,
    },
}

impl Error {
    /// Names `path` in an error from the path-less resampling step.
    pub(crate) fn in_file(self, path: &Path) -> Self {
        match self {
            Error::SampleRate { path: None, rate } => Error::SampleRate {
                path: Some(path.to_path_buf()),
                rate,
            },
            Error::Resample {
                path: None,
                rate,
                message,
            } => Error::Resample {
                path: Some(path.to_path_buf()),
                rate,
                message,
            },
            other => other,
        }
    }
}

/// The "failed to decode `path`: " prefix of the variants whose path is optional.
fn in_file(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => format!("failed to decode `{}`: ", path.display()),
        None => String::new(),
    }
}
