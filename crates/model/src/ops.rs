//! Small layers shared by both towers: linear, LayerNorm.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, InplaceOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::error::Result;
use crate::kernels;
use std::sync::Arc;

use crate::weights::{Vb, Weights};

/// `y = x Wᵀ + b` (optionally `+ residual`), with bias and residual written
/// into the output before the product accumulates onto it (see [`kernels`]).
#[derive(Debug, Clone)]
pub struct Linear {
    weight: LinearWeight,
    bias: Option<Vec<f32>>,
}

/// The (out, in) weight matrix of a [`Linear`].
#[derive(Clone)]
enum LinearWeight {
    /// A tensor of its own (a copy, or fused or folded weights).
    Loaded(Tensor),
    /// Read in place from the mapped checkpoint (see [`Linear::load_in_place`]).
    Mapped {
        weights: Arc<Weights>,
        name: String,
        out: usize,
        inp: usize,
    },
}

impl std::fmt::Debug for LinearWeight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinearWeight::Loaded(t) => write!(f, "Loaded({:?})", t.dims()),
            LinearWeight::Mapped { name, out, inp, .. } => {
                write!(f, "Mapped({name}, [{out}, {inp}])")
            }
        }
    }
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = s else {
        candle_core::bail!("{what}: f32 expected");
    };
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("{what}: contiguous tensor expected");
    };
    Ok(&data[a..b])
}

/// The product `x Wᵀ + b (+ residual)` for `x` (…, k) and `w` (n, k).
fn linear_run(
    bias: Option<&[f32]>,
    x: &[f32],
    xl: &Layout,
    w: &[f32],
    (n, k): (usize, usize),
    residual: Option<&[f32]>,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let mut dims = xl.dims().to_vec();
    if dims.last() != Some(&k) {
        candle_core::bail!("linear: input {:?} does not end in {k}", dims);
    }
    if w.len() != n * k {
        candle_core::bail!("linear: weight has {} values, expected {n} × {k}", w.len());
    }
    let rows = x.len() / k;
    let mut out = match residual {
        Some(r) => r.to_vec(),
        None => vec![0f32; rows * n],
    };
    if out.len() != rows * n {
        candle_core::bail!(
            "linear: residual has {} values, expected {}",
            out.len(),
            rows * n
        );
    }
    if let Some(b) = bias {
        for row in out.chunks_exact_mut(n) {
            for (o, b) in row.iter_mut().zip(b) {
                *o += b;
            }
        }
    }
    kernels::matmul_acc(x, rows, k, w, n, &mut out);
    let last = dims.len() - 1;
    dims[last] = n;
    Ok((CpuStorage::F32(out), Shape::from(dims)))
}

/// The product as a candle op: inputs x (…, k) and w (n, k), and optionally a residual (…, n).
struct LinearOp<'a> {
    bias: Option<&'a [f32]>,
}

impl CustomOp2 for LinearOp<'_> {
    fn name(&self) -> &'static str {
        "hark-linear"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        linear_run(
            self.bias,
            f32_slice(s1, l1, "linear input")?,
            l1,
            f32_slice(s2, l2, "linear weight")?,
            l2.shape().dims2()?,
            None,
        )
    }
}

impl CustomOp3 for LinearOp<'_> {
    fn name(&self) -> &'static str {
        "hark-linear-residual"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let residual = f32_slice(s3, l3, "linear residual")?;
        linear_run(
            self.bias,
            f32_slice(s1, l1, "linear input")?,
            l1,
            f32_slice(s2, l2, "linear weight")?,
            l2.shape().dims2()?,
            Some(residual),
        )
    }
}

/// A [`Linear`]'s weights at the time of a product.
enum Weight<'a> {
    Loaded(&'a Tensor),
    Mapped(MappedLinearOp<'a>),
}

/// The product with a weight matrix held outside candle (in place in the
/// mapped checkpoint): input x (…, k), and optionally a residual (…, n).
struct MappedLinearOp<'a> {
    bias: Option<&'a [f32]>,
    w: &'a [f32],
    n: usize,
    k: usize,
}

impl CustomOp1 for MappedLinearOp<'_> {
    fn name(&self) -> &'static str {
        "hark-linear-mapped"
    }
    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "linear input")?;
        linear_run(self.bias, x, l1, self.w, (self.n, self.k), None)
    }
}

