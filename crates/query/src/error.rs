//! What can go wrong when asking an index, with the file, filter or model
//! concerned. Messages that have a fix end with a `hint:` line, which the
//! CLI prints apart (and a UI may show on its own).

use std::path::PathBuf;

use hark_types::FileId;

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is no catalog in the index directory.
    #[error(
        "no index at `{}`\nhint: build one with `hark index PATH` (PATH: your sound library), \
         or point at an existing one with `--index DIR`",
        dir.display()
    )]
    NoIndex {
        /// The index directory.
        dir: PathBuf,
    },
    /// The catalog exists but has never indexed a file.
    #[error(
        "the index at `{}` is empty: nothing has been indexed yet\nhint: run `hark index PATH` \
         with your sound library's folder",
        dir.display()
    )]
    NeverBuilt {
        /// The index directory.
        dir: PathBuf,
    },
    /// The index holds files but no vectors (indexed without a model).
    #[error(
        "the index at `{}` has no sound vectors yet, so it cannot search by sound\n\
         hint: run `hark index` with the model available (`hark model fetch`)",
        dir.display()
    )]
    NoVectors {
        /// The index directory.
        dir: PathBuf,
    },
    /// Reading the catalog failed.
    #[error(transparent)]
    Catalog(#[from] hark_store::Error),
    /// The query has nothing in it.
    #[error(
        "the query is empty\nhint: give words (`door creak`), a \"phrase\", or a filter such as \
         `dur:<2s`"
    )]
    EmptyQuery,
    /// A `key:value` filter with an unknown key.
    #[error(
        "unknown filter `{key}:` in the query\nhint: the filters are {}",
        crate::parse::filter_list()
    )]
    UnknownFilter {
        /// The key as written.
        key: String,
    },
    /// A filter whose value does not parse.
    #[error("bad value `{value}` for the filter `{key}:`: {reason}\nhint: {example}")]
    BadFilterValue {
        /// The filter key.
        key: String,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: String,
        /// Examples of valid values.
        example: &'static str,
    },
    /// Other malformed query syntax: an unterminated quote, a lone `-`.
    #[error("{what} in the query `{query}`\nhint: {hint}")]
    Syntax {
        /// The query.
        query: String,
        /// What is wrong.
        what: &'static str,
        /// How to write it.
        hint: &'static str,
    },
    /// The model asked for is not the one that made the index's vectors.
    #[error(
        "the index was built with the model `{index}`, but the model in use is `{current}`: \
         their vectors are not comparable\nhint: pass the index's model with `--model` (or \
         HARK_MODEL), or re-index with this one (`hark index`)"
    )]
    ModelMismatch {
        /// The index's model identity (meta `model`).
        index: String,
        /// The identity of the model in use.
        current: String,
    },
    /// The index's vectors were made under other embedding rules.
    #[error(
        "the index's vectors were made under the embedding pipeline `{index}`, but this hark \
         uses `{current}`\nhint: run `hark index` to re-embed the library"
    )]
    PipelineMismatch {
        /// The index's pipeline (meta `pipeline`).
        index: String,
        /// [`hark_model::PIPELINE_VERSION`].
        current: String,
    },
    /// Finding, loading or running the model failed.
    #[error(transparent)]
    Model(#[from] hark_model::Error),
    /// The model's identity could not be computed (its files unreadable).
    #[error("failed to read the model in `{}` to identify it", dir.display())]
    ModelIdentity {
        /// The model directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file given as an example could not be read.
    #[error("cannot read `{}`: {cause}\nhint: `hark similar` takes a sound file that exists", path.display())]
    TargetFile {
        /// The file as given.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
    /// A file given as an example is not audio hark can decode. (The cause
    /// names the file; it is not a `source` so a chain prints it once.)
    #[error(
        "{cause}\nhint: `hark similar` takes a sound file (WAV, AIFF, FLAC, MP3, Ogg Vorbis, \
         CAF, MP4/AAC/ALAC)"
    )]
    NotAudio {
        /// The decoder's error, which names the file.
        cause: hark_audio::Error,
    },
    /// No file has this id (it may have been removed by a re-index).
    #[error("the index has no file with id {}", id.0)]
    UnknownFile {
        /// The id.
        id: FileId,
    },
    /// A file has no vector of the index's model, so it cannot serve as an
    /// example.
    #[error(
        "`{}` has no sound vector in the index (not embedded yet, or it failed)\n\
         hint: run `hark index`, or pass the file's path to embed it now",
        path.display()
    )]
    NoVector {
        /// The file.
        path: PathBuf,
    },
    /// Relevance feedback with nothing to move toward.
    #[error("nothing to refine: the query has no text and no file was marked as wanted")]
    NothingToRefine,
    /// A vector of the wrong length met the index (a damaged cache or index).
    #[error("a query vector has {found} components but the index's vectors have {expected}")]
    Dimension {
        /// The index's dimension.
        expected: usize,
        /// The query vector's.
        found: usize,
    },
}

/// A query result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
