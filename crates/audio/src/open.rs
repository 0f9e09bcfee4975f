//! Opening a sound file: the one way into a file, for reading its metadata
//! and for decoding it.
//!
//! [`SoundFile::open`] opens the file once, reads its first bytes to name
//! the container, and probes it with symphonia once; metadata reading
//! ([`SoundFile::metadata`]) and decoding ([`SoundFile::decode_stream`]) both
//! start from what it found. They read the file through cursors of their
//! own ([`FileCursor`]), so the tag readers never move the position of the
//! symphonia reader that decoding goes on with.

use std::fmt;
use std::fs::File;
use std::io::{self, ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use symphonia::core::codecs::{
    CodecType, CODEC_TYPE_NULL, CODEC_TYPE_PCM_F32BE, CODEC_TYPE_PCM_F32LE, CODEC_TYPE_PCM_F64BE,
    CODEC_TYPE_PCM_F64LE,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::chunks::{Chunks, Form};
use crate::codecs;
use crate::cursor::FileCursor;
use crate::error::Error;
use crate::panics;
use crate::shim::{self, Opened, Refusal};

/// A sound file, opened and probed: what [`SoundFile::metadata`] and
/// [`SoundFile::decode_stream`] read from.
///
/// Opening reads only the first bytes and the container's headers. A file
/// symphonia cannot read still opens (its tags may be readable, and
/// decoding has a fallback for PCM WAV files symphonia refuses); the
/// probe's failure comes out of the reading that needs it.
pub struct SoundFile {
    path: PathBuf,
    file: Arc<File>,
    len: u64,
    /// Up to the first 12 bytes.
    head: Vec<u8>,
    /// symphonia's reader, positioned at the first packet, or why there is none.
    pub(crate) probed: Result<Box<dyn FormatReader>, ProbeFailure>,
}

/// Why symphonia gave no reader for a file.
pub(crate) enum ProbeFailure {
    /// The WAV or AIFF header says 0 Hz, on which symphonia 0.5 panics; it
    /// was not asked.
    ZeroRate,
    /// symphonia recognised no container, or rejected the header.
    Refused(SymphoniaError),
    /// symphonia panicked on the file.
    Panic(String),
    /// A format hark recognises and does not decode: its name, as in
    /// [`Error::Unsupported`].
    Unsupported(String),
}

impl Clone for ProbeFailure {
    fn clone(&self) -> Self {
        match self {
            ProbeFailure::ZeroRate => ProbeFailure::ZeroRate,
            ProbeFailure::Refused(cause) => ProbeFailure::Refused(copy_error(cause)),
            ProbeFailure::Panic(message) => ProbeFailure::Panic(message.clone()),
            ProbeFailure::Unsupported(what) => ProbeFailure::Unsupported(what.clone()),
        }
    }
}

/// A copy of a symphonia error, which is not `Clone`: both metadata reading
/// and decoding may have to report the one probe's error. An I/O error
/// keeps its kind and message.
fn copy_error(error: &SymphoniaError) -> SymphoniaError {
    use symphonia::core::errors::SeekErrorKind as Seek;
    match error {
        SymphoniaError::IoError(e) => {
            SymphoniaError::IoError(io::Error::new(e.kind(), e.to_string()))
        }
        SymphoniaError::DecodeError(m) => SymphoniaError::DecodeError(m),
        SymphoniaError::SeekError(kind) => SymphoniaError::SeekError(match kind {
            Seek::Unseekable => Seek::Unseekable,
            Seek::ForwardOnly => Seek::ForwardOnly,
            Seek::OutOfRange => Seek::OutOfRange,
            Seek::InvalidTrack => Seek::InvalidTrack,
        }),
        SymphoniaError::Unsupported(m) => SymphoniaError::Unsupported(m),
        SymphoniaError::LimitError(m) => SymphoniaError::LimitError(m),
        SymphoniaError::ResetRequired => SymphoniaError::ResetRequired,
    }
}

impl SoundFile {
    /// Opens `path` and probes it.
    ///
    /// The container is recognised by content, the extension serving only as
    /// a hint to symphonia.
    ///
    /// # Errors
    ///
    /// [`Error::Open`] if the file cannot be opened or read, or is a
    /// directory; [`Error::Empty`] if it is empty. Not being audio is no
    /// error here: it shows when the file is read.
    pub fn open(path: &Path) -> Result<SoundFile, Error> {
        let open_error = |cause| Error::Open {
            path: path.to_path_buf(),
            cause,
        };
        let file = File::open(path).map_err(open_error)?;
        // A directory reads like a format problem, and an empty file would
        // be "no suitable format reader found": both are said plainly.
        let len = match file.metadata() {
            Ok(meta) if meta.is_dir() => {
                return Err(open_error(io::Error::new(
                    ErrorKind::IsADirectory,
                    "is a directory",
                )))
            }
            Ok(meta) if meta.len() == 0 => {
                return Err(Error::Empty {
                    path: path.to_path_buf(),
                })
            }
            Ok(meta) => meta.len(),
            Err(cause) => return Err(open_error(cause)),
        };
        let file = Arc::new(file);
        let mut head = Vec::with_capacity(12);
        FileCursor::new(&file, len)
            .take(12)
            .read_to_end(&mut head)
            .map_err(open_error)?;
        let cursor = FileCursor::new(&file, len);
        let probed = match declared_pcm_rate(cursor.window(0, len)) {
            Some(0) => Err(ProbeFailure::ZeroRate),
            _ => match shim::open(&head, &cursor) {
                None => probe(path, cursor),
                Some(Opened::Reader(reader)) => Ok(reader),
                Some(Opened::Inner(stream, None)) => probe(path, stream),
                Some(Opened::Inner(stream, Some(frames))) => {
                    probe(path, stream).map(|reader| shim::cut_to(reader, frames))
                }
                Some(Opened::Refused(Refusal::Unsupported(what))) => {
                    Err(ProbeFailure::Unsupported(what))
                }
                Some(Opened::Refused(Refusal::ZeroRate)) => Err(ProbeFailure::ZeroRate),
                Some(Opened::Refused(Refusal::Rejected(cause))) => {
                    Err(ProbeFailure::Refused(cause))
                }
            },
        };
        Ok(SoundFile {
            path: path.to_path_buf(),
            file,
            len,
            head,
            probed,
        })
    }

    /// The file's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length in bytes.
    pub(crate) fn file_len(&self) -> u64 {
        self.len
    }

    /// The first bytes of the file (12, or fewer in a shorter file).
    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }

    /// The container, for the formats recognised by their first 12 bytes.
    pub(crate) fn container(&self) -> Option<&'static str> {
        sniff(&self.head)
    }

    /// A new read cursor on the file, at its start.
    pub(crate) fn cursor(&self) -> FileCursor {
        FileCursor::new(&self.file, self.len)
    }
}

