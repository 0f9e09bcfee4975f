//! Opus as a symphonia decoder: the pure-Rust `opus-decoder` crate (RFC
//! 8251 conformant, no unsafe code, no C library to build) behind
//! symphonia's `Decoder` trait, so that Ogg Opus files go through the same
//! demuxer and decoding loop as every other format.

use symphonia::core::audio::{AsAudioBufferRef, AudioBuffer, AudioBufferRef, Signal, SignalSpec};
use symphonia::core::codecs::{
    CodecDescriptor, CodecParameters, Decoder, DecoderOptions, FinalizeResult, CODEC_TYPE_OPUS,
};
use symphonia::core::errors::{Error as SymphoniaError, Result};
use symphonia::core::formats::Packet;

/// Opus always decodes at 48 kHz here: its native rate, and hark's.
const RATE: u32 = 48_000;

/// The longest Opus packet: 120 ms.
const MAX_FRAMES: usize = 5_760;

/// An Ogg Opus stream's decoder, set up from its `OpusHead` packet.
pub(crate) struct OpusDecoder {
    params: CodecParameters,
    inner: opus_decoder::OpusMultistreamDecoder,
    channels: usize,
    /// Frames still to drop at the start (the header's pre-skip).
    skip: usize,
    /// The header's output gain, as a factor.
    gain: f32,
    interleaved: Vec<f32>,
    buf: AudioBuffer<f32>,
}

/// The facts of an `OpusHead` packet (RFC 7845 section 5.1).
struct Head {
    channels: usize,
    pre_skip: usize,
    gain_db: f32,
    streams: usize,
    coupled: usize,
    mapping: Vec<u8>,
}

/// The pre-skip of the stream `params` describes, from its `OpusHead`.
pub(super) fn pre_skip(params: &CodecParameters) -> Option<u64> {
    let head = parse_head(params.extra_data.as_deref()?)?;
    Some(head.pre_skip as u64)
}

fn parse_head(head: &[u8]) -> Option<Head> {
    if !head.starts_with(b"OpusHead") || head.len() < 19 {
        return None;
    }
    let channels = usize::from(head[9]);
    let pre_skip = usize::from(u16::from_le_bytes([head[10], head[11]]));
    let gain_db = f32::from(i16::from_le_bytes([head[16], head[17]])) / 256.0;
    let (streams, coupled, mapping) = match head[18] {
        // Family 0: one stream, mono or a stereo pair.
        0 => (1, channels.saturating_sub(1), (0..channels as u8).collect()),
        _ => (
            usize::from(*head.get(19)?),
            usize::from(*head.get(20)?),
            head.get(21..21 + channels)?.to_vec(),
        ),
    };
    Some(Head {
        channels,
        pre_skip,
        gain_db,
        streams,
        coupled,
        mapping,
    })
}

impl Decoder for OpusDecoder {
    fn try_new(params: &CodecParameters, _options: &DecoderOptions) -> Result<Self> {
        let head = params
            .extra_data
            .as_deref()
            .and_then(parse_head)
            .ok_or(SymphoniaError::DecodeError("opus: no valid OpusHead"))?;
        let channels = params
            .channels
            .ok_or(SymphoniaError::DecodeError("opus: no channels"))?;
        if channels.count() != head.channels {
            return Err(SymphoniaError::DecodeError(
                "opus: channel count differs from OpusHead",
            ));
        }
        let inner = opus_decoder::OpusMultistreamDecoder::new(
            RATE,
            head.channels,
            head.streams,
            head.coupled,
            &head.mapping,
        )
        .map_err(|_| SymphoniaError::Unsupported("opus: channel mapping"))?;
        Ok(OpusDecoder {
            params: params.clone(),
            inner,
            channels: head.channels,
            skip: head.pre_skip,
            gain: 10f32.powf(head.gain_db / 20.0),
            interleaved: vec![0.0; MAX_FRAMES * head.channels],
            buf: AudioBuffer::new(MAX_FRAMES as u64, SignalSpec::new(RATE, channels)),
        })
    }

    fn supported_codecs() -> &'static [CodecDescriptor] {
        &[CodecDescriptor {
            codec: CODEC_TYPE_OPUS,
            short_name: "opus",
            long_name: "Opus",
            inst_func: |params, options| Ok(Box::new(OpusDecoder::try_new(params, options)?)),
        }]
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    fn codec_params(&self) -> &CodecParameters {
        &self.params
    }

    fn decode(&mut self, packet: &Packet) -> Result<AudioBufferRef<'_>> {
        self.buf.clear();
        let frames = self
            .inner
            .decode_float(packet.buf(), &mut self.interleaved, false)
            .map_err(|_| SymphoniaError::DecodeError("opus: malformed packet"))?;
        self.buf.render_reserved(Some(frames));
        for ch in 0..self.channels {
            let plane = self.buf.chan_mut(ch);
            for (i, sample) in plane.iter_mut().enumerate() {
                *sample = self.interleaved[i * self.channels + ch] * self.gain;
            }
        }
        // The encoder's priming (pre-skip) is not audio. The demuxer's
        // trims are not used (see `codecs::audio_frames`): the caller cuts
        // the end at the stream's length.
        let skip = self.skip.min(frames);
        self.skip -= skip;
        self.buf.trim(skip, 0);
        Ok(self.buf.as_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> AudioBufferRef<'_> {
        self.buf.as_audio_buffer_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_opus_head() {
        let mut head = b"OpusHead\x01\x02".to_vec();
        head.extend(312_u16.to_le_bytes());
        head.extend(44_100_u32.to_le_bytes());
        head.extend((-256_i16).to_le_bytes());
        head.push(0);
        let parsed = parse_head(&head).unwrap();
        assert_eq!((parsed.channels, parsed.pre_skip), (2, 312));
        assert_eq!(
            (parsed.streams, parsed.coupled, parsed.mapping),
            (1, 1, vec![0, 1])
        );
        assert_eq!(parsed.gain_db, -1.0);
        assert!(parse_head(&head[..18]).is_none());
        head[18] = 1;
        assert!(
            parse_head(&head).is_none(),
            "family 1 needs its mapping table"
        );
    }
}
