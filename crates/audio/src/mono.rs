//! Averaging channels to mono, with non-finite samples taken as silence.

/// `sample`, or 0.0 if it is NaN or infinite.
///
/// A float file can hold NaN or Inf (a crashed plug-in, a bad render), and
/// one such sample would spread through the resampler's FFT blocks and the
/// model's mel spectrogram and make the whole embedding NaN; silence in its
/// place changes the embedding by a negligible amount.
pub(crate) fn finite_or_zero(sample: f32) -> f32 {
    if sample.is_finite() {
        sample
    } else {
        0.0
    }
}

/// Appends the average of each frame of `interleaved` to `mono`.
///
/// Non-finite samples count as 0.0 (see [`finite_or_zero`]). The sum runs in
/// `f64` so that large finite float samples cannot overflow to infinity.
pub(crate) fn downmix_into(mono: &mut Vec<f32>, interleaved: &[f32], channels: usize) {
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
}
