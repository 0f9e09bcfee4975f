//! The combination of the evidence into one probability per CatID (see the
//! module docs of `categorize` for the formula and why).

use super::CatIdx;

/// τ: how fast a neighbour's weight falls with its distance. A neighbour
/// at cosine `s` weighs `exp(-(1 - s) / τ)`: 1 for the same sound, 0.37 at
/// 0.85, 0.04 at 0.5... with τ = 0.15.
pub const SIMILARITY_SCALE: f32 = 0.15;

/// λ: the zero-shot match's weight, in neighbours of the same sound.
pub const ZERO_SHOT_WEIGHT: f32 = 1.0;

/// The share of the confidence the copies decide when there are any.
pub const COPY_SHARE: f32 = 0.98;

/// The zero-shot logit scale: cosines times 100 before the softmax, the
/// scale CLIP-style models are trained at (CLIP clamps its learned scale
/// to 100).
pub const ZERO_SHOT_SCALE: f32 = 100.0;

/// The combined evidence: one probability per CatID of the UCS list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Vote {
    /// `P(c)` for every CatID, indexed by [`CatIdx`]; sums to 1.
    pub(crate) p: Vec<f32>,
    /// The share of `p` that came from the user's files.
    pub(crate) library_weight: f32,
}

impl Vote {
    /// The `n` likeliest CatIDs, most likely first (ties by list order).
    pub(crate) fn top(&self, n: usize) -> Vec<(CatIdx, f32)> {
        let mut ranked: Vec<(CatIdx, f32)> = self
            .p
            .iter()
            .enumerate()
            .map(|(i, &p)| (CatIdx(i as u16), p))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(n);
        ranked
    }
}

/// A neighbour's weight for its cosine similarity `s`.
fn weight(s: f32) -> f32 {
    let s = if s.is_finite() {
        s.clamp(-1.0, 1.0)
    } else {
        -1.0
    };
    (-(1.0 - s) / SIMILARITY_SCALE).exp()
}

/// The zero-shot probabilities from the cosines of the file's vector with
/// each CatID's text vector: a softmax at [`ZERO_SHOT_SCALE`].
pub(crate) fn zero_shot_probabilities(cosines: &[f32]) -> Vec<f32> {
    let max = cosines.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut p: Vec<f32> = cosines
        .iter()
        .map(|&c| ((c - max) * ZERO_SHOT_SCALE).exp())
        .collect();
    let sum: f32 = p.iter().sum();
    if sum.is_finite() && sum > 0.0 {
        p.iter_mut().for_each(|x| *x /= sum);
    } else {
        let n = p.len().max(1) as f32;
        p.iter_mut().for_each(|x| *x = 1.0 / n);
    }
    p
}

