//! Waveform overviews: the lowest and highest sample of each stretch of a
//! sound, small enough to keep in the catalog for every file and draw in a
//! terminal.
//!
//! Samples come in as mono 48 kHz `f32` (what [`decode_file`](crate::decode_file)
//! returns) and peaks go out quantised to one signed byte each: a terminal
//! waveform is at most a few dozen character rows (four braille dots each)
//! high, far coarser than 255 levels. Values round outwards, so the
//! quantised envelope always contains the true one and any bucket with sound
//! in it shows at least one level; silence is exactly 0.

/// Bucket count for the catalog: 512 (min, max) pairs, 1 KiB a file.
///
/// A wide terminal is about 250 columns and braille characters hold two
/// dots across, so 512 buckets fill a full-width waveform with no
/// interpolation; narrower panes merge neighbouring buckets.
pub const DEFAULT_BUCKETS: usize = 512;

/// The lowest and highest sample of one bucket, scaled so that ±1.0 full
/// scale is ±127 (−128 is not used), rounded outwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Peak {
    /// The lowest sample: `floor(min · 127)`, clamped to −127..=127.
    pub min: i8,
    /// The highest sample: `ceil(max · 127)`, clamped to −127..=127.
    pub max: i8,
}

impl Peak {
    /// The peak as stored: `[min, max]` as two's-complement bytes.
    pub fn to_bytes(self) -> [u8; 2] {
        [self.min as u8, self.max as u8]
    }

    /// The peak stored by [`Peak::to_bytes`].
    pub fn from_bytes(bytes: [u8; 2]) -> Self {
        Peak {
            min: bytes[0] as i8,
            max: bytes[1] as i8,
        }
    }
}

/// The waveform overview of `samples`: exactly `buckets` peaks, each over
/// an equal share of the samples.
///
/// The same as feeding all of `samples` to a [`PeakBuilder`], whose notes on
/// bucket boundaries apply. With fewer samples than buckets, samples repeat
/// over neighbouring buckets (a short click still spans the overview); with
/// no samples, or only non-finite ones, every peak is 0. Non-finite samples
/// count as 0.0.
pub fn peaks(samples: &[f32], buckets: usize) -> Vec<Peak> {
    let mut builder = PeakBuilder::new(buckets);
    builder.push(samples);
    builder.finish()
}

/// [`peaks`] in chunks, for sounds too long to hold whole.
///
/// The total length need not be known in advance. The builder keeps the
/// (min, max) of fixed-size blocks of samples, at most `16 × buckets` of
/// them; when they fill up, neighbouring blocks merge and the block size
/// doubles. [`finish`](PeakBuilder::finish) then spreads the blocks over the
/// buckets. So bucket boundaries are sample-exact up to `16 × buckets`
/// samples (8192 for the default 512 buckets) and beyond that fall on block
/// boundaries, within 1/8 of a bucket of the exact place: invisible in a
/// drawing. Memory stays at 16 bytes a bucket however long the sound.
///
/// The result depends only on the samples, never on how they were split
/// into chunks, and [`peaks`] is this builder fed in one chunk.
#[derive(Debug, Clone)]
pub struct PeakBuilder {
    buckets: usize,
    /// Samples per full block, a power of two.
    block_len: u64,
    /// (min, max) of each full block.
    blocks: Vec<(f32, f32)>,
    /// (min, max) of the block being filled, and how many samples it has.
    partial: (f32, f32),
    partial_len: u64,
    total: u64,
}

impl PeakBuilder {
    /// A builder for an overview of `buckets` peaks.
    ///
    /// # Panics
    ///
    /// If `buckets` is 0.
    pub fn new(buckets: usize) -> Self {
        assert!(buckets > 0, "a waveform overview needs at least one bucket");
        PeakBuilder {
            buckets,
            block_len: 1,
            blocks: Vec::with_capacity(Self::max_blocks(buckets)),
            partial: EMPTY,
            partial_len: 0,
            total: 0,
        }
    }

