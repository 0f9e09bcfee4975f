//! Text read from a library (file names, folder names, tags) made safe to
//! show on a terminal.
//!
//! Names and tags come from sample packs downloaded from anywhere. Written
//! raw, an `ESC ] 52` sequence in a file name sets the clipboard of
//! terminals that honour OSC 52, `ESC ] 0` the window title, `ESC [ 2J`
//! clears the screen, and a bidi override (U+202E) makes `...avw.tabla.wav`
//! read as a `.wav` name. [`escape`] shows every such character visibly, in
//! the C-like notation `ls --escape` uses (`\e`, `\t`, `\n`, `\x07`,
//! `\u{202E}`), and [`escape_path`] also shows bytes that are not UTF-8 as
//! `\xFF`. Machine output (JSON, `--paths` on a pipe) keeps exact bytes and
//! does not go through here.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// Whether `c` must not reach a terminal as it is: C0 and C1 controls,
/// DEL, and the Unicode bidi and direction marks that reorder what follows.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200E}' | '\u{200F}' | '\u{061C}'         // LRM, RLM, ALM
            | '\u{202A}'..='\u{202E}'                    // LRE RLE PDF LRO RLO
            | '\u{2066}'..='\u{2069}'                    // LRI RLI FSI PDI
            | '\u{2028}' | '\u{2029}') // line and paragraph separators
}

/// `s` with every unsafe character (see [`is_unsafe`]) written as a visible
/// escape; borrowed when there is none, which is the common case.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\x1b' => out.push_str("\\e"),
        c if is_unsafe(c) && (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02X}", c as u32);
        }
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:04X}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// A path for a terminal: like [`escape`], and bytes that are not UTF-8
/// (a name written on another system) as `\xHH` instead of U+FFFD, so two
/// different names never look the same.
pub fn escape_path(path: &Path) -> Cow<'_, str> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        if let Ok(s) = std::str::from_utf8(bytes) {
            return escape(s);
        }
        let mut out = String::with_capacity(bytes.len() + 8);
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                push_escaped(&mut out, c);
            }
            for b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02X}");
            }
        }
        Cow::Owned(out)
    }
    #[cfg(not(unix))]
    {
        match path.to_string_lossy() {
            Cow::Borrowed(s) => escape(s),
            Cow::Owned(s) => Cow::Owned(escape(&s).into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape("DOORWood_Creak 01.wav"), Cow::Borrowed(_)));
        assert!(matches!(escape("カエル 🐸.wav"), Cow::Borrowed(_)));
    }

    #[test]
    fn osc_and_csi_sequences_are_shown() {
        let name = "osc52 \x1b]52;c;SEFDS0VE\x07 tabla.wav";
        let shown = escape(name);
        assert_eq!(shown, "osc52 \\e]52;c;SEFDS0VE\\x07 tabla.wav");
        assert!(!shown.chars().any(is_unsafe));
        assert_eq!(escape("a\x1b[2Jb"), "a\\e[2Jb");
        assert_eq!(escape("c1 \u{9b}31m"), "c1 \\x9B31m");
        assert_eq!(escape("del\x7f"), "del\\x7F");
    }

    #[test]
    fn tabs_newlines_and_bidi_controls_are_shown() {
        assert_eq!(escape("a\tb\nc\rd"), "a\\tb\\nc\\rd");
        assert_eq!(escape("x\u{202E}vaw.wav"), "x\\u{202E}vaw.wav");
        assert_eq!(escape("\u{2066}i\u{2069}"), "\\u{2066}i\\u{2069}");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_bytes_are_shown_as_hex() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(OsStr::from_bytes(b"/lib/caf\xe9\x1b.wav"));
        assert_eq!(escape_path(p), "/lib/caf\\xE9\\e.wav");
    }
}
