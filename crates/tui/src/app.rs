//! The UI's state and its one entry point, [`App::update`]: a message in
//! (a key, a mouse event, a tick, a worker's answer), the new state and a
//! list of [`Effect`]s out. No I/O happens here: the runtime carries the
//! effects out (searches on worker threads, playback, file copies) and
//! feeds their answers back as messages. Time comes in as an argument, so
//! debouncing is testable without sleeping.
//!
//! # How the place is kept
//!
//! The result lists form a stack of [`View`]s: a search, "sounds like" a
//! hit, a re-ranked list. Typing edits the top text view in place; `s` and
//! marking push a view; Back pops one, with its hits, selection and scroll
//! as they were. Answers carry the sequence number of their request, and
//! only the newest request's answers are applied, so a slow answer never
//! overwrites a newer list. When answers replace the hits of the same
//! request (the full-text stage, then the sound stage; a reload of the
//! index), the selection stays on the same file when it is still there.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use crate::backend::{FileDetail, FileId, Hit, IndexSummary};
use crate::keymap::{self, Action, Context, Edit};
use crate::layout::{self, Areas};
use crate::strings;

/// Timing and size settings of the UI core.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Hits asked for per list.
    pub k: usize,
    /// Quiet time after a keystroke in the query line before the search runs.
    pub search_debounce: Duration,
    /// Quiet time after a mark before the list is re-ranked (marks made in
    /// a quick run re-rank once).
    pub refine_debounce: Duration,
    /// Dwell time on a hit before audition plays it (scrolling past hits
    /// does not start each one).
    pub audition_delay: Duration,
    /// How long a status message stays.
    pub message_time: Duration,
    /// Seek step for ←/→, seconds.
    pub seek_step_s: f64,
    /// Seek step for Shift-←/→, seconds.
    pub seek_far_s: f64,
    /// Starting volume, 0 to 1.
    pub volume: f32,
    /// Draw in colour (off when `NO_COLOR` is set).
    pub color: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            k: 200,
            search_debounce: Duration::from_millis(120),
            refine_debounce: Duration::from_millis(350),
            audition_delay: Duration::from_millis(150),
            message_time: Duration::from_secs(5),
            seek_step_s: 1.0,
            seek_far_s: 10.0,
            volume: 0.8,
            color: true,
        }
    }
}

/// A line of text being edited, with a cursor (a char index).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineEditor {
    text: String,
    cursor: usize,
}

impl LineEditor {
    /// An editor holding `text`, cursor at the end.
    pub fn new(text: &str) -> Self {
        LineEditor {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Types `c` at the cursor.
    pub fn insert(&mut self, c: char) {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    /// Applies an editing step; true if the text changed.
    pub fn apply(&mut self, edit: Edit) -> bool {
        let len = self.text.chars().count();
        match edit {
            Edit::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
                true
            }
            Edit::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
                true
            }
            Edit::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                false
            }
            Edit::Right => {
                self.cursor = (self.cursor + 1).min(len);
                false
            }
            Edit::Home => {
                self.cursor = 0;
                false
            }
            Edit::End => {
                self.cursor = len;
                false
            }
            Edit::DeleteWord if self.cursor > 0 => {
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                let (from, to) = (self.byte_at(start), self.byte_at(self.cursor));
                self.text.replace_range(from..to, "");
                self.cursor = start;
                true
            }
            Edit::Clear if !self.text.is_empty() => {
                self.text.clear();
                self.cursor = 0;
                true
            }
            _ => false,
        }
    }
}

/// Where the keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The query line: letters are text.
    Query,
    /// The result list: letters are commands.
    List,
}

/// A box over the UI that takes the keys while open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// The key help, scrolled by this many lines.
    Help {
        /// Lines scrolled past.
        scroll: usize,
    },
    /// The export prompt: the folder being typed, and the files to copy.
    Export {
        /// The folder.
        folder: LineEditor,
        /// The files.
        files: Vec<PathBuf>,
    },
}

/// What a result list is.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewKind {
    /// The library, newest first (the empty query).
    Recent,
    /// A text query.
    Search {
        /// The query as typed.
        text: String,
    },
    /// Sounds like an indexed file.
    Similar {
        /// The file.
        id: FileId,
        /// Its name, for the title.
        name: String,
    },
    /// Another list re-ranked by the marks.
    Refined {
        /// The list that was marked.
        base: Box<ViewKind>,
    },
}

impl ViewKind {
    /// The query text this list answers (empty for lists that have none).
    pub fn text(&self) -> &str {
        match self {
            ViewKind::Search { text } => text,
            ViewKind::Refined { base } => base.text(),
            ViewKind::Recent | ViewKind::Similar { .. } => "",
        }
    }

