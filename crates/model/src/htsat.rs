//! The audio tower: HTSAT (a Swin transformer over the spectrogram image) with
//! CLAP's attentional feature fusion (AFF) of local crops, then the projection.
//!
//! Mirrors `ClapAudioModel` + `audio_projection` of transformers'
//! `modeling_clap.py`; struct names follow the reference modules and `pp`
//! strings are checkpoint keys. Inference-only choices, each exact up to
//! float rounding: BatchNorms are folded into scales or into the 1×1 convs
//! before them; the query projection absorbs `1/sqrt(head_dim)`; q, k and v
//! are one matmul; each block's relative position bias and shift mask are
//! summed once at load; the cyclic shift and window partition are one gather.

use candle_core::{Device, IndexOp, Tensor};

use crate::config::ClapAudioConfig;
use crate::error::{Error, Result};
use crate::ops::{gelu, window_attention, LayerNorm, Linear, Projection};
use crate::weights::{Vb, Weights};
use std::sync::Arc;

/// BatchNorm (eval mode) as a per-channel `x * scale + shift`.
struct FoldedBatchNorm {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl FoldedBatchNorm {
    fn load(vb: &Vb, channels: usize) -> Result<Self> {
        let eps = 1e-5f32;
        let w: Vec<f32> = vb.get("weight", &[channels])?.to_vec1()?;
        let b: Vec<f32> = vb.get("bias", &[channels])?.to_vec1()?;
        let mean: Vec<f32> = vb.get("running_mean", &[channels])?.to_vec1()?;
        let var: Vec<f32> = vb.get("running_var", &[channels])?.to_vec1()?;
        let scale: Vec<f32> = w
            .iter()
            .zip(&var)
            .map(|(w, v)| w / (v + eps).sqrt())
            .collect();
        let shift = b
            .iter()
            .zip(&mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        Ok(Self { scale, shift })
    }
}

/// A 1×1 convolution followed by a BatchNorm, folded into one linear layer.
fn conv1x1_bn(conv: &Vb, bn: &Vb, cin: usize, cout: usize) -> Result<Linear> {
    let w = conv
        .get("weight", &[cout, cin, 1, 1])?
        .reshape((cout, cin))?;
    let b = conv.get("bias", &[cout])?;
    let bn = FoldedBatchNorm::load(bn, cout)?;
    let scale = Tensor::new(bn.scale.as_slice(), &Device::Cpu)?;
    let shift = Tensor::new(bn.shift.as_slice(), &Device::Cpu)?;
    let w = w.broadcast_mul(&scale.unsqueeze(1)?)?;
    let b = ((b * &scale)? + shift)?;
    Linear::from_parts(w, Some(b))
}

/// `ClapAudioAFFBlock`: fuses the global patch embedding with the local one.
struct AffBlock {
    local1: Linear,
    local2: Linear,
    global1: Linear,
    global2: Linear,
}

impl AffBlock {
    fn load(vb: &Vb, channels: usize, r: usize) -> Result<Self> {
        let inter = channels / r;
        let l = vb.pp("local_att");
        let g = vb.pp("global_att");
        // local_att = [conv, bn, relu, conv, bn]; global_att = [pool, conv, bn, relu, conv, bn].
        Ok(Self {
            local1: conv1x1_bn(&l.pp(0), &l.pp(1), channels, inter)?,
            local2: conv1x1_bn(&l.pp(3), &l.pp(4), inter, channels)?,
            global1: conv1x1_bn(&g.pp(1), &g.pp(2), channels, inter)?,
            global2: conv1x1_bn(&g.pp(4), &g.pp(5), inter, channels)?,
        })
    }

