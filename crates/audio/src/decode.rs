//! Decoding a file to mono samples at its own rate, with symphonia.

use std::io::ErrorKind;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_OPUS, CODEC_TYPE_VORBIS,
};
use symphonia::core::errors::Error as SymphoniaError;

use crate::codecs;
use crate::cursor::FileCursor;
use crate::error::Error;
use crate::mono::downmix_into;
use crate::open::{codec_name, float_bits, pick_track, ProbeFailure, SoundFile};
use crate::panics;
use crate::pcm_wav;
use crate::resample::StreamResampler;

/// The highest sample rate hark accepts: 768 kHz is the highest in use
/// (DXD and DSD-derived PCM), so anything above 1.536 MHz is a broken
/// header, not audio.
pub const MAX_SAMPLE_RATE: u32 = 1_536_000;

/// A decoded file: mono samples at [`TARGET_RATE`](crate::TARGET_RATE) and facts about the source.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Mono samples at [`TARGET_RATE`](crate::TARGET_RATE) (48 kHz), all finite.
    pub samples: Vec<f32>,
    /// The file's sample rate in Hz.
    pub source_rate: u32,
    /// The file's channel count, before averaging to mono.
    pub channels: u16,
    /// Frames decoded at the source rate (with gapless trimming of MP3 and
    /// Vorbis encoder delay and padding where the file records it).
    pub source_frames: u64,
    /// symphonia's short name for the codec: `pcm_s16le`, `pcm_f32be`,
    /// `flac`, `mp3`, `vorbis`, `aac`, ...
    pub codec: String,
    /// Bits per sample of the stored audio, where the codec has such a thing
    /// (PCM, FLAC, ALAC); `None` for lossy codecs.
    pub bits_per_sample: Option<u32>,
    /// Packets skipped because they were malformed. The audio is still
    /// usable, shorter by those packets; callers may want to warn.
    pub skipped_packets: u64,
}

impl DecodedAudio {
    /// Duration of the source in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.source_frames as f64 / f64::from(self.source_rate)
    }
}

/// Decodes `path`, averages its channels to mono and resamples to 48 kHz.
///
/// The container is recognised by its content, the extension serving only
/// as a hint, so a FLAC file named `.wav` still decodes. The first track
/// with a decodable audio codec is used (the container's default track if it
/// is one). A file that ends early decodes up to where it ends, as in any
/// player; packets symphonia reports as malformed are skipped and counted in
/// [`DecodedAudio::skipped_packets`]. Non-finite samples become 0.0 (see
/// [`resample_to_48k`](crate::resample_to_48k)).
///
/// # Errors
///
/// An [`Error`] naming `path` if the file cannot be opened, is not a format
/// symphonia reads, has no audio track or an undecodable codec, has a 0 Hz
/// or unusable sample rate, yields no frames, fails to decode (every packet
/// malformed, or a read error), or makes the decoder panic.
pub fn decode_file(path: &Path) -> Result<DecodedAudio, Error> {
    let mut samples = Vec::new();
    let info = decode_stream(path, &mut |chunk| samples.extend_from_slice(chunk))?;
    Ok(DecodedAudio {
        samples,
        source_rate: info.source_rate,
        channels: info.channels,
        source_frames: info.source_frames,
        codec: info.codec,
        bits_per_sample: info.bits_per_sample,
        skipped_packets: info.skipped_packets,
    })
}

/// What [`decode_stream`] found out about a file: [`DecodedAudio`] without
/// the samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioInfo {
    /// The file's sample rate in Hz.
    pub source_rate: u32,
    /// The file's channel count, before averaging to mono.
    pub channels: u16,
    /// Frames decoded at the source rate.
    pub source_frames: u64,
    /// symphonia's short name for the codec.
    pub codec: String,
    /// Bits per sample of the stored audio, where the codec has such a thing.
    pub bits_per_sample: Option<u32>,
    /// Packets skipped because they were malformed.
    pub skipped_packets: u64,
}

/// [`decode_file`] without holding the file in memory: `on_chunk` receives
/// the mono 48 kHz samples in order, a packet's worth at a time, and the
/// chunks concatenated equal [`DecodedAudio::samples`] exactly. Memory stays
/// at a few FFT blocks however long the file, so a two-hour 96 kHz
/// recording streams through in a few MB.
///
/// # Errors
///
/// As [`decode_file`]. An error can come after some chunks were delivered
/// (a read error halfway): the caller must then drop what it got.
pub fn decode_stream(path: &Path, on_chunk: &mut dyn FnMut(&[f32])) -> Result<AudioInfo, Error> {
    SoundFile::open(path)?.decode_stream(on_chunk)
}

/// Decodes `path` and averages its channels to mono, without resampling.
///
/// Returns the samples, all finite, and their rate in Hz. Decoding and errors
/// are as for [`decode_file`].
pub fn decode_native(path: &Path) -> Result<(Vec<f32>, u32), Error> {
    let sound = SoundFile::open(path)?;
    catching_panics(path, || {
        let mut mono = Vec::new();
        let info = sound.decode_mono(&mut |_, chunk| mono.extend_from_slice(chunk))?;
        Ok((mono, info.source_rate))
    })
}

