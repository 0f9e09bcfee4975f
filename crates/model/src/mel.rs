//! The front end: 48 kHz mono samples to CLAP's (4, 1001, 64) log-mel input.
//!
//! It computes what transformers' `ClapFeatureExtractor` computes with
//! `truncation="fusion"` and `padding="repeatpad"`, under hark's deterministic
//! rules (see design.md):
//!
//! - a clip of at most `max_samples` (480000) is tiled `max_samples / len`
//!   times, zero-padded to `max_samples`, and its mel is stacked four times;
//! - a longer clip's mel (T frames) is stacked four times when T equals the
//!   chunk (1001 frames); otherwise channel 0 is the whole mel resized to
//!   1001 frames (bilinear, `align_corners=false`) and channels 1-3 are
//!   1001-frame crops starting at the middle element of each third of the
//!   valid start range (`np.array_split(range(T - 1001 + 1), 3)`), where the
//!   reference picks at random.
//!
//! STFT: periodic Hann window, centred with reflect padding, power spectrum,
//! HTK mel filters without area normalisation, `10·log10(max(mel, 1e-10))`.
//! The FFT and the filter sums run in f64, as numpy does: in f32 the quiet
//! bins of a loud frame lose their digits to the frame's rounding noise.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::{RealFftPlanner, RealToComplex};

use crate::config::PreprocessorConfig;
use crate::error::{Error, Result};

/// One triangular mel filter: its first FFT bin and its weights from there.
#[derive(Debug, Clone)]
struct Filter {
    start: usize,
    weights: Vec<f64>,
}

/// The prepared front end: window, filters and FFT plan.
pub struct MelFrontEnd {
    n_fft: usize,
    hop: usize,
    n_mels: usize,
    max_samples: usize,
    chunk_frames: usize,
    window: Vec<f64>,
    filters: Vec<Filter>,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl std::fmt::Debug for MelFrontEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelFrontEnd")
            .field("n_fft", &self.n_fft)
            .field("hop", &self.hop)
            .field("n_mels", &self.n_mels)
            .field("max_samples", &self.max_samples)
            .finish()
    }
}

fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// `np.linspace(a, b, n)`: the same formula, so the same rounding.
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    let step = (b - a) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| a + i as f64 * step).collect();
    v[n - 1] = b;
    v
}

/// Index of sample `i` (which may fall outside `0..n`) under numpy's
/// `reflect` padding, which mirrors about the edge samples without repeating them.
fn reflect(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let mut j = i.rem_euclid(period);
    if j >= n as isize {
        j = period - j;
    }
    j as usize
}

