//! Tags read with lofty: ID3v2, ID3v1, Vorbis comments, MP4 `ilst`, APE,
//! AIFF text chunks, each item kept under its native key.

use std::io::{Cursor, Read, Seek};

use lofty::config::ParseOptions;
use lofty::error::Result;
use lofty::file::{AudioFile, FileType};
use lofty::id3::v1::Id3v1Tag;
use lofty::id3::v2::{Frame, Id3v2Tag};
use lofty::properties::FileProperties;

use super::stream::Props;

/// What lofty read from a file.
pub(super) struct LoftyRead {
    /// Tag items, in the order the file's tags are listed in [`read`].
    pub entries: Vec<(String, String)>,
    /// lofty's view of the stream, for when symphonia cannot open the file.
    pub props: Props,
    /// Why lofty could not read the stream properties, if it could not.
    pub props_error: Option<String>,
}

fn options() -> ParseOptions {
    // Pictures are not indexed: skip decoding them.
    ParseOptions::new().read_cover_art(false)
}

/// Reads the tags and properties of a file of lofty's `file_type`.
///
/// lofty reads both in one go, and a stream it cannot make sense of (an MP3
/// cut short in its tag, with no audio frame left) fails the whole read;
/// then the tags are read again on their own.
pub(super) fn read<R: Read + Seek>(reader: &mut R, file_type: FileType) -> Result<LoftyRead> {
    match read_with(reader, file_type, options()) {
        Ok(read) => Ok(read),
        Err(e) => {
            reader.rewind()?;
            match read_with(reader, file_type, options().read_properties(false)) {
                Ok(read) => Ok(LoftyRead {
                    entries: read.entries,
                    props: Props::default(),
                    props_error: Some(e.to_string()),
                }),
                Err(_) => Err(e),
            }
        }
    }
}

fn read_with<R: Read + Seek>(
    reader: &mut R,
    file_type: FileType,
    options: ParseOptions,
) -> Result<LoftyRead> {
    use lofty::aac::AacFile;
    use lofty::ape::ApeFile;
    use lofty::flac::FlacFile;
    use lofty::iff::aiff::AiffFile;
    use lofty::mp4::{Mp4Codec, Mp4File};
    use lofty::mpeg::{Layer, MpegFile};
    use lofty::musepack::MpcFile;
    use lofty::ogg::{OpusFile, SpeexFile, VorbisFile};
    use lofty::wavpack::WavPackFile;

    let mut entries = Vec::new();
    let e = &mut entries;
    let props = match file_type {
        FileType::Aac => {
            let f = AacFile::read_from(reader, options)?;
            id3v2(f.id3v2(), e);
            id3v1(f.id3v1(), e);
            props(&f, "aac")
        }
        FileType::Aiff => {
            let f = AiffFile::read_from(reader, options)?;
            if let Some(text) = f.text_chunks() {
                let mut aiff = |key: &str, value: &str| push(e, format!("aiff.{key}"), value);
                for (key, value) in [
                    ("NAME", &text.name),
                    ("AUTH", &text.author),
                    ("(c)", &text.copyright),
                ] {
                    if let Some(value) = value {
                        aiff(key, value);
                    }
                }
                for value in text.annotations.iter().flatten() {
                    aiff("ANNO", value);
                }
                for comment in text.comments.iter().flatten() {
                    aiff("COMT", &comment.text);
                }
            }
            id3v2(f.id3v2(), e);
            props(&f, "")
        }
        FileType::Ape => {
            let f = ApeFile::read_from(reader, options)?;
            ape(f.ape(), e);
            id3v2(f.id3v2(), e);
            id3v1(f.id3v1(), e);
            props(&f, "ape")
        }
        FileType::Flac => {
            let f = FlacFile::read_from(reader, options)?;
            if let Some(comments) = f.vorbis_comments() {
                vorbis(comments.items(), e);
            }
            id3v2(f.id3v2(), e);
            props(&f, "flac")
        }
        FileType::Mpeg => {
            let f = MpegFile::read_from(reader, options)?;
            id3v2(f.id3v2(), e);
            ape(f.ape(), e);
            id3v1(f.id3v1(), e);
            let codec = match f.properties().layer() {
                Layer::Layer1 => "mp1",
                Layer::Layer2 => "mp2",
                Layer::Layer3 => "mp3",
            };
            props(&f, codec)
        }
        FileType::Mp4 => {
            let f = Mp4File::read_from(reader, options)?;
            if let Some(ilst) = f.ilst() {
                mp4(ilst, e);
            }
            let codec = match f.properties().codec() {
                Mp4Codec::AAC => "aac",
                Mp4Codec::ALAC => "alac",
                Mp4Codec::MP3 => "mp3",
                Mp4Codec::FLAC => "flac",
                _ => "",
            };
            props(&f, codec)
        }
        FileType::Mpc => {
            let f = MpcFile::read_from(reader, options)?;
            ape(f.ape(), e);
            id3v2(f.id3v2(), e);
            id3v1(f.id3v1(), e);
            props(&f, "musepack")
        }
        FileType::Opus => {
            let f = OpusFile::read_from(reader, options)?;
            vorbis(f.vorbis_comments().items(), e);
            props(&f, "opus")
        }
        FileType::Speex => {
            let f = SpeexFile::read_from(reader, options)?;
            vorbis(f.vorbis_comments().items(), e);
            props(&f, "speex")
        }
        FileType::Vorbis => {
            let f = VorbisFile::read_from(reader, options)?;
            vorbis(f.vorbis_comments().items(), e);
            props(&f, "vorbis")
        }
        FileType::WavPack => {
            let f = WavPackFile::read_from(reader, options)?;
            ape(f.ape(), e);
            id3v1(f.id3v1(), e);
            props(&f, "wavpack")
        }
        // WAV goes through the chunk walker; custom types are never
        // registered here.
        _ => Props::default(),
    };
    Ok(LoftyRead {
        entries,
        props,
        props_error: None,
    })
}

