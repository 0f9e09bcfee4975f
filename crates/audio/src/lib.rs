//! Sound files in: mono 48 kHz `f32` samples, metadata and waveform
//! overviews out. The audio front door of hark.
//!
//! CLAP hears mono audio at 48 kHz, so every file hark indexes or is asked
//! about goes through this crate first; the indexer also stores what the
//! file says about itself and a small overview of its waveform.
//!
//! # Brief overview
//!
//! [`decode_file`] opens a file, lets [symphonia] recognise the container by
//! its content (the extension is only a hint), decodes the first decodable
//! audio track, averages all channels to mono, and resamples to
//! [`TARGET_RATE`]. It returns a [`DecodedAudio`]: the samples plus what the
//! catalog wants to know about the source (rate, channels, length, codec, bit
//! depth). [`decode_native`] stops before resampling, and
//! [`resample_to_48k`] is the resampling step on its own.
//!
//! Formats are whatever symphonia 0.5 reads with its `all` feature: WAV
//! (integer PCM, IEEE float, `WAVE_FORMAT_EXTENSIBLE`, A-law, µ-law, ADPCM),
//! AIFF and AIFC (`NONE`, `sowt`, `twos`, `fl32`, `fl64`, `alaw`, `ulaw`), CAF,
//! FLAC, MP1/2/3, Ogg Vorbis, ALAC and AAC in MP4/M4A, and Matroska/WebM with
//! those codecs. Not Opus, which symphonia 0.5 does not decode.
//!
//! [`read_metadata`] reads headers and tag chunks only, never the audio, and
//! returns a [`Metadata`]: container, codec, duration, rate, channels, bit
//! depth, and [`Tags`], which hold every tag item found under a
//! source-prefixed key (`bext.Description`, `ixml.USER.CATEGORY`,
//! `riff.ICMT`, `id3.TXXX:Foo`, `vorbis.COMMENT`, `mp4.©nam`, ...) plus the
//! common fields (title, description, artist, library, category, ...) and
//! the BWF [`Bext`] chunk. WAV chunks (LIST/INFO, `bext`, iXML) are read by
//! hand, other tags (ID3, Vorbis comments, MP4, APE, AIFF text) by [lofty],
//! the stream facts by symphonia. Damaged metadata yields what could be
//! read plus [`Metadata::warnings`], not an error.
//!
//! [`parse_ucs`] splits a Universal Category System file name
//! (`DOORWood_Creaky Open Slow_JD_MyLib`) into its blocks, and with
//! [`ucs_category`] maps a CatID to its Category and SubCategory from the
//! embedded UCS 8.2.1 list.
//!
//! [`peaks`] and the streaming [`PeakBuilder`] turn samples into a waveform
//! overview of [`DEFAULT_BUCKETS`] (min, max) pairs of one byte each, for
//! the terminal UI.
//!
//! Every failure is an [`Error`] that names the file; a decoder or tag
//! reader that panics on a malformed file is caught and reported the same
//! way (or, for metadata, as a warning). The crate never prints.

mod decode;
mod metadata;
mod pcm_wav;
mod peaks;
mod resample;
mod ucs;

use std::path::{Path, PathBuf};

pub use decode::{
    decode_file, decode_native, decode_stream, AudioInfo, DecodedAudio, MAX_SAMPLE_RATE,
};
pub use metadata::{read_metadata, Bext, Metadata, Tags};
pub use peaks::{peaks, Peak, PeakBuilder, DEFAULT_BUCKETS};
pub use resample::{resample_to_48k, StreamResampler, TARGET_RATE};
pub use ucs::{parse_ucs, ucs_category, Ucs, UCS_CAT_ID_COUNT};

/// Why a file could not be turned into samples, or (for [`read_metadata`])
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
    /// [`resample_to_48k`]). `path` is `None` when the error comes from
    /// [`resample_to_48k`] called on its own.
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
    /// [`resample_to_48k`] called on its own.
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
    fn in_file(self, path: &Path) -> Self {
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

/// `sample`, or 0.0 if it is NaN or infinite.
///
/// A float file can hold NaN or Inf (a crashed plug-in, a bad render), and
/// one such sample would spread through the resampler's FFT blocks and the
/// model's mel spectrogram and make the whole embedding NaN; silence in its
/// place changes the embedding by a negligible amount.
fn finite_or_zero(sample: f32) -> f32 {
    if sample.is_finite() {
        sample
    } else {
        0.0
    }
}
