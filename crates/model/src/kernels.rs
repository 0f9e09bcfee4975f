//! CPU kernels on plain slices, for the passes candle's generic ops make slow
//! on a 2-core machine.
//!
//! Written by hand because no crate offers them fused: a matmul that adds
//! bias and residual in place (gemm's `dst = dst + lhs·rhs` with `dst`
//! prefilled, saving two passes over every activation), a matrix–vector style
//! product for a handful of rows (the text tower reads ~500 MB of weights per
//! query: its products are memory-bound, and gemm's packing of the weight
//! makes them compute-shaped), GELU with a vectorisable erf, and a softmax
//! that adds the attention bias as it goes. Each runs on rayon and is
//! compiled twice: for AVX2+FMA, chosen at run time, and for baseline x86-64.

use rayon::prelude::*;

/// At most this many rows take the row-streaming product instead of gemm.
pub const SMALL_ROWS: usize = 32;

/// Below this many multiply-adds a product runs on one thread.
const PARALLEL_FLOPS: usize = 1 << 20;

/// `R` dot products of `R` input rows with each of `J` weight rows, sharing
/// every load (portable version).
#[inline(always)]
fn tile_scalar<const R: usize, const J: usize>(xs: [&[f32]; R], ws: [&[f32]; J]) -> [[f32; J]; R] {
    let mut out = [[0f32; J]; R];
    for r in 0..R {
        for j in 0..J {
            out[r][j] = xs[r].iter().zip(ws[j]).map(|(a, b)| a * b).sum();
        }
    }
    out
}

/// As [`tile_scalar`], with AVX2 registers: R×J 8-lane FMA accumulators.
/// Intrinsics because the auto-vectoriser shuffles across the wrong axis here.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const R: usize, const J: usize>(
    xs: [&[f32]; R],
    ws: [&[f32]; J],
) -> [[f32; J]; R] {
    use std::arch::x86_64::*;
    let k = ws[0].len();
    for s in xs.iter().chain(ws.iter()) {
        assert_eq!(s.len(), k);
    }
    let body = k / 8 * 8;
    let mut acc = [[_mm256_setzero_ps(); J]; R];
    let mut off = 0;
    while off < body {
        let mut wv = [_mm256_setzero_ps(); J];
        for j in 0..J {
            // SAFETY: off + 8 <= k, the length of every slice (asserted above).
            wv[j] = unsafe { _mm256_loadu_ps(ws[j].as_ptr().add(off)) };
        }
        for r in 0..R {
            // SAFETY: as above.
            let xv = unsafe { _mm256_loadu_ps(xs[r].as_ptr().add(off)) };
            for j in 0..J {
                acc[r][j] = _mm256_fmadd_ps(xv, wv[j], acc[r][j]);
            }
        }
        off += 8;
    }
    let mut out = [[0f32; J]; R];
    for r in 0..R {
        for j in 0..J {
            let mut lanes = [0f32; 8];
            // SAFETY: lanes holds 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc[r][j]) };
            let mut s: f32 = lanes.iter().sum();
            for t in body..k {
                s += xs[r][t] * ws[j][t];
            }
            out[r][j] = s;
        }
    }
    out
}

#[inline(always)]
fn tile<const FMA: bool, const R: usize, const J: usize>(
    xs: [&[f32]; R],
    ws: [&[f32]; J],
) -> [[f32; J]; R] {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: FMA is only true on the path chosen after has_fma().
        return unsafe { tile_avx2(xs, ws) };
    }
    tile_scalar(xs, ws)
}