impl MelFrontEnd {
    /// Prepares the front end for `config`.
    pub fn new(config: &PreprocessorConfig) -> Self {
        let n_fft = config.fft_window_size;
        let n_bins = n_fft / 2 + 1;
        let n_mels = config.feature_size;
        // np.hanning(n + 1)[:-1]: the periodic Hann window.
        let window = (0..n_fft)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n_fft as f64).cos())
            .collect();
        let mel_pts = linspace(
            hz_to_mel(config.frequency_min),
            hz_to_mel(config.frequency_max),
            n_mels + 2,
        );
        let hz_pts: Vec<f64> = mel_pts.iter().map(|&m| mel_to_hz(m)).collect();
        let fft_freqs = linspace(0.0, (config.sampling_rate / 2) as f64, n_bins);
        let filters = (0..n_mels)
            .map(|m| {
                let (lo, mid, hi) = (hz_pts[m], hz_pts[m + 1], hz_pts[m + 2]);
                let dense: Vec<f64> = fft_freqs
                    .iter()
                    .map(|&f| {
                        let down = -(lo - f) / (mid - lo);
                        let up = (hi - f) / (hi - mid);
                        down.min(up).max(0.0)
                    })
                    .collect();
                let start = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
                let end = dense
                    .iter()
                    .rposition(|&w| w > 0.0)
                    .map_or(start, |e| e + 1);
                Filter {
                    start,
                    weights: dense[start..end].to_vec(),
                }
            })
            .collect();
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n_fft);
        Self {
            n_fft,
            hop: config.hop_length,
            n_mels,
            max_samples: config.max_samples(),
            chunk_frames: config.chunk_frames(),
            window,
            filters,
            fft,
        }
    }

    /// Mel bins per frame (64).
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Frames per clip (1001).
    pub fn chunk_frames(&self) -> usize {
        self.chunk_frames
    }

    /// Samples per clip (480000).
    pub fn max_samples(&self) -> usize {
        self.max_samples
    }

    /// Frames the centred STFT gives for `len` samples.
    pub fn frames_for(&self, len: usize) -> usize {
        1 + len / self.hop
    }

    /// The log-mel spectrogram of `wave`, frame-major: `frames_for(len) × n_mels` values in dB.
    pub fn log_mel(&self, wave: &[f32]) -> Result<Vec<f32>> {
        if wave.is_empty() {
            return Err(Error::Input(
                "cannot compute a spectrogram of an empty clip".into(),
            ));
        }
        let frames = self.frames_for(wave.len());
        let n_mels = self.n_mels;
        let mut out = vec![0f32; frames * n_mels];
        let pad = (self.n_fft / 2) as isize;
        let n = wave.len();
        // Frames are independent: split them in runs across threads, one FFT buffer per run.
        const RUN: usize = 32;
        out.par_chunks_mut(RUN * n_mels)
            .enumerate()
            .for_each(|(run, chunk)| {
                let mut work = self.frame_work();
                for (k, row) in chunk.chunks_exact_mut(n_mels).enumerate() {
                    let frame = run * RUN + k;
                    let begin = (frame * self.hop) as isize - pad;
                    if begin >= 0 && begin as usize + self.n_fft <= n {
                        let s = &wave[begin as usize..begin as usize + self.n_fft];
                        for ((d, &x), &w) in work.input.iter_mut().zip(s).zip(&self.window) {
                            *d = x as f64 * w;
                        }
                    } else {
                        for (i, (d, &w)) in work.input.iter_mut().zip(&self.window).enumerate() {
                            *d = wave[reflect(begin + i as isize, n)] as f64 * w;
                        }
                    }
                    self.mel_row(&mut work, row);
                }
            });
        Ok(out)
    }

    fn frame_work(&self) -> FrameWork {
        FrameWork {
            input: self.fft.make_input_vec(),
            spectrum: self.fft.make_output_vec(),
            scratch: self.fft.make_scratch_vec(),
            power: vec![0f64; self.n_fft / 2 + 1],
        }
    }

    /// The mel row of the windowed frame in `work.input` (which it clobbers).
    fn mel_row(&self, work: &mut FrameWork, row: &mut [f32]) {
        // Lengths come from the plan itself, so this cannot fail.
        let _ =
            self.fft
                .process_with_scratch(&mut work.input, &mut work.spectrum, &mut work.scratch);
        for (p, c) in work.power.iter_mut().zip(&work.spectrum) {
            *p = c.re * c.re + c.im * c.im;
        }
        for (v, f) in row.iter_mut().zip(&self.filters) {
            let e: f64 = f
                .weights
                .iter()
                .zip(&work.power[f.start..])
                .map(|(w, p)| w * p)
                .sum();
            *v = (10.0 * e.max(1e-10).log10()) as f32;
        }
    }

    /// A [`FeatureStream`]: [`features`](Self::features) fed in pieces.
    pub fn stream(&self) -> FeatureStream<'_> {
        FeatureStream {
            fe: self,
            buf: Vec::new(),
            buf_start: 0,
            total: 0,
            long: false,
            mel: Vec::new(),
            frames_done: 0,
            work: self.frame_work(),
        }
    }

    /// The model input for one clip: `4 × chunk_frames × n_mels` values, channel-major.
    pub fn features(&self, wave: &[f32]) -> Result<Vec<f32>> {
        if wave.is_empty() {
            return Err(Error::Input("cannot embed an empty clip".into()));
        }
        let chunk = self.chunk_frames * self.n_mels;
        if wave.len() <= self.max_samples {
            let mut padded = Vec::with_capacity(self.max_samples);
            for _ in 0..self.max_samples / wave.len() {
                padded.extend_from_slice(wave);
            }
            padded.resize(self.max_samples, 0.0);
            let mel = self.log_mel(&padded)?;
            debug_assert_eq!(mel.len(), chunk);
            return Ok(mel.repeat(4));
        }
        let mel = self.log_mel(wave)?;
        Ok(self.long_features(&mel))
    }

    /// The model input of a clip longer than `max_samples`, from its mel.
    fn long_features(&self, mel: &[f32]) -> Vec<f32> {
        let chunk = self.chunk_frames * self.n_mels;
        let total = mel.len() / self.n_mels;
        if total == self.chunk_frames {
            return mel.repeat(4);
        }
        let mut out = Vec::with_capacity(4 * chunk);
        out.extend(self.shrink(mel, total));
        for start in crop_starts(total, self.chunk_frames) {
            out.extend_from_slice(
                &mel[start * self.n_mels..(start + self.chunk_frames) * self.n_mels],
            );
        }
        out
    }

    /// Bilinear resize (align_corners=false) of a `total`-frame mel to
    /// `chunk_frames`, in f32 with PyTorch's source-index formula. The mel axis
    /// keeps its size, so only time is interpolated.
    fn shrink(&self, mel: &[f32], total: usize) -> Vec<f32> {
        let scale = total as f32 / self.chunk_frames as f32;
        let mut out = Vec::with_capacity(self.chunk_frames * self.n_mels);
        for t in 0..self.chunk_frames {
            let src = (scale * (t as f32 + 0.5) - 0.5).max(0.0);
            let i0 = src as usize;
            let i1 = if i0 < total - 1 { i0 + 1 } else { i0 };
            let l1 = src - i0 as f32;
            let l0 = 1.0 - l1;
            let (r0, r1) = (
                &mel[i0 * self.n_mels..][..self.n_mels],
                &mel[i1 * self.n_mels..][..self.n_mels],
            );
            out.extend(r0.iter().zip(r1).map(|(a, b)| l0 * a + l1 * b));
        }
        out
    }
}

