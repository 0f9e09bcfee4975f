//! Checkpoint access: `model.safetensors` (memory-mapped) or `pytorch_model.bin`.
//!
//! A small stand-in for candle's `VarBuilder` that checks shapes with errors
//! naming the tensor and the file, converts half-precision checkpoints to f32,
//! and counts how often each tensor is read, so a test can prove that every
//! checkpoint tensor is used exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};

enum Source {
    Safetensors(candle_core::safetensors::MmapedSafetensors),
    Pth(candle_core::pickle::PthTensors),
}

/// An open checkpoint.
pub struct Weights {
    path: PathBuf,
    source: Source,
    names: Vec<String>,
    reads: Mutex<BTreeMap<String, usize>>,
}

/// Checkpoint entries that are not weights: buffers the reference recomputes
/// or that inference does not read. hark recomputes `relative_position_index`
/// rather than trusting the stored one.
pub const IGNORED_SUFFIXES: &[&str] = &[
    "relative_position_index",
    "num_batches_tracked",
    "position_ids",
    "embeddings.token_type_ids",
    // The contrastive temperatures only scale training logits.
    "logit_scale_a",
    "logit_scale_t",
];

impl Weights {
    /// Opens `model.safetensors` (memory-mapped) in `dir`, or else `pytorch_model.bin`.
    pub fn open_dir(dir: &Path) -> Result<Self> {
        let st = dir.join("model.safetensors");
        if st.is_file() {
            return Self::open(&st);
        }
        let bin = dir.join("pytorch_model.bin");
        if bin.is_file() {
            return Self::open(&bin);
        }
        Err(Error::ModelNotFound {
            message: format!(
                "no weights in `{}`: expected `model.safetensors` or `pytorch_model.bin`",
                dir.display()
            ),
        })
    }

    /// Opens one weights file; the format follows the extension.
    pub fn open(path: &Path) -> Result<Self> {
        let tensor_err = |e: candle_core::Error| Error::Tensor {
            path: path.to_owned(),
            name: "*".into(),
            message: format!("cannot open checkpoint: {e}"),
        };
        let (source, names) = if path.extension().is_some_and(|e| e == "safetensors") {
            // SAFETY: the file is mapped read-only; hark never writes model files,
            // and a model directory changed underneath a running process is
            // outside what any mmap-based loader can defend against.
            let st = unsafe { candle_core::safetensors::MmapedSafetensors::new(path) }
                .map_err(tensor_err)?;
            let names = st.tensors().into_iter().map(|(n, _)| n).collect();
            (Source::Safetensors(st), names)
        } else {
            let pth = candle_core::pickle::PthTensors::new(path, None).map_err(tensor_err)?;
            let names = pth.tensor_infos().keys().cloned().collect();
            (Source::Pth(pth), names)
        };
        Ok(Self {
            path: path.to_owned(),
            source,
            names,
            reads: Mutex::new(BTreeMap::new()),
        })
    }