    /// The file a similar-list (or a list re-ranked from one) is anchored on.
    fn anchor(&self) -> Option<FileId> {
        match self {
            ViewKind::Similar { id, .. } => Some(*id),
            ViewKind::Refined { base } => base.anchor(),
            _ => None,
        }
    }
}

/// A mark on a hit, for relevance feedback and export.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The file.
    pub id: FileId,
    /// Its path (kept for export even if a re-rank drops it from the list).
    pub path: PathBuf,
    /// Wanted (`+`) or unwanted (`-`).
    pub wanted: bool,
}

/// One result list and the place in it.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// What it is.
    pub kind: ViewKind,
    /// Its hits, best first.
    pub hits: Vec<Hit>,
    /// The selected row.
    pub selected: usize,
    /// The first row shown.
    pub offset: usize,
    /// Marks, in the order made.
    pub marks: Vec<Mark>,
    /// The index changed since its hits came: refresh when it is shown again.
    pub stale: bool,
}

impl View {
    fn new(kind: ViewKind) -> Self {
        View {
            kind,
            hits: Vec::new(),
            selected: 0,
            offset: 0,
            marks: Vec::new(),
            stale: false,
        }
    }

    /// The selected hit.
    pub fn selected_hit(&self) -> Option<&Hit> {
        self.hits.get(self.selected)
    }

    /// The mark on `id`: `Some(true)` wanted, `Some(false)` unwanted.
    pub fn mark_of(&self, id: FileId) -> Option<bool> {
        self.marks.iter().find(|m| m.id == id).map(|m| m.wanted)
    }

    fn ids(&self, wanted: bool) -> Vec<FileId> {
        self.marks
            .iter()
            .filter(|m| m.wanted == wanted)
            .map(|m| m.id)
            .collect()
    }

    /// The title shown at the right of the query line.
    pub fn title(&self) -> String {
        match &self.kind {
            ViewKind::Recent => strings::VIEW_RECENT.to_string(),
            ViewKind::Search { .. } => strings::hit_count(self.hits.len()),
            ViewKind::Similar { name, .. } => strings::view_similar(name),
            ViewKind::Refined { .. } => {
                strings::view_refined(self.ids(true).len(), self.ids(false).len())
            }
        }
    }
}

/// What the newest request is doing, for the spinner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Full-text search, filters, the library listing.
    Searching,
    /// The text tower is embedding the query.
    Embedding,
    /// Looking up similar sounds.
    Similar,
    /// Relevance feedback.
    Refining,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    seq: u64,
    stage: Stage,
    /// Keep the selection on the same file when the hits arrive (the same
    /// request answered again) rather than go to the top (a new query).
    keep_selection: bool,
}

/// The detail pane's content.
#[derive(Debug, Clone, PartialEq)]
pub enum DetailState {
    /// Asked for, not here yet.
    Loading(FileId),
    /// Here.
    Ready(Box<FileDetail>),
    /// Could not be read.
    Failed(FileId, String),
}

impl DetailState {
    fn id(&self) -> FileId {
        match self {
            DetailState::Loading(id) | DetailState::Failed(id, _) => *id,
            DetailState::Ready(d) => d.id,
        }
    }
}

/// The audio output as the UI knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// Not known yet (the player is opening it).
    Unknown,
    /// Open.
    Ready,
    /// None: the reason, shown on the status line.
    Missing(String),
}

/// The sound playing (or starting).
#[derive(Debug, Clone, PartialEq)]
pub struct NowPlaying {
    /// The request's token; events for other tokens are old news.
    pub token: u64,
    /// The file.
    pub id: FileId,
    /// Where it is, seconds from the file's start.
    pub position_s: f64,
    /// Its length, when known.
    pub duration_s: Option<f64>,
    /// The first sample has gone out.
    pub started: bool,
}

/// Playback state for the status line and the waveform cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// The device.
    pub device: Device,
    /// What plays.
    pub playing: Option<NowPlaying>,
    /// Volume, 0 to 1.
    pub volume: f32,
    /// Looping.
    pub looping: bool,
    /// Play each hit as it is selected.
    pub audition: bool,
}

/// A status message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The text.
    pub text: String,
    /// Shown as an error.
    pub error: bool,
    until: Instant,
}

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
    /// Files already in the folder under the same name, left alone.
    pub skipped: usize,
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
    /// A file's details arrived.
    Detail {
        /// The file.
        id: FileId,
        /// Its details, or why not.
        result: Result<Box<FileDetail>, String>,
    },
    /// The index summary arrived.
    Summary(Result<IndexSummary, String>),
    /// A new index was published and loaded.
    IndexChanged,
    /// Checking for a new index failed.
    ReloadFailed(String),
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