/// Buffers for one frame's FFT.
struct FrameWork {
    input: Vec<f64>,
    spectrum: Vec<realfft::num_complex::Complex<f64>>,
    scratch: Vec<realfft::num_complex::Complex<f64>>,
    power: Vec<f64>,
}

/// [`MelFrontEnd::features`] computed from samples fed in pieces, so a long
/// file never has to be in memory whole: a clip of up to `max_samples` is
/// buffered (it is at most 10 s); past that, mel frames are computed as
/// soon as their window is complete and the samples behind them dropped,
/// so memory is the mel itself (64 floats per 10 ms: 184 MB for two
/// hours) plus one window. The result equals `features` of the
/// concatenated samples, bit for bit: both compute each frame with the
/// same code on the same values.
pub struct FeatureStream<'a> {
    fe: &'a MelFrontEnd,
    /// Samples `buf_start..buf_start + buf.len()` of the clip.
    buf: Vec<f32>,
    buf_start: usize,
    total: usize,
    /// Past `max_samples`: frames are computed as samples arrive.
    long: bool,
    mel: Vec<f32>,
    frames_done: usize,
    work: FrameWork,
}

impl FeatureStream<'_> {
    /// Feeds the next 48 kHz mono samples.
    pub fn push(&mut self, samples: &[f32]) {
        self.buf.extend_from_slice(samples);
        self.total += samples.len();
        if !self.long && self.total > self.fe.max_samples {
            self.long = true;
        }
        if self.long {
            self.compute_ready_frames();
        }
    }

    /// Samples fed so far.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Computes frame `frame` of a clip of `n` samples from the buffer.
    fn frame(&mut self, frame: usize, n: usize) {
        let fe = self.fe;
        let begin = (frame * fe.hop) as isize - (fe.n_fft / 2) as isize;
        for (i, (d, &w)) in self.work.input.iter_mut().zip(&fe.window).enumerate() {
            let j = if begin >= 0 && begin as usize + fe.n_fft <= n {
                begin as usize + i
            } else {
                reflect(begin + i as isize, n)
            };
            *d = self.buf[j - self.buf_start] as f64 * w;
        }
        let start = self.mel.len();
        self.mel.resize(start + fe.n_mels, 0.0);
        fe.mel_row(&mut self.work, &mut self.mel[start..]);
        self.frames_done += 1;
    }

    /// Computes every frame whose window lies inside the samples seen, then
    /// drops the samples no later frame needs (keeping the clip's first
    /// `n_fft` samples would not be needed either: only frames near the
    /// start reflect about it, and those are computed first).
    fn compute_ready_frames(&mut self) {
        let fe = self.fe;
        let pad = fe.n_fft / 2;
        // Frame f's window ends at f * hop - pad + n_fft (exclusive).
        while self.frames_done * fe.hop + fe.n_fft - pad <= self.total {
            // An early frame reflects about sample 0 with indices < n_fft,
            // all in the buffer; the clip length does not matter there.
            self.frame(self.frames_done, 1 << 40);
        }
        // A window of margin: the last frames reflect about the end, reaching
        // one sample before their own start.
        let needed_from = (self.frames_done * fe.hop).saturating_sub(pad + fe.n_fft);
        let drop = needed_from.saturating_sub(self.buf_start);
        if drop > 1 << 16 {
            self.buf.drain(..drop);
            self.buf_start += drop;
        }
    }

    /// The model input, as [`MelFrontEnd::features`] gives it.
    ///
    /// # Errors
    ///
    /// [`Error::Input`] if no samples were fed.
    pub fn finish(mut self) -> Result<Vec<f32>> {
        if !self.long {
            return self.fe.features(&self.buf);
        }
        let n = self.total;
        let frames = self.fe.frames_for(n);
        while self.frames_done < frames {
            self.frame(self.frames_done, n);
        }
        Ok(self.fe.long_features(&self.mel))
    }
}