/// What is wrong with the header of the ID3v2 tag in a WAV `ID3 ` chunk,
/// if anything; lofty passes over a damaged tag in silence.
pub(super) fn id3_chunk_problem(body: &[u8]) -> Option<String> {
    let Some(header) = body.get(..10).filter(|h| h.starts_with(b"ID3")) else {
        return Some("ID3 chunk holds no ID3v2 tag".into());
    };
    let syncsafe = header[6..10].iter().all(|&b| b < 0x80);
    let size = header[6..10]
        .iter()
        .fold(0_usize, |size, &b| (size << 7) | usize::from(b & 0x7F));
    if !(2..=4).contains(&header[3]) || !syncsafe {
        Some("ID3 chunk unreadable: not an ID3v2.2-2.4 header".into())
    } else if size > body.len() - 10 {
        Some(format!(
            "ID3 chunk truncated: the tag declares {size} bytes, the chunk holds {}",
            body.len() - 10
        ))
    } else {
        None
    }
}

/// The items of an ID3v2 tag found in a WAV `ID3 ` chunk.
pub(super) fn id3_chunk(body: &[u8]) -> Result<Vec<(String, String)>> {
    use lofty::iff::wav::WavFile;

    // lofty has no public parser for a bare ID3v2 tag, but its WAV reader
    // takes one from an `ID3 ` chunk: wrap the chunk in a minimal RIFF.
    let pad = body.len() % 2;
    let chunk_size = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let riff_size = chunk_size.saturating_add(12 + pad as u32);
    let mut riff = Vec::with_capacity(body.len() + 21);
    riff.extend_from_slice(b"RIFF");
    riff.extend_from_slice(&riff_size.to_le_bytes());
    riff.extend_from_slice(b"WAVEID3 ");
    riff.extend_from_slice(&chunk_size.to_le_bytes());
    riff.extend_from_slice(body);
    riff.resize(riff.len() + pad, 0);
    let f = WavFile::read_from(&mut Cursor::new(riff), options().read_properties(false))?;
    let mut entries = Vec::new();
    id3v2(f.id3v2(), &mut entries);
    Ok(entries)
}

fn props<F>(f: &F, codec: &str) -> Props
where
    F: AudioFile,
    F::Properties: Clone + Into<FileProperties>,
{
    let p: FileProperties = f.properties().clone().into();
    let duration = p.duration().as_secs_f64();
    Props {
        codec: Some(codec.to_string()).filter(|c| !c.is_empty()),
        duration_s: Some(duration).filter(|&d| d > 0.0),
        sample_rate: p.sample_rate().filter(|&r| r > 0),
        channels: p.channels().filter(|&c| c > 0).map(u16::from),
        bits_per_sample: p.bit_depth().filter(|&b| b > 0).map(u32::from),
    }
}

