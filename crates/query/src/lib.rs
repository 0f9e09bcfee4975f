//! hark-query answers questions to a hark index: text queries ("distant
//! thunder rumble"), "more like this file", and metadata queries. The CLI
//! (`hark search`, `hark similar`) and the terminal UI both use it, so
//! everything is a library call first.
//!
//! # Brief overview
//!
//! [`Engine::open`] opens an index directory read-only. A query string goes
//! through three steps, split so that a UI can run the slow one off its
//! event thread:
//!
//! 1. [`Engine::parse`] reads the query language ([`parse`]: words,
//!    `"phrases"`, `-exclusions`, `key:value` filters) into a [`Query`].
//! 2. [`Engine::embed_query`] puts the query's text (and each excluded
//!    text) through CLAP's text tower, or takes the vectors from the text
//!    cache beside the catalog ([`QueryVectors`]). The model is loaded
//!    here, on first need, and checked against the one that built the
//!    index.
//! 3. [`Engine::run`] ranks files by sound (a [`VectorIndex`]: by default
//!    the ANN cache through [`AnnIndex`], which scans exactly below 20,000
//!    vectors; any other [`VectorIndex`] plugs in with [`Engine::open_with`])
//!    and by words (FTS5 BM25 over names, folders and tags), fuses the two
//!    rankings ([`fusion`](crate#fusion)), applies filters and exclusions,
//!    and returns [`Hit`]s that say how each matched ([`Matched`]).
//!
//! [`Engine::search`] does all three. [`Engine::similar`] ranks by the
//! vector of a file (stored, or decoded and embedded now), optionally moved
//! toward a text; [`Engine::refine`] moves a query toward files the user
//! liked and away from ones they did not. [`Engine::recent`],
//! [`Engine::detail`], [`Engine::summary`] and [`Engine::reload_if_changed`]
//! serve a browsing UI.
//!
//! # Fusion
//!
//! Weighted reciprocal-rank fusion; the constants and why are in the
//! `fusion` module's source.
//!
//! The crate never prints; errors ([`Error`]) name the file, filter or
//! model concerned and carry a `hint:` line where there is a fix.

mod cache;
mod engine;
mod error;
mod fusion;
pub mod parse;
pub mod vector;

use std::path::PathBuf;

pub use engine::{embed_audio_file, Engine, IndexLoader, IndexSource};
pub use error::{Error, Result};
pub use hark_store::{FileId, FileStatus};
pub use parse::{Filter, Query, Term, FILTER_KEYS};
pub use vector::{AnnIndex, VectorIndex};

/// The text-embedding cache's file name in the index directory.
pub use cache::FILE_NAME as TEXT_CACHE_FILE;

/// How a hit matched the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Matched {
    /// Among the top hits by sound (CLAP similarity) only.
    Sound,
    /// Its name, folders or tags hold every word and phrase of the query,
    /// and it is not among the top hits by sound.
    Words,
    /// Both by sound and by words.
    Both,
    /// A listing (a query of filters only, or [`Engine::recent`]): it
    /// passes the filters; there is no ranking.
    Filter,
}

impl Matched {
    /// The lower-case name used in output (`sound`, `words`, `both`, `filter`).
    pub fn as_str(self) -> &'static str {
        match self {
            Matched::Sound => "sound",
            Matched::Words => "words",
            Matched::Both => "both",
            Matched::Filter => "filter",
        }
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The file's id in the catalog.
    pub id: FileId,
    /// The file's path.
    pub path: PathBuf,
    /// How good the match is, higher is better: for [`Engine::similar`],
    /// the cosine similarity to the example; for fused rankings, the fused
    /// rank score in (0, 1] (1: first in every ranking that found
    /// anything); 1 for listings.
    pub score: f32,
    /// Duration in seconds, if known.
    pub duration_s: Option<f64>,
    /// Sample rate in Hz, if known.
    pub sample_rate: Option<u32>,
    /// Channel count, if known.
    pub channels: Option<u32>,
    /// Where in the file the match is, in seconds, when a hit is a moment
    /// inside a long file. The index keeps one vector per file today, so
    /// this is always `None`; it is here so that per-segment vectors can
    /// arrive without changing the API.
    pub offset_s: Option<f64>,
    /// How it matched.
    pub matched: Matched,
}

/// The text-tower vectors a query needs (made by [`Engine::embed_query`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryVectors {
    /// The vector of the query's words and phrases; `None` for a query of
    /// filters and exclusions only.
    pub positive: Option<Vec<f32>>,
    /// The vector of each excluded word or phrase, in query order.
    pub excluded: Vec<Vec<f32>>,
    /// How many of these texts went through the text tower (the rest came
    /// from the on-disk cache).
    pub computed: usize,
}

/// What to find sounds like, for [`Engine::similar`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimilarTarget {
    /// An indexed file, by id: its stored vector.
    File(FileId),
    /// A sound file on disk: its stored vector if the index has the file
    /// unchanged, else decoded and embedded now.
    Path(PathBuf),
}

/// Everything the catalog knows about one file, for a detail pane.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDetail {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// Size in bytes when indexed.
    pub size: u64,
    /// Modification time when indexed, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// When the catalog last wrote it, seconds since the Unix epoch.
    pub indexed_at: i64,
    /// Container format (`wav`, `flac`, ...).
    pub format: Option<String>,
    /// Codec.
    pub codec: Option<String>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Channel count.
    pub channels: Option<u32>,
    /// Bits per sample.
    pub bits_per_sample: Option<u32>,
    /// Tags in file order: (key prefixed with its source, such as
    /// `bext.Description` or `ixml.USER.CATEGORY`; value).
    pub tags: Vec<(String, String)>,
    /// UCS CatID from the file name (`DOORWood`).
    pub ucs_cat_id: Option<String>,
    /// UCS Category (`DOORS`).
    pub ucs_category: Option<String>,
    /// UCS SubCategory (`WOOD`).
    pub ucs_subcategory: Option<String>,
    /// UCS FXName block of the file name.
    pub ucs_fx_name: Option<String>,
    /// Waveform overview: (min, max) per bucket on a ±127 scale.
    pub peaks: Vec<(i8, i8)>,
    /// Indexing status.
    pub status: FileStatus,
    /// Why indexing failed, for [`FileStatus::Failed`].
    pub error: Option<String>,
    /// Whether it has a vector of the index's model (can be searched by
    /// sound and used as an example).
    pub has_vector: bool,
}

/// Counts and identity of an index, for a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSummary {
    /// The index directory.
    pub dir: PathBuf,
    /// The library's root folders.
    pub roots: Vec<PathBuf>,
    /// Files in the catalog.
    pub files: u64,
    /// Files with a vector of the index's model and pipeline.
    pub embedded: u64,
    /// Files waiting for a vector.
    pub waiting: u64,
    /// Files that failed to index.
    pub failed: u64,
    /// The model identity that built the index (meta `model`).
    pub model: Option<String>,
    /// The embedding pipeline of its vectors (meta `pipeline`).
    pub pipeline: Option<String>,
}