    /// Blocks kept before merging, even so that blocks merge in pairs.
    fn max_blocks(buckets: usize) -> usize {
        buckets.saturating_mul(16)
    }

    /// Adds the next samples. Non-finite samples count as 0.0.
    pub fn push(&mut self, mut samples: &[f32]) {
        while !samples.is_empty() {
            let room = (self.block_len - self.partial_len).min(samples.len() as u64) as usize;
            let (head, tail) = samples.split_at(room);
            self.partial = head.iter().fold(self.partial, |(lo, hi), &s| {
                let s = crate::mono::finite_or_zero(s);
                (lo.min(s), hi.max(s))
            });
            self.partial_len += room as u64;
            self.total += room as u64;
            samples = tail;
            if self.partial_len == self.block_len {
                self.blocks.push(self.partial);
                self.partial = EMPTY;
                self.partial_len = 0;
                if self.blocks.len() == Self::max_blocks(self.buckets) {
                    self.merge_blocks();
                }
            }
        }
    }

    /// Halves the number of blocks by merging neighbours; called only with
    /// an even number of full blocks and an empty partial block.
    fn merge_blocks(&mut self) {
        let merged: Vec<(f32, f32)> = self
            .blocks
            .chunks_exact(2)
            .map(|pair| (pair[0].0.min(pair[1].0), pair[0].1.max(pair[1].1)))
            .collect();
        self.blocks.clear();
        self.blocks.extend(merged);
        self.block_len *= 2;
    }

    /// Samples pushed so far.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether no sample has been pushed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The overview: exactly as many peaks as buckets.
    pub fn finish(mut self) -> Vec<Peak> {
        if self.total == 0 {
            return vec![Peak::default(); self.buckets];
        }
        if self.partial_len > 0 {
            self.blocks.push(self.partial);
        }
        let (n, b) = (u128::from(self.total), self.buckets as u128);
        let block_len = u128::from(self.block_len);
        let last_block = self.blocks.len() - 1;
        (0..b)
            .map(|i| {
                // Bucket i covers samples [i·n/b, (i+1)·n/b); with fewer
                // samples than buckets that range can be empty, and the
                // bucket takes the sample at its start.
                let start = i * n / b;
                let end = ((i + 1) * n / b).max(start + 1);
                let first = (start / block_len) as usize;
                let last = ((end - 1) / block_len) as usize;
                let (lo, hi) = self.blocks[first..=last.min(last_block)]
                    .iter()
                    .fold(EMPTY, |(lo, hi), &(l, h)| (lo.min(l), hi.max(h)));
                Peak {
                    min: quantise(lo, f32::floor),
                    max: quantise(hi, f32::ceil),
                }
            })
            .collect()
    }
}

/// The (min, max) fold's start.
const EMPTY: (f32, f32) = (f32::INFINITY, f32::NEG_INFINITY);

