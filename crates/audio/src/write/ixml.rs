//! Editing an iXML document in place: the UCS fields set in its `USER`
//! block (and in an `ASWG` block, if the file has one), every other byte
//! of the document kept.
//!
//! The fields are those Soundminer and BaseHead write and read in iXML's
//! `USER` block, ALL CAPS: `CATEGORY`, `SUBCATEGORY`, `CATID`,
//! `CATEGORYFULL` (`CATEGORY-SUBCATEGORY`), `FXNAME`, `DESCRIPTION`,
//! `KEYWORDS`; the Audio Semantic Working Group's `ASWG` block has camelCase
//! twins (`category`, `subCategory`, `catId`, `fxName`). Sources: the
//! "WAV Metadata Schema" of NomenAudio, a UCS tagging tool
//! (github.com/peterbreslin/nomen-audio, docs/metadata-schema.md: "`<USER>`
//! Block ... Soundminer/BaseHead convention. ALL CAPS tag names"), and the
//! Soundminer Metadata Initiative's field list (Category, SubCategory,
//! Description, Keywords, FXName...). hark's own reader
//! (`metadata/ixml.rs`) reads them back as `ixml.USER.CATID` and so on.
//!
//! The document is parsed with quick-xml for the byte positions of the
//! elements, then edited by splicing: a field's content replaced, a
//! missing field added before `</USER>`, a missing `USER` block added
//! before the root's end tag. A document quick-xml cannot parse, or one
//! that is not UTF-8, is not edited: the write is refused.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::Reader;

/// A new iXML document, for a file that has none.
pub(super) const NEW_DOCUMENT: &[u8] =
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BWFXML>\n</BWFXML>\n";

/// The `ASWG` name of a `USER` field, for the fields the two share.
fn aswg_name(user: &str) -> Option<&'static str> {
    match user {
        "CATEGORY" => Some("category"),
        "SUBCATEGORY" => Some("subCategory"),
        "CATID" => Some("catId"),
        "FXNAME" => Some("fxName"),
        _ => None,
    }
}

/// One splice: the bytes `start..end` of the text become `with`.
struct Splice {
    start: usize,
    end: usize,
    with: String,
}

/// Where a block (`USER`, `ASWG`) is, and its fields' contents.
#[derive(Default)]
struct Block {
    seen: bool,
    /// The span of `<USER/>`, if the block is an empty element.
    empty: Option<(usize, usize)>,
    /// Where its end tag starts.
    close: Option<usize>,
    /// (name, content start, content end, or the empty element's span).
    fields: Vec<(String, usize, usize, bool)>,
}

