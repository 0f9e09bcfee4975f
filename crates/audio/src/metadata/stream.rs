//! Stream facts (codec, duration, rate, channels, bit depth), from
//! whichever reader found them: symphonia's probe first, the WAV chunk
//! walker or lofty where symphonia cannot read the file.

use symphonia::core::codecs::CODEC_TYPE_NULL;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatReader;

use crate::codecs;
use crate::open::{codec_name, float_bits, pick_track};

/// Stream facts, from whichever reader found them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Props {
    pub codec: Option<String>,
    pub duration_s: Option<f64>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
    pub bits_per_sample: Option<u32>,
}

impl Props {
    /// Each fact from `self`, else from `other`.
    pub fn or(self, other: Props) -> Props {
        Props {
            codec: self.codec.or(other.codec),
            duration_s: self.duration_s.or(other.duration_s),
            sample_rate: self.sample_rate.or(other.sample_rate),
            channels: self.channels.or(other.channels),
            bits_per_sample: self.bits_per_sample.or(other.bits_per_sample),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Props::default()
    }
}

/// The stream facts of the track [`decode_file`](crate::decode_file) would
/// decode (or the first audio track), from symphonia's container reader.
pub(super) fn from_reader(reader: &dyn FormatReader) -> Result<Props, SymphoniaError> {
    let track = pick_track(reader.default_track(), reader.tracks())
        .or_else(|| {
            reader
                .tracks()
                .iter()
                .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        })
        .ok_or(SymphoniaError::Unsupported("no audio track"))?;
    let params = &track.codec_params;
    let known_codec = codecs::registry().get_codec(params.codec).is_some();
    let codec = known_codec.then(|| codec_name(params.codec));
    let sample_rate = params.sample_rate.filter(|&rate| rate > 0);
    Ok(Props {
        codec,
        duration_s: codecs::audio_frames(params)
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
