//! Names, paths and tags made fit to draw: escaped (a library's names
//! come from anywhere; control characters and bidi marks are shown as
//! visible escapes, the rule of `hark_types::terminal`), measured per
//! grapheme (a joined emoji sequence is one cell pair, as the terminal
//! draws it), and cut in the middle with `…` so a name keeps its ending and
//! extension.

use std::path::Path;

use hark_types::terminal;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// `s` as it is drawn: unsafe characters escaped.
pub fn shown(s: &str) -> String {
    terminal::escape(s).into_owned()
}

/// `path` as it is drawn: unsafe characters and non-UTF-8 bytes escaped.
pub fn shown_path(path: &Path) -> String {
    terminal::escape_path(path).into_owned()
}

/// The cells `s` takes, grapheme by grapheme (how the screen buffer
/// places it).
pub fn width(s: &str) -> usize {
    s.graphemes(true).map(grapheme_width).sum()
}

fn grapheme_width(g: &str) -> usize {
    // A grapheme is one glyph: an emoji sequence joined by U+200D is two
    // cells however many pictographs it joins.
    g.width().min(2)
}

/// `s` in at most `max` cells: whole when it fits, else its start and
/// its end (the longer part: the ending and extension say most) around
/// `…`, cut between graphemes.
pub fn fit_middle(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let room = max - 1;
    let tail_room = room.div_ceil(2);
    let head_room = room - tail_room;
    let graphemes: Vec<&str> = s.graphemes(true).collect();
    let mut head = String::new();
    let mut used = 0;
    for g in &graphemes {
        let w = grapheme_width(g);
        if used + w > head_room {
            break;
        }
        used += w;
        head.push_str(g);
    }
    let mut tail: Vec<&str> = Vec::new();
    let mut used = 0;
    for g in graphemes.iter().rev() {
        let w = grapheme_width(g);
        if used + w > tail_room {
            break;
        }
        used += w;
        tail.push(g);
    }
    tail.reverse();
    format!("{head}…{}", tail.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_their_start_and_ending() {
        assert_eq!(fit_middle("kick.wav", 8), "kick.wav");
        assert_eq!(
            fit_middle("DOORWood_Creaky Old Door_HK_Lib.wav", 15),
            "DOORWoo…Lib.wav"
        );
        assert_eq!(width(&fit_middle("DOORWood_Creaky Old Door.wav", 9)), 9);
        assert_eq!(fit_middle("abc", 1), "…");
    }

    #[test]
    fn width_is_counted_per_grapheme() {
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(width(family), 2);
        assert_eq!(width(&format!("a{family}b")), 4);
        // Never cut inside the sequence.
        let cut = fit_middle(&format!("{family}{family}xyz{family}"), 5);
        assert_eq!(width(&cut), 5);
        assert!(cut.ends_with(family), "{cut}");
    }

    #[test]
    fn controls_and_bidi_marks_are_escaped() {
        assert_eq!(shown("a\tb\x1b[2J\u{202E}c"), "a\\tb\\e[2J\\u{202E}c");
    }
}
