//! Computing a [`Fingerprint`] from a stream of mono 48 kHz samples.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use crate::Fingerprint;

/// The sample rate of the samples [`Fingerprinter::push`] takes (hark's
/// decoded stream).
pub const RATE: u32 = 48_000;
/// Samples per frame (43 ms): long enough for bass, short enough for a
/// 0.1 s one-shot to have ten frames.
pub const FRAME: usize = 2048;
/// Samples between frames (10.7 ms): a trim that is not a multiple of it
/// shifts the frames by at most half of it, an eighth of a frame.
pub const HOP: usize = 512;
/// Bands whose level differences make the code: 17 bands, 16 bits.
const BANDS: usize = 17;
/// The bands cover 50 Hz to 7 kHz, log-spaced: what every source rate
/// down to 16 kHz holds, what lossy codecs keep, and the body of a kick.
const LOW_HZ: f32 = 50.0;
const HIGH_HZ: f32 = 7_000.0;
/// A sound starts to be looked for at the first sample above -70 dBFS...
const WAKE: f32 = 0.000_316;
/// ...and its onset is the first sample within 30 dB of the loudest sample
/// of the next 0.25 s: relative to the sound, so a copy at another gain
/// has its onset at the same sample.
const ONSET_DB: f32 = -30.0;
const ONSET_WINDOW: usize = RATE as usize / 4;
/// Frames quieter than -70 dB at the end are not part of the sound.
const TAIL_DB: f32 = -70.0;

/// Builds a [`Fingerprint`] from the samples pushed in order.
pub struct Fingerprinter {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Bin ranges of the bands.
    edges: [usize; BANDS + 1],
    input: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    pending: Vec<f32>,
    seen: u64,
    /// Where the sound woke (the first sample above [`WAKE`]), while the
    /// onset is being looked for; `pending` then holds from there on.
    woke: Option<u64>,
    onset: Option<u64>,
    previous: [f32; BANDS - 1],
    codes: Vec<u16>,
    loudness: Vec<u8>,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Self::new()
    }
}

