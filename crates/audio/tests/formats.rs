//! The formats real sound libraries hold beyond the common ones: Sony
//! Wave64, Sun AU, Ogg Opus, Ogg Vorbis and MP3 inside WAV (decoded), and
//! WavPack and GSM 6.10 in WAV (refused by name). Fixtures from
//! `assets/test/make_format_fixtures.py`: each 0.5 s of a 440 Hz sine at
//! half full scale.

use std::f64::consts::PI;
use std::fs;

use hark_audio::{decode_file, read_metadata, DecodedAudio, Error, SoundFile, TARGET_RATE};

mod common;
use common::{fixture, TempDir};

/// Normalised correlation of `samples` (48 kHz) with a 440 Hz sine, away
/// from the first and last 10 ms. The phase is found by also correlating
/// with the cosine, so a codec's delay does not count against it.
fn correlation_with_440(samples: &[f32]) -> f64 {
    let edge = 480;
    assert!(samples.len() > 4 * edge, "too short: {}", samples.len());
    let (mut xs, mut xc, mut xx, mut n) = (0.0, 0.0, 0.0, 0.0);
    for (i, &x) in samples
        .iter()
        .enumerate()
        .take(samples.len() - edge)
        .skip(edge)
    {
        let phase = 2.0 * PI * 440.0 * i as f64 / f64::from(TARGET_RATE);
        let x = f64::from(x);
        xs += x * phase.sin();
        xc += x * phase.cos();
        xx += x * x;
        n += 1.0;
    }
    // An ideal unit sine's energy over n samples is n / 2.
    (xs * xs + xc * xc).sqrt() / (xx * n / 2.0).sqrt()
}

fn rms(samples: &[f32]) -> f64 {
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// Checks a decoded 0.5 s, 440 Hz sine of amplitude 0.5.
fn assert_half_second_sine(audio: &DecodedAudio, min_correlation: f64, rms_tolerance: f64) {
    assert!(
        (audio.duration_secs() - 0.5).abs() < 1e-3,
        "duration {} s",
        audio.duration_secs()
    );
    assert!(
        audio.samples.len().abs_diff(24_000) <= 48,
        "{} samples",
        audio.samples.len()
    );
    let c = correlation_with_440(&audio.samples);
    assert!(c > min_correlation, "correlation {c}");
    let level = rms(&audio.samples[960..23_040]);
    assert!(
        (level - 0.5 / 2f64.sqrt()).abs() < rms_tolerance,
        "rms {level} of {}",
        audio.codec
    );
    assert!(audio.samples.iter().all(|s| s.is_finite()));
    assert_eq!(audio.skipped_packets, 0);
}

/// Decodes a fixture, checks it against the sine and its metadata against
/// the decoded facts, and returns it.
fn decode_and_probe(
    name: &str,
    (rate, channels, codec, bits): (u32, u16, &str, Option<u32>),
    min_correlation: f64,
    rms_tolerance: f64,
) -> DecodedAudio {
    let path = fixture(name);
    let audio = decode_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            audio.source_rate,
            audio.channels,
            audio.codec.as_str(),
            audio.bits_per_sample
        ),
        (rate, channels, codec, bits),
        "{name}"
    );
    assert_half_second_sine(&audio, min_correlation, rms_tolerance);
    let meta = read_metadata(&path).unwrap();
    assert_eq!(meta.sample_rate, Some(rate), "{name}: {meta:?}");
    assert_eq!(meta.channels, Some(channels), "{name}: {meta:?}");
    assert_eq!(meta.codec.as_deref(), Some(codec), "{name}: {meta:?}");
    assert_eq!(meta.bits_per_sample, bits, "{name}: {meta:?}");
    let duration = meta.duration_s.expect("a duration");
    assert!((duration - 0.5).abs() < 2e-3, "{name}: {duration} s");
    assert_eq!(meta.warnings, Vec::<String>::new(), "{name}");
    audio
}

#[test]
fn wave64_pcm() {
    decode_and_probe(
        "sine440_22k05_stereo.w64",
        (22_050, 2, "pcm_s16le", Some(16)),
        0.999,
        0.01,
    );
    assert_eq!(
        read_metadata(&fixture("sine440_22k05_stereo.w64"))
            .unwrap()
            .format,
        "w64"
    );
}

#[test]
fn au_big_endian_pcm_and_mu_law() {
    decode_and_probe(
        "sine440_16k_mono.au",
        (16_000, 1, "pcm_s16be", Some(16)),
        0.999,
        0.01,
    );
    decode_and_probe(
        "sine440_8k_mono_ulaw.au",
        (8_000, 1, "pcm_mulaw", Some(8)),
        0.999,
        0.01,
    );
    assert_eq!(
        read_metadata(&fixture("sine440_16k_mono.au"))
            .unwrap()
            .format,
        "au"
    );
}

#[test]
fn ogg_opus() {
    let audio = decode_and_probe(
        "sine440_48k_stereo.opus",
        (48_000, 2, "opus", None),
        0.99,
        0.02,
    );
    // The encoder's pre-skip is dropped: the tone starts at once.
    assert!(
        rms(&audio.samples[..480]) > 0.2,
        "{:?}",
        &audio.samples[..8]
    );
    assert_eq!(audio.source_frames, 24_000);
}

