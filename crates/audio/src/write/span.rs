//! Where a file's audio is, and its hash: the bytes a tag write must never
//! change, found without decoding. WAV: the `data` chunk's body; AIFF: the
//! `SSND` chunk's; FLAC: every byte after the last metadata block; MPEG:
//! every byte between a leading ID3v2 tag and trailing APEv2 and ID3v1
//! tags. The file must be whole: a truncated chunk or garbage where a chunk
//! should be is refused, since a rewrite could not keep what it cannot
//! see.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::{Before, TagError, Target};
use crate::chunks::Chunks;

/// The audio bytes of a file: where they are and their BLAKE3 hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioSpan {
    /// Their offset in the file.
    pub offset: u64,
    /// Their length.
    pub len: u64,
    /// Their BLAKE3 hash.
    pub hash: [u8; 32],
}

/// The audio span of a file of a format hark writes tags into.
///
/// # Errors
///
/// [`TagError::Unsupported`] for another format, [`TagError::Malformed`]
/// for a damaged one, [`TagError::Io`].
pub fn audio_span(path: &Path) -> Result<AudioSpan, TagError> {
    let target = sniff(path)?;
    audio_span_of(path, target)
}

/// The format of the file, from its first 16 bytes and the 16 after a
/// leading ID3v2 tag, if there is one.
pub(super) fn sniff(path: &Path) -> Result<Target, TagError> {
    let mut file = File::open(path).map_err(TagError::io(path, "open"))?;
    let mut head = Vec::new();
    (&mut file)
        .take(16)
        .read_to_end(&mut head)
        .map_err(TagError::io(path, "read"))?;
    let mut after = head.clone();
    if let Some(skip) = skip_id3v2(&head) {
        after.clear();
        file.seek(SeekFrom::Start(skip))
            .map_err(TagError::io(path, "read"))?;
        (&mut file)
            .take(16)
            .read_to_end(&mut after)
            .map_err(TagError::io(path, "read"))?;
    }
    super::target_of(path, &head, &after)
}

pub(crate) fn audio_span_of(path: &Path, target: Target) -> Result<AudioSpan, TagError> {
    let mut file = File::open(path).map_err(TagError::io(path, "open"))?;
    let len = file.metadata().map_err(TagError::io(path, "read"))?.len();
    let (offset, audio_len) =
        locate(&mut file, len, target).map_err(|e| TagError::malformed(path, e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(TagError::io(path, "read"))?;
    let mut hasher = blake3::Hasher::new();
    let hashed = std::io::copy(&mut BufReader::new(file).take(audio_len), &mut hasher)
        .map_err(TagError::io(path, "read"))?;
    if hashed != audio_len {
        return Err(TagError::malformed(path, "the audio ends early"));
    }
    Ok(AudioSpan {
        offset,
        len: audio_len,
        hash: *hasher.finalize().as_bytes(),
    })
}

/// The file cut around its audio.
pub(super) fn before(path: &Path, target: Target) -> Result<Before, TagError> {
    let audio = audio_span_of(path, target)?;
    let mut file = File::open(path).map_err(TagError::io(path, "open"))?;
    let mut head = Vec::new();
    (&mut file)
        .take(audio.offset)
        .read_to_end(&mut head)
        .map_err(TagError::io(path, "read"))?;
    file.seek(SeekFrom::Start(audio.offset + audio.len))
        .map_err(TagError::io(path, "read"))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)
        .map_err(TagError::io(path, "read"))?;
    Ok(Before { head, audio, tail })
}

/// The audio's offset and length, or what is wrong with the file.
fn locate(file: &mut File, len: u64, target: Target) -> Result<(u64, u64), String> {
    let io = |e: std::io::Error| format!("cannot read it: {e}");
    match target {
        Target::Wav | Target::Aiff => {
            let wanted: &[u8; 4] = if target == Target::Wav {
                b"data"
            } else {
                b"SSND"
            };
            let mut chunks = Chunks::new(BufReader::new(&mut *file), len)
                .map_err(io)?
                .ok_or("not a RIFF or AIFF file")?;
            let mut found = None;
            for chunk in chunks.by_ref() {
                let chunk = chunk.map_err(io)?;
                if chunk.truncated() {
                    return Err(format!(
                        "its `{}` chunk is cut short ({} of {} bytes)",
                        chunk.name(),
                        chunk.present,
                        chunk.size
                    ));
                }
                if &chunk.id == wanted && found.is_none() {
                    found = Some((chunk.body, chunk.size));
                }
            }
            if let Some(problem) = chunks.take_problems().into_iter().next() {
                return Err(problem.to_string());
            }
            found.ok_or_else(|| {
                format!(
                    "it has no `{}` chunk",
                    String::from_utf8_lossy(wanted).trim()
                )
            })
        }
        Target::Flac => {
            let mut head = [0; 16];
            let n = read_at(file, 0, &mut head).map_err(io)?;
            let mut at = skip_id3v2(&head[..n]).unwrap_or(0);
            let mut magic = [0; 4];
            if read_at(file, at, &mut magic).map_err(io)? < 4 || &magic != b"fLaC" {
                return Err("no `fLaC` marker".into());
            }
            at += 4;
            loop {
                let mut block = [0; 4];
                if read_at(file, at, &mut block).map_err(io)? < 4 {
                    return Err("its metadata blocks run past the end".into());
                }
                let size = u64::from(u32::from_be_bytes([0, block[1], block[2], block[3]]));
                at += 4 + size;
                if at > len {
                    return Err("its metadata blocks run past the end".into());
                }
                if block[0] & 0x80 != 0 {
                    break;
                }
            }
            Ok((at, len - at))
        }
        Target::Mpeg => {
            let mut head = [0; 16];
            let n = read_at(file, 0, &mut head).map_err(io)?;
            let start = skip_id3v2(&head[..n]).unwrap_or(0).min(len);
            let mut end = len;
            let mut tag = [0; 3];
            if end >= start + 128
                && read_at(file, end - 128, &mut tag).map_err(io)? == 3
                && &tag == b"TAG"
            {
                end -= 128;
            }
            let mut footer = [0; 32];
            if end >= start + 32
                && read_at(file, end - 32, &mut footer).map_err(io)? == 32
                && &footer[..8] == b"APETAGEX"
            {
                let size = u64::from(u32::from_le_bytes(footer[12..16].try_into().expect("4")));
                let flags = u32::from_le_bytes(footer[20..24].try_into().expect("4"));
                let whole = size + if flags & 0x8000_0000 != 0 { 32 } else { 0 };
                if whole <= end - start {
                    end -= whole;
                }
            }
            Ok((start, end - start))
        }
    }
}

fn read_at(file: &mut File, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    file.seek(SeekFrom::Start(offset))?;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The length of a leading ID3v2 tag (header, body and footer), if `head`
/// starts with one.
pub(crate) fn skip_id3v2(head: &[u8]) -> Option<u64> {
    if head.len() < 10 || &head[..3] != b"ID3" {
        return None;
    }
    let size = head[6..10]
        .iter()
        .fold(0_u64, |acc, &b| (acc << 7) | u64::from(b & 0x7F));
    let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// Whether `after_id3` (the bytes after any ID3v2 tag) starts with an MPEG audio frame
/// header of layer I, II or III (not an ADTS AAC header).
pub(crate) fn is_mpeg(after_id3: &[u8]) -> bool {
    let Some(h) = after_id3.get(..2) else {
        return false;
    };
    h[0] == 0xFF && h[1] & 0xE0 == 0xE0 && (h[1] >> 1) & 3 != 0
}