/// Combines the zero-shot probabilities `zero_shot` (one per CatID, summing
/// to 1) with the labelled `neighbours` (CatID, cosine similarity) and the
/// CatIDs of the labelled `copies` of the file.
pub(crate) fn combine(zero_shot: &[f32], neighbours: &[(CatIdx, f32)], copies: &[CatIdx]) -> Vote {
    let mut p: Vec<f32> = zero_shot.iter().map(|z| z * ZERO_SHOT_WEIGHT).collect();
    let mut library = 0.0;
    for &(c, s) in neighbours {
        let w = weight(s);
        if let Some(slot) = p.get_mut(c.0 as usize) {
            *slot += w;
            library += w;
        }
    }
    let total = library + ZERO_SHOT_WEIGHT;
    p.iter_mut().for_each(|x| *x /= total);
    let mut library_weight = library / total;
    let copies: Vec<CatIdx> = copies
        .iter()
        .copied()
        .filter(|c| (c.0 as usize) < p.len())
        .collect();
    if !copies.is_empty() {
        p.iter_mut().for_each(|x| *x *= 1.0 - COPY_SHARE);
        let each = COPY_SHARE / copies.len() as f32;
        for c in copies {
            p[c.0 as usize] += each;
        }
        library_weight = COPY_SHARE + (1.0 - COPY_SHARE) * library_weight;
    }
    Vote { p, library_weight }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = 6;

    fn uniform() -> Vec<f32> {
        vec![1.0 / N as f32; N]
    }

    fn sums_to_one(v: &Vote) {
        let sum: f32 = v.p.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "{sum}: {v:?}");
        assert!(v.p.iter().all(|p| (0.0..=1.0).contains(p)), "{v:?}");
        assert!((0.0..=1.0).contains(&v.library_weight), "{v:?}");
    }

    #[test]
    fn no_labelled_files_leave_the_zero_shot_match_alone() {
        let z = zero_shot_probabilities(&[0.1, 0.3, 0.2, 0.0, -0.1, 0.25]);
        let v = combine(&z, &[], &[]);
        sums_to_one(&v);
        assert_eq!(v.p, z);
        assert_eq!(v.library_weight, 0.0);
        assert_eq!(v.top(2)[0].0, CatIdx(1));
        assert_eq!(v.top(2)[1].0, CatIdx(5));
    }

    #[test]
    fn zero_shot_is_a_softmax_at_scale_100() {
        let z = zero_shot_probabilities(&[0.0, 0.01]);
        // e^1 : 1
        assert!((z[1] / z[0] - std::f32::consts::E).abs() < 1e-4, "{z:?}");
        // Far apart cosines do not overflow; NaN cosines fall back to uniform.
        let z = zero_shot_probabilities(&[-1.0, 1.0]);
        assert!(z[1] > 0.999 && z.iter().all(|p| p.is_finite()));
        assert_eq!(zero_shot_probabilities(&[f32::NAN, 0.0]), vec![0.5, 0.5]);
    }

    #[test]
    fn close_neighbours_outvote_the_zero_shot_match_and_far_ones_do_not() {
        // The zero-shot match is sure of CatID 0.
        let mut z = vec![0.0; N];
        z[0] = 1.0;
        let close: Vec<(CatIdx, f32)> = (0..8)
            .map(|_| (CatIdx(3), 0.9))
            .chain([(CatIdx(4), 0.88), (CatIdx(4), 0.87)])
            .collect();
        let v = combine(&z, &close, &[]);
        sums_to_one(&v);
        assert_eq!(v.top(1)[0].0, CatIdx(3));
        // 8 × e^(-0.1/0.15) = 4.11 of 4.11 + 0.87 + 1.
        assert!((v.p[3] - 0.690).abs() < 0.01, "{v:?}");
        assert!(v.library_weight > 0.8, "{v:?}");

        let far: Vec<(CatIdx, f32)> = (0..10).map(|_| (CatIdx(3), 0.3)).collect();
        let v = combine(&z, &far, &[]);
        sums_to_one(&v);
        assert_eq!(v.top(1)[0].0, CatIdx(0));
        assert!(v.p[0] > 0.9, "{v:?}");
        assert!(v.library_weight < 0.1, "{v:?}");
    }

    #[test]
    fn votes_are_weighted_by_similarity() {
        // One neighbour of the same sound against three half as close.
        let v = combine(
            &uniform(),
            &[
                (CatIdx(1), 1.0),
                (CatIdx(2), 0.85),
                (CatIdx(2), 0.85),
                (CatIdx(2), 0.85),
            ],
            &[],
        );
        sums_to_one(&v);
        let e = (-1.0f32).exp();
        let total = 1.0 + 3.0 * e + 1.0;
        assert!(
            (v.p[1] - (1.0 + 1.0 / N as f32) / total).abs() < 1e-5,
            "{v:?}"
        );
        assert!(
            (v.p[2] - (3.0 * e + 1.0 / N as f32) / total).abs() < 1e-5,
            "{v:?}"
        );
        assert!(v.p[2] > v.p[1]);
    }

    #[test]
    fn a_copy_all_but_decides() {
        let mut z = vec![0.0; N];
        z[0] = 1.0;
        // Every neighbour says 2, the zero-shot match says 0; a copy says 5.
        let neighbours: Vec<(CatIdx, f32)> = (0..10).map(|_| (CatIdx(2), 0.99)).collect();
        let v = combine(&z, &neighbours, &[CatIdx(5)]);
        sums_to_one(&v);
        assert_eq!(v.top(1)[0].0, CatIdx(5));
        assert!(v.p[5] >= COPY_SHARE, "{v:?}");
        assert!(v.library_weight > 0.98, "{v:?}");
        // Copies that disagree split it.
        let v = combine(&z, &[], &[CatIdx(5), CatIdx(4), CatIdx(5)]);
        sums_to_one(&v);
        assert!((v.p[5] - 2.0 * COPY_SHARE / 3.0).abs() < 1e-5, "{v:?}");
        assert!((v.p[4] - COPY_SHARE / 3.0).abs() < 1e-5, "{v:?}");
    }

    #[test]
    fn odd_similarities_are_tamed() {
        let v = combine(
            &uniform(),
            &[(CatIdx(1), f32::NAN), (CatIdx(2), 1.5), (CatIdx(9), 1.0)],
            &[CatIdx(40)],
        );
        sums_to_one(&v);
        // NaN weighs nothing much, above 1 counts as 1, unknown CatIDs are ignored.
        assert!(v.p[2] > v.p[1]);
    }
}