impl CustomOp2 for MappedLinearOp<'_> {
    fn name(&self) -> &'static str {
        "hark-linear-mapped-residual"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "linear input")?;
        let residual = f32_slice(s2, l2, "linear residual")?;
        linear_run(self.bias, x, l1, self.w, (self.n, self.k), Some(residual))
    }
}

impl Linear {
    /// Loads `weight` (out, in) and, when `bias`, `bias` (out) under `vb`.
    pub fn load(vb: &Vb, in_dim: usize, out_dim: usize, bias: bool) -> Result<Self> {
        let weight = vb.get("weight", &[out_dim, in_dim])?;
        let bias = if bias {
            Some(vb.get("bias", &[out_dim])?)
        } else {
            None
        };
        Self::from_parts(weight, bias)
    }

    /// [`Linear::load`], but the weight matrix is read in place from the
    /// mapped checkpoint at each product instead of copied at load, where
    /// the checkpoint allows it (an aligned f32 safetensors file; otherwise
    /// it is copied as by `load`). Loading a text tower was mostly this
    /// copy: 340 MB of dense layers, ~200 ms of page faults on a cold
    /// start; in place, the pages come from the page cache as the first
    /// product reads them, and are shared with other processes.
    pub fn load_in_place(
        weights: &Arc<Weights>,
        vb: &Vb,
        in_dim: usize,
        out_dim: usize,
        bias: bool,
    ) -> Result<Self> {
        let name = vb.key("weight");
        if weights.mapped_f32(&name).is_none() || !weights.map_matrix(&name, [out_dim, in_dim])? {
            return Self::load(vb, in_dim, out_dim, bias);
        }
        let bias = if bias {
            Some(vb.get("bias", &[out_dim])?.to_vec1()?)
        } else {
            None
        };
        Ok(Self {
            weight: LinearWeight::Mapped {
                weights: Arc::clone(weights),
                name,
                out: out_dim,
                inp: in_dim,
            },
            bias,
        })
    }

    /// A linear layer from tensors already loaded (fused or folded weights).
    pub fn from_parts(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        Ok(Self {
            weight: LinearWeight::Loaded(weight.contiguous()?),
            bias: bias.map(|b| b.to_vec1()).transpose()?,
        })
    }

    /// Whether the weights are read in place from the mapped checkpoint.
    #[cfg(test)]
    pub(crate) fn is_in_place(&self) -> bool {
        matches!(self.weight, LinearWeight::Mapped { .. })
    }

    /// The bias, if any.
    #[cfg(test)]
    pub(crate) fn bias(&self) -> Option<&[f32]> {
        self.bias.as_deref()
    }

    /// The weight matrix as a tensor (a copy, if it is read in place).
    pub(crate) fn weight_tensor(&self) -> Result<Tensor> {
        match self.weights()? {
            Weight::Loaded(t) => Ok(t.clone()),
            Weight::Mapped(op) => Ok(Tensor::from_slice(
                op.w,
                (op.n, op.k),
                &candle_core::Device::Cpu,
            )?),
        }
    }

