//! The query language: words, `"quoted phrases"`, `-exclusions` and
//! `key:value` filters, separated by spaces.
//!
//! ```text
//! distant thunder                 words: described to CLAP, and matched in names, folders, tags
//! "creaky door"                   a phrase: those words next to each other (lexically exact)
//! -rain  -"heavy rain"            exclude: drop files whose names/tags match, and push down
//!                                 sounds close to that text
//! dur:<2s  dur:1s..5s  dur:>=1m30s   duration (units ms, s, m, h; a bare number is seconds)
//! sr:>=96k  sr:44.1k  sr:48000    sample rate
//! ch:1  ch:stereo  ch:>2          channels
//! bits:24  bits:>=24              bit depth
//! ext:wav  ext:flac,aif           file extension (commas: any of)
//! in:Doors  in:"Boom Library"     a piece of the folder path
//! cat:DOORWood  cat:DOORS         UCS CatID, Category, or Category-SubCategory
//! -ext:mp3                        a filter after `-` excludes what it matches
//! ```
//!
//! Numeric filters take `<`, `<=`, `>`, `>=`, `=`, a range `a..b` (both ends
//! included; either may be left out), or, except duration, a bare value
//! meaning that value. Commas give alternatives (`ch:1,2`). Several filters
//! must all hold. Words are matched as prefixes when they are at least
//! three letters (`creak` finds `creaky`); a phrase is matched as written.
//! A query of only filters (and exclusions) lists the files that pass.

use std::ops::Bound;

use hark_store::{FileFilter, MatchTerm, NumRange, TextMatch};

use crate::error::{Error, Result};

/// A word or a phrase of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A word as typed.
    Word(String),
    /// The text between quotes.
    Phrase(String),
}

impl Term {
    /// The text, as typed (without quotes).
    pub fn text(&self) -> &str {
        match self {
            Term::Word(t) | Term::Phrase(t) => t,
        }
    }

    /// The full-text term: the text split into words the way file names
    /// are; an unquoted word whose last piece is at least three letters
    /// also matches longer words that start with it.
    fn match_term(&self) -> MatchTerm {
        let words = hark_store::split_words(self.text());
        let prefix = matches!(self, Term::Word(_))
            && words
                .last()
                .is_some_and(|w| w.chars().count() >= 3 && w.chars().all(char::is_alphabetic));
        MatchTerm { words, prefix }
    }

    /// Whether the term has anything the full-text index can match.
    fn is_lexical(&self) -> bool {
        self.text().chars().any(char::is_alphanumeric)
    }
}

/// A `key:value` filter of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The filter as written (`dur:<2s`, `-ext:mp3`), for display.
    pub text: String,
    /// Whether it excludes what it matches (written with a leading `-`).
    pub negated: bool,
    /// The condition it stands for, before negation.
    pub condition: FileFilter,
}

/// A parsed query. Made by [`crate::Engine::parse`] (or [`Query::parse`]);
/// never empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The query as given.
    pub source: String,
    /// Words and phrases to look for, in order.
    pub terms: Vec<Term>,
    /// Words and phrases to exclude.
    pub excluded: Vec<Term>,
    /// Filters, all of which must hold.
    pub filters: Vec<Filter>,
}

/// The filter keys, each with what it filters on.
pub const FILTER_KEYS: &[(&str, &str)] = &[
    ("dur", "duration"),
    ("sr", "sample rate"),
    ("ch", "channels"),
    ("bits", "bit depth"),
    ("ext", "file extension"),
    ("in", "folder path"),
    ("cat", "UCS category"),
];

/// The filter keys for messages: "`dur:` (duration), `sr:` (sample rate), ...".
pub(crate) fn filter_list() -> String {
    FILTER_KEYS
        .iter()
        .map(|(k, what)| format!("`{k}:` ({what})"))
        .collect::<Vec<_>>()
        .join(", ")
}

const DUR_EXAMPLE: &str =
    "durations look like dur:<2s, dur:>=500ms, dur:1s..5s, dur:>1m30s (units ms, s, m, h)";