impl Fingerprinter {
    /// A fingerprinter at the start of a sound.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FRAME);
        let window = (0..FRAME)
            .map(|i| {
                let x = std::f32::consts::TAU * i as f32 / FRAME as f32;
                0.5 - 0.5 * x.cos()
            })
            .collect();
        let mut edges = [0; BANDS + 1];
        for (k, edge) in edges.iter_mut().enumerate() {
            let hz = LOW_HZ * (HIGH_HZ / LOW_HZ).powf(k as f32 / BANDS as f32);
            *edge = (hz * FRAME as f32 / RATE as f32).round() as usize;
        }
        Fingerprinter {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            fft,
            window,
            edges,
            pending: Vec::with_capacity(2 * FRAME),
            seen: 0,
            woke: None,
            onset: None,
            previous: [0.0; BANDS - 1],
            codes: Vec::new(),
            loudness: Vec::new(),
        }
    }

    /// Takes the next samples.
    pub fn push(&mut self, samples: &[f32]) {
        let from = match (self.onset, self.woke) {
            (Some(_), _) | (None, Some(_)) => 0,
            (None, None) => match samples.iter().position(|x| x.abs() > WAKE) {
                Some(i) => {
                    self.woke = Some(self.seen + i as u64);
                    i
                }
                None => samples.len(),
            },
        };
        self.seen += samples.len() as u64;
        self.pending.extend_from_slice(&samples[from..]);
        if self.onset.is_none() {
            if self.pending.len() < ONSET_WINDOW {
                return;
            }
            self.find_onset();
        }
        self.frames();
    }

    /// Moves from waking to the onset: drops what comes before it.
    fn find_onset(&mut self) {
        let Some(woke) = self.woke else { return };
        let window = &self.pending[..self.pending.len().min(ONSET_WINDOW)];
        let peak = window.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let threshold = peak * 10f32.powf(ONSET_DB / 20.0);
        let at = window
            .iter()
            .position(|x| x.abs() >= threshold)
            .unwrap_or(0);
        self.onset = Some(woke + at as u64);
        self.pending.drain(..at);
    }

    /// Codes every whole frame pending.
    fn frames(&mut self) {
        let mut start = 0;
        while self.pending.len() - start >= FRAME {
            self.frame(start);
            start += HOP;
        }
        self.pending.drain(..start);
    }

    /// The fingerprint of everything pushed: the last frames padded with
    /// silence, and the quiet tail dropped.
    pub fn finish(mut self) -> Fingerprint {
        if self.onset.is_none() {
            self.find_onset();
            self.frames();
        }
        let Some(onset) = self.onset else {
            return Fingerprint::default();
        };
        // Frames start every HOP while they start before the end.
        let mut left = self.pending.len();
        self.pending.resize(left.div_ceil(HOP) * HOP + FRAME, 0.0);
        let mut start = 0;
        while left > 0 {
            self.frame(start);
            start += HOP;
            left = left.saturating_sub(HOP);
        }
        let floor = loudness_code(TAIL_DB);
        let sounding = self
            .loudness
            .iter()
            .rposition(|&l| l > floor)
            .map_or(0, |i| i + 1);
        self.codes.truncate(sounding);
        self.loudness.truncate(sounding);
        Fingerprint {
            onset,
            codes: self.codes,
            loudness: self.loudness,
        }
    }

    /// Codes the frame starting at `pending[start]`.
    fn frame(&mut self, start: usize) {
        let frame = &self.pending[start..start + FRAME];
        let power = frame.iter().map(|x| x * x).sum::<f32>() / FRAME as f32;
        for ((dst, x), w) in self.input.iter_mut().zip(frame).zip(&self.window) {
            *dst = x * w;
        }
        self.fft
            .process(&mut self.input, &mut self.spectrum)
            .expect("buffers made by the plan");
        let mut energies = [0.0f32; BANDS];
        for (b, energy) in energies.iter_mut().enumerate() {
            *energy = self.spectrum[self.edges[b]..self.edges[b + 1]]
                .iter()
                .map(|c| c.norm_sqr())
                .sum();
        }
        // Bands more than 40 dB under the frame's level (the noise, dither
        // and codec artefacts that differ between copies) are all set to
        // that floor, so their differences are exactly 0 and code as 0;
        // relative to the frame, so that gain still cancels out.
        let total: f32 = self.spectrum.iter().map(|c| c.norm_sqr()).sum();
        let floor = total * 1e-4 + 1e-20;
        let levels = energies.map(|e| e.max(floor).ln());
        let mut code = 0u16;
        for b in 0..BANDS - 1 {
            let difference = levels[b] - levels[b + 1];
            if difference - self.previous[b] > 0.0 {
                code |= 1 << b;
            }
            self.previous[b] = difference;
        }
        self.codes.push(code);
        self.loudness
            .push(loudness_code(10.0 * (power + 1e-12).log10()));
    }
}

/// A level in dB as stored: half decibels above -100 dB.
pub(crate) fn loudness_code(db: f32) -> u8 {
    ((db + 100.0) * 2.0).round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(samples: &[f32], chunk: usize) -> Fingerprint {
        let mut f = Fingerprinter::new();
        for c in samples.chunks(chunk) {
            f.push(c);
        }
        f.finish()
    }

    fn tone(seconds: f32) -> Vec<f32> {
        (0..(seconds * RATE as f32) as usize)
            .map(|i| 0.5 * (std::f32::consts::TAU * 440.0 * i as f32 / RATE as f32).sin())
            .collect()
    }

    #[test]
    fn chunking_does_not_change_the_fingerprint() {
        let mut samples = vec![0.0; 3000];
        samples.extend(tone(0.3));
        let whole = fingerprint(&samples, samples.len());
        assert_eq!(fingerprint(&samples, 7), whole);
        assert_eq!(fingerprint(&samples, 4096), whole);
        assert_eq!(
            whole.onset, 3001,
            "the first sample within 30 dB of the peak"
        );
    }

    #[test]
    fn a_tenth_of_a_second_has_ten_frames_and_silence_has_none() {
        let fp = fingerprint(&tone(0.1), 512);
        assert_eq!(fp.len(), 4800usize.div_ceil(HOP));
        assert!(fingerprint(&vec![0.0; 48_000], 1000).is_empty());
        assert!(fingerprint(&vec![0.0002; 48_000], 1000).is_empty());
    }

    #[test]
    fn the_quiet_tail_is_dropped() {
        let mut samples = tone(0.2);
        samples.extend(vec![0.0; 48_000]);
        let fp = fingerprint(&samples, 1000);
        assert!(fp.seconds() < 0.25, "{} s", fp.seconds());
    }
}
