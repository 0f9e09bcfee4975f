//! The vector of an example for a "sounds like" search: an indexed file's
//! stored vector, or a sound file on disk decoded and embedded now.

use std::path::Path;

use hark_model::{Clap, PIPELINE_VERSION};
use hark_store::FileId;

use super::model::Model;
use super::state::State;
use crate::error::{Error, Result};
use crate::vector::VectorIndex;

/// The stored vector of an indexed file.
pub(super) fn stored_vector(st: &State, index: &dyn VectorIndex, id: FileId) -> Result<Vec<f32>> {
    if let Some(v) = index.vector(id) {
        return Ok(v);
    }
    match st.catalog().file_by_id(id)? {
        Some(file) => Err(Error::NoVector {
            path: file.record.path,
        }),
        None => Err(Error::UnknownFile { id }),
    }
}

/// The vector of a file on disk: the stored one if the catalog has the
/// file with the same size and modification time, else decoded and
/// embedded now by `model`. Also returns the file's id if the catalog has
/// it.
pub(super) fn path_vector(
    st: &State,
    model: &Model,
    index: &dyn VectorIndex,
    path: &Path,
) -> Result<(Vec<f32>, Option<FileId>)> {
    let target_error = |cause| Error::TargetFile {
        path: path.to_owned(),
        cause,
    };
    let canonical = std::fs::canonicalize(path).map_err(target_error)?;
    let meta = std::fs::metadata(&canonical).map_err(target_error)?;
    if meta.is_dir() {
        return Err(target_error(std::io::Error::other("it is a directory")));
    }
    let stored = st.catalog().file_by_path(&canonical)?;
    if let Some(file) = &stored {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64);
        let unchanged = file.record.size == meta.len() && mtime_ns == Some(file.record.mtime_ns);
        if unchanged {
            if let Some(v) = index.vector(file.id) {
                return Ok((v, Some(file.id)));
            }
        }
    }
    let model = model.checked(st)?;
    let (_, pipeline) = st.vectors_of()?;
    if pipeline != PIPELINE_VERSION {
        return Err(Error::PipelineMismatch {
            index: pipeline.to_owned(),
            current: PIPELINE_VERSION.to_owned(),
        });
    }
    let vector = embed_audio_file(model.clap()?, path)?;
    Ok((vector, stored.map(|f| f.id)))
}

/// Embeds a sound file, decoding it as a stream: memory holds the file's
/// spectrogram (what CLAP's fusion path needs), never its samples, so an
/// hour-long FILE costs tens of MB, not a GB. The vector equals
/// [`Clap::embed_audio`] of the decoded samples.
///
/// # Errors
///
/// [`Error::NotAudio`] if the file cannot be decoded (the cause names the
/// file); a model error otherwise.
pub fn embed_audio_file(clap: &Clap, path: &Path) -> Result<Vec<f32>> {
    let mut stream = clap.front_end().stream();
    hark_audio::decode_stream(path, &mut |chunk| stream.push(chunk))
        .map_err(|cause| Error::NotAudio { cause })?;
    let features = stream.finish()?;
    let mut v = clap.embed_features(std::slice::from_ref(&features))?;
    Ok(v.remove(0))
}
