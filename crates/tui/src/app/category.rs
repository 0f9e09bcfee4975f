//! The selected file's category suggestion (`hark categorize`'s, for a
//! file with no UCS category), fetched once its details say it has none,
//! and accepting it: the CatID written into the file by the backend, as
//! `hark tag --category` writes one.

use std::collections::HashMap;
use std::time::Instant;

use super::protocol::Effect;
use super::status::StatusLine;
use crate::backend::{CategorySuggestion, FileDetail, FileId};
use crate::strings;

/// Suggestions kept for files already visited; beyond this the cache
/// starts over.
const SUGGESTION_CACHE: usize = 512;

/// A file's suggestion, as far as the UI knows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Suggested {
    /// Asked for, not here yet.
    Loading,
    /// The file has a category: nothing to suggest.
    None,
    /// Here.
    Ready(Box<CategorySuggestion>),
    /// Could not be made (no model, say): why.
    Failed(String),
}

/// The suggestions of the files visited, and the write under way.
#[derive(Debug, Clone, Default)]
pub struct Categories {
    known: HashMap<FileId, Suggested>,
    /// The file whose accepted category is being written.
    pub writing: Option<FileId>,
}

impl Categories {
    /// What is known of `id`'s suggestion.
    pub fn of(&self, id: FileId) -> Option<&Suggested> {
        self.known.get(&id)
    }

    /// The details of a file arrived: if they show no UCS name, ask for
    /// its suggestion (once; the backend also knows categories from tags).
    pub(super) fn on_detail(&mut self, detail: &FileDetail) -> Option<Effect> {
        if detail.ucs_cat_id.is_some() || self.known.contains_key(&detail.id) {
            return None;
        }
        if self.known.len() >= SUGGESTION_CACHE {
            self.known.clear();
        }
        self.known.insert(detail.id, Suggested::Loading);
        Some(Effect::LoadSuggestion(detail.id))
    }

    /// Keeps `id`'s suggestion.
    pub(super) fn on_suggestion(
        &mut self,
        id: FileId,
        result: Result<Option<Box<CategorySuggestion>>, String>,
    ) {
        let state = match result {
            Ok(Some(s)) => Suggested::Ready(s),
            Ok(None) => Suggested::None,
            Err(cause) => Suggested::Failed(cause),
        };
        self.known.insert(id, state);
    }

    /// `c`: writes the selected file's suggestion into it, if it has one
    /// that reaches `min_confidence`; else says why not.
    pub(super) fn accept(
        &mut self,
        selected: Option<FileId>,
        min_confidence: f32,
        status: &mut StatusLine,
        now: Instant,
    ) -> Option<Effect> {
        let Some(id) = selected else {
            status.say(strings::NOTHING_SELECTED.into(), now);
            return None;
        };
        if self.writing.is_some() {
            status.say(strings::CATEGORY_BUSY.into(), now);
            return None;
        }
        let candidate = match self.known.get(&id) {
            Some(Suggested::Ready(s)) => match s.suggested(min_confidence) {
                Some(c) => c.clone(),
                None => {
                    status.say(
                        strings::no_category_to_accept(s.best(), min_confidence),
                        now,
                    );
                    return None;
                }
            },
            Some(Suggested::Loading) => {
                status.say(strings::CATEGORY_LOADING.into(), now);
                return None;
            }
            Some(Suggested::Failed(cause)) => {
                status.say_error(strings::suggestion_failed(cause), now);
                return None;
            }
            Some(Suggested::None) | None => {
                status.say(strings::HAS_CATEGORY.into(), now);
                return None;
            }
        };
        self.writing = Some(id);
        status.say(strings::writing_category(&candidate.cat_id), now);
        Some(Effect::AcceptCategory {
            id,
            cat_id: candidate.cat_id,
        })
    }

    /// The write finished. On success the file's suggestion is forgotten
    /// (it has a category now) and the caller fetches its details again.
    pub(super) fn on_accepted(
        &mut self,
        id: FileId,
        cat_id: &str,
        result: Result<(), String>,
        name: &str,
        status: &mut StatusLine,
        now: Instant,
    ) -> bool {
        if self.writing == Some(id) {
            self.writing = None;
        }
        match result {
            Ok(()) => {
                self.known.remove(&id);
                status.say(strings::category_written(cat_id, name), now);
                true
            }
            Err(cause) => {
                status.say_error(strings::category_failed(cat_id, &cause), now);
                false
            }
        }
    }

    /// A new index: suggestions may be out of date (a file tagged
    /// elsewhere, new labelled files).
    pub(super) fn forget(&mut self) {
        self.known.clear();
    }
}
