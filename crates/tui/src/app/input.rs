//! Input: what a key, a click or a paste means, given where the focus is.
//! Only reading; the [`App`](super::App) carries the result out.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Position;

use super::overlay::Overlay;
use crate::keymap::{self, Action, Context};
use crate::layout::Areas;

/// Wheel notches move the selection this many rows.
const WHEEL_ROWS: usize = 3;

/// Where the keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The query line: letters are text.
    Query,
    /// The result list: letters are commands.
    List,
}

/// The key context: an open overlay's, else the focused part's.
pub fn context(overlay: Option<&Overlay>, focus: Focus) -> Context {
    match (overlay, focus) {
        (Some(Overlay::Help { .. }), _) => Context::Help,
        (Some(Overlay::Export { .. }), _) => Context::Prompt,
        (None, Focus::Query) => Context::Query,
        (None, Focus::List) => Context::List,
    }
}

/// What a key press means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Input {
    /// A bound key.
    Action(Action),
    /// An unbound printable key: text, in the query line and prompts.
    Text(char),
}

/// What `key` means in `context`, if anything.
pub(super) fn read_key(context: Context, key: &KeyEvent) -> Option<Input> {
    if let Some(action) = keymap::action_for(context, key) {
        return Some(Input::Action(action));
    }
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(Input::Text(c))
        }
        _ => None,
    }
}

/// The part of the UI an action is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// Leave.
    Quit,
    /// The help and the export prompt.
    Overlay,
    /// The query line and the focus.
    Query,
    /// Moving in the list shown, and marks.
    List,
    /// Another list: sounds like the selection, its copies, or the one
    /// before.
    SwitchList,
    /// Playback.
    Audio,
    /// Clipboard, export, file manager.
    Handoff,
    /// Accepting the suggested category.
    Category,
}

/// Where `action`, pressed in `context`, goes.
pub(super) fn route(action: Action, context: Context) -> Route {
    use Action::*;
    match action {
        Quit => Route::Quit,
        Help | Cancel => Route::Overlay,
        Up | Down | PageUp | PageDown if context == Context::Help => Route::Overlay,
        Edit(_) if context != Context::Query => Route::Overlay,
        Edit(_) | Submit | LeaveQuery | FocusQuery => Route::Query,
        Up | Down | PageUp | PageDown | Top | Bottom | MarkWanted | MarkUnwanted => Route::List,
        Similar | Copies | Back => Route::SwitchList,
        PlayStop | ToggleAudition | SeekBack | SeekForward | SeekBackFar | SeekForwardFar
        | ToggleLoop | VolumeDown | VolumeUp => Route::Audio,
        CopyPath | Export | Confirm | OpenFolder => Route::Handoff,
        AcceptCategory => Route::Category,
    }
}

/// What a mouse event points at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Pointer {
    /// The wheel: move the selection by this many rows.
    Wheel(isize),
    /// A click on the query line.
    Query,
    /// A click on the list's `n`th row shown (below its heading).
    ListRow(usize),
    /// A click on the waveform, this fraction of its width from the left.
    Waveform(f64),
}

/// What `mouse` points at in the layout `areas`, if anything.
pub(super) fn read_mouse(areas: &Areas, mouse: &MouseEvent) -> Option<Pointer> {
    let at = Position::new(mouse.column, mouse.row);
    match mouse.kind {
        MouseEventKind::ScrollDown => Some(Pointer::Wheel(WHEEL_ROWS as isize)),
        MouseEventKind::ScrollUp => Some(Pointer::Wheel(-(WHEEL_ROWS as isize))),
        MouseEventKind::Down(MouseButton::Left) => {
            if areas.query.contains(at) {
                Some(Pointer::Query)
            } else if areas.list.contains(at) && at.y > areas.list.y {
                Some(Pointer::ListRow(usize::from(at.y - areas.list.y - 1)))
            } else if areas.waveform.contains(at) && areas.waveform.width > 0 {
                Some(Pointer::Waveform(
                    f64::from(at.x - areas.waveform.x) / f64::from(areas.waveform.width),
                ))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Pasted text as typed text: line breaks and other control characters
/// dropped.
pub(super) fn pasted(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}
