//! [`LineEditor`]: one line of text with a cursor, edited by [`Edit`]
//! steps; the query line and the export prompt both type into one.

use crate::keymap::Edit;

/// A line of text being edited, with a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineEditor {
    text: String,
    /// The cursor as a byte offset, always on a char boundary: typing at
    /// it does not count the characters before it, so a paste arriving as
    /// thousands of keys costs no more than its length.
    cursor: usize,
}

impl LineEditor {
    /// An editor holding `text`, cursor at the end.
    pub fn new(text: &str) -> Self {
        LineEditor {
            text: text.to_string(),
            cursor: text.len(),
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.text[..self.cursor].chars().count()
    }

    /// The cursor, in bytes from the start of [`text`](Self::text).
    pub fn cursor_byte(&self) -> usize {
        self.cursor
    }

    /// Where the character before the cursor starts.
    fn char_before(&self) -> Option<usize> {
        self.text[..self.cursor]
            .char_indices()
            .next_back()
            .map(|(i, _)| i)
    }

    /// Where the character after the cursor ends.
    fn char_after(&self) -> Option<usize> {
        self.text[self.cursor..]
            .chars()
            .next()
            .map(|c| self.cursor + c.len_utf8())
    }

    /// Types `c` at the cursor.
    pub fn insert(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Types `text` at the cursor.
    pub fn insert_str(&mut self, text: &str) {
        self.text.insert_str(self.cursor, text);
        self.cursor += text.len();
    }

    /// Applies an editing step; true if the text changed.
    pub fn apply(&mut self, edit: Edit) -> bool {
        match edit {
            Edit::Backspace => match self.char_before() {
                Some(at) => {
                    self.text.remove(at);
                    self.cursor = at;
                    true
                }
                None => false,
            },
            Edit::Delete => match self.char_after() {
                Some(_) => {
                    self.text.remove(self.cursor);
                    true
                }
                None => false,
            },
            Edit::Left => {
                self.cursor = self.char_before().unwrap_or(0);
                false
            }
            Edit::Right => {
                self.cursor = self.char_after().unwrap_or(self.cursor);
                false
            }
            Edit::Home => {
                self.cursor = 0;
                false
            }
            Edit::End => {
                self.cursor = self.text.len();
                false
            }
            Edit::DeleteWord if self.cursor > 0 => {
                let before = &self.text[..self.cursor];
                let word_end = before.trim_end().len();
                let start = before[..word_end]
                    .char_indices()
                    .rev()
                    .find(|(_, c)| c.is_whitespace())
                    .map_or(0, |(i, c)| i + c.len_utf8());
                self.text.replace_range(start..self.cursor, "");
                self.cursor = start;
                true
            }
            Edit::Clear if !self.text.is_empty() => {
                self.text.clear();
                self.cursor = 0;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_step_over_whole_characters() {
        let mut line = LineEditor::new("雷 é");
        assert_eq!((line.cursor(), line.cursor_byte()), (3, "雷 é".len()));
        assert!(!line.apply(Edit::Left));
        line.insert('x');
        assert_eq!((line.text(), line.cursor()), ("雷 xé", 3));
        assert!(line.apply(Edit::Delete));
        assert!(!line.apply(Edit::Delete));
        assert!(line.apply(Edit::Backspace));
        assert_eq!(line.text(), "雷 ");
        line.apply(Edit::Home);
        assert!(!line.apply(Edit::Backspace));
        line.apply(Edit::Right);
        line.insert_str("雨雨");
        assert_eq!((line.text(), line.cursor()), ("雷雨雨 ", 3));
        line.apply(Edit::End);
        line.insert_str("kick");
        assert_eq!(line.text(), "雷雨雨 kick");
    }

    #[test]
    fn ctrl_w_deletes_the_word_before_the_cursor_and_its_trailing_spaces() {
        let mut line = LineEditor::new("dark  thunder  ");
        assert!(line.apply(Edit::DeleteWord));
        assert_eq!((line.text(), line.cursor()), ("dark  ", 6));
        assert!(line.apply(Edit::DeleteWord));
        assert_eq!(line.text(), "");
        assert!(!line.apply(Edit::DeleteWord));
        let mut line = LineEditor::new("雷雨 rumble");
        line.apply(Edit::Left);
        line.apply(Edit::Left);
        assert!(line.apply(Edit::DeleteWord));
        assert_eq!((line.text(), line.cursor()), ("雷雨 le", 3));
    }
}
