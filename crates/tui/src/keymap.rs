//! Every key binding, in one table: [`BINDINGS`]. The key handling, the key
//! help line and the `?` overlay all read it, so they cannot disagree.
//!
//! Keys depend on where the focus is ([`Context`]). In the query line the
//! letter keys are text (`q`, `j`, `s`, `y` type themselves); Esc, Enter,
//! Down and Tab leave it for the result list, where letters are commands.
//! Ctrl-C quits and F1 shows the keys from anywhere.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Everywhere (checked after the focused context).
    Global,
    /// The result list has the focus.
    List,
    /// The query line has the focus.
    Query,
    /// A prompt (the export folder) is open.
    Prompt,
    /// The key help overlay is open.
    Help,
}

/// A line-editing step, for the query line and prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Delete the character before the cursor.
    Backspace,
    /// Delete the character under the cursor.
    Delete,
    /// Cursor one character left.
    Left,
    /// Cursor one character right.
    Right,
    /// Cursor to the start.
    Home,
    /// Cursor to the end.
    End,
    /// Delete the word before the cursor.
    DeleteWord,
    /// Delete everything.
    Clear,
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave hark.
    Quit,
    /// Show or hide the key help overlay.
    Help,
    /// Selection one up.
    Up,
    /// Selection one down.
    Down,
    /// Selection one page up.
    PageUp,
    /// Selection one page down.
    PageDown,
    /// First hit.
    Top,
    /// Last hit.
    Bottom,
    /// Focus the query line.
    FocusQuery,
    /// Play the selected hit, or stop it.
    PlayStop,
    /// Toggle playing each hit as it is selected.
    ToggleAudition,
    /// Seek back a little.
    SeekBack,
    /// Seek forward a little.
    SeekForward,
    /// Seek back a lot.
    SeekBackFar,
    /// Seek forward a lot.
    SeekForwardFar,
    /// Toggle looping.
    ToggleLoop,
    /// Quieter.
    VolumeDown,
    /// Louder.
    VolumeUp,
    /// Find sounds like the selected hit.
    Similar,
    /// List the selected hit's copies (duplicates).
    Copies,
    /// Mark the selected hit as wanted (again: unmark) and re-rank.
    MarkWanted,
    /// Mark the selected hit as unwanted (again: unmark) and re-rank.
    MarkUnwanted,
    /// Back to the previous result list.
    Back,
    /// Copy the selected path to the clipboard.
    CopyPath,
    /// Copy the marked hits (or the selected one) into a folder.
    Export,
    /// Open the selected file's folder in the file manager.
    OpenFolder,
    /// Write the suggested UCS category into the selected file.
    AcceptCategory,
    /// Query line: search now and go to the list.
    Submit,
    /// Query line: go to the list.
    LeaveQuery,
    /// Prompt: accept.
    Confirm,
    /// Prompt or overlay: close.
    Cancel,
    /// Edit the line being typed.
    Edit(Edit),
}

/// A key: a code and the modifiers that must be held (Shift is ignored for
/// characters: the character already says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Control, Alt (and Shift, for non-characters).
    pub mods: KeyModifiers,
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn shift(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::SHIFT,
    }
}

impl Key {
    /// Whether `event` is this key.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let mut mods = event.modifiers;
        if matches!(event.code, KeyCode::Char(_)) {
            mods.remove(KeyModifiers::SHIFT);
        }
        // Terminals differ on whether Ctrl-letter arrives upper- or lower-case.
        let code = match (event.code, mods.contains(KeyModifiers::CONTROL)) {
            (KeyCode::Char(c), true) => KeyCode::Char(c.to_ascii_lowercase()),
            (code, _) => code,
        };
        code == self.code && mods == self.mods
    }

    /// How the key is written in the help.
    pub fn label(&self) -> String {
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        let mut label = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            label.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            label.push_str("Alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            label.push_str("Shift-");
        }
        label.push_str(&name);
        label
    }
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Where it applies.
    pub context: Context,
    /// The keys (any of them).
    pub keys: &'static [Key],
    /// What they do.
    pub action: Action,
    /// The line in the `?` overlay.
    pub help: &'static str,
    /// (keys, word) in the key help line at the bottom, for the few that
    /// get one.
    pub hint: Option<(&'static str, &'static str)>,
}

