//! Small layers shared by both towers: linear, LayerNorm.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::error::Result;
use crate::weights::Vb;

/// `y = x W^T + b`, reading `W` straight from the checkpoint (no copy).
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
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
        Ok(Self { weight, bias })
    }

    /// A linear layer from tensors already loaded (fused or folded weights).
    pub fn from_parts(weight: Tensor, bias: Option<Tensor>) -> Self {
        Self { weight, bias }
    }

    /// The (out, in) weight.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// Stacks query, key and value layers into one (one matmul instead of
    /// three), folding the attention scale into the query rows.
    pub fn fuse_qkv(q: &Linear, k: &Linear, v: &Linear, q_scale: f64) -> Result<Linear> {
        let weight = Tensor::cat(
            &[(&q.weight * q_scale)?, k.weight.clone(), v.weight.clone()],
            0,
        )?;
        let bias = match (&q.bias, &k.bias, &v.bias) {
            (Some(qb), Some(kb), Some(vb)) => {
                Some(Tensor::cat(&[(qb * q_scale)?, kb.clone(), vb.clone()], 0)?)
            }
            _ => None,
        };
        Ok(Linear { weight, bias })
    }

    /// Applies the layer to the last dimension of `x`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let in_dim = dims[dims.len() - 1];
        let rows = x.elem_count() / in_dim;
        let x2 = x.reshape((rows, in_dim))?;
        let mut y = x2.matmul(&self.weight.t()?)?;
        if let Some(b) = &self.bias {
            y = y.broadcast_add(b)?;
        }
        let mut out_dims = dims;
        let last = out_dims.len() - 1;
        out_dims[last] = self.weight.dim(0)?;
        Ok(y.reshape(out_dims)?)
    }
}

/// LayerNorm over the last dimension.
///
/// candle-nn's fused kernel takes the variance as E[x²] − E[x]² in f32, which
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
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("layer norm: f32 input expected");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("layer norm: contiguous input expected");
        };
        let dim = self.weight.len();
        let src = &data[start..end];
        if src.len() % dim != 0 || *layout.dims().last().unwrap_or(&0) != dim {
            candle_core::bail!("layer norm: last dimension is not {dim}");
        }
        let mut out = vec![0f32; src.len()];
        let rows_per_task = (16384 / dim).max(1);
        out.par_chunks_mut(dim * rows_per_task)
            .zip(src.par_chunks(dim * rows_per_task))
            .for_each(|(o, s)| {
                for (orow, srow) in o.chunks_exact_mut(dim).zip(s.chunks_exact(dim)) {
                    let mean = srow.iter().sum::<f32>() / dim as f32;
                    let var =
                        srow.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / dim as f32;
                    let inv = 1.0 / (var + self.eps).sqrt();
                    for i in 0..dim {
                        orow[i] = (srow[i] - mean) * inv * self.weight[i] + self.bias[i];
                    }
                }
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
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
