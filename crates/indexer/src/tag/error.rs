//! Why a file could not be tagged or restored. Messages that have a fix end
//! with a `hint:` line, which the CLI prints apart.

use std::path::PathBuf;

/// Why a tag write, a rename or an undo did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The index could not be opened for writing.
    #[error("cannot open the index in `{}`", dir.display())]
    OpenIndex {
        /// The index directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: Box<hark_store::Error>,
    },
    /// The index's writer lock, or another index error.
    #[error(transparent)]
    Index(Box<crate::Error>),
    /// The catalog failed.
    #[error(transparent)]
    Store(Box<hark_store::Error>),
    /// Writing or restoring the file failed (hark-audio's refusals:
    /// read-only, hard-linked, a format hark cannot write, an audio check
    /// that failed).
    #[error(transparent)]
    Write(Box<hark_audio::TagError>),
    /// Reading the file's tags back failed.
    #[error(transparent)]
    Metadata(Box<hark_audio::Error>),
    /// The file is not there.
    #[error("cannot find `{}`", path.display())]
    NotFound {
        /// The file as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file or the log could not be read or written.
    #[error("cannot {what} `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`read`, `write`, `create`).
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The log needs UTF-8 paths.
    #[error("`{}`: hark tag needs file names that are UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The file is not in the index.
    #[error("`{}` is not in the index\nhint: run `hark index` on its folder first", path.display())]
    NotIndexed {
        /// The file.
        path: PathBuf,
    },
    /// The file is not what the catalog says it was.
    #[error(
        "`{}` changed since it was indexed; hark does not write over what it has not seen\nhint: run `hark index` first",
        path.display()
    )]
    ChangedSinceIndexed {
        /// The file.
        path: PathBuf,
    },
    /// Another program changed the file between hark's reading and writing it.
    #[error(
        "`{}` changed between hark's reading and writing it; it was written, but `hark tag --undo` cannot restore it",
        path.display()
    )]
    ChangedWhileWriting {
        /// The file.
        path: PathBuf,
    },
    /// `--rename-ucs` with no CatID to rename by.
    #[error("`{}` has no CatID to rename by\nhint: give --category", path.display())]
    NoCatId {
        /// The file.
        path: PathBuf,
    },
    /// `--rename-ucs` with no CreatorID.
    #[error("`{}` has no UCS CreatorID\nhint: give --creator", path.display())]
    NoCreator {
        /// The file.
        path: PathBuf,
    },
    /// `--rename-ucs` with no SourceID.
    #[error("`{}` has no UCS SourceID\nhint: give --source", path.display())]
    NoSource {
        /// The file.
        path: PathBuf,
    },
    /// A UCS block that is empty once cleaned.
    #[error("`{}`: an empty UCS block; give --fx-name, --creator and --source", path.display())]
    EmptyBlock {
        /// The file.
        path: PathBuf,
    },
    /// Not a UCS name (no free name can be made from it).
    #[error("`{name}` is not a UCS name")]
    NotUcsName {
        /// The name.
        name: String,
    },
    /// Every numbered name is taken.
    #[error("no free name for `{name}` in `{}`", dir.display())]
    NoFreeName {
        /// The name.
        name: String,
        /// The folder.
        dir: PathBuf,
    },
    /// The rename's target appeared, or exists.
    #[error("cannot rename `{}`: `{}` {why}", from.display(), to.display())]
    NameTaken {
        /// The file.
        from: PathBuf,
        /// The name wanted.
        to: PathBuf,
        /// `exists` or `appeared meanwhile`.
        why: &'static str,
    },
    /// The rename failed.
    #[error("cannot rename `{}` to `{}`", from.display(), to.display())]
    Rename {
        /// The file.
        from: PathBuf,
        /// The name wanted.
        to: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No batch to undo.
    #[error("nothing to undo: no `hark tag` batch in `{}`", dir.display())]
    NothingToUndo {
        /// The index directory.
        dir: PathBuf,
    },
    /// A line of the log does not read.
    #[error("the tag log in `{}` is damaged", dir.display())]
    LogDamaged {
        /// The batch's folder.
        dir: PathBuf,
    },
    /// A file of the batch changed since it was written: not restored.
    #[error("`{}` changed since hark tag wrote it; not restored", path.display())]
    ChangedSinceTagged {
        /// The file.
        path: PathBuf,
    },
    /// A restored file is not the one logged.
    #[error("`{}` did not come back byte for byte", path.display())]
    NotRestored {
        /// The file.
        path: PathBuf,
    },
    /// A restored file's time could not be set back.
    #[error("cannot set the time of `{}`", path.display())]
    SetTime {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of the batch has left the index.
    #[error("`{}` is no longer in the index", path.display())]
    NoLongerIndexed {
        /// The file.
        path: PathBuf,
    },
}

// The other crates' errors are large; boxed, a result stays small.
impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Self {
        Error::Index(Box::new(e))
    }
}

impl From<hark_store::Error> for Error {
    fn from(e: hark_store::Error) -> Self {
        Error::Store(Box::new(e))
    }
}

impl From<hark_audio::TagError> for Error {
    fn from(e: hark_audio::TagError) -> Self {
        Error::Write(Box::new(e))
    }
}

impl From<hark_audio::Error> for Error {
    fn from(e: hark_audio::Error) -> Self {
        Error::Metadata(Box::new(e))
    }
}

/// A tagging result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