/// What the runtime should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The library, newest first.
    Recent {
        /// Request number.
        seq: u64,
    },
    /// A text query: full-text stage at once, then the sound stage.
    Search {
        /// Request number.
        seq: u64,
        /// The query.
        text: String,
    },
    /// Sounds like a file.
    Similar {
        /// Request number.
        seq: u64,
        /// The file.
        id: FileId,
    },
    /// Relevance feedback on the query `text` (may be empty).
    Refine {
        /// Request number.
        seq: u64,
        /// The query text.
        text: String,
        /// Files to move toward.
        wanted: Vec<FileId>,
        /// Files to move away from.
        unwanted: Vec<FileId>,
    },
    /// Fetch a file's details.
    LoadDetail(FileId),
    /// Fetch the index summary.
    LoadSummary,
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

/// The whole UI state. See the module docs.
#[derive(Debug, Clone)]
pub struct App {
    /// Settings.
    pub settings: Settings,
    /// The query line.
    pub query: LineEditor,
    /// Where the keys go.
    pub focus: Focus,
    /// An open overlay.
    pub overlay: Option<Overlay>,
    /// The result lists; the last is shown. Never empty.
    pub views: Vec<View>,
    /// The detail pane.
    pub detail: Option<DetailState>,
    /// The index summary, or why it is missing.
    pub summary: Option<Result<IndexSummary, String>>,
    /// Playback.
    pub audio: Audio,
    /// The status message.
    pub message: Option<Message>,
    /// Spinner frame.
    pub spinner: usize,
    /// When the spinner last moved (it moves every [`SPIN_EVERY`], however
    /// often ticks come).
    spun_at: Option<Instant>,
    /// Exports running.
    pub exporting: usize,
    /// The terminal size (columns, rows).
    pub size: (u16, u16),
    /// Set when the UI should close.
    pub quit: bool,
    pending: Option<Pending>,
    next_seq: u64,
    next_token: u64,
    search_due: Option<Instant>,
    refine_due: Option<Instant>,
    audition_due: Option<Instant>,
    details: HashMap<FileId, FileDetail>,
    last_export_dir: String,
}

/// The spinner's (and, while playing, the play position's) frame time.
pub const SPIN_EVERY: Duration = Duration::from_millis(80);
/// Details kept for hits already visited; beyond this the cache starts over.
const DETAIL_CACHE: usize = 512;
/// Wheel notches move the selection this many rows.
const WHEEL_ROWS: usize = 3;
/// Volume step of `9` / `0`.
const VOLUME_STEP: f32 = 0.1;

impl App {
    /// The UI at start, showing `initial_query`'s results (or the library),
    /// with the query line focused; and the effects that fetch them.
    pub fn new(
        initial_query: Option<&str>,
        settings: Settings,
        size: (u16, u16),
    ) -> (App, Vec<Effect>) {
        let text = initial_query.unwrap_or("").trim().to_string();
        let volume = settings.volume;
        let mut app = App {
            settings,
            query: LineEditor::new(&text),
            focus: Focus::Query,
            overlay: None,
            views: vec![View::new(view_kind_for(&text))],
            detail: None,
            summary: None,
            audio: Audio {
                device: Device::Unknown,
                playing: None,
                volume,
                looping: false,
                audition: false,
            },
            message: None,
            spinner: 0,
            spun_at: None,
            exporting: 0,
            size,
            quit: false,
            pending: None,
            next_seq: 0,
            next_token: 0,
            search_due: None,
            refine_due: None,
            audition_due: None,
            details: HashMap::new(),
            last_export_dir: String::new(),
        };
        let mut effects = vec![Effect::LoadSummary, Effect::SetVolume(volume)];
        effects.push(app.request_top(false));
        (app, effects)
    }

    /// The list shown.
    pub fn view(&self) -> &View {
        self.views.last().expect("views is never empty")
    }

    fn view_mut(&mut self) -> &mut View {
        self.views.last_mut().expect("views is never empty")
    }

    /// The selected hit.
    pub fn selected_hit(&self) -> Option<&Hit> {
        self.view().selected_hit()
    }

