//! The `WAVEFORMATEX` format tags of WAV and Wave64: which are plain PCM a
//! shim can hand to symphonia's PCM decoder, which hold an Ogg Vorbis
//! stream, and what the others are called, so that a file hark cannot
//! decode is refused with the codec's name rather than a tag number.

use symphonia::core::codecs::{
    CodecType, CODEC_TYPE_PCM_ALAW, CODEC_TYPE_PCM_F32LE, CODEC_TYPE_PCM_F64LE,
    CODEC_TYPE_PCM_MULAW, CODEC_TYPE_PCM_S16LE, CODEC_TYPE_PCM_S24LE, CODEC_TYPE_PCM_S32LE,
    CODEC_TYPE_PCM_U8,
};

/// `WAVE_FORMAT_EXTENSIBLE`: the real tag is the sub-format GUID's first two bytes.
pub(crate) const EXTENSIBLE: u16 = 0xFFFE;

/// The format of a `fmt ` chunk body (WAVEFORMATEX), with
/// `WAVE_FORMAT_EXTENSIBLE` resolved to its sub-format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WaveFormat {
    pub tag: u16,
    pub channels: u16,
    pub rate: u32,
    pub block_align: u16,
    pub bits: u16,
}

impl WaveFormat {
    /// Parses a `fmt ` body; `None` if it is shorter than the 16 bytes
    /// every format has.
    pub(crate) fn parse(body: &[u8]) -> Option<WaveFormat> {
        let u16_at = |at: usize| Some(u16::from_le_bytes(body.get(at..at + 2)?.try_into().ok()?));
        let tag = u16_at(0)?;
        let tag = match tag {
            EXTENSIBLE => u16_at(24).unwrap_or(tag),
            tag => tag,
        };
        Some(WaveFormat {
            tag,
            channels: u16_at(2)?,
            rate: u32::from_le_bytes(body.get(4..8)?.try_into().ok()?),
            block_align: u16_at(12)?,
            bits: u16_at(14)?,
        })
    }

    /// symphonia's PCM codec for this format, if it is plain PCM, IEEE
    /// float, A-law or µ-law, all stored little-endian.
    pub(crate) fn pcm_codec(&self) -> Option<CodecType> {
        Some(match (self.tag, self.bits) {
            (0x0001, 8) => CODEC_TYPE_PCM_U8,
            (0x0001, 16) => CODEC_TYPE_PCM_S16LE,
            (0x0001, 24) => CODEC_TYPE_PCM_S24LE,
            (0x0001, 32) => CODEC_TYPE_PCM_S32LE,
            (0x0003, 32) => CODEC_TYPE_PCM_F32LE,
            (0x0003, 64) => CODEC_TYPE_PCM_F64LE,
            (0x0006, 8) => CODEC_TYPE_PCM_ALAW,
            (0x0007, 8) => CODEC_TYPE_PCM_MULAW,
            _ => return None,
        })
    }

    /// The codec's name, for saying it is not supported: "GSM 6.10",
    /// "24-bit IEEE float", "format tag 0x1234".
    pub(crate) fn describe(&self) -> String {
        match (self.tag, name(self.tag)) {
            (0x0001, _) => format!("{}-bit PCM", self.bits),
            (0x0003, _) => format!("{}-bit IEEE float", self.bits),
            (_, Some(name)) => name.to_string(),
            (tag, None) => format!("format tag 0x{tag:04X}"),
        }
    }
}

/// Whether `tag` is one of the Ogg Vorbis tags (0x674F to 0x6771: modes 1,
/// 2 and 3, each with a "plus" variant), whose `data` chunk holds a whole
/// Ogg stream. LMMS and some Windows tools wrote these.
pub(crate) fn is_ogg_vorbis(tag: u16) -> bool {
    (0x674F..=0x6771).contains(&tag)
}

/// Whether the `data` chunk of a WAV with `tag` holds a stream symphonia
/// reads on its own: Ogg Vorbis, or MPEG audio frames (MP1/2 and MP3).
pub(crate) fn holds_stream(tag: u16) -> bool {
    is_ogg_vorbis(tag) || matches!(tag, 0x0050 | 0x0055)
}

/// The names of the tags found in sound libraries.
fn name(tag: u16) -> Option<&'static str> {
    Some(match tag {
        0x0002 => "Microsoft ADPCM",
        0x0006 => "A-law",
        0x0007 => "µ-law",
        0x0010 => "OKI ADPCM",
        0x0011 => "IMA ADPCM",
        0x0017 => "Dialogic OKI ADPCM",
        0x0020 => "Yamaha ADPCM",
        0x0022 => "DSP Group TrueSpeech",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0042 => "G.723.1",
        0x0045 => "G.726 ADPCM",
        0x0050 => "MPEG audio",
        0x0055 => "MP3",
        0x0064 => "G.726 ADPCM",
        0x0065 => "G.722 ADPCM",
        0x0092 => "Dolby AC-3",
        0x00FF | 0x1600 | 0x1610 => "AAC",
        0x0160 | 0x0161 => "Windows Media Audio",
        0x0162 => "Windows Media Audio Pro",
        0x0163 => "Windows Media Audio Lossless",
        0x2000 => "Dolby AC-3",
        0x2001 => "DTS",
        0xF1AC => "FLAC",
        tag if is_ogg_vorbis(tag) => "Ogg Vorbis",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(tag: u16, bits: u16) -> WaveFormat {
        WaveFormat {
            tag,
            channels: 1,
            rate: 8000,
            block_align: 65,
            bits,
        }
    }

    #[test]
    fn names_say_what_the_codec_is() {
        assert_eq!(fmt(0x0031, 0).describe(), "GSM 6.10");
        assert_eq!(fmt(0x0003, 24).describe(), "24-bit IEEE float");
        assert_eq!(fmt(0x0001, 12).describe(), "12-bit PCM");
        assert_eq!(fmt(0x1234, 0).describe(), "format tag 0x1234");
        assert_eq!(fmt(0x6771, 16).describe(), "Ogg Vorbis");
    }

    #[test]
    fn extensible_resolves_to_its_sub_format() {
        let mut body = vec![0xFE, 0xFF, 2, 0, 0x80, 0xBB, 0, 0];
        body.extend([0; 4]);
        body.extend([6, 0, 24, 0, 22, 0, 24, 0, 3, 0, 0, 0, 3, 0]);
        let f = WaveFormat::parse(&body).unwrap();
        assert_eq!((f.tag, f.channels, f.rate, f.bits), (3, 2, 48_000, 24));
        assert_eq!(f.pcm_codec(), None);
        assert!(WaveFormat::parse(&body[..15]).is_none());
    }

    #[test]
    fn vorbis_tags_span_all_six_modes() {
        assert!(is_ogg_vorbis(0x674F) && is_ogg_vorbis(0x6771));
        assert!(!is_ogg_vorbis(0x674E) && !is_ogg_vorbis(0x6772));
    }
}
