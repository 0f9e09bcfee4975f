//! What a file says about itself, read from its headers and tag chunks
//! without decoding any audio.
//!
//! Three readers share the work, each doing what it does best:
//!
//! - the stream facts (codec, rate, channels, bit depth, duration) come from
//!   the symphonia probe of the [`SoundFile`], the one decoding goes on
//!   with, so the codec names and numbers match [`DecodedAudio`](crate::DecodedAudio);
//! - WAV chunks (LIST/INFO, BWF `bext`, iXML) are read by hand, walked with
//!   the crate's chunk walker (`metadata/wav.rs` says why);
//! - every other tag format (ID3v2 and ID3v1, Vorbis comments in FLAC and
//!   Ogg, MP4 `ilst`, APE, AIFF text chunks, and ID3 chunks inside WAV) is
//!   read by lofty.
//!
//! Where symphonia cannot open a file (RF64, Monkey's Audio, WavPack,
//! Musepack, a header it rejects), the walker's or lofty's own stream facts
//! stand in. Wave64, AU and Ogg Vorbis inside WAV are opened by the
//! container shims, so their facts are symphonia's as for any other file.

mod ixml;
mod lofty_tags;
mod stream;
mod tags;
mod text;
mod wav;

use std::io::{BufReader, Seek};
use std::path::Path;

use lofty::file::FileType;
use lofty::probe::Probe;

use crate::cursor::FileCursor;
use crate::decode::AudioInfo;
use crate::error::Error;
use crate::open::{ProbeFailure, SoundFile};
use crate::panics;
use stream::Props;

pub(crate) use tags::tag_ending_in;
pub use tags::{Bext, Tags};

/// What [`read_metadata`](crate::read_metadata) found: the container, the audio stream, the tags,
/// and what went wrong on the way.
///
/// Stream facts are `None` when no reader could determine them; the
/// warnings then say why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// The container, recognised by content: `wav` (RIFF, RF64 and BW64),
    /// `aiff` (AIFF and AIFC), `flac`, `mp3` (any MPEG audio layer), `ogg`,
    /// `mp4` (MP4, M4A, MOV), `caf`, `mkv` (Matroska and WebM), `aac` (ADTS),
    /// `ape`, `wavpack`, `mpc`, `w64` (Sony Wave64), `au` (Sun/NeXT), or
    /// `unknown` for a stream symphonia reads in
    /// a container nothing else recognised.
    pub format: String,
    /// The codec, in symphonia's short names as in
    /// [`DecodedAudio::codec`](crate::DecodedAudio::codec): `pcm_s16le`,
    /// `pcm_f32le`, `flac`, `mp3`, `vorbis`, `opus`, `aac`, `alac`, ...
    /// (`ape`, `wavpack`, `musepack`, `speex` for formats hark does not
    /// decode).
    pub codec: Option<String>,
    /// Duration in seconds, from the headers (for MP3 without a Xing/Info
    /// header, an estimate from the bitrate).
    pub duration_s: Option<f64>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Channel count.
    pub channels: Option<u16>,
    /// Bits per stored sample, for PCM and lossless codecs; `None` for lossy
    /// ones.
    pub bits_per_sample: Option<u32>,
    /// The tags.
    pub tags: Tags,
    /// What could not be read, one sentence each: a truncated or garbled
    /// chunk, an unreadable tag, a header no reader accepted. What was read
    /// around it is still here.
    pub warnings: Vec<String>,
}

impl Metadata {
    /// Settles the stream facts by what decoding the file found: the codec,
    /// rate and channels of the decoded stream, the duration of the frames
    /// actually decoded, and the bit depth where the decoder knows one.
    /// Headers can lie (a truncated file, a wrong data size); the decoded
    /// stream cannot. The format, tags and warnings stay as read.
    pub fn settle(&mut self, decoded: &AudioInfo) {
        self.codec = Some(decoded.codec.clone());
        self.sample_rate = Some(decoded.source_rate);
        self.channels = Some(decoded.channels);
        self.duration_s = Some(decoded.source_frames as f64 / f64::from(decoded.source_rate));
        if decoded.bits_per_sample.is_some() {
            self.bits_per_sample = decoded.bits_per_sample;
        }
    }
}

