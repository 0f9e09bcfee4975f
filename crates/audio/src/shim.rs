//! Container shims: the formats whose codecs symphonia 0.5 has but whose
//! container it does not read (Sony Wave64, Sun AU, Ogg Vorbis or MP3
//! inside a WAV), read here and handed to symphonia's decoders; and the formats
//! hark knows it cannot decode, named so that the refusal says which.
//!
//! No maintained crate reads Wave64 or AU into symphonia's decoders, and
//! each header is a few dozen lines over codecs symphonia already has (its
//! PCM decoder does every sample encoding these files use), so hark reads
//! the headers itself. WavPack, Monkey's Audio and Musepack have no sound
//! pure-Rust decoder yet (the C library's binding needs CMake to build).

mod au;
mod raw;
mod refusal;
mod stream_in_wav;
mod w64;

use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatReader;

use crate::cursor::FileCursor;
use raw::{Layout, RawPcmReader};
pub(crate) use refusal::Refusal;
pub(crate) use stream_in_wav::cut_to;

/// What a shim made of a file.
pub(crate) enum Opened {
    /// A reader of the shim's own, over symphonia's codecs.
    Reader(Box<dyn FormatReader>),
    /// The part of the file symphonia should probe instead of the whole,
    /// and the length in frames the file gives that stream, if it does
    /// (see [`cut_to`]).
    Inner(FileCursor, Option<u64>),
    /// Why there is no reader.
    Refused(Refusal),
}

/// The container, for the formats the shims recognise by their first
/// 12 bytes.
pub(crate) fn container(head: &[u8]) -> Option<&'static str> {
    if w64::is_w64(head) {
        Some("w64")
    } else if au::is_au(head) {
        Some("au")
    } else if head.starts_with(b"wvpk") {
        Some("wavpack")
    } else if head.starts_with(b"MAC ") {
        Some("ape")
    } else if head.starts_with(b"MPCK") || head.starts_with(b"MP+") {
        Some("mpc")
    } else {
        None
    }
}

/// Opens the file behind `file`, starting with `head`, if a shim reads
/// its container; `None` leaves the file to symphonia's probe.
pub(crate) fn open(head: &[u8], file: &FileCursor) -> Option<Opened> {
    let raw = |layout: fn(&mut FileCursor) -> Result<Layout, Refusal>| {
        let mut cursor = file.window(0, file.len());
        let reader = layout(&mut cursor).and_then(|layout| {
            RawPcmReader::new(cursor, layout).map_err(|cause| match cause {
                SymphoniaError::Unsupported(_) => {
                    Refusal::Unsupported(format!("{} channels", layout.channels))
                }
                cause => Refusal::Rejected(cause),
            })
        });
        match reader {
            Ok(reader) => Opened::Reader(Box::new(reader)),
            Err(refusal) => Opened::Refused(refusal),
        }
    };
    let unsupported = |what: &str| Some(Opened::Refused(Refusal::Unsupported(what.into())));
    match container(head) {
        Some("w64") => Some(raw(w64::layout)),
        Some("au") => Some(raw(au::layout)),
        Some("wavpack") => unsupported("WavPack"),
        Some("ape") => unsupported("Monkey's Audio"),
        Some("mpc") => unsupported("Musepack"),
        _ => {
            stream_in_wav::inner_stream(file).map(|inner| Opened::Inner(inner.stream, inner.frames))
        }
    }
}
