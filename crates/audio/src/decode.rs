//! Decoding a file to mono samples at its own rate, with symphonia.

use std::any::Any;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CodecType, DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_PCM_F32BE, CODEC_TYPE_PCM_F32LE,
    CODEC_TYPE_PCM_F64BE, CODEC_TYPE_PCM_F64LE, CODEC_TYPE_VORBIS,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::pcm_wav;
use crate::resample::StreamResampler;
use crate::{finite_or_zero, Error};

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
        let info = decode_mono(path, &mut sink)?;
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(r) = resampler {
            r.finish(on_chunk).map_err(|e| e.in_file(path))?;
        }
        Ok(info)
    })
}

/// Decodes `path` and averages its channels to mono, without resampling.
///
/// Returns the samples, all finite, and their rate in Hz. Decoding and errors
/// are as for [`decode_file`].
pub fn decode_native(path: &Path) -> Result<(Vec<f32>, u32), Error> {
    catching_panics(path, || {
        let mut mono = Vec::new();
        let info = decode_mono(path, &mut |_, chunk| mono.extend_from_slice(chunk))?;
        Ok((mono, info.source_rate))
    })
}

/// Runs `decode`, turning a panic into [`Error::Panic`].
///
/// symphonia is meant to return errors on malformed input, but a decoder bug
/// on one odd file must not take down an indexing run. The default panic hook
/// still prints the panic; a library has no business replacing the
/// process-wide hook to silence it. (With `panic = "abort"` in a profile
/// nothing can be caught; hark's profiles keep the default, unwind.)
fn catching_panics<T>(path: &Path, decode: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    panic::catch_unwind(AssertUnwindSafe(decode)).unwrap_or_else(|payload| {
        Err(Error::Panic {
            path: path.to_path_buf(),
            message: panic_message(payload.as_ref()),
        })
    })
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Opens `path` for reading, with its length.
///
/// A directory or an empty file is an error here: reading a directory fails
/// with a message that reads like a format problem, and an empty file would
/// be "no suitable format reader found".
pub(crate) fn open_audio_file(path: &Path) -> Result<(File, u64), Error> {
    let file = File::open(path).map_err(|cause| Error::Open {
        path: path.to_path_buf(),
        cause,
    })?;
    match file.metadata() {
        Ok(meta) if meta.is_dir() => Err(Error::Open {
            path: path.to_path_buf(),
            cause: std::io::Error::new(ErrorKind::IsADirectory, "is a directory"),
        }),
        Ok(meta) if meta.len() == 0 => Err(Error::Empty {
            path: path.to_path_buf(),
        }),
        Ok(meta) => Ok((file, meta.len())),
        Err(cause) => Err(Error::Open {
            path: path.to_path_buf(),
            cause,
        }),
    }
}

/// Decodes `path` to mono at its own rate; `sink` receives (rate, samples)
/// in order. Returns the facts.
fn decode_mono(path: &Path, sink: &mut dyn FnMut(u32, &[f32])) -> Result<AudioInfo, Error> {
    let (mut file, _) = open_audio_file(path)?;
    if declared_pcm_rate(&mut file) == Some(0) {
        return Err(Error::SampleRate {
            path: Some(path.to_path_buf()),
            rate: 0,
        });
    }
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|ext| ext.to_str()) {
        hint.with_extension(ext);
    }
    // Gapless: drop MP3/Vorbis encoder delay and padding, so the duration is
    // the one encoded and the audio is not shifted by the codec's priming.
    let format_options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = match symphonia::default::get_probe().format(
        &hint,
        stream,
        &format_options,
        &MetadataOptions::default(),
    ) {
        Ok(probed) => probed,
        Err(cause) => return pcm_wav_fallback(path, cause, sink),
    };
    let mut reader = probed.format;

    let track = pick_track(reader.default_track(), reader.tracks()).ok_or_else(|| match reader
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
    let mut decoder = symphonia::default::get_codecs()
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
    let frame_cap = match params.codec {
        CODEC_TYPE_VORBIS => params.n_frames.unwrap_or(u64::MAX),
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

/// Reads a PCM WAV that symphonia refused (see [`crate::pcm_wav`]); if it is
/// not one, or is unusable, the error is symphonia's.
fn pcm_wav_fallback(
    path: &Path,
    cause: SymphoniaError,
    sink: &mut dyn FnMut(u32, &[f32]),
) -> Result<AudioInfo, Error> {
    let refused = || Error::Format {
        path: path.to_path_buf(),
        cause,
    };
    let Ok((mut file, len)) = open_audio_file(path) else {
        return Err(refused());
    };
    let Some(wav) = pcm_wav::parse(&mut file, len) else {
        return Err(refused());
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

/// The track to decode: the default track if symphonia has a decoder for
/// it, else the first such track.
pub(crate) fn pick_track<'a>(default: Option<&'a Track>, tracks: &'a [Track]) -> Option<&'a Track> {
    let decodable = |t: &&Track| {
        t.codec_params.codec != CODEC_TYPE_NULL
            && symphonia::default::get_codecs()
                .get_codec(t.codec_params.codec)
                .is_some()
    };
    default
        .filter(decodable)
        .or_else(|| tracks.iter().find(decodable))
}

/// Bits of IEEE float PCM, which symphonia's WAV reader leaves unset.
pub(crate) fn float_bits(codec: CodecType) -> Option<u32> {
    match codec {
        CODEC_TYPE_PCM_F32LE | CODEC_TYPE_PCM_F32BE => Some(32),
        CODEC_TYPE_PCM_F64LE | CODEC_TYPE_PCM_F64BE => Some(64),
        _ => None,
    }
}

/// The sample rate declared by a WAV (RIFF, RF64, BW64) or AIFF/AIFC header,
/// read before symphonia sees the file, which is left rewound.
///
/// symphonia 0.5 panics on a 0 Hz rate in these headers (a time base with a
/// zero denominator); looking first turns that into a plain
/// [`Error::SampleRate`]. `None` when the file is not one of these or the
/// header is unreadable: symphonia then reports the problem itself.
pub(crate) fn declared_pcm_rate(file: &mut File) -> Option<u32> {
    let rate = read_declared_pcm_rate(file);
    file.rewind().ok()?;
    rate
}

fn read_declared_pcm_rate(file: &mut File) -> Option<u32> {
    let mut head = [0; 12];
    file.read_exact(&mut head).ok()?;
    let big_endian = match (&head[..4], &head[8..]) {
        (b"RIFF" | b"RF64" | b"BW64", b"WAVE") => false,
        (b"FORM", b"AIFF" | b"AIFC") => true,
        _ => return None,
    };
    // Metadata chunks (bext, iXML, JUNK) may come before the format chunk.
    for _ in 0..64 {
        let mut header = [0; 8];
        file.read_exact(&mut header).ok()?;
        let size = [header[4], header[5], header[6], header[7]];
        let size = if big_endian {
            u32::from_be_bytes(size)
        } else {
            u32::from_le_bytes(size)
        };
        match &header[..4] {
            b"fmt " if !big_endian => {
                let mut fmt = [0; 8];
                file.read_exact(&mut fmt).ok()?;
                return Some(u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]));
            }
            b"COMM" if big_endian => {
                let mut comm = [0; 18];
                file.read_exact(&mut comm).ok()?;
                // 80-bit extended: sign and 15-bit exponent, 64-bit mantissa.
                let exponent = i32::from(u16::from_be_bytes([comm[8], comm[9]]) & 0x7fff);
                let mantissa = u64::from_be_bytes(comm[10..18].try_into().ok()?);
                let sign = if comm[8] & 0x80 == 0 { 1.0 } else { -1.0 };
                let rate = sign * mantissa as f64 * 2f64.powi(exponent - 16_383 - 63);
                // As symphonia converts it: a saturating cast, negative to 0.
                return Some(rate as u32);
            }
            _ => {
                file.seek(SeekFrom::Current(i64::from(size) + i64::from(size % 2)))
                    .ok()?;
            }
        }
    }
    None
}

pub(crate) fn codec_name(codec: CodecType) -> String {
    match symphonia::default::get_codecs().get_codec(codec) {
        Some(descriptor) => descriptor.short_name.to_string(),
        None => format!("with id {codec}"),
    }
}

/// Appends the average of each frame of `interleaved` to `mono`.
///
/// Non-finite samples count as 0.0 (see `finite_or_zero`). The sum runs in
/// `f64` so that large finite float samples cannot overflow to infinity.
fn downmix_into(mono: &mut Vec<f32>, interleaved: &[f32], channels: usize) {
    if channels == 1 {
        mono.extend(interleaved.iter().copied().map(finite_or_zero));
        return;
    }
    let scale = 1.0 / channels as f64;
    mono.extend(interleaved.chunks_exact(channels).map(|frame| {
        let sum: f64 = frame.iter().map(|&s| f64::from(finite_or_zero(s))).sum();
        (sum * scale) as f32
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_frames() {
        let mut mono = vec![9.0];
        downmix_into(&mut mono, &[1.0, 0.0, 0.5, -0.5, -1.0, -0.5], 2);
        assert_eq!(mono, [9.0, 0.5, 0.0, -0.75]);
        let mut mono = Vec::new();
        downmix_into(&mut mono, &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 6);
        assert!((mono[0] - 0.35).abs() < 1e-7);
    }

    #[test]
    fn downmix_zeroes_non_finite_and_does_not_overflow() {
        let mut mono = Vec::new();
        downmix_into(
            &mut mono,
            &[f32::NAN, 0.5, f32::INFINITY, f32::NEG_INFINITY],
            2,
        );
        assert_eq!(mono, [0.25, 0.0]);
        let mut mono = Vec::new();
        downmix_into(&mut mono, &[f32::MAX, f32::MAX], 2);
        assert_eq!(mono, [f32::MAX]);
        let mut mono = Vec::new();
        downmix_into(&mut mono, &[f32::NAN, 0.5], 1);
        assert_eq!(mono, [0.0, 0.5]);
    }

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
