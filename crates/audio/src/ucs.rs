//! Universal Category System (UCS) file names.
//!
//! UCS is the naming convention most commercial sound libraries follow:
//!
//! ```text
//! CatID(-UserCategory)_(VendorCategory-)FXName_CreatorID_SourceID(_UserData)
//! ```
//!
//! for example `DOORWood_Creaky Open Slow_JD_MyLib`, or in full
//! `GUNAuto-EXT_UZI 9mm-Rapid Fire Close Up_TN_DORY_416-MKH8040`. The CatID
//! names a Category/SubCategory pair of the UCS list (`DOORWood` is DOORS /
//! WOOD); that list, version 8.2.1, is embedded (see `ucs/table.rs` for its
//! source), with each CatID's explanation and synonyms
//! (`ucs/descriptions.tsv`, from the same CC0 source): [`ucs_list`] walks it.

mod table;

use table::CAT_IDS;

/// Each CatID's explanation and synonyms, one line each in the table's
/// order (see the file's header and `scripts/ucs_descriptions.py`).
const DESCRIPTIONS: &str = include_str!("ucs/descriptions.tsv");

/// One CatID of the embedded UCS 8.2.1 list, with the words the list gives
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UcsEntry {
    /// The CatID (`DOORWood`).
    pub cat_id: &'static str,
    /// Its Category (`DOORS`).
    pub category: &'static str,
    /// Its SubCategory (`WOOD`).
    pub subcategory: &'static str,
    /// The list's explanation of what belongs there ("Wood doors, home,
    /// school, most general door category probably.").
    pub explanation: &'static str,
    /// The list's synonyms, comma-separated and lower case
    /// (`apartment,armoires,barn,...`); empty for none.
    pub synonyms: &'static str,
}

impl UcsEntry {
    /// The synonyms one by one.
    pub fn synonyms(&self) -> impl Iterator<Item = &'static str> {
        self.synonyms.split(',').filter(|s| !s.is_empty())
    }
}

/// Every CatID of the embedded UCS 8.2.1 list ([`UCS_CAT_ID_COUNT`] of
/// them), sorted by the ASCII-lowercase CatID, with its explanation and
/// synonyms.
pub fn ucs_list() -> impl Iterator<Item = UcsEntry> {
    let mut lines = DESCRIPTIONS.lines().filter(|l| !l.starts_with('#'));
    CAT_IDS.iter().map(move |&(cat_id, category, subcategory)| {
        // The asset is checked against the table by a test: same CatIDs, same order.
        let line = lines.next().unwrap_or_default();
        let mut fields = line.splitn(3, '\t');
        let (id, explanation, synonyms) = (
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        debug_assert_eq!(id, cat_id);
        UcsEntry {
            cat_id,
            category,
            subcategory,
            explanation,
            synonyms,
        }
    })
}

/// The CatID of the embedded list that `text` names, in the list's
/// spelling: as the first block of [`parse_ucs`] reads one (`doorwood` is
/// `DOORWood`; all-capitals CatIDs such as `RAIN` only as written).
/// Surrounding spaces are ignored. `None` for anything else.
pub fn ucs_cat_id(text: &str) -> Option<&'static str> {
    lookup(text.trim()).map(|(cat_id, _, _)| cat_id)
}

/// The CatID of a Category and SubCategory pair (`DOORS`, `WOOD` give
/// `DOORWood`), in any case; `None` if the embedded list has no such pair.
pub fn ucs_cat_id_of(category: &str, subcategory: &str) -> Option<&'static str> {
    let (category, subcategory) = (category.trim(), subcategory.trim());
    CAT_IDS
        .iter()
        .find(|(_, c, s)| c.eq_ignore_ascii_case(category) && s.eq_ignore_ascii_case(subcategory))
        .map(|(cat_id, _, _)| *cat_id)
}