impl SoundFile {
    /// [`decode_stream`] of the opened file, reading on from its probe:
    /// `on_chunk` receives the mono 48 kHz samples in order.
    ///
    /// # Errors
    ///
    /// As [`decode_file`], except that opening already succeeded.
    pub fn decode_stream(self, on_chunk: &mut dyn FnMut(&[f32])) -> Result<AudioInfo, Error> {
        let path = self.path().to_path_buf();
        let path = path.as_path();
        catching_panics(path, || {
            let mut resampler: Option<StreamResampler> = None;
            let mut failed: Option<Error> = None;
            let mut sink = |rate: u32, chunk: &[f32]| {
                if failed.is_some() {
                    return;
                }
                let r = match &mut resampler {
                    Some(r) => r,
                    None => match StreamResampler::new(rate) {
                        Ok(r) => resampler.insert(r),
                        Err(e) => {
                            failed = Some(e.in_file(path));
                            return;
                        }
                    },
                };
                if let Err(e) = r.push(chunk, on_chunk) {
                    failed = Some(e.in_file(path));
                }
            };
            let info = self.decode_mono(&mut sink)?;
            if let Some(e) = failed {
                return Err(e);
            }
            if let Some(r) = resampler {
                r.finish(on_chunk).map_err(|e| e.in_file(path))?;
            }
            Ok(info)
        })
    }
}

/// Runs `decode`, turning a panic into [`Error::Panic`] (see
/// [`panics::catch`]).
fn catching_panics<T>(path: &Path, decode: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    panics::catch(decode).unwrap_or_else(|message| {
        Err(Error::Panic {
            path: path.to_path_buf(),
            message,
        })
    })
}

impl SoundFile {
    /// Decodes the file to mono at its own rate; `sink` receives (rate,
    /// samples) in order. Returns the facts.
    fn decode_mono(self, sink: &mut dyn FnMut(u32, &[f32])) -> Result<AudioInfo, Error> {
        let path = self.path().to_path_buf();
        let path = path.as_path();
        let (cursor, len) = (self.cursor(), self.file_len());
        let mut reader = match self.probed {
            Ok(reader) => reader,
            Err(ProbeFailure::ZeroRate) => {
                return Err(Error::SampleRate {
                    path: Some(path.to_path_buf()),
                    rate: 0,
                })
            }
            Err(ProbeFailure::Panic(message)) => {
                return Err(Error::Panic {
                    path: path.to_path_buf(),
                    message,
                })
            }
            Err(ProbeFailure::Unsupported(format)) => {
                return Err(Error::Unsupported {
                    path: path.to_path_buf(),
                    format,
                })
            }
            Err(ProbeFailure::Refused(cause)) => {
                return pcm_wav_fallback(path, cursor, len, cause, sink)
            }
        };

        let track =
            pick_track(reader.default_track(), reader.tracks()).ok_or_else(|| {
                match reader
                    .tracks()
                    .iter()
                    .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
                {
                    Some(t) => Error::UnsupportedCodec {
                        path: path.to_path_buf(),
                        codec: codec_name(t.codec_params.codec),
                    },
                    None => Error::NoAudioTrack {
                        path: path.to_path_buf(),
                    },
                }
            })?;
        let track_id = track.id;
        let params = track.codec_params.clone();
        let codec = codec_name(params.codec);
        if params.sample_rate == Some(0) {
            return Err(Error::SampleRate {
                path: Some(path.to_path_buf()),
                rate: 0,
            });
        }
        let mut decoder = codecs::registry()
            .make(&params, &DecoderOptions::default())
            .map_err(|cause| match cause {
                SymphoniaError::Unsupported(_) => Error::UnsupportedCodec {
                    path: path.to_path_buf(),
                    codec: codec.clone(),
                },
                cause => Error::Decode {
                    path: path.to_path_buf(),
                    cause,
                },
            })?;
        let decode_error = |cause| Error::Decode {
            path: path.to_path_buf(),
            cause,
        };

        // symphonia 0.5's Ogg reader knows the stream's length from the last
        // page's granule position but does not trim the Vorbis end padding
        // (pdeljanov/Symphonia#418); the start is aligned, so cut the excess.
        // The same holds for Opus, whose decoder also drops the pre-skip.
        let frame_cap = match params.codec {
            CODEC_TYPE_VORBIS | CODEC_TYPE_OPUS => {
                codecs::audio_frames(&params).unwrap_or(u64::MAX)
            }
            _ => u64::MAX,
        };
        let mut mono = Vec::new();
        let mut frames = 0_u64;
        let mut rate = None;
        let mut channels = 0_u16;
        let mut interleaved: Option<SampleBuffer<f32>> = None;
        let mut skipped_packets = 0_u64;
        let mut last_skipped = None;
        loop {
            let packet = match reader.next_packet() {
                Ok(packet) => packet,
                Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
                // A chained Ogg stream starting a new logical stream: hark takes the first.
                Err(SymphoniaError::ResetRequired) => break,
                Err(cause) => return Err(decode_error(cause)),
            };
            if packet.track_id() != track_id {
                continue;
            }
            let buffer = match decoder.decode(&packet) {
                Ok(buffer) => buffer,
                // One malformed packet (or one cut short by the end of the file)
                // costs its own audio, not the file's.
                Err(SymphoniaError::DecodeError(msg)) => {
                    skipped_packets += 1;
                    last_skipped = Some(SymphoniaError::DecodeError(msg));
                    continue;
                }
                Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    skipped_packets += 1;
                    last_skipped = Some(SymphoniaError::IoError(e));
                    continue;
                }
                Err(cause) => return Err(decode_error(cause)),
            };
            let spec = *buffer.spec();
            let n_channels = spec.channels.count();
            if buffer.frames() == 0 {
                continue;
            }
            if n_channels == 0 {
                return Err(decode_error(SymphoniaError::DecodeError(
                    "audio with no channels",
                )));
            }
            match rate {
                None => {
                    if spec.rate == 0 || spec.rate > MAX_SAMPLE_RATE {
                        return Err(Error::SampleRate {
                            path: Some(path.to_path_buf()),
                            rate: spec.rate,
                        });
                    }
                    rate = Some(spec.rate);
                    channels = u16::try_from(n_channels).unwrap_or(u16::MAX);
                }
                Some(rate) if rate != spec.rate => {
                    return Err(decode_error(SymphoniaError::Unsupported(
                        "sample rate changing mid-stream",
                    )));
                }
                Some(_) => {}
            }
            let needed = buffer.frames() * n_channels;
            let samples = match &mut interleaved {
                Some(buf) if buf.capacity() >= needed => buf,
                slot => slot.insert(SampleBuffer::new(buffer.capacity() as u64, spec)),
            };
            samples.copy_interleaved_ref(buffer);
            mono.clear();
            downmix_into(&mut mono, samples.samples(), n_channels);
            let room = usize::try_from(frame_cap - frames).unwrap_or(usize::MAX);
            mono.truncate(room);
            if !mono.is_empty() {
                frames += mono.len() as u64;
                sink(spec.rate, &mono);
            }
            if frames == frame_cap {
                break;
            }
        }

