//! CPU kernels on plain slices, for the passes candle's generic ops make slow
//! on a 2-core machine.
//!
//! Written by hand because no crate offers them fused: a matmul that adds
//! bias and residual in place (gemm's `dst = dst + lhs·rhs` with `dst`
//! prefilled, saving two passes over every activation), a matrix–vector style
//! product for a handful of rows (the text tower reads ~500 MB of weights per
//! query: its products are memory-bound, and gemm's packing of the weight
//! makes them compute-shaped), GELU with a vectorisable erf, and window
//! attention straight from the fused q/k/v projection. Each runs on rayon and is
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

/// Defines a tile function for one SIMD width: R×J accumulators of `$lanes`
/// floats, the weight rows loaded once per step and shared by the R input
/// rows, the next weight rows prefetched while these compute (the product is
/// bound by weight reads, and the hardware prefetcher alone lags). Intrinsics
/// because the auto-vectoriser shuffles across the wrong axis here.
macro_rules! simd_tile {
    ($(#[$doc:meta])* $name:ident, $features:literal, $lanes:literal, $zero:ident, $load:ident, $fma:ident, $sum:ident) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $name<const R: usize, const J: usize>(
            xs: [&[f32]; R],
            ws: [&[f32]; J],
            next: Option<&[f32]>,
        ) -> [[f32; J]; R] {
            use std::arch::x86_64::*;
            let k = ws[0].len();
            for s in xs.iter().chain(ws.iter()) {
                assert_eq!(s.len(), k);
            }
            let body = k / $lanes * $lanes;
            let mut acc = [[$zero(); J]; R];
            let mut off = 0;
            while off < body {
                if let Some(nx) = next {
                    if off % 16 == 0 {
                        for j in 0..J {
                            _mm_prefetch::<_MM_HINT_T0>(nx.as_ptr().wrapping_add(j * k + off) as *const i8);
                        }
                    }
                }
                let mut wv = [$zero(); J];
                for j in 0..J {
                    // SAFETY: off + lanes <= k, the length of every slice (asserted above).
                    wv[j] = unsafe { $load(ws[j].as_ptr().add(off)) };
                }
                for r in 0..R {
                    // SAFETY: as above.
                    let xv = unsafe { $load(xs[r].as_ptr().add(off)) };
                    for j in 0..J {
                        acc[r][j] = $fma(xv, wv[j], acc[r][j]);
                    }
                }
                off += $lanes;
            }
            let mut out = [[0f32; J]; R];
            for r in 0..R {
                for j in 0..J {
                    let mut s = $sum(acc[r][j]);
                    for t in body..k {
                        s += xs[r][t] * ws[j][t];
                    }
                    out[r][j] = s;
                }
            }
            out
        }
    };
}

/// Horizontal sum of 8 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum8(v: std::arch::x86_64::__m256) -> f32 {
    let mut lanes = [0f32; 8];
    // SAFETY: lanes holds 8 floats.
    unsafe { std::arch::x86_64::_mm256_storeu_ps(lanes.as_mut_ptr(), v) };
    lanes.iter().sum()
}

simd_tile!(
    /// As [`tile_scalar`], with AVX2: R×J 8-lane FMA accumulators.
    tile_avx2, "avx2,fma", 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_fmadd_ps, sum8
);

simd_tile!(
    /// As [`tile_avx2`] with AVX-512: 16-lane registers, and 32 of them, so a
    /// 4×6 tile keeps 24 accumulators and needs fewer loads per multiply-add.
    tile_avx512, "avx512f,avx2,fma", 16, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_reduce_add_ps
);

#[inline(always)]
fn tile<const FMA: bool, const R: usize, const J: usize>(
    xs: [&[f32]; R],
    ws: [&[f32]; J],
    next: Option<&[f32]>,
) -> [[f32; J]; R] {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: FMA is only true on the path chosen after has_fma().
        return unsafe { tile_avx2(xs, ws, next) };
    }
    let _ = next;
    tile_scalar(xs, ws)
}

/// A block of output columns of `dst` (row-major, `n` wide), starting at
/// column `j0`. Threads own disjoint column ranges, so each adds its results
/// in place instead of writing a transposed scratch buffer.
#[derive(Clone, Copy)]
struct Cols {
    ptr: *mut f32,
    n: usize,
    j0: usize,
    rows: usize,
}

// SAFETY: a Cols is only used by the one task that owns its column range.
unsafe impl Send for Cols {}
unsafe impl Sync for Cols {}

