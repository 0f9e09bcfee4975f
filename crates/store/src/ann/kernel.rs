//! The dot product and normalisation every vector comparison in hark goes
//! through: the exact scan, the ANN graph's distance and search, the final
//! scores of ANN hits here, and the query arithmetic of hark-query (which
//! calls [`dot`] and [`normalize`] rather than keeping its own copies).
//!
//! Hand-written rather than taken from `anndists` (hnsw_rs's distance
//! crate): its `DistDot` is a scalar fold unless built with a feature that
//! pulls in `simdeez`, and it asserts `1 - dot >= 0`, which rounding breaks
//! for two equal unit vectors (a duplicated sound, or "more like this" on an
//! indexed file) and would panic mid-search. Here an AVX-512 and an
//! AVX2+FMA kernel and a portable loop are picked from once, by what the
//! CPU supports.

use std::sync::OnceLock;

use hnsw_rs::anndists::dist::distances::Distance;

/// Lanes of the portable accumulator.
const LANES: usize = 16;

// Without FMA in the target, `mul_add` would call the libm routine: the
// portable build multiplies and adds.
#[inline(always)]
fn dot_baseline(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let mut chunks_a = a.chunks_exact(LANES);
    let mut chunks_b = b.chunks_exact(LANES);
    for (ca, cb) in (&mut chunks_a).zip(&mut chunks_b) {
        for i in 0..LANES {
            acc[i] += ca[i] * cb[i];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in chunks_a.remainder().iter().zip(chunks_b.remainder()) {
        sum += x * y;
    }
    sum
}

/// `out[i] = q · rows[i]` for consecutive rows of `q.len()` floats.
#[inline(always)]
fn rows_with(q: &[f32], rows: &[f32], out: &mut [f32], dot: impl Fn(&[f32], &[f32]) -> f32) {
    if q.is_empty() {
        out.fill(0.0);
        return;
    }
    for (row, o) in rows.chunks_exact(q.len()).zip(out.iter_mut()) {
        *o = dot(q, row);
    }
}

fn rows_baseline(q: &[f32], rows: &[f32], out: &mut [f32]) {
    rows_with(q, rows, out, dot_baseline)
}

// The x86 kernels use intrinsics rather than relying on the vectoriser:
// the dev and test profiles build this crate at opt-level 1, where LLVM
// does not vectorise loops, and hnsw_rs calls the distance millions of
// times per build.

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    // SAFETY: every load reads 8 floats at an offset i with i + 8 <= n,
    // inside both slices.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (j, acc) in acc.iter_mut().enumerate() {
                let o = i + 8 * j;
                *acc =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(o)), _mm256_loadu_ps(pb.add(o)), *acc);
            }
            i += 32;
        }
        while i + 8 <= n {
            acc[0] = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i)),
                _mm256_loadu_ps(pb.add(i)),
                acc[0],
            );
            i += 8;
        }
        let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        let mut sum = _mm_cvtss_f32(s);
        while i < n {
            sum += *pa.add(i) * *pb.add(i);
            i += 1;
        }
        sum
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2(q: &[f32], rows: &[f32], out: &mut [f32]) {
    // SAFETY: the caller guarantees the features.
    rows_with(q, rows, out, |a, b| unsafe { dot_avx2(a, b) })
}

/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    // SAFETY: every load reads 16 floats at an offset i with i + 16 <= n,
    // inside both slices.
    unsafe {
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut i = 0;
        while i + 32 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(i + 16)),
                _mm512_loadu_ps(pb.add(i + 16)),
                acc1,
            );
            i += 32;
        }
        while i + 16 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            i += 16;
        }
        let mut sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
        while i < n {
            sum += *pa.add(i) * *pb.add(i);
            i += 1;
        }
        sum
    }
}

/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn rows_avx512(q: &[f32], rows: &[f32], out: &mut [f32]) {
    // SAFETY: the caller guarantees the feature.
    rows_with(q, rows, out, |a, b| unsafe { dot_avx512(a, b) })
}

type DotFn = fn(&[f32], &[f32]) -> f32;
type RowsFn = fn(&[f32], &[f32], &mut [f32]);