    /// The weights file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every tensor name in the checkpoint.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// How many times each tensor was read so far.
    pub fn read_counts(&self) -> BTreeMap<String, usize> {
        self.reads.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Whether the checkpoint holds `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// An error about tensor `name` of this checkpoint.
    pub(crate) fn err(&self, name: &str, message: impl Into<String>) -> Error {
        Error::Tensor {
            path: self.path.clone(),
            name: name.to_owned(),
            message: message.into(),
        }
    }

    /// Reads `name` as f32 and checks its shape.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = match &self.source {
            Source::Safetensors(st) => {
                if !self.contains(name) {
                    return Err(self.err(name, "missing from the checkpoint"));
                }
                st.load(name, &Device::Cpu)
                    .map_err(|e| self.err(name, e.to_string()))?
            }
            Source::Pth(p) => p
                .get(name)
                .map_err(|e| self.err(name, e.to_string()))?
                .ok_or_else(|| self.err(name, "missing from the checkpoint"))?,
        };
        if t.dims() != shape {
            return Err(self.err(name, format!("shape {:?}, expected {:?}", t.dims(), shape)));
        }
        let t = match t.dtype() {
            DType::F32 => t,
            DType::F16 | DType::BF16 | DType::F64 => t.to_dtype(DType::F32)?,
            other => return Err(self.err(name, format!("dtype {other:?}, expected a float type"))),
        };
        if let Ok(mut reads) = self.reads.lock() {
            *reads.entry(name.to_owned()).or_default() += 1;
        }
        Ok(t)
    }

    /// Checks that `name` is an f32 matrix of `shape` that can be read in place
    /// from the memory-mapped file, and counts it as read. Returns false when
    /// it cannot (a pickle checkpoint, another dtype): load it with [`Weights::get`].
    pub fn map_matrix(&self, name: &str, shape: [usize; 2]) -> Result<bool> {
        let Source::Safetensors(st) = &self.source else {
            return Ok(false);
        };
        if !self.contains(name) {
            return Err(self.err(name, "missing from the checkpoint"));
        }
        let view = st.get(name).map_err(|e| self.err(name, e.to_string()))?;
        if view.shape() != shape {
            return Err(self.err(
                name,
                format!("shape {:?}, expected {:?}", view.shape(), shape),
            ));
        }
        if view.dtype() != safetensors::Dtype::F32 {
            return Ok(false);
        }
        if let Ok(mut reads) = self.reads.lock() {
            *reads.entry(name.to_owned()).or_default() += 1;
        }
        Ok(true)
    }

    /// The values of `name` in place in the mapped checkpoint, without a
    /// copy: `None` unless it is a safetensors f32 tensor whose bytes are
    /// aligned for `f32` (safetensors does not promise it) on a
    /// little-endian host, the file's byte order. Does not count a read.
    pub fn mapped_f32(&self, name: &str) -> Option<&[f32]> {
        let Source::Safetensors(st) = &self.source else {
            return None;
        };
        let view = st.get(name).ok()?;
        if view.dtype() != safetensors::Dtype::F32 || cfg!(target_endian = "big") {
            return None;
        }
        bytemuck::try_cast_slice(view.data()).ok()
    }

    /// Row `row` of a matrix accepted by [`Weights::map_matrix`], read from the
    /// mapped file without copying the matrix.
    pub fn mapped_row(&self, name: &str, row: usize, out: &mut Vec<f32>) -> Result<()> {
        let Source::Safetensors(st) = &self.source else {
            return Err(self.err(name, "not a memory-mapped checkpoint"));
        };
        let view = st.get(name).map_err(|e| self.err(name, e.to_string()))?;
        let cols = view.shape().get(1).copied().unwrap_or(0);
        let bytes = view
            .data()
            .get(row * cols * 4..(row + 1) * cols * 4)
            .ok_or_else(|| self.err(name, format!("row {row} out of range")))?;
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        Ok(())
    }

    /// A view of the tensors under `prefix`.
    pub fn pp(&self, prefix: &str) -> Vb<'_> {
        Vb {
            w: self,
            prefix: prefix.to_owned(),
        }
    }
}

/// A prefix into a [`Weights`]; `pp` strings are the checkpoint keys verbatim,
/// so the struct tree that loads them mirrors the key tree.
#[derive(Clone)]
pub struct Vb<'a> {
    w: &'a Weights,
    prefix: String,
}

impl<'a> Vb<'a> {
    /// A deeper prefix.
    pub fn pp(&self, name: impl std::fmt::Display) -> Vb<'a> {
        Vb {
            w: self.w,
            prefix: if self.prefix.is_empty() {
                name.to_string()
            } else {
                format!("{}.{name}", self.prefix)
            },
        }
    }

    /// The full key of `name` under this prefix.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// Reads `name` under this prefix, checking its shape.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.w.get(&self.key(name), shape)
    }

    /// An error about `name` under this prefix.
    pub fn err(&self, name: &str, message: impl Into<String>) -> Error {
        self.w.err(&self.key(name), message)
    }
}
