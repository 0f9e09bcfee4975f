//! hark-types holds the plain data that crosses crate lines: a file's id
//! and indexing status (hark-store's catalog), and what a search returns
//! (a [`Hit`] and how it [`Matched`], a file's [`FileDetail`], an
//! [`IndexSummary`]), and a UCS category suggested for a file
//! ([`CategorySuggestion`]). hark-store, hark-query, hark-tui and the CLI all
//! use these one definitions, so no crate converts another's results
//! field by field, and [`terminal`] is the one rule for showing untrusted
//! text (names, tags) on a terminal. It depends on nothing but std, which keeps the terminal
//! UI free of SQLite and of the model.

mod category;
pub mod terminal;

pub use category::{CategoryCandidate, CategoryEvidence, CategorySuggestion, LabelledFile};

use std::fmt;
use std::path::PathBuf;

/// The id of a file in the catalog (its `files.id`); stable while the file
/// is indexed, also across a move (hark-store's `Tx::move_file`), re-index
/// runs and reloads, and never reused while it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub i64);

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a file stands in indexing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FileStatus {
    /// Indexed, with a vector.
    Ok,
    /// Metadata indexed, waiting for a vector (no model was available).
    /// The default: what a file is before a vector is made.
    #[default]
    Waiting,
    /// Could not be indexed; the record's `error` says why.
    Failed,
}

impl FileStatus {
    /// The spelling stored in the catalog's `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::Waiting => "waiting",
            FileStatus::Failed => "failed",
        }
    }

    /// The status spelt `s` in the `status` column ([`FileStatus::as_str`]),
    /// or `None` for any other text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(FileStatus::Ok),
            "waiting" => Some(FileStatus::Waiting),
            "failed" => Some(FileStatus::Failed),
            _ => None,
        }
    }
}

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
    /// A listing (a query of filters only, or the library newest first):
    /// it passes the filters; there is no ranking.
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

/// One result: a file, or a moment inside a long one.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The file's id in the catalog.
    pub id: FileId,
    /// The file's path.
    pub path: PathBuf,
    /// How good the match is, higher is better: for "similar" searches,
    /// the cosine similarity to the example; for fused rankings, the fused
    /// rank score in (0, 1] (1: first in every ranking that found
    /// anything); 1 for listings. Only the order and the ratios within one
    /// list mean anything.
    pub score: f32,
    /// Duration in seconds, if known.
    pub duration_s: Option<f64>,
    /// Sample rate in Hz, if known.
    pub sample_rate: Option<u32>,
    /// Channel count, if known.
    pub channels: Option<u32>,
    /// Where in the file the match is, in seconds from its start, when the
    /// sound ranking found a moment of a long file (the index keeps
    /// vectors of moments of long files beside the whole-file one); `None`
    /// for a whole-file match, a word match and a listing. Playback starts
    /// there.
    pub offset_s: Option<f64>,
    /// How it matched.
    pub matched: Matched,
}

/// Everything the catalog knows about one file, for a detail pane.
#[derive(Debug, Clone, PartialEq, Default)]
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
    /// Codec (`pcm_s24le`, `mp3`, ...).
    pub codec: Option<String>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Channel count.
    pub channels: Option<u32>,
    /// Bits per sample, for PCM-like codecs.
    pub bits_per_sample: Option<u32>,
    /// Tags in file order: (key prefixed with its source, such as
    /// `bext.Description` or `ixml.USER.CATEGORY`; value).
    pub tags: Vec<(String, String)>,
    /// UCS CatID of the file name, else of its tags (`DOORWood`).
    pub ucs_cat_id: Option<String>,
    /// UCS Category of the CatID (`DOORS`).
    pub ucs_category: Option<String>,
    /// UCS SubCategory of the CatID (`WOOD`).
    pub ucs_subcategory: Option<String>,
    /// UCS FXName block of the file name, else its FXNAME tag.
    pub ucs_fx_name: Option<String>,
    /// Waveform overview stored at index time: (min, max) per bucket on a
    /// ±127 scale, first bucket at the start of the file. Empty when the
    /// index has none.
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexSummary {
    /// The index directory.
    pub dir: PathBuf,
    /// The library's root folders.
    pub roots: Vec<PathBuf>,
    /// Files in the catalog, whatever their state.
    pub files: u64,
    /// Files with a vector of the index's model and pipeline (searchable
    /// by sound).
    pub embedded: u64,
    /// Files waiting for a vector.
    pub waiting: u64,
    /// Files that failed to index.
    pub failed: u64,
    /// The model identity that built the index (meta `model`: hub
    /// id@revision, or a directory's fingerprint); `None` for an empty,
    /// never-built index.
    pub model: Option<String>,
    /// The embedding pipeline of its vectors (meta `pipeline`).
    pub pipeline: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_spellings_round_trip() {
        for s in [FileStatus::Ok, FileStatus::Waiting, FileStatus::Failed] {
            assert_eq!(FileStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(FileStatus::parse("OK"), None);
    }

    #[test]
    fn file_ids_show_with_a_hash() {
        assert_eq!(FileId(42).to_string(), "#42");
    }
}
