//! [`Model`]: CLAP, located and identified at first need, its weights
//! loaded at first use, and the text vectors it makes (through the text
//! cache beside the catalog).

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use hark_model::hub::{self, ModelSpec};
use hark_model::{Clap, ModelLocation};

use super::lock::lock;
use super::state::State;
use crate::cache::TextCache;
use crate::error::{Error, Result};

/// The engine's model and text cache.
pub(super) struct Model {
    spec: ModelSpec,
    handle: Mutex<Option<Arc<ModelHandle>>>,
    cache: TextCache,
}

/// The model, located and identified; its weights load on first use.
pub(super) struct ModelHandle {
    location: ModelLocation,
    /// Its identity, as the index's meta `model` spells one.
    pub(super) identity: String,
    clap: OnceLock<Clap>,
}

impl ModelHandle {
    /// The loaded model, loading its weights now if need be.
    pub(super) fn clap(&self) -> Result<&Clap> {
        if let Some(clap) = self.clap.get() {
            return Ok(clap);
        }
        let clap = Clap::load(&self.location)?;
        Ok(self.clap.get_or_init(|| clap))
    }
}

impl Model {
    /// The model `spec`, not located yet, with the text cache of the index
    /// in `index_dir`.
    pub(super) fn new(spec: ModelSpec, index_dir: &Path) -> Model {
        Model {
            spec,
            handle: Mutex::new(None),
            cache: TextCache::new(index_dir),
        }
    }

    /// The model asked for, as the user named it: a hub id or a directory.
    pub(super) fn name(&self) -> String {
        match &self.spec {
            ModelSpec::Hub { id, .. } => id.clone(),
            ModelSpec::Dir(dir) => dir.display().to_string(),
        }
    }

    /// The model, located and identified (no weights loaded).
    fn handle(&self) -> Result<Arc<ModelHandle>> {
        let mut slot = lock(&self.handle);
        if let Some(m) = &*slot {
            return Ok(m.clone());
        }
        let location = hub::locate(&self.spec)?;
        let identity = location.identity().map_err(|source| Error::ModelIdentity {
            dir: location.dir.clone(),
            source,
        })?;
        let handle = Arc::new(ModelHandle {
            location,
            identity,
            clap: OnceLock::new(),
        });
        *slot = Some(handle.clone());
        Ok(handle)
    }

    /// The model, after checking it is the one that made the vectors of
    /// the index opened as `st`.
    pub(super) fn checked(&self, st: &State) -> Result<Arc<ModelHandle>> {
        let (index_model, _) = st.vectors_of()?;
        let model = self.handle()?;
        if model.identity != index_model {
            return Err(Error::ModelMismatch {
                index: index_model.to_owned(),
                current: model.identity.clone(),
            });
        }
        Ok(model)
    }

    /// Text-tower vectors of `texts`, from the cache where present; the
    /// second value counts the texts that were computed.
    pub(super) fn text_vectors(
        &self,
        st: &State,
        texts: &[&str],
    ) -> Result<(Vec<Vec<f32>>, usize)> {
        if texts.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let model = self.checked(st)?;
        let mut out: Vec<Option<Vec<f32>>> = texts
            .iter()
            .map(|t| self.cache.get(&model.identity, t))
            .collect();
        let missing: Vec<&str> = texts
            .iter()
            .zip(&out)
            .filter(|(_, v)| v.is_none())
            .map(|(t, _)| *t)
            .collect();
        if !missing.is_empty() {
            let mut computed = model.clap()?.embed_texts(&missing)?.into_iter();
            for (text, slot) in texts.iter().zip(out.iter_mut()) {
                if slot.is_none() {
                    let v = computed.next().expect("one vector per text");
                    self.cache.put(&model.identity, text, &v);
                    *slot = Some(v);
                }
            }
        }
        let count = missing.len();
        Ok((out.into_iter().map(|v| v.expect("filled")).collect(), count))
    }
}
