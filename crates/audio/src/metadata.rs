//! What a file says about itself, read from its headers and tag chunks
//! without decoding any audio.
//!
//! Three readers share the work, each doing what it does best:
//!
//! - the stream facts (codec, rate, channels, bit depth, duration) come from
//!   symphonia's container readers, the same ones [`decode_file`](crate::decode_file)
//!   uses, so the codec names and numbers match [`DecodedAudio`](crate::DecodedAudio);
//! - WAV chunks (LIST/INFO, BWF `bext`, iXML) are read by a chunk walker of
//!   our own (`metadata/riff.rs` says why);
//! - every other tag format (ID3v2 and ID3v1, Vorbis comments in FLAC and
//!   Ogg, MP4 `ilst`, APE, AIFF text chunks, and ID3 chunks inside WAV) is
//!   read by lofty.
//!
//! Where symphonia cannot open a file (RF64, Monkey's Audio, WavPack,
//! Musepack, a header it rejects), the walker's or lofty's own stream facts
//! stand in.

mod ixml;
mod lofty_tags;
mod riff;

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use lofty::file::FileType;
use lofty::probe::Probe;
use symphonia::core::codecs::{CODEC_TYPE_NULL, CODEC_TYPE_OPUS};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::decode::{
    codec_name, declared_pcm_rate, float_bits, open_audio_file, panic_message, pick_track,
};
use crate::Error;

/// What [`read_metadata`] found: the container, the audio stream, the tags,
/// and what went wrong on the way.
///
/// Stream facts are `None` when no reader could determine them; the
/// warnings then say why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// The container, recognised by content: `wav` (RIFF, RF64 and BW64),
    /// `aiff` (AIFF and AIFC), `flac`, `mp3` (any MPEG audio layer), `ogg`,
    /// `mp4` (MP4, M4A, MOV), `caf`, `mkv` (Matroska and WebM), `aac` (ADTS),
    /// `ape`, `wavpack`, `mpc`, or `unknown` for a stream symphonia reads in
    /// a container nothing else recognised.
    pub format: String,
    /// The codec, in symphonia's short names as in
    /// [`DecodedAudio::codec`](crate::DecodedAudio::codec): `pcm_s16le`,
    /// `pcm_f32le`, `flac`, `mp3`, `vorbis`, `aac`, `alac`, ... (`opus`,
    /// `ape`, `wavpack`, `musepack`, `speex` for formats hark does not decode).
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

