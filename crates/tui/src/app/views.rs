//! The result lists and the requests that fill them.
//!
//! The lists form a stack of [`View`]s: a search, "sounds like" a hit, a
//! hit's copies, a re-ranked list. Typing edits the top text view in
//! place; `s`, `d` and marking push a view; Back pops one, with its hits,
//! selection and scroll as they were. Answers carry the sequence number
//! of their request, and only the newest request's answers are applied, so
//! a slow answer never overwrites a newer list. A new query's answers put the selection on
//! hit #1, the sound stage's too: a re-rank the user did not ask for must
//! not leave the selection on a file that moved down. The selection stays
//! on the same file (when it is still there) when the user asked for the
//! re-rank (marks), on a reload of the index, and when the user moved the
//! selection after the request's first answer (they picked that file).
//!
//! A list is asked for a page of hits at first; when the selection comes
//! within a screen of the end of a list that filled its page, the list is
//! asked for again a page longer (the engine's first hits do not depend on
//! how many are asked for, so the rows above stay as they were).

use std::time::{Duration, Instant};

use super::protocol::{Effect, ListRequest};
use super::status::StatusLine;
use super::view::{file_name, view_kind_for, Mark, View, ViewKind};
use crate::backend::{Copies, FileId, Hit};
use crate::keymap::Action;
use crate::strings;

/// What the newest request is doing, for the spinner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Full-text search, filters, the library listing.
    Searching,
    /// The text tower is embedding the query.
    Embedding,
    /// Looking up similar sounds.
    Similar,
    /// Looking up a file's copies.
    Copies,
    /// Relevance feedback.
    Refining,
}

/// Where the selection goes when a list arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Select {
    /// Hit #1: a new answer.
    First,
    /// The file it was on (or the same row, if that file is gone).
    Same,
    /// This file (or hit #1, if it is not there).
    On(FileId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    seq: u64,
    stage: Stage,
    /// Keep the selection on the same file when the hits arrive (a re-rank
    /// the user asked for, a reload, a file the user picked since the
    /// first answer) rather than go to hit #1 (a new query).
    keep_selection: bool,
    /// How many hits were asked for.
    k: usize,
}

/// The stack of result lists, the newest request, and the re-rank due
/// after marks. See the module docs.
#[derive(Debug, Clone)]
pub struct Views {
    /// The lists; the last is shown. Never empty.
    stack: Vec<View>,
    pending: Option<Pending>,
    next_seq: u64,
    /// When the marks made are re-ranked.
    refine_due: Option<Instant>,
    refine_debounce: Duration,
    /// Hits per page.
    page: usize,
}

impl Views {
    /// One list: the answer to `text` (the library when it is empty), not
    /// asked for yet; lists are asked for `page` hits at a time; marks
    /// re-rank after `refine_debounce` of quiet.
    pub fn new(text: &str, page: usize, refine_debounce: Duration) -> Self {
        Views {
            stack: vec![View::new(view_kind_for(text))],
            pending: None,
            next_seq: 0,
            refine_due: None,
            refine_debounce,
            page: page.max(1),
        }
    }

    /// The list shown.
    pub fn top(&self) -> &View {
        self.stack.last().expect("the view stack is never empty")
    }

    fn top_mut(&mut self) -> &mut View {
        self.stack
            .last_mut()
            .expect("the view stack is never empty")
    }

    /// How many lists are stacked (1 when there is none to go back to).
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// The selected hit of the list shown.
    pub fn selected_hit(&self) -> Option<&Hit> {
        self.top().selected_hit()
    }

    /// What the newest request is doing, if it runs.
    pub fn stage(&self) -> Option<Stage> {
        self.pending.map(|p| p.stage)
    }