impl Cols {
    fn at_column(&self, j0: usize) -> Cols {
        Cols { j0, ..*self }
    }

    #[inline(always)]
    fn add(&self, r: usize, j: usize, v: f32) {
        debug_assert!(r < self.rows && self.j0 + j < self.n);
        // SAFETY: r < rows and j0 + j < n: inside dst (rows × n), in this task's columns.
        unsafe { *self.ptr.add(r * self.n + self.j0 + j) += v };
    }
}

/// One block of output columns: `out[j][r] = x[r] · w[j]` for the weight rows
/// in `w`, in tiles of 4 input rows × 3 weight rows (12 accumulators, 4 loads
/// per 12 FMAs: all 16 AVX2 registers), then narrower tiles for the edges.
#[inline(always)]
fn small_rows_block<const FMA: bool>(x: &[f32], rows: usize, k: usize, w: &[f32], out: Cols) {
    let xr = |r: usize| &x[r * k..][..k];
    let nj = w.len() / k;
    let put = |r: usize, j: usize, v: f32| out.add(r, j, v);
    let mut j = 0;
    while j < nj {
        let wr = |o: usize| &w[(j + o) * k..][..k];
        if j + 3 <= nj {
            let ws = [wr(0), wr(1), wr(2)];
            let next = w.get((j + 3) * k..);
            let mut r = 0;
            while r + 4 <= rows {
                let t = tile::<FMA, 4, 3>(
                    [xr(r), xr(r + 1), xr(r + 2), xr(r + 3)],
                    ws,
                    if r == 0 { next } else { None },
                );
                for (dr, row) in t.iter().enumerate() {
                    for (dj, v) in row.iter().enumerate() {
                        put(r + dr, j + dj, *v);
                    }
                }
                r += 4;
            }
            while r < rows {
                let t = tile::<FMA, 1, 3>([xr(r)], ws, if r == 0 { next } else { None });
                for (dj, v) in t[0].iter().enumerate() {
                    put(r, j + dj, *v);
                }
                r += 1;
            }
            j += 3;
        } else {
            for r in 0..rows {
                put(r, j, tile::<FMA, 1, 1>([xr(r)], [wr(0)], None)[0][0]);
            }
            j += 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_rows_block_fma(x: &[f32], rows: usize, k: usize, w: &[f32], out: Cols) {
    small_rows_block::<true>(x, rows, k, w, out)
}

/// [`small_rows_block`] with 4×6 AVX-512 tiles where the block allows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn small_rows_block_avx512(x: &[f32], rows: usize, k: usize, w: &[f32], out: Cols) {
    let nj = w.len() / k;
    let wide = nj / 6 * 6;
    let xr = |r: usize| &x[r * k..][..k];
    for j in (0..wide).step_by(6) {
        let wr = |o: usize| &w[(j + o) * k..][..k];
        let ws = [wr(0), wr(1), wr(2), wr(3), wr(4), wr(5)];
        let next = w.get((j + 6) * k..);
        let mut r = 0;
        while r + 4 <= rows {
            // SAFETY: this function's features are the tile's.
            let t = unsafe {
                tile_avx512::<4, 6>(
                    [xr(r), xr(r + 1), xr(r + 2), xr(r + 3)],
                    ws,
                    if r == 0 { next } else { None },
                )
            };
            for (dr, row) in t.iter().enumerate() {
                for (dj, v) in row.iter().enumerate() {
                    out.add(r + dr, j + dj, *v);
                }
            }
            r += 4;
        }
        while r < rows {
            // SAFETY: as above.
            let t = unsafe { tile_avx512::<1, 6>([xr(r)], ws, None) };
            for (dj, v) in t[0].iter().enumerate() {
                out.add(r, j + dj, *v);
            }
            r += 1;
        }
    }
    small_rows_block::<true>(x, rows, k, &w[wide * k..], out.at_column(out.j0 + wide));
}

/// `dst[r][j] += x[r] · w[j]` for a few rows: streams each weight row once,
/// blocks of weight rows spread over the threads.
fn small_rows(x: &[f32], rows: usize, k: usize, w: &[f32], n: usize, dst: &mut [f32]) {
    // A multiple of the 3-row tile.
    const BLOCK: usize = 48;
    let fma = has_fma();
    #[cfg(target_arch = "x86_64")]
    let avx512 = fma && std::is_x86_feature_detected!("avx512f");
    let base = Cols {
        ptr: dst.as_mut_ptr(),
        n,
        j0: 0,
        rows,
    };
    w.par_chunks(BLOCK * k).enumerate().for_each(|(b, wb)| {
        let out = base.at_column(b * BLOCK);
        // The feature check sits inside the task: a closure does not inherit
        // the caller's target features.
        #[cfg(target_arch = "x86_64")]
        if avx512 {
            // SAFETY: the CPU has AVX-512F, AVX2 and FMA (checked above).
            unsafe { small_rows_block_avx512(x, rows, k, wb, out) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if fma {
            // SAFETY: the CPU has AVX2 and FMA (checked by has_fma).
            unsafe { small_rows_block_fma(x, rows, k, wb, out) };
            return;
        }
        small_rows_block::<false>(x, rows, k, wb, out)
    });
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

/// Scores, biased softmax and weighted values of one window, all heads
/// (the portable path; 64-token windows on AVX2 take [`window_avx2`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn window_heads<const FMA: bool>(
    qkv: &[f32],
    bias: &[f32],
    out: &mut [f32],
    n: usize,
    heads: usize,
    hd: usize,
    kt: &mut Vec<f32>,
    scores: &mut Vec<f32>,
) {
    let c = heads * hd;
    kt.resize(hd * n, 0.0);
    scores.resize(n, 0.0);
    let fma = |a: f32, b: f32, acc: f32| if FMA { a.mul_add(b, acc) } else { acc + a * b };
    for h in 0..heads {
        // kᵀ of this head, so each score row is a run of axpys over contiguous memory.
        for j in 0..n {
            let k = &qkv[j * 3 * c + c + h * hd..][..hd];
            for d in 0..hd {
                kt[d * n + j] = k[d];
            }
        }
        let hb = &bias[h * n * n..][..n * n];
        for i in 0..n {
            let q = &qkv[i * 3 * c + h * hd..][..hd];
            scores.copy_from_slice(&hb[i * n..][..n]);
            for (d, &qd) in q.iter().enumerate() {
                for (s, &kv) in scores.iter_mut().zip(&kt[d * n..][..n]) {
                    *s = fma(qd, kv, *s);
                }
            }
            let max = scores.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0f32;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            let inv = 1.0 / sum;
            let o = &mut out[i * c + h * hd..][..hd];
            o.fill(0.0);
            for (j, &p) in scores.iter().enumerate() {
                let v = &qkv[j * 3 * c + 2 * c + h * hd..][..hd];
                for (od, &vd) in o.iter_mut().zip(v) {
                    *od = fma(p, vd, *od);
                }
            }
            for od in o.iter_mut() {
                *od *= inv;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn window_heads_fma(
    qkv: &[f32],
    bias: &[f32],
    out: &mut [f32],
    n: usize,
    heads: usize,
    hd: usize,
    kt: &mut Vec<f32>,
    scores: &mut Vec<f32>,
) {
    window_heads::<true>(qkv, bias, out, n, heads, hd, kt, scores)
}

/// e^x for 8 lanes: Cephes' expf (range reduction by ln 2 split in two,
/// degree-5 polynomial, exponent by integer add), within ~2 ulp; inputs are
/// clamped to [−87.3, 88.3], so e^x of a very negative x is ~1e-38, not 0,
/// which no softmax sum can tell apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn exp8(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let x = _mm256_min_ps(
        _mm256_max_ps(x, _mm256_set1_ps(-87.3)),
        _mm256_set1_ps(88.3),
    );
    let fx = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let y = _mm256_add_ps(
        _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r),
        _mm256_set1_ps(1.0),
    );
    let n = _mm256_cvtps_epi32(fx);
    let scale = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        n,
        _mm256_set1_epi32(127),
    )));
    _mm256_mul_ps(y, scale)
}

/// One head of one 64-token window with AVX2: a score row is 8 registers,
/// the softmax runs on them with a vector exp, and the weighted sum of
/// values keeps `HD8`·8 outputs in two register sets (even and odd tokens).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn window_head64_avx2<const HD8: usize>(
    qkv: &[f32],
    bias: &[f32],
    out: &mut [f32],
    h: usize,
    c: usize,
    kt: &mut [f32],
) {
    use std::arch::x86_64::*;
    const N: usize = 64;
    let hd = HD8 * 8;
    assert!(
        qkv.len() >= N * 3 * c && out.len() >= N * c && bias.len() >= N * N && kt.len() >= hd * N
    );
    assert!(h * hd + hd <= c);
    for j in 0..N {
        for d in 0..hd {
            kt[d * N + j] = qkv[j * 3 * c + c + h * hd + d];
        }
    }
    let mut p = [0f32; N];
    for i in 0..N {
        // SAFETY (all loads and stores below): indices are within the lengths asserted above.
        unsafe {
            let mut s = [_mm256_setzero_ps(); 8];
            for (m, sm) in s.iter_mut().enumerate() {
                *sm = _mm256_loadu_ps(bias.as_ptr().add(i * N + m * 8));
            }
            let q = qkv.as_ptr().add(i * 3 * c + h * hd);
            for d in 0..hd {
                let qd = _mm256_set1_ps(*q.add(d));
                let krow = kt.as_ptr().add(d * N);
                for (m, sm) in s.iter_mut().enumerate() {
                    *sm = _mm256_fmadd_ps(qd, _mm256_loadu_ps(krow.add(m * 8)), *sm);
                }
            }
            let mut mx = s[0];
            for sm in &s[1..] {
                mx = _mm256_max_ps(mx, *sm);
            }
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), mx);
            let max = _mm256_set1_ps(lanes.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)));
            let mut sum = _mm256_setzero_ps();
            for (m, sm) in s.iter().enumerate() {
                let e = exp8(_mm256_sub_ps(*sm, max));
                sum = _mm256_add_ps(sum, e);
                _mm256_storeu_ps(p.as_mut_ptr().add(m * 8), e);
            }
            _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
            let inv = _mm256_set1_ps(1.0 / lanes.iter().sum::<f32>());
            let mut even = [_mm256_setzero_ps(); HD8];
            let mut odd = [_mm256_setzero_ps(); HD8];
            let v = qkv.as_ptr().add(2 * c + h * hd);
            for j in (0..N).step_by(2) {
                let pe = _mm256_set1_ps(p[j]);
                let po = _mm256_set1_ps(p[j + 1]);
                let ve = v.add(j * 3 * c);
                let vo = v.add((j + 1) * 3 * c);
                for k in 0..HD8 {
                    even[k] = _mm256_fmadd_ps(pe, _mm256_loadu_ps(ve.add(k * 8)), even[k]);
                    odd[k] = _mm256_fmadd_ps(po, _mm256_loadu_ps(vo.add(k * 8)), odd[k]);
                }
            }
            let o = out.as_mut_ptr().add(i * c + h * hd);
            for k in 0..HD8 {
                _mm256_storeu_ps(
                    o.add(k * 8),
                    _mm256_mul_ps(_mm256_add_ps(even[k], odd[k]), inv),
                );
            }
        }
    }
}