/// The parts of a UCS file name, as [`parse_ucs`] found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ucs {
    /// The CatID, in the list's spelling when it is a known one
    /// (`DOORWood` even if the file says `doorwood`).
    pub cat_id: String,
    /// The UCS Category of the CatID (`DOORS`), `None` if the CatID is not in
    /// the embedded UCS 8.2.1 list (a later UCS version's, or a typo).
    pub category: Option<&'static str>,
    /// The UCS SubCategory of the CatID (`WOOD`), `None` as for `category`.
    pub subcategory: Option<&'static str>,
    /// The optional user category after a `-` in the first block (`EXT` in
    /// `GUNAuto-EXT_...`).
    pub user_category: Option<String>,
    /// The optional vendor category: the part of the FX name before its
    /// first `-` (`UZI 9mm` in `..._UZI 9mm-Rapid Fire_...`).
    pub vendor_category: Option<String>,
    /// The FX name, the second block, whole (vendor category included, as
    /// the convention defines it).
    pub fx_name: String,
    /// Who recorded or designed the sound.
    pub creator_id: String,
    /// The project, show or library.
    pub source_id: String,
    /// Everything after the fourth block, `_`s included, if anything.
    pub user_data: Option<String>,
}

/// Parses a UCS file name, `CatID_FXName_CreatorID_SourceID[_UserData]`.
///
/// `file_stem` is the file name without its directory; a trailing audio
/// extension (`.wav`, `.flac`, ...) is ignored. Blocks are split on `_` and
/// trimmed of surrounding spaces; spaces inside a block are kept.
///
/// The first block decides whether the name is UCS at all:
///
/// - a CatID of the UCS 8.2.1 list, exactly, or in another case for the
///   mixed-case CatIDs (`doorwood` is read as `DOORWood`; the all-capitals
///   ones such as `RAIN` or `WIND` must match exactly, since in lower case
///   they are everyday words): the result has the category and subcategory;
/// - otherwise something shaped like a CatID, three or more capitals then
///   lower case or digits, ASCII letters and digits only (`DOORWud`,
///   `ABCDNew`): still parsed, with `category` and `subcategory` `None`, so
///   names using CatIDs newer than the embedded list keep their structure;
/// - anything else (`door`, `Door Creak`): `None`.
///
/// `None` too when fewer than four blocks are present or one of the four
/// is empty.
pub fn parse_ucs(file_stem: &str) -> Option<Ucs> {
    let stem = strip_audio_extension(file_stem);
    let mut blocks = stem.splitn(5, '_');
    let first = blocks.next()?.trim();
    let fx_name = blocks.next()?.trim();
    let creator_id = blocks.next()?.trim();
    let source_id = blocks.next()?.trim();
    let user_data = blocks.next().map(str::trim).filter(|s| !s.is_empty());
    if fx_name.is_empty() || creator_id.is_empty() || source_id.is_empty() {
        return None;
    }

    let (cat_id, user_category) = match first.split_once('-') {
        Some((cat_id, user)) => (cat_id.trim(), Some(user.trim()).filter(|s| !s.is_empty())),
        None => (first, None),
    };
    let (cat_id, category, subcategory) = match lookup(cat_id) {
        Some((canonical, category, subcategory)) => {
            (canonical.to_string(), Some(category), Some(subcategory))
        }
        None if looks_like_cat_id(cat_id) => (cat_id.to_string(), None, None),
        None => return None,
    };
    let vendor_category = fx_name
        .split_once('-')
        .map(|(vendor, _)| vendor.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string);

    Some(Ucs {
        cat_id,
        category,
        subcategory,
        user_category: user_category.map(str::to_string),
        vendor_category,
        fx_name: fx_name.to_string(),
        creator_id: creator_id.to_string(),
        source_id: source_id.to_string(),
        user_data: user_data.map(str::to_string),
    })
}

/// The UCS Category and SubCategory of a CatID: `"DOORWood"` gives
/// `Some(("DOORS", "WOOD"))`.
///
/// Exact spelling only; `None` for a CatID not in the embedded UCS 8.2.1
/// list. [`parse_ucs`] is the lenient one.
pub fn ucs_category(cat_id: &str) -> Option<(&'static str, &'static str)> {
    lookup(cat_id)
        .filter(|(canonical, _, _)| *canonical == cat_id)
        .map(|(_, category, subcategory)| (category, subcategory))
}

/// The UCS category of a file, from its name or its tags, as
/// [`file_ucs`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUcs {
    /// The CatID, in the list's spelling when it is a known one.
    pub cat_id: String,
    /// Its UCS Category, `None` if the embedded list lacks the CatID.
    pub category: Option<&'static str>,
    /// Its UCS SubCategory, as for `category`.
    pub subcategory: Option<&'static str>,
    /// The FXName: the UCS name's second block, or else an `FXNAME` tag's
    /// value.
    pub fx_name: Option<String>,
}

