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
//!    and returns [`Hit`]s that say how each matched ([`Matched`]). The
//!    sound ranking searches every point of the index, whole files and
//!    the moments of long files, and returns each file once, as its
//!    nearest point: a hit found through a moment says where it starts
//!    ([`Hit::offset_s`]).
//!
//! [`Engine::search`] does all three. When the sound ranking cannot run
//! (no model, a model that fails to load, no vectors yet, or vectors of
//! another model), [`Engine::search_or_words`] and
//! [`Engine::embed_query_or_words`] rank by words and filters alone and say
//! why as a [`SoundUnavailable`], for the caller to show. [`Engine::similar`] ranks by the
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
//! [`Engine::duplicates`] groups the files that hold the same sound
//! ([`duplicates`]: by content hash and audio fingerprint, never by CLAP
//! similarity), and [`Engine::copies_of`] lists one file's copies.
//!
//! [`Engine::categorizer`] suggests a UCS category for each file that has
//! none ([`categorize`]: the labelled files' votes by sound, their copies,
//! and CLAP's zero-shot match with every CatID's description), and
//! [`Categorizer::evaluate`] measures it leave-one-out on the labelled
//! files; [`Engine::suggest_category`] serves one file to a UI.
//!
//! The result types ([`Hit`], [`Matched`], [`FileDetail`],
//! [`IndexSummary`], [`FileId`]) are hark-types' own, re-exported here: the
//! CLI and the terminal UI take them as they are.
//!
//! The crate never prints; errors ([`Error`]) name the file, filter or
//! model concerned and carry a `hint:` line where there is a fix.

mod cache;
pub mod categorize;
pub mod duplicates;
mod engine;
mod error;
mod fusion;
pub mod parse;
pub mod vector;

pub use engine::{
    embed_audio_file, Categorizer, CategoryScore, Engine, Evaluation, IndexLoader, IndexSource,
    QueryVectors, SimilarTarget, SoundUnavailable, Uncategorised, ZeroShotSource,
};
pub use error::{Error, Result};
pub use hark_types::{
    CategoryCandidate, CategoryEvidence, CategorySuggestion, FileDetail, FileId, FileStatus, Hit,
    IndexSummary, LabelledFile, Matched,
};
pub use parse::{Filter, Query, Term, FILTER_KEYS};
pub use vector::{AnnIndex, VectorIndex};

/// The text-embedding cache's file name in the index directory.
pub use cache::FILE_NAME as TEXT_CACHE_FILE;
