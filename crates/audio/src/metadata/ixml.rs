//! The iXML chunk: production metadata as XML, written by field recorders
//! (PROJECT, SCENE, TAKE, NOTE, TRACK_LIST) and by library tools (USER
//! fields such as UCS CATEGORY/SUBCATEGORY/CATID, the ASWG block).
//!
//! Every element with text becomes an entry keyed by its path below the
//! root: `<BWFXML><USER><CATEGORY>DOORS</CATEGORY>` gives
//! `("ixml.USER.CATEGORY", "DOORS")`. No schema is assumed, so tools'
//! private extensions are kept too. Parsing is tolerant: mismatched end tags
//! are resynchronised, a stray `&` is text, and at the first real syntax
//! error (or the end of a truncated chunk) what was read so far is kept.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;

use super::text::decode_text_bytes;

/// Entries past this many are dropped, with a warning: bounded work on a
/// hostile or runaway chunk.
const MAX_ENTRIES: usize = 4096;

/// Appends the text elements of the iXML document `bytes` to `entries`.
pub(super) fn parse(bytes: &[u8], entries: &mut Vec<(String, String)>, warnings: &mut Vec<String>) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let end = bytes
        .iter()
        .rposition(|&b| b != 0 && !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let (text, was_utf8) = decode_text_bytes(&bytes[..end]);
    if !was_utf8 {
        warnings.push("iXML chunk is not UTF-8; read as Windows-1252".into());
    }

    let mut reader = Reader::from_str(&text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;

    let mut sink = Sink {
        entries,
        added: 0,
        dropped: 0,
    };
    // Open elements: name and the text gathered so far.
    let mut open: Vec<(String, String)> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                open.push((name, String::new()));
            }
            Ok(Event::End(end)) => {
                let name = end.name();
                let name = String::from_utf8_lossy(name.as_ref());
                // A mismatched end tag closes up to its element if that is
                // open, and is ignored otherwise.
                if let Some(depth) = open.iter().rposition(|(open, _)| *open == name) {
                    while open.len() > depth {
                        sink.close(&mut open);
                    }
                }
            }
            Ok(Event::Text(t)) => {
                if let (Some((_, text)), Ok(t)) = (open.last_mut(), t.xml10_content()) {
                    text.push_str(&t);
                }
            }
            Ok(Event::CData(t)) => {
                if let (Some((_, text)), Ok(t)) = (open.last_mut(), t.decode()) {
                    text.push_str(&t);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, text)) = open.last_mut() {
                    match (r.resolve_char_ref(), r.decode()) {
                        (Ok(Some(c)), _) => text.push(c),
                        (_, Ok(name)) => match resolve_predefined_entity(&name) {
                            Some(s) => text.push_str(s),
                            None => {
                                text.push('&');
                                text.push_str(&name);
                                text.push(';');
                            }
                        },
                        _ => {}
                    }
                }
            }
            Ok(Event::Eof) => {
                if let Some((name, _)) = open.last() {
                    warnings.push(format!(
                        "iXML chunk ends inside <{name}>; kept what it holds"
                    ));
                }
                break;
            }
            Ok(_) => {}
            Err(e) => {
                warnings.push(format!(
                    "iXML chunk is malformed at byte {}: {e}; kept the fields before it",
                    reader.error_position()
                ));
                break;
            }
        }
    }
    while !open.is_empty() {
        sink.close(&mut open);
    }
    if sink.dropped > 0 {
        warnings.push(format!(
            "iXML chunk has more than {MAX_ENTRIES} fields; dropped {}",
            sink.dropped
        ));
    }
}

struct Sink<'a> {
    entries: &'a mut Vec<(String, String)>,
    added: usize,
    dropped: usize,
}