/// Names the rule by which [`file_ucs`] reads a file's category (and the
/// UCS list it knows), so that a catalog can tell whether the categories
/// it holds were read by this one: it changes whenever `file_ucs` could
/// give another answer for the same name and tags.
pub const FILE_UCS_RULE: &str = "ucs-8.2.1;name,tags-1";

/// The UCS category of the file called `file_name` (no directory) with tag
/// items `tags` (as [`Tags::all`](crate::Tags::all) holds them), in this
/// order:
///
/// 1. its UCS name ([`parse_ucs`]), when the CatID is one of the embedded
///    list;
/// 2. else a CatID of the list from its tags, whatever wrote them (`hark
///    tag`, Soundminer, BaseHead, an ASWG tool): the first tag whose key
///    ends in `CATID` (after its last `.` or `:`, any case, as
///    [`Tags::cat_id`](crate::Tags::cat_id)), read by [`ucs_cat_id`]; else
///    the pair of the first `CATEGORY` and `SUBCATEGORY` tags, read by
///    [`ucs_cat_id_of`]. The FXName is the UCS name's if the name is
///    UCS-shaped, else the first `FXNAME` tag's;
/// 3. else its UCS-shaped name with a CatID the list lacks (a later UCS
///    version's), with no Category;
/// 4. else a `CATID` tag with a value shaped like a CatID (as [`parse_ucs`]
///    accepts one), with no Category, and the `FXNAME` tag;
/// 5. else `None`. A `CATEGORY` tag that is no UCS category (an ASWG
///    `Foley`) says nothing here.
pub fn file_ucs(file_name: &str, tags: &[(String, String)]) -> Option<FileUcs> {
    let name = parse_ucs(file_name);
    let tag = |key| crate::metadata::tag_ending_in(tags, key).map(str::trim);
    let from_name = |ucs: Ucs| FileUcs {
        cat_id: ucs.cat_id,
        category: ucs.category,
        subcategory: ucs.subcategory,
        fx_name: Some(ucs.fx_name),
    };
    if let Some(ucs) = name.clone().filter(|u| u.category.is_some()) {
        return Some(from_name(ucs));
    }
    let fx_name = || match &name {
        Some(ucs) => Some(ucs.fx_name.clone()),
        None => tag("FXNAME").filter(|s| !s.is_empty()).map(str::to_string),
    };
    let tag_cat_id = tag("CATID");
    let known = tag_cat_id.and_then(ucs_cat_id).or_else(|| {
        let (category, subcategory) = (tag("CATEGORY")?, tag("SUBCATEGORY")?);
        ucs_cat_id_of(category, subcategory)
    });
    if let Some(cat_id) = known {
        let (category, subcategory) = ucs_category(cat_id)?;
        return Some(FileUcs {
            cat_id: cat_id.to_string(),
            category: Some(category),
            subcategory: Some(subcategory),
            fx_name: fx_name(),
        });
    }
    if let Some(ucs) = name {
        return Some(from_name(ucs));
    }
    tag_cat_id
        .filter(|id| looks_like_cat_id(id))
        .map(|id| FileUcs {
            cat_id: id.to_string(),
            category: None,
            subcategory: None,
            fx_name: fx_name(),
        })
}

/// Number of CatIDs in the embedded UCS list.
pub const UCS_CAT_ID_COUNT: usize = CAT_IDS.len();

/// The list's entry for `cat_id`: an exact match, or a match in another
/// case for a CatID that has lower-case letters (see [`parse_ucs`]).
fn lookup(cat_id: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let index = CAT_IDS
        .binary_search_by(|(id, _, _)| {
            id.bytes()
                .map(|b| b.to_ascii_lowercase())
                .cmp(cat_id.bytes().map(|b| b.to_ascii_lowercase()))
        })
        .ok()?;
    let entry = CAT_IDS[index];
    let mixed_case = entry.0.bytes().any(|b| b.is_ascii_lowercase());
    (entry.0 == cat_id || mixed_case).then_some(entry)
}

