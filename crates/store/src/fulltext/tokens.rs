//! Splitting file and folder names into words for the full-text index.
//!
//! Sound libraries name files like `DOORWood_CreakyOpen-02.wav`: words glued
//! by case changes, digits and punctuation. FTS5's own tokenizer only splits
//! on punctuation and spaces, so names are split here first and the words
//! handed to it separated by spaces.

use std::path::Path;

/// Splits a name into lower-case words at `_`, `-`, `.`, whitespace, case
/// changes (`creakyOpen`, `DOORWood`) and letter/digit boundaries (`Open02`).
///
/// `"DOORWood_CreakyOpen-02.wav"` gives `door wood creaky open 02 wav`.
/// Other punctuation is kept inside the words; FTS5's tokenizer splits on it.
pub fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for piece in pieces(name) {
        split_piece(piece, &mut words);
    }
    words
}

/// The text indexed for a name: [`split_words`], then, lower-cased, every
/// piece between separators that the split broke up (`doorwood`,
/// `creakyopen`), so a search for the glued spelling finds it too.
///
/// `"DOORWood_CreakyOpen-02.wav"` gives
/// `"door wood creaky open 02 wav doorwood creakyopen"`.
pub fn name_tokens(name: &str) -> String {
    let mut words = split_words(name);
    for piece in pieces(name) {
        let mut parts = Vec::new();
        split_piece(piece, &mut parts);
        if parts.len() > 1 {
            words.push(piece.to_lowercase());
        }
    }
    words.join(" ")
}

/// The pieces of a name between separators, none empty.
fn pieces(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| matches!(c, '_' | '-' | '.') || c.is_whitespace())
        .filter(|p| !p.is_empty())
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Upper,
    Lower,
    Digit,
    Other,
}

fn class(c: char) -> Class {
    if c.is_uppercase() {
        Class::Upper
    } else if c.is_lowercase() {
        Class::Lower
    } else if c.is_numeric() {
        Class::Digit
    } else {
        Class::Other
    }
}

/// Splits one separator-free piece at case and digit boundaries and pushes
/// the lower-cased words.
fn split_piece(piece: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = piece.chars().collect();
    let mut start = 0;
    for i in 1..chars.len() {
        let (prev, cur) = (class(chars[i - 1]), class(chars[i]));
        let next = chars.get(i + 1).map(|&c| class(c));
        let boundary = match (prev, cur) {
            // creakyOpen
            (Class::Lower, Class::Upper) => true,
            // DOORWood: the last capital of a run starts the next word.
            (Class::Upper, Class::Upper) => next == Some(Class::Lower),
            (Class::Digit, Class::Upper | Class::Lower) => true,
            (Class::Upper | Class::Lower, Class::Digit) => true,
            _ => false,
        };
        if boundary {
            out.push(chars[start..i].iter().collect::<String>().to_lowercase());
            start = i;
        }
    }
    if start < chars.len() {
        out.push(chars[start..].iter().collect::<String>().to_lowercase());
    }
}

/// The words of the folders between `root` and the file, with the root's
/// own name first (`Boom Library/Doors/Wood` → `boom library doors wood`).
pub(crate) fn folder_tokens(root: &Path, path: &Path) -> String {
    let parent = path.parent().unwrap_or(Path::new(""));
    let relative = parent.strip_prefix(root).unwrap_or(parent);
    root.file_name()
        .into_iter()
        .chain(relative.iter())
        .map(|c| name_tokens(&c.to_string_lossy()))
        .filter(|t| !t.is_empty() && t != "/")
        .collect::<Vec<_>>()
        .join(" ")
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucs_name() {
        assert_eq!(
            split_words("DOORWood_CreakyOpen-02.wav"),
            ["door", "wood", "creaky", "open", "02", "wav"]
        );
        assert_eq!(
            name_tokens("DOORWood_CreakyOpen-02.wav"),
            "door wood creaky open 02 wav doorwood creakyopen"
        );
    }

    #[test]
    fn separators_and_spaces() {
        assert_eq!(
            split_words("  rain on roof__heavy..take 3 "),
            ["rain", "on", "roof", "heavy", "take", "3"]
        );
        assert_eq!(name_tokens("rain on roof"), "rain on roof");
    }

    #[test]
    fn case_and_digit_boundaries() {
        assert_eq!(split_words("footstepsGravel"), ["footsteps", "gravel"]);
        assert_eq!(split_words("HTTPServer"), ["http", "server"]);
        assert_eq!(split_words("take12b"), ["take", "12", "b"]);
        assert_eq!(split_words("96kHz24bit"), ["96", "k", "hz", "24", "bit"]);
        assert_eq!(split_words("ALLCAPS"), ["allcaps"]);
        assert_eq!(split_words("A"), ["a"]);
    }

    #[test]
    fn non_ascii() {
        assert_eq!(
            split_words("PorteGrinçante_Été"),
            ["porte", "grinçante", "été"]
        );
        assert_eq!(split_words("雨の音"), ["雨の音"]);
    }

    #[test]
    fn empty() {
        assert!(split_words("").is_empty());
        assert!(split_words("_-. ").is_empty());
        assert_eq!(name_tokens("__"), "");
    }

    #[test]
    fn folder_words_are_relative_to_the_root() {
        assert_eq!(
            folder_tokens(
                Path::new("/home/me/Boom Library"),
                Path::new("/home/me/Boom Library/Doors/WoodCreaks/a.wav")
            ),
            "boom library doors wood creaks woodcreaks"
        );
    }
}