impl fmt::Debug for SoundFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoundFile")
            .field("path", &self.path)
            .field("len", &self.len)
            .field("container", &self.container())
            .field("probed", &self.probed.is_ok())
            .finish()
    }
}

/// Probes the file behind `cursor` with symphonia: the one probe set-up in
/// hark-audio.
fn probe(path: &Path, cursor: FileCursor) -> Result<Box<dyn FormatReader>, ProbeFailure> {
    let stream = MediaSourceStream::new(Box::new(cursor), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|ext| ext.to_str()) {
        hint.with_extension(ext);
    }
    // Gapless: drop MP3/Vorbis encoder delay and padding, so the duration is
    // the one encoded and the audio is not shifted by the codec's priming.
    let format_options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = panics::catch(|| {
        symphonia::default::get_probe().format(
            &hint,
            stream,
            &format_options,
            &MetadataOptions::default(),
        )
    });
    match probed {
        Ok(Ok(probed)) => Ok(probed.format),
        Ok(Err(cause)) => Err(ProbeFailure::Refused(cause)),
        Err(message) => Err(ProbeFailure::Panic(message)),
    }
}

/// The sample rate declared by a WAV (RIFF, RF64, BW64) or AIFF/AIFC header.
///
/// symphonia 0.5 panics on a 0 Hz rate in these headers (a time base with a
/// zero denominator); looking first turns that into a plain error. `None`
/// when the file is not one of these or the header is unreadable: symphonia
/// then reports the problem itself.
fn declared_pcm_rate(cursor: FileCursor) -> Option<u32> {
    let len = cursor.len();
    let mut chunks = Chunks::new(cursor, len).ok()??;
    // Metadata chunks (bext, iXML, JUNK) may come before the format chunk.
    for _ in 0..64 {
        let chunk = chunks.next()?.ok()?;
        match (&chunk.id, chunks.form()) {
            (b"fmt ", Form::Riff | Form::Rf64) => {
                let fmt = chunks.read_body(&chunk, 8).ok()?;
                return Some(u32::from_le_bytes(fmt.get(4..8)?.try_into().ok()?));
            }
            (b"COMM", Form::Aiff) => {
                let comm = chunks.read_body(&chunk, 18).ok()?;
                let comm = comm.get(..18)?;
                // 80-bit extended: sign and 15-bit exponent, 64-bit mantissa.
                let exponent = i32::from(u16::from_be_bytes([comm[8], comm[9]]) & 0x7fff);
                let mantissa = u64::from_be_bytes(comm[10..18].try_into().ok()?);
                let sign = if comm[8] & 0x80 == 0 { 1.0 } else { -1.0 };
                let rate = sign * mantissa as f64 * 2f64.powi(exponent - 16_383 - 63);
                // As symphonia converts it: a saturating cast, negative to 0.
                return Some(rate as u32);
            }
            _ => {}
        }
    }
    None
}