/// `x · 127` rounded by `round` and clamped to ±127.
fn quantise(x: f32, round: fn(f32) -> f32) -> i8 {
    round(x * 127.0).clamp(-127.0, 127.0) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(amplitude: f32, freq: f32, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| amplitude * (2.0 * std::f32::consts::PI * freq * i as f32 / 48_000.0).sin())
            .collect()
    }

    #[test]
    fn a_sine_peaks_at_its_amplitude_in_every_bucket() {
        // 2 s of 440 Hz: every bucket holds several periods.
        for amplitude in [1.0, 0.5, 0.1] {
            let p = peaks(&sine(amplitude, 440.0, 96_000), DEFAULT_BUCKETS);
            assert_eq!(p.len(), DEFAULT_BUCKETS);
            let level = (amplitude * 127.0).ceil() as i8;
            for peak in &p {
                assert!((peak.max - level).abs() <= 1, "{amplitude}: {peak:?}");
                assert!((peak.min + level).abs() <= 1, "{amplitude}: {peak:?}");
            }
        }
        let p = peaks(&sine(0.5, 440.0, 96_000), 64);
        assert!(p.iter().all(|p| *p == Peak { min: -64, max: 64 }), "{p:?}");
    }

    #[test]
    fn silence_is_zero() {
        assert!(peaks(&vec![0.0; 100_000], 512)
            .iter()
            .all(|p| *p == Peak::default()));
        assert_eq!(peaks(&[], 8), vec![Peak::default(); 8]);
        assert_eq!(
            peaks(&[f32::NAN, f32::INFINITY], 4),
            vec![Peak::default(); 4]
        );
    }

    #[test]
    fn the_bucket_count_is_exact() {
        for len in [0, 1, 2, 7, 511, 512, 513, 1000, 8191, 8192, 8193, 100_003] {
            for buckets in [1, 2, 3, 100, 512, 1024] {
                let samples = sine(0.8, 1000.0, len);
                assert_eq!(peaks(&samples, buckets).len(), buckets, "{len} {buckets}");
            }
        }
    }

    #[test]
    fn rounds_outwards_and_clamps() {
        let p = peaks(&[0.001, 0.002], 1);
        assert_eq!(p, [Peak { min: 0, max: 1 }]);
        let p = peaks(&[-0.001], 1);
        assert_eq!(p, [Peak { min: -1, max: 0 }]);
        let p = peaks(&[-3.0, 2.0], 1);
        assert_eq!(
            p,
            [Peak {
                min: -127,
                max: 127
            }]
        );
        for peak in [Peak { min: -127, max: 5 }, Peak { min: 0, max: 127 }] {
            assert_eq!(Peak::from_bytes(peak.to_bytes()), peak);
        }
    }

    #[test]
    fn buckets_are_exact_while_the_blocks_fit() {
        // One impulse per bucket, at the bucket's first sample: found in
        // exactly that bucket.
        let buckets = 100;
        let len = 1000;
        let mut samples = vec![0.0; len];
        for i in 0..buckets {
            samples[i * len / buckets] = (i + 1) as f32 / 127.0;
        }
        let p = peaks(&samples, buckets);
        for (i, peak) in p.iter().enumerate() {
            assert_eq!(peak.max, (i + 1) as i8, "bucket {i}");
        }
        // Fewer samples than buckets: each sample spreads over its buckets.
        let p = peaks(&[0.5, -0.5], 4);
        assert_eq!(
            p.iter().map(|p| (p.min, p.max)).collect::<Vec<_>>(),
            [(63, 64), (63, 64), (-64, -63), (-64, -63)]
        );
    }

    #[test]
    fn long_sounds_keep_their_shape() {
        // 10 s: loud first half, quiet second half, far past the exact range.
        let mut samples = sine(0.9, 300.0, 240_000);
        samples.extend(sine(0.1, 300.0, 240_000));
        let p = peaks(&samples, 50);
        assert!(p[..24].iter().all(|p| p.max >= 114), "{p:?}");
        assert!(p[26..].iter().all(|p| p.max <= 14), "{p:?}");
    }

    #[test]
    fn streaming_equals_one_shot_for_any_chunking() {
        let samples: Vec<f32> = (0..200_001)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * (i as f32 / 200_001.0))
            .collect();
        for buckets in [1, 7, 512] {
            let one_shot = peaks(&samples, buckets);
            for chunk in [1, 3, 1000, 4096, 65_537] {
                let mut builder = PeakBuilder::new(buckets);
                for part in samples.chunks(chunk) {
                    builder.push(part);
                }
                assert_eq!(builder.len(), samples.len() as u64);
                assert_eq!(
                    builder.finish(),
                    one_shot,
                    "{buckets} buckets, chunks of {chunk}"
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "at least one bucket")]
    fn zero_buckets_panics() {
        PeakBuilder::new(0);
    }
}