    /// `x` and `residual` are (B, tokens, C).
    fn forward(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor> {
        let xa = (x + residual)?;
        let local = self.local2.forward(&self.local1.forward(&xa)?.relu()?)?;
        let pooled = xa.mean_keepdim(1)?;
        let global = self
            .global2
            .forward(&self.global1.forward(&pooled)?.relu()?)?;
        let w = candle_nn::ops::sigmoid(&local.broadcast_add(&global)?)?;
        // 2·x·w + 2·r·(1 − w)
        let a = (x * &w)?;
        let b = (residual * (1.0 - &w)?)?;
        Ok(((a + b)? * 2.0)?)
    }
}

/// `ClapAudioPatchEmbed` with fusion: a 4×4 conv of the global image, (4, 12)
/// convs of the three local crops laid side by side, fused by the AFF block.
/// Both convolutions have stride equal to kernel, so each is a reshape and a
/// matmul (candle's conv2d has one scalar stride).
struct PatchEmbed {
    proj: Linear,
    mel_conv: Linear,
    fusion: AffBlock,
    norm: Option<LayerNorm>,
    patch: usize,
    grid: usize,
}

impl PatchEmbed {
    fn load(vb: &Vb, cfg: &ClapAudioConfig) -> Result<Self> {
        let p = cfg.patch_size.pair().0;
        let c = cfg.patch_embeds_hidden_size;
        let proj_w = vb
            .pp("proj")
            .get("weight", &[c, 1, p, p])?
            .reshape((c, p * p))?;
        let proj_b = vb.pp("proj").get("bias", &[c])?;
        let mel_w = vb
            .pp("mel_conv2d")
            .get("weight", &[c, 1, p, 3 * p])?
            .reshape((c, 3 * p * p))?;
        let mel_b = vb.pp("mel_conv2d").get("bias", &[c])?;
        let norm = if cfg.enable_patch_layer_norm {
            Some(LayerNorm::load(&vb.pp("norm"), c, 1e-5)?)
        } else {
            None
        };
        Ok(Self {
            proj: Linear::from_parts(proj_w, Some(proj_b))?,
            mel_conv: Linear::from_parts(mel_w, Some(mel_b))?,
            fusion: AffBlock::load(&vb.pp("fusion_model"), c, cfg.aff_block_r)?,
            norm,
            patch: p,
            grid: cfg.spec_size / p,
        })
    }

