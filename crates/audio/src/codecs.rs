//! The codecs hark decodes with: symphonia's own, plus Opus, which
//! symphonia 0.5 finds in Ogg files but has no decoder for.

mod opus;

use std::sync::OnceLock;

use symphonia::core::codecs::{CodecParameters, CodecRegistry, CODEC_TYPE_OPUS};

/// The one codec registry of hark-audio: every decoder is made, and every
/// codec named, through it.
pub(crate) fn registry() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_all::<opus::OpusDecoder>();
        registry
    })
}

/// The frames of audio a track holds, as its container says: symphonia's
/// `n_frames`, less the encoder's pre-skip for Opus. The Opus granule
/// position counts the pre-skip in, and symphonia 0.5's Ogg reader takes
/// it as the stream's length; its start delay for Opus is unreliable (a
/// one-page file gets the end padding as start delay), so the pre-skip is
/// read from the `OpusHead`, and the Opus decoder drops that and no more.
pub(crate) fn audio_frames(params: &CodecParameters) -> Option<u64> {
    let frames = params.n_frames?;
    Some(match params.codec {
        CODEC_TYPE_OPUS => frames.saturating_sub(opus::pre_skip(params).unwrap_or(0)),
        _ => frames,
    })
}
