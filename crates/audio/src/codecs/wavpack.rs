//! The codec of WavPack tracks: the shim (`shim::wavpack`) does the
//! decoding through libwavpack and hands over packets of 32-bit PCM, which
//! symphonia's PCM decoder turns into audio. A codec of its own names the
//! track "wavpack" in metadata and errors, where the PCM codec would name
//! the shim's packets.

use symphonia::core::audio::AudioBufferRef;
use symphonia::core::codecs::{
    decl_codec_type, CodecDescriptor, CodecParameters, CodecType, Decoder, DecoderOptions,
    FinalizeResult, CODEC_TYPE_PCM_F32LE, CODEC_TYPE_PCM_S32LE,
};
use symphonia::core::errors::Result;
use symphonia::core::sample::SampleFormat;
use symphonia::default::codecs::PcmDecoder;

/// WavPack, as the shim's tracks declare it. Float files say so with
/// `sample_format` F32; integer ones are right-justified in
/// `bits_per_coded_sample` bits.
pub(crate) const CODEC_TYPE_WAVPACK: CodecType = decl_codec_type(b"wvpk");

/// symphonia's PCM decoder over the shim's packets, under WavPack's name.
pub(crate) struct WavPackDecoder {
    params: CodecParameters,
    pcm: PcmDecoder,
}

impl Decoder for WavPackDecoder {
    fn try_new(params: &CodecParameters, options: &DecoderOptions) -> Result<Self> {
        let mut pcm = params.clone();
        pcm.codec = if matches!(params.sample_format, Some(SampleFormat::F32)) {
            CODEC_TYPE_PCM_F32LE
        } else {
            CODEC_TYPE_PCM_S32LE
        };
        Ok(WavPackDecoder {
            params: params.clone(),
            pcm: PcmDecoder::try_new(&pcm, options)?,
        })
    }

    fn supported_codecs() -> &'static [CodecDescriptor] {
        &[CodecDescriptor {
            codec: CODEC_TYPE_WAVPACK,
            short_name: "wavpack",
            long_name: "WavPack",
            inst_func: |params, options| Ok(Box::new(WavPackDecoder::try_new(params, options)?)),
        }]
    }

    fn reset(&mut self) {
        self.pcm.reset();
    }

    fn codec_params(&self) -> &CodecParameters {
        &self.params
    }

    fn decode(&mut self, packet: &symphonia::core::formats::Packet) -> Result<AudioBufferRef<'_>> {
        self.pcm.decode(packet)
    }

    fn finalize(&mut self) -> FinalizeResult {
        self.pcm.finalize()
    }

    fn last_decoded(&self) -> AudioBufferRef<'_> {
        self.pcm.last_decoded()
    }
}
