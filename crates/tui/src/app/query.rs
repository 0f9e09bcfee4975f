//! The query line: what is typed (keys, pastes, editing steps) and when
//! the search for it is due, a short quiet time after the last change so a
//! word typed quickly searches once.

use std::time::{Duration, Instant};

use super::editor::LineEditor;
use crate::keymap::Edit;

/// The query line and its pending search.
#[derive(Debug, Clone)]
pub struct QueryLine {
    editor: LineEditor,
    /// When the typed text is searched, if it changed since the last search.
    due: Option<Instant>,
    debounce: Duration,
}

impl QueryLine {
    /// A line holding `text`, cursor at the end; typing searches after
    /// `debounce` of quiet.
    pub fn new(text: &str, debounce: Duration) -> Self {
        QueryLine {
            editor: LineEditor::new(text),
            due: None,
            debounce,
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        self.editor.text()
    }

    /// The line with its cursor, for drawing.
    pub fn editor(&self) -> &LineEditor {
        &self.editor
    }

    /// Types `text` at the cursor (a key, or a paste) and schedules the search.
    pub(super) fn type_text(&mut self, text: &str, now: Instant) {
        self.editor.insert_str(text);
        self.due = Some(now + self.debounce);
    }

    /// Applies an editing step; a change schedules the search.
    pub(super) fn apply(&mut self, edit: Edit, now: Instant) {
        if self.editor.apply(edit) {
            self.due = Some(now + self.debounce);
        }
    }

    /// Puts `text` in the line (the list shown changed under it); a
    /// search still due for the old text is dropped.
    pub(super) fn replace(&mut self, text: &str) {
        self.editor = LineEditor::new(text);
        self.due = None;
    }

    /// Drops the scheduled search; true if there was one.
    pub(super) fn cancel_search(&mut self) -> bool {
        self.due.take().is_some()
    }

    /// True once, when the scheduled search is due at `now`.
    pub(super) fn search_due(&mut self, now: Instant) -> bool {
        if self.due.is_some_and(|t| t <= now) {
            self.due = None;
            return true;
        }
        false
    }

    /// When the scheduled search is due.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.due
    }
}