impl Sink<'_> {
    /// Pops the innermost open element, keeping its text if it has any.
    fn close(&mut self, open: &mut Vec<(String, String)>) {
        let key = match open.len() {
            0 => return,
            1 => format!("ixml.{}", open[0].0),
            _ => {
                let names: Vec<&str> = open[1..].iter().map(|(name, _)| name.as_str()).collect();
                format!("ixml.{}", names.join("."))
            }
        };
        let Some((_, text)) = open.pop() else { return };
        let value = text.trim();
        if value.is_empty() {
            return;
        }
        if self.added == MAX_ENTRIES {
            self.dropped += 1;
            return;
        }
        self.added += 1;
        self.entries.push((key, value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(xml: &str) -> (Vec<(String, String)>, Vec<String>) {
        let (mut entries, mut warnings) = (Vec::new(), Vec::new());
        parse(xml.as_bytes(), &mut entries, &mut warnings);
        (entries, warnings)
    }

    fn pairs(entries: &[(String, String)]) -> Vec<(&str, &str)> {
        entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn nested_fields_get_their_path() {
        let (entries, warnings) = parse_str(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BWFXML>\n  <IXML_VERSION>2.10</IXML_VERSION>\n  \
             <PROJECT>Ghost &amp; Co</PROJECT><SCENE>12A</SCENE><TAKE>3</TAKE>\n  \
             <NOTE>wind &#x2013; gusts<![CDATA[ <loud>]]></NOTE>\n  \
             <USER><CATEGORY>DOORS</CATEGORY><SUBCATEGORY>WOOD</SUBCATEGORY><CATID>DOORWood</CATID></USER>\n  \
             <TRACK_LIST><TRACK><NAME>Boom</NAME></TRACK><TRACK><NAME>Lav</NAME></TRACK></TRACK_LIST>\n  \
             <EMPTY/><BLANK>  </BLANK>\n</BWFXML>\0\0",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            pairs(&entries),
            [
                ("ixml.IXML_VERSION", "2.10"),
                ("ixml.PROJECT", "Ghost & Co"),
                ("ixml.SCENE", "12A"),
                ("ixml.TAKE", "3"),
                ("ixml.NOTE", "wind \u{2013} gusts <loud>"),
                ("ixml.USER.CATEGORY", "DOORS"),
                ("ixml.USER.SUBCATEGORY", "WOOD"),
                ("ixml.USER.CATID", "DOORWood"),
                ("ixml.TRACK_LIST.TRACK.NAME", "Boom"),
                ("ixml.TRACK_LIST.TRACK.NAME", "Lav"),
            ]
        );
    }

    #[test]
    fn free_text_user_field_and_unknown_entities() {
        let (entries, warnings) =
            parse_str("<BWFXML><USER>Mic: MKH416 &nbsp; & more</USER></BWFXML>");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            pairs(&entries),
            [("ixml.USER", "Mic: MKH416 &nbsp; & more")]
        );
    }

    #[test]
    fn mismatched_and_truncated_documents_keep_what_they_hold() {
        let (entries, _) = parse_str(
            "<BWFXML><SCENE>1</scene></SCENE><NOTE>ok</NOTE></WRONG><TAKE>2</TAKE></BWFXML>",
        );
        assert_eq!(
            pairs(&entries),
            [("ixml.SCENE", "1"), ("ixml.NOTE", "ok"), ("ixml.TAKE", "2")]
        );

        let (entries, warnings) = parse_str("<BWFXML><SCENE>1</SCENE><NOTE>cut sh");
        assert_eq!(
            pairs(&entries),
            [("ixml.SCENE", "1"), ("ixml.NOTE", "cut sh")]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("ends inside <NOTE>"), "{warnings:?}");

        let (entries, warnings) =
            parse_str("<BWFXML><SCENE>1</SCENE><!oops><TAKE>2</TAKE></BWFXML>");
        assert_eq!(pairs(&entries), [("ixml.SCENE", "1")]);
        assert!(
            warnings.iter().any(|w| w.contains("malformed")),
            "{warnings:?}"
        );
    }

    #[test]
    fn garbage_and_non_utf8() {
        let (entries, warnings) = parse_str("\u{1}\u{2}garbage");
        assert!(entries.is_empty());
        assert!(warnings.is_empty(), "{warnings:?}");

        let (mut entries, mut warnings) = (Vec::new(), Vec::new());
        parse(
            b"<BWFXML><NOTE>caf\xE9</NOTE></BWFXML>",
            &mut entries,
            &mut warnings,
        );
        assert_eq!(pairs(&entries), [("ixml.NOTE", "caf\u{e9}")]);
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn runaway_documents_are_capped() {
        let xml = format!("<BWFXML>{}</BWFXML>", "<A>x</A>".repeat(MAX_ENTRIES + 10));
        let (entries, warnings) = parse_str(&xml);
        assert_eq!(entries.len(), MAX_ENTRIES);
        assert!(warnings[0].contains("dropped 10"), "{warnings:?}");
    }
}
