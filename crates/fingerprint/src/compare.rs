//! Whether two fingerprints are the same recording, and how they relate.

use crate::{Fingerprint, HOP, RATE};

/// The limits of a match.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// The largest share of code bits that may differ at the best
    /// alignment, out of the bits set in either code.
    pub max_bit_errors: f32,
    /// The largest RMS difference of the loudness envelopes, in dB, once
    /// the gain between the two is taken out.
    pub max_envelope_db: f32,
    /// The most that may be cut at either end of a trimmed copy, in seconds.
    pub max_trim_s: f64,
    /// The shortest excerpt reported as contained in a longer file, in seconds.
    pub min_excerpt_s: f64,
    /// The fewest code bits (set in either code, over the loud frames
    /// compared) a match needs: a sound of a few frames says too little
    /// (LMMS's single-cycle waveforms, 1 to 5 frames of a steady tone, all
    /// looked alike). About four frames of a sound's attack.
    pub min_bits: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            // Measured (see the crate's tests and docs/benchmarks.md): copies
            // through WAV 24-bit, MP3 192k, -6 dB, mono and 30 ms trims of
            // real one-shots stay under 0.34 and 0.37 dB, a 3 s excerpt of
            // an ambience at 0.42 and 0.21 dB; 9,045 pairs of different
            // kicks, snares and toms from Debian's drum kits: none under
            // both limits but velocity layers made from one recording.
            max_bit_errors: 0.45,
            max_envelope_db: 0.5,
            max_trim_s: 1.0,
            min_excerpt_s: 2.0,
            min_bits: 40,
        }
    }
}

/// How the first sound of [`compare`] relates to the second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Relation {
    /// The same sound from start to end (within a frame or two).
    SameAudio,
    /// The same sound with some of its start or end cut (or the other way round).
    Trimmed,
    /// The first sound is an excerpt of the second, starting this many
    /// seconds into it.
    ContainedAt(f64),
    /// The second sound is an excerpt of the first, starting this many
    /// seconds into it.
    ContainsAt(f64),
}

/// A match between two fingerprints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// How they relate.
    pub relation: Relation,
    /// Frames of the second that come before the first's first frame at the
    /// best alignment (negative: the first starts earlier).
    pub offset: i64,
    /// The share of code bits that differ over the overlap, out of those
    /// set in either.
    pub bit_errors: f32,
    /// The RMS difference of the loudness envelopes, gain taken out, in dB.
    pub envelope_db: f32,
    /// How much louder the first is, in dB.
    pub gain_db: f32,
}

/// Short sounds are aligned by trying every offset; longer ones by the
/// offsets their equal codes vote for.
const EXHAUSTIVE_FRAMES: usize = 400;
/// Offsets tried after the vote.
const VOTED_OFFSETS: usize = 8;

/// Compares `a` with `b`: `Some` when they hold the same sound, or one is
/// an excerpt of the other.
pub fn compare(a: &Fingerprint, b: &Fingerprint, limits: &Thresholds) -> Option<Match> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (short, long, swapped) = if a.len() <= b.len() {
        (a, b, false)
    } else {
        (b, a, true)
    };
    let trim = (limits.max_trim_s * RATE as f64 / HOP as f64).ceil() as i64;
    // Offsets where the short one lies inside the long one, give or take a trim.
    let lowest = -trim.min(short.len() as i64 - 1);
    let highest = long.len() as i64 - short.len() as i64 + trim;
    let offsets: Vec<i64> = if long.len() <= EXHAUSTIVE_FRAMES {
        (lowest..=highest).collect()
    } else {
        voted_offsets(short, long, lowest, highest)
    };
    let (offset, bit_errors) = best_offset(short, long, &offsets, limits)?;
    let (gain_db, envelope_db) = envelope(short, long, offset)?;
    if envelope_db > limits.max_envelope_db {
        return None;
    }
    let seconds = |frames: i64| frames as f64 * HOP as f64 / RATE as f64;
    let before = offset; // long's frames before short's start
    let after = long.len() as i64 - (offset + short.len() as i64);
    let relation = if before.abs() <= 2 && after.abs() <= 3 {
        Relation::SameAudio
    } else if before.abs() <= trim && after.abs() <= trim {
        Relation::Trimmed
    } else if before >= 0 && after >= -3 && short.seconds() >= limits.min_excerpt_s {
        // Where the excerpt's file starts in the long file's time.
        let at =
            (seconds(before) + (long.onset as f64 - short.onset as f64) / RATE as f64).max(0.0);
        if swapped {
            Relation::ContainsAt(at)
        } else {
            Relation::ContainedAt(at)
        }
    } else {
        return None;
    };
    Some(Match {
        relation,
        offset: if swapped { -offset } else { offset },
        bit_errors,
        envelope_db,
        gain_db: if swapped { -gain_db } else { gain_db },
    })
}

