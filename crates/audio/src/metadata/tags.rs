//! A file's tags: every item found under a source-prefixed key, the common
//! fields picked out of them, and the BWF `bext` chunk.

/// A file's tags: every item found, plus the fields search and display use
/// most, filled from the first source that has them.
///
/// Each common field lists its sources in order of preference; the keys
/// are those of [`Tags::all`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tags {
    /// Title: `ixml.USER.TRACKTITLE`, `riff.INAM`, `id3.TIT2`,
    /// `vorbis.TITLE`, `mp4.©nam`, `aiff.NAME`, `ape.Title`, `id3v1.title`,
    /// `ixml.USER.FXNAME`, `ixml.ASWG.fxName`.
    pub title: Option<String>,
    /// Description: `ixml.USER.DESCRIPTION` (library tools keep the full
    /// text there and a 256-byte cut in `bext`), `bext.Description`,
    /// `riff.ICMT`, `riff.ISBJ`, `id3.COMM`, `vorbis.DESCRIPTION`,
    /// `vorbis.COMMENT`, `mp4.©cmt`, `mp4.desc`, `aiff.ANNO`, `aiff.COMT`,
    /// `ape.Comment`, `id3v1.comment`, `ixml.NOTE` (a recordist's note).
    pub description: Option<String>,
    /// Artist or sound designer: `riff.IART`, `id3.TPE1`, `vorbis.ARTIST`,
    /// `mp4.©ART`, `aiff.AUTH`, `ape.Artist`, `id3v1.artist`,
    /// `ixml.USER.DESIGNER`.
    pub artist: Option<String>,
    /// Library or album: `ixml.USER.LIBRARY`, `ixml.ASWG.library`,
    /// `riff.IPRD`, `id3.TALB`, `vorbis.ALBUM`, `mp4.©alb`, `ape.Album`,
    /// `id3v1.album`.
    pub library: Option<String>,
    /// Genre: `riff.IGNR`, `id3.TCON`, `vorbis.GENRE`, `mp4.©gen`,
    /// `ape.Genre`, `id3v1.genre`.
    pub genre: Option<String>,
    /// Keywords: `ixml.USER.KEYWORDS`, `riff.IKEY`, `id3.TXXX:KEYWORDS`,
    /// `vorbis.KEYWORDS`, `ape.Keywords`.
    pub keywords: Option<String>,
    /// Date as written: `riff.ICRD`, `id3.TDRC`, `vorbis.DATE`, `mp4.©day`,
    /// `bext.OriginationDate`, `ape.Year`, `id3v1.year`.
    pub date: Option<String>,
    /// Copyright: `riff.ICOP`, `id3.TCOP`, `vorbis.COPYRIGHT`, `mp4.cprt`,
    /// `aiff.(c)`, `ape.Copyright`.
    pub copyright: Option<String>,
    /// Software that wrote the file: `riff.ISFT`, `id3.TSSE`,
    /// `vorbis.ENCODER`, `mp4.©too`.
    pub software: Option<String>,
    /// UCS or library category: the first item whose key ends in
    /// `CATEGORY` (after the last `.` or `:`, any case), such as
    /// `ixml.USER.CATEGORY`, `ixml.ASWG.category`, `id3.TXXX:CATEGORY`,
    /// `vorbis.CATEGORY`.
    pub category: Option<String>,
    /// Subcategory: as `category`, for `SUBCATEGORY`.
    pub subcategory: Option<String>,
    /// UCS CatID: as `category`, for `CATID`.
    pub cat_id: Option<String>,
    /// The BWF `bext` chunk, if the file has one.
    pub bext: Option<Bext>,
    /// Every tag item found, in file order, as `(key, value)` with the
    /// source in the key: `riff.ICMT`, `bext.Description`, `ixml.NOTE`,
    /// `ixml.USER.CATEGORY`, `id3.TIT2`, `id3.TXXX:Foo`, `id3.COMM`,
    /// `id3v1.title`, `vorbis.COMMENT`, `mp4.©nam`, `mp4.----:mean:name`,
    /// `ape.Title`, `aiff.NAME`. Keys repeat when the file repeats an item.
    /// Empty values, pictures and binary items are left out.
    pub all: Vec<(String, String)>,
}

/// The Broadcast Wave `bext` chunk (EBU Tech 3285).
///
/// Text fields are as stored, cut at the first NUL and trimmed; the
/// standard says ASCII, files in the wild hold UTF-8 or Windows-1252, and
/// both are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bext {
    /// Description (256 bytes in the file).
    pub description: String,
    /// Originator: the organisation or person, or the recording device (32
    /// bytes).
    pub originator: String,
    /// Originator's reference, often a unique id (32 bytes).
    pub originator_reference: String,
    /// Origination date, `yyyy-mm-dd` by the standard (10 bytes).
    pub origination_date: String,
    /// Origination time, `hh:mm:ss` by the standard (8 bytes).
    pub origination_time: String,
    /// Time reference: the first sample's position since midnight, in
    /// samples at the file's rate.
    pub time_reference: u64,
    /// BWF version (0, 1 or 2).
    pub version: u16,
    /// Coding history, free text after the fixed fields.
    pub coding_history: String,
}

