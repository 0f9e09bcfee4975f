//! A file's UCS fields, the catalog's `ucs_*` columns: derived from its
//! name, else its tags ([`hark_audio::file_ucs`]), wherever the indexer
//! writes a row: a new or changed file, a moved one (so a rename never
//! leaves the old name's category behind), a retagged one. Every reader
//! of those columns (`cat:`, the UI's detail pane, the categorizer) then
//! agrees on a file's category. [`refresh`] derives them again for a
//! catalog written under another rule.

use std::path::Path;

use hark_audio::{file_ucs, FILE_UCS_RULE};
use hark_store::{meta, Catalog, FileId, UcsFields};

use crate::error::Result;

/// The UCS fields of the file at `path` with tag items `tags`.
pub(crate) fn ucs_fields(path: &Path, tags: &[(String, String)]) -> UcsFields {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    match file_ucs(&name, tags) {
        Some(ucs) => UcsFields {
            cat_id: Some(ucs.cat_id),
            category: ucs.category.map(str::to_string),
            subcategory: ucs.subcategory.map(str::to_string),
            fx_name: ucs.fx_name,
        },
        None => UcsFields::default(),
    }
}

/// Unless the catalog's UCS fields were derived by this build's rule
/// ([`meta::UCS_RULE`] is [`FILE_UCS_RULE`]), derives every file's again
/// from its path and stored tags, in one transaction with the new rule's
/// name; no file is opened and no vector touched. Returns how many files'
/// fields changed. A catalog written when only names counted (it has no
/// such key) gets the categories `hark tag` or another tool wrote into its
/// files this way, on its next `hark index`.
pub(crate) fn refresh(catalog: &mut Catalog) -> Result<usize> {
    if catalog.meta(meta::UCS_RULE)?.as_deref() == Some(FILE_UCS_RULE) {
        return Ok(0);
    }
    catalog.transaction(|tx| {
        let mut changed: Vec<(FileId, UcsFields)> = Vec::new();
        tx.ucs_sources(|source| {
            let ucs = ucs_fields(&source.path, &source.tags);
            if ucs != source.ucs {
                changed.push((source.id, ucs));
            }
        })?;
        for (id, ucs) in &changed {
            tx.set_ucs(*id, ucs)?;
        }
        tx.set_meta(meta::UCS_RULE, FILE_UCS_RULE)?;
        Ok(changed.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn from_the_name_else_the_tags_or_none() {
        let metal = ucs_fields(Path::new("/lib/Rain/RAINMetl_Gutter Drips_HK_Lib.wav"), &[]);
        assert_eq!(metal.cat_id.as_deref(), Some("RAINMetl"));
        assert_eq!(metal.category.as_deref(), Some("RAIN"));
        assert_eq!(metal.subcategory.as_deref(), Some("METAL"));
        assert_eq!(metal.fx_name.as_deref(), Some("Gutter Drips"));
        // A CatID the UCS 8.2.1 list lacks keeps its place, with no category.
        let drip = ucs_fields(Path::new("/lib/RAINDrip_Gutter Drips_HK_Lib.wav"), &[]);
        assert_eq!(drip.cat_id.as_deref(), Some("RAINDrip"));
        assert_eq!((drip.category, drip.subcategory), (None, None));
        assert_eq!(
            ucs_fields(Path::new("/lib/RAINDrip/take 7.wav"), &[]),
            UcsFields::default(),
            "the folder's name is not the file's"
        );
        let tagged = ucs_fields(
            Path::new("/lib/take 7.wav"),
            &tags(&[("ixml.USER.CATID", "DOORWood")]),
        );
        assert_eq!(
            (tagged.cat_id.as_deref(), tagged.category.as_deref()),
            (Some("DOORWood"), Some("DOORS"))
        );
    }
}
