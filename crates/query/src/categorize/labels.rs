//! Which files are labelled examples: a UCS CatID from the file's name, or
//! from its tags (a CATID tag, or CATEGORY and SUBCATEGORY tags naming a
//! pair of the UCS list), whatever wrote them (Soundminer, BaseHead,
//! `hark tag --category`).

use hark_store::CategoryFacts;

use super::CatIdx;

/// What a file's name and tags say about its UCS category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// A CatID of the UCS list: a labelled example, never given a
    /// suggestion.
    Known(CatIdx),
    /// A UCS-shaped name or a CATID tag with a CatID the embedded list
    /// does not have (a later UCS version's, a typo): categorised, so not
    /// given a suggestion, but no example either.
    Unknown,
    /// No UCS category: a file to suggest one for.
    None,
}

/// The label of a file: its name's CatID, else its CATID tag's, else the
/// CatID of its CATEGORY and SUBCATEGORY tags. A CATEGORY tag that is not a
/// UCS category (an ASWG `Foley`) is no label.
pub fn label_of(facts: &CategoryFacts) -> Label {
    let known = |id: Option<&str>| id.and_then(CatIdx::of).map(Label::Known);
    let name = facts.name_cat_id.as_deref();
    let tag = facts.tag_cat_id.as_deref().and_then(hark_audio::ucs_cat_id);
    let pair = match (&facts.tag_category, &facts.tag_subcategory) {
        (Some(c), Some(s)) => hark_audio::ucs_cat_id_of(c, s),
        _ => None,
    };
    known(name)
        .or_else(|| known(tag))
        .or_else(|| known(pair))
        .unwrap_or(if name.is_some() || facts.tag_cat_id.is_some() {
            Label::Unknown
        } else {
            Label::None
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(
        name: Option<&str>,
        cat_id: Option<&str>,
        cat: Option<&str>,
        sub: Option<&str>,
    ) -> CategoryFacts {
        let s = |v: Option<&str>| v.map(str::to_string);
        CategoryFacts {
            id: hark_store::FileId(1),
            path: "/lib/x.wav".into(),
            duration_s: None,
            content_hash: None,
            name_cat_id: s(name),
            tag_cat_id: s(cat_id),
            tag_category: s(cat),
            tag_subcategory: s(sub),
        }
    }

    #[test]
    fn names_then_catid_tags_then_category_pairs() {
        let door = Label::Known(CatIdx::of("DOORWood").unwrap());
        let rain = Label::Known(CatIdx::of("RAIN").unwrap());
        assert_eq!(label_of(&facts(Some("DOORWood"), None, None, None)), door);
        assert_eq!(
            label_of(&facts(Some("DOORWood"), Some("RAIN"), None, None)),
            door
        );
        assert_eq!(label_of(&facts(None, Some("doorwood"), None, None)), door);
        assert_eq!(
            label_of(&facts(None, None, Some("Doors"), Some("wood"))),
            door
        );
        assert_eq!(
            label_of(&facts(None, None, Some("RAIN"), Some("GENERAL"))),
            rain
        );
        // A name with a CatID the list lacks: the tags may still tell.
        assert_eq!(
            label_of(&facts(Some("DOORWud"), Some("RAIN"), None, None)),
            rain
        );
        assert_eq!(
            label_of(&facts(Some("DOORWud"), None, None, None)),
            Label::Unknown
        );
        assert_eq!(
            label_of(&facts(None, Some("nonsense"), None, None)),
            Label::Unknown
        );
        // Not UCS: a file to suggest for.
        assert_eq!(
            label_of(&facts(None, None, Some("Foley"), None)),
            Label::None
        );
        assert_eq!(
            label_of(&facts(None, None, Some("DOORS"), Some("CHEESE"))),
            Label::None
        );
        assert_eq!(label_of(&facts(None, None, None, None)), Label::None);
    }
}