    /// What runs, for the spinner: the newest request's stage, or an export.
    pub fn busy(&self) -> Option<&'static str> {
        if let Some(p) = self.pending {
            return Some(match p.stage {
                Stage::Searching => strings::BUSY_SEARCHING,
                Stage::Embedding => strings::BUSY_EMBEDDING,
                Stage::Similar => strings::BUSY_SIMILAR,
                Stage::Refining => strings::BUSY_REFINING,
            });
        }
        (self.exporting > 0).then_some(strings::BUSY_EXPORTING)
    }

    /// The layout for the current size.
    pub fn areas(&self) -> Areas {
        layout::areas(Rect::new(0, 0, self.size.0, self.size.1))
    }

    /// The earliest time a [`Msg::Tick`] has something to do, for the
    /// runtime's wait: a debounce deadline, a message expiry, or the next
    /// spinner frame while something runs.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let spinner =
            (self.busy().is_some() || self.audio.playing.is_some()).then(|| now + SPIN_EVERY);
        [
            self.search_due,
            self.refine_due,
            self.audition_due,
            self.message.as_ref().map(|m| m.until),
            spinner,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Applies `msg` at time `now`; returns what the runtime must do.
    pub fn update(&mut self, msg: Msg, now: Instant) -> Vec<Effect> {
        let before = self.selected_id();
        let mut effects = match msg {
            Msg::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key, now),
            Msg::Key(_) => Vec::new(),
            Msg::Mouse(mouse) => self.on_mouse(mouse, now),
            Msg::Paste(text) => self.on_paste(&text, now),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.scroll_to_selection();
                Vec::new()
            }
            Msg::Tick => self.on_tick(now),
            Msg::Hits { seq, result, done } => self.on_hits(seq, result, done, now),
            Msg::Detail { id, result } => {
                self.on_detail(id, result, now);
                Vec::new()
            }
            Msg::Summary(result) => {
                self.summary = Some(result);
                Vec::new()
            }
            Msg::IndexChanged => self.on_index_changed(now),
            Msg::ReloadFailed(cause) => {
                self.say_error(strings::reload_failed(&cause), now);
                Vec::new()
            }
            Msg::Playback(event) => {
                self.on_playback(event, now);
                Vec::new()
            }
            Msg::Exported(result) => {
                self.exporting = self.exporting.saturating_sub(1);
                match result {
                    Ok(r) => self.say(strings::exported(r.copied, r.skipped, &r.dir), now),
                    Err(cause) => self.say_error(strings::export_failed(&cause), now),
                }
                Vec::new()
            }
            Msg::Opened { dir, result } => {
                match result {
                    Ok(()) => self.say(strings::opened(&dir), now),
                    Err(cause) => self.say_error(strings::open_failed(&dir, &cause), now),
                }
                Vec::new()
            }
            Msg::Quit => {
                self.quit = true;
                Vec::new()
            }
        };
        if self.selected_id() != before {
            self.scroll_to_selection();
            effects.extend(self.on_selection_changed(now));
        }
        effects
    }

    fn selected_id(&self) -> Option<FileId> {
        self.selected_hit().map(|h| h.id)
    }

    fn say(&mut self, text: String, now: Instant) {
        self.message = Some(Message {
            text,
            error: false,
            until: now + self.settings.message_time,
        });
    }

    fn say_error(&mut self, text: String, now: Instant) {
        self.message = Some(Message {
            text,
            error: true,
            until: now + self.settings.message_time,
        });
    }

    fn context(&self) -> Context {
        match (&self.overlay, self.focus) {
            (Some(Overlay::Help { .. }), _) => Context::Help,
            (Some(Overlay::Export { .. }), _) => Context::Prompt,
            (None, Focus::Query) => Context::Query,
            (None, Focus::List) => Context::List,
        }
    }

    fn on_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        let context = self.context();
        let Some(action) = keymap::action_for(context, &key) else {
            // Unbound printable keys are text in the query line and prompts.
            if let KeyCode::Char(c) = key.code {
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                {
                    match (context, &mut self.overlay) {
                        (Context::Query, _) => {
                            self.query.insert(c);
                            self.query_edited(now);
                        }
                        (Context::Prompt, Some(Overlay::Export { folder, .. })) => folder.insert(c),
                        _ => {}
                    }
                }
            }
            return Vec::new();
        };
        self.on_action(action, context, now)
    }

    fn on_action(&mut self, action: Action, context: Context, now: Instant) -> Vec<Effect> {
        let page = self.areas().list_rows().max(1);
        match action {
            Action::Quit => {
                self.quit = true;
            }
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown
                if context == Context::Help =>
            {
                let lines = crate::ui::help_lines().len();
                if let Some(Overlay::Help { scroll }) = &mut self.overlay {
                    let delta: isize = match action {
                        Action::Up => -1,
                        Action::Down => 1,
                        Action::PageUp => -(page as isize),
                        _ => page as isize,
                    };
                    *scroll = scroll
                        .saturating_add_signed(delta)
                        .min(lines.saturating_sub(1));
                }
            }
            Action::Cancel => self.overlay = None,
            Action::Edit(edit) => {
                if context == Context::Query {
                    if self.query.apply(edit) {
                        self.query_edited(now);
                    }
                } else if let Some(Overlay::Export { folder, .. }) = &mut self.overlay {
                    folder.apply(edit);
                }
            }
            Action::Submit => {
                self.focus = Focus::List;
                self.search_due = None;
                return vec![self.start_query()];
            }
            Action::LeaveQuery => {
                self.focus = Focus::List;
                // Leaving the query line commits what was typed.
                if self.search_due.take().is_some() {
                    return vec![self.start_query()];
                }
            }
            Action::FocusQuery => {
                self.focus = Focus::Query;
                self.query.apply(Edit::End);
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(page as isize)),
            Action::PageDown => self.move_by(page as isize),
            Action::Top => self.view_mut().selected = 0,
            Action::Bottom => {
                let n = self.view().hits.len();
                self.view_mut().selected = n.saturating_sub(1);
            }
            Action::PlayStop => return self.play_stop(now),
            Action::ToggleAudition => {
                self.audio.audition = !self.audio.audition;
                self.say(strings::audition(self.audio.audition).into(), now);
                self.audition_due = None;
                if self.audio.audition
                    && self.playing_selected().is_none()
                    && self.selected_hit().is_some()
                {
                    return self.play_selected(None, now);
                }
            }
            Action::SeekBack => return self.seek(-self.settings.seek_step_s),
            Action::SeekForward => return self.seek(self.settings.seek_step_s),
            Action::SeekBackFar => return self.seek(-self.settings.seek_far_s),
            Action::SeekForwardFar => return self.seek(self.settings.seek_far_s),
            Action::ToggleLoop => {
                self.audio.looping = !self.audio.looping;
                self.say(strings::looping(self.audio.looping).into(), now);
                return vec![Effect::SetLooping(self.audio.looping)];
            }
            Action::VolumeDown | Action::VolumeUp => {
                let step = if action == Action::VolumeUp {
                    VOLUME_STEP
                } else {
                    -VOLUME_STEP
                };
                // Round to the step so repeated presses land on whole tens.
                self.audio.volume =
                    ((self.audio.volume + step) * 10.0).round().clamp(0.0, 10.0) / 10.0;
                self.say(strings::volume(self.audio.volume), now);
                return vec![Effect::SetVolume(self.audio.volume)];
            }
            Action::Similar => return self.similar(now),
            Action::MarkWanted => self.mark(true, now),
            Action::MarkUnwanted => self.mark(false, now),
            Action::Back => return self.back(now),
            Action::CopyPath => {
                let Some(hit) = self.selected_hit() else {
                    self.say_error(strings::NOTHING_SELECTED.into(), now);
                    return Vec::new();
                };
                let path = hit.path.clone();
                self.say(strings::copied(&path), now);
                return vec![Effect::CopyToClipboard(path.to_string_lossy().into_owned())];
            }
            Action::Export => {
                let view = self.view();
                let mut files: Vec<PathBuf> = view
                    .marks
                    .iter()
                    .filter(|m| m.wanted)
                    .map(|m| m.path.clone())
                    .collect();
                if files.is_empty() {
                    files.extend(view.selected_hit().map(|h| h.path.clone()));
                }
                if files.is_empty() {
                    self.say_error(strings::NOTHING_SELECTED.into(), now);
                } else {
                    self.overlay = Some(Overlay::Export {
                        folder: LineEditor::new(&self.last_export_dir),
                        files,
                    });
                }
            }
            Action::Confirm => {
                if let Some(Overlay::Export { folder, files }) = &self.overlay {
                    let dir = folder.text().trim().to_string();
                    if dir.is_empty() {
                        self.say_error(strings::EXPORT_NEEDS_FOLDER.into(), now);
                        return Vec::new();
                    }
                    let files = files.clone();
                    self.last_export_dir = dir.clone();
                    self.overlay = None;
                    self.exporting += 1;
                    return vec![Effect::Export {
                        files,
                        dir: PathBuf::from(dir),
                    }];
                }
            }
            Action::OpenFolder => {
                let Some(hit) = self.selected_hit() else {
                    self.say_error(strings::NOTHING_SELECTED.into(), now);
                    return Vec::new();
                };
                let dir = hit
                    .path
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("."));
                return vec![Effect::OpenFolder(dir)];
            }
        }
        Vec::new()
    }

    fn move_by(&mut self, delta: isize) {
        let view = self.view_mut();
        if view.hits.is_empty() {
            return;
        }
        let last = view.hits.len() - 1;
        view.selected = view.selected.saturating_add_signed(delta).min(last);
    }

    /// Keeps the selected row on screen.
    fn scroll_to_selection(&mut self) {
        let rows = self.areas().list_rows().max(1);
        let view = self.view_mut();
        if view.selected < view.offset {
            view.offset = view.selected;
        } else if view.selected >= view.offset + rows {
            view.offset = view.selected + 1 - rows;
        }
        let max_offset = view.hits.len().saturating_sub(rows);
        view.offset = view.offset.min(max_offset);
    }

    fn query_edited(&mut self, now: Instant) {
        self.search_due = Some(now + self.settings.search_debounce);
    }

    /// Runs the query line's text: the top list becomes its answer (a text
    /// list is edited in place; on any other list a new one is pushed, so
    /// Back returns to it).
    fn start_query(&mut self) -> Effect {
        let kind = view_kind_for(self.query.text());
        let top = self.view_mut();
        let keep = top.kind == kind;
        if matches!(top.kind, ViewKind::Recent | ViewKind::Search { .. }) {
            top.kind = kind;
            top.marks.clear();
        } else {
            self.push_view(View::new(kind));
        }
        self.request_top(keep)
    }

    /// The effect that (re)fetches the top list, and the bookkeeping that
    /// makes its answers the only ones applied.
    fn request_top(&mut self, keep_selection: bool) -> Effect {
        self.next_seq += 1;
        let seq = self.next_seq;
        let view = self.view_mut();
        view.stale = false;
        let (stage, effect) = match &view.kind {
            ViewKind::Recent => (Stage::Searching, Effect::Recent { seq }),
            ViewKind::Search { text } => (
                Stage::Searching,
                Effect::Search {
                    seq,
                    text: text.clone(),
                },
            ),
            ViewKind::Similar { id, .. } => (Stage::Similar, Effect::Similar { seq, id: *id }),
            ViewKind::Refined { base } => {
                let mut wanted: Vec<FileId> = base.anchor().into_iter().collect();
                wanted.extend(view.ids(true));
                (
                    Stage::Refining,
                    Effect::Refine {
                        seq,
                        text: base.text().to_string(),
                        wanted,
                        unwanted: view.ids(false),
                    },
                )
            }
        };
        self.pending = Some(Pending {
            seq,
            stage,
            keep_selection,
        });
        effect
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self
            .spun_at
            .is_none_or(|t| now.saturating_duration_since(t) >= SPIN_EVERY)
        {
            self.spinner = self.spinner.wrapping_add(1);
            self.spun_at = Some(now);
        }
        if self.message.as_ref().is_some_and(|m| m.until <= now) {
            self.message = None;
        }
        if self.search_due.is_some_and(|t| t <= now) {
            self.search_due = None;
            effects.push(self.start_query());
        }
        if self.refine_due.is_some_and(|t| t <= now) {
            self.refine_due = None;
            if matches!(self.view().kind, ViewKind::Refined { .. }) {
                effects.push(self.request_top(true));
            }
        }
        if self.audition_due.is_some_and(|t| t <= now) {
            self.audition_due = None;
            if self.audio.audition && self.playing_selected().is_none() {
                effects.extend(self.play_selected(None, now));
            }
        }
        effects
    }

    fn on_hits(
        &mut self,
        seq: u64,
        result: Result<Vec<Hit>, String>,
        done: bool,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(pending) = self.pending.as_mut().filter(|p| p.seq == seq) else {
            return Vec::new(); // An answer to a request since replaced.
        };
        let keep = pending.keep_selection;
        pending.keep_selection = true;
        if done {
            self.pending = None;
        } else if let Some(p) = self.pending.as_mut() {
            p.stage = Stage::Embedding;
        }
        match result {
            Ok(hits) => {
                let view = self.view_mut();
                let previous = view.selected_hit().map(|h| h.id);
                let previous_row = view.selected;
                view.hits = hits;
                view.selected = match (keep, previous) {
                    (true, Some(id)) => view
                        .hits
                        .iter()
                        .position(|h| h.id == id)
                        .unwrap_or_else(|| previous_row.min(view.hits.len().saturating_sub(1))),
                    _ => 0,
                };
                if !keep {
                    view.offset = 0;
                }
            }
            Err(cause) => self.say_error(strings::search_failed(&cause), now),
        }
        Vec::new()
    }

    fn on_selection_changed(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(id) = self.selected_id() else {
            self.detail = None;
            return effects;
        };
        if self.detail.as_ref().map(DetailState::id) != Some(id) {
            match self.details.get(&id) {
                Some(d) => self.detail = Some(DetailState::Ready(Box::new(d.clone()))),
                None => {
                    self.detail = Some(DetailState::Loading(id));
                    effects.push(Effect::LoadDetail(id));
                }
            }
        }
        if self.audio.audition && self.playing_selected().is_none() {
            self.audition_due = Some(now + self.settings.audition_delay);
        }
        effects
    }

    fn on_detail(&mut self, id: FileId, result: Result<Box<FileDetail>, String>, now: Instant) {
        let shown = self.detail.as_ref().map(DetailState::id) == Some(id);
        match result {
            Ok(detail) => {
                if self.details.len() >= DETAIL_CACHE {
                    self.details.clear();
                }
                self.details.insert(id, (*detail).clone());
                if shown {
                    self.detail = Some(DetailState::Ready(detail));
                }
            }
            Err(cause) if shown => {
                self.say_error(strings::detail_failed(&cause), now);
                self.detail = Some(DetailState::Failed(id, cause));
            }
            Err(_) => {}
        }
    }

    fn on_index_changed(&mut self, now: Instant) -> Vec<Effect> {
        self.details.clear();
        for view in &mut self.views {
            view.stale = true;
        }
        self.say(strings::INDEX_RELOADED.into(), now);
        let mut effects = vec![Effect::LoadSummary, self.request_top(true)];
        if let Some(id) = self.selected_id() {
            self.detail = Some(DetailState::Loading(id));
            effects.push(Effect::LoadDetail(id));
        }
        effects
    }

    fn similar(&mut self, now: Instant) -> Vec<Effect> {
        let Some(hit) = self.selected_hit() else {
            self.say_error(strings::NOTHING_SELECTED.into(), now);
            return Vec::new();
        };
        let kind = ViewKind::Similar {
            id: hit.id,
            name: file_name(hit),
        };
        self.push_view(View::new(kind));
        self.query = LineEditor::default();
        self.search_due = None;
        self.refine_due = None;
        vec![self.request_top(false)]
    }

    fn mark(&mut self, wanted: bool, now: Instant) {
        let Some(hit) = self.selected_hit().cloned() else {
            self.say_error(strings::NOTHING_SELECTED.into(), now);
            return;
        };
        if !matches!(self.view().kind, ViewKind::Refined { .. }) {
            // The first mark on a list: a re-ranked copy goes on top, so
            // Back returns to the list as it was.
            let top = self.view();
            let mut refined = View::new(ViewKind::Refined {
                base: Box::new(top.kind.clone()),
            });
            refined.hits = top.hits.clone();
            refined.selected = top.selected;
            refined.offset = top.offset;
            self.push_view(refined);
        }
        let view = self.view_mut();
        match view.marks.iter().position(|m| m.id == hit.id) {
            Some(i) if view.marks[i].wanted == wanted => {
                view.marks.remove(i);
            }
            Some(i) => view.marks[i].wanted = wanted,
            None => view.marks.push(Mark {
                id: hit.id,
                path: hit.path.clone(),
                wanted,
            }),
        }
        self.refine_due = Some(now + self.settings.refine_debounce);
    }

    /// Pushes `view`; the list it covers is refreshed when shown again if
    /// its own request was still running.
    fn push_view(&mut self, view: View) {
        if self.pending.take().is_some() {
            self.view_mut().stale = true;
        }
        self.views.push(view);
    }

    fn back(&mut self, now: Instant) -> Vec<Effect> {
        if self.views.len() < 2 {
            self.say(strings::NO_EARLIER_LIST.into(), now);
            return Vec::new();
        }
        self.views.pop();
        self.pending = None;
        self.search_due = None;
        self.refine_due = None;
        self.query = LineEditor::new(self.view().kind.text());
        if self.view().stale {
            return vec![self.request_top(true)];
        }
        Vec::new()
    }

    /// The playing sound, if it is the selected hit's.
    fn playing_selected(&self) -> Option<&NowPlaying> {
        let id = self.selected_id()?;
        self.audio.playing.as_ref().filter(|p| p.id == id)
    }

    fn play_stop(&mut self, now: Instant) -> Vec<Effect> {
        if self.playing_selected().is_some() {
            self.audio.playing = None;
            return vec![Effect::Stop];
        }
        self.play_selected(None, now)
    }

    fn play_selected(&mut self, from_s: Option<f64>, now: Instant) -> Vec<Effect> {
        if let Device::Missing(reason) = &self.audio.device {
            let text = strings::no_audio(reason);
            self.say_error(text, now);
            return Vec::new();
        }
        let Some(hit) = self.selected_hit().cloned() else {
            self.say_error(strings::NOTHING_SELECTED.into(), now);
            return Vec::new();
        };
        self.next_token += 1;
        let token = self.next_token;
        let start_s = from_s.or(hit.offset_s).unwrap_or(0.0).max(0.0);
        self.audio.playing = Some(NowPlaying {
            token,
            id: hit.id,
            position_s: start_s,
            duration_s: hit.duration_s,
            started: false,
        });
        vec![Effect::Play {
            token,
            path: hit.path,
            start_s,
        }]
    }

    fn seek(&mut self, by_s: f64) -> Vec<Effect> {
        match &mut self.audio.playing {
            Some(p) => {
                // Shown at once; the player's next position report confirms it.
                p.position_s = (p.position_s + by_s).max(0.0);
                vec![Effect::SeekBy(by_s)]
            }
            None => Vec::new(),
        }
    }

    fn on_playback(&mut self, event: PlaybackEvent, now: Instant) {
        let is_current =
            |token: u64, audio: &Audio| audio.playing.as_ref().is_some_and(|p| p.token == token);
        match event {
            PlaybackEvent::DeviceReady => self.audio.device = Device::Ready,
            PlaybackEvent::DeviceMissing(reason) => {
                self.say_error(strings::no_audio(&reason), now);
                self.audio.device = Device::Missing(reason);
                self.audio.playing = None;
            }
            PlaybackEvent::Started { token, duration_s } if is_current(token, &self.audio) => {
                if let Some(p) = self.audio.playing.as_mut() {
                    p.started = true;
                    p.duration_s = duration_s.or(p.duration_s);
                }
            }
            PlaybackEvent::Position { token, position_s } if is_current(token, &self.audio) => {
                if let Some(p) = self.audio.playing.as_mut() {
                    p.position_s = position_s;
                }
            }
            PlaybackEvent::Finished { token } if is_current(token, &self.audio) => {
                self.audio.playing = None
            }
            PlaybackEvent::Failed { token, message } if is_current(token, &self.audio) => {
                self.audio.playing = None;
                self.say_error(strings::play_failed(&message), now);
            }
            _ => {} // Old news about an earlier sound.
        }
    }

    fn on_paste(&mut self, text: &str, now: Instant) -> Vec<Effect> {
        let text: String = text.chars().filter(|c| !c.is_control()).collect();
        match (self.context(), &mut self.overlay) {
            (Context::Query, _) => {
                text.chars().for_each(|c| self.query.insert(c));
                self.query_edited(now);
            }
            (Context::Prompt, Some(Overlay::Export { folder, .. })) => {
                text.chars().for_each(|c| folder.insert(c))
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_mouse(&mut self, mouse: MouseEvent, now: Instant) -> Vec<Effect> {
        if self.overlay.is_some() {
            return Vec::new();
        }
        let areas = self.areas();
        let at = Position::new(mouse.column, mouse.row);
        match mouse.kind {
            MouseEventKind::ScrollDown => self.move_by(WHEEL_ROWS as isize),
            MouseEventKind::ScrollUp => self.move_by(-(WHEEL_ROWS as isize)),
            MouseEventKind::Down(MouseButton::Left) => {
                if areas.query.contains(at) {
                    self.focus = Focus::Query;
                } else if areas.list.contains(at) && at.y > areas.list.y {
                    self.focus = Focus::List;
                    let row = self.view().offset + usize::from(at.y - areas.list.y - 1);
                    if row < self.view().hits.len() {
                        self.view_mut().selected = row;
                    }
                } else if areas.waveform.contains(at) && areas.waveform.width > 0 {
                    return self.click_waveform(
                        f64::from(at.x - areas.waveform.x) / f64::from(areas.waveform.width),
                        now,
                    );
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Plays the selected hit from `fraction` of its length (seeks if it plays).
    fn click_waveform(&mut self, fraction: f64, now: Instant) -> Vec<Effect> {
        let Some(duration) = self.selected_hit().and_then(|h| h.duration_s) else {
            return Vec::new();
        };
        let target = fraction.clamp(0.0, 1.0) * duration;
        if self.playing_selected().is_some() {
            if let Some(p) = self.audio.playing.as_mut() {
                p.position_s = target;
            }
            return vec![Effect::SeekTo(target)];
        }
        self.play_selected(Some(target), now)
    }
}

/// The kind of list a query text asks for.
fn view_kind_for(text: &str) -> ViewKind {
    let text = text.trim();
    if text.is_empty() {
        ViewKind::Recent
    } else {
        ViewKind::Search {
            text: text.to_string(),
        }
    }
}

/// A hit's file name, for titles.
pub fn file_name(hit: &Hit) -> String {
    hit.path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| hit.path.to_string_lossy().into_owned())
}