/// `doc` with `fields` (`USER` names and values) set. Everything outside
/// the document's text (a BOM, trailing NULs or spaces) is kept.
pub(super) fn edit(doc: &[u8], fields: &[(&str, String)]) -> Result<Vec<u8>, String> {
    let bom = if doc.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let end = doc
        .iter()
        .rposition(|&b| b != 0 && !b.is_ascii_whitespace())
        .map_or(bom, |i| i + 1)
        .max(bom);
    let text = std::str::from_utf8(&doc[bom..end])
        .map_err(|_| "its iXML chunk is not UTF-8, and hark edits only UTF-8 iXML".to_string())?;

    let mut reader = Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let (mut user, mut aswg) = (Block::default(), Block::default());
    // Which block the parser is in: 0 none, 1 USER, 2 ASWG.
    let mut inside = 0;
    let mut field: Option<(String, usize)> = None;
    let mut root_close = None;
    loop {
        let pos = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            format!(
                "its iXML chunk is malformed at byte {}: {e}",
                reader.error_position()
            )
        })?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                stack.push(name.clone());
                match stack.len() {
                    2 if name == "USER" && !user.seen => {
                        user.seen = true;
                        inside = 1;
                    }
                    2 if name == "ASWG" && !aswg.seen => {
                        aswg.seen = true;
                        inside = 2;
                    }
                    3 if inside != 0 => field = Some((name, after)),
                    _ => {}
                }
            }
            Event::End(_) => {
                match stack.len() {
                    1 => root_close = Some(pos),
                    2 if inside == 1 => {
                        user.close = Some(pos);
                        inside = 0;
                    }
                    2 if inside == 2 => {
                        aswg.close = Some(pos);
                        inside = 0;
                    }
                    3 => {
                        if let Some((name, start)) = field.take() {
                            let block = if inside == 1 { &mut user } else { &mut aswg };
                            block.fields.push((name, start, pos, false));
                        }
                    }
                    _ => {}
                }
                stack.pop();
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                match stack.len() + 1 {
                    2 if name == "USER" && !user.seen => {
                        user.seen = true;
                        user.empty = Some((pos, after));
                    }
                    3 if inside != 0 => {
                        let block = if inside == 1 { &mut user } else { &mut aswg };
                        block.fields.push((name, pos, after, true));
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let root_close = root_close.ok_or("its iXML chunk has no root end tag")?;

    let element = |name: &str, value: &str| format!("<{name}>{}</{name}>", escape(value));
    let mut splices = Vec::new();
    let mut missing = String::new();
    for (name, value) in fields {
        let existing = user.fields.iter().find(|(n, ..)| n == name);
        match existing {
            Some((_, start, end, empty)) => splices.push(Splice {
                start: *start,
                end: *end,
                with: if *empty {
                    element(name, value)
                } else {
                    escape(value).into_owned()
                },
            }),
            None => {
                missing.push_str("\t\t");
                missing.push_str(&element(name, value));
                missing.push('\n');
            }
        }
        // ASWG fields are updated where the block has them, never added.
        if let Some(aswg_name) = aswg_name(name) {
            for (_, start, end, empty) in aswg.fields.iter().filter(|(n, ..)| n == aswg_name) {
                splices.push(Splice {
                    start: *start,
                    end: *end,
                    with: if *empty {
                        element(aswg_name, value)
                    } else {
                        escape(value).into_owned()
                    },
                });
            }
        }
    }
    if !missing.is_empty() {
        match (user.close, user.empty) {
            (Some(close), _) => splices.push(Splice {
                start: close,
                end: close,
                with: format!("\n{missing}\t"),
            }),
            (None, Some((start, end))) => splices.push(Splice {
                start,
                end,
                with: format!("<USER>\n{missing}\t</USER>"),
            }),
            (None, None) => splices.push(Splice {
                start: root_close,
                end: root_close,
                with: format!("\t<USER>\n{missing}\t</USER>\n"),
            }),
        }
    }
    splices.sort_by_key(|s| (s.start, s.end));
    let mut out = doc[..bom].to_vec();
    let mut at = 0;
    for s in &splices {
        if s.start < at {
            return Err("its iXML chunk repeats a field in a way hark cannot edit".into());
        }
        out.extend(&text.as_bytes()[at..s.start]);
        out.extend(s.with.as_bytes());
        at = s.end;
    }
    out.extend(&text.as_bytes()[at..]);
    out.extend(&doc[end..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    fn edit_str(doc: &str, pairs: &[(&'static str, &str)]) -> String {
        String::from_utf8(edit(doc.as_bytes(), &fields(pairs)).unwrap()).unwrap()
    }

    #[test]
    fn replaces_and_adds_user_fields_keeping_the_rest() {
        let doc = "<?xml version=\"1.0\"?>\n<BWFXML><PROJECT>P &amp; Q</PROJECT>\
                   <USER><CATID>OLDId</CATID><NOTE>keep</NOTE><CATEGORY/></USER>\
                   <ASWG><catId>OLDId</catId><isDesigned>1</isDesigned></ASWG></BWFXML>\0\0";
        let out = edit_str(
            doc,
            &[
                ("CATID", "DOORWood"),
                ("CATEGORY", "DOORS"),
                ("DESCRIPTION", "a <b> & c"),
            ],
        );
        assert_eq!(
            out,
            "<?xml version=\"1.0\"?>\n<BWFXML><PROJECT>P &amp; Q</PROJECT>\
             <USER><CATID>DOORWood</CATID><NOTE>keep</NOTE><CATEGORY>DOORS</CATEGORY>\n\
             \t\t<DESCRIPTION>a &lt;b&gt; &amp; c</DESCRIPTION>\n\t</USER>\
             <ASWG><catId>DOORWood</catId><isDesigned>1</isDesigned></ASWG></BWFXML>\0\0"
        );
    }

    #[test]
    fn adds_a_user_block_where_there_is_none() {
        let out = edit_str(
            "<BWFXML><SCENE>1</SCENE></BWFXML>",
            &[("KEYWORDS", "wood, creak")],
        );
        assert_eq!(
            out,
            "<BWFXML><SCENE>1</SCENE>\t<USER>\n\t\t<KEYWORDS>wood, creak</KEYWORDS>\n\t</USER>\n</BWFXML>"
        );
        let out = edit_str("<BWFXML><USER/></BWFXML>", &[("CATID", "RAIN")]);
        assert_eq!(
            out,
            "<BWFXML><USER>\n\t\t<CATID>RAIN</CATID>\n\t</USER></BWFXML>"
        );
        let new = edit(NEW_DOCUMENT, &fields(&[("CATID", "RAIN")])).unwrap();
        assert!(String::from_utf8(new)
            .unwrap()
            .contains("<USER>\n\t\t<CATID>RAIN</CATID>"));
    }

    #[test]
    fn refuses_what_it_cannot_parse() {
        assert!(edit(b"<BWFXML><USER>", &fields(&[("CATID", "RAIN")])).is_err());
        assert!(edit(b"<BWFXML><A></B></BWFXML>", &fields(&[("CATID", "RAIN")])).is_err());
        assert!(edit(b"<BWFXML>caf\xE9</BWFXML>", &fields(&[("CATID", "RAIN")])).is_err());
    }
}
