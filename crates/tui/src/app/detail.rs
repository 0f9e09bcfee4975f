//! The detail pane's content: the selected hit's details, asked for when
//! the selection lands on a file and kept for files already visited.

use std::collections::HashMap;
use std::time::Instant;

use super::protocol::Effect;
use super::status::StatusLine;
use crate::backend::{FileDetail, FileId};
use crate::strings;

/// Details kept for hits already visited; beyond this the cache starts over.
const DETAIL_CACHE: usize = 512;

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

/// The detail pane: what it shows, and the details already fetched.
#[derive(Debug, Clone, Default)]
pub struct DetailPane {
    /// What the pane shows; `None` with nothing selected.
    pub shown: Option<DetailState>,
    cache: HashMap<FileId, FileDetail>,
}

impl DetailPane {
    /// Shows the details of `selected`: at once if they were fetched
    /// before, else after the effect returned asks for them.
    pub(super) fn follow(&mut self, selected: Option<FileId>) -> Option<Effect> {
        let Some(id) = selected else {
            self.shown = None;
            return None;
        };
        if self.shown.as_ref().map(DetailState::id) == Some(id) {
            return None;
        }
        match self.cache.get(&id) {
            Some(d) => {
                self.shown = Some(DetailState::Ready(Box::new(d.clone())));
                None
            }
            None => {
                self.shown = Some(DetailState::Loading(id));
                Some(Effect::LoadDetail(id))
            }
        }
    }

    /// Keeps `id`'s details; shows them (or why they are missing) if the
    /// pane is still on `id`.
    pub(super) fn on_detail(
        &mut self,
        id: FileId,
        result: Result<Box<FileDetail>, String>,
        status: &mut StatusLine,
        now: Instant,
    ) {
        let shown = self.shown.as_ref().map(DetailState::id) == Some(id);
        match result {
            Ok(detail) => {
                if self.cache.len() >= DETAIL_CACHE {
                    self.cache.clear();
                }
                self.cache.insert(id, (*detail).clone());
                if shown {
                    self.shown = Some(DetailState::Ready(detail));
                }
            }
            Err(cause) if shown => {
                status.say_error(strings::detail_failed(&cause), now);
                self.shown = Some(DetailState::Failed(id, cause));
            }
            Err(_) => {}
        }
    }

    /// A new index: the details fetched may be out of date.
    pub(super) fn forget(&mut self) {
        self.cache.clear();
    }

    /// Fetches `selected`'s details again.
    pub(super) fn reload(&mut self, selected: Option<FileId>) -> Option<Effect> {
        let id = selected?;
        self.shown = Some(DetailState::Loading(id));
        Some(Effect::LoadDetail(id))
    }
}