/// Starts of the three local crops of a `total`-frame mel: the middle element of
/// each part of `np.array_split(range(total - chunk + 1), 3)` (an empty part gives 0).
pub fn crop_starts(total: usize, chunk: usize) -> [usize; 3] {
    let n = total - chunk + 1;
    let (base, extra) = (n / 3, n % 3);
    let mut begin = 0;
    let mut starts = [0; 3];
    for (k, s) in starts.iter_mut().enumerate() {
        let size = base + usize::from(k < extra);
        *s = if size == 0 { 0 } else { begin + size / 2 };
        begin += size;
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_numpy() {
        // np.pad([0,1,2,3], 3, mode="reflect") == [3,2,1,0,1,2,3,2,1,0]
        let got: Vec<usize> = (-3..7).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    }

    #[test]
    fn crop_starts_follow_array_split() {
        // np.array_split(range(10), 3) -> [0..4], [4..7], [7..10]; middles 2, 5, 8.
        assert_eq!(crop_starts(1010, 1001), [2, 5, 8]);
        // Two valid starts: [0], [1], [] -> 0, 1, 0.
        assert_eq!(crop_starts(1002, 1001), [0, 1, 0]);
    }

    #[test]
    fn feature_stream_equals_features_for_any_chunking() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/clap-tiny/preprocessor_config.json");
        let config = PreprocessorConfig::load(&dir).expect("tests/fixtures/clap-tiny fixture");
        let fe = MelFrontEnd::new(&config);
        let mut seed = 0x9e3779b97f4a7c15_u64;
        let mut noise = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let hop = 480;
        for len in [
            1,
            1000,
            480_000,
            480_001,
            480_200,
            2000 * hop,
            2000 * hop + 1,
            1_296_007,
        ] {
            let wave: Vec<f32> = (0..len).map(|_| noise()).collect();
            let whole = fe.features(&wave).unwrap();
            for chunk in [997, 65_536, 1_000_000] {
                let mut stream = fe.stream();
                for c in wave.chunks(chunk) {
                    stream.push(c);
                }
                assert_eq!(stream.len(), len);
                let got = stream.finish().unwrap();
                assert!(got == whole, "len {len} chunk {chunk}: features differ");
            }
        }
        assert!(fe.stream().finish().is_err());
    }
}
