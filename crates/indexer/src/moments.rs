//! Moments of long files: a file longer than [`LONG_FILE_S`] is also cut
//! into windows of the model's own length (10 s at 48 kHz), each embedded on
//! its own, so a search can find a moment inside a long ambience or a
//! recording session and play from there.
//!
//! Windows start every 10 s from the top. A remainder of at least
//! [`MIN_TAIL_S`] becomes a last window that ends where the file ends (it
//! overlaps the one before), so every window carries a full 10 s of sound;
//! a shorter remainder is left to the window before it.
//!
//! The stream is cut as it is decoded: the first windows are held until the
//! file proves longer than [`LONG_FILE_S`], and after that each window's
//! model input is handed on as soon as it is complete, so a two-hour file
//! never holds more than a few windows.

use hark_model::mel::MelFrontEnd;
use hark_model::SAMPLE_RATE;

/// Files longer than this many seconds get moments.
pub(crate) const LONG_FILE_S: f64 = 30.0;

/// A remainder shorter than this after the last full window gets no
/// window of its own.
pub(crate) const MIN_TAIL_S: f64 = 1.0;

/// The rule above, for a repair to tell a file whose moments all survived
/// (see [`hark_store::salvage::MomentRule`]).
pub(crate) const RULE: hark_store::salvage::MomentRule = hark_store::salvage::MomentRule {
    long_file_s: LONG_FILE_S,
    min_tail_s: MIN_TAIL_S,
};

/// One window of a long file, ready for the audio tower.
pub(crate) struct Moment {
    /// Where the window starts, in seconds.
    pub start_s: f64,
    /// Where it ends, in seconds.
    pub end_s: f64,
    /// The model input ([`MelFrontEnd::features`] of the window).
    pub features: Vec<f32>,
}

/// Cuts a 48 kHz mono stream into [`Moment`]s.
pub(crate) struct MomentCutter<'a> {
    front_end: &'a MelFrontEnd,
    /// Samples per window.
    window: usize,
    /// Samples a file must exceed to get moments.
    long: usize,
    /// The window being filled.
    current: Vec<f32>,
    /// The last complete window (for the end-aligned tail).
    previous: Vec<f32>,
    /// Complete windows held until the file proves long: (start sample, samples).
    held: Vec<(usize, Vec<f32>)>,
    /// Samples seen.
    total: usize,
    /// Whether the file has proved long.
    is_long: bool,
}

impl<'a> MomentCutter<'a> {
    pub(crate) fn new(front_end: &'a MelFrontEnd) -> MomentCutter<'a> {
        let window = front_end.max_samples();
        MomentCutter {
            front_end,
            window,
            long: (LONG_FILE_S * f64::from(SAMPLE_RATE)) as usize,
            current: Vec::with_capacity(window),
            previous: Vec::new(),
            held: Vec::new(),
            total: 0,
            is_long: false,
        }
    }

    /// Feeds decoded samples; `emit` gets each moment as it is ready.
    pub(crate) fn push(
        &mut self,
        mut samples: &[f32],
        emit: &mut dyn FnMut(Moment),
    ) -> hark_model::Result<()> {
        while !samples.is_empty() {
            let take = (self.window - self.current.len()).min(samples.len());
            self.current.extend_from_slice(&samples[..take]);
            self.total += take;
            samples = &samples[take..];
            if self.current.len() == self.window {
                let start = self.total - self.window;
                let full = std::mem::replace(&mut self.current, Vec::with_capacity(self.window));
                self.previous.clone_from(&full);
                self.held.push((start, full));
                if self.total > self.long {
                    self.is_long = true;
                }
                if self.is_long {
                    self.flush(emit)?;
                }
            }
        }
        Ok(())
    }

    /// Ends the stream: emits what is held if the file is long, and the
    /// end-aligned last window.
    pub(crate) fn finish(mut self, emit: &mut dyn FnMut(Moment)) -> hark_model::Result<()> {
        if self.total <= self.long {
            return Ok(());
        }
        self.flush(emit)?;
        let rest = self.current.len();
        if rest as f64 >= MIN_TAIL_S * f64::from(SAMPLE_RATE) {
            let mut tail = Vec::with_capacity(self.window);
            tail.extend_from_slice(&self.previous[rest..]);
            tail.extend_from_slice(&self.current);
            self.held.push((self.total - self.window, tail));
            self.flush(emit)?;
        }
        Ok(())
    }

    fn flush(&mut self, emit: &mut dyn FnMut(Moment)) -> hark_model::Result<()> {
        let rate = f64::from(SAMPLE_RATE);
        for (start, samples) in self.held.drain(..) {
            let features = self.front_end.features(&samples)?;
            emit(Moment {
                start_s: start as f64 / rate,
                end_s: (start + samples.len()) as f64 / rate,
                features,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hark_model::PreprocessorConfig;

    fn front_end() -> MelFrontEnd {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/clap-tiny/preprocessor_config.json");
        let config = PreprocessorConfig::load(&path)
            .unwrap_or_else(|e| panic!("the test model's preprocessor config: {e}"));
        MelFrontEnd::new(&config)
    }

    /// A signal whose every sample tells where it is.
    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|i| (i % 9973) as f32 / 9973.0 - 0.5).collect()
    }

    fn cut(samples: &[f32], piece: usize) -> Vec<Moment> {
        let fe = front_end();
        let mut cutter = MomentCutter::new(&fe);
        let mut out = Vec::new();
        for chunk in samples.chunks(piece) {
            cutter.push(chunk, &mut |m| out.push(m)).unwrap();
        }
        cutter.finish(&mut |m| out.push(m)).unwrap();
        out
    }

    fn spans(moments: &[Moment]) -> Vec<(f64, f64)> {
        moments.iter().map(|m| (m.start_s, m.end_s)).collect()
    }

    #[test]
    fn files_up_to_thirty_seconds_have_no_moments() {
        assert!(cut(&ramp(48_000 * 12), 4096).is_empty());
        assert!(cut(&ramp(48_000 * 30), 100_000).is_empty());
    }

    #[test]
    fn windows_every_ten_seconds_and_an_end_aligned_tail() {
        let samples = ramp(48_000 * 35 + 24_000);
        let moments = cut(&samples, 7_777);
        assert_eq!(
            spans(&moments),
            vec![(0.0, 10.0), (10.0, 20.0), (20.0, 30.0), (25.5, 35.5)]
        );
        // Each window's input is the features of exactly its samples.
        let fe = front_end();
        for m in &moments {
            let a = (m.start_s * 48_000.0) as usize;
            let b = (m.end_s * 48_000.0) as usize;
            assert_eq!(
                m.features,
                fe.features(&samples[a..b]).unwrap(),
                "{}",
                m.start_s
            );
        }
    }

    #[test]
    fn a_short_remainder_gets_no_window_and_pieces_do_not_matter() {
        let samples = ramp(48_000 * 40 + 20_000);
        let whole = cut(&samples, samples.len());
        let pieces = cut(&samples, 1_000);
        assert_eq!(
            spans(&whole),
            vec![(0.0, 10.0), (10.0, 20.0), (20.0, 30.0), (30.0, 40.0)]
        );
        assert_eq!(spans(&whole), spans(&pieces));
        for (a, b) in whole.iter().zip(&pieces) {
            assert_eq!(a.features, b.features);
        }
    }
}
