//! What the UI needs from a search engine: the [`Backend`] trait and the
//! plain data it trades in.
//!
//! The trait mirrors the hark-query `Engine` contract method for method, so
//! the adapter that plugs the engine in is a line per method; hark-tui does
//! not depend on hark-query (nor on the model) itself. Every method may be
//! called from any thread and several at once (`Send + Sync`): the UI calls
//! [`Backend::embed_query`], the slow one, on a worker thread while another
//! worker fetches [`Backend::detail`]s.

use std::fmt;
use std::path::PathBuf;

/// A file's id in the index; the same across re-index runs, renames and
/// reloads (the catalog's `files.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub i64);

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a hit is in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Matched {
    /// Its sound is close to the query (embedding search).
    Sound,
    /// Its name, folders or tags contain the query's words (full-text search).
    Words,
    /// Both of the above.
    Both,
    /// Only the filters were asked for (an empty query with `field:` filters,
    /// the library listing).
    Filter,
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The file's id.
    pub id: FileId,
    /// The file's path.
    pub path: PathBuf,
    /// Relevance, higher is better; only the order and the ratios within one
    /// list are shown.
    pub score: f32,
    /// Length in seconds, when known.
    pub duration_s: Option<f64>,
    /// Sample rate in Hz, when known.
    pub sample_rate: Option<u32>,
    /// Channel count, when known.
    pub channels: Option<u32>,
    /// Where inside a long file the match is, in seconds from its start;
    /// playback starts there.
    pub offset_s: Option<f64>,
    /// Why it matched.
    pub matched: Matched,
}

/// Everything about one file, for the detail pane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileDetail {
    /// The file's id.
    pub id: FileId,
    /// The file's path.
    pub path: PathBuf,
    /// Container format (`wav`, `flac`, ...).
    pub format: Option<String>,
    /// Codec (`pcm_s24le`, `mp3`, ...).
    pub codec: Option<String>,
    /// Length in seconds.
    pub duration_s: Option<f64>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Channel count.
    pub channels: Option<u32>,
    /// Bit depth, for PCM-like codecs.
    pub bits_per_sample: Option<u32>,
    /// Tag items in file order as (source-prefixed key, value), e.g.
    /// `("bext.Description", "Old door creaks open")`.
    pub tags: Vec<(String, String)>,
    /// UCS CatID from the file name (`DOORWood`).
    pub ucs_cat_id: Option<String>,
    /// UCS Category of the CatID (`DOORS`).
    pub ucs_category: Option<String>,
    /// UCS SubCategory of the CatID (`WOOD`).
    pub ucs_subcategory: Option<String>,
    /// UCS FXName block of the file name.
    pub ucs_fx_name: Option<String>,
    /// Waveform overview stored at index time: (min, max) per bucket on a
    /// ±127 scale, first bucket at the start of the file. Empty when the
    /// index has none.
    pub peaks: Vec<(i8, i8)>,
}

/// Counts and model identity, for the status line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexSummary {
    /// Files in the catalog, whatever their state.
    pub files: u64,
    /// Files with a current embedding (searchable by sound).
    pub indexed: u64,
    /// Files that failed to index.
    pub failed: u64,
    /// The model identity the index was built with (hub id@revision, or a
    /// directory's fingerprint); `None` for an empty, never-built index.
    pub model: Option<String>,
}

/// The search engine as the UI sees it. See the module docs.
///
/// Errors are the backend's own type; the UI shows them (with their
/// `source` chain) on the status line and goes on.
pub trait Backend: Send + Sync + 'static {
    /// A parsed query (words, phrases, exclusions, filters). Made and used
    /// on the search thread only.
    type Query;
    /// The text-tower vectors a query needs. Made and kept (for refining) on
    /// the search thread only.
    type Vectors;
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Parses the query language. Fast and pure: called on every search.
    fn parse(&self, query: &str) -> Result<Self::Query, Self::Error>;

    /// Computes the text vectors `query` needs. The slow part (the text
    /// tower, tens of milliseconds or, on a first call, the model load);
    /// always called off the UI thread.
    fn embed_query(&self, query: &Self::Query) -> Result<Self::Vectors, Self::Error>;

    /// Runs `query`: full-text search and filters, plus the vector search
    /// when `vectors` is given. Fast.
    fn run(
        &self,
        query: &Self::Query,
        vectors: Option<&Self::Vectors>,
        k: usize,
    ) -> Result<Vec<Hit>, Self::Error>;

    /// The `k` files that sound most like the indexed file `id` (never `id`
    /// itself).
    fn similar(&self, id: FileId, k: usize) -> Result<Vec<Hit>, Self::Error>;

    /// Relevance feedback: `query`'s results re-ranked toward the `wanted`
    /// files and away from the `unwanted` ones, keeping its filters and
    /// exclusions.
    fn refine(
        &self,
        query: &Self::Query,
        vectors: Option<&Self::Vectors>,
        wanted: &[FileId],
        unwanted: &[FileId],
        k: usize,
    ) -> Result<Vec<Hit>, Self::Error>;

    /// The library, newest first (what an empty query shows).
    fn recent(&self, k: usize) -> Result<Vec<Hit>, Self::Error>;

    /// Everything about one file.
    fn detail(&self, id: FileId) -> Result<FileDetail, Self::Error>;

    /// Notices a newly published index and switches to it; `true` if it
    /// did. Polled every couple of seconds from a worker thread. (An engine
    /// whose reload takes `&mut self` is wrapped in a lock by its adapter.)
    fn reload_if_changed(&self) -> Result<bool, Self::Error>;

    /// Counts and the model identity.
    fn summary(&self) -> Result<IndexSummary, Self::Error>;
}

/// `error` and its `source` chain, joined by ": ", for one status line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let part = inner.to_string();
        // Errors often repeat their cause in their own message; say it once.
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failed")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("failed to read `x.wav`: gone")]
    struct Repeats(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("gone")]
    struct Inner;

    #[test]
    fn error_chain_joins_causes_once() {
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(error_chain(&e), "outer failed: disk on fire");
        assert_eq!(error_chain(&Repeats(Inner)), "failed to read `x.wav`: gone");
    }
}