const fn bind(
    context: Context,
    keys: &'static [Key],
    action: Action,
    help: &'static str,
    hint: Option<(&'static str, &'static str)>,
) -> Binding {
    Binding {
        context,
        keys,
        action,
        help,
        hint,
    }
}

use Context::{Global, Help as HelpCtx, List, Prompt, Query};

/// The key table. Order matters twice: the first match wins, and it is the
/// order of the help.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    // The query line: letters are text (not in this table); these leave it or edit it.
    bind(Query, &[code(KeyCode::Enter)], Action::Submit, "search now and go to the results", Some(("Enter", "search"))),
    bind(Query, &[code(KeyCode::Esc), code(KeyCode::Down), code(KeyCode::Tab)], Action::LeaveQuery, "go to the results (letters become commands)", Some(("Esc/↓", "results"))),
    bind(Query, &[code(KeyCode::Backspace), ctrl('h')], Action::Edit(Edit::Backspace), "delete before the cursor", None),
    bind(Query, &[code(KeyCode::Delete), ctrl('d')], Action::Edit(Edit::Delete), "delete under the cursor", None),
    bind(Query, &[code(KeyCode::Left), ctrl('b')], Action::Edit(Edit::Left), "cursor left", None),
    bind(Query, &[code(KeyCode::Right), ctrl('f')], Action::Edit(Edit::Right), "cursor right", None),
    bind(Query, &[code(KeyCode::Home), ctrl('a')], Action::Edit(Edit::Home), "cursor to the start", None),
    bind(Query, &[code(KeyCode::End), ctrl('e')], Action::Edit(Edit::End), "cursor to the end", None),
    bind(Query, &[ctrl('w')], Action::Edit(Edit::DeleteWord), "delete the word before the cursor", None),
    bind(Query, &[ctrl('u')], Action::Edit(Edit::Clear), "clear the query (lists the library)", None),
    // The result list.
    bind(List, &[ch('j'), code(KeyCode::Down)], Action::Down, "next hit", None),
    bind(List, &[ch('k'), code(KeyCode::Up)], Action::Up, "previous hit", None),
    bind(List, &[code(KeyCode::PageDown), ctrl('d')], Action::PageDown, "page down", None),
    bind(List, &[code(KeyCode::PageUp), ctrl('u')], Action::PageUp, "page up", None),
    bind(List, &[ch('g'), code(KeyCode::Home)], Action::Top, "first hit", None),
    bind(List, &[ch('G'), code(KeyCode::End)], Action::Bottom, "last hit", None),
    bind(List, &[ch('/'), ch('i')], Action::FocusQuery, "edit the query", Some(("/", "search"))),
    bind(List, &[ch(' ')], Action::PlayStop, "play or stop the selected hit", Some(("Space", "play"))),
    bind(List, &[ch('a')], Action::ToggleAudition, "audition: play each hit as it is selected", None),
    bind(List, &[code(KeyCode::Left), ch('h')], Action::SeekBack, "seek back 1 s", None),
    bind(List, &[code(KeyCode::Right), ch('l')], Action::SeekForward, "seek forward 1 s", None),
    bind(List, &[shift(KeyCode::Left), ch('H')], Action::SeekBackFar, "seek back 10 s", None),
    bind(List, &[shift(KeyCode::Right), ch('L')], Action::SeekForwardFar, "seek forward 10 s", None),
    bind(List, &[ch('r')], Action::ToggleLoop, "loop (repeat) on or off", None),
    bind(List, &[ch('9')], Action::VolumeDown, "volume down", None),
    bind(List, &[ch('0')], Action::VolumeUp, "volume up", None),
    bind(List, &[ch('s')], Action::Similar, "sounds like the selected hit", Some(("s", "similar"))),
    bind(List, &[ch('d')], Action::Copies, "copies (duplicates) of the selected hit", None),
    bind(List, &[ch('+'), ch('=')], Action::MarkWanted, "mark wanted (+) and re-rank toward it; again to unmark", Some(("+/-", "mark"))),
    bind(List, &[ch('-')], Action::MarkUnwanted, "mark unwanted (-) and re-rank away from it; again to unmark", None),
    bind(List, &[code(KeyCode::Backspace), ch('b')], Action::Back, "back to the previous result list", Some(("b", "back"))),
    bind(List, &[ch('y')], Action::CopyPath, "copy the path to the clipboard (OSC 52)", Some(("y", "copy"))),
    bind(List, &[ch('e')], Action::Export, "copy the marked hits (or the selected one) into a folder", Some(("e", "export"))),
    bind(List, &[ch('o')], Action::OpenFolder, "open the file's folder", None),
    bind(List, &[ch('c')], Action::AcceptCategory, "accept the suggested UCS category: write it into the file (as `hark tag --category`; `hark tag --undo` undoes it)", None),
    bind(List, &[ch('?')], Action::Help, "all keys", Some(("?", "keys"))),
    bind(List, &[ch('q'), code(KeyCode::Esc)], Action::Quit, "quit", Some(("q", "quit"))),
    // The export prompt.
    bind(Prompt, &[code(KeyCode::Enter)], Action::Confirm, "copy into this folder (created if missing)", Some(("Enter", "copy"))),
    bind(Prompt, &[code(KeyCode::Esc)], Action::Cancel, "cancel", Some(("Esc", "cancel"))),
    bind(Prompt, &[code(KeyCode::Backspace), ctrl('h')], Action::Edit(Edit::Backspace), "delete before the cursor", None),
    bind(Prompt, &[code(KeyCode::Delete), ctrl('d')], Action::Edit(Edit::Delete), "delete under the cursor", None),
    bind(Prompt, &[code(KeyCode::Left), ctrl('b')], Action::Edit(Edit::Left), "cursor left", None),
    bind(Prompt, &[code(KeyCode::Right), ctrl('f')], Action::Edit(Edit::Right), "cursor right", None),
    bind(Prompt, &[code(KeyCode::Home), ctrl('a')], Action::Edit(Edit::Home), "cursor to the start", None),
    bind(Prompt, &[code(KeyCode::End), ctrl('e')], Action::Edit(Edit::End), "cursor to the end", None),
    bind(Prompt, &[ctrl('w')], Action::Edit(Edit::DeleteWord), "delete the word before the cursor", None),
    bind(Prompt, &[ctrl('u')], Action::Edit(Edit::Clear), "clear", None),
    // The help overlay.
    bind(HelpCtx, &[code(KeyCode::Esc), ch('?'), ch('q'), code(KeyCode::F(1))], Action::Cancel, "close this help", Some(("Esc", "close"))),
    bind(HelpCtx, &[ch('j'), code(KeyCode::Down)], Action::Down, "scroll down", Some(("↓", "scroll"))),
    bind(HelpCtx, &[ch('k'), code(KeyCode::Up)], Action::Up, "scroll up", None),
    bind(HelpCtx, &[code(KeyCode::PageDown)], Action::PageDown, "page down", None),
    bind(HelpCtx, &[code(KeyCode::PageUp)], Action::PageUp, "page up", None),
    // Everywhere.
    bind(Global, &[code(KeyCode::F(1))], Action::Help, "all keys, from anywhere", Some(("F1", "keys"))),
    bind(Global, &[ctrl('c')], Action::Quit, "quit, from anywhere", Some(("Ctrl-C", "quit"))),
];

