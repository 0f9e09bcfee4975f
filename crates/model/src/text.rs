//! The text tower: RoBERTa, its pooler, and the projection.
//!
//! Mirrors `ClapTextModel` + `text_projection` of transformers'
//! `modeling_clap.py`. candle-transformers' `xlm_roberta` computes the same
//! encoder but wants config fields CLAP's `text_config` lacks and has no
//! pooler, so the ~100 lines are written here, with q, k and v fused into one
//! matmul and the attention scale folded into the query weights.

use candle_core::{Device, IndexOp, Tensor};

use crate::config::ClapTextConfig;
use crate::error::{Error, Result};
use crate::ops::{gelu, window_attention, LayerNorm, Linear, Projection};
use std::sync::Arc;

use crate::weights::{Vb, Weights};

struct TextLayer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    out_norm: LayerNorm,
    heads: usize,
}

impl TextLayer {
    fn load(weights: &Arc<Weights>, vb: &Vb, cfg: &ClapTextConfig) -> Result<Self> {
        let d = cfg.hidden_size;
        let sa = vb.pp("attention").pp("self");
        let scale = 1.0 / ((d / cfg.num_attention_heads) as f64).sqrt();
        let qkv = Linear::load_fused_qkv(weights, &sa, d, scale)?;
        let out = vb.pp("attention").pp("output");
        Ok(Self {
            qkv,
            attn_out: Linear::load_in_place(weights, &out.pp("dense"), d, d, true)?,
            attn_norm: LayerNorm::load(&out.pp("LayerNorm"), d, cfg.layer_norm_eps)?,
            fc1: Linear::load_in_place(
                weights,
                &vb.pp("intermediate").pp("dense"),
                d,
                cfg.intermediate_size,
                true,
            )?,
            fc2: Linear::load_in_place(
                weights,
                &vb.pp("output").pp("dense"),
                cfg.intermediate_size,
                d,
                true,
            )?,
            out_norm: LayerNorm::load(&vb.pp("output").pp("LayerNorm"), d, cfg.layer_norm_eps)?,
            heads: cfg.num_attention_heads,
        })
    }

    /// `x` (B, L, D); `mask` (B or 1, heads, L, L) additive.
    fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        // One "window" per text: the kernel the audio tower uses, with the padding mask as bias.
        let ctx = window_attention(&self.qkv.forward(x)?, mask, self.heads)?;
        let h = self
            .attn_norm
            .forward(&self.attn_out.forward_add(&ctx, x)?)?;
        let m = gelu(self.fc1.forward(&h)?)?;
        self.out_norm.forward(&self.fc2.forward_add(&m, &h)?)
    }
}

/// The word embedding table: 50265 × 768 floats (154 MB) of which a query
/// reads a handful of rows, so they are read in place from the mapped
/// checkpoint rather than copied at load.
enum WordTable {
    Mapped { weights: Arc<Weights>, name: String },
    Loaded(Tensor),
}

impl WordTable {
    fn gather(&self, ids: &[u32], dim: usize) -> Result<Tensor> {
        match self {
            WordTable::Loaded(t) => {
                let idx = Tensor::new(ids, &Device::Cpu)?;
                Ok(t.index_select(&idx, 0)?)
            }
            WordTable::Mapped { weights, name } => {
                let mut rows = Vec::with_capacity(ids.len() * dim);
                for &id in ids {
                    weights.mapped_row(name, id as usize, &mut rows)?;
                }
                Ok(Tensor::from_vec(rows, (ids.len(), dim), &Device::Cpu)?)
            }
        }
    }
}

/// The RoBERTa text tower with pooler and projection.
pub struct TextTower {
    word: WordTable,
    hidden: usize,
    vocab: usize,
    position: Tensor,
    token_type0: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<TextLayer>,
    pooler: Linear,
    projection: Projection,
    pad_id: u32,
    max_positions: usize,
}

impl TextTower {
    /// Loads `text_model.*` and `text_projection.*` from `weights`.
    pub fn load(weights: &Arc<Weights>, cfg: &ClapTextConfig) -> Result<Self> {
        let root = weights.pp("");
        let tm = root.pp("text_model");
        let emb = tm.pp("embeddings");
        let d = cfg.hidden_size;
        let token_type = emb
            .pp("token_type_embeddings")
            .get("weight", &[cfg.type_vocab_size, d])?;
        let word_name = emb.pp("word_embeddings").key("weight");
        let word = if weights.map_matrix(&word_name, [cfg.vocab_size, d])? {
            WordTable::Mapped {
                weights: Arc::clone(weights),
                name: word_name,
            }
        } else {
            WordTable::Loaded(
                emb.pp("word_embeddings")
                    .get("weight", &[cfg.vocab_size, d])?,
            )
        };
        Ok(Self {
            word,
            hidden: d,
            vocab: cfg.vocab_size,
            position: emb
                .pp("position_embeddings")
                .get("weight", &[cfg.max_position_embeddings, d])?,
            token_type0: token_type.i(0)?,
            emb_norm: LayerNorm::load(&emb.pp("LayerNorm"), d, cfg.layer_norm_eps)?,
            layers: (0..cfg.num_hidden_layers)
                .map(|i| TextLayer::load(weights, &tm.pp("encoder").pp("layer").pp(i), cfg))
                .collect::<Result<_>>()?,
            pooler: Linear::load_in_place(weights, &tm.pp("pooler").pp("dense"), d, d, true)?,
            projection: Projection::load(&root.pp("text_projection"), d, cfg.projection_dim)?,
            pad_id: cfg.pad_token_id,
            max_positions: cfg.max_position_embeddings,
        })
    }