/// Pushes `(key, value)` if the value has text; ID3v2.4 multi-value
/// separators (NUL) become `"; "`.
fn push(entries: &mut Vec<(String, String)>, key: String, value: &str) {
    let value = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    if !value.is_empty() {
        entries.push((key, value.replace('\0', "; ")));
    }
}

/// ID3v2 frames as `id3.ID`, `id3.TXXX:description`, `id3.COMM` (or
/// `id3.COMM:description`); pictures and binary frames are skipped.
fn id3v2(tag: Option<&Id3v2Tag>, e: &mut Vec<(String, String)>) {
    let Some(tag) = tag else { return };
    for frame in tag {
        let id = frame.id().as_str();
        let described = |description: &str| {
            if description.is_empty() {
                format!("id3.{id}")
            } else {
                format!("id3.{id}:{description}")
            }
        };
        match frame {
            Frame::Text(f) => push(e, format!("id3.{id}"), &f.value),
            Frame::UserText(f) => push(e, described(&f.description), &f.content),
            Frame::Comment(f) => push(e, described(&f.description), &f.content),
            Frame::UnsynchronizedText(f) => push(e, described(&f.description), &f.content),
            Frame::Url(f) => push(e, format!("id3.{id}"), f.url()),
            Frame::UserUrl(f) => push(e, described(&f.description), &f.content),
            Frame::Timestamp(f) => push(e, format!("id3.{id}"), &f.timestamp.to_string()),
            Frame::KeyValue(f) => {
                let pairs: Vec<String> = f
                    .key_value_pairs
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                push(e, format!("id3.{id}"), &pairs.join("; "));
            }
            _ => {}
        }
    }
}

/// ID3v1 fields as `id3v1.title`, `id3v1.artist`, ...
fn id3v1(tag: Option<&Id3v1Tag>, e: &mut Vec<(String, String)>) {
    let Some(tag) = tag else { return };
    for (key, value) in [
        ("title", &tag.title),
        ("artist", &tag.artist),
        ("album", &tag.album),
        ("comment", &tag.comment),
    ] {
        if let Some(value) = value {
            push(e, format!("id3v1.{key}"), value);
        }
    }
    if let Some(year) = tag.year {
        push(e, "id3v1.year".into(), &year.to_string());
    }
    if let Some(genre) = tag
        .genre
        .and_then(|g| lofty::id3::v1::GENRES.get(usize::from(g)))
    {
        push(e, "id3v1.genre".into(), genre);
    }
}

/// Vorbis comments (FLAC, Ogg) as `vorbis.KEY`, the key as written.
fn vorbis<'a>(items: impl Iterator<Item = (&'a str, &'a str)>, e: &mut Vec<(String, String)>) {
    for (key, value) in items {
        push(e, format!("vorbis.{key}"), value);
    }
}

/// APE items as `ape.Key`; binary items are skipped.
fn ape(tag: Option<&lofty::ape::ApeTag>, e: &mut Vec<(String, String)>) {
    let Some(tag) = tag else { return };
    for item in tag {
        for value in item.text_values().into_iter().flatten() {
            push(e, format!("ape.{}", item.key()), value);
        }
    }
}

/// MP4 atoms as `mp4.©nam` (the fourcc read as Latin-1) or
/// `mp4.----:mean:name` for freeform atoms; text and numbers are kept,
/// pictures and binary data skipped.
fn mp4(ilst: &lofty::mp4::Ilst, e: &mut Vec<(String, String)>) {
    use lofty::mp4::{AtomData, AtomIdent};

    for atom in ilst {
        let key = match atom.ident() {
            AtomIdent::Fourcc(fourcc) => {
                let name: String = fourcc.iter().map(|&b| char::from(b)).collect();
                format!("mp4.{name}")
            }
            AtomIdent::Freeform { mean, name } => format!("mp4.----:{mean}:{name}"),
        };
        for data in atom.data() {
            match data {
                AtomData::UTF8(s) | AtomData::UTF16(s) => push(e, key.clone(), s),
                AtomData::SignedInteger(n) => push(e, key.clone(), &n.to_string()),
                AtomData::UnsignedInteger(n) => push(e, key.clone(), &n.to_string()),
                _ => {}
            }
        }
    }
}