    /// `image` is (B, 4, S, S); returns (B, grid², C) tokens in row-major grid order.
    fn forward(&self, image: &Tensor) -> Result<Tensor> {
        let (b, _, s, _) = image.dims4()?;
        let (p, g) = (self.patch, self.grid);
        // Global branch: channel 0, patches of p×p.
        let global = image
            .i((.., 0, .., ..))?
            .reshape((b, g, p, g, p))?
            .permute((0, 1, 3, 2, 4))?
            .reshape((b, g * g, p * p))?;
        let global = self.proj.forward(&global)?;
        // Local branch: channels 1-3, patches of p×3p; the leftover columns are dropped as by the conv.
        let lw = s / (3 * p);
        let local = image
            .i((.., 1..4, .., ..lw * 3 * p))?
            .reshape((b, 3, g, p, lw, 3 * p))?
            .permute((0, 2, 1, 4, 3, 5))?
            .reshape((b, g, 3 * lw, 3 * p * p))?;
        let local = self.mel_conv.forward(&local)?;
        let c = local.dim(3)?;
        let local = if 3 * lw < g {
            local.pad_with_zeros(2, 0, g - 3 * lw)?
        } else {
            local
        };
        let local = local.reshape((b, g * g, c))?;
        let fused = self.fusion.forward(&global, &local)?;
        match &self.norm {
            Some(n) => n.forward(&fused),
            None => Ok(fused),
        }
    }
}

/// Relative position index of a `w`×`w` window, recomputed as the reference does.
fn relative_position_index(w: usize) -> Vec<u32> {
    let n = w * w;
    let mut idx = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let dh = (i / w) as isize - (j / w) as isize + w as isize - 1;
            let dw = (i % w) as isize - (j % w) as isize + w as isize - 1;
            idx.push((dh * (2 * w as isize - 1) + dw) as u32);
        }
    }
    idx
}

/// Gather indices that apply the cyclic shift and the window partition in one
/// step, and the inverse that undoes both.
fn window_gather(res: usize, w: usize, shift: usize) -> (Vec<u32>, Vec<u32>) {
    let nw = res / w;
    let mut fwd = Vec::with_capacity(res * res);
    for wh in 0..nw {
        for ww in 0..nw {
            for ih in 0..w {
                for iw in 0..w {
                    let h = (wh * w + ih + shift) % res;
                    let x = (ww * w + iw + shift) % res;
                    fwd.push((h * res + x) as u32);
                }
            }
        }
    }
    let mut inv = vec![0u32; fwd.len()];
    for (p, &src) in fwd.iter().enumerate() {
        inv[src as usize] = p as u32;
    }
    (fwd, inv)
}

/// The shifted-window mask: 0 within a region, −100 across regions;
/// (num_windows, w², w²). Regions follow `get_attn_mask` of the reference.
fn shift_mask(res: usize, w: usize, shift: usize) -> Vec<f32> {
    let region = |i: usize| usize::from(i >= res - w) + usize::from(i >= res - shift);
    let nw = res / w;
    let n = w * w;
    let mut mask = Vec::with_capacity(nw * nw * n * n);
    for wh in 0..nw {
        for ww in 0..nw {
            let ids: Vec<usize> = (0..n)
                .map(|k| region(wh * w + k / w) * 3 + region(ww * w + k % w))
                .collect();
            for &a in &ids {
                for &b in &ids {
                    mask.push(if a == b { 0.0 } else { -100.0 });
                }
            }
        }
    }
    mask
}

/// `ClapAudioLayer`: one Swin block (window attention and MLP, both residual).
struct SwinBlock {
    norm1: LayerNorm,
    qkv: Linear,
    out: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    /// (num_windows or 1, heads, w², w²): position bias plus shift mask.
    bias: Tensor,
    gather: Option<(Tensor, Tensor)>,
    heads: usize,
}

impl SwinBlock {
    fn load(
        weights: &Arc<Weights>,
        vb: &Vb,
        cfg: &ClapAudioConfig,
        dim: usize,
        heads: usize,
        res: usize,
        shift: usize,
    ) -> Result<Self> {
        // As the reference: a grid no larger than the window is one unshifted window.
        let (window, shift) = if res <= cfg.window_size {
            (res, 0)
        } else {
            (cfg.window_size, shift)
        };
        let a = vb.pp("attention");
        let sa = a.pp("self");
        let hd = dim / heads;
        let scale = 1.0 / (hd as f64).sqrt();
        let q = Linear::load(&sa.pp("query"), dim, dim, cfg.qkv_bias)?;
        let k = Linear::load(&sa.pp("key"), dim, dim, cfg.qkv_bias)?;
        let v = Linear::load(&sa.pp("value"), dim, dim, cfg.qkv_bias)?;
        let qkv = Linear::fuse_qkv(&q, &k, &v, scale)?;
        let cw = cfg.window_size;
        let table = sa.get(
            "relative_position_bias_table",
            &[(2 * cw - 1) * (2 * cw - 1), heads],
        )?;
        let n = window * window;
        let index = Tensor::from_vec(relative_position_index(window), n * n, &Device::Cpu)?;
        let rel = table
            .index_select(&index, 0)?
            .reshape((n, n, heads))?
            .permute((2, 0, 1))?;
        let bias = if shift > 0 {
            let nw = (res / window) * (res / window);
            let mask =
                Tensor::from_vec(shift_mask(res, window, shift), (nw, 1, n, n), &Device::Cpu)?;
            mask.broadcast_add(&rel.unsqueeze(0)?)?
        } else {
            rel.unsqueeze(0)?
        }
        .contiguous()?;
        let gather = if res == window && shift == 0 {
            None
        } else {
            let (f, i) = window_gather(res, window, shift);
            let len = f.len();
            Some((
                Tensor::from_vec(f, len, &Device::Cpu)?,
                Tensor::from_vec(i, len, &Device::Cpu)?,
            ))
        };
        let mlp = (cfg.mlp_ratio * dim as f64) as usize;
        Ok(Self {
            norm1: LayerNorm::load(&vb.pp("layernorm_before"), dim, cfg.layer_norm_eps)?,
            qkv,
            out: Linear::load_in_place(weights, &a.pp("output").pp("dense"), dim, dim, true)?,
            norm2: LayerNorm::load(&vb.pp("layernorm_after"), dim, cfg.layer_norm_eps)?,
            fc1: Linear::load_in_place(
                weights,
                &vb.pp("intermediate").pp("dense"),
                dim,
                mlp,
                true,
            )?,
            fc2: Linear::load_in_place(weights, &vb.pp("output").pp("dense"), mlp, dim, true)?,
            bias,
            gather,
            heads,
        })
    }

