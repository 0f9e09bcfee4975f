//! The catalog of a hark index: which files exist, what they say about
//! themselves, their CLAP vectors, and a full-text index over their names,
//! folders and tags, in one SQLite file.
//!
//! A cron job re-indexes while a terminal UI left open all day searches, so
//! the catalog must give many readers a consistent view while one writer
//! commits, across processes, and survive being killed at any moment. SQLite
//! in WAL mode does exactly that (see `index-format.md` and design.md).
//!
//! # Brief overview
//!
//! [`Catalog::open`] creates or opens `<index dir>/catalog.sqlite3` for
//! writing, upgrading its schema ([`SCHEMA_VERSION`]) if it is older;
//! [`Catalog::open_readonly`] is for search and the UI. All access goes
//! through a [`Tx`]: [`Catalog::transaction`] runs a closure in one write
//! transaction, committed if it returns `Ok` (the indexer commits a batch of
//! files per transaction), and [`Catalog::read`] in one read snapshot. The
//! `Catalog` methods of the same names as `Tx`'s reads are shorthands for a
//! one-call snapshot. `Tx` is one type, but each concern adds its methods
//! in its own module:
//!
//! - *files* — a file is a [`FileRecord`]: its path (stored as the OS's
//!   bytes, so non-UTF-8 names survive), size and mtime for change
//!   detection, a content hash for rename detection, format facts, tags,
//!   UCS fields, waveform peaks and a [`FileStatus`]. [`Tx::upsert_file`]
//!   stores one and keeps its full-text row in step; [`Tx::move_file`]
//!   renames it without losing its vectors (its [`UcsFields`], which its
//!   name gives, given anew); [`Tx::retag_file`] records a
//!   metadata-only rewrite (`hark tag`) with the same id and vectors;
//!   [`Tx::ucs_sources`] and [`Tx::set_ucs`] derive every file's UCS
//!   fields again from its path and stored tags.
//! - *vectors* — [`Tx::set_vector`] attaches a file's embedding, tagged with
//!   the model and pipeline that made it, and [`Tx::set_moments`] those of
//!   moments of a long file, each a [`PointId`]; [`Tx::vectors`] streams
//!   every vector of a model. Every vector write and delete is numbered
//!   (the vector sequence), which lets the [`ann`] module keep an HNSW graph
//!   beside the catalog as a rebuildable cache: [`ann::refresh_ann`] (the
//!   indexer, after each run) builds or refreshes it, and
//!   [`ann::VectorSearcher`] (search and the UI) answers top-k queries from
//!   it, or by an exact scan below [`ann::EXACT_THRESHOLD`] vectors.
//! - *full-text* — [`Tx::fts_ranked`] ranks the files matching a
//!   [`TextMatch`] by BM25 over the words of [`name_tokens`];
//!   [`Tx::fts_ids`] lists the files a match selects.
//! - *filters* — a [`FileFilter`] is a condition on a file's facts;
//!   [`FilterEvaluator`] evaluates filters and lists the files passing,
//!   choosing between SQL and an in-memory [`FileColumns`] table.
//! - *categories* — [`Tx::category_facts`] lists each file's UCS category
//!   as its name and tags give it ([`CategoryFacts`]), for suggesting
//!   categories to the files that have none.
//! - *meta* — [`Tx::meta`] and [`Tx::set_meta`] keep a few values about the
//!   index as a whole, under the keys of [`meta`].
//!
//! A catalog with pages overwritten (a disk fault, a bad copy) fails with
//! [`Error::Damaged`]: [`Catalog::open`] checks every page, and any
//! statement that meets damage says so. [`salvage::repair`] (the indexer,
//! before its run) sets it aside and builds a new one from what can be read.
//!
//! [`CatalogWriter`] gathers what the indexer writes, so that a second
//! backend (a shared PostgreSQL catalog that workstations mirror into this
//! one) can plug in there.

#![warn(missing_docs)]

pub mod ann;
mod catalog;
mod categories;
mod error;
mod files;
mod filter;
mod fingerprints;
mod fulltext;
mod held;
pub mod meta;
mod paths;
mod record;
mod replica;
pub mod salvage;
mod schema;
mod vectors;
mod writer;

pub use catalog::{Catalog, Tx, FILE_NAME};
pub use categories::CategoryFacts;
pub use error::{is_disk_full, is_io_error, Error, Result};
pub use files::{Counts, FailedFile, FileFacts, FileState, Root, StoredFile, UcsSource};
pub use filter::columns::FileColumns;
pub use filter::evaluator::FilterEvaluator;
pub use filter::rows::Rows;
pub use filter::{FileFilter, ListOrder, NumRange};
pub use fingerprints::FingerprintedFile;
pub use fulltext::{name_tokens, split_words, FtsHit, FtsMatch, MatchTerm, TextMatch};
pub use held::Held;
pub use record::{FileId, FileRecord, FileStatus, RootId, UcsFields};
pub use schema::SCHEMA_VERSION;
pub use vectors::{MomentVector, PointId, StoredVector};
pub use writer::CatalogWriter;
