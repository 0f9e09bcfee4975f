//! What the UI needs from a search engine: the [`Backend`] trait, and the
//! plain data it trades in (re-exported from hark-types, which the engine
//! returns too).
//!
//! The trait mirrors the hark-query `Engine` contract method for method, so
//! the adapter that plugs the engine in is a line per method; hark-tui does
//! not depend on hark-query (nor on the model) itself. Every method may be
//! called from any thread and several at once (`Send + Sync`): the UI calls
//! [`Backend::embed_query`], the slow one, on a worker thread while another
//! worker fetches [`Backend::detail`]s.

pub use hark_types::{
    CategoryCandidate, CategoryEvidence, CategorySuggestion, FileDetail, FileId, Hit, IndexSummary,
    LabelledFile, Matched,
};

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

    /// A note for the status line about `vectors`, as
    /// [`Backend::embed_query`] made them: say, that the sound ranking
    /// cannot run, so lists are ranked by words alone, and why. The UI
    /// shows a note once, not at every query. `None` (the default):
    /// nothing to say.
    fn note(&self, vectors: &Self::Vectors) -> Option<String> {
        let _ = vectors;
        None
    }

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

    /// The files that hold the same sound as the indexed file `id` (its
    /// duplicates: the same bytes, another format, rate or gain, trimmed, an
    /// excerpt), `id` itself among them, the suggested keeper first; and
    /// whether `id` has an audio fingerprint to compare. Reads every
    /// fingerprint of the index: 1 to 2 s at 100,000 files on a loaded
    /// 2-core machine.
    fn copies(&self, id: FileId) -> Result<Copies, Self::Error>;

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

    /// The UCS categories suggested for the file `id` if it has none
    /// (`None` when it has one), with their evidence (`hark categorize`).
    /// Slow the first time (the library's categories are read, and the
    /// zero-shot texts may go through the text tower); always called off
    /// the UI thread.
    fn suggest_category(&self, id: FileId) -> Result<Option<CategorySuggestion>, Self::Error>;

    /// Writes the UCS CatID `cat_id` into the file `id` as `hark tag
    /// --category` does: the same checks (indexed and unchanged, writable),
    /// the same safe rewrite, logged so `hark tag --undo` undoes it, the
    /// catalog row updated in place and the index reloaded. Called off the
    /// UI thread.
    fn accept_category(&self, id: FileId, cat_id: &str) -> Result<(), Self::Error>;
}

/// One file of [`Backend::copies`].
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    /// The file, as a list shows it.
    pub hit: Hit,
    /// How it relates to the suggested keeper, in the words `hark
    /// duplicates` uses: `keep` (the keeper itself), `exact`, `same audio`,
    /// `trimmed`, `contained at 0:42`, `contains at 0:42`, and `(of NAME)`
    /// after it when that is to another member rather than the keeper.
    pub relation: String,
}

/// What [`Backend::copies`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Copies {
    /// The file and its copies, the keeper first; empty when it has none.
    pub files: Vec<Duplicate>,
    /// Whether the file has an audio fingerprint. Without one (an index
    /// made before fingerprints, until `hark index` runs), only files with
    /// its bytes are found.
    pub fingerprinted: bool,
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