    /// `x` is (B, res², C) in grid order.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.norm1.forward(x)?;
        let h = match &self.gather {
            Some((fwd, _)) => h.index_select(fwd, 1)?,
            None => h,
        };
        let ctx = window_attention(&self.qkv.forward(&h)?, &self.bias, self.heads)?;
        // Back to grid order before the output projection (it acts per token),
        // so the residual can be added inside the product.
        let ctx = match &self.gather {
            Some((_, inv)) => ctx.index_select(inv, 1)?,
            None => ctx,
        };
        let x = self.out.forward_add(&ctx, x)?;
        let m = gelu(self.fc1.forward(&self.norm2.forward(&x)?)?)?;
        self.fc2.forward_add(&m, &x)
    }
}

/// `ClapAudioPatchMerging`: 2×2 neighbours concatenated, LayerNorm, linear to 2C.
struct PatchMerging {
    norm: LayerNorm,
    reduction: Linear,
}

impl PatchMerging {
    fn load(weights: &Arc<Weights>, vb: &Vb, dim: usize) -> Result<Self> {
        Ok(Self {
            norm: LayerNorm::load(&vb.pp("norm"), 4 * dim, 1e-5)?,
            reduction: Linear::load_in_place(
                weights,
                &vb.pp("reduction"),
                4 * dim,
                2 * dim,
                false,
            )?,
        })
    }

    fn forward(&self, x: &Tensor, res: usize) -> Result<Tensor> {
        let (b, _, c) = x.dims3()?;
        let half = res / 2;
        // Order of the reference's cat: (row 0, col 0), (1, 0), (0, 1), (1, 1).
        let x = x
            .reshape((b, half, 2, half, 2, c))?
            .permute((0, 1, 3, 4, 2, 5))?
            .reshape((b, half * half, 4 * c))?;
        self.reduction.forward(&self.norm.forward(&x)?)
    }
}

struct Stage {
    blocks: Vec<SwinBlock>,
    downsample: Option<PatchMerging>,
    res: usize,
}

impl Stage {
    /// The stage's blocks, then its patch merging where it has one.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        match &self.downsample {
            Some(d) => d.forward(&x, self.res),
            None => Ok(x),
        }
    }
}

/// Block outputs, for the parity tests at block boundaries (feature
/// `trace`, which hark-model's own tests turn on).
#[cfg(feature = "trace")]
#[derive(Debug, Default)]
pub struct AudioTrace {
    /// The (B, 4, S, S) spectrogram image after BatchNorm and reshape.
    pub image: Option<Tensor>,
    /// Patch embedding output (B, tokens, C).
    pub patch_embed: Option<Tensor>,
    /// Each stage's output (after patch merging where it has one).
    pub stages: Vec<Tensor>,
    /// Final LayerNorm output (B, tokens, hidden).
    pub final_norm: Option<Tensor>,
    /// Mean over tokens (B, hidden).
    pub pooled: Option<Tensor>,
}

