//! Decoding real files: WAV and AIFF written here at test time, FLAC, MP3 and
//! Ogg Vorbis from `assets/test/` (made by `assets/test/make_fixtures.py`).

use std::f64::consts::PI;
use std::fs;
use std::path::Path;

use hark_audio::{decode_file, decode_native, resample_to_48k, DecodedAudio, Error, TARGET_RATE};

mod common;
use common::{chunk, fixture, TempDir, XorShift};

// ---------------------------------------------------------------------------
// Helpers

fn sine(freq: f64, amplitude: f64, rate: u32, frames: usize) -> Vec<f64> {
    (0..frames)
        .map(|i| amplitude * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin())
        .collect()
}

fn interleave(channels: &[Vec<f64>]) -> Vec<f64> {
    (0..channels[0].len())
        .flat_map(|i| channels.iter().map(move |ch| ch[i]))
        .collect()
}

/// Normalised correlation of `samples` (at 48 kHz) with an ideal 48 kHz sine,
/// away from the first and last 10 ms.
fn correlation_with_sine(samples: &[f32], freq: f64) -> f64 {
    let ideal = sine(freq, 1.0, TARGET_RATE, samples.len());
    let edge = 480;
    assert!(samples.len() > 4 * edge, "too short: {}", samples.len());
    let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for i in edge..samples.len() - edge {
        let (x, y) = (f64::from(samples[i]), ideal[i]);
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    xy / (xx * yy).sqrt()
}

fn rms(samples: &[f32]) -> f64 {
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// Checks a decoded 0.5 s, 440 Hz sine of amplitude 0.5.
fn assert_half_second_sine(audio: &DecodedAudio, min_correlation: f64) {
    assert_eq!(audio.samples.len(), 24_000, "{audio:?}");
    assert!(
        (audio.duration_secs() - 0.5).abs() < 1e-3,
        "{}",
        audio.duration_secs()
    );
    let c = correlation_with_sine(&audio.samples, 440.0);
    assert!(c > min_correlation, "correlation {c}");
    let level = rms(&audio.samples[480..23_520]);
    assert!((level - 0.5 / 2f64.sqrt()).abs() < 0.01, "rms {level}");
    assert!(audio.samples.iter().all(|s| s.is_finite()));
    assert_eq!(audio.skipped_packets, 0);
}

#[derive(Clone, Copy, Debug)]
enum Encoding {
    U8,
    I16,
    I24,
    I32,
    F32,
}

impl Encoding {
    fn bits(self) -> u16 {
        match self {
            Encoding::U8 => 8,
            Encoding::I16 => 16,
            Encoding::I24 => 24,
            Encoding::I32 | Encoding::F32 => 32,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Encoding::F32)
    }

    /// One sample, little-endian unless `big_endian`.
    fn encode(self, x: f64, big_endian: bool, out: &mut Vec<u8>) {
        let int = |scale: f64| (x * scale).round().clamp(-scale - 1.0, scale) as i64;
        let mut bytes = match self {
            Encoding::U8 => vec![(int(127.0) + 128) as u8],
            Encoding::I16 => (int(32_767.0) as i16).to_le_bytes().to_vec(),
            Encoding::I24 => (int(8_388_607.0) as i32).to_le_bytes()[..3].to_vec(),
            Encoding::I32 => (int(2_147_483_647.0) as i32).to_le_bytes().to_vec(),
            Encoding::F32 => (x as f32).to_le_bytes().to_vec(),
        };
        if big_endian {
            bytes.reverse();
        }
        out.extend(bytes);
    }
}

/// A RIFF WAVE file, `WAVE_FORMAT_EXTENSIBLE` if `extensible`.
fn wav(rate: u32, channels: u16, interleaved: &[f64], enc: Encoding, extensible: bool) -> Vec<u8> {
    let bits = enc.bits();
    let block_align = channels * bits / 8;
    let tag: u16 = if enc.is_float() { 3 } else { 1 };
    let mut fmt = Vec::new();
    fmt.extend((if extensible { 0xFFFE } else { tag }).to_le_bytes());
    fmt.extend(channels.to_le_bytes());
    fmt.extend(rate.to_le_bytes());
    fmt.extend((rate * u32::from(block_align)).to_le_bytes());
    fmt.extend(block_align.to_le_bytes());
    fmt.extend(bits.to_le_bytes());
    if extensible {
        fmt.extend(22u16.to_le_bytes()); // cbSize
        fmt.extend(bits.to_le_bytes()); // valid bits per sample
        let mask: u32 = (1 << channels) - 1; // FL, FR, FC, LFE, BL, BR, ...
        fmt.extend(mask.to_le_bytes());
        fmt.extend(tag.to_le_bytes()); // sub-format GUID: {tag}-0000-0010-8000-00AA00389B71
        fmt.extend([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
    } else if enc.is_float() {
        fmt.extend(0u16.to_le_bytes()); // cbSize
    }
    let mut data = Vec::new();
    for &x in interleaved {
        enc.encode(x, false, &mut data);
    }
    let mut body = b"WAVE".to_vec();
    body.extend(chunk(b"fmt ", &fmt, false));
    body.extend(chunk(b"data", &data, false));
    chunk(b"RIFF", &body, false)
}

/// 80-bit IEEE extended, big-endian, as AIFF stores its sample rate.
fn extended(rate: u32) -> [u8; 10] {
    let mut out = [0; 10];
    if rate > 0 {
        let shift = u64::from(rate).leading_zeros();
        out[..2].copy_from_slice(&((16_383 + 63 - shift) as u16).to_be_bytes());
        out[2..].copy_from_slice(&(u64::from(rate) << shift).to_be_bytes());
    }
    out
}

/// An AIFF file, or AIFC with `compression` (`NONE`, `sowt`, `fl32`).
fn aiff(
    rate: u32,
    channels: u16,
    interleaved: &[f64],
    enc: Encoding,
    compression: Option<&[u8; 4]>,
) -> Vec<u8> {
    let frames = (interleaved.len() / usize::from(channels)) as u32;
    let little_endian = compression == Some(b"sowt");
    let mut comm = Vec::new();
    comm.extend(channels.to_be_bytes());
    comm.extend(frames.to_be_bytes());
    comm.extend(enc.bits().to_be_bytes());
    comm.extend(extended(rate));
    if let Some(compression) = compression {
        comm.extend(compression);
        comm.extend([0, 0]); // empty compression name, padded to even
    }
    let mut ssnd = vec![0; 8]; // offset, block size
    for &x in interleaved {
        enc.encode(x, !little_endian, &mut ssnd);
    }
    let mut body = if compression.is_some() {
        b"AIFC".to_vec()
    } else {
        b"AIFF".to_vec()
    };
    if compression.is_some() {
        body.extend(chunk(b"FVER", &0xA280_5140u32.to_be_bytes(), true));
    }
    body.extend(chunk(b"COMM", &comm, true));
    body.extend(chunk(b"SSND", &ssnd, true));
    chunk(b"FORM", &body, true)
}

/// `wav` with an odd-sized JUNK chunk between the RIFF header and `fmt `,
/// where broadcast WAVs keep their `bext` and `iXML` chunks.
fn with_junk_chunk_first(wav: &[u8]) -> Vec<u8> {
    let mut body = wav[8..12].to_vec();
    body.extend(chunk(b"JUNK", &[7; 33], false));
    body.extend(&wav[12..]);
    chunk(b"RIFF", &body, false)
}

/// A 0.5 s, 440 Hz mono sine of amplitude 0.5 at 44.1 kHz.
fn half_second_sine_44k1() -> Vec<f64> {
    sine(440.0, 0.5, 44_100, 22_050)
}

// ---------------------------------------------------------------------------
// Formats

#[test]
fn wav_16_bit() {
    let dir = TempDir::new("wav16");
    let path = dir.write(
        "a.wav",
        &wav(44_100, 1, &half_second_sine_44k1(), Encoding::I16, false),
    );
    let audio = decode_file(&path).unwrap();
    assert_eq!(
        (audio.source_rate, audio.channels, audio.source_frames),
        (44_100, 1, 22_050)
    );
    assert_eq!(audio.codec, "pcm_s16le");
    assert_eq!(audio.bits_per_sample, Some(16));
    assert_half_second_sine(&audio, 0.9999);
}

#[test]
fn wav_24_bit() {
    let dir = TempDir::new("wav24");
    let path = dir.write(
        "a.wav",
        &wav(44_100, 1, &half_second_sine_44k1(), Encoding::I24, false),
    );
    let audio = decode_file(&path).unwrap();
    assert_eq!(audio.codec, "pcm_s24le");
    assert_eq!(audio.bits_per_sample, Some(24));
    assert_half_second_sine(&audio, 0.99999);
}

#[test]
fn wav_32_bit_int_and_8_bit() {
    let dir = TempDir::new("wav32i");
    for (enc, codec) in [(Encoding::I32, "pcm_s32le"), (Encoding::U8, "pcm_u8")] {
        let path = dir.write(
            "a.wav",
            &wav(44_100, 1, &half_second_sine_44k1(), enc, false),
        );
        let audio = decode_file(&path).unwrap();
        assert_eq!(audio.codec, codec);
        assert_eq!(audio.bits_per_sample, Some(u32::from(enc.bits())));
        assert_half_second_sine(&audio, 0.999);
    }
}

#[test]
fn wav_32_bit_float() {
    let dir = TempDir::new("wavf32");
    let path = dir.write(
        "a.wav",
        &wav(44_100, 1, &half_second_sine_44k1(), Encoding::F32, false),
    );
    let audio = decode_file(&path).unwrap();
    assert_eq!(audio.codec, "pcm_f32le");
    assert_eq!(audio.bits_per_sample, Some(32));
    assert_half_second_sine(&audio, 0.99999);
}

#[test]
fn wav_extensible_24_bit_stereo() {
    let dir = TempDir::new("wavext");
    let mono = half_second_sine_44k1();
    let data = interleave(&[mono.clone(), mono]);
    let path = dir.write("a.wav", &wav(44_100, 2, &data, Encoding::I24, true));
    let audio = decode_file(&path).unwrap();
    assert_eq!((audio.channels, audio.codec.as_str()), (2, "pcm_s24le"));
    assert_half_second_sine(&audio, 0.99999);
}

#[test]
fn wav_extensible_float() {
    let dir = TempDir::new("wavextf");
    let path = dir.write(
        "a.wav",
        &wav(44_100, 1, &half_second_sine_44k1(), Encoding::F32, true),
    );
    let audio = decode_file(&path).unwrap();
    assert_eq!(audio.codec, "pcm_f32le");
    assert_half_second_sine(&audio, 0.99999);
}

#[test]
fn aiff_16_bit() {
    let dir = TempDir::new("aiff");
    let path = dir.write(
        "a.aif",
        &aiff(44_100, 1, &half_second_sine_44k1(), Encoding::I16, None),
    );
    let audio = decode_file(&path).unwrap();
    assert_eq!((audio.source_rate, audio.source_frames), (44_100, 22_050));
    assert_eq!(audio.codec, "pcm_s16be");
    assert_half_second_sine(&audio, 0.9999);
}

#[test]
fn aifc_none_sowt_and_float() {
    let dir = TempDir::new("aifc");
    for (compression, enc, codec) in [
        (b"NONE", Encoding::I24, "pcm_s24be"),
        (b"sowt", Encoding::I16, "pcm_s16le"),
        (b"fl32", Encoding::F32, "pcm_f32be"),
    ] {
        let bytes = aiff(44_100, 1, &half_second_sine_44k1(), enc, Some(compression));
        let path = dir.write("a.aifc", &bytes);
        let audio = decode_file(&path).unwrap();
        assert_eq!(audio.codec, codec);
        assert_half_second_sine(&audio, 0.9999);
    }
}

#[test]
fn flac() {
    let audio = decode_file(&fixture("sine440_44k1_mono_16bit.flac")).unwrap();
    assert_eq!(
        (audio.source_rate, audio.channels, audio.source_frames),
        (44_100, 1, 22_050)
    );
    assert_eq!(
        (audio.codec.as_str(), audio.bits_per_sample),
        ("flac", Some(16))
    );
    assert_half_second_sine(&audio, 0.9999);
}

#[test]
fn mp3() {
    let audio = decode_file(&fixture("sine440_44k1_mono.mp3")).unwrap();
    assert_eq!((audio.source_rate, audio.channels), (44_100, 1));
    // Gapless: the LAME header's encoder delay and padding are trimmed.
    assert_eq!(audio.source_frames, 22_050);
    assert_eq!((audio.codec.as_str(), audio.bits_per_sample), ("mp3", None));
    assert_half_second_sine(&audio, 0.999);
}

#[test]
fn ogg_vorbis_stereo_48k() {
    let audio = decode_file(&fixture("sine440_48k_stereo.ogg")).unwrap();
    assert_eq!((audio.source_rate, audio.channels), (48_000, 2));
    assert_eq!(audio.source_frames, 24_000);
    assert_eq!(
        (audio.codec.as_str(), audio.bits_per_sample),
        ("vorbis", None)
    );
    assert_half_second_sine(&audio, 0.999);
}

#[test]
fn content_wins_over_extension() {
    let dir = TempDir::new("ext");
    let flac = fs::read(fixture("sine440_44k1_mono_16bit.flac")).unwrap();
    let audio = decode_file(&dir.write("really-flac.wav", &flac)).unwrap();
    assert_eq!(audio.codec, "flac");
    let wav = wav(44_100, 1, &half_second_sine_44k1(), Encoding::I16, false);
    let audio = decode_file(&dir.write("really-wav.mp3", &wav)).unwrap();
    assert_eq!(audio.codec, "pcm_s16le");
    let audio = decode_file(&dir.write("no-extension", &wav)).unwrap();
    assert_eq!(audio.codec, "pcm_s16le");
}

// ---------------------------------------------------------------------------
// Downmix, sanitising, the no-resampling paths

#[test]
fn stereo_is_averaged() {
    let dir = TempDir::new("stereo");
    let frames = 4_800;
    let left = sine(440.0, 0.5, 48_000, frames);
    let right: Vec<f64> = (0..frames)
        .map(|i| if i % 2 == 0 { 0.25 } else { -0.125 })
        .collect();
    let path = dir.write(
        "s.wav",
        &wav(
            48_000,
            2,
            &interleave(&[left.clone(), right.clone()]),
            Encoding::F32,
            false,
        ),
    );
    let (mono, rate) = decode_native(&path).unwrap();
    assert_eq!((mono.len(), rate), (frames, 48_000));
    for i in 0..frames {
        let expected = (f64::from(left[i] as f32) + f64::from(right[i] as f32)) / 2.0;
        assert!((f64::from(mono[i]) - expected).abs() < 1e-6, "frame {i}");
    }
    // At 48 kHz decode_file does not resample.
    let audio = decode_file(&path).unwrap();
    assert_eq!(audio.samples, mono);
    assert_eq!(audio.channels, 2);
}

#[test]
fn six_channels_are_averaged() {
    let dir = TempDir::new("six");
    let frames = 1_000;
    let channels: Vec<Vec<f64>> = (0..6).map(|c| vec![0.1 * c as f64; frames]).collect();
    let path = dir.write(
        "51.wav",
        &wav(44_100, 6, &interleave(&channels), Encoding::I24, true),
    );
    let (mono, rate) = decode_native(&path).unwrap();
    assert_eq!((mono.len(), rate), (frames, 44_100));
    assert!(
        mono.iter().all(|&s| (s - 0.25).abs() < 1e-6),
        "{:?}",
        &mono[..4]
    );
    assert_eq!(decode_file(&path).unwrap().channels, 6);
}

#[test]
fn non_finite_samples_become_zero() {
    let dir = TempDir::new("nan");
    let mut data = sine(440.0, 0.5, 44_100, 4_410);
    data[10] = f64::NAN;
    data[20] = f64::INFINITY;
    data[30] = f64::NEG_INFINITY;
    let path = dir.write("nan.wav", &wav(44_100, 1, &data, Encoding::F32, false));
    let (mono, _) = decode_native(&path).unwrap();
    assert_eq!((mono[10], mono[20], mono[30]), (0.0, 0.0, 0.0));
    assert!(mono.iter().all(|s| s.is_finite()));
    assert_eq!(mono[11], data[11] as f32);
    let audio = decode_file(&path).unwrap();
    assert!(audio.samples.iter().all(|s| s.is_finite()));
    assert_eq!(audio.samples.len(), 4_800);
}

#[test]
fn one_frame_file() {
    let dir = TempDir::new("one");
    let path = dir.write("one.wav", &wav(44_100, 1, &[0.5], Encoding::I16, false));
    let audio = decode_file(&path).unwrap();
    assert_eq!((audio.source_frames, audio.samples.len()), (1, 1));
}

#[test]
fn decode_file_is_decode_native_then_resample() {
    let path = fixture("sine440_44k1_mono_16bit.flac");
    let (mono, rate) = decode_native(&path).unwrap();
    assert_eq!((mono.len(), rate), (22_050, 44_100));
    assert_eq!(
        decode_file(&path).unwrap().samples,
        resample_to_48k(&mono, rate).unwrap()
    );
}

// ---------------------------------------------------------------------------
// Errors: each names the file, none panics

/// Both entry points fail on `path`, naming it in the message.
fn assert_fails(path: &Path) -> Error {
    let native = decode_native(path).unwrap_err();
    let err = decode_file(path).unwrap_err();
    for e in [&native, &err] {
        let message = e.to_string();
        assert!(
            message.contains(&format!("`{}`", path.display())),
            "message does not name the file: {message}"
        );
        assert!(message.starts_with("failed to "), "{message}");
    }
    err
}

#[test]
fn missing_file() {
    let dir = TempDir::new("missing");
    let err = assert_fails(&dir.0.join("nope.wav"));
    assert!(
        matches!(err, Error::Open { ref cause, .. } if cause.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
}

#[test]
fn empty_file() {
    let dir = TempDir::new("empty");
    let path = dir.write("empty.wav", b"");
    let err = assert_fails(&path);
    assert!(matches!(err, Error::Empty { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("failed to decode `{}`: empty file", path.display())
    );
}

#[test]
fn text_named_wav() {
    let dir = TempDir::new("text");
    let text = "This is not a sound. It is a README that someone renamed.\n".repeat(50);
    let err = assert_fails(&dir.write("readme.wav", text.as_bytes()));
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
}

#[test]
fn garbage() {
    let dir = TempDir::new("garbage");
    // A fixed pseudo-random byte soup (xorshift), under each audio extension.
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let bytes: Vec<u8> = (0..64 * 1024).map(|_| rng.next() as u8).collect();
    for ext in ["wav", "aif", "flac", "mp3", "ogg", "m4a", "mkv", "caf"] {
        assert_fails(&dir.write(&format!("noise.{ext}"), &bytes));
    }
}

#[test]
fn damaged_files_decode_or_fail_cleanly() {
    // Random bytes overwritten anywhere, headers included: each file either
    // decodes to finite samples or fails naming the file.
    let dir = TempDir::new("damaged");
    let wav = wav(
        44_100,
        2,
        &interleave(&[half_second_sine_44k1(), half_second_sine_44k1()]),
        Encoding::I24,
        true,
    );
    let originals = [
        ("w.wav", wav),
        (
            "f.flac",
            fs::read(fixture("sine440_44k1_mono_16bit.flac")).unwrap(),
        ),
        ("m.mp3", fs::read(fixture("sine440_44k1_mono.mp3")).unwrap()),
        (
            "o.ogg",
            fs::read(fixture("sine440_48k_stereo.ogg")).unwrap(),
        ),
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for (name, original) in &originals {
        for round in 0..40 {
            let mut bytes = original.clone();
            for _ in 0..1 + round % 8 {
                let at = (rng.next() % bytes.len() as u64) as usize;
                bytes[at] = rng.next() as u8;
            }
            let path = dir.write(name, &bytes);
            match decode_file(&path) {
                Ok(audio) => assert!(audio.samples.iter().all(|s| s.is_finite())),
                Err(err) => assert!(
                    err.to_string().contains(&path.display().to_string()),
                    "{err}"
                ),
            }
        }
    }
}

#[test]
fn truncated_headers() {
    let dir = TempDir::new("truncated");
    let wav = wav(44_100, 1, &half_second_sine_44k1(), Encoding::I16, false);
    for len in [4, 12, 20, 30, 40] {
        assert_fails(&dir.write("cut.wav", &wav[..len]));
    }
    let aiff = aiff(44_100, 1, &half_second_sine_44k1(), Encoding::I16, None);
    for len in [4, 12, 30] {
        assert_fails(&dir.write("cut.aif", &aiff[..len]));
    }
    let flac = fs::read(fixture("sine440_44k1_mono_16bit.flac")).unwrap();
    for len in [4, 20, 41] {
        assert_fails(&dir.write("cut.flac", &flac[..len]));
    }
}

#[test]
fn truncated_audio_keeps_what_is_there() {
    // Cut mid-data: the header promises 0.5 s, the file holds less. Players
    // play what is there, and so does hark.
    let dir = TempDir::new("cutdata");
    let wav = wav(44_100, 1, &half_second_sine_44k1(), Encoding::I16, false);
    let path = dir.write("cut.wav", &wav[..44 + 2 * 10_000 + 1]);
    let (mono, _) = decode_native(&path).unwrap();
    assert_eq!(mono.len(), 10_000);
    let flac = fs::read(fixture("sine440_44k1_mono_16bit.flac")).unwrap();
    let path = dir.write("cut.flac", &flac[..flac.len() / 2]);
    let (mono, _) = decode_native(&path).unwrap();
    assert!((5_000..22_050).contains(&mono.len()), "{}", mono.len());
}

#[test]
fn zero_sample_rate() {
    let dir = TempDir::new("zerorate");
    let zero_wav = wav(0, 1, &[0.1; 100], Encoding::I16, false);
    for (name, bytes) in [
        ("zero.wav", zero_wav.clone()),
        ("zero-after-junk.wav", with_junk_chunk_first(&zero_wav)),
        ("zero.aif", aiff(0, 1, &[0.1; 100], Encoding::I16, None)),
        (
            "zero.aifc",
            aiff(0, 1, &[0.1; 100], Encoding::F32, Some(b"fl32")),
        ),
    ] {
        let path = dir.write(name, &bytes);
        let err = assert_fails(&path);
        assert!(
            matches!(err, Error::SampleRate { rate: 0, .. }),
            "{name}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "failed to decode `{}`: unsupported sample rate 0 Hz",
                path.display()
            )
        );
    }
}

#[test]
fn metadata_chunk_before_format_chunk() {
    let dir = TempDir::new("junk");
    let bytes = with_junk_chunk_first(&wav(
        44_100,
        1,
        &half_second_sine_44k1(),
        Encoding::I16,
        false,
    ));
    let audio = decode_file(&dir.write("bwf.wav", &bytes)).unwrap();
    assert_half_second_sine(&audio, 0.9999);
}

#[test]
fn no_frames() {
    let dir = TempDir::new("noframes");
    let err = assert_fails(&dir.write("silent.wav", &wav(44_100, 1, &[], Encoding::I16, false)));
    assert!(matches!(err, Error::NoFrames { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "failed to decode `{}`: no audio frames",
            dir.0.join("silent.wav").display()
        )
    );
}

#[test]
fn unusable_sample_rate() {
    let dir = TempDir::new("oddrate");
    let path = dir.write(
        "odd.wav",
        &wav(1_000_003, 1, &[0.1; 100], Encoding::I16, false),
    );
    let (mono, rate) = decode_native(&path).unwrap();
    assert_eq!((mono.len(), rate), (100, 1_000_003));
    let err = decode_file(&path).unwrap_err();
    assert!(
        matches!(err, Error::SampleRate { path: Some(ref p), rate: 1_000_003 } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "failed to decode `{}`: unsupported sample rate 1000003 Hz",
            path.display()
        )
    );
}

#[test]
fn directory() {
    let dir = TempDir::new("dir");
    fs::create_dir(dir.0.join("folder.wav")).unwrap();
    let err = assert_fails(&dir.0.join("folder.wav"));
    assert!(
        matches!(err, Error::Open { ref cause, .. } if cause.kind() == std::io::ErrorKind::IsADirectory),
        "{err:?}"
    );
}

#[test]
fn decode_stream_delivers_what_decode_file_returns() {
    for name in [
        "sine440_44k1_mono_16bit.flac",
        "sine440_44k1_mono.mp3",
        "sine440_48k_stereo.ogg",
    ] {
        let path = fixture(name);
        let whole = decode_file(&path).unwrap();
        let (native, rate) = decode_native(&path).unwrap();
        let batch = resample_to_48k(&native, rate).unwrap();
        let mut streamed = Vec::new();
        let mut chunks = 0;
        let info = hark_audio::decode_stream(&path, &mut |c| {
            chunks += 1;
            streamed.extend_from_slice(c)
        })
        .unwrap();
        assert!(chunks > 1, "{name}: one chunk only");
        assert!(
            streamed == batch,
            "{name}: streamed samples differ from one-call resampling"
        );
        assert!(whole.samples == batch, "{name}: decode_file differs");
        assert_eq!(info.source_frames, whole.source_frames, "{name}");
        assert_eq!(info.source_rate, whole.source_rate, "{name}");
        assert_eq!(info.codec, whole.codec, "{name}");
    }
}

#[test]
fn thirty_two_channel_wav_is_averaged() {
    // symphonia refuses more channels than it has speaker positions; hark's
    // own PCM reader takes over.
    let frames = 4_800;
    let channels = 32_u16;
    let mut interleaved = Vec::with_capacity(frames * channels as usize);
    for i in 0..frames {
        for c in 0..channels {
            interleaved.push(if c == 5 {
                0.64 * ((i as f64) * 0.02).sin()
            } else {
                0.0
            });
        }
    }
    let dir = TempDir::new("polywav");
    let path = dir.write(
        "polywav.wav",
        &wav(48_000, channels, &interleaved, Encoding::I24, false),
    );
    let audio = decode_file(&path).unwrap();
    assert_eq!(audio.channels, 32);
    assert_eq!(audio.source_frames, frames as u64);
    assert_eq!(audio.samples.len(), frames);
    assert_eq!(audio.codec, "pcm_s24le");
    for (i, &s) in audio.samples.iter().enumerate().step_by(97) {
        let want = 0.64 * ((i as f64) * 0.02).sin() / 32.0;
        assert!(
            (f64::from(s) - want).abs() < 1e-5,
            "sample {i}: {s} vs {want}"
        );
    }
}

#[test]
fn wav_with_a_wrong_data_size_decodes_the_audio_present() {
    let rate = 48_000;
    let x: Vec<f64> = (0..24_000).map(|i| 0.5 * (i as f64 * 0.03).sin()).collect();
    let good = wav(rate, 1, &x, Encoding::I16, false);
    let data_size_at = good.windows(4).position(|w| w == b"data").unwrap() + 4;
    let dir = TempDir::new("wrong-data-size");
    let reference = decode_file(&dir.write("good.wav", &good)).unwrap();
    for (name, size) in [
        ("zero", 0_u32),
        ("all ones", u32::MAX),
        ("too big", 1_000_000),
    ] {
        let mut bytes = good.clone();
        bytes[data_size_at..data_size_at + 4].copy_from_slice(&size.to_le_bytes());
        // A recorder that died leaves the RIFF size stale too.
        bytes[4..8].copy_from_slice(&size.to_le_bytes());
        let path = dir.write(&format!("{name}.wav"), &bytes);
        let audio = decode_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(audio.source_frames, 24_000, "{name}");
        assert_eq!(audio.samples, reference.samples, "{name}");
    }
}
