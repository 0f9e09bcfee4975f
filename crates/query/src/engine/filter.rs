//! Metadata filters over an open catalog: which files pass, and listings
//! of them. The one decision of where filters run (SQL, or the in-memory
//! column table) is [`Filtering::columns_after_first`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hark_store::columns::FileColumns;
use hark_store::lookup::{FileFacts, FileFilter, ListOrder};
use hark_store::Catalog;

use super::idset::IdSet;
use super::lock::lock;
use crate::error::Result;

/// What one opening of the catalog keeps for filtering.
#[derive(Default)]
pub(super) struct Filtering {
    /// The facts filters test, read at the second evaluation of filters
    /// (one scan of the catalog, ~3 times the cost of one filter in SQL);
    /// each filter after that is a pass over its columns (well under 1 ms
    /// per 100k files).
    columns: Mutex<Option<Arc<FileColumns>>>,
    /// Whether filters were evaluated once already. The first evaluation
    /// runs in SQL: a one-shot `hark search` filters once, and reading the
    /// column table would cost it more than the SQL does.
    filtered_once: AtomicBool,
    /// The files passing the last metadata filters asked for: a UI re-runs
    /// the same filters at every keystroke of the words.
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
        let ids = match self.columns_after_first(catalog)? {
            Some(columns) => lock(catalog).read(|tx| columns.filter_ids(tx, filters))?,
            None => lock(catalog).read(|tx| tx.filter_ids(filters))?,
        };
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
        Ok(match order {
            ListOrder::Path => match self.columns_after_first(catalog)? {
                Some(columns) => lock(catalog).read(|tx| columns.list_by_path(tx, filters, k))?,
                None => lock(catalog).read(|tx| tx.list_files(filters, order, k))?,
            },
            ListOrder::Newest => lock(catalog).read(|tx| tx.list_files(filters, order, k))?,
        })
    }

    /// Where filters run: `None` (in SQL) at the first evaluation of
    /// filters (see `filtered_once`), else the column table of `catalog`,
    /// read once. Like the rest of an opening of the catalog, it stays as
    /// read until the engine reloads.
    fn columns_after_first(&self, catalog: &Mutex<Catalog>) -> Result<Option<Arc<FileColumns>>> {
        let mut slot = lock(&self.columns);
        if let Some(columns) = &*slot {
            return Ok(Some(columns.clone()));
        }
        if !self.filtered_once.swap(true, Ordering::Relaxed) {
            return Ok(None);
        }
        let columns = Arc::new(lock(catalog).read(|tx| tx.file_columns())?);
        *slot = Some(columns.clone());
        Ok(Some(columns))
    }
}