/// The HTSAT audio tower with its projection.
pub struct AudioTower {
    bn_scale: Vec<f32>,
    bn_shift: Vec<f32>,
    cubic: Vec<([usize; 4], [f32; 4])>,
    patch_embed: PatchEmbed,
    stages: Vec<Stage>,
    norm: LayerNorm,
    projection: Projection,
    n_mels: usize,
    spec: usize,
    chunk_frames: usize,
}

/// Source taps and weights of PyTorch's bicubic resize (A = −0.75,
/// align_corners=true) from `input` to `output` samples, computed in f32 in
/// the reference's order (f64 weights drift by ~2e-4 from it).
fn bicubic_taps(input: usize, output: usize) -> Vec<([usize; 4], [f32; 4])> {
    const A: f32 = -0.75;
    let cc1 = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let cc2 = |x: f32| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    let scale = if output > 1 {
        (input - 1) as f32 / (output - 1) as f32
    } else {
        0.0
    };
    (0..output)
        .map(|i| {
            let real = scale * i as f32;
            let idx = real.floor();
            let t = real - idx;
            let idx = idx as isize;
            let taps = [-1isize, 0, 1, 2].map(|o| (idx + o).clamp(0, input as isize - 1) as usize);
            (taps, [cc2(t + 1.0), cc1(t), cc1(1.0 - t), cc2(2.0 - t)])
        })
        .collect()
}

impl AudioTower {
    /// Loads the tower from `audio_model.audio_encoder.*` and
    /// `audio_projection.*`; the dense layers' weights are read in place
    /// from the mapped checkpoint where it allows (see
    /// [`Linear::load_in_place`]).
    pub fn load(
        weights: &Arc<Weights>,
        cfg: &ClapAudioConfig,
        chunk_frames: usize,
    ) -> Result<Self> {
        let root = &weights.pp("");
        let enc = root.pp("audio_model").pp("audio_encoder");
        let bn = FoldedBatchNorm::load(&enc.pp("batch_norm"), cfg.num_mel_bins)?;
        let patch_embed = PatchEmbed::load(&enc.pp("patch_embed"), cfg)?;
        let grid = patch_embed.grid;
        let mut stages = Vec::new();
        let n = cfg.depths.len();
        for (s, (&depth, &heads)) in cfg.depths.iter().zip(&cfg.num_attention_heads).enumerate() {
            let vb = enc.pp("layers").pp(s);
            let dim = cfg.patch_embeds_hidden_size << s;
            let res = grid >> s;
            let blocks = (0..depth)
                .map(|i| {
                    let shift = if i % 2 == 0 { 0 } else { cfg.window_size / 2 };
                    SwinBlock::load(weights, &vb.pp("blocks").pp(i), cfg, dim, heads, res, shift)
                })
                .collect::<Result<Vec<_>>>()?;
            let downsample = if s + 1 < n {
                Some(PatchMerging::load(weights, &vb.pp("downsample"), dim)?)
            } else {
                None
            };
            stages.push(Stage {
                blocks,
                downsample,
                res,
            });
        }
        let spec = cfg.spec_size;
        let freq_ratio = spec / cfg.num_mel_bins;
        Ok(Self {
            bn_scale: bn.scale,
            bn_shift: bn.shift,
            cubic: bicubic_taps(chunk_frames, spec * freq_ratio),
            patch_embed,
            stages,
            norm: LayerNorm::load(&enc.pp("norm"), cfg.hidden_size, cfg.layer_norm_eps)?,
            projection: Projection::load(
                &root.pp("audio_projection"),
                cfg.hidden_size,
                cfg.projection_dim,
            )?,
            n_mels: cfg.num_mel_bins,
            spec,
            chunk_frames,
        })
    }

