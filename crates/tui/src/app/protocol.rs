//! The UI core's contract with the runtime: the [`Msg`]s that come in (the
//! terminal's events, the workers' and the player's answers) and the
//! [`Effect`]s that go out (work for the runtime to do).

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use crate::backend::{CategorySuggestion, Copies, FileDetail, FileId, Hit, IndexSummary};

/// What the player reports.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaybackEvent {
    /// The output device is open.
    DeviceReady,
    /// There is no output device; why.
    DeviceMissing(String),
    /// The first sample of `token` went out.
    Started {
        /// The request.
        token: u64,
        /// The file's length, when the decoder knows it.
        duration_s: Option<f64>,
    },
    /// Where `token` is now.
    Position {
        /// The request.
        token: u64,
        /// Seconds from the file's start.
        position_s: f64,
    },
    /// `token` played to its end.
    Finished {
        /// The request.
        token: u64,
    },
    /// `token` could not be played (the file vanished, or did not decode).
    Failed {
        /// The request.
        token: u64,
        /// Why.
        message: String,
    },
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// The folder.
    pub dir: PathBuf,
    /// Files copied.
    pub copied: usize,
    /// Files already in the folder (the same content under the same name,
    /// or under a name an earlier export gave it), left alone.
    pub skipped: usize,
    /// Files copied under another name because a different file had
    /// theirs (two marked hits of one name, or a file already in the
    /// folder): the original path and the name given.
    pub renamed: Vec<(PathBuf, String)>,
}

/// Everything that can happen to the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The mouse did something.
    Mouse(MouseEvent),
    /// Text was pasted.
    Paste(String),
    /// The terminal is now this size (columns, rows).
    Resize(u16, u16),
    /// Time passed (debounce deadlines, the spinner, message expiry).
    Tick,
    /// A list request answered. `done` is false when a later stage of the
    /// same request follows (the sound search after the full-text one).
    Hits {
        /// The request.
        seq: u64,
        /// The hits, or why not.
        result: Result<Vec<Hit>, String>,
        /// No more answers for this request.
        done: bool,
    },
    /// A [`ListRequest::Copies`] answered.
    Copies {
        /// The request.
        seq: u64,
        /// The file's copies, or why not.
        result: Result<Copies, String>,
    },
    /// A file's details arrived.
    Detail {
        /// The file.
        id: FileId,
        /// Its details, or why not.
        result: Result<Box<FileDetail>, String>,
    },
    /// The index summary arrived.
    Summary(Result<IndexSummary, String>),
    /// A file's category suggestion arrived (`None`: it has a category).
    Suggestion {
        /// The file.
        id: FileId,
        /// The suggestion, or why there is none.
        result: Result<Option<Box<CategorySuggestion>>, String>,
    },
    /// A suggested category was written into a file (or not).
    CategoryAccepted {
        /// The file.
        id: FileId,
        /// The CatID.
        cat_id: String,
        /// `Err(cause)` if it was not written.
        result: Result<(), String>,
    },
    /// A new index was published and loaded.
    IndexChanged,
    /// Checking for a new index failed.
    ReloadFailed(String),
    /// The backend's note on a query's vectors (see
    /// [`Backend::note`](crate::Backend::note)).
    Note(String),
    /// The player reported.
    Playback(PlaybackEvent),
    /// An export finished.
    Exported(Result<ExportReport, String>),
    /// The file manager was (or could not be) asked to open a folder.
    Opened {
        /// The folder.
        dir: PathBuf,
        /// `Err(cause)` if it failed.
        result: Result<(), String>,
    },
    /// Leave (a signal asked for it).
    Quit,
}

/// A result list to fetch.
#[derive(Debug, Clone, PartialEq)]
pub enum ListRequest {
    /// The library, newest first.
    Recent,
    /// A text query: full-text stage at once, then the sound stage.
    Search {
        /// The query.
        text: String,
    },
    /// Sounds like a file.
    Similar {
        /// The file.
        id: FileId,
    },
    /// The copies of a file (its duplicates); answered by [`Msg::Copies`].
    Copies {
        /// The file.
        id: FileId,
    },
    /// Relevance feedback on the query `text` (may be empty).
    Refine {
        /// The query text.
        text: String,
        /// Files to move toward.
        wanted: Vec<FileId>,
        /// Files to move away from.
        unwanted: Vec<FileId>,
    },
}

/// What the runtime should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Fetch a result list; its answers come back as [`Msg::Hits`] (or,
    /// for copies, [`Msg::Copies`]) with the same `seq`.
    List {
        /// Request number.
        seq: u64,
        /// Which list.
        request: ListRequest,
        /// How many hits (the list's first `k`).
        k: usize,
    },
    /// Fetch a file's details.
    LoadDetail(FileId),
    /// Fetch the index summary.
    LoadSummary,
    /// Fetch a file's category suggestion; it comes back as
    /// [`Msg::Suggestion`].
    LoadSuggestion(FileId),
    /// Write a suggested category into a file; done when
    /// [`Msg::CategoryAccepted`] comes back.
    AcceptCategory {
        /// The file.
        id: FileId,
        /// The CatID.
        cat_id: String,
    },
    /// Play a file from `start_s` seconds.
    Play {
        /// The request's token.
        token: u64,
        /// The file.
        path: PathBuf,
        /// Where to start.
        start_s: f64,
    },
    /// Stop playing.
    Stop,
    /// Move the play position by this many seconds.
    SeekBy(f64),
    /// Move the play position to this second.
    SeekTo(f64),
    /// Set the volume, 0 to 1.
    SetVolume(f32),
    /// Loop or not.
    SetLooping(bool),
    /// Put text on the clipboard (OSC 52).
    CopyToClipboard(String),
    /// Copy files into a folder (created if missing).
    Export {
        /// The files.
        files: Vec<PathBuf>,
        /// The folder.
        dir: PathBuf,
    },
    /// Open a folder in the file manager.
    OpenFolder(PathBuf),
}