/// What `event` does in `context`: the context's bindings first, then the
/// global ones. `None` for an unbound key (in the query line and prompts,
/// a printable character is then text).
pub fn action_for(context: Context, event: &KeyEvent) -> Option<Action> {
    let find = |ctx: Context| {
        BINDINGS
            .iter()
            .filter(|b| b.context == ctx)
            .find(|b| b.keys.iter().any(|k| k.matches(event)))
            .map(|b| b.action)
    };
    find(context).or_else(|| find(Context::Global))
}

/// The key help line of `context`: (keys, word) of its bindings that have
/// a hint (in the query line, then the global ones'). The line drops hints
/// from the middle when short of room, never the last two (help, quit).
pub fn hints(context: Context) -> Vec<(&'static str, &'static str)> {
    let of = |ctx: Context| {
        BINDINGS
            .iter()
            .filter(move |b| b.context == ctx)
            .filter_map(|b| b.hint)
    };
    let mut hints: Vec<_> = of(context).collect();
    if matches!(context, Context::Query) {
        hints.extend(of(Context::Global));
    }
    hints
}

/// The `?` overlay: (heading, rows of (keys, what they do)).
pub fn help_sections() -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    // The prompt's editing keys are the query line's; listed once.
    let section = |ctx: Context| {
        BINDINGS
            .iter()
            .filter(|b| {
                b.context == ctx && !(ctx == Context::Prompt && matches!(b.action, Action::Edit(_)))
            })
            .map(|b| {
                let keys: Vec<String> = b.keys.iter().map(Key::label).collect();
                (keys.join(" "), b.help)
            })
            .collect::<Vec<_>>()
    };
    vec![
        (crate::strings::HELP_LIST, section(Context::List)),
        (crate::strings::HELP_QUERY, section(Context::Query)),
        (crate::strings::HELP_PROMPT, section(Context::Prompt)),
        (crate::strings::HELP_GLOBAL, section(Context::Global)),
    ]
}