        let Some(rate) = rate.filter(|_| frames > 0) else {
            return Err(match last_skipped {
                // Nothing decoded and packets failed: the stream as a whole is broken.
                Some(cause) => decode_error(cause),
                None => Error::NoFrames {
                    path: path.to_path_buf(),
                },
            });
        };
        Ok(AudioInfo {
            source_rate: rate,
            channels,
            source_frames: frames,
            codec,
            bits_per_sample: params.bits_per_sample.or(float_bits(params.codec)),
            skipped_packets,
        })
    }
}

/// Reads a PCM WAV that symphonia refused (see [`crate::pcm_wav`]). A WAV
/// in a codec neither reads is refused by the codec's name; any other file,
/// or an unusable one, gets symphonia's error.
fn pcm_wav_fallback(
    path: &Path,
    mut file: FileCursor,
    len: u64,
    cause: SymphoniaError,
    sink: &mut dyn FnMut(u32, &[f32]),
) -> Result<AudioInfo, Error> {
    let Some(wav) = pcm_wav::parse(&mut file, len) else {
        if let Some(codec) = pcm_wav::unsupported_codec(&mut file, len) {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                format: format!("{codec} in WAV"),
            });
        }
        return Err(Error::Format {
            path: path.to_path_buf(),
            cause,
        });
    };
    if wav.rate > MAX_SAMPLE_RATE {
        return Err(Error::SampleRate {
            path: Some(path.to_path_buf()),
            rate: wav.rate,
        });
    }
    let frames = pcm_wav::decode(&mut file, &wav, sink).map_err(|cause| Error::Open {
        path: path.to_path_buf(),
        cause,
    })?;
    if frames == 0 {
        return Err(Error::NoFrames {
            path: path.to_path_buf(),
        });
    }
    Ok(AudioInfo {
        source_rate: wav.rate,
        channels: wav.channels,
        source_frames: frames,
        codec: match (wav.float, wav.bits) {
            (true, b) => format!("pcm_f{b}le"),
            (false, 8) => "pcm_u8".into(),
            (false, b) => format!("pcm_s{b}le"),
        },
        bits_per_sample: Some(u32::from(wav.bits)),
        skipped_packets: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_decoder_becomes_an_error() {
        let path = Path::new("/sounds/odd.wav");
        let err = catching_panics(path, || -> Result<(), Error> {
            panic!("index out of bounds")
        })
        .unwrap_err();
        assert!(matches!(&err, Error::Panic { path: p, .. } if p == path));
        assert_eq!(
            err.to_string(),
            "failed to decode `/sounds/odd.wav`: decoder panicked: index out of bounds"
        );
        let err =
            catching_panics(path, || -> Result<(), Error> { panic!("{} bytes", 3) }).unwrap_err();
        assert!(
            err.to_string().ends_with("decoder panicked: 3 bytes"),
            "{err}"
        );
    }
}