    /// Longest token sequence the position table allows.
    pub fn max_tokens(&self) -> usize {
        self.max_positions - self.pad_id as usize - 1
    }

    /// Embeds token id sequences (with their special tokens); sequences of
    /// different lengths are padded here. Returns (B, dim) unit vectors.
    pub fn forward(&self, ids: &[Vec<u32>]) -> Result<Tensor> {
        let (pooled, _) = self.pooled(ids)?;
        self.projection.forward(&pooled)
    }

    /// The pooler output (B, hidden) and the padded ids, for parity tests.
    pub fn pooled(&self, ids: &[Vec<u32>]) -> Result<(Tensor, Vec<Vec<u32>>)> {
        let b = ids.len();
        let l = ids.iter().map(Vec::len).max().unwrap_or(0);
        if b == 0 || l == 0 {
            return Err(Error::Input("no tokens to embed".into()));
        }
        if l > self.max_tokens() {
            return Err(Error::Input(format!(
                "{l} tokens; the text tower takes at most {}",
                self.max_tokens()
            )));
        }
        let pad = self.pad_id;
        let mut flat = Vec::with_capacity(b * l);
        let mut positions = Vec::with_capacity(b * l);
        let mut mask = Vec::with_capacity(b * l);
        let mut padded = Vec::with_capacity(b);
        for seq in ids {
            let mut row = seq.clone();
            row.resize(l, pad);
            // RoBERTa positions count non-pad tokens from pad + 1; pads sit at `pad`.
            let mut count = 0;
            for &t in &row {
                if t != pad {
                    count += 1;
                    positions.push(pad + count);
                    mask.push(0f32);
                } else {
                    positions.push(pad);
                    mask.push(f32::MIN);
                }
            }
            flat.extend_from_slice(&row);
            padded.push(row);
        }
        let dev = Device::Cpu;
        let flat_ids = flat;
        let pos_t = Tensor::from_vec(positions, b * l, &dev)?;
        let d = self.hidden;
        if let Some(bad) = flat_ids.iter().find(|&&id| id as usize >= self.vocab) {
            return Err(Error::Input(format!(
                "token id {bad} is outside the vocabulary of {}",
                self.vocab
            )));
        }
        let x = (self.word.gather(&flat_ids, d)? + self.position.index_select(&pos_t, 0)?)?
            .broadcast_add(&self.token_type0)?
            .reshape((b, l, d))?;
        let mut x = self.emb_norm.forward(&x)?;
        let heads = self.layers.first().map_or(1, |layer| layer.heads);
        let mask = if mask.iter().any(|&m| m != 0.0) {
            Tensor::from_vec(mask, (b, 1, 1, l), &dev)?
                .broadcast_as((b, heads, l, l))?
                .contiguous()?
        } else {
            Tensor::zeros((1, heads, l, l), candle_core::DType::F32, &dev)?
        };
        for layer in &self.layers {
            x = layer.forward(&x, &mask)?;
        }
        let cls = x.i((.., 0, ..))?.contiguous()?;
        let pooled = self.pooler.forward(&cls)?.tanh()?;
        Ok((pooled, padded))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dense_layers_read_the_mapped_checkpoint_in_place() {
        let clap = crate::tiny_model();
        let tower = clap.text_tower().unwrap();
        assert!(!tower.layers.is_empty());
        for (i, layer) in tower.layers.iter().enumerate() {
            assert!(layer.attn_out.is_in_place(), "layer {i}: attention output");
            assert!(layer.fc1.is_in_place(), "layer {i}: fc1");
            assert!(layer.fc2.is_in_place(), "layer {i}: fc2");
            // Fused and scaled: a tensor of its own.
            assert!(!layer.qkv.is_in_place(), "layer {i}: qkv");
        }
        assert!(tower.pooler.is_in_place());
        // And the products still give the golden vectors (tests/parity.rs).
        assert_eq!(
            clap.embed_text("thunder").unwrap().len(),
            clap.embedding_dim()
        );
    }

    #[test]
    fn qkv_fused_from_the_mapped_checkpoint_equals_the_loaded_fusion() {
        use crate::ops::Linear;
        use crate::weights::Weights;
        let clap = crate::tiny_model();
        let d = clap.config().text_config.hidden_size;
        let weights = std::sync::Arc::new(Weights::open_dir(&clap.location().dir).unwrap());
        let sa = weights
            .pp("text_model.encoder.layer.0")
            .pp("attention")
            .pp("self");
        let scale = 0.125;
        let direct = Linear::load_fused_qkv(&weights, &sa, d, scale).unwrap();
        let [q, k, v] =
            ["query", "key", "value"].map(|p| Linear::load(&sa.pp(p), d, d, true).unwrap());
        let fused = Linear::fuse_qkv(&q, &k, &v, scale).unwrap();
        let values = |l: &Linear| {
            l.weight_tensor()
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert_eq!(values(&direct), values(&fused));
        assert_eq!(direct.bias(), fused.bias());
    }
}
