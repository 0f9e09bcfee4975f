//! Boxes over the UI that take the keys while open: the key help, and the
//! export prompt with the folder being typed.

use std::path::PathBuf;

use super::editor::LineEditor;
use crate::keymap::{self, Action};

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

/// The overlay keys: open the help, close what is open, scroll the help a
/// line or a `page` of lines, edit the prompt's line.
pub(super) fn on_action(overlay: &mut Option<Overlay>, action: Action, page: usize) {
    match action {
        Action::Help => *overlay = Some(Overlay::Help { scroll: 0 }),
        Action::Cancel => *overlay = None,
        Action::Edit(edit) => {
            if let Some(line) = overlay.as_mut().and_then(Overlay::prompt_mut) {
                line.apply(edit);
            }
        }
        _ => {
            if let Some(open) = overlay {
                open.scroll(action, page);
            }
        }
    }
}

impl Overlay {
    /// Scrolls the key help a line or a `page` of lines, within its lines.
    fn scroll(&mut self, action: Action, page: usize) {
        let lines = keymap::help_lines().len();
        if let Overlay::Help { scroll } = self {
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

    /// The line a prompt types into.
    pub(super) fn prompt_mut(&mut self) -> Option<&mut LineEditor> {
        match self {
            Overlay::Export { folder, .. } => Some(folder),
            Overlay::Help { .. } => None,
        }
    }
}