    /// `reshape_mel2img` after the input BatchNorm: features of `clips` clips
    /// (each 4 × chunk_frames × n_mels) to a (B, 4, S, S) image. Time is
    /// resized to `S · freq_ratio` frames (bicubic), then cut into
    /// `freq_ratio` segments stacked along the mel axis: row = segment·n_mels + bin.
    fn image(&self, features: &[f32], clips: usize) -> Result<Tensor> {
        let (m, t_in, s) = (self.n_mels, self.chunk_frames, self.spec);
        let per_channel = t_in * m;
        if features.len() != clips * 4 * per_channel {
            return Err(Error::Input(format!(
                "audio features: {} values, expected {} clips × 4 × {t_in} × {m}",
                features.len(),
                clips
            )));
        }
        let seg = s; // frames per segment after the resize
        let mut img = vec![0f32; clips * 4 * s * s];
        let mut normed = vec![0f32; per_channel];
        for (src, dst) in features
            .chunks_exact(per_channel)
            .zip(img.chunks_exact_mut(s * s))
        {
            for (i, (o, &x)) in normed.iter_mut().zip(src).enumerate() {
                *o = x * self.bn_scale[i % m] + self.bn_shift[i % m];
            }
            for (t, (taps, w)) in self.cubic.iter().enumerate() {
                let (segment, col) = (t / seg, t % seg);
                for f in 0..m {
                    let mut acc = normed[taps[0] * m + f] * w[0];
                    acc += normed[taps[1] * m + f] * w[1];
                    acc += normed[taps[2] * m + f] * w[2];
                    acc += normed[taps[3] * m + f] * w[3];
                    dst[(segment * m + f) * s + col] = acc;
                }
            }
        }
        Ok(Tensor::from_vec(img, (clips, 4, s, s), &Device::Cpu)?)
    }

    /// Embeds `clips` clips of front-end features; returns (B, dim) unit vectors.
    pub fn forward(&self, features: &[f32], clips: usize) -> Result<Tensor> {
        let image = self.image(features, clips)?;
        let mut x = self.patch_embed.forward(&image)?;
        for stage in &self.stages {
            x = stage.forward(&x)?;
        }
        let x = self.norm.forward(&x)?;
        // The reference regroups the tokens before its average pool; a mean is order-free.
        let pooled = x.mean(1)?;
        self.projection.forward(&pooled)
    }

    /// As [`AudioTower::forward`], also recording block outputs: the same
    /// steps, each output kept.
    #[cfg(feature = "trace")]
    pub fn forward_traced(&self, features: &[f32], clips: usize) -> Result<(Tensor, AudioTrace)> {
        let image = self.image(features, clips)?;
        let mut x = self.patch_embed.forward(&image)?;
        let mut trace = AudioTrace {
            patch_embed: Some(x.clone()),
            image: Some(image),
            ..AudioTrace::default()
        };
        for stage in &self.stages {
            x = stage.forward(&x)?;
            trace.stages.push(x.clone());
        }
        let x = self.norm.forward(&x)?;
        let pooled = x.mean(1)?;
        let embedding = self.projection.forward(&pooled)?;
        trace.final_norm = Some(x);
        trace.pooled = Some(pooled);
        Ok((embedding, trace))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dense_layers_read_the_mapped_checkpoint_in_place() {
        let clap = crate::tiny_model();
        let tower = clap.audio_tower().unwrap();
        assert!(!tower.stages.is_empty());
        for (s, stage) in tower.stages.iter().enumerate() {
            for (b, block) in stage.blocks.iter().enumerate() {
                assert!(block.out.is_in_place(), "stage {s} block {b}: output");
                assert!(block.fc1.is_in_place(), "stage {s} block {b}: fc1");
                assert!(block.fc2.is_in_place(), "stage {s} block {b}: fc2");
            }
            if let Some(down) = &stage.downsample {
                assert!(down.reduction.is_in_place(), "stage {s}: reduction");
            }
        }
    }
}
