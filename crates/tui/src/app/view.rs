//! One result list ([`View`]): what it answers ([`ViewKind`]), its hits,
//! the place in it (selection, scroll) and the marks made on it.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::backend::{FileId, Hit};
use crate::strings;

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
    /// The copies of an indexed file (its duplicates), the file among them.
    Copies {
        /// The file.
        id: FileId,
        /// Its name, for the title and messages.
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
            ViewKind::Recent | ViewKind::Similar { .. } | ViewKind::Copies { .. } => "",
        }
    }

    /// The file a similar-list (or a list re-ranked from one) is anchored on.
    pub(super) fn anchor(&self) -> Option<FileId> {
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
    /// How many hits were asked for (grows a page at a time as the user
    /// scrolls down).
    pub limit: usize,
    /// The last answer filled `limit`: the list may go on.
    pub more: bool,
    /// What to show after a hit's name: in a list of copies, how each
    /// relates to the keeper (`same audio`, `trimmed`, ...).
    pub notes: HashMap<FileId, String>,
}

impl View {
    pub(super) fn new(kind: ViewKind) -> Self {
        View {
            kind,
            hits: Vec::new(),
            selected: 0,
            offset: 0,
            marks: Vec::new(),
            stale: false,
            limit: 0,
            more: false,
            notes: HashMap::new(),
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

    /// Puts a re-ranked answer in order for the user: the seed of a
    /// similar list never shows (the engine's `similar` never lists it,
    /// but a re-rank toward it finds it first); the files marked wanted
    /// come first, in the answer's order; the files marked unwanted, which
    /// the engine leaves out, stay at the bottom (drawn dimmed) so they
    /// can be unmarked. `previous` is the list before the answer, where
    /// a marked file the answer lacks is found.
    pub(super) fn arrange_marked(&mut self, previous: &[Hit]) {
        if !matches!(self.kind, ViewKind::Refined { .. }) {
            return;
        }
        let anchor = self.kind.anchor();
        let hits = std::mem::take(&mut self.hits);
        let find = |id: FileId| hits.iter().chain(previous).find(|h| h.id == id).cloned();
        let mut wanted: Vec<Hit> = hits
            .iter()
            .filter(|h| self.mark_of(h.id) == Some(true))
            .cloned()
            .collect();
        for id in self.ids(true) {
            if !wanted.iter().any(|h| h.id == id) {
                wanted.extend(find(id));
            }
        }
        let unwanted: Vec<Hit> = self.ids(false).into_iter().filter_map(find).collect();
        let rest = hits
            .iter()
            .filter(|h| self.mark_of(h.id).is_none() && Some(h.id) != anchor)
            .cloned();
        let mut arranged: Vec<Hit> = wanted
            .into_iter()
            .filter(|h| Some(h.id) != anchor)
            .collect();
        arranged.extend(rest);
        arranged.extend(unwanted.into_iter().filter(|h| Some(h.id) != anchor));
        self.hits = arranged;
    }

    pub(super) fn ids(&self, wanted: bool) -> Vec<FileId> {
        self.marks
            .iter()
            .filter(|m| m.wanted == wanted)
            .map(|m| m.id)
            .collect()
    }

    /// The title shown at the right of the query line.
    pub fn title(&self) -> String {
        match &self.kind {
            ViewKind::Recent if self.more => strings::view_recent_so_far(self.hits.len()),
            ViewKind::Recent => strings::VIEW_RECENT.to_string(),
            ViewKind::Search { .. } => strings::hit_count(self.hits.len(), self.more),
            ViewKind::Similar { name, .. } => strings::view_similar(name),
            ViewKind::Copies { name, .. } => strings::view_copies(name, self.hits.len()),
            ViewKind::Refined { .. } => {
                strings::view_refined(self.ids(true).len(), self.ids(false).len())
            }
        }
    }
}

/// The kind of list a query text asks for.
pub(super) fn view_kind_for(text: &str) -> ViewKind {
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