/// Reads the container, stream facts and tags of `path` from its headers
/// and metadata chunks, without decoding audio: [`SoundFile::open`], then
/// [`SoundFile::metadata`].
///
/// # Errors
///
/// As [`SoundFile::open`] and [`SoundFile::metadata`].
pub fn read_metadata(path: &Path) -> Result<Metadata, Error> {
    SoundFile::open(path)?.metadata()
}

impl SoundFile {
    /// Reads the container, stream facts and tags of the file from its
    /// headers and metadata chunks, without decoding audio.
    ///
    /// Damaged metadata does not fail the call: each reader runs on its own
    /// (a panic in one is caught), and what one cannot read becomes a line in
    /// [`Metadata::warnings`] while the rest is still returned. The default
    /// panic hook still prints a caught panic, as for
    /// [`decode_file`](crate::decode_file).
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the file if it cannot be read, or is recognised by
    /// no reader at all (not audio).
    pub fn metadata(&self) -> Result<Metadata, Error> {
        let path = self.path();
        let read_error = |cause| Error::Open {
            path: path.to_path_buf(),
            cause,
        };
        let mut warnings = Vec::new();
        let sniffed = self.container();
        let found = match sniffed {
            Some("wav") => read_wav(self.cursor(), self.file_len(), &mut warnings),
            // lofty reads neither; symphonia still gives the stream facts.
            Some("caf" | "mkv") => Found::default(),
            _ => read_with_lofty(self.cursor(), self.head(), &mut warnings).map_err(read_error)?,
        };
        let format = sniffed.or(found.format);

        let stream = match self.stream_props() {
            Ok(props) => props,
            Err(ProbeFailure::ZeroRate) => {
                warnings.push("the header declares a sample rate of 0 Hz".into());
                Props::default()
            }
            Err(ProbeFailure::Refused(cause)) if format.is_none() => {
                return Err(Error::Format {
                    path: path.to_path_buf(),
                    cause,
                })
            }
            Err(ProbeFailure::Panic(message)) if format.is_none() => {
                return Err(Error::Panic {
                    path: path.to_path_buf(),
                    message,
                })
            }
            Err(ProbeFailure::Refused(e)) => {
                // Not worth a warning when the tag reader found the facts
                // (symphonia reads neither RF64 nor Monkey's Audio, say).
                if found.props.is_empty() {
                    let lofty = found
                        .props_error
                        .map(|e| format!("; lofty: {e}"))
                        .unwrap_or_default();
                    warnings.push(format!("stream header unreadable: {e}{lofty}"));
                }
                Props::default()
            }
            Err(ProbeFailure::Panic(message)) => {
                warnings.push(format!("reading the stream header panicked: {message}"));
                Props::default()
            }
            // The tag reader may still know the stream (lofty reads WavPack).
            Err(ProbeFailure::Unsupported(what)) => {
                if found.props.is_empty() {
                    warnings.push(format!("{what} is not supported"));
                }
                Props::default()
            }
            Err(ProbeFailure::NeedsLibrary {
                format, library, ..
            }) => {
                if found.props.is_empty() {
                    warnings.push(format!("{format} needs {library}, which is not installed"));
                }
                Props::default()
            }
        };
        let mut props = stream.or(found.props);
        props.duration_s = found.exact_duration.or(props.duration_s);

        Ok(Metadata {
            // Only a stream symphonia read can be of a container nothing named.
            format: format.unwrap_or("unknown").to_string(),
            codec: props.codec,
            duration_s: props.duration_s,
            sample_rate: props.sample_rate,
            channels: props.channels,
            bits_per_sample: props.bits_per_sample,
            tags: Tags::new(found.all, found.bext),
            warnings,
        })
    }

    /// The stream facts from symphonia's probe, as decoding sees them, or
    /// why there are none.
    fn stream_props(&self) -> Result<Props, ProbeFailure> {
        let reader = match &self.probed {
            Ok(reader) => reader,
            Err(failure) => return Err(failure.clone()),
        };
        match panics::catch(|| stream::from_reader(reader.as_ref())) {
            Ok(Ok(props)) => Ok(props),
            Ok(Err(cause)) => Err(ProbeFailure::Refused(cause)),
            Err(message) => Err(ProbeFailure::Panic(message)),
        }
    }
}

/// What the tag readers found.
#[derive(Debug, Default)]
struct Found {
    /// The container as lofty named it.
    format: Option<&'static str>,
    /// Tag items, in file order.
    all: Vec<(String, String)>,
    bext: Option<Bext>,
    /// The tag reader's stream facts, standing in for symphonia's.
    props: Props,
    /// A duration better than symphonia's: the WAV walker's counts the
    /// audio actually present, where symphonia believes the header of a
    /// truncated file.
    exact_duration: Option<f64>,
    /// Why lofty could not read the stream facts, if it could not.
    props_error: Option<String>,
}

