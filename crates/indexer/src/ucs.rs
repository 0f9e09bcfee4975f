//! A file's UCS fields, the catalog's `ucs_*` columns: derived from its
//! name ([`hark_audio::parse_ucs`]) wherever the indexer writes a row, a
//! moved file's too, so that a rename never leaves the old name's category
//! behind.

use std::path::Path;

use hark_audio::parse_ucs;
use hark_store::UcsFields;

/// The UCS fields of the file at `path`: its name's, or none.
pub(crate) fn ucs_fields(path: &Path) -> UcsFields {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    match parse_ucs(&name) {
        Some(ucs) => UcsFields {
            cat_id: Some(ucs.cat_id),
            category: ucs.category.map(str::to_string),
            subcategory: ucs.subcategory.map(str::to_string),
            fx_name: Some(ucs.fx_name),
        },
        None => UcsFields::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_the_name_or_none() {
        let metal = ucs_fields(Path::new("/lib/Rain/RAINMetl_Gutter Drips_HK_Lib.wav"));
        assert_eq!(metal.cat_id.as_deref(), Some("RAINMetl"));
        assert_eq!(metal.category.as_deref(), Some("RAIN"));
        assert_eq!(metal.subcategory.as_deref(), Some("METAL"));
        assert_eq!(metal.fx_name.as_deref(), Some("Gutter Drips"));
        // A CatID the UCS 8.2.1 list lacks keeps its place, with no category.
        let drip = ucs_fields(Path::new("/lib/RAINDrip_Gutter Drips_HK_Lib.wav"));
        assert_eq!(drip.cat_id.as_deref(), Some("RAINDrip"));
        assert_eq!((drip.category, drip.subcategory), (None, None));
        assert_eq!(
            ucs_fields(Path::new("/lib/RAINDrip/take 7.wav")),
            UcsFields::default(),
            "the folder's name is not the file's"
        );
    }
}