    /// The weights, as a tensor or as the product op over them in place.
    fn weights(&self) -> Result<Weight<'_>> {
        Ok(match &self.weight {
            LinearWeight::Loaded(t) => Weight::Loaded(t),
            LinearWeight::Mapped {
                weights,
                name,
                out,
                inp,
            } => Weight::Mapped(MappedLinearOp {
                bias: self.bias.as_deref(),
                // `load_in_place` checked that it maps; the file does not change.
                w: weights
                    .mapped_f32(name)
                    .ok_or_else(|| weights.err(name, "no longer readable in place"))?,
                n: *out,
                k: *inp,
            }),
        })
    }

    /// The `query`, `key` and `value` layers under `vb`, each `dim` × `dim`,
    /// fused as by [`Linear::fuse_qkv`], with each matrix copied once,
    /// straight from the mapped checkpoint into the fused one, where it can
    /// be read in place (else loaded and fused as usual).
    pub fn load_fused_qkv(
        weights: &Arc<Weights>,
        vb: &Vb,
        dim: usize,
        q_scale: f64,
    ) -> Result<Linear> {
        let parts = ["query", "key", "value"].map(|p| vb.pp(p));
        let names = parts.each_ref().map(|p| p.key("weight"));
        let mut mapped = Vec::with_capacity(3);
        for name in &names {
            match weights.mapped_f32(name) {
                Some(w) if weights.map_matrix(name, [dim, dim])? => mapped.push(w),
                _ => break,
            }
        }
        if mapped.len() < 3 {
            // One of them cannot be read in place: load the rest as usual
            // (the ones mapped above were counted as read, so copy them).
            let mut loaded = Vec::with_capacity(3);
            for (i, part) in parts.iter().enumerate() {
                let weight = match mapped.get(i) {
                    Some(w) => Tensor::from_slice(w, (dim, dim), &candle_core::Device::Cpu)?,
                    None => part.get("weight", &[dim, dim])?,
                };
                let bias = part.get("bias", &[dim])?;
                loaded.push(Self::from_parts(weight, Some(bias))?);
            }
            return Self::fuse_qkv(&loaded[0], &loaded[1], &loaded[2], q_scale);
        }
        // As `fuse_qkv` computes it: candle scales an f32 tensor by
        // `q_scale as f32`.
        let scale = q_scale as f32;
        let mut w = Vec::with_capacity(3 * dim * dim);
        w.extend(mapped[0].iter().map(|x| x * scale));
        w.extend_from_slice(mapped[1]);
        w.extend_from_slice(mapped[2]);
        let mut bias: Vec<f32> = Vec::with_capacity(3 * dim);
        for (i, part) in parts.iter().enumerate() {
            let b = part.get("bias", &[dim])?.to_vec1::<f32>()?;
            if i == 0 {
                bias.extend(b.iter().map(|x| (*x as f64 * q_scale) as f32));
            } else {
                bias.extend_from_slice(&b);
            }
        }
        Ok(Linear {
            weight: LinearWeight::Loaded(Tensor::from_vec(
                w,
                (3 * dim, dim),
                &candle_core::Device::Cpu,
            )?),
            bias: Some(bias),
        })
    }

    /// Stacks query, key and value layers into one (one matmul instead of
    /// three), folding the attention scale into the query rows.
    pub fn fuse_qkv(q: &Linear, k: &Linear, v: &Linear, q_scale: f64) -> Result<Linear> {
        let weight = Tensor::cat(
            &[
                (&q.weight_tensor()? * q_scale)?,
                k.weight_tensor()?,
                v.weight_tensor()?,
            ],
            0,
        )?;
        let bias = match (&q.bias, &k.bias, &v.bias) {
            (Some(qb), Some(kb), Some(vb)) => {
                let mut b: Vec<f32> = qb.iter().map(|x| (*x as f64 * q_scale) as f32).collect();
                b.extend_from_slice(kb);
                b.extend_from_slice(vb);
                Some(b)
            }
            _ => None,
        };
        Ok(Linear {
            weight: LinearWeight::Loaded(weight),
            bias,
        })
    }

    /// Applies the layer to the last dimension of `x`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = x.contiguous()?;
        let bias = self.bias.as_deref();
        Ok(match self.weights()? {
            Weight::Loaded(w) => x.apply_op2_no_bwd(w, &LinearOp { bias })?,
            Weight::Mapped(op) => x.apply_op1_no_bwd(&op)?,
        })
    }

    /// `residual + self(x)`, the residual written into the output first.
    pub fn forward_add(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor> {
        let x = x.contiguous()?;
        let residual = residual.contiguous()?;
        let bias = self.bias.as_deref();
        Ok(match self.weights()? {
            Weight::Loaded(w) => x.apply_op3_no_bwd(w, &residual, &LinearOp { bias })?,
            Weight::Mapped(op) => x.apply_op2_no_bwd(&residual, &op)?,
        })
    }
}

/// Exact (erf) GELU, in place on a fresh tensor.
pub fn gelu(x: Tensor) -> Result<Tensor> {
    struct Gelu;
    impl InplaceOp1 for Gelu {
        fn name(&self) -> &'static str {
            "hark-gelu"
        }
        fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> candle_core::Result<()> {
            let CpuStorage::F32(data) = s else {
                candle_core::bail!("gelu: f32 expected");
            };
            let Some((a, b)) = l.contiguous_offsets() else {
                candle_core::bail!("gelu: contiguous tensor expected");
            };
            kernels::gelu(&mut data[a..b]);
            Ok(())
        }
    }
    let x = x.contiguous()?;
    x.inplace_op1(&Gelu)?;
    Ok(x)
}

