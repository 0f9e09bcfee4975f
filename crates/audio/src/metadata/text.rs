//! Text as tag chunks store it: NUL-padded fixed-size fields, in UTF-8 or,
//! from Windows tools, Windows-1252.

/// Text from a fixed-size or NUL-terminated field: up to the first NUL,
/// UTF-8 or else Windows-1252, trimmed.
pub(super) fn decode_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    decode_text_bytes(&bytes[..end]).0.trim().to_string()
}

/// `bytes` as UTF-8 if they are, else as Windows-1252 (the usual encoding
/// of text from Windows tools); the flag says which.
pub(super) fn decode_text_bytes(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), true),
        Err(_) => (bytes.iter().map(|&b| windows_1252(b)).collect(), false),
    }
}

/// A Windows-1252 byte as a char: Latin-1, except the printable characters
/// at 0x80-0x9F (the five unassigned bytes map to the C1 controls, as
/// browsers do).
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_decode_utf8_or_windows_1252() {
        assert_eq!(decode_text(b"  Door creak \0garbage"), "Door creak");
        assert_eq!(
            decode_text("caf\u{e9} \u{2013}".as_bytes()),
            "caf\u{e9} \u{2013}"
        );
        assert_eq!(
            decode_text(b"caf\xE9 \x96 \x80"),
            "caf\u{e9} \u{2013} \u{20AC}"
        );
        assert_eq!(decode_text(b"\0\0\0"), "");
        assert_eq!(decode_text(b""), "");
    }
}