/// A file's tags: every item found, plus the fields search and display use
/// most, filled from the first source that has them.
///
/// Each common field lists its sources in order of preference; the keys
/// are those of [`Tags::all`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tags {
    /// Title: `ixml.USER.TRACKTITLE`, `riff.INAM`, `id3.TIT2`,
    /// `vorbis.TITLE`, `mp4.©nam`, `aiff.NAME`, `ape.Title`, `id3v1.title`,
    /// `ixml.USER.FXNAME`, `ixml.ASWG.fxName`.
    pub title: Option<String>,
    /// Description: `ixml.USER.DESCRIPTION` (library tools keep the full
    /// text there and a 256-byte cut in `bext`), `bext.Description`,
    /// `riff.ICMT`, `riff.ISBJ`, `id3.COMM`, `vorbis.DESCRIPTION`,
    /// `vorbis.COMMENT`, `mp4.©cmt`, `mp4.desc`, `aiff.ANNO`, `aiff.COMT`,
    /// `ape.Comment`, `id3v1.comment`, `ixml.NOTE` (a recordist's note).
    pub description: Option<String>,
    /// Artist or sound designer: `riff.IART`, `id3.TPE1`, `vorbis.ARTIST`,
    /// `mp4.©ART`, `aiff.AUTH`, `ape.Artist`, `id3v1.artist`,
    /// `ixml.USER.DESIGNER`.
    pub artist: Option<String>,
    /// Library or album: `ixml.USER.LIBRARY`, `ixml.ASWG.library`,
    /// `riff.IPRD`, `id3.TALB`, `vorbis.ALBUM`, `mp4.©alb`, `ape.Album`,
    /// `id3v1.album`.
    pub library: Option<String>,
    /// Genre: `riff.IGNR`, `id3.TCON`, `vorbis.GENRE`, `mp4.©gen`,
    /// `ape.Genre`, `id3v1.genre`.
    pub genre: Option<String>,
    /// Keywords: `ixml.USER.KEYWORDS`, `riff.IKEY`, `id3.TXXX:KEYWORDS`,
    /// `vorbis.KEYWORDS`, `ape.Keywords`.
    pub keywords: Option<String>,
    /// Date as written: `riff.ICRD`, `id3.TDRC`, `vorbis.DATE`, `mp4.©day`,
    /// `bext.OriginationDate`, `ape.Year`, `id3v1.year`.
    pub date: Option<String>,
    /// Copyright: `riff.ICOP`, `id3.TCOP`, `vorbis.COPYRIGHT`, `mp4.cprt`,
    /// `aiff.(c)`, `ape.Copyright`.
    pub copyright: Option<String>,
    /// Software that wrote the file: `riff.ISFT`, `id3.TSSE`,
    /// `vorbis.ENCODER`, `mp4.©too`.
    pub software: Option<String>,
    /// UCS or library category: the first item whose key ends in
    /// `CATEGORY` (after the last `.` or `:`, any case), such as
    /// `ixml.USER.CATEGORY`, `ixml.ASWG.category`, `id3.TXXX:CATEGORY`,
    /// `vorbis.CATEGORY`.
    pub category: Option<String>,
    /// Subcategory: as `category`, for `SUBCATEGORY`.
    pub subcategory: Option<String>,
    /// UCS CatID: as `category`, for `CATID`.
    pub cat_id: Option<String>,
    /// The BWF `bext` chunk, if the file has one.
    pub bext: Option<Bext>,
    /// Every tag item found, in file order, as `(key, value)` with the
    /// source in the key: `riff.ICMT`, `bext.Description`, `ixml.NOTE`,
    /// `ixml.USER.CATEGORY`, `id3.TIT2`, `id3.TXXX:Foo`, `id3.COMM`,
    /// `id3v1.title`, `vorbis.COMMENT`, `mp4.©nam`, `mp4.----:mean:name`,
    /// `ape.Title`, `aiff.NAME`. Keys repeat when the file repeats an item.
    /// Empty values, pictures and binary items are left out.
    pub all: Vec<(String, String)>,
}

/// The Broadcast Wave `bext` chunk (EBU Tech 3285).
///
/// Text fields are as stored, cut at the first NUL and trimmed; the
/// standard says ASCII, files in the wild hold UTF-8 or Windows-1252, and
/// both are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bext {
    /// Description (256 bytes in the file).
    pub description: String,
    /// Originator: the organisation or person, or the recording device (32
    /// bytes).
    pub originator: String,
    /// Originator's reference, often a unique id (32 bytes).
    pub originator_reference: String,
    /// Origination date, `yyyy-mm-dd` by the standard (10 bytes).
    pub origination_date: String,
    /// Origination time, `hh:mm:ss` by the standard (8 bytes).
    pub origination_time: String,
    /// Time reference: the first sample's position since midnight, in
    /// samples at the file's rate.
    pub time_reference: u64,
    /// BWF version (0, 1 or 2).
    pub version: u16,
    /// Coding history, free text after the fixed fields.
    pub coding_history: String,
}

/// Stream facts, from whichever reader found them.
#[derive(Debug, Clone, Default, PartialEq)]
struct Props {
    codec: Option<String>,
    duration_s: Option<f64>,
    sample_rate: Option<u32>,
    channels: Option<u16>,
    bits_per_sample: Option<u32>,
}

impl Props {
    /// Each fact from `self`, else from `other`.
    fn or(self, other: Props) -> Props {
        Props {
            codec: self.codec.or(other.codec),
            duration_s: self.duration_s.or(other.duration_s),
            sample_rate: self.sample_rate.or(other.sample_rate),
            channels: self.channels.or(other.channels),
            bits_per_sample: self.bits_per_sample.or(other.bits_per_sample),
        }
    }