const SR_EXAMPLE: &str =
    "sample rates look like sr:48k, sr:>=96k, sr:44.1k..48k, sr:44100 (units Hz, k, kHz)";
const CH_EXAMPLE: &str = "channels look like ch:1, ch:mono, ch:stereo, ch:>2, ch:1,2";
const BITS_EXAMPLE: &str = "bit depths look like bits:24, bits:>=24, bits:16,24";
const EXT_EXAMPLE: &str = "extensions look like ext:wav, ext:flac,aif";
const IN_EXAMPLE: &str = "folders look like in:Doors, in:\"Boom Library/Doors\"";
const CAT_EXAMPLE: &str =
    "UCS categories look like cat:DOORWood (CatID), cat:DOORS (Category), cat:DOORS-WOOD";

impl Query {
    /// Parses a query. Fails on an empty query, an unknown filter, a
    /// malformed filter value, an unterminated quote or a lone `-`.
    pub fn parse(query: &str) -> Result<Query> {
        let syntax = |what, hint| Error::Syntax {
            query: query.to_owned(),
            what,
            hint,
        };
        let cs: Vec<char> = query.chars().collect();
        let mut parsed = Query {
            source: query.to_owned(),
            terms: Vec::new(),
            excluded: Vec::new(),
            filters: Vec::new(),
        };
        let mut i = 0;
        while i < cs.len() {
            if cs[i].is_whitespace() {
                i += 1;
                continue;
            }
            let negated = cs[i] == '-';
            if negated {
                i += 1;
                if i == cs.len() || cs[i].is_whitespace() {
                    return Err(syntax(
                        "a `-` with nothing after it",
                        "write `-word`, `-\"a phrase\"` or `-key:value` with no space after the `-`",
                    ));
                }
            }
            // A token runs to the next space; quoted spans inside it keep their spaces.
            let mut token = String::new();
            let mut quoted = false;
            let mut whole_phrase = cs[i] == '"';
            while i < cs.len() && !cs[i].is_whitespace() {
                if cs[i] == '"' {
                    let close = cs[i + 1..].iter().position(|&c| c == '"').ok_or_else(|| {
                        syntax(
                            "an unterminated quote",
                            "close the phrase with a second `\"`",
                        )
                    })?;
                    token.extend(&cs[i + 1..i + 1 + close]);
                    i += close + 2;
                    quoted = true;
                } else {
                    token.push(cs[i]);
                    i += 1;
                    whole_phrase = false;
                }
            }
            let term = if whole_phrase {
                if token.trim().is_empty() {
                    return Err(syntax(
                        "an empty phrase `\"\"`",
                        "put words between the quotes, or remove them",
                    ));
                }
                Term::Phrase(token.trim().to_owned())
            } else if let Some((key, value)) = split_filter(&token) {
                let written = if negated {
                    format!("-{token}")
                } else {
                    token.clone()
                };
                let condition = parse_filter(key, value, quoted)?;
                parsed.filters.push(Filter {
                    text: written,
                    negated,
                    condition,
                });
                continue;
            } else {
                Term::Word(token)
            };
            if negated {
                parsed.excluded.push(term);
            } else {
                parsed.terms.push(term);
            }
        }
        if parsed.terms.is_empty() && parsed.excluded.is_empty() && parsed.filters.is_empty() {
            return Err(Error::EmptyQuery);
        }
        Ok(parsed)
    }

