//! A fallback reader for plain PCM WAV files that symphonia refuses.
//!
//! symphonia 0.5's WAV reader is strict in two ways that real sound
//! libraries trip over, and no maintained crate reads these files in a
//! streaming way with both cases handled, so hark reads them by hand:
//!
//! - Channel counts beyond the speaker positions it knows (about 26): a
//!   polyphonic WAV from a 32-track field recorder is "invalid channel count".
//! - A `data` chunk whose size is wrong: 0 or 0xFFFFFFFF from a recorder
//!   that lost power before finishing the header, or any size running past
//!   the end of the file. Every player plays the audio that is there.
//!
//! Only what symphonia refuses comes here: integer PCM of 8 to 32 bits and
//! IEEE float of 32 or 64 bits, plain or `WAVE_FORMAT_EXTENSIBLE`.

use std::io::{Read, Seek, SeekFrom};

use crate::chunks::{Chunks, Form};
use crate::mono::downmix_into;
use crate::wave_format::WaveFormat;

/// Chunks looked at, at most, before the `data` chunk.
const MAX_CHUNKS: usize = 256;

/// The facts of a PCM WAV file, with the data size corrected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PcmWav {
    pub channels: u16,
    pub rate: u32,
    pub bits: u16,
    pub float: bool,
    pub data_start: u64,
    /// Bytes of whole frames actually present.
    pub data_len: u64,
}

impl PcmWav {
    fn block_align(&self) -> u64 {
        u64::from(self.channels) * u64::from(self.bits / 8)
    }
}

/// Reads the header of a RIFF/WAVE file of `file_len` bytes with PCM or
/// float audio. `None` when the file is something else (or a format this
/// reader does not do).
pub(crate) fn parse<R: Read + Seek>(file: R, file_len: u64) -> Option<PcmWav> {
    let mut chunks = Chunks::new(file, file_len).ok()??;
    if chunks.form() != Form::Riff {
        return None;
    }
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    for _ in 0..MAX_CHUNKS {
        let chunk = chunks.next()?.ok()?;
        match &chunk.id {
            b"fmt " if chunk.size >= 16 => {
                let f = chunks.read_body(&chunk, 64).ok()?;
                if f.len() < 16 {
                    return None;
                }
                let tag = u16::from_le_bytes([f[0], f[1]]);
                let channels = u16::from_le_bytes([f[2], f[3]]);
                let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
                let bits = u16::from_le_bytes([f[14], f[15]]);
                // WAVE_FORMAT_EXTENSIBLE: the format is the sub-format GUID's first two bytes.
                let tag = if tag == 0xFFFE && f.len() >= 26 {
                    u16::from_le_bytes([f[24], f[25]])
                } else {
                    tag
                };
                fmt = Some((tag, channels, rate, bits));
            }
            b"data" => {
                let (tag, channels, rate, bits) = fmt?;
                let float = match (tag, bits) {
                    (1, 8 | 16 | 24 | 32) => false,
                    (3, 32 | 64) => true,
                    _ => return None,
                };
                if channels == 0 || rate == 0 {
                    return None;
                }
                let mut wav = PcmWav {
                    channels,
                    rate,
                    bits,
                    float,
                    data_start: chunk.body,
                    data_len: 0,
                };
                // A size of 0 or 0xFFFFFFFF, or one past the end of the
                // file: the audio is what the file holds.
                let declared = if chunk.size == 0 || chunk.size == 0xFFFF_FFFF || chunk.truncated()
                {
                    file_len - chunk.body
                } else {
                    chunk.size
                };
                wav.data_len = declared - declared % wav.block_align();
                return Some(wav);
            }
            _ => {}
        }
    }
    None
}

/// The name of the codec of a RIFF/RF64 WAVE file, if it is one that
/// neither symphonia nor this reader decodes ("GSM 6.10", "MP3"); `None`
/// for a file that is not WAV, has no readable `fmt ` chunk, or is in a
/// codec symphonia reads (then what went wrong is something else).
pub(crate) fn unsupported_codec<R: Read + Seek>(file: R, file_len: u64) -> Option<String> {
    let mut chunks = Chunks::new(file, file_len).ok()??;
    if chunks.form() == Form::Aiff {
        return None;
    }
    for _ in 0..MAX_CHUNKS {
        let chunk = chunks.next()?.ok()?;
        if &chunk.id == b"fmt " {
            let format = WaveFormat::parse(&chunks.read_body(&chunk, 64).ok()?)?;
            // PCM, IEEE float, Microsoft ADPCM, A-law, µ-law, IMA ADPCM.
            let symphonia_reads = matches!(format.tag, 0x0001..=0x0003 | 0x0006 | 0x0007 | 0x0011);
            return (!symphonia_reads).then(|| format.describe());
        }
    }
    None
}

/// Decodes `wav` from `file`, averaging channels; `sink` gets (rate, mono
/// samples) a block at a time. Returns the frames read (fewer than the
/// header's if the file ends early).
pub(crate) fn decode<R: Read + Seek>(
    file: &mut R,
    wav: &PcmWav,
    sink: &mut dyn FnMut(u32, &[f32]),
) -> std::io::Result<u64> {
    file.seek(SeekFrom::Start(wav.data_start))?;
    let align = wav.block_align() as usize;
    let width = usize::from(wav.bits / 8);
    let frames_per_block = (1 << 16) / align.max(1) + 1;
    let mut buf = vec![0u8; frames_per_block * align];
    let mut interleaved = Vec::with_capacity(frames_per_block * usize::from(wav.channels));
    let mut mono = Vec::with_capacity(frames_per_block);
    let mut left = wav.data_len;
    let mut frames = 0;
    while left > 0 {
        let want = (buf.len() as u64).min(left) as usize;
        let got = read_full(file, &mut buf[..want])?;
        let whole = got - got % align;
        if whole == 0 {
            break;
        }
        interleaved.clear();
        interleaved.extend(
            buf[..whole]
                .chunks_exact(width)
                .map(|s| sample(s, wav.bits, wav.float)),
        );
        mono.clear();
        downmix_into(&mut mono, &interleaved, usize::from(wav.channels));
        frames += mono.len() as u64;
        sink(wav.rate, &mono);
        left -= whole as u64;
        if got < want {
            break;
        }
    }
    Ok(frames)
}

fn read_full<R: Read>(file: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// One little-endian sample as f32 in [-1, 1] (8-bit PCM is unsigned).
fn sample(b: &[u8], bits: u16, float: bool) -> f32 {
    match (bits, float) {
        (8, false) => (f32::from(b[0]) - 128.0) / 128.0,
        (16, false) => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0,
        (24, false) => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
        (32, false) => {
            (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0) as f32
        }
        (32, true) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        (64, true) => f64::from_le_bytes(b[..8].try_into().expect("8 bytes")) as f32,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_decode_to_unit_range() {
        assert_eq!(sample(&[0, 0x80], 16, false), -1.0);
        assert_eq!(sample(&[0xff, 0x7f], 16, false), 32_767.0 / 32_768.0);
        assert_eq!(sample(&[0, 0, 0x80], 24, false), -1.0);
        assert_eq!(sample(&[128], 8, false), 0.0);
        assert_eq!(sample(&0.25f32.to_le_bytes(), 32, true), 0.25);
        assert_eq!(sample(&(-0.5f64).to_le_bytes(), 64, true), -0.5);
    }
}