    /// Moves in the list, or marks: the list keys that stay on this list.
    pub(super) fn on_action(
        &mut self,
        action: Action,
        page: usize,
        status: &mut StatusLine,
        now: Instant,
    ) {
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(page as isize)),
            Action::PageDown => self.move_by(page as isize),
            Action::Top => {
                self.top_mut().selected = 0;
                self.picked();
            }
            Action::Bottom => {
                let n = self.top().hits.len();
                self.top_mut().selected = n.saturating_sub(1);
                self.picked();
            }
            Action::MarkWanted => self.mark(true, status, now),
            Action::MarkUnwanted => self.mark(false, status, now),
            _ => {}
        }
    }

    /// Moves the selection by `delta` rows, within the list.
    pub(super) fn move_by(&mut self, delta: isize) {
        let view = self.top_mut();
        if view.hits.is_empty() {
            return;
        }
        let last = view.hits.len() - 1;
        view.selected = view.selected.saturating_add_signed(delta).min(last);
        self.picked();
    }

    /// Selects the `row`th row on screen, if a hit is there.
    pub(super) fn select_shown_row(&mut self, row: usize) {
        let view = self.top_mut();
        let row = view.offset + row;
        if row < view.hits.len() {
            view.selected = row;
            self.picked();
        }
    }

    /// The user chose the selected file: a later answer to the running
    /// request keeps the selection on it.
    fn picked(&mut self) {
        if let Some(pending) = self.pending.as_mut() {
            pending.keep_selection = true;
        }
    }

    /// Keeps the selected row on screen, `rows` rows being shown.
    pub(super) fn scroll_to_selection(&mut self, rows: usize) {
        let view = self.top_mut();
        if view.selected < view.offset {
            view.offset = view.selected;
        } else if view.selected >= view.offset + rows {
            view.offset = view.selected + 1 - rows;
        }
        let max_offset = view.hits.len().saturating_sub(rows);
        view.offset = view.offset.min(max_offset);
    }

    /// Runs the query line's `text`: the top list becomes its answer (a
    /// text list is edited in place; on any other list a new one is
    /// pushed, so Back returns to it). Its answers start at hit #1.
    pub(super) fn start_query(&mut self, text: &str) -> Effect {
        let kind = view_kind_for(text);
        let top = self.top_mut();
        if matches!(top.kind, ViewKind::Recent | ViewKind::Search { .. }) {
            top.kind = kind;
            top.marks.clear();
            top.limit = 0;
        } else {
            self.push_view(View::new(kind));
        }
        self.request_top(false)
    }

    /// The effect that (re)fetches the top list, and the bookkeeping that
    /// makes its answers the only ones applied.
    pub(super) fn request_top(&mut self, keep_selection: bool) -> Effect {
        self.next_seq += 1;
        let seq = self.next_seq;
        let page = self.page;
        let view = self.top_mut();
        view.stale = false;
        view.limit = view.limit.max(page);
        let k = view.limit;
        let (stage, request) = match &view.kind {
            ViewKind::Recent => (Stage::Searching, ListRequest::Recent),
            ViewKind::Search { text } => {
                (Stage::Searching, ListRequest::Search { text: text.clone() })
            }
            ViewKind::Similar { id, .. } => (Stage::Similar, ListRequest::Similar { id: *id }),
            ViewKind::Copies { id, .. } => (Stage::Copies, ListRequest::Copies { id: *id }),
            ViewKind::Refined { base } => {
                let mut wanted: Vec<FileId> = base.anchor().into_iter().collect();
                wanted.extend(view.ids(true));
                let request = ListRequest::Refine {
                    text: base.text().to_string(),
                    wanted,
                    unwanted: view.ids(false),
                };
                (Stage::Refining, request)
            }
        };
        self.pending = Some(Pending {
            seq,
            stage,
            keep_selection,
            k,
        });
        Effect::List { seq, request, k }
    }

    /// The effect that asks for a page more of the list shown, when the
    /// selection is within `rows` rows of its end, the list may go on, and
    /// no request for it runs.
    pub(super) fn page_in(&mut self, rows: usize) -> Option<Effect> {
        let view = self.top();
        let near_end = view.selected + rows >= view.hits.len();
        if self.pending.is_some() || !view.more || !near_end {
            return None;
        }
        let page = self.page;
        let view = self.top_mut();
        view.limit = view.hits.len() + page;
        Some(self.request_top(true))
    }

    /// Applies an answer to request `seq`, if it is still the newest.
    pub(super) fn on_hits(
        &mut self,
        seq: u64,
        result: Result<Vec<Hit>, String>,
        done: bool,
        status: &mut StatusLine,
        now: Instant,
    ) {
        let Some(pending) = self.pending.as_mut().filter(|p| p.seq == seq) else {
            return; // An answer to a request since replaced.
        };
        let (keep, k) = (pending.keep_selection, pending.k);
        if done {
            self.pending = None;
        } else if let Some(p) = self.pending.as_mut() {
            p.stage = Stage::Embedding;
        }
        match result {
            Ok(hits) => {
                status.list_arrived(now);
                let more = hits.len() >= k;
                self.fill(hits, more, if keep { Select::Same } else { Select::First });
            }
            Err(cause) => status.say_list_error(strings::search_failed(&cause), now),
        }
    }

    /// Applies an answer to the copies request `seq`, if it is still the
    /// newest: the copies with how each relates to the keeper, the
    /// selection on the file asked about; and a note when it has none, or
    /// no fingerprint to compare.
    pub(super) fn on_copies(
        &mut self,
        seq: u64,
        result: Result<Copies, String>,
        status: &mut StatusLine,
        now: Instant,
    ) {
        let Some(pending) = self.pending.filter(|p| p.seq == seq) else {
            return;
        };
        self.pending = None;
        let ViewKind::Copies { id, name } = self.top().kind.clone() else {
            return;
        };
        match result {
            Ok(copies) => {
                status.list_arrived(now);
                if !copies.fingerprinted {
                    status.say(
                        strings::not_fingerprinted(&name, !copies.files.is_empty()),
                        now,
                    );
                } else if copies.files.is_empty() {
                    status.say(strings::no_copies(&name), now);
                }
                let view = self.top_mut();
                view.notes = copies
                    .files
                    .iter()
                    .map(|c| (c.hit.id, c.relation.clone()))
                    .collect();
                let hits = copies.files.into_iter().map(|c| c.hit).collect();
                let select = if pending.keep_selection {
                    Select::Same
                } else {
                    Select::On(id)
                };
                self.fill(hits, false, select);
            }
            Err(cause) => status.say_list_error(strings::copies_failed(&cause), now),
        }
    }

    /// Puts `hits` in the list shown, and the selection where `select`
    /// says; `more` when the list may go on.
    fn fill(&mut self, hits: Vec<Hit>, more: bool, select: Select) {
        let view = self.top_mut();
        let previous = view.selected_hit().map(|h| h.id);
        let previous_row = view.selected;
        view.more = more;
        let old = std::mem::replace(&mut view.hits, hits);
        view.arrange_marked(&old);
        let find = |id: FileId| view.hits.iter().position(|h| h.id == id);
        view.selected = match select {
            Select::First => 0,
            Select::Same => previous
                .and_then(find)
                .unwrap_or_else(|| previous_row.min(view.hits.len().saturating_sub(1))),
            Select::On(id) => find(id).unwrap_or(0),
        };
        if select != Select::Same {
            view.offset = 0;
        }
    }

    /// Re-ranks the marked list once its quiet time after the last mark
    /// is over.
    pub(super) fn tick(&mut self, now: Instant) -> Option<Effect> {
        if self.refine_due.is_none_or(|t| t > now) {
            return None;
        }
        self.refine_due = None;
        matches!(self.top().kind, ViewKind::Refined { .. }).then(|| self.request_top(true))
    }

    /// When the marks made are re-ranked.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.refine_due
    }

    /// A new index: every list is refreshed when it is shown next.
    pub(super) fn mark_stale(&mut self) {
        for view in &mut self.stack {
            view.stale = true;
        }
    }

    /// Pushes a list of sounds like the selected hit; the effect that
    /// fetches it, or `None` (and an error said) when nothing is selected.
    pub(super) fn similar(&mut self, status: &mut StatusLine, now: Instant) -> Option<Effect> {
        let Some(hit) = self.selected_hit() else {
            status.say_error(strings::NOTHING_SELECTED.into(), now);
            return None;
        };
        let kind = ViewKind::Similar {
            id: hit.id,
            name: file_name(hit),
        };
        self.push_view(View::new(kind));
        self.refine_due = None;
        Some(self.request_top(false))
    }

    /// Pushes the list of the selected hit's copies; the effect that
    /// fetches it, or `None` (and an error said) when nothing is selected.
    pub(super) fn copies(&mut self, status: &mut StatusLine, now: Instant) -> Option<Effect> {
        let Some(hit) = self.selected_hit() else {
            status.say_error(strings::NOTHING_SELECTED.into(), now);
            return None;
        };
        let kind = ViewKind::Copies {
            id: hit.id,
            name: file_name(hit),
        };
        self.push_view(View::new(kind));
        self.refine_due = None;
        Some(self.request_top(false))
    }

    /// Pops the top list; the effects that refresh the one below if the
    /// index changed meanwhile, or `None` (and a note said) when there is
    /// no earlier list.
    pub(super) fn back(&mut self, status: &mut StatusLine, now: Instant) -> Option<Vec<Effect>> {
        if self.stack.len() < 2 {
            status.say(strings::NO_EARLIER_LIST.into(), now);
            return None;
        }
        self.stack.pop();
        self.pending = None;
        self.refine_due = None;
        if self.top().stale {
            return Some(vec![self.request_top(true)]);
        }
        Some(Vec::new())
    }

    fn mark(&mut self, wanted: bool, status: &mut StatusLine, now: Instant) {
        let Some(hit) = self.selected_hit().cloned() else {
            status.say_error(strings::NOTHING_SELECTED.into(), now);
            return;
        };
        if !matches!(self.top().kind, ViewKind::Refined { .. }) {
            // The first mark on a list: a re-ranked copy goes on top, so
            // Back returns to the list as it was.
            let top = self.top();
            let mut refined = View::new(ViewKind::Refined {
                base: Box::new(top.kind.clone()),
            });
            refined.hits = top.hits.clone();
            refined.selected = top.selected;
            refined.offset = top.offset;
            refined.limit = top.limit;
            refined.more = top.more;
            self.push_view(refined);
        }
        let view = self.top_mut();
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
        self.refine_due = Some(now + self.refine_debounce);
    }

    /// Pushes `view`; the list it covers is refreshed when shown again if
    /// its own request was still running.
    fn push_view(&mut self, view: View) {
        if self.pending.take().is_some() {
            self.top_mut().stale = true;
        }
        self.stack.push(view);
    }
}