/// The help overlay's lines, all of them (scrolled by the caller):
/// (is a heading, keys or heading text, what the keys do).
pub fn help_lines() -> Vec<(bool, String, &'static str)> {
    let mut out = Vec::new();
    for (heading, rows) in help_sections() {
        if !out.is_empty() {
            out.push((false, String::new(), ""));
        }
        out.push((true, heading.to_string(), ""));
        out.extend(rows.into_iter().map(|(keys, help)| (false, keys, help)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn letters_are_commands_in_the_list_and_text_in_the_query_line() {
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(action_for(Context::List, &q), Some(Action::Quit));
        assert_eq!(action_for(Context::Query, &q), None);
        let s = press(KeyCode::Char('s'), KeyModifiers::NONE);
        assert_eq!(action_for(Context::List, &s), Some(Action::Similar));
        assert_eq!(action_for(Context::Query, &s), None);
        let d = press(KeyCode::Char('d'), KeyModifiers::NONE);
        assert_eq!(action_for(Context::List, &d), Some(Action::Copies));
        assert_eq!(action_for(Context::Query, &d), None);
        let ctrl_d = press(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(action_for(Context::List, &ctrl_d), Some(Action::PageDown));
    }

    #[test]
    fn shift_is_ignored_for_characters_but_not_for_arrows() {
        let g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(action_for(Context::List, &g), Some(Action::Bottom));
        let plus = press(KeyCode::Char('+'), KeyModifiers::SHIFT);
        assert_eq!(action_for(Context::List, &plus), Some(Action::MarkWanted));
        let left = press(KeyCode::Left, KeyModifiers::SHIFT);
        assert_eq!(action_for(Context::List, &left), Some(Action::SeekBackFar));
        let left = press(KeyCode::Left, KeyModifiers::NONE);
        assert_eq!(action_for(Context::List, &left), Some(Action::SeekBack));
    }

    #[test]
    fn ctrl_c_quits_everywhere() {
        for ctx in [
            Context::List,
            Context::Query,
            Context::Prompt,
            Context::Help,
        ] {
            let c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
            assert_eq!(action_for(ctx, &c), Some(Action::Quit), "{ctx:?}");
            let c = press(
                KeyCode::Char('C'),
                KeyModifiers::CONTROL | KeyModifiers::SHIFT,
            );
            assert_eq!(action_for(ctx, &c), Some(Action::Quit), "{ctx:?}");
        }
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                if a.context != b.context {
                    continue;
                }
                for k in a.keys {
                    assert!(
                        !b.keys.contains(k),
                        "{} bound to {:?} and {:?}",
                        k.label(),
                        a.action,
                        b.action
                    );
                }
            }
        }
    }

    #[test]
    fn every_context_has_help_rows() {
        for (heading, rows) in help_sections() {
            assert!(!rows.is_empty(), "{heading}");
        }
    }
}
