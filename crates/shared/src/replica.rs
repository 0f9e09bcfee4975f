//! The local replica: the index directory's ordinary SQLite catalog, kept
//! in step with a shared catalog by [`sync`], so that search, the UI and
//! the ANN cache work on local data at local speed, and go on working
//! when the server is away.
//!
//! A sync reads what changed since the replica's position
//! ([`SharedCatalog::changes_since`], streamed) and applies it in one
//! SQLite transaction with the new position: a sync cut short (the server
//! gone, the process killed) leaves the replica at its last complete
//! state. Only the roots this host mounts are copied, each file at its
//! local path (mount + path relative to the root); a change of mounts, or
//! a replica made from another catalog, starts the copy over.

use std::path::Path;
use std::time::SystemTime;

use hark_store::{meta, Catalog, RootId, Tx};

use crate::changes::{Change, Position};
use crate::error::{Error, Result};
use crate::mounts::Mounts;
use crate::SharedCatalog;

/// Local meta: the shared catalog's id (`catalog_id` in its meta).
pub const META_CATALOG: &str = "shared.catalog_id";
/// Local meta: the position the replica has read to.
pub const META_POSITION: &str = "shared.position";
/// Local meta: the mounts the replica was made for.
pub const META_MOUNTS: &str = "shared.mounts";
/// The file whose modification time is the last successful sync (touched
/// at each one, written or not: a sync that found nothing new writes no
/// catalog transaction, so readers reload nothing).
pub const STAMP_FILE: &str = "replica.stamp";

/// Shared meta keys a replica copies into its own meta (the model the
/// vectors were made with).
const COPIED_META: &[(&str, &str)] = &[
    ("model", meta::MODEL),
    ("model_name", meta::MODEL_NAME),
    ("pipeline", meta::PIPELINE),
];

/// What a [`sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// The replica started over (first sync, other mounts, another
    /// catalog, or tombstones it had not read were pruned).
    pub reset: bool,
    /// Files written (new or changed).
    pub files: u64,
    /// Vectors written.
    pub vectors: u64,
    /// Files and vectors removed.
    pub removed: u64,
    /// The position read to.
    pub position: i64,
}

impl Synced {
    /// Whether the replica changed.
    pub fn changed(&self) -> bool {
        self.reset || self.files + self.vectors + self.removed > 0
    }
}

