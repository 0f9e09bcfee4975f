//! Sun/NeXT audio (`.au`, `.snd`): a 24-byte big-endian header (magic
//! `.snd`, data offset, data size, encoding, rate, channels), then the
//! samples. The PCM encodings go to the raw PCM reader.

use std::io::{Read, Seek, SeekFrom};

use symphonia::core::codecs::{
    CodecType, CODEC_TYPE_PCM_ALAW, CODEC_TYPE_PCM_F32BE, CODEC_TYPE_PCM_F64BE,
    CODEC_TYPE_PCM_MULAW, CODEC_TYPE_PCM_S16BE, CODEC_TYPE_PCM_S24BE, CODEC_TYPE_PCM_S32BE,
    CODEC_TYPE_PCM_S8,
};

use super::raw::Layout;
use super::refusal::Refusal;
use crate::cursor::FileCursor;

/// Whether `head` starts an AU file.
pub(crate) fn is_au(head: &[u8]) -> bool {
    head.starts_with(b".snd")
}

/// The PCM layout of the AU file behind `file`.
pub(crate) fn layout(file: &mut FileCursor) -> Result<Layout, Refusal> {
    let file_len = file.len();
    let mut header = [0; 24];
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_exact(&mut header))
        .map_err(Refusal::io)?;
    let field = |i: usize| u32::from_be_bytes(header[i * 4..i * 4 + 4].try_into().expect("four"));
    let (offset, size, encoding, rate, channels) =
        (field(1), field(2), field(3), field(4), field(5));
    let (codec, bits) = codec(encoding)?;
    if rate == 0 {
        return Err(Refusal::ZeroRate);
    }
    let channels = u16::try_from(channels)
        .ok()
        .filter(|&c| c > 0)
        .ok_or(Refusal::malformed("AU header with no or too many channels"))?;
    let data_start = u64::from(offset.max(24));
    if data_start > file_len {
        return Err(Refusal::malformed(
            "AU data offset past the end of the file",
        ));
    }
    // 0xFFFFFFFF is "unknown size" (a stream written to a pipe); a size
    // past the end of the file is a file cut short: the audio is what the
    // file holds.
    let present = u64::from(size).min(file_len - data_start);
    let frame = u64::from(channels) * u64::from(bits / 8);
    Ok(Layout {
        codec,
        rate,
        channels,
        bits,
        data_start,
        data_len: present - present % frame,
    })
}

/// symphonia's codec and the stored bits of an AU encoding.
fn codec(encoding: u32) -> Result<(CodecType, u16), Refusal> {
    Ok(match encoding {
        1 => (CODEC_TYPE_PCM_MULAW, 8),
        2 => (CODEC_TYPE_PCM_S8, 8),
        3 => (CODEC_TYPE_PCM_S16BE, 16),
        4 => (CODEC_TYPE_PCM_S24BE, 24),
        5 => (CODEC_TYPE_PCM_S32BE, 32),
        6 => (CODEC_TYPE_PCM_F32BE, 32),
        7 => (CODEC_TYPE_PCM_F64BE, 64),
        27 => (CODEC_TYPE_PCM_ALAW, 8),
        other => {
            let name = match other {
                23 => "G.721 ADPCM".to_string(),
                24 => "G.722 ADPCM".to_string(),
                25 | 26 => "G.723 ADPCM".to_string(),
                other => format!("encoding {other}"),
            };
            return Err(Refusal::Unsupported(format!("{name} in AU")));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_map_to_pcm_codecs_or_a_named_refusal() {
        assert!(matches!(codec(3), Ok((CODEC_TYPE_PCM_S16BE, 16))));
        assert!(matches!(codec(27), Ok((CODEC_TYPE_PCM_ALAW, 8))));
        let Err(Refusal::Unsupported(what)) = codec(23) else {
            panic!("G.721 decoded")
        };
        assert_eq!(what, "G.721 ADPCM in AU");
        let Err(Refusal::Unsupported(what)) = codec(99) else {
            panic!("encoding 99 decoded")
        };
        assert_eq!(what, "encoding 99 in AU");
    }
}