    /// The text to describe to CLAP: the words and phrases, in order,
    /// separated by spaces; `None` for a query of filters and exclusions.
    pub fn positive_text(&self) -> Option<String> {
        (!self.terms.is_empty()).then(|| {
            self.terms
                .iter()
                .map(Term::text)
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// Whether the query only lists files (no words or phrases to rank by).
    pub fn is_listing(&self) -> bool {
        self.terms.is_empty()
    }

    /// The full-text match: every word and phrase, and none of the
    /// excluded ones.
    pub(crate) fn text_match(&self) -> TextMatch {
        TextMatch {
            terms: self.terms.iter().map(Term::match_term).collect(),
            excluded: self.exclusion_terms(),
        }
    }

    /// The excluded words and phrases as full-text terms (a file matching
    /// any of them is dropped).
    pub(crate) fn exclusion_terms(&self) -> Vec<MatchTerm> {
        self.excluded
            .iter()
            .filter(|t| t.is_lexical())
            .map(Term::match_term)
            .collect()
    }

    /// The `key:value` filters as catalog conditions.
    pub(crate) fn metadata_filters(&self) -> Vec<FileFilter> {
        self.filters
            .iter()
            .map(|f| {
                if f.negated {
                    FileFilter::Not(Box::new(f.condition.clone()))
                } else {
                    f.condition.clone()
                }
            })
            .collect()
    }

    /// Every condition a listed file must pass: the filters, and not
    /// matching any excluded word or phrase.
    pub(crate) fn store_filters(&self) -> Vec<FileFilter> {
        let mut out = self.metadata_filters();
        let excluded: Vec<FileFilter> = self
            .exclusion_terms()
            .into_iter()
            .map(|t| {
                FileFilter::Text(TextMatch {
                    terms: vec![t],
                    excluded: Vec::new(),
                })
            })
            .collect();
        if !excluded.is_empty() {
            out.push(FileFilter::Not(Box::new(FileFilter::AnyOf(excluded))));
        }
        out
    }
}

/// `key:value` with an alphabetic key: a filter. A known key with an empty
/// value is a filter too (and fails to parse); an unknown key with nothing
/// after the colon (`Note:`) is a word.
fn split_filter(token: &str) -> Option<(&str, &str)> {
    let (key, value) = token.split_once(':')?;
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let known = FILTER_KEYS.iter().any(|(k, _)| k.eq_ignore_ascii_case(key));
    (known || !value.is_empty()).then_some((key, value))
}

fn parse_filter(key: &str, value: &str, quoted: bool) -> Result<FileFilter> {
    let lower = key.to_ascii_lowercase();
    let example = match lower.as_str() {
        "dur" => DUR_EXAMPLE,
        "sr" => SR_EXAMPLE,
        "ch" => CH_EXAMPLE,
        "bits" => BITS_EXAMPLE,
        "ext" => EXT_EXAMPLE,
        "in" => IN_EXAMPLE,
        "cat" => CAT_EXAMPLE,
        _ => {
            return Err(Error::UnknownFilter {
                key: key.to_owned(),
            })
        }
    };
    let bad = |reason: String| Error::BadFilterValue {
        key: lower.clone(),
        value: value.to_owned(),
        reason,
        example,
    };
    if value.trim().is_empty() {
        return Err(bad("the value is empty".into()));
    }
    // A quoted value is one value, commas and all.
    let alternatives: Vec<&str> = if quoted {
        vec![value]
    } else {
        value.split(',').collect()
    };
    let mut conditions = Vec::with_capacity(alternatives.len());
    for alt in alternatives {
        if alt.trim().is_empty() {
            return Err(bad("an empty alternative between commas".into()));
        }
        let condition = match lower.as_str() {
            "dur" => FileFilter::Duration(
                parse_range(alt, parse_duration, false, "a duration").map_err(bad)?,
            ),
            "sr" => FileFilter::SampleRate(
                parse_range(alt, parse_rate, true, "a sample rate").map_err(bad)?,
            ),
            "ch" => FileFilter::Channels(
                parse_range(alt, parse_channels, true, "a channel count").map_err(bad)?,
            ),
            "bits" => {
                FileFilter::Bits(parse_range(alt, parse_count, true, "a bit depth").map_err(bad)?)
            }
            "ext" => {
                let ext = alt.trim().trim_start_matches('.');
                if ext.is_empty() || ext.contains(['/', '\\', '.']) {
                    return Err(bad(format!("`{alt}` is not a file extension")));
                }
                FileFilter::Extension(ext.to_owned())
            }
            "in" => FileFilter::InFolder(alt.to_owned()),
            "cat" => FileFilter::Category(alt.trim().to_owned()),
            _ => unreachable!("keys checked above"),
        };
        conditions.push(condition);
    }
    Ok(if conditions.len() == 1 {
        conditions.remove(0)
    } else {
        FileFilter::AnyOf(conditions)
    })
}

/// A comparison (`<x`, `<=x`, `>x`, `>=x`, `=x`), a range (`a..b`, `a..`,
/// `..b`), or, if `bare` is allowed, a value meaning exactly that value.
fn parse_range(
    s: &str,
    one: fn(&str) -> Option<f64>,
    bare: bool,
    what: &str,
) -> Result<NumRange, String> {
    let s = s.trim();
    let value = |v: &str| one(v.trim()).ok_or_else(|| format!("`{}` is not {what}", v.trim()));
    type Make = fn(f64) -> NumRange;
    let ops: [(&str, Make); 5] = [
        (">=", |v| NumRange {
            lower: Bound::Included(v),
            upper: Bound::Unbounded,
        }),
        ("<=", |v| NumRange {
            lower: Bound::Unbounded,
            upper: Bound::Included(v),
        }),
        (">", |v| NumRange {
            lower: Bound::Excluded(v),
            upper: Bound::Unbounded,
        }),
        ("<", |v| NumRange {
            lower: Bound::Unbounded,
            upper: Bound::Excluded(v),
        }),
        ("=", NumRange::exactly),
    ];
    for (op, make) in ops {
        if let Some(rest) = s.strip_prefix(op) {
            return Ok(make(value(rest)?));
        }
    }
    if let Some((a, b)) = s.split_once("..") {
        let lower = if a.trim().is_empty() {
            Bound::Unbounded
        } else {
            Bound::Included(value(a)?)
        };
        let upper = if b.trim().is_empty() {
            Bound::Unbounded
        } else {
            Bound::Included(value(b)?)
        };
        if let (Bound::Included(l), Bound::Included(u)) = (lower, upper) {
            if l > u {
                return Err(format!(
                    "the range `{s}` is empty (its start is after its end)"
                ));
            }
        }
        if lower == Bound::Unbounded && upper == Bound::Unbounded {
            return Err("a range needs at least one end".into());
        }
        return Ok(NumRange { lower, upper });
    }
    if bare {
        return Ok(NumRange::exactly(value(s)?));
    }
    Err(format!(
        "{what} needs a comparison or a range (`<`, `>=`, `a..b`)"
    ))
}

/// A non-negative decimal number (`2`, `2.5`, `.5`).
fn number(s: &str) -> Option<f64> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Seconds from `2`, `2.5s`, `500ms`, `1m30s`, `1h`, `2min`, `3sec`. A bare
/// number is seconds, but only on its own (`1m30` is ambiguous).
fn parse_duration(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s;
    let mut parts = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n = number(&rest[..digits])?;
        rest = &rest[digits..];
        let letters = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = rest[..letters].to_ascii_lowercase();
        rest = &rest[letters..];
        parts += 1;
        let scale = match unit.as_str() {
            "" if rest.is_empty() && parts == 1 => 1.0,
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * scale;
    }
    (parts > 0).then_some(total)
}

/// Hz from `48000`, `48k`, `44.1k`, `96kHz`, `48000Hz`.
fn parse_rate(s: &str) -> Option<f64> {
    let digits = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n = number(&s[..digits])?;
    let scale = match s[digits..].to_ascii_lowercase().as_str() {
        "" | "hz" => 1.0,
        "k" | "khz" => 1000.0,
        _ => return None,
    };
    let hz = (n * scale).round();
    (hz > 0.0).then_some(hz)
}

/// A whole number (`24`).
fn parse_count(s: &str) -> Option<f64> {
    s.parse::<u32>().ok().map(f64::from)
}

/// A channel count, or `mono` / `stereo`.
fn parse_channels(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "mono" => Some(1.0),
        "stereo" => Some(2.0),
        _ => parse_count(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Query {
        Query::parse(q).unwrap_or_else(|e| panic!("{q:?} failed to parse: {e}"))
    }

    fn only_filter(q: &str) -> FileFilter {
        let parsed = parse(q);
        assert!(parsed.terms.is_empty() && parsed.excluded.is_empty());
        assert_eq!(parsed.filters.len(), 1, "{q:?}");
        parsed.filters[0].condition.clone()
    }

    fn range(lower: Bound<f64>, upper: Bound<f64>) -> NumRange {
        NumRange { lower, upper }
    }

    #[test]
    fn words_phrases_and_exclusions() {
        let q = parse(r#"  distant "thunder rumble"  -rain -"heavy wind" far "#);
        assert_eq!(
            q.terms,
            [
                Term::Word("distant".into()),
                Term::Phrase("thunder rumble".into()),
                Term::Word("far".into())
            ]
        );
        assert_eq!(
            q.excluded,
            [Term::Word("rain".into()), Term::Phrase("heavy wind".into())]
        );
        assert!(q.filters.is_empty());
        assert_eq!(
            q.positive_text().as_deref(),
            Some("distant thunder rumble far")
        );
        assert!(!q.is_listing());
    }

    #[test]
    fn durations() {
        use Bound::*;
        assert_eq!(
            only_filter("dur:<2s"),
            FileFilter::Duration(range(Unbounded, Excluded(2.0)))
        );
        assert_eq!(
            only_filter("dur:1s..5s"),
            FileFilter::Duration(range(Included(1.0), Included(5.0)))
        );
        assert_eq!(
            only_filter("dur:>=500ms"),
            FileFilter::Duration(range(Included(0.5), Unbounded))
        );
        assert_eq!(
            only_filter("dur:>1m30s"),
            FileFilter::Duration(range(Excluded(90.0), Unbounded))
        );
        assert_eq!(
            only_filter("dur:..2.5"),
            FileFilter::Duration(range(Unbounded, Included(2.5)))
        );
        assert_eq!(
            only_filter("DUR:<=1h"),
            FileFilter::Duration(range(Unbounded, Included(3600.0)))
        );
    }

    #[test]
    fn rates_channels_bits() {
        use Bound::*;
        assert_eq!(
            only_filter("sr:>=96k"),
            FileFilter::SampleRate(range(Included(96000.0), Unbounded))
        );
        assert_eq!(
            only_filter("sr:44.1k"),
            FileFilter::SampleRate(NumRange::exactly(44100.0))
        );
        assert_eq!(
            only_filter("sr:44100Hz..48kHz"),
            FileFilter::SampleRate(range(Included(44100.0), Included(48000.0)))
        );
        assert_eq!(
            only_filter("ch:1"),
            FileFilter::Channels(NumRange::exactly(1.0))
        );
        assert_eq!(
            only_filter("ch:stereo"),
            FileFilter::Channels(NumRange::exactly(2.0))
        );
        assert_eq!(
            only_filter("ch:1,2"),
            FileFilter::AnyOf(vec![
                FileFilter::Channels(NumRange::exactly(1.0)),
                FileFilter::Channels(NumRange::exactly(2.0))
            ])
        );
        assert_eq!(
            only_filter("bits:24"),
            FileFilter::Bits(NumRange::exactly(24.0))
        );
        assert_eq!(
            only_filter("bits:>16"),
            FileFilter::Bits(range(Excluded(16.0), Unbounded))
        );
    }

    #[test]
    fn text_filters() {
        assert_eq!(only_filter("ext:.WAV"), FileFilter::Extension("WAV".into()));
        assert_eq!(
            only_filter("ext:flac,aif"),
            FileFilter::AnyOf(vec![
                FileFilter::Extension("flac".into()),
                FileFilter::Extension("aif".into())
            ])
        );
        assert_eq!(
            only_filter(r#"in:"Boom Library/Doors, Wood""#),
            FileFilter::InFolder("Boom Library/Doors, Wood".into())
        );
        assert_eq!(
            only_filter("cat:DOORWood"),
            FileFilter::Category("DOORWood".into())
        );
    }

    #[test]
    fn negated_filter_and_listing() {
        let q = parse("-ext:mp3 dur:<1s");
        assert!(q.is_listing());
        assert_eq!(q.positive_text(), None);
        assert_eq!(q.filters.len(), 2);
        assert!(q.filters[0].negated);
        assert_eq!(q.filters[0].text, "-ext:mp3");
        assert_eq!(q.filters[0].condition, FileFilter::Extension("mp3".into()));
        assert!(!q.filters[1].negated);
        match &q.store_filters()[0] {
            FileFilter::Not(inner) => assert_eq!(**inner, FileFilter::Extension("mp3".into())),
            other => panic!("expected Not, got {other:?}"),
        }
    }

    #[test]
    fn colons_that_are_not_filters() {
        // A digit key, and an unknown key with nothing after the colon, are words.
        let q = parse("take 1:30 Note:");
        assert_eq!(
            q.terms,
            [
                Term::Word("take".into()),
                Term::Word("1:30".into()),
                Term::Word("Note:".into())
            ]
        );
        // A quoted colon is a phrase.
        assert_eq!(
            parse(r#""foo:bar""#).terms,
            [Term::Phrase("foo:bar".into())]
        );
    }

    #[test]
    fn match_terms_prefix_rule() {
        let q = parse(r#"creak DOORWood "creaky open" 02 ab"#);
        let m = q.text_match();
        let got: Vec<(Vec<&str>, bool)> = m
            .terms
            .iter()
            .map(|t| (t.words.iter().map(String::as_str).collect(), t.prefix))
            .collect();
        assert_eq!(
            got,
            [
                (vec!["creak"], true),
                (vec!["door", "wood"], true),
                (vec!["creaky", "open"], false),
                (vec!["02"], false),
                (vec!["ab"], false),
            ]
        );
    }

    #[test]
    fn exclusions_become_a_not_filter() {
        let q = parse("thunder -rain -\"!!\"");
        let filters = q.store_filters();
        // The punctuation-only exclusion has nothing to match lexically.
        assert_eq!(filters.len(), 1);
        match &filters[0] {
            FileFilter::Not(inner) => match &**inner {
                FileFilter::AnyOf(v) => assert_eq!(v.len(), 1),
                other => panic!("expected AnyOf, got {other:?}"),
            },
            other => panic!("expected Not, got {other:?}"),
        }
    }

    #[track_caller]
    fn error(q: &str) -> Error {
        match Query::parse(q) {
            Ok(parsed) => panic!("{q:?} parsed as {parsed:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn errors() {
        assert!(matches!(error(""), Error::EmptyQuery));
        assert!(matches!(error("   \t "), Error::EmptyQuery));
        match error("foo:bar") {
            Error::UnknownFilter { key } => assert_eq!(key, "foo"),
            e => panic!("{e}"),
        }
        let message = error("length:<2s").to_string();
        for (key, _) in FILTER_KEYS {
            assert!(message.contains(&format!("`{key}:`")), "{message}");
        }
        for bad in [
            "dur:2s",
            "dur:<2x",
            "dur:<",
            "dur:",
            "dur:5s..1s",
            "dur:..",
            "dur:1m30",
            "sr:fast",
            "sr:>=0",
            "ch:two",
            "bits:-1",
            "bits:24.5",
            "ext:",
            "ext:a/b",
            "ch:1,,2",
            "cat:",
        ] {
            match error(bad) {
                Error::BadFilterValue { key, .. } => {
                    assert_eq!(Some(key.as_str()), bad.split(':').next(), "{bad}")
                }
                e => panic!("{bad}: {e}"),
            }
        }
        for bad in ["thunder -", "- rain", "\"open", "say \"\"", "ab\"c"] {
            assert!(matches!(error(bad), Error::Syntax { .. }), "{bad}");
        }
    }
}