#[test]
fn vorbis_and_mp3_inside_wav() {
    let vorbis = decode_and_probe(
        "sine440_44k1_mono_vorbis.wav",
        (44_100, 1, "vorbis", None),
        0.999,
        0.01,
    );
    assert_eq!(vorbis.source_frames, 22_050);
    let mp3 = decode_and_probe(
        "sine440_44k1_mono_mp3.wav",
        (44_100, 1, "mp3", None),
        0.999,
        // LAME's output of this tone is about 5% quieter, as sox measures it too.
        0.025,
    );
    assert_eq!(mp3.source_frames, 22_050);
    // The WAV's own chunks are still read: it is a WAV.
    let meta = read_metadata(&fixture("sine440_44k1_mono_vorbis.wav")).unwrap();
    assert_eq!(meta.format, "wav");
}

#[test]
fn one_open_serves_metadata_and_decoding() {
    for name in [
        "sine440_22k05_stereo.w64",
        "sine440_16k_mono.au",
        "sine440_48k_stereo.opus",
        "sine440_44k1_mono_vorbis.wav",
    ] {
        let sound = SoundFile::open(&fixture(name)).unwrap();
        let mut meta = sound.metadata().unwrap();
        let before = meta.clone();
        let mut samples = 0;
        let info = sound
            .decode_stream(&mut |chunk| samples += chunk.len())
            .unwrap();
        meta.settle(&info);
        assert_eq!(samples, decode_file(&fixture(name)).unwrap().samples.len());
        assert_eq!(meta.codec, before.codec, "{name}");
        assert_eq!(meta.sample_rate, before.sample_rate, "{name}");
        assert_eq!(meta.channels, before.channels, "{name}");
    }
}

#[test]
fn wavpack_is_refused_by_name() {
    let path = fixture("sine440_44k1_mono.wv");
    let err = decode_file(&path).unwrap_err();
    assert!(
        matches!(&err, Error::Unsupported { format, .. } if format == "WavPack"),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with(": WavPack is not supported"),
        "{err}"
    );
    // lofty still reads its stream facts.
    let meta = read_metadata(&path).unwrap();
    assert_eq!(
        (meta.format.as_str(), meta.sample_rate, meta.channels),
        ("wavpack", Some(44_100), Some(1))
    );
}

#[test]
fn gsm_in_wav_is_refused_by_name() {
    let err = decode_file(&fixture("sine440_8k_mono_gsm.wav")).unwrap_err();
    assert!(
        err.to_string()
            .ends_with(": GSM 6.10 in WAV is not supported"),
        "{err}"
    );
    let meta = read_metadata(&fixture("sine440_8k_mono_gsm.wav")).unwrap();
    assert_eq!((meta.sample_rate, meta.channels), (Some(8_000), Some(1)));
}

/// A minimal AU header: offset 24, `size` bytes, `encoding`, 8 kHz mono.
fn au(size: u32, encoding: u32, data: &[u8]) -> Vec<u8> {
    let mut out = b".snd".to_vec();
    for field in [24, size, encoding, 8_000, 1] {
        out.extend(u32::to_be_bytes(field));
    }
    out.extend(data);
    out
}

#[test]
fn au_of_unknown_size_or_cut_short_decodes_what_is_there() {
    let dir = TempDir::new("au-size");
    let data: Vec<u8> = (0..1600_i16)
        .flat_map(|i| ((i % 100) * 100).to_be_bytes())
        .collect();
    for size in [u32::MAX, 100_000] {
        let path = dir.write("x.au", &au(size, 3, &data));
        let audio = decode_file(&path).unwrap();
        assert_eq!((audio.source_frames, audio.source_rate), (1600, 8_000));
    }
}

#[test]
fn au_and_wave64_oddities_give_precise_causes() {
    let dir = TempDir::new("au-odd");
    let err = decode_file(&dir.write("g721.au", &au(4, 23, &[0; 4]))).unwrap_err();
    assert!(
        err.to_string()
            .ends_with(": G.721 ADPCM in AU is not supported"),
        "{err}"
    );
    let mut zero_rate = au(4, 3, &[0; 4]);
    zero_rate[16..20].copy_from_slice(&[0; 4]);
    let err = decode_file(&dir.write("zero.au", &zero_rate)).unwrap_err();
    assert!(matches!(err, Error::SampleRate { rate: 0, .. }), "{err:?}");

    // The fixture with its format tag made GSM's.
    let mut w64 = fs::read(fixture("sine440_22k05_stereo.w64")).unwrap();
    let fmt = (40..w64.len() - 4)
        .find(|&i| &w64[i..i + 4] == b"fmt ")
        .unwrap();
    w64[fmt + 24..fmt + 26].copy_from_slice(&0x0031_u16.to_le_bytes());
    let err = decode_file(&dir.write("gsm.w64", &w64)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with(": GSM 6.10 in Wave64 is not supported"),
        "{err}"
    );
    // Cut inside the header: a plain format error, no panic.
    let err = decode_file(&dir.write("short.w64", &w64[..30])).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
}

#[test]
fn the_fact_chunk_gives_the_length_of_vorbis_inside_wav() {
    // LMMS's Ogg streams run on in near-silence past their `fact` length.
    let dir = TempDir::new("fact");
    let mut wav = fs::read(fixture("sine440_44k1_mono_vorbis.wav")).unwrap();
    let fact = wav.windows(4).position(|w| w == b"fact").unwrap();
    wav[fact + 8..fact + 12].copy_from_slice(&11_025_u32.to_le_bytes());
    let path = dir.write("padded.wav", &wav);
    let audio = decode_file(&path).unwrap();
    assert_eq!(audio.source_frames, 11_025);
    assert_eq!(audio.samples.len(), 12_000);
    let meta = read_metadata(&path).unwrap();
    assert_eq!(meta.duration_s, Some(0.25));
}
