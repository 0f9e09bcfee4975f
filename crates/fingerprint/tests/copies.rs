//! Copies of a sound match it, and different sounds of one kind do not,
//! on synthetic one-shots, noise bursts and a long ambience.

use hark_fingerprint::{compare, Fingerprint, Fingerprinter, Relation, Thresholds, RATE};

const SR: f32 = RATE as f32;

fn fingerprint(samples: &[f32]) -> Fingerprint {
    let mut f = Fingerprinter::new();
    for chunk in samples.chunks(1152) {
        f.push(chunk);
    }
    f.finish()
}

/// A deterministic noise source.
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// A kick: a falling sine sweep with an exponential decay, a click, and
/// some noise, after `lead` seconds of silence.
fn kick(start_hz: f32, end_hz: f32, decay_s: f32, seed: u64, lead: f32) -> Vec<f32> {
    let mut noise = Noise(seed);
    let mut phase = 0.0f32;
    let mut out = vec![0.0; (lead * SR) as usize];
    for i in 0..(0.6 * SR) as usize {
        let t = i as f32 / SR;
        let hz = end_hz + (start_hz - end_hz) * (-t / 0.03).exp();
        phase += std::f32::consts::TAU * hz / SR;
        let body = phase.sin() * (-t / decay_s).exp();
        let click = noise.next() * (-t / 0.004).exp() * 0.3;
        out.push(0.8 * body + click);
    }
    out
}

/// A burst of noise shaped by an envelope: the same envelope with another
/// seed is a different sound that a loudness curve alone cannot tell apart.
fn burst(seed: u64, seconds: f32) -> Vec<f32> {
    let mut noise = Noise(seed);
    (0..(seconds * SR) as usize)
        .map(|i| {
            let t = i as f32 / SR;
            noise.next() * 0.5 * (-t / 0.25).exp() * (1.0 - (-t / 0.002).exp())
        })
        .collect()
}

/// An ambience: slowly moving filtered noise and two drifting tones.
fn ambience(seconds: f32) -> Vec<f32> {
    let mut noise = Noise(99);
    let mut low = 0.0f32;
    (0..(seconds * SR) as usize)
        .map(|i| {
            let t = i as f32 / SR;
            low += 0.02 * (noise.next() - low);
            let swell = 0.6 + 0.4 * (t * 0.7).sin() * (t * 0.23).cos();
            swell
                * (0.3 * low * 8.0
                    + 0.1 * (std::f32::consts::TAU * (220.0 + 30.0 * (t * 0.5).sin()) * t).sin()
                    + 0.05 * (std::f32::consts::TAU * 660.0 * t + (t * 2.0).sin()).sin())
        })
        .collect()
}

/// 16-bit quantisation, as a WAV copy has.
fn to_16_bit(samples: &[f32]) -> Vec<f32> {
    samples
        .iter()
        .map(|x| (x * 32767.0).round().clamp(-32768.0, 32767.0) / 32767.0)
        .collect()
}

fn gain(samples: &[f32], db: f32) -> Vec<f32> {
    let g = 10f32.powf(db / 20.0);
    samples.iter().map(|x| x * g).collect()
}

fn same(a: &[f32], b: &[f32]) -> Option<hark_fingerprint::Match> {
    compare(&fingerprint(a), &fingerprint(b), &Thresholds::default())
}

#[test]
fn copies_of_a_kick_match_it() {
    let original = kick(180.0, 50.0, 0.12, 1, 0.05);
    let cases: Vec<(&str, Vec<f32>)> = vec![
        ("16-bit", to_16_bit(&original)),
        ("-6 dB, 16-bit", to_16_bit(&gain(&original, -6.0))),
        ("+4 dB", gain(&original, 4.0)),
        (
            "leading silence cut",
            original[(0.05 * SR) as usize..].to_vec(),
        ),
        (
            "more leading silence",
            [vec![0.0; 7000], original.clone()].concat(),
        ),
        (
            "30 ms cut into the sound",
            original[(0.08 * SR) as usize..].to_vec(),
        ),
        (
            "tail cut by 100 ms",
            original[..original.len() - 4800].to_vec(),
        ),
    ];
    for (what, copy) in cases {
        let m = same(&original, &copy).unwrap_or_else(|| {
            let loose = Thresholds {
                max_bit_errors: 1.0,
                max_envelope_db: 100.0,
                ..Thresholds::default()
            };
            panic!(
                "{what}: no match; at any threshold: {:?}",
                compare(&fingerprint(&original), &fingerprint(&copy), &loose)
            )
        });
        assert!(
            matches!(m.relation, Relation::SameAudio | Relation::Trimmed),
            "{what}: {m:?}"
        );
    }
    let m = same(&original, &to_16_bit(&gain(&original, -6.0))).unwrap();
    assert!((m.gain_db - 6.0).abs() < 0.6, "the gain is measured: {m:?}");
    assert_eq!(m.relation, Relation::SameAudio);
}

#[test]
fn different_kicks_and_noise_bursts_do_not_match() {
    let kicks = [
        kick(180.0, 50.0, 0.12, 1, 0.0),
        kick(200.0, 55.0, 0.12, 2, 0.0),
        kick(180.0, 45.0, 0.2, 3, 0.0),
        kick(120.0, 60.0, 0.08, 4, 0.0),
    ];
    for (i, a) in kicks.iter().enumerate() {
        for (j, b) in kicks.iter().enumerate().skip(i + 1) {
            assert_eq!(same(a, b), None, "kicks {i} and {j}");
        }
    }
    // Same envelope, other noise: only the codes can tell them apart.
    let bursts: Vec<Vec<f32>> = (10..14).map(|seed| burst(seed, 0.8)).collect();
    for (i, a) in bursts.iter().enumerate() {
        for (j, b) in bursts.iter().enumerate().skip(i + 1) {
            assert_eq!(same(a, b), None, "bursts {i} and {j}");
        }
        assert!(
            same(a, &to_16_bit(&gain(a, -6.0))).is_some(),
            "burst {i} and its copy"
        );
    }
}

#[test]
fn an_excerpt_is_found_inside_the_long_take_with_its_offset() {
    let long = ambience(40.0);
    let start = 12.345f32;
    let excerpt = to_16_bit(&long[(start * SR) as usize..((start + 3.0) * SR) as usize]);
    let m = same(&excerpt, &long).expect("the excerpt matches its take");
    match m.relation {
        Relation::ContainedAt(at) => assert!((at - start as f64).abs() < 0.02, "at {at}"),
        other => panic!("expected ContainedAt, got {other:?}"),
    }
    // The other way round.
    let m = same(&long, &excerpt).expect("the take matches its excerpt");
    assert!(
        matches!(m.relation, Relation::ContainsAt(at) if (at - start as f64).abs() < 0.02),
        "{m:?}"
    );
    // Too short to call an excerpt.
    let blip = long[(5.0 * SR) as usize..(6.0 * SR) as usize].to_vec();
    assert_eq!(same(&blip, &long), None);
    // A stretch of another ambience is not in it.
    let other: Vec<f32> = ambience(40.0).iter().rev().copied().collect();
    let piece = other[(20.0 * SR) as usize..(23.0 * SR) as usize].to_vec();
    assert_eq!(same(&piece, &long), None);
}
