//! Handing sounds on to other programs: the selected path to the
//! clipboard, the marked files into a folder (through the export prompt),
//! the selected file's folder to the file manager.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::editor::LineEditor;
use super::overlay::Overlay;
use super::protocol::{Effect, ExportReport};
use super::status::StatusLine;
use super::view::View;
use crate::keymap::Action;
use crate::strings;

/// The exports running, and the folder the prompt offers next.
#[derive(Debug, Clone, Default)]
pub struct Handoff {
    /// Exports running.
    pub exporting: usize,
    /// The folder of the last export that worked (a folder that failed is
    /// not offered again).
    last_export_dir: String,
}

impl Handoff {
    /// The hand-on keys, on the list shown; the export prompt opens and
    /// closes in `overlay`.
    pub(super) fn on_action(
        &mut self,
        action: Action,
        view: &View,
        overlay: &mut Option<Overlay>,
        status: &mut StatusLine,
        now: Instant,
    ) -> Vec<Effect> {
        match action {
            Action::CopyPath => {
                let Some(hit) = view.selected_hit() else {
                    status.say_error(strings::NOTHING_SELECTED.into(), now);
                    return Vec::new();
                };
                status.say(strings::copied(&hit.path), now);
                vec![Effect::CopyToClipboard(
                    hit.path.to_string_lossy().into_owned(),
                )]
            }
            Action::Export => {
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
                    status.say_error(strings::NOTHING_SELECTED.into(), now);
                } else {
                    *overlay = Some(Overlay::Export {
                        folder: LineEditor::new(&self.last_export_dir),
                        files,
                    });
                }
                Vec::new()
            }
            Action::Confirm => {
                let Some(Overlay::Export { folder, files }) = overlay.as_ref() else {
                    return Vec::new();
                };
                let dir = folder.text().trim().to_string();
                if dir.is_empty() {
                    status.say_error(strings::EXPORT_NEEDS_FOLDER.into(), now);
                    return Vec::new();
                }
                let files = files.clone();
                *overlay = None;
                self.exporting += 1;
                vec![Effect::Export {
                    files,
                    dir: PathBuf::from(dir),
                }]
            }
            Action::OpenFolder => {
                let Some(hit) = view.selected_hit() else {
                    status.say_error(strings::NOTHING_SELECTED.into(), now);
                    return Vec::new();
                };
                let dir = hit
                    .path
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("."));
                vec![Effect::OpenFolder(dir)]
            }
            _ => Vec::new(),
        }
    }

    /// An export finished.
    pub(super) fn on_exported(
        &mut self,
        result: Result<ExportReport, String>,
        status: &mut StatusLine,
        now: Instant,
    ) {
        self.exporting = self.exporting.saturating_sub(1);
        match result {
            Ok(r) => {
                self.last_export_dir = r.dir.to_string_lossy().into_owned();
                status.say(
                    strings::exported(r.copied, r.skipped, &r.renamed, &r.dir),
                    now,
                )
            }
            Err(cause) => status.say_error(strings::export_failed(&cause), now),
        }
    }

    /// The file manager was (or could not be) asked to open `dir`.
    pub(super) fn on_opened(
        &self,
        dir: &Path,
        result: Result<(), String>,
        status: &mut StatusLine,
        now: Instant,
    ) {
        match result {
            Ok(()) => status.say(strings::opened(dir), now),
            Err(cause) => status.say_error(strings::open_failed(dir, &cause), now),
        }
    }
}
