//! [`State`]: one opening of the catalog and what is read from it on
//! demand (a second connection, the vector index, filter caches); a reload
//! replaces it whole.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use hark_store::{meta, Catalog, FileFacts, FileFilter, ListOrder};

use super::filter::Filtering;
use super::idset::IdSet;
use super::lock::lock;
use crate::error::{Error, Result};
use crate::vector::VectorIndex;

/// Builds the vector index of an open catalog (see
/// [`Engine::open_with`](crate::Engine::open_with)).
pub type IndexLoader = dyn Fn(&IndexSource<'_>) -> Result<Arc<dyn VectorIndex>> + Send + Sync;

/// What an [`IndexLoader`] gets: the index and which vectors to index.
pub struct IndexSource<'a> {
    /// The index directory (where an ANN cache file would live).
    pub dir: &'a Path,
    /// The catalog, read-only.
    pub catalog: &'a Catalog,
    /// The model identity of the vectors to index (meta `model`).
    pub model: &'a str,
    /// Their pipeline (meta `pipeline`).
    pub pipeline: &'a str,
}

/// One opening of the catalog; replaced whole by a reload.
pub(super) struct State {
    /// The index directory.
    dir: PathBuf,
    /// Builds `index` on first need.
    loader: Arc<IndexLoader>,
    catalog: Mutex<Catalog>,
    /// A second read-only connection, opened at first need: the sound
    /// ranking looks up excluded words on it while the word ranking runs
    /// on `catalog` in another thread (one SQLite connection serves one
    /// statement at a time).
    second: Mutex<Option<Catalog>>,
    /// `PRAGMA data_version` when opened.
    data_version: i64,
    /// The catalog file's identity when opened (to notice a replaced file).
    file: Option<FileIdentity>,
    /// Meta `model`: the model identity of the index's vectors.
    pub(super) meta_model: Option<String>,
    /// Meta `pipeline`: the embedding pipeline of the index's vectors.
    pub(super) meta_pipeline: Option<String>,
    index: Mutex<Option<Arc<dyn VectorIndex>>>,
    filtering: Filtering,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_identity(path: &Path) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(FileIdentity {
        dev: m.dev(),
        ino: m.ino(),
    })
}

#[cfg(not(unix))]
fn file_identity(_: &Path) -> Option<FileIdentity> {
    None
}

impl State {
    /// Opens the catalog of the index in `dir` read-only; `loader` will
    /// build its vector index.
    pub(super) fn open(dir: &Path, loader: Arc<IndexLoader>) -> Result<State> {
        let catalog = Catalog::open_readonly(dir).map_err(|e| match e {
            hark_store::Error::Missing { .. } => Error::NoIndex {
                dir: dir.to_owned(),
            },
            e => e.into(),
        })?;
        let data_version = catalog.data_version()?;
        let (meta_model, meta_pipeline) =
            catalog.read(|tx| Ok::<_, Error>((tx.meta(meta::MODEL)?, tx.meta(meta::PIPELINE)?)))?;
        Ok(State {
            dir: dir.to_owned(),
            loader,
            file: file_identity(catalog.path()),
            catalog: Mutex::new(catalog),
            second: Mutex::new(None),
            data_version,
            meta_model,
            meta_pipeline,
            index: Mutex::new(None),
            filtering: Filtering::default(),
        })
    }

    /// The catalog's main connection.
    pub(super) fn catalog(&self) -> MutexGuard<'_, Catalog> {
        lock(&self.catalog)
    }

    /// Whether a `hark index` run has committed to the catalog, or
    /// replaced its file, since this opening: a file stat and a pragma.
    pub(super) fn is_stale(&self) -> Result<bool> {
        Ok(self.catalog().data_version()? != self.data_version
            || file_identity(&self.dir.join(hark_store::FILE_NAME)) != self.file)
    }

    /// Runs `f` on the catalog's second connection (see `second`),
    /// opening it first if need be.
    pub(super) fn with_second<T>(&self, f: impl FnOnce(&Catalog) -> Result<T>) -> Result<T> {
        let mut slot = lock(&self.second);
        let catalog = match &mut *slot {
            Some(catalog) => catalog,
            empty => empty.insert(Catalog::open_readonly(&self.dir)?),
        };
        f(catalog)
    }

    /// The index's model and pipeline, or [`Error::NoVectors`].
    pub(super) fn vectors_of(&self) -> Result<(&str, &str)> {
        match (&self.meta_model, &self.meta_pipeline) {
            (Some(m), Some(p)) => Ok((m, p)),
            _ => Err(Error::NoVectors {
                dir: self.dir.clone(),
            }),
        }
    }

    /// The files passing `filters` (all of them, `None`, if there are none).
    pub(super) fn allowed(&self, filters: &[FileFilter]) -> Result<Option<Arc<IdSet>>> {
        self.filtering.allowed(&self.catalog, filters)
    }

    /// Up to `k` files passing `filters`, in `order`.
    pub(super) fn list(
        &self,
        filters: &[FileFilter],
        order: ListOrder,
        k: usize,
    ) -> Result<Vec<FileFacts>> {
        self.filtering.list(&self.catalog, filters, order, k)
    }

    /// Whether the vector index is loaded already.
    pub(super) fn index_loaded(&self) -> bool {
        lock(&self.index).is_some()
    }

    /// The vector index, loaded on first use.
    pub(super) fn index(&self) -> Result<Arc<dyn VectorIndex>> {
        let mut slot = lock(&self.index);
        if let Some(index) = &*slot {
            return Ok(index.clone());
        }
        let (model, pipeline) = self.vectors_of()?;
        let catalog = self.catalog();
        let index = (self.loader)(&IndexSource {
            dir: &self.dir,
            catalog: &catalog,
            model,
            pipeline,
        })?;
        *slot = Some(index.clone());
        // On a thread of its own, not waited for: a one-shot process may
        // exit before it ends, which is fine, as it only saves page faults.
        let ready = index.clone();
        let _ = std::thread::Builder::new()
            .name("hark-prefault".into())
            .spawn(move || ready.prefault());
        Ok(index)
    }
}