    fn is_empty(&self) -> bool {
        *self == Props::default()
    }
}

/// Reads the container, stream facts and tags of `path` from its headers
/// and metadata chunks, without decoding audio.
///
/// Damaged metadata does not fail the call: each reader runs on its own
/// (a panic in one is caught), and what one cannot read becomes a line in
/// [`Metadata::warnings`] while the rest is still returned. The default
/// panic hook still prints a caught panic, as for [`decode_file`](crate::decode_file).
///
/// # Errors
///
/// An [`Error`] naming `path` if the file cannot be opened or read, is a
/// directory, is empty, or is recognised by no reader at all (not audio).
pub fn read_metadata(path: &Path) -> Result<Metadata, Error> {
    let (mut file, file_len) = open_audio_file(path)?;
    let read_error = |cause| Error::Open {
        path: path.to_path_buf(),
        cause,
    };
    let mut head = Vec::with_capacity(12);
    (&mut file)
        .take(12)
        .read_to_end(&mut head)
        .map_err(read_error)?;

    let mut warnings = Vec::new();
    let sniffed = sniff(&head);
    let found = match sniffed {
        Some("wav") => read_wav(&file, file_len, &mut warnings),
        // lofty reads neither; symphonia still gives the stream facts.
        Some("caf" | "mkv") => Found::default(),
        _ => read_with_lofty(&file, &head, &mut warnings).map_err(read_error)?,
    };
    let format = sniffed.or(found.format);

    file.rewind().map_err(read_error)?;
    let stream = match read_stream(file, path) {
        Ok(props) => props,
        Err(StreamError::ZeroRate) => {
            warnings.push("the header declares a sample rate of 0 Hz".into());
            Props::default()
        }
        Err(StreamError::Symphonia(cause)) if format.is_none() => {
            return Err(Error::Format {
                path: path.to_path_buf(),
                cause,
            })
        }
        Err(StreamError::Panic(message)) if format.is_none() => {
            return Err(Error::Panic {
                path: path.to_path_buf(),
                message,
            })
        }
        Err(StreamError::Symphonia(e)) => {
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
        Err(StreamError::Panic(message)) => {
            warnings.push(format!("reading the stream header panicked: {message}"));
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
fn read_wav(file: &File, file_len: u64, warnings: &mut Vec<String>) -> Found {
    let mut reader = BufReader::new(file);
    let Some(scan) = guarded("reading the WAV chunks", warnings, || {
        riff::scan(&mut reader, file_len)
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
fn read_with_lofty(file: &File, head: &[u8], warnings: &mut Vec<String>) -> std::io::Result<Found> {
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

/// Why symphonia gave no stream facts.
enum StreamError {
    /// The WAV or AIFF header says 0 Hz, on which symphonia 0.5 panics; it
    /// is not asked.
    ZeroRate,
    Symphonia(SymphoniaError),
    Panic(String),
}

/// The stream facts from symphonia, as [`decode_file`](crate::decode_file)
/// would see them.
fn read_stream(mut file: File, path: &Path) -> Result<Props, StreamError> {
    if declared_pcm_rate(&mut file) == Some(0) {
        return Err(StreamError::ZeroRate);
    }
    match panic::catch_unwind(AssertUnwindSafe(|| stream_props(file, path))) {
        Ok(result) => result.map_err(StreamError::Symphonia),
        Err(payload) => Err(StreamError::Panic(panic_message(payload.as_ref()))),
    }
}

/// Runs `read`, turning a panic into a warning about `what`.
fn guarded<T>(what: &str, warnings: &mut Vec<String>, read: impl FnOnce() -> T) -> Option<T> {
    match panic::catch_unwind(AssertUnwindSafe(read)) {
        Ok(value) => Some(value),
        Err(payload) => {
            warnings.push(format!(
                "{what} panicked: {}",
                panic_message(payload.as_ref())
            ));
            None
        }
    }
}

/// The container, from the first 12 bytes, for the formats recognised by
/// their magic alone.
fn sniff(head: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if (at(0, b"RIFF") || at(0, b"RF64") || at(0, b"BW64")) && at(8, b"WAVE") {
        Some("wav")
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        Some("aiff")
    } else if at(0, b"fLaC") {
        Some("flac")
    } else if at(0, b"OggS") {
        Some("ogg")
    } else if at(4, b"ftyp") {
        Some("mp4")
    } else if at(0, b"caff") {
        Some("caf")
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("mkv")
    } else {
        None
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

/// The stream facts of the track [`decode_file`](crate::decode_file) would
/// decode (or the first audio track), from symphonia's container reader.
fn stream_props(file: File, path: &Path) -> Result<Props, SymphoniaError> {
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|ext| ext.to_str()) {
        hint.with_extension(ext);
    }
    // Gapless, as decode_file reads: the duration is the one encoded.
    let options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe().format(
        &hint,
        stream,
        &options,
        &MetadataOptions::default(),
    )?;
    let reader = probed.format;
    let track = pick_track(reader.default_track(), reader.tracks())
        .or_else(|| {
            reader
                .tracks()
                .iter()
                .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        })
        .ok_or(SymphoniaError::Unsupported("no audio track"))?;
    let params = &track.codec_params;
    let known_codec = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .is_some();
    let codec = match params.codec {
        _ if known_codec => Some(codec_name(params.codec)),
        // Known to the Ogg reader, with no decoder in symphonia 0.5.
        CODEC_TYPE_OPUS => Some("opus".to_string()),
        _ => None,
    };
    let sample_rate = params.sample_rate.filter(|&rate| rate > 0);
    Ok(Props {
        codec,
        duration_s: params
            .n_frames
            .zip(sample_rate)
            .filter(|&(frames, _)| frames > 0)
            .map(|(frames, rate)| frames as f64 / f64::from(rate)),
        sample_rate,
        channels: params
            .channels
            .map(|c| u16::try_from(c.count()).unwrap_or(u16::MAX))
            .filter(|&c| c > 0),
        bits_per_sample: params
            .bits_per_sample
            .or(float_bits(params.codec))
            .filter(|_| known_codec),
    })
}

impl Tags {
    /// The tags of `all` items, with the common fields picked out.
    fn new(all: Vec<(String, String)>, bext: Option<Bext>) -> Tags {
        let first = |keys: &[&str]| {
            keys.iter().find_map(|key| {
                all.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.clone())
            })
        };
        let ending_in = |name: &str| {
            all.iter()
                .find(|(k, _)| {
                    k.rsplit(['.', ':'])
                        .next()
                        .is_some_and(|last| last.eq_ignore_ascii_case(name))
                })
                .map(|(_, v)| v.clone())
        };
        Tags {
            title: first(&[
                "ixml.USER.TRACKTITLE",
                "riff.INAM",
                "id3.TIT2",
                "vorbis.TITLE",
                "mp4.©nam",
                "aiff.NAME",
                "ape.Title",
                "id3v1.title",
                "ixml.USER.FXNAME",
                "ixml.ASWG.fxName",
            ]),
            description: first(&[
                "ixml.USER.DESCRIPTION",
                "bext.Description",
                "riff.ICMT",
                "riff.ISBJ",
                "id3.COMM",
                "vorbis.DESCRIPTION",
                "vorbis.COMMENT",
                "mp4.©cmt",
                "mp4.desc",
                "aiff.ANNO",
                "aiff.COMT",
                "ape.Comment",
                "id3v1.comment",
                "ixml.NOTE",
            ]),
            artist: first(&[
                "riff.IART",
                "id3.TPE1",
                "vorbis.ARTIST",
                "mp4.©ART",
                "aiff.AUTH",
                "ape.Artist",
                "id3v1.artist",
                "ixml.USER.DESIGNER",
            ]),
            library: first(&[
                "ixml.USER.LIBRARY",
                "ixml.ASWG.library",
                "riff.IPRD",
                "id3.TALB",
                "vorbis.ALBUM",
                "mp4.©alb",
                "ape.Album",
                "id3v1.album",
            ]),
            genre: first(&[
                "riff.IGNR",
                "id3.TCON",
                "vorbis.GENRE",
                "mp4.©gen",
                "ape.Genre",
                "id3v1.genre",
            ]),
            keywords: first(&[
                "ixml.USER.KEYWORDS",
                "riff.IKEY",
                "id3.TXXX:KEYWORDS",
                "vorbis.KEYWORDS",
                "ape.Keywords",
            ]),
            date: first(&[
                "riff.ICRD",
                "id3.TDRC",
                "vorbis.DATE",
                "mp4.©day",
                "bext.OriginationDate",
                "ape.Year",
                "id3v1.year",
            ]),
            copyright: first(&[
                "riff.ICOP",
                "id3.TCOP",
                "vorbis.COPYRIGHT",
                "mp4.cprt",
                "aiff.(c)",
                "ape.Copyright",
            ]),
            software: first(&["riff.ISFT", "id3.TSSE", "vorbis.ENCODER", "mp4.©too"]),
            category: ending_in("CATEGORY"),
            subcategory: ending_in("SUBCATEGORY"),
            cat_id: ending_in("CATID"),
            bext,
            all,
        }
    }
}

/// Text from a fixed-size or NUL-terminated field: up to the first NUL,
/// UTF-8 or else Windows-1252, trimmed.
fn decode_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    decode_text_bytes(&bytes[..end]).0.trim().to_string()
}

/// `bytes` as UTF-8 if they are, else as Windows-1252 (the usual encoding
/// of text from Windows tools); the flag says which.
fn decode_text_bytes(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), true),
        Err(_) => (bytes.iter().map(|&b| windows_1252(b)).collect(), false),
    }
}

/// A Windows-1252 byte as a char: Latin-1, except the printable characters
/// at 0x80-0x9F (the five unassigned bytes map to the C1 controls, as
/// browsers do).
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_decode_utf8_or_windows_1252() {
        assert_eq!(decode_text(b"  Door creak \0garbage"), "Door creak");
        assert_eq!(
            decode_text("caf\u{e9} \u{2013}".as_bytes()),
            "caf\u{e9} \u{2013}"
        );
        assert_eq!(
            decode_text(b"caf\xE9 \x96 \x80"),
            "caf\u{e9} \u{2013} \u{20AC}"
        );
        assert_eq!(decode_text(b"\0\0\0"), "");
        assert_eq!(decode_text(b""), "");
    }

    #[test]
    fn a_panicking_reader_becomes_a_warning() {
        let mut warnings = Vec::new();
        let read: Option<u8> = guarded("reading the tags", &mut warnings, || panic!("bad tag"));
        assert_eq!(read, None);
        assert_eq!(warnings, ["reading the tags panicked: bad tag"]);
        assert_eq!(guarded("x", &mut warnings, || 7), Some(7));
        assert_eq!(warnings.len(), 1);
    }

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
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn common_fields_follow_their_preference_order() {
        let entries = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let tags = Tags::new(
            entries(&[
                ("riff.ICMT", "from INFO"),
                ("bext.Description", "from bext"),
                ("ixml.NOTE", "a note"),
                ("VORBIS.title", "any case"),
                ("ixml.ASWG.subCategory", "WOOD"),
                ("id3.TXXX:CATEGORY", "DOORS"),
                ("ixml.USER.CATEGORYFULL", "DOORS-WOOD"),
                ("ixml.USER.CATID", "DOORWood"),
            ]),
            None,
        );
        assert_eq!(tags.description.as_deref(), Some("from bext"));
        assert_eq!(tags.title.as_deref(), Some("any case"));
        assert_eq!(tags.category.as_deref(), Some("DOORS"));
        assert_eq!(tags.subcategory.as_deref(), Some("WOOD"));
        assert_eq!(tags.cat_id.as_deref(), Some("DOORWood"));
        assert_eq!(tags.artist, None);
        assert_eq!(tags.all.len(), 8);
    }
}
