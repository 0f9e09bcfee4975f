//! Sony Wave64 (`.w64`): WAV with 16-byte GUIDs for chunk ids and 64-bit
//! chunk sizes, so that a recording may pass 4 GiB. The `fmt ` body is the
//! WAV one; the PCM formats go to the raw PCM reader.

use std::io::{Read, Seek, SeekFrom};

use super::raw::Layout;
use super::refusal::Refusal;
use crate::cursor::FileCursor;
use crate::wave_format::WaveFormat;

/// The first 16 bytes of every Wave64 file: the `riff` GUID.
pub(crate) const RIFF_GUID: [u8; 16] = [
    b'r', b'i', b'f', b'f', 0x2E, 0x91, 0xCF, 0x11, 0xA5, 0xD6, 0x28, 0xDB, 0x04, 0xC1, 0x00, 0x00,
];

/// The tail the `wave`, `fmt ` and `data` GUIDs share after their four
/// letters.
const GUID_TAIL: [u8; 12] = [
    0xF3, 0xAC, 0xD3, 0x11, 0x8C, 0xD1, 0x00, 0xC0, 0x4F, 0x8E, 0xDB, 0x8A,
];

/// Chunks looked at, at most, before the `data` chunk.
const MAX_CHUNKS: usize = 256;

/// Whether `head` starts a Wave64 file (its first 12 bytes suffice).
pub(crate) fn is_w64(head: &[u8]) -> bool {
    head.len() >= 12 && head[..12] == RIFF_GUID[..12]
}

/// The PCM layout of the Wave64 file behind `file`.
pub(crate) fn layout(file: &mut FileCursor) -> Result<Layout, Refusal> {
    let file_len = file.len();
    let mut header = [0; 40];
    read_at(file, 0, &mut header)?;
    if header[..16] != RIFF_GUID || !is_guid(&header[24..40], b"wave") {
        return Err(Refusal::malformed("not a Wave64 file"));
    }
    let mut format = None;
    let mut pos = 40_u64;
    for _ in 0..MAX_CHUNKS {
        let mut chunk = [0; 24];
        if pos + 24 > file_len {
            break;
        }
        read_at(file, pos, &mut chunk)?;
        let size = u64::from_le_bytes(chunk[16..24].try_into().expect("eight bytes"));
        let body = pos + 24;
        if is_guid(&chunk[..16], b"fmt ") {
            let mut fmt = vec![0; size.saturating_sub(24).min(64) as usize];
            read_at(file, body, &mut fmt)?;
            format = Some(
                WaveFormat::parse(&fmt)
                    .ok_or(Refusal::malformed("Wave64 `fmt ` chunk too short"))?,
            );
        } else if is_guid(&chunk[..16], b"data") {
            let format = format.ok_or(Refusal::malformed("Wave64 `data` before `fmt `"))?;
            let Some(codec) = format.pcm_codec() else {
                return Err(Refusal::Unsupported(format!(
                    "{} in Wave64",
                    format.describe()
                )));
            };
            if format.rate == 0 {
                return Err(Refusal::ZeroRate);
            }
            // A size below the header's own, or past the end of the file,
            // is a writer that never came back to fill it in: the audio is
            // what the file holds.
            let declared = size.checked_sub(24).unwrap_or(u64::MAX);
            let present = declared.min(file_len - body);
            let frame = u64::from(format.channels) * u64::from(format.bits / 8);
            return Ok(Layout {
                codec,
                rate: format.rate,
                channels: format.channels,
                bits: format.bits,
                data_start: body,
                data_len: present - present % frame.max(1),
            });
        }
        // Chunks are aligned to 8 bytes; a size below 24 cannot be walked past.
        if size < 24 {
            break;
        }
        pos = pos.saturating_add(size.div_ceil(8) * 8);
    }
    Err(Refusal::malformed("Wave64 file without a `data` chunk"))
}

/// Whether `guid` is the Wave64 GUID of the four-letter id `name`.
fn is_guid(guid: &[u8], name: &[u8; 4]) -> bool {
    guid.len() == 16 && guid[..4] == name[..] && guid[4..] == GUID_TAIL
}

fn read_at(file: &mut FileCursor, at: u64, buf: &mut [u8]) -> Result<(), Refusal> {
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.read_exact(buf))
        .map_err(Refusal::io)
}
