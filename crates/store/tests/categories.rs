//! The category facts of the catalog's files: the UCS CatID of a name and
//! the CATID, CATEGORY and SUBCATEGORY tags of any source, failed files
//! left out; and one file's fingerprint.

use std::path::Path;

use hark_store::{Catalog, CategoryFacts, FileRecord, FileStatus};

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn names_and_tags_of_every_source_give_the_facts() {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path()).unwrap();
    let root = catalog
        .transaction(|tx| tx.add_root(Path::new("/lib")))
        .unwrap();
    let mut named = FileRecord::new(root, "/lib/DOORWood_Creak_JD_Lib.wav", 10, 1);
    named.ucs_cat_id = Some("DOORWood".into());
    named.duration_s = Some(1.5);
    named.content_hash = Some(vec![7; 32]);
    let mut ixml = FileRecord::new(root, "/lib/take 1.wav", 10, 1);
    ixml.tags = tags(&[
        ("riff.INAM", "Take 1"),
        ("ixml.USER.SUBCATEGORY", "WOOD"),
        ("ixml.USER.CATEGORYFULL", "DOORS-WOOD"),
        ("ixml.USER.CATEGORY", "DOORS"),
        ("ixml.USER.CATID", "DOORWood"),
        ("ixml.ASWG.category", "later"),
    ]);
    let mut vorbis = FileRecord::new(root, "/lib/rain.flac", 10, 1);
    vorbis.tags = tags(&[("vorbis.catid", "RAIN"), ("id3.TXXX:CATEGORY", "RAIN")]);
    // Keys that only end in the letters are not the field.
    let mut plain = FileRecord::new(root, "/lib/audio 017.wav", 10, 1);
    plain.tags = tags(&[("riff.ICMT", "CATID"), ("vorbis.MYCATID", "DOORWood")]);
    let mut failed = FileRecord::new(root, "/lib/broken.wav", 10, 1);
    failed.status = FileStatus::Failed;
    failed.ucs_cat_id = Some("DOORWood".into());
    let ids = catalog
        .transaction(|tx| {
            let ids = [&named, &ixml, &vorbis, &plain]
                .into_iter()
                .map(|r| tx.upsert_file(r))
                .collect::<hark_store::Result<Vec<_>>>()?;
            tx.upsert_file(&failed)?;
            tx.set_fingerprint(ids[1], &[1, 2, 3])?;
            Ok::<_, hark_store::Error>(ids)
        })
        .unwrap();

    let mut facts = Vec::new();
    catalog.category_facts(|f| facts.push(f)).unwrap();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        facts,
        [
            CategoryFacts {
                id: ids[0],
                path: "/lib/DOORWood_Creak_JD_Lib.wav".into(),
                duration_s: Some(1.5),
                content_hash: Some(vec![7; 32]),
                name_cat_id: s("DOORWood"),
                tag_cat_id: None,
                tag_category: None,
                tag_subcategory: None,
            },
            CategoryFacts {
                id: ids[1],
                path: "/lib/take 1.wav".into(),
                duration_s: None,
                content_hash: None,
                name_cat_id: None,
                tag_cat_id: s("DOORWood"),
                tag_category: s("DOORS"),
                tag_subcategory: s("WOOD"),
            },
            CategoryFacts {
                id: ids[2],
                path: "/lib/rain.flac".into(),
                duration_s: None,
                content_hash: None,
                name_cat_id: None,
                tag_cat_id: s("RAIN"),
                tag_category: s("RAIN"),
                tag_subcategory: None,
            },
            CategoryFacts {
                id: ids[3],
                path: "/lib/audio 017.wav".into(),
                duration_s: None,
                content_hash: None,
                name_cat_id: None,
                tag_cat_id: None,
                tag_category: None,
                tag_subcategory: None,
            },
        ]
    );

    assert_eq!(catalog.fingerprint(ids[1]).unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(catalog.fingerprint(ids[0]).unwrap(), None);
}