/// `m` seen from the other sound: [`compare`]`(b, a)` when `m` is
/// `compare(a, b)`.
pub(crate) fn reversed(m: &Match) -> Match {
    Match {
        relation: match m.relation {
            Relation::ContainedAt(at) => Relation::ContainsAt(at),
            Relation::ContainsAt(at) => Relation::ContainedAt(at),
            same => same,
        },
        offset: -m.offset,
        gain_db: -m.gain_db,
        ..*m
    }
}

/// The offset, among `offsets` (in order), where `short` and `long` agree
/// best: the first with the fewest differing bits, out of those set in
/// either, and that share; `None` when no offset has both
/// [`Thresholds::min_bits`] set and at most [`Thresholds::max_bit_errors`]
/// differing.
///
/// An offset is left as soon as it cannot do better than the best so far
/// (or than the limit): the share can fall no lower than the bits
/// differing so far over the bits set so far plus every bit still set in
/// `short`'s frames to come.
fn best_offset(
    short: &Fingerprint,
    long: &Fingerprint,
    offsets: &[i64],
    limits: &Thresholds,
) -> Option<(i64, f32)> {
    // The quiet tail (more than 40 dB under the loudest frame) holds the
    // noise and dither that differ between copies: it does not count. Nor
    // do bits both codes leave at 0: a band pair under the floor in both
    // says nothing, and a sound with few bands (a sub kick) would look like
    // every other one.
    let floor = short.loudness_floor();
    let loud: Vec<u32> = (0..short.len() as u32)
        .filter(|&i| short.loudness[i as usize] >= floor)
        .collect();
    // Bits set in the loud frames from the k-th on.
    let mut to_come = vec![0u32; loud.len() + 1];
    for k in (0..loud.len()).rev() {
        to_come[k] = to_come[k + 1] + short.codes[loud[k] as usize].count_ones();
    }
    let mut best: Option<(i64, f32)> = None;
    for &offset in offsets {
        let first = (-offset).max(0) as usize;
        let last = (long.len() as i64 - offset).min(short.len() as i64);
        // The overlap must cover most of the short one.
        if last <= first as i64 || (last as usize - first) * 10 < short.len() * 8 {
            continue;
        }
        let from = loud.partition_point(|&i| (i as usize) < first);
        let to = loud.partition_point(|&i| (i as i64) < last);
        let bar = f64::from(best.map_or(limits.max_bit_errors, |(_, e)| e));
        let (mut differing, mut set) = (0u32, 0u32);
        let mut left = false;
        for (k, &i) in loud[from..to].iter().enumerate() {
            let (x, y) = (
                short.codes[i as usize],
                long.codes[(i as i64 + offset) as usize],
            );
            differing += (x ^ y).count_ones();
            set += (x | y).count_ones();
            if k % 8 == 7 {
                let most = set + to_come[from + k + 1] - to_come[to];
                if f64::from(differing) > bar * f64::from(most) {
                    left = true;
                    break;
                }
            }
        }
        if left || set == 0 || set < limits.min_bits {
            continue;
        }
        let share = differing as f32 / set as f32;
        if share <= limits.max_bit_errors && best.is_none_or(|(_, e)| share < e) {
            best = Some((offset, share));
        }
    }
    best
}