/// A WAV file's chunks, with the walker, and its ID3 chunks with lofty.
fn read_wav(file: FileCursor, file_len: u64, warnings: &mut Vec<String>) -> Found {
    let mut reader = BufReader::new(file);
    let Some(scan) = guarded("reading the WAV chunks", warnings, || {
        wav::scan(&mut reader, file_len)
    }) else {
        return Found::default();
    };
    let duration_s = scan.duration_s();
    let mut all = scan.entries;
    warnings.extend(scan.warnings);
    for body in &scan.id3 {
        warnings.extend(lofty_tags::id3_chunk_problem(body));
        match guarded("reading an ID3 chunk", warnings, || {
            lofty_tags::id3_chunk(body)
        }) {
            Some(Ok(entries)) => all.extend(entries),
            Some(Err(e)) => warnings.push(format!("ID3 chunk unreadable: {e}")),
            None => {}
        }
    }
    let fmt = scan.fmt;
    Found {
        format: None,
        all,
        bext: scan.bext,
        props: Props {
            codec: fmt.map(|fmt| fmt.codec()),
            duration_s,
            sample_rate: fmt.map(|fmt| fmt.sample_rate).filter(|&r| r > 0),
            channels: fmt.map(|fmt| fmt.channels).filter(|&c| c > 0),
            bits_per_sample: fmt.and_then(|fmt| fmt.bits()),
        },
        exact_duration: duration_s,
        props_error: None,
    }
}

/// The tags of any format lofty recognises by content; an I/O error only
/// if the file cannot be rewound.
fn read_with_lofty(
    file: FileCursor,
    head: &[u8],
    warnings: &mut Vec<String>,
) -> std::io::Result<Found> {
    let mut reader = BufReader::new(file);
    reader.rewind()?;
    let guessed = guarded("recognising the format", warnings, || {
        Probe::new(&mut reader)
            .guess_file_type()
            .map(|probe| probe.file_type())
    });
    let file_type = match guessed {
        Some(Ok(Some(file_type))) => file_type,
        // A file that starts with an ID3v2 tag but has no MPEG frame lofty
        // can find (cut short inside the tag, say) still has its tag.
        Some(Ok(None)) if head.starts_with(b"ID3") => FileType::Mpeg,
        _ => return Ok(Found::default()),
    };
    let mut found = Found {
        format: lofty_format(file_type),
        ..Found::default()
    };
    reader.rewind()?;
    match guarded("reading the tags", warnings, || {
        lofty_tags::read(&mut reader, file_type)
    }) {
        Some(Ok(read)) => {
            found.all = read.entries;
            found.props = read.props;
            found.props_error = read.props_error;
        }
        Some(Err(e)) => warnings.push(format!("tags unreadable: {e}")),
        None => {}
    }
    Ok(found)
}

/// Runs `read`, turning a panic into a warning about `what`.
fn guarded<T>(what: &str, warnings: &mut Vec<String>, read: impl FnOnce() -> T) -> Option<T> {
    match panics::catch(read) {
        Ok(value) => Some(value),
        Err(message) => {
            warnings.push(format!("{what} panicked: {message}"));
            None
        }
    }
}

/// The container name of a lofty file type.
fn lofty_format(file_type: FileType) -> Option<&'static str> {
    Some(match file_type {
        FileType::Aac => "aac",
        FileType::Aiff => "aiff",
        FileType::Ape => "ape",
        FileType::Flac => "flac",
        FileType::Mpeg => "mp3",
        FileType::Mp4 => "mp4",
        FileType::Mpc => "mpc",
        FileType::Opus | FileType::Vorbis | FileType::Speex => "ogg",
        FileType::Wav => "wav",
        FileType::WavPack => "wavpack",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_reader_becomes_a_warning() {
        let mut warnings = Vec::new();
        let read: Option<u8> = guarded("reading the tags", &mut warnings, || panic!("bad tag"));
        assert_eq!(read, None);
        assert_eq!(warnings, ["reading the tags panicked: bad tag"]);
        assert_eq!(guarded("x", &mut warnings, || 7), Some(7));
        assert_eq!(warnings.len(), 1);
    }
}
