//! Metadata filters over an open catalog: which files pass, and listings
//! of them. Where filters run (SQL, or the in-memory column table) is
//! hark-store's decision ([`FilterEvaluator`]); this keeps the last answer,
//! as a UI re-runs the same filters at every keystroke of the words.

use std::sync::{Arc, Mutex};

use hark_store::{Catalog, FileFacts, FileFilter, FilterEvaluator, ListOrder};

use super::idset::IdSet;
use super::lock::lock;
use crate::error::Result;

/// What one opening of the catalog keeps for filtering.
#[derive(Default)]
pub(super) struct Filtering {
    /// Store's evaluator, which reads the column table when it pays.
    evaluator: FilterEvaluator,
    /// The files passing the last metadata filters asked for.
    last_filter: Mutex<Option<(Vec<FileFilter>, Arc<IdSet>)>>,
}

impl Filtering {
    /// The files of `catalog` passing `filters` (all of them, `None`, if
    /// there are none).
    pub(super) fn allowed(
        &self,
        catalog: &Mutex<Catalog>,
        filters: &[FileFilter],
    ) -> Result<Option<Arc<IdSet>>> {
        if filters.is_empty() {
            return Ok(None);
        }
        let mut last = lock(&self.last_filter);
        if let Some((f, set)) = &*last {
            if f == filters {
                return Ok(Some(set.clone()));
            }
        }
        let ids = lock(catalog).read(|tx| self.evaluator.filter_ids(tx, filters))?;
        let set = Arc::new(IdSet::new(ids));
        *last = Some((filters.to_vec(), set.clone()));
        Ok(Some(set))
    }

    /// Up to `k` files of `catalog` passing `filters`, in `order`.
    pub(super) fn list(
        &self,
        catalog: &Mutex<Catalog>,
        filters: &[FileFilter],
        order: ListOrder,
        k: usize,
    ) -> Result<Vec<FileFacts>> {
        Ok(lock(catalog).read(|tx| self.evaluator.list_files(tx, filters, order, k))?)
    }
}
