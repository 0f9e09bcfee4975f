//! Listening: a [`Player`] that plays one file at a time through an
//! [`AudioSink`].
//!
//! # Brief overview
//!
//! [`Player::play`] hands a file to the player's thread, which opens it,
//! lets rodio's symphonia decoder probe the start (the rest is decoded as
//! it plays: nothing is read ahead), seeks to the start position (a hit
//! inside a long file starts at its offset) and wraps the decoder in a
//! [`Voice`]. The voice is a rodio [`Source`](rodio::Source) that applies
//! the controls the UI sets while it plays (stop, seek, volume, loop) and
//! publishes its position; it is given to the sink, which pulls samples
//! from it.
//!
//! Two sinks: [`NullSink`] pulls on a thread of its own, at the sound's
//! real-time pace or as fast as it can, and can keep the samples (tests,
//! benchmarks, a machine without sound); `DeviceSink` (cargo feature
//! `playback`) mixes the voices with rodio's mixer and writes them to the
//! system's default output device. On Linux that is ALSA's `default` PCM
//! through `libasound.so.2`, loaded when the sink opens rather than linked,
//! so building needs no ALSA headers and hark starts on a machine without
//! the library; elsewhere it is rodio on cpal. Without the library or a
//! device the player says so ([`PlayerEvent::DeviceMissing`]) and refuses
//! to play; nothing else depends on it.
//!
//! The time from [`Player::play`] to the sink pulling the first sample is
//! reported with [`PlayerEvent::Started`]; `benches/playback_latency.rs`
//! measures it.

#[cfg(all(feature = "playback", target_os = "linux"))]
mod alsa;
#[cfg(all(feature = "playback", target_os = "linux"))]
mod device;
#[cfg(all(feature = "playback", not(target_os = "linux")))]
mod device_cpal;
mod null;
mod player;

#[cfg(all(feature = "playback", target_os = "linux"))]
pub use device::DeviceSink;
#[cfg(all(feature = "playback", not(target_os = "linux")))]
pub use device_cpal::DeviceSink;
pub use null::{NullSink, Pace};
pub use player::{AudioSink, Notify, PlaybackError, Player, PlayerEvent, Voice};