impl Tags {
    /// The tags of `all` items, with the common fields picked out.
    pub(super) fn new(all: Vec<(String, String)>, bext: Option<Bext>) -> Tags {
        let first = |keys: &[&str]| {
            keys.iter().find_map(|key| {
                all.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.clone())
            })
        };
        let ending_in = |name: &str| tag_ending_in(&all, name).map(str::to_string);
        Tags {
            title: first(&[
                "ixml.USER.TRACKTITLE",
                "riff.INAM",
                "id3.TIT2",
                "vorbis.TITLE",
                "mp4.©nam",
                "aiff.NAME",
                "ape.Title",
                "id3v1.title",
                "ixml.USER.FXNAME",
                "ixml.ASWG.fxName",
            ]),
            description: first(&[
                "ixml.USER.DESCRIPTION",
                "bext.Description",
                "riff.ICMT",
                "riff.ISBJ",
                "id3.COMM",
                "vorbis.DESCRIPTION",
                "vorbis.COMMENT",
                "mp4.©cmt",
                "mp4.desc",
                "aiff.ANNO",
                "aiff.COMT",
                "ape.Comment",
                "id3v1.comment",
                "ixml.NOTE",
            ]),
            artist: first(&[
                "riff.IART",
                "id3.TPE1",
                "vorbis.ARTIST",
                "mp4.©ART",
                "aiff.AUTH",
                "ape.Artist",
                "id3v1.artist",
                "ixml.USER.DESIGNER",
            ]),
            library: first(&[
                "ixml.USER.LIBRARY",
                "ixml.ASWG.library",
                "riff.IPRD",
                "id3.TALB",
                "vorbis.ALBUM",
                "mp4.©alb",
                "ape.Album",
                "id3v1.album",
            ]),
            genre: first(&[
                "riff.IGNR",
                "id3.TCON",
                "vorbis.GENRE",
                "mp4.©gen",
                "ape.Genre",
                "id3v1.genre",
            ]),
            keywords: first(&[
                "ixml.USER.KEYWORDS",
                "riff.IKEY",
                "id3.TXXX:KEYWORDS",
                "vorbis.KEYWORDS",
                "ape.Keywords",
            ]),
            date: first(&[
                "riff.ICRD",
                "id3.TDRC",
                "vorbis.DATE",
                "mp4.©day",
                "bext.OriginationDate",
                "ape.Year",
                "id3v1.year",
            ]),
            copyright: first(&[
                "riff.ICOP",
                "id3.TCOP",
                "vorbis.COPYRIGHT",
                "mp4.cprt",
                "aiff.(c)",
                "ape.Copyright",
            ]),
            software: first(&["riff.ISFT", "id3.TSSE", "vorbis.ENCODER", "mp4.©too"]),
            category: ending_in("CATEGORY"),
            subcategory: ending_in("SUBCATEGORY"),
            cat_id: ending_in("CATID"),
            bext,
            all,
        }
    }
}

/// The value of the first item of `all` whose key's last part, after its
/// last `.` or `:`, is `name` in any case: `ixml.USER.CATID`,
/// `ixml.ASWG.catId`, `vorbis.CATID` and `id3.TXXX:CATID` all end in
/// `CATID` (and `ixml.USER.SUBCATEGORY` does not end in `CATEGORY`).
pub(crate) fn tag_ending_in<'a>(all: &'a [(String, String)], name: &str) -> Option<&'a str> {
    all.iter()
        .find(|(k, _)| {
            k.rsplit(['.', ':'])
                .next()
                .is_some_and(|last| last.eq_ignore_ascii_case(name))
        })
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_fields_follow_their_preference_order() {
        let entries = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let tags = Tags::new(
            entries(&[
                ("riff.ICMT", "from INFO"),
                ("bext.Description", "from bext"),
                ("ixml.NOTE", "a note"),
                ("VORBIS.title", "any case"),
                ("ixml.ASWG.subCategory", "WOOD"),
                ("id3.TXXX:CATEGORY", "DOORS"),
                ("ixml.USER.CATEGORYFULL", "DOORS-WOOD"),
                ("ixml.USER.CATID", "DOORWood"),
            ]),
            None,
        );
        assert_eq!(tags.description.as_deref(), Some("from bext"));
        assert_eq!(tags.title.as_deref(), Some("any case"));
        assert_eq!(tags.category.as_deref(), Some("DOORS"));
        assert_eq!(tags.subcategory.as_deref(), Some("WOOD"));
        assert_eq!(tags.cat_id.as_deref(), Some("DOORWood"));
        assert_eq!(tags.artist, None);
        assert_eq!(tags.all.len(), 8);
    }
}