/// Three or more ASCII capitals, then an ASCII lower-case letter or digit,
/// then ASCII letters and digits: the shape of `DOORWood` or `AMBForst`.
fn looks_like_cat_id(s: &str) -> bool {
    let capitals = s.bytes().take_while(u8::is_ascii_uppercase).count();
    let rest = &s.as_bytes()[capitals..];
    capitals >= 3
        && rest
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && rest.iter().all(u8::is_ascii_alphanumeric)
}

/// `name` without a trailing extension of a format hark reads.
fn strip_audio_extension(name: &str) -> &str {
    const EXTENSIONS: [&str; 15] = [
        "wav", "wave", "bwf", "rf64", "aif", "aiff", "aifc", "flac", "mp3", "ogg", "oga", "m4a",
        "mp4", "caf", "opus",
    ];
    match name.rsplit_once('.') {
        Some((stem, ext)) if EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)) => stem,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert_eq!(UCS_CAT_ID_COUNT, 752);
        for pair in CAT_IDS.windows(2) {
            assert!(
                pair[0].0.to_ascii_lowercase() < pair[1].0.to_ascii_lowercase(),
                "{pair:?}"
            );
        }
        for (id, category, subcategory) in CAT_IDS {
            assert_eq!(ucs_category(id), Some((category, subcategory)), "{id}");
            assert!(!category.is_empty() && !subcategory.is_empty(), "{id}");
        }
    }

    #[test]
    fn descriptions_follow_the_table() {
        let lines: Vec<&str> = DESCRIPTIONS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect();
        assert_eq!(lines.len(), UCS_CAT_ID_COUNT);
        for (line, (id, _, _)) in lines.iter().zip(CAT_IDS.iter()) {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "{line}");
            assert_eq!(fields[0], *id);
            assert!(!fields[1].is_empty(), "{id} has no explanation");
        }
        let list: Vec<UcsEntry> = ucs_list().collect();
        assert_eq!(list.len(), UCS_CAT_ID_COUNT);
        let door = list.iter().find(|e| e.cat_id == "DOORWood").unwrap();
        assert_eq!((door.category, door.subcategory), ("DOORS", "WOOD"));
        assert!(door.explanation.starts_with("Wood doors"), "{door:?}");
        assert!(door.synonyms().any(|s| s == "barn"), "{door:?}");
        assert!(list.iter().all(|e| e.synonyms().all(|s| !s.contains(','))));
    }

    #[test]
    fn cat_ids_from_tag_values() {
        assert_eq!(ucs_cat_id("DOORWood"), Some("DOORWood"));
        assert_eq!(ucs_cat_id(" doorwood "), Some("DOORWood"));
        assert_eq!(ucs_cat_id("RAIN"), Some("RAIN"));
        assert_eq!(ucs_cat_id("rain"), None);
        assert_eq!(ucs_cat_id("DOORWud"), None);
        assert_eq!(ucs_cat_id_of("DOORS", "WOOD"), Some("DOORWood"));
        assert_eq!(ucs_cat_id_of("doors", " wood"), Some("DOORWood"));
        assert_eq!(
            ucs_cat_id_of("AIRCRAFT", "RADIO CONTROLLED"),
            Some("AERORadio")
        );
        assert_eq!(ucs_cat_id_of("DOORS", "CHEESE"), None);
    }

    fn tags(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_files_category_from_its_name_then_its_tags() {
        let file = |name: &str, items: &[(&str, &str)]| file_ucs(name, &tags(items));
        let door = |fx_name: Option<&str>| {
            Some(FileUcs {
                cat_id: "DOORWood".into(),
                category: Some("DOORS"),
                subcategory: Some("WOOD"),
                fx_name: fx_name.map(str::to_string),
            })
        };
        // The name's known CatID wins over any tag.
        assert_eq!(
            file("DOORWood_Creak_JD_Lib.wav", &[("ixml.USER.CATID", "RAIN")]),
            door(Some("Creak"))
        );
        // A plain name: a CATID tag of any source, in the list's spelling.
        assert_eq!(
            file("take 7.wav", &[("ixml.USER.CATID", " doorwood ")]),
            door(None)
        );
        assert_eq!(
            file(
                "take 7.flac",
                &[("vorbis.FXNAME", "Creak"), ("vorbis.catid", "DOORWood")]
            ),
            door(Some("Creak"))
        );
        assert_eq!(
            file("take 7.mp3", &[("id3.TXXX:CATID", "DOORWood")]),
            door(None)
        );
        assert_eq!(
            file("take 7.wav", &[("ixml.ASWG.catId", "DOORWood")]),
            door(None)
        );
        // Or a CATEGORY and SUBCATEGORY pair of the list.
        assert_eq!(
            file(
                "take 7.wav",
                &[
                    ("ixml.USER.SUBCATEGORY", "wood"),
                    ("ixml.USER.CATEGORY", "Doors")
                ]
            ),
            door(None)
        );
        // A CATID the list lacks falls back to the pair.
        assert_eq!(
            file(
                "take 7.wav",
                &[
                    ("ixml.USER.CATID", "DOORWud"),
                    ("ixml.USER.CATEGORY", "DOORS"),
                    ("ixml.USER.SUBCATEGORY", "WOOD")
                ]
            ),
            door(None)
        );
        // A UCS-shaped name with a CatID the list lacks: the tags' known
        // CatID, the name's FXName; without one, the name's CatID.
        assert_eq!(
            file(
                "DOORWud_Creak_JD_Lib.wav",
                &[("ixml.USER.CATID", "DOORWood")]
            ),
            door(Some("Creak"))
        );
        assert_eq!(
            file(
                "DOORWud_Creak_JD_Lib.wav",
                &[("ixml.USER.CATID", "RAINDrip")]
            ),
            Some(FileUcs {
                cat_id: "DOORWud".into(),
                category: None,
                subcategory: None,
                fx_name: Some("Creak".into()),
            })
        );
        // A CatID-shaped tag the list lacks, with no category.
        assert_eq!(
            file(
                "take 7.wav",
                &[
                    ("ixml.USER.CATID", "RAINDrip"),
                    ("ixml.USER.FXNAME", "Gutter")
                ]
            ),
            Some(FileUcs {
                cat_id: "RAINDrip".into(),
                category: None,
                subcategory: None,
                fx_name: Some("Gutter".into()),
            })
        );
        // Nothing UCS.
        assert_eq!(file("take 7.wav", &[]), None);
        assert_eq!(file("take 7.wav", &[("ixml.USER.CATID", "nonsense")]), None);
        assert_eq!(
            file(
                "take 7.wav",
                &[
                    ("ixml.ASWG.category", "Foley"),
                    ("ixml.ASWG.subCategory", "Steps")
                ]
            ),
            None
        );
        assert_eq!(
            file("take 7.wav", &[("ixml.USER.CATEGORY", "DOORS")]),
            None,
            "a Category alone names no CatID"
        );
        assert_eq!(file("take 7.wav", &[("ixml.USER.FXNAME", "Creak")]), None);
    }

    #[test]
    fn known_cat_ids() {
        assert_eq!(ucs_category("DOORWood"), Some(("DOORS", "WOOD")));
        assert_eq!(ucs_category("GUNAuto"), Some(("GUNS", "AUTOMATIC")));
        assert_eq!(ucs_category("AEROHeli"), Some(("AIRCRAFT", "HELICOPTER")));
        assert_eq!(ucs_category("AMBForst"), Some(("AMBIENCE", "FOREST")));
        assert_eq!(ucs_category("RAIN"), Some(("RAIN", "GENERAL")));
        assert_eq!(ucs_category("doorwood"), None);
        assert_eq!(ucs_category("DOORWud"), None);
        assert_eq!(ucs_category(""), None);
    }

    #[test]
    fn parses_a_valid_name() {
        let ucs = parse_ucs("DOORWood_Creaky Open Slow_JD_MyLib.wav").unwrap();
        assert_eq!(
            ucs,
            Ucs {
                cat_id: "DOORWood".into(),
                category: Some("DOORS"),
                subcategory: Some("WOOD"),
                user_category: None,
                vendor_category: None,
                fx_name: "Creaky Open Slow".into(),
                creator_id: "JD".into(),
                source_id: "MyLib".into(),
                user_data: None,
            }
        );
        assert_eq!(parse_ucs("DOORWood_Creaky Open Slow_JD_MyLib"), Some(ucs));
    }

    #[test]
    fn parses_every_optional_block() {
        let ucs =
            parse_ucs("GUNAuto-EXT_UZI 9mm-Rapid Fire Close Up_TN_NONE_416-MKH8040_DualMono.flac")
                .unwrap();
        assert_eq!(ucs.cat_id, "GUNAuto");
        assert_eq!(
            (ucs.category, ucs.subcategory),
            (Some("GUNS"), Some("AUTOMATIC"))
        );
        assert_eq!(ucs.user_category.as_deref(), Some("EXT"));
        assert_eq!(ucs.vendor_category.as_deref(), Some("UZI 9mm"));
        assert_eq!(ucs.fx_name, "UZI 9mm-Rapid Fire Close Up");
        assert_eq!(ucs.creator_id, "TN");
        assert_eq!(ucs.source_id, "NONE");
        assert_eq!(ucs.user_data.as_deref(), Some("416-MKH8040_DualMono"));
    }

    #[test]
    fn unknown_cat_id_keeps_the_structure_without_categories() {
        let ucs = parse_ucs("DOORWud_Creak_JD_Lib").unwrap();
        assert_eq!(ucs.cat_id, "DOORWud");
        assert_eq!((ucs.category, ucs.subcategory), (None, None));
        assert_eq!(ucs.fx_name, "Creak");
        // Not shaped like a CatID: not UCS.
        assert_eq!(parse_ucs("Door_Creak_JD_Lib"), None);
        assert_eq!(parse_ucs("DOOR_Creak_JD_Lib"), None);
        assert_eq!(parse_ucs("DOOR Wood_Creak_JD_Lib"), None);
        assert_eq!(parse_ucs("DOORWood!_Creak_JD_Lib"), None);
        assert_eq!(parse_ucs("explosion_big_01_final.wav"), None);
    }

    #[test]
    fn too_few_or_empty_blocks() {
        assert_eq!(parse_ucs("DOORWood_Creak_JD"), None);
        assert_eq!(parse_ucs("DOORWood_Creak"), None);
        assert_eq!(parse_ucs("DOORWood"), None);
        assert_eq!(parse_ucs(""), None);
        assert_eq!(parse_ucs("DOORWood__JD_Lib"), None);
        assert_eq!(parse_ucs("DOORWood_Creak_ _Lib"), None);
        assert_eq!(parse_ucs("DOORWood_Creak_JD_.wav"), None);
        assert_eq!(parse_ucs("_Creak_JD_Lib"), None);
        // An empty user-data block is no user data.
        assert_eq!(parse_ucs("DOORWood_Creak_JD_Lib_").unwrap().user_data, None);
    }

    #[test]
    fn spaces_around_blocks_are_trimmed_inside_kept() {
        let ucs = parse_ucs(" DOORWood _  Creaky Open  Slow _ JD _ My Lib ").unwrap();
        assert_eq!(ucs.cat_id, "DOORWood");
        assert_eq!(ucs.fx_name, "Creaky Open  Slow");
        assert_eq!(ucs.creator_id, "JD");
        assert_eq!(ucs.source_id, "My Lib");
    }

    #[test]
    fn case_of_the_cat_id() {
        let ucs = parse_ucs("doorwood_creaky open_jd_mylib.WAV").unwrap();
        assert_eq!(ucs.cat_id, "DOORWood");
        assert_eq!(ucs.category, Some("DOORS"));
        assert_eq!(ucs.fx_name, "creaky open");
        assert_eq!(
            parse_ucs("DoorWood_Creak_JD_Lib").unwrap().cat_id,
            "DOORWood"
        );
        // All-capitals CatIDs are everyday words in lower case.
        assert_eq!(parse_ucs("rain_heavy on roof_01_take2"), None);
        let rain = parse_ucs("RAIN_Heavy On Roof_JD_Lib").unwrap();
        assert_eq!(
            (rain.category, rain.subcategory),
            (Some("RAIN"), Some("GENERAL"))
        );
    }

    #[test]
    fn only_audio_extensions_are_stripped() {
        assert_eq!(
            parse_ucs("DOORWood_Creak_JD_Vol.2").unwrap().source_id,
            "Vol.2"
        );
        assert_eq!(
            parse_ucs("DOORWood_Creak_JD_Lib.aiff").unwrap().source_id,
            "Lib"
        );
    }
}
