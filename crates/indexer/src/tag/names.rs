//! UCS names for `rename_ucs`: the name a file gets, a free one when it is
//! taken, and a rename that never replaces a file.

use std::fs;
use std::path::{Path, PathBuf};

use hark_audio::{parse_ucs, TagEdit};
use hark_store::FileRecord;

use super::{Error, Result, TagOptions};

/// The UCS name of a file (without a number for collisions) and its FXName.
pub(super) fn ucs_name(
    path: &Path,
    edit: &TagEdit,
    indexed: &FileRecord,
    options: &TagOptions,
) -> Result<(String, String)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let ucs = parse_ucs(&name);
    let tag = |key: &str| {
        indexed
            .tags
            .iter()
            .find(|(k, _)| {
                k.rsplit(['.', ':'])
                    .next()
                    .is_some_and(|l| l.eq_ignore_ascii_case(key))
            })
            .map(|(_, v)| v.clone())
    };
    let cat_id = edit
        .category
        .as_ref()
        .map(|c| c.cat_id.clone())
        .or_else(|| ucs.as_ref().map(|u| u.cat_id.clone()))
        .or_else(|| tag("CATID"))
        .ok_or_else(|| Error::NoCatId {
            path: path.to_owned(),
        })?;
    let fx_name = edit
        .fx_name
        .clone()
        .or_else(|| ucs.as_ref().map(|u| u.fx_name.clone()))
        .or_else(|| tag("FXNAME"))
        .unwrap_or_else(|| {
            Path::new(&*name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let creator = options
        .creator
        .clone()
        .or_else(|| ucs.as_ref().map(|u| u.creator_id.clone()))
        .ok_or_else(|| Error::NoCreator {
            path: path.to_owned(),
        })?;
    let source = options
        .source
        .clone()
        .or_else(|| ucs.as_ref().map(|u| u.source_id.clone()))
        .ok_or_else(|| Error::NoSource {
            path: path.to_owned(),
        })?;
    // `_` separates the blocks; a path separator or control character has no place in a name.
    let block = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c == '_' || c == '/' || c == '\\' || c.is_control() {
                    ' '
                } else {
                    c
                }
            })
            .collect::<String>()
            .trim()
            .to_string()
    };
    let (fx_name, creator, source) = (block(&fx_name), block(&creator), block(&source));
    if fx_name.is_empty() || creator.is_empty() || source.is_empty() {
        return Err(Error::EmptyBlock {
            path: path.to_owned(),
        });
    }
    let mut stem = format!("{cat_id}_{fx_name}_{creator}_{source}");
    if let Some(data) = ucs.and_then(|u| u.user_data) {
        stem.push('_');
        stem.push_str(&data);
    }
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    Ok((format!("{stem}{ext}"), fx_name))
}

/// `name` in `path`'s folder, or with ` 2`, ` 3`... after the FXName if
/// that is taken by another file.
pub(super) fn free_name(path: &Path, name: &str) -> Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let candidate = dir.join(name);
    if candidate == path || !candidate.exists() {
        return Ok(candidate);
    }
    let blocks: Vec<&str> = name.splitn(3, '_').collect();
    let [cat_id, fx, rest] = blocks[..] else {
        return Err(Error::NotUcsName {
            name: name.to_owned(),
        });
    };
    for i in 2..10_000 {
        let candidate = dir.join(format!("{cat_id}_{fx} {i}_{rest}"));
        if candidate == path || !candidate.exists() {
            return Ok(candidate);
        }
    }
    Err(Error::NoFreeName {
        name: name.to_owned(),
        dir: dir.to_owned(),
    })
}

/// Renames without replacing: a hard link where the file system has them
/// (atomic: it fails if the name is taken), else a check and a rename.
pub(super) fn rename_no_replace(from: &Path, to: &Path) -> Result<()> {
    if from == to {
        return Ok(());
    }
    let rename_error = |source| Error::Rename {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    };
    match fs::hard_link(from, to) {
        Ok(()) => fs::remove_file(from).map_err(rename_error),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::NameTaken {
            from: from.to_owned(),
            to: to.to_owned(),
            why: "appeared meanwhile",
        }),
        Err(_) => {
            if to.exists() {
                return Err(Error::NameTaken {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    why: "exists",
                });
            }
            fs::rename(from, to).map_err(rename_error)
        }
    }
}
