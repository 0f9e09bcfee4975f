//! The UI's state and its one entry point, [`App::update`]: a message in
//! (a key, a mouse event, a tick, a worker's answer), the new state and a
//! list of [`Effect`]s out. No I/O happens here: the runtime carries the
//! effects out (searches on worker threads, playback, file copies) and
//! feeds their answers back as messages. Time comes in as an argument, so
//! debouncing is testable without sleeping.
//!
//! # The parts
//!
//! [`App`] routes messages and keys; each part it owns has one job:
//!
//! - [`QueryLine`]: the query line (typing, editing, pastes) and when its
//!   search is due;
//! - [`Views`]: the stack of result lists ([`View`]), the requests that
//!   fill them, selection, marks, "sounds like", copies and Back;
//! - [`DetailPane`]: the selected hit's details;
//! - [`Categories`]: the selected file's category suggestion, and
//!   accepting it;
//! - [`Audio`]: what the app asks of playback, and the player's reports;
//! - [`StatusLine`]: messages, errors, the index summary, the spinner;
//! - [`Overlay`]: the key help and the export prompt;
//! - [`Handoff`]: clipboard, exports, the file manager.
//!
//! What keys, clicks and pastes mean, and which part an action is for, is
//! read in `input`; [`Msg`] and [`Effect`] are the runtime's contract.

mod audio;
mod category;
mod detail;
mod editor;
mod handoff;
mod input;
mod overlay;
mod protocol;
mod query;
mod settings;
mod status;
mod view;
mod views;

use std::time::Instant;

use ratatui::crossterm::event::{KeyEvent, KeyEventKind, MouseEvent};
use ratatui::layout::Rect;

pub use audio::{Audio, Device, NowPlaying};
pub use category::{Categories, Suggested};
pub use detail::{DetailPane, DetailState};
pub use editor::LineEditor;
pub use handoff::Handoff;
pub use input::Focus;
pub use overlay::Overlay;
pub use protocol::{Effect, ExportReport, ListRequest, Msg, PlaybackEvent};
pub use query::QueryLine;
pub use settings::Settings;
pub use status::{Message, StatusLine, SPIN_EVERY};
pub use view::{file_name, Mark, View, ViewKind};
pub use views::{Stage, Views};

use crate::backend::{FileId, Hit};
use crate::keymap::{Action, Context, Edit};
use crate::layout::{self, Areas};
use crate::strings;
use input::{Input, Pointer, Route};

/// The whole UI state: the parts, where the keys go, and the terminal's
/// size. See the module docs.
#[derive(Debug, Clone)]
pub struct App {
    settings: Settings,
    /// The terminal size (columns, rows).
    pub size: (u16, u16),
    /// Set when the UI should close.
    pub quit: bool,
    /// Where the keys go.
    pub focus: Focus,
    /// An open overlay.
    pub overlay: Option<Overlay>,
    /// The query line.
    pub query: QueryLine,
    /// The result lists.
    pub views: Views,
    /// The detail pane.
    pub detail: DetailPane,
    /// Category suggestions.
    pub categories: Categories,
    /// Playback.
    pub audio: Audio,
    /// The status line.
    pub status: StatusLine,
    /// Copies and exports.
    pub handoff: Handoff,
}

impl App {
    /// The UI at start, showing `initial_query`'s results (or the library),
    /// with the query line focused; and the effects that fetch them.
    pub fn new(
        initial_query: Option<&str>,
        settings: Settings,
        size: (u16, u16),
    ) -> (App, Vec<Effect>) {
        let text = initial_query.unwrap_or("").trim().to_string();
        let mut app = App {
            size,
            quit: false,
            focus: Focus::Query,
            overlay: None,
            query: QueryLine::new(&text, settings.search_debounce),
            views: Views::new(&text, settings.k, settings.refine_debounce),
            detail: DetailPane::default(),
            categories: Categories::default(),
            audio: Audio::new(&settings),
            status: StatusLine::new(settings.message_time),
            handoff: Handoff::default(),
            settings,
        };
        let effects = vec![
            Effect::LoadSummary,
            Effect::SetVolume(app.audio.volume),
            app.views.request_top(false),
        ];
        (app, effects)
    }

    /// The settings it started with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The list shown.
    pub fn view(&self) -> &View {
        self.views.top()
    }

    /// The selected hit.
    pub fn selected_hit(&self) -> Option<&Hit> {
        self.views.selected_hit()
    }

    fn selected_id(&self) -> Option<FileId> {
        self.selected_hit().map(|h| h.id)
    }