/// One block of output columns: `out[j][r] = x[r] · w[j]` for the weight rows
/// in `w`, in tiles of 4 input rows × 3 weight rows (12 accumulators, 4 loads
/// per 12 FMAs: all 16 AVX2 registers), then narrower tiles for the edges.
#[inline(always)]
fn small_rows_block<const FMA: bool>(x: &[f32], rows: usize, k: usize, w: &[f32], out: &mut [f32]) {
    let xr = |r: usize| &x[r * k..][..k];
    let nj = w.len() / k;
    let mut put = |r: usize, j: usize, v: f32| out[j * rows + r] = v;
    let mut j = 0;
    while j < nj {
        let wr = |o: usize| &w[(j + o) * k..][..k];
        if j + 3 <= nj {
            let ws = [wr(0), wr(1), wr(2)];
            let mut r = 0;
            while r + 4 <= rows {
                let t = tile::<FMA, 4, 3>([xr(r), xr(r + 1), xr(r + 2), xr(r + 3)], ws);
                for (dr, row) in t.iter().enumerate() {
                    for (dj, v) in row.iter().enumerate() {
                        put(r + dr, j + dj, *v);
                    }
                }
                r += 4;
            }
            while r < rows {
                let t = tile::<FMA, 1, 3>([xr(r)], ws);
                for (dj, v) in t[0].iter().enumerate() {
                    put(r, j + dj, *v);
                }
                r += 1;
            }
            j += 3;
        } else {
            for r in 0..rows {
                put(r, j, tile::<FMA, 1, 1>([xr(r)], [wr(0)])[0][0]);
            }
            j += 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_rows_block_fma(x: &[f32], rows: usize, k: usize, w: &[f32], out: &mut [f32]) {
    small_rows_block::<true>(x, rows, k, w, out)
}

/// `dst[r][j] += x[r] · w[j]` for a few rows: streams each weight row once,
/// blocks of weight rows spread over the threads.
fn small_rows(x: &[f32], rows: usize, k: usize, w: &[f32], n: usize, dst: &mut [f32]) {
    // A multiple of the 3-row tile.
    const BLOCK: usize = 48;
    let fma = has_fma();
    let mut out_t = vec![0f32; n * rows];
    out_t
        .par_chunks_mut(BLOCK * rows)
        .zip(w.par_chunks(BLOCK * k))
        .for_each(|(out, wb)| {
            // The feature check sits inside the task: a closure does not inherit
            // the caller's target features.
            #[cfg(target_arch = "x86_64")]
            if fma {
                // SAFETY: the CPU has AVX2 and FMA (checked by has_fma).
                unsafe { small_rows_block_fma(x, rows, k, wb, out) };
                return;
            }
            small_rows_block::<false>(x, rows, k, wb, out)
        });
    for (j, col) in out_t.chunks_exact(rows).enumerate() {
        for (r, v) in col.iter().enumerate() {
            dst[r * n + j] += v;
        }
    }
}

fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `dst (rows×n) += x (rows×k) · wᵀ` where `w` is (n×k) row-major; `dst` is
/// prefilled by the caller with bias and/or residual.
pub fn matmul_acc(x: &[f32], rows: usize, k: usize, w: &[f32], n: usize, dst: &mut [f32]) {
    debug_assert_eq!(x.len(), rows * k);
    debug_assert_eq!(w.len(), n * k);
    debug_assert_eq!(dst.len(), rows * n);
    if rows <= SMALL_ROWS {
        small_rows(x, rows, k, w, n, dst);
        return;
    }
    let threads = rayon::current_num_threads();
    let parallelism = if rows * k * n >= PARALLEL_FLOPS && threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the three buffers have the lengths asserted above and the
    // strides describe them: x and dst row-major, wᵀ read column-major from w.
    unsafe {
        gemm::gemm(
            rows,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            true,
            x.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// erf as a rational function of x (odd numerator, even denominator, x
/// clamped to ±4), the approximation Eigen and XLA use for f32: within a few
/// ulp of the exact erf, and vectorisable, unlike libm's `erff`.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906_3e-4;
    p = p * x2 + -2.954_6e-3;
    p = p * x2 + -1.609_603_3e-2;
    let mut q = -1.456_607_2e-5f32;
    q = q * x2 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329e-3;
    q = q * x2 + -1.426_474e-2;
    x * p / q
}

#[inline(always)]
fn gelu_slice(v: &mut [f32]) {
    for x in v {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_slice_avx2(v: &mut [f32]) {
    gelu_slice(v)
}

/// Exact (erf) GELU in place.
pub fn gelu(v: &mut [f32]) {
    let fma = has_fma();
    v.par_chunks_mut(16 * 1024).for_each(|c| {
        #[cfg(target_arch = "x86_64")]
        if fma {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            unsafe { gelu_slice_avx2(c) };
            return;
        }
        gelu_slice(c)
    });
}

/// Softmax over rows of `row` values, after adding `bias`: `scores` holds
/// groups of `bias.len()` values, and group `g` adds `bias` whole (the
/// attention bias repeats over the batch and, unshifted, over windows).
pub fn softmax_with_bias(scores: &mut [f32], bias: &[f32], row: usize) {
    let group = bias.len();
    debug_assert_eq!(scores.len() % group, 0);
    debug_assert_eq!(group % row, 0);
    scores.par_chunks_mut(group).for_each(|g| {
        for (s, b) in g.chunks_exact_mut(row).zip(bias.chunks_exact(row)) {
            let mut max = f32::NEG_INFINITY;
            for (x, bb) in s.iter_mut().zip(b) {
                *x += bb;
                max = max.max(*x);
            }
            let mut sum = 0f32;
            for x in s.iter_mut() {
                *x = (*x - max).exp();
                sum += *x;
            }
            let inv = 1.0 / sum;
            for x in s.iter_mut() {
                *x *= inv;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf from its Taylor series (|x| < 3) or the asymptotic continued
    /// fraction, in f64: an independent reference for the approximation.
    fn erf_ref(x: f64) -> f64 {
        let ax = x.abs();
        let v = if ax < 3.0 {
            let mut term = ax;
            let mut sum = ax;
            let mut n = 0.0;
            while term.abs() > 1e-17 * sum.abs() {
                n += 1.0;
                term *= -ax * ax / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc(x) = exp(-x²)/(x√π) · continued fraction, 60 terms from the bottom.
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = (k as f64 / 2.0) / (ax + f);
            }
            1.0 - (-ax * ax).exp() / ((ax + f) * std::f64::consts::PI.sqrt())
        };
        v.copysign(x)
    }

    #[test]
    fn erf_is_accurate() {
        let mut worst = 0f64;
        for i in -60_000..=60_000 {
            let x = i as f64 / 10_000.0;
            let d = (erf(x as f32) as f64 - erf_ref(x)).abs();
            worst = worst.max(d);
        }
        assert!(worst < 5e-7, "erf max abs error {worst}");
    }

    #[test]
    fn matmul_paths_agree_with_naive() {
        let (k, n) = (70, 45);
        for rows in [1, 5, SMALL_ROWS, SMALL_ROWS + 1, 100] {
            let x: Vec<f32> = (0..rows * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
                .collect();
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0)
                .collect();
            let init: Vec<f32> = (0..rows * n).map(|i| i as f32 * 0.01).collect();
            let mut dst = init.clone();
            matmul_acc(&x, rows, k, &w, n, &mut dst);
            for r in 0..rows {
                for j in 0..n {
                    let want: f32 =
                        init[r * n + j] + (0..k).map(|t| x[r * k + t] * w[j * k + t]).sum::<f32>();
                    let got = dst[r * n + j];
                    assert!(
                        (got - want).abs() < 1e-4,
                        "rows {rows}: ({r},{j}) {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn softmax_adds_bias_per_group() {
        let bias = vec![0.0, 1.0, 0.0, 0.0];
        let mut s = vec![0.0f32; 8];
        softmax_with_bias(&mut s, &bias, 2);
        let e = std::f32::consts::E;
        assert!((s[1] - e / (1.0 + e)).abs() < 1e-6 && (s[5] - s[1]).abs() < 1e-7);
        assert!((s[2] - 0.5).abs() < 1e-7);
    }
}