/// The offsets most frames agree on: each frame of `short` votes for every
/// position of `long` with the same code.
fn voted_offsets(short: &Fingerprint, long: &Fingerprint, lowest: i64, highest: i64) -> Vec<i64> {
    let mut votes = vec![0u32; (highest - lowest + 1).max(0) as usize];
    // short's frames by code: a table over every code (kept by the thread
    // and cleared after use) holding the last frame with it, and each
    // frame the one before it with the same code. Linear in both sounds,
    // where sorting the codes was most of a comparison's cost.
    LAST_WITH_CODE.with_borrow_mut(|last| {
        let mut before = vec![0u32; short.len()];
        for (i, &code) in short.codes.iter().enumerate() {
            before[i] = last[code as usize];
            last[code as usize] = i as u32 + 1;
        }
        for (p, &code) in long.codes.iter().enumerate() {
            let mut next = last[code as usize];
            while next > 0 {
                let i = next - 1;
                let d = p as i64 - i64::from(i);
                if (lowest..=highest).contains(&d) {
                    votes[(d - lowest) as usize] += 1;
                }
                next = before[i as usize];
            }
        }
        for &code in &short.codes {
            last[code as usize] = 0;
        }
    });
    let mut ranked: Vec<(i64, u32)> = votes
        .iter()
        .enumerate()
        .filter(|(_, &v)| v > 0)
        .map(|(k, &v)| (lowest + k as i64, v))
        .collect();
    let most = |x: &(i64, u32), y: &(i64, u32)| y.1.cmp(&x.1).then(x.0.cmp(&y.0));
    if ranked.len() > VOTED_OFFSETS {
        ranked.select_nth_unstable_by(VOTED_OFFSETS, most);
        ranked.truncate(VOTED_OFFSETS);
    }
    let mut offsets: Vec<i64> = ranked
        .iter()
        .flat_map(|&(d, _)| [d - 1, d, d + 1])
        .collect();
    offsets.sort_unstable();
    offsets.dedup();
    offsets
}

thread_local! {
    /// [`voted_offsets`]' table: per code, 1 + the last frame of the
    /// shorter sound with it (0: none). All 0 between uses.
    static LAST_WITH_CODE: std::cell::RefCell<Vec<u32>> = std::cell::RefCell::new(vec![0; 1 << 16]);
}

/// The gain of `short` over `long` (the median level difference) and the
/// RMS of what is left, over the frames of `short` within 40 dB of its
/// loudest, in dB. The frames of two copies can be up to half a hop apart
/// (a trim that is not a multiple of it), which on a fast decay is worth
/// decibels: `long`'s envelope is interpolated at the fractional shift
/// that fits best, and the worst tenth of the frames (the attack, where
/// half a hop matters most) is left out.
fn envelope(short: &Fingerprint, long: &Fingerprint, offset: i64) -> Option<(f32, f32)> {
    let floor = short.loudness_floor();
    let frames: Vec<usize> = (0..short.len())
        .filter(|&i| short.loudness[i] >= floor)
        .collect();
    let level = |j: i64| -> Option<f32> {
        Some(*long.loudness.get(usize::try_from(j).ok()?)? as f32 / 2.0)
    };
    let mut best: Option<(f32, f32)> = None;
    for step in -4..=4 {
        let shift = step as f32 / 8.0;
        let mut differences: Vec<f32> = frames
            .iter()
            .filter_map(|&i| {
                let j = i as i64 + offset;
                let here = level(j)?;
                let there = level(if shift >= 0.0 { j + 1 } else { j - 1 }).unwrap_or(here);
                let other = here + shift.abs() * (there - here);
                Some(short.loudness[i] as f32 / 2.0 - other)
            })
            .collect();
        if differences.is_empty() {
            continue;
        }
        differences.sort_by(f32::total_cmp);
        let gain = differences[differences.len() / 2];
        let mut squares: Vec<f32> = differences.iter().map(|d| (d - gain).powi(2)).collect();
        squares.sort_by(f32::total_cmp);
        let kept = squares.len() - squares.len() / 10;
        let rms = (squares[..kept].iter().sum::<f32>() / kept as f32).sqrt();
        if best.is_none_or(|(_, r)| rms < r) {
            best = Some((gain, rms));
        }
    }
    best
}