/// Window attention straight from the fused q/k/v projection (see
/// [`kernels::window_attention`]): `qkv` (B, L, 3C) in window order, `bias`
/// (windows or 1, heads, n, n); returns (B, L, C).
pub fn window_attention(qkv: &Tensor, bias: &Tensor, heads: usize) -> Result<Tensor> {
    struct Op {
        heads: usize,
    }
    impl CustomOp2 for Op {
        fn name(&self) -> &'static str {
            "hark-window-attention"
        }
        fn cpu_fwd(
            &self,
            s1: &CpuStorage,
            l1: &Layout,
            s2: &CpuStorage,
            l2: &Layout,
        ) -> candle_core::Result<(CpuStorage, Shape)> {
            let qkv = f32_slice(s1, l1, "attention qkv")?;
            let bias = f32_slice(s2, l2, "attention bias")?;
            let (b, l, c3) = l1.shape().dims3()?;
            let (_, heads, n, n2) = l2.shape().dims4()?;
            if heads != self.heads || n != n2 || l % n != 0 || c3 % (3 * heads) != 0 {
                candle_core::bail!(
                    "window attention: qkv {:?} and bias {:?} do not fit",
                    l1.dims(),
                    l2.dims()
                );
            }
            let c = c3 / 3;
            let mut out = vec![0f32; b * l * c];
            kernels::window_attention(qkv, bias, &mut out, n, heads, c / heads);
            Ok((CpuStorage::F32(out), Shape::from((b, l, c))))
        }
    }
    Ok(qkv
        .contiguous()?
        .apply_op2_no_bwd(&bias.contiguous()?, &Op { heads })?)
}

/// LayerNorm over the last dimension.
///
/// candle-nn's fused kernel takes the variance as E\[x²\] − E\[x\]² in f32, which
/// loses digits on residual streams with a large mean; this one makes two
/// passes (mean, then centred variance) like PyTorch, and runs rows in parallel.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    /// Loads `weight` and `bias` of width `dim` under `vb`.
    pub fn load(vb: &Vb, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.get("weight", &[dim])?.to_vec1()?,
            bias: vb.get("bias", &[dim])?.to_vec1()?,
            eps: eps as f32,
        })
    }

    /// Normalises the last dimension of `x`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = x.contiguous()?;
        Ok(x.apply_op1_no_bwd(self)?)
    }
}

impl CustomOp1 for LayerNorm {
    fn name(&self) -> &'static str {
        "hark-layer-norm"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let src = f32_slice(storage, layout, "layer norm input")?;
        let dim = self.weight.len();
        if src.len() % dim != 0 || *layout.dims().last().unwrap_or(&0) != dim {
            candle_core::bail!("layer norm: last dimension is not {dim}");
        }
        let mut out = vec![0f32; src.len()];
        let rows_per_task = (16384 / dim).max(1);
        out.par_chunks_mut(dim * rows_per_task)
            .zip(src.par_chunks(dim * rows_per_task))
            .for_each(|(o, s)| {
                for (orow, srow) in o.chunks_exact_mut(dim).zip(s.chunks_exact(dim)) {
                    let mean = lane_sum(srow, |v| v) / dim as f32;
                    let var = lane_sum(srow, |v| (v - mean) * (v - mean)) / dim as f32;
                    let inv = 1.0 / (var + self.eps).sqrt();
                    for i in 0..dim {
                        orow[i] = (srow[i] - mean) * inv * self.weight[i] + self.bias[i];
                    }
                }
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// Sum of `f(v)` over `values` in 8 independent lanes, which the compiler
/// vectorises (a plain running sum is one serial chain of float adds).
#[inline(always)]
fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0f32; 8];
    let (body, tail) = values.as_chunks::<8>();
    for chunk in body {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += f(*v);
        }
    }
    lanes.iter().sum::<f32>() + tail.iter().map(|v| f(*v)).sum::<f32>()
}

/// Scales each row of `x` (…, d) to unit L2 norm, as `F.normalize` (eps 1e-12).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(candle_core::D::Minus1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}

/// The two-layer projection head: linear, ReLU, linear.
#[derive(Debug, Clone)]
pub struct Projection {
    linear1: Linear,
    linear2: Linear,
}

impl Projection {
    /// Loads `linear1` (in → dim) and `linear2` (dim → dim) under `vb`.
    pub fn load(vb: &Vb, in_dim: usize, dim: usize) -> Result<Self> {
        Ok(Self {
            linear1: Linear::load(&vb.pp("linear1"), in_dim, dim, true)?,
            linear2: Linear::load(&vb.pp("linear2"), dim, dim, true)?,
        })
    }

    /// Projects and L2-normalises.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.linear1.forward(x)?.relu()?;
        l2_normalize(&self.linear2.forward(&h)?)
    }
}