#[derive(Clone, Copy)]
struct Kernels {
    dot: DotFn,
    rows: RowsFn,
}

fn kernels() -> Kernels {
    static KERNELS: OnceLock<Kernels> = OnceLock::new();
    *KERNELS.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: the features these functions are compiled for
                // were just detected on this CPU.
                return Kernels {
                    dot: |a, b| unsafe { dot_avx512(a, b) },
                    rows: |q, r, o| unsafe { rows_avx512(q, r, o) },
                };
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: as above.
                return Kernels {
                    dot: |a, b| unsafe { dot_avx2(a, b) },
                    rows: |q, r, o| unsafe { rows_avx2(q, r, o) },
                };
            }
        }
        Kernels {
            dot: dot_baseline,
            rows: rows_baseline,
        }
    })
}

/// The dot product of two vectors, over the shorter length.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (kernels().dot)(a, b)
}

/// Scales `v` to unit length, in place (left as is if it is all zeros).
pub fn normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Scores a block of rows at once (one dispatch per block, the dot
/// inlined in the loop): `out[i]` becomes `q` · row `i` of `rows`, a
/// row-major matrix of `q.len()` columns.
#[inline]
pub(crate) fn dot_rows(q: &[f32], rows: &[f32], out: &mut [f32]) {
    (kernels().rows)(q, rows, out)
}

/// The ANN graph's distance between unit vectors: `1 - a·b`, clamped at 0
/// because hnsw_rs asserts that distances are never negative.
///
/// Its type name is written into the graph file by hnsw_rs and checked on
/// load, so moving or renaming it makes existing ANN files unloadable (the
/// next `hark index` rebuilds them).
#[derive(Debug, Default, Clone, Copy)]
pub struct UnitDot;

impl Distance<f32> for UnitDot {
    #[inline]
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    #[test]
    fn kernels_agree_with_f64_sum() {
        for n in [0, 1, 15, 16, 17, 31, 32, 33, 100, 512, 513] {
            let a: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
                .collect();
            let b: Vec<f32> = (0..n)
                .map(|i| ((i * 104729) % 97) as f32 / 48.0 - 1.0)
                .collect();
            let want = naive(&a, &b);
            let tol = 1e-4 * (1.0 + want.abs());
            let mut block = [0f32; 2];
            let rows: Vec<f32> = b.iter().chain(a.iter()).copied().collect();
            if n > 0 {
                dot_rows(&a, &rows, &mut block);
            }
            let self_dot = naive(&a, &a);
            assert!((block[1] as f64 - self_dot).abs() < 1e-4 * (1.0 + self_dot.abs()));
            #[allow(unused_mut)]
            let mut results = vec![
                ("dispatched", dot(&a, &b)),
                ("rows", if n > 0 { block[0] } else { 0.0 }),
                ("baseline", dot_baseline(&a, &b)),
            ];
            #[cfg(target_arch = "x86_64")]
            {
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    // SAFETY: features detected.
                    results.push(("avx2", unsafe { dot_avx2(&a, &b) }));
                }
                if is_x86_feature_detected!("avx512f") {
                    // SAFETY: feature detected.
                    results.push(("avx512", unsafe { dot_avx512(&a, &b) }));
                }
            }
            for (name, got) in results {
                assert!(
                    (got as f64 - want).abs() < tol,
                    "{name} n={n}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn unit_dot_never_negative() {
        // A unit vector whose self-dot rounds above 1.
        let v: Vec<f32> = (0..512).map(|i| ((i as f32) * 0.731).sin()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let v: Vec<f32> = v.iter().map(|x| x / norm).collect();
        assert!(UnitDot.eval(&v, &v) >= 0.0);
        assert!(UnitDot.eval(&v, &v) < 1e-5);
        let w: Vec<f32> = v.iter().map(|x| -x).collect();
        assert!((UnitDot.eval(&v, &w) - 2.0).abs() < 1e-5);
    }

    #[test]
    fn normalize_gives_unit_length_and_spares_zeros() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut zeros = vec![0.0; 3];
        normalize(&mut zeros);
        assert_eq!(zeros, [0.0; 3]);
    }
}