    /// What runs, for the spinner: the newest request's stage, or an export.
    pub fn busy(&self) -> Option<&'static str> {
        if let Some(stage) = self.views.stage() {
            return Some(match stage {
                Stage::Searching => strings::BUSY_SEARCHING,
                Stage::Embedding => strings::BUSY_EMBEDDING,
                Stage::Similar => strings::BUSY_SIMILAR,
                Stage::Copies => strings::BUSY_COPIES,
                Stage::Refining => strings::BUSY_REFINING,
            });
        }
        if self.categories.writing.is_some() {
            return Some(strings::BUSY_TAGGING);
        }
        (self.handoff.exporting > 0).then_some(strings::BUSY_EXPORTING)
    }

    /// The layout for the current size.
    pub fn areas(&self) -> Areas {
        layout::areas(Rect::new(0, 0, self.size.0, self.size.1))
    }

    /// Where the keys go now, as the key map names it.
    pub fn context(&self) -> Context {
        input::context(self.overlay.as_ref(), self.focus)
    }

    /// The earliest time a [`Msg::Tick`] has something to do, for the
    /// runtime's wait: a debounce deadline, a message expiry, or the next
    /// spinner frame while something runs.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let spinner =
            (self.busy().is_some() || self.audio.playing.is_some()).then(|| now + SPIN_EVERY);
        [
            self.query.deadline(),
            self.views.deadline(),
            self.audio.deadline(),
            self.status.deadline(),
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
            Msg::Mouse(mouse) => self.on_mouse(mouse, now),
            Msg::Tick => self.on_tick(now),
            Msg::IndexChanged => self.on_index_changed(now),
            Msg::Detail { id, result } => {
                self.detail.on_detail(id, result, &mut self.status, now);
                self.suggestion_wanted().into_iter().collect()
            }
            Msg::CategoryAccepted { id, cat_id, result } => {
                self.on_category_accepted(id, &cat_id, result, now)
            }
            other => {
                self.take_in(other, now);
                Vec::new()
            }
        };
        if self.selected_id() != before {
            self.scroll_to_selection();
            effects.extend(self.on_selection_changed(now));
            let rows = self.areas().list_rows().max(1);
            effects.extend(self.views.page_in(rows));
        }
        effects
    }

    /// Applies the messages that change state and ask for nothing.
    fn take_in(&mut self, msg: Msg, now: Instant) {
        let status = &mut self.status;
        match msg {
            Msg::Paste(text) => self.type_text(&input::pasted(&text), now),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.scroll_to_selection();
            }
            Msg::Hits { seq, result, done } => self.views.on_hits(seq, result, done, status, now),
            Msg::Suggestion { id, result } => self.categories.on_suggestion(id, result),
            Msg::Copies { seq, result } => self.views.on_copies(seq, result, status, now),
            Msg::Summary(result) => status.summary = Some(result),
            Msg::ReloadFailed(cause) => status.say_error(strings::reload_failed(&cause), now),
            Msg::Note(text) => status.note_once(text, now),
            Msg::Playback(event) => self.audio.on_event(event, status, now),
            Msg::Exported(result) => self.handoff.on_exported(result, status, now),
            Msg::Opened { dir, result } => self.handoff.on_opened(&dir, result, status, now),
            Msg::Quit => self.quit = true,
            // Key releases; the rest ask for work and are handled in `update`.
            Msg::Key(_)
            | Msg::Mouse(_)
            | Msg::Tick
            | Msg::IndexChanged
            | Msg::Detail { .. }
            | Msg::CategoryAccepted { .. } => {}
        }
    }

    /// Keeps the selected row on screen.
    fn scroll_to_selection(&mut self) {
        let rows = self.areas().list_rows().max(1);
        self.views.scroll_to_selection(rows);
    }

    /// The detail pane and audition follow the selection.
    fn on_selection_changed(&mut self, now: Instant) -> Vec<Effect> {
        let selected = self.views.selected_hit();
        let fetch = self.detail.follow(selected.map(|h| h.id));
        self.audio.selection_changed(selected, now);
        fetch.into_iter().chain(self.suggestion_wanted()).collect()
    }

    /// The shown file's suggestion, if its details say it may have one and
    /// it was not asked for yet.
    fn suggestion_wanted(&mut self) -> Option<Effect> {
        match &self.detail.shown {
            Some(DetailState::Ready(detail)) => self.categories.on_detail(detail),
            _ => None,
        }
    }

    /// A suggested category was written (or not): on success the file's
    /// details and suggestion are fetched again (its tags changed).
    fn on_category_accepted(
        &mut self,
        id: FileId,
        cat_id: &str,
        result: Result<(), String>,
        now: Instant,
    ) -> Vec<Effect> {
        let name = self
            .views
            .top()
            .hits
            .iter()
            .find(|h| h.id == id)
            .map(file_name)
            .unwrap_or_default();
        let written = self
            .categories
            .on_accepted(id, cat_id, result, &name, &mut self.status, now);
        if !written {
            return Vec::new();
        }
        // Its tags changed, and it is a labelled example now: other
        // suggestions may change too.
        self.detail.forget();
        self.categories.forget();
        if self.selected_id() == Some(id) {
            self.detail.reload(Some(id)).into_iter().collect()
        } else {
            Vec::new()
        }
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Effect> {
        self.status.tick(now);
        let mut effects = Vec::new();
        if self.query.search_due(now) {
            effects.push(self.views.start_query(self.query.text()));
        }
        effects.extend(self.views.tick(now));
        let selected = self.views.selected_hit();
        effects.extend(self.audio.tick(selected, &mut self.status, now));
        effects
    }

    fn on_index_changed(&mut self, now: Instant) -> Vec<Effect> {
        self.detail.forget();
        self.categories.forget();
        self.views.mark_stale();
        self.status.say(strings::INDEX_RELOADED.into(), now);
        let mut effects = vec![Effect::LoadSummary, self.views.request_top(true)];
        effects.extend(self.detail.reload(self.selected_id()));
        effects
    }

    fn on_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        let context = self.context();
        match input::read_key(context, &key) {
            Some(Input::Action(action)) => self.on_action(action, context, now),
            Some(Input::Text(c)) => {
                self.type_text(c.encode_utf8(&mut [0; 4]), now);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// Types `text` into the query line or the open prompt.
    fn type_text(&mut self, text: &str, now: Instant) {
        match self.context() {
            Context::Query => self.query.type_text(text, now),
            Context::Prompt => {
                if let Some(line) = self.overlay.as_mut().and_then(Overlay::prompt_mut) {
                    line.insert_str(text);
                }
            }
            _ => {}
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent, now: Instant) -> Vec<Effect> {
        if self.overlay.is_some() {
            return Vec::new();
        }
        match input::read_mouse(&self.areas(), &mouse) {
            Some(Pointer::Wheel(rows)) => self.views.move_by(rows),
            Some(Pointer::Query) => self.focus = Focus::Query,
            Some(Pointer::ListRow(row)) => {
                self.focus = Focus::List;
                self.views.select_shown_row(row);
            }
            Some(Pointer::Waveform(fraction)) => {
                let selected = self.views.selected_hit();
                return self
                    .audio
                    .click_waveform(fraction, selected, &mut self.status, now);
            }
            None => {}
        }
        Vec::new()
    }

    /// Hands a bound key's action to the part it is for.
    fn on_action(&mut self, action: Action, context: Context, now: Instant) -> Vec<Effect> {
        let page = self.areas().list_rows().max(1);
        let (selected, status) = (self.views.selected_hit(), &mut self.status);
        match input::route(action, context) {
            Route::Quit => self.quit = true,
            Route::Overlay => overlay::on_action(&mut self.overlay, action, page),
            Route::Query => return self.on_query_action(action, now),
            Route::List => self.views.on_action(action, page, status, now),
            Route::SwitchList => return self.switch_list(action, now),
            Route::Category => {
                let min = self.settings.min_confidence;
                let id = selected.map(|h| h.id);
                return self
                    .categories
                    .accept(id, min, status, now)
                    .into_iter()
                    .collect();
            }
            Route::Audio => return self.audio.on_action(action, selected, status, now),
            Route::Handoff => {
                let view = self.views.top();
                return self
                    .handoff
                    .on_action(action, view, &mut self.overlay, status, now);
            }
        }
        Vec::new()
    }

    /// The query line's keys, and the focus moving to and from it; leaving
    /// it runs what was typed.
    fn on_query_action(&mut self, action: Action, now: Instant) -> Vec<Effect> {
        match action {
            Action::Edit(edit) => self.query.apply(edit, now),
            Action::Submit => {
                self.focus = Focus::List;
                self.query.cancel_search();
                return vec![self.views.start_query(self.query.text())];
            }
            Action::LeaveQuery => {
                self.focus = Focus::List;
                if self.query.cancel_search() {
                    return vec![self.views.start_query(self.query.text())];
                }
            }
            Action::FocusQuery => {
                self.focus = Focus::Query;
                self.query.apply(Edit::End, now);
            }
            _ => {}
        }
        Vec::new()
    }

    /// Similar, Copies and Back show another list; the query line follows
    /// it.
    fn switch_list(&mut self, action: Action, now: Instant) -> Vec<Effect> {
        let switched = match action {
            Action::Similar => self.views.similar(&mut self.status, now).map(|e| vec![e]),
            Action::Copies => self.views.copies(&mut self.status, now).map(|e| vec![e]),
            _ => self.views.back(&mut self.status, now),
        };
        let Some(effects) = switched else {
            return Vec::new();
        };
        self.query.replace(self.views.top().kind.text());
        effects
    }
}
