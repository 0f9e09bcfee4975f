//! Metadata filters: which files pass conditions on their duration,
//! format, extension, folder, UCS category or words ([`FileFilter`]), and
//! listing them. The query crate states conditions as values and never
//! writes SQL; the catalog keeps its schema to itself.
//!
//! A filter can be evaluated two ways, with the same answers (tested
//! against each other on a varied catalog): in SQL over the `files` table
//! (`sql`: [`Tx::filter_ids`], [`Tx::list_files`]), or on an in-memory
//! column table of the facts filters test (`columns`: [`FileColumns`],
//! with its row sets in `rows`), which costs one scan of `files` to read
//! and then a fraction of a millisecond per filter. [`FilterEvaluator`]
//! (`evaluator`) chooses between them for a reader that filters
//! repeatedly, such as the query engine behind a UI.
//!
//! Failed files (status `failed`) never pass: they have no reliable
//! metadata and nothing to listen to.
//!
//! [`FileColumns`]: crate::FileColumns
//! [`FilterEvaluator`]: crate::FilterEvaluator
//! [`Tx::filter_ids`]: crate::Tx::filter_ids
//! [`Tx::list_files`]: crate::Tx::list_files

use std::ops::Bound;

use crate::TextMatch;

pub(crate) mod columns;
pub(crate) mod evaluator;
pub(crate) mod rows;
mod sql;

/// A range of numbers, each end open, inclusive or exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumRange {
    /// The lower end.
    pub lower: Bound<f64>,
    /// The upper end.
    pub upper: Bound<f64>,
}

impl NumRange {
    /// Exactly `value`.
    pub fn exactly(value: f64) -> NumRange {
        NumRange {
            lower: Bound::Included(value),
            upper: Bound::Included(value),
        }
    }
}

/// A condition on a file, for [`FilterEvaluator`](crate::FilterEvaluator),
/// [`Tx::filter_ids`](crate::Tx::filter_ids) and
/// [`Tx::list_files`](crate::Tx::list_files). A file whose field is unknown (NULL) does not pass a
/// condition on that field (and passes its negation).
#[derive(Debug, Clone, PartialEq)]
pub enum FileFilter {
    /// Duration in seconds.
    Duration(NumRange),
    /// Sample rate in Hz.
    SampleRate(NumRange),
    /// Channel count.
    Channels(NumRange),
    /// Bits per sample.
    Bits(NumRange),
    /// The file name's extension (without the dot), ASCII case-insensitive.
    Extension(String),
    /// A piece of the folder path the file is in (everything before the
    /// file name), ASCII case-insensitive.
    InFolder(String),
    /// A UCS CatID (`DOORWood`), Category (`DOORS`) or `Category-SubCategory`
    /// (`DOORS-WOOD`), case-insensitive.
    Category(String),
    /// Matches the full-text index (see [`TextMatch`]).
    Text(TextMatch),
    /// Passes if any of these does (none: passes nothing).
    AnyOf(Vec<FileFilter>),
    /// Passes if the inner filter does not.
    Not(Box<FileFilter>),
}

/// The order of [`Tx::list_files`](crate::Tx::list_files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// By path (as UTF-8 text).
    Path,
    /// Most recently indexed first (then highest id first).
    Newest,
}