/// The container, from the first 12 bytes, for the formats recognised by
/// their magic alone.
fn sniff(head: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    match Form::of(head) {
        Some(Form::Riff | Form::Rf64) => Some("wav"),
        Some(Form::Aiff) => Some("aiff"),
        None if at(0, b"fLaC") => Some("flac"),
        None if at(0, b"OggS") => Some("ogg"),
        None if at(4, b"ftyp") => Some("mp4"),
        None if at(0, b"caff") => Some("caf"),
        None if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) => Some("mkv"),
        None => shim::container(head),
    }
}

/// The track to decode: the default track if hark has a decoder for
/// it, else the first such track.
pub(crate) fn pick_track<'a>(default: Option<&'a Track>, tracks: &'a [Track]) -> Option<&'a Track> {
    let decodable = |t: &&Track| {
        t.codec_params.codec != CODEC_TYPE_NULL
            && codecs::registry().get_codec(t.codec_params.codec).is_some()
    };
    default
        .filter(decodable)
        .or_else(|| tracks.iter().find(decodable))
}

/// The short name of `codec` (symphonia's, or `opus`), or its numeric id.
pub(crate) fn codec_name(codec: CodecType) -> String {
    match codecs::registry().get_codec(codec) {
        Some(descriptor) => descriptor.short_name.to_string(),
        None => format!("with id {codec}"),
    }
}

/// Bits of IEEE float PCM, which symphonia's WAV reader leaves unset.
pub(crate) fn float_bits(codec: CodecType) -> Option<u32> {
    match codec {
        CODEC_TYPE_PCM_F32LE | CODEC_TYPE_PCM_F32BE => Some(32),
        CODEC_TYPE_PCM_F64LE | CODEC_TYPE_PCM_F64BE => Some(64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_containers_by_magic() {
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), Some("wav"));
        assert_eq!(sniff(b"RF64\xFF\xFF\xFF\xFFWAVE"), Some("wav"));
        assert_eq!(sniff(b"BW64\xFF\xFF\xFF\xFFWAVE"), Some("wav"));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI "), None);
        assert_eq!(sniff(b"FORM\0\0\0\0AIFC"), Some("aiff"));
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some("flac"));
        assert_eq!(sniff(b"OggS\0\x02"), Some("ogg"));
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A "), Some("mp4"));
        assert_eq!(sniff(b"caff\0\x01\0\0"), Some("caf"));
        assert_eq!(sniff(b"\x1A\x45\xDF\xA3\x01"), Some("mkv"));
        assert_eq!(sniff(b"ID3\x04\0\0"), None);
        assert_eq!(sniff(b"riff\x2E\x91\xCF\x11\xA5\xD6\x28\xDB"), Some("w64"));
        assert_eq!(sniff(b".snd\0\0\0\x18"), Some("au"));
        assert_eq!(sniff(b"wvpk\0\0\0\0"), Some("wavpack"));
        assert_eq!(sniff(b""), None);
    }
}