/// Brings the replica `local` (the catalog in `index_dir`) up to date
/// with `shared`, for the roots in `mounts`. See the module docs.
///
/// # Errors
///
/// [`Error::LocalIndex`] if `local` is a local index rather than a
/// replica (nothing is written); a failed read of the shared catalog (the
/// replica is then unchanged) or a failed write of the replica.
pub fn sync(
    shared: &mut SharedCatalog,
    local: &mut Catalog,
    index_dir: &Path,
    mounts: &Mounts,
) -> Result<Synced> {
    if !is_replica(local)? && local.read(|tx| tx.has_files())? {
        return Err(Error::LocalIndex {
            dir: index_dir.to_owned(),
        });
    }
    let catalog_id = shared.meta("catalog_id")?.unwrap_or_default();
    let names = shared.roots()?;
    let mounted: Vec<(RootId, std::path::PathBuf)> = names
        .iter()
        .filter_map(|(id, name)| mounts.get(name).map(|m| (*id, m.path.clone())))
        .collect();
    let ids: Vec<RootId> = mounted.iter().map(|(id, _)| *id).collect();
    let mounts_key = serde_json::to_string(
        &mounted
            .iter()
            .map(|(id, p)| (id.0, p.to_string_lossy()))
            .collect::<Vec<_>>(),
    )
    .expect("mounts serialise");
    let same_catalog = local.meta(META_CATALOG)?.as_deref() == Some(catalog_id.as_str());
    let same_mounts = local.meta(META_MOUNTS)?.as_deref() == Some(mounts_key.as_str());
    let since = match local.meta(META_POSITION)? {
        Some(p) if same_catalog && same_mounts => Position(p.parse().unwrap_or(0)),
        _ => Position::START,
    };
    let reset = since == Position::START;
    let mut synced = Synced {
        reset,
        ..Synced::default()
    };
    let root_path = |root: RootId| {
        mounted
            .iter()
            .find(|(id, _)| *id == root)
            .map(|(_, p)| p.clone())
    };
    let put_roots = |tx: &Tx<'_>| -> Result<()> {
        tx.replica_clear()?;
        for (id, path) in &mounted {
            tx.replica_root(*id, path)?;
        }
        Ok(())
    };
    let mut pending_meta: Vec<(String, String)> = Vec::new();
    // Removed points are applied after the vectors: a changed file's
    // points are removed and written again at the same ids, and a point
    // written again needs no delete (half the writes of such a sync).
    let mut removed_points: std::collections::HashSet<hark_store::PointId> =
        std::collections::HashSet::new();
    local.transaction(|tx| -> Result<()> {
        if reset {
            put_roots(tx)?;
        }
        let next = shared.changes_since(since, &ids, &mut |change| -> Result<()> {
            match change {
                Change::Reset => {
                    synced.reset = true;
                    removed_points.clear();
                    put_roots(tx)?;
                }
                Change::Root(..) => {}
                Change::Meta(key, value) => pending_meta.push((key, value)),
                Change::RemovedFile(id) => {
                    synced.removed += tx.remove_files(&[id])? as u64;
                }
                Change::RemovedPoint(point) => {
                    removed_points.insert(point);
                }
                Change::File(id, mut record, fingerprint) => {
                    let Some(base) = root_path(record.root) else {
                        return Ok(());
                    };
                    record.path = base.join(&record.path);
                    tx.replica_file(id, &record, fingerprint.as_deref())?;
                    synced.files += 1;
                }
                Change::Vector(v) => {
                    removed_points.remove(&v.point);
                    tx.replica_point(v.point, v.span, &v.model, &v.pipeline, &v.data)?;
                    synced.vectors += 1;
                }
            }
            Ok(())
        })?;
        for point in removed_points.drain() {
            tx.replica_remove_point(point)?;
            synced.removed += 1;
        }
        synced.position = next.0;
        if synced.changed() {
            for (key, local_key) in COPIED_META {
                if let Some((_, value)) = pending_meta.iter().find(|(k, _)| k == key) {
                    tx.set_meta(local_key, value)?;
                }
            }
            tx.set_meta(META_CATALOG, &catalog_id)?;
            tx.set_meta(META_MOUNTS, &mounts_key)?;
            tx.set_meta(META_POSITION, &next.0.to_string())?;
        }
        Ok(())
    })?;
    stamp(index_dir)?;
    Ok(synced)
}

/// When the replica in `index_dir` was last brought up to date, if ever.
pub fn last_synced(index_dir: &Path) -> Option<SystemTime> {
    std::fs::metadata(index_dir.join(STAMP_FILE))
        .and_then(|m| m.modified())
        .ok()
}

/// Whether the index in `index_dir` is a replica of a shared catalog.
///
/// # Errors
///
/// A failed read of its meta data.
pub fn is_replica(local: &Catalog) -> Result<bool> {
    Ok(local.meta(META_CATALOG)?.is_some())
}

fn stamp(index_dir: &Path) -> Result<()> {
    let path = index_dir.join(STAMP_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| Error::Io {
            path: path.clone(),
            what: "write the replica stamp",
            source,
        })?;
    file.set_modified(SystemTime::now())
        .map_err(|source| Error::Io {
            path,
            what: "write the replica stamp",
            source,
        })
}

/// Brings the ANN cache of the replica in `index_dir` up to date for the
/// model its vectors were made with; `None` when it has no model yet.
///
/// # Errors
///
/// A failed read of the replica or write of the cache.
pub fn refresh_ann(
    local: &Catalog,
    index_dir: &Path,
) -> Result<Option<hark_store::ann::AnnRefresh>> {
    let (Some(model), Some(pipeline)) = (local.meta(meta::MODEL)?, local.meta(meta::PIPELINE)?)
    else {
        return Ok(None);
    };
    Ok(Some(hark_store::ann::refresh_ann(
        local, index_dir, &model, &pipeline,
    )?))
}