/// The AVX2 path for one window, when its shape has one: 64 tokens and a
/// head dimension of 16, 24, 32 or 64. Returns false to fall back.
#[cfg(target_arch = "x86_64")]
fn window_avx2(
    qkv: &[f32],
    bias: &[f32],
    out: &mut [f32],
    n: usize,
    heads: usize,
    hd: usize,
    kt: &mut Vec<f32>,
) -> bool {
    if n != 64 || !matches!(hd, 16 | 24 | 32 | 64) {
        return false;
    }
    let c = heads * hd;
    kt.resize(hd * n, 0.0);
    for h in 0..heads {
        let hb = &bias[h * n * n..][..n * n];
        // SAFETY: the caller checked AVX2 and FMA; shapes are asserted inside.
        unsafe {
            match hd {
                16 => window_head64_avx2::<2>(qkv, hb, out, h, c, kt),
                24 => window_head64_avx2::<3>(qkv, hb, out, h, c, kt),
                32 => window_head64_avx2::<4>(qkv, hb, out, h, c, kt),
                _ => window_head64_avx2::<8>(qkv, hb, out, h, c, kt),
            }
        }
    }
    true
}

/// Multi-head attention within windows of `n` tokens, straight from the fused
/// projection: `qkv` holds, per token, q, k and v of all heads (3·heads·hd
/// values, the query already scaled); `bias` holds (windows in the bias) ×
/// heads × n × n additive terms, repeated over the windows of `qkv`; `out`
/// gets heads·hd values per token. Replaces a permute, two batched products
/// of many tiny matrices (each a gemm call with its own thread hand-off), a
/// softmax pass and a transpose.
pub fn window_attention(
    qkv: &[f32],
    bias: &[f32],
    out: &mut [f32],
    n: usize,
    heads: usize,
    hd: usize,
) {
    let c = heads * hd;
    let windows = out.len() / (n * c);
    let bias_windows = bias.len() / (heads * n * n);
    debug_assert_eq!(qkv.len(), windows * n * 3 * c);
    debug_assert_eq!(windows % bias_windows, 0);
    let fma = has_fma();
    out.par_chunks_mut(n * c)
        .zip(qkv.par_chunks(n * 3 * c))
        .enumerate()
        .for_each_init(
            || (Vec::new(), Vec::new()),
            |(kt, scores), (w, (o, q))| {
                let b = &bias[(w % bias_windows) * heads * n * n..][..heads * n * n];
                #[cfg(target_arch = "x86_64")]
                if fma && window_avx2(q, b, o, n, heads, hd, kt) {
                    return;
                }
                #[cfg(target_arch = "x86_64")]
                if fma {
                    // SAFETY: the CPU has AVX2 and FMA (checked by has_fma).
                    unsafe { window_heads_fma(q, b, o, n, heads, hd, kt, scores) };
                    return;
                }
                window_heads::<false>(q, b, o, n, heads, hd, kt, scores)
            },
        );
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
        // n = 130 spans several column blocks of the row-streaming path.
        for (rows, k, n) in [1, 5, SMALL_ROWS, SMALL_ROWS + 1, 100]
            .into_iter()
            .flat_map(|r| [(r, 70, 45), (r, 33, 130)])
        {
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
    fn window_attention_matches_naive() {
        let (n, heads, hd, windows, bias_windows) = (6, 2, 5, 4, 2);
        let c = heads * hd;
        let qkv: Vec<f32> = (0..windows * n * 3 * c)
            .map(|i| ((i * 29 % 83) as f32 - 41.0) / 30.0)
            .collect();
        let bias: Vec<f32> = (0..bias_windows * heads * n * n)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0)
            .collect();
        let mut out = vec![0f32; windows * n * c];
        window_attention(&qkv, &bias, &mut out, n, heads, hd);
        for w in 0..windows {
            for h in 0..heads {
                for i in 0..n {
                    let tok = |t: usize, part: usize, d: usize| {
                        qkv[((w * n + t) * 3 + part) * c + h * hd + d]
                    };
                    let mut s: Vec<f32> = (0..n)
                        .map(|j| {
                            (0..hd).map(|d| tok(i, 0, d) * tok(j, 1, d)).sum::<f32>()
                                + bias[(((w % bias_windows) * heads + h) * n + i) * n + j]
                        })
                        .collect();
                    let m = s.iter().cloned().fold(f32::MIN, f32::max);
                    let z: f32 = s
                        .iter_mut()
                        .map(|v| {
                            *v = (*v - m).exp();
                            *v
                        })
                        .sum();
                    for d in 0..hd {
                        let want: f32 = (0..n).map(|j| s[j] / z * tok(j, 2, d)).sum();
                        let got = out[(w * n + i) * c + h * hd + d];
                        assert!(
                            (got - want).abs() < 1e-5,
                            "w{w} h{h} i{i} d{d}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_exp_is_accurate() {
        if !has_fma() {
            return;
        }
        use std::arch::x86_64::*;
        let mut worst = 0f64;
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let mut out = [0f32; 8];
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), exp8(_mm256_set1_ps(x))) };
            let want = (x as f64).exp();
            worst = worst.max(((out[0] as f64 - want) / want).abs());
        }
        assert!(worst < 5e-7, "exp relative error {worst}");
    }

    #[test]
    fn window_attention_avx2_path_matches_portable() {
        let (n, heads, windows) = (64, 3, 2);
        for hd in [16, 24] {
            let c = heads * hd;
            let qkv: Vec<f32> = (0..windows * n * 3 * c)
                .map(|i| ((i * 29 % 83) as f32 - 41.0) / 60.0)
                .collect();
            let bias: Vec<f32> = (0..heads * n * n)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0)
                .collect();
            let mut fast = vec![0f32; windows * n * c];
            window_attention(&qkv, &bias, &mut fast, n, heads, hd);
            let mut slow = vec![0f32; windows * n * c];
            let (mut kt, mut sc) = (Vec::new(), Vec::new());
            for w in 0..windows {
                window_heads::<false>(
                    &qkv[w * n * 3 * c..][..n * 3 * c],
                    &bias,
                    &mut slow[w * n * c..][..n * c],
                    n,
                    heads,
                    hd,
                    &mut kt,
                    &mut sc,
                );
            }
            let d = fast
                .iter()
                .zip(&slow)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(d < 1e-5, "hd {hd}: paths differ by {d}");
        }
    }
}