impl Fingerprint {
    /// The loudness code 40 dB under the loudest frame (and not under
    /// -70 dB): frames below it are the tail, left out of comparisons.
    fn loudness_floor(&self) -> u8 {
        let loudest = self.loudness.iter().copied().max().unwrap_or(0);
        loudest
            .saturating_sub(80)
            .max(crate::compute::loudness_code(-70.0))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// splitmix64: a test's deterministic numbers.
    pub(crate) struct Numbers(pub u64);
    impl Numbers {
        pub fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    /// A sound of random codes that decays by `db_per_frame` from its
    /// third frame down to the silence floor, as the 100k benchmark makes.
    pub(crate) fn decaying(n: &mut Numbers, frames: usize, db_per_frame: f64) -> Fingerprint {
        Fingerprint {
            onset: 0,
            codes: (0..frames).map(|_| n.next() as u16).collect(),
            loudness: (0..frames)
                .map(|f| {
                    let attack = if f < 2 { 10.0 * (2 - f) as f64 } else { 0.0 };
                    (180.0 - attack - 2.0 * db_per_frame * f as f64).max(62.0) as u8
                })
                .collect(),
        }
    }

    #[test]
    fn an_alignment_with_too_few_bits_does_not_hide_the_right_one() {
        // A loud start, then a long quiet tail: at offsets that leave the
        // loud frames out of the overlap no bit counts, which looked like
        // no bit differing. The copy (another gain, a few bits flipped, two
        // frames cut at the end) was not found at all.
        let mut n = Numbers(7);
        let original = decaying(&mut n, 2302, 1.3);
        let mut copy = original.clone();
        copy.codes.truncate(2300);
        copy.loudness.truncate(2300);
        for (i, code) in copy.codes.iter_mut().enumerate() {
            if i % 10 == 3 {
                *code ^= 1 << (i % 16);
            }
        }
        for l in &mut copy.loudness {
            *l -= 13;
        }
        let m = compare(&copy, &original, &Thresholds::default()).expect("a copy");
        assert_eq!((m.relation, m.offset), (Relation::SameAudio, 0), "{m:?}");
        assert!((m.gain_db + 6.5).abs() < 0.01, "{m:?}");
    }

    #[test]
    fn votes_count_every_pair_of_equal_codes() {
        // Few distinct codes, so that each has many positions in both.
        let mut n = Numbers(3);
        let mut sound = |frames: usize| Fingerprint {
            onset: 0,
            codes: (0..frames).map(|_| (n.next() % 7) as u16).collect(),
            loudness: vec![150; frames],
        };
        let (short, long) = (sound(450), sound(900));
        let (lowest, highest) = (-94, 900 - 450 + 94);
        let mut votes: std::collections::BTreeMap<i64, u32> = Default::default();
        for (i, &x) in short.codes.iter().enumerate() {
            for (p, &y) in long.codes.iter().enumerate() {
                let d = p as i64 - i as i64;
                if x == y && (lowest..=highest).contains(&d) {
                    *votes.entry(d).or_default() += 1;
                }
            }
        }
        let mut ranked: Vec<(i64, u32)> = votes.into_iter().collect();
        ranked.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        let mut expected: Vec<i64> = ranked[..VOTED_OFFSETS]
            .iter()
            .flat_map(|&(d, _)| [d - 1, d, d + 1])
            .collect();
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(voted_offsets(&short, &long, lowest, highest), expected);
        // The table is left clear for the next comparison.
        LAST_WITH_CODE.with_borrow(|last| assert!(last.iter().all(|&x| x == 0)));
    }
}
