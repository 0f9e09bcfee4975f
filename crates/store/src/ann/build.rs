//! The writer's side: deciding whether the graph needs building, building
//! it with hnsw_rs, checking it for orphans, and publishing it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::{Hnsw, PointId};

use super::files::{self, Manifest, PinError, TempDump};
use super::kernel::UnitDot;
use super::{AnnParams, EXACT_THRESHOLD, REBUILD_FRACTION};
use crate::{Catalog, Error, Result};

/// hnsw_rs refuses to dump a graph with fewer layers than its maximum.
pub(super) const NB_LAYERS: usize = 16;

/// Vectors handed to one `parallel_insert_slice` call: enough to keep the
/// threads busy, small enough that the batch buffer stays a few MB.
const INSERT_BATCH: usize = 4096;

/// What [`refresh_ann`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AnnAction {
    /// There was no usable graph; one was built.
    Built,
    /// The graph was rebuilt, for the reason given.
    Rebuilt(String),
    /// The graph was current enough and was kept.
    Kept,
    /// The model has fewer than [`EXACT_THRESHOLD`] vectors, or none: the
    /// graph there was removed (readers scan exactly).
    Removed,
    /// Fewer than [`EXACT_THRESHOLD`] vectors and no graph: nothing to do.
    NotNeeded,
}

/// A report of [`refresh_ann`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnnRefresh {
    /// What was done.
    pub action: AnnAction,
    /// Vectors of the model and pipeline in the catalog.
    pub vectors: usize,
    /// Vectors in the graph now in place (0 if none).
    pub indexed: usize,
    /// Entries of the previous graph whose vector changed or went since it
    /// was built (0 if there was none usable).
    pub stale: usize,
    /// Vectors added or rewritten since the previous graph was built.
    pub delta: usize,
    /// Points of the graph now in place that no search reaches; readers
    /// scan them exactly.
    pub orphans: usize,
    /// Leftover temporary files of a killed run that were removed.
    pub leftovers_removed: usize,
    /// Generations of older graphs left on disk because a reader was
    /// loading them; the next refresh removes them.
    pub generations_busy: usize,
    /// Wall time of the whole refresh.
    pub seconds: f64,
}

/// Brings the ANN graph of `model`/`pipeline` in `index_dir` up to date
/// with the catalog: build, rebuild, keep or remove (see the module docs
/// for the rules). Serialised against other writers by a lock file; never
/// disturbs a reader. A graph that is damaged or written by another build
/// of hark is rebuilt, not an error.
pub fn refresh_ann(
    catalog: &Catalog,
    index_dir: &Path,
    model: &str,
    pipeline: &str,
) -> Result<AnnRefresh> {
    refresh_ann_with(catalog, index_dir, model, pipeline, &AnnParams::default())
}

/// [`refresh_ann`] with explicit graph parameters, for benchmarks and
/// tuning. A graph built with other parameters is kept like any other;
/// parameters matter only when a build happens.
pub fn refresh_ann_with(
    catalog: &Catalog,
    index_dir: &Path,
    model: &str,
    pipeline: &str,
    params: &AnnParams,
) -> Result<AnnRefresh> {
    let start = Instant::now();
    // hnsw_rs prints and exits the process above 256 connections.
    if !(2..=255).contains(&params.max_nb_connection) || params.ef_construction == 0 {
        return Err(Error::AnnBuild {
            path: index_dir.to_owned(),
            what: "check the graph parameters",
            cause: format!(
                "max_nb_connection {} must be 2 to 255 and ef_construction {} at least 1",
                params.max_nb_connection, params.ef_construction
            ),
        });
    }
    let _lock = files::lock_writer(index_dir)?;
    let leftovers_removed = files::remove_leftovers(index_dir)?;

    let (last_seq, _) = catalog.read(|tx| tx.seq_state())?;
    // The graph in place, if it is one this build can use, with its files
    // checked; otherwise why not.
    let (current, unusable) = match files::read_manifest(index_dir) {
        Ok(Some(m)) => match m.incompatibility() {
            Some(why) => (None, Some(why)),
            None => match files::pin_and_verify(index_dir, &m) {
                Ok(_pin) => (Some(m), None),
                Err(PinError::Gone) => (None, Some("its files are missing".to_owned())),
                Err(PinError::Bad(e)) => (None, Some(e.to_string())),
            },
        },
        Ok(None) => (None, None),
        Err(e) => (None, Some(e.to_string())),
    };
    let other_model = current
        .as_ref()
        .is_some_and(|m| m.model != model || m.pipeline != pipeline);
    let matching = current
        .as_ref()
        .filter(|m| m.model == model && m.pipeline == pipeline);

    let since = matching.map_or(last_seq, |m| m.built_seq);
    let (vectors, newer) = catalog.read(|tx| tx.count_vectors(model, pipeline, since))?;
    let (stale, delta) = match matching {
        Some(m) => {
            let unchanged = vectors - newer;
            (m.count.saturating_sub(unchanged), newer)
        }
        None => (0, 0),
    };

    let mut report = AnnRefresh {
        action: AnnAction::NotNeeded,
        vectors,
        indexed: 0,
        stale,
        delta,
        orphans: 0,
        leftovers_removed,
        generations_busy: 0,
        seconds: 0.0,
    };

    let had_files = current.is_some() || unusable.is_some();
    let keep: Option<Manifest> = if vectors < EXACT_THRESHOLD {
        if had_files {
            files::unpublish(index_dir)?;
            report.action = AnnAction::Removed;
        }
        None
    } else {
        let rebuild_reason = match (matching, &unusable) {
            (Some(m), _) => {
                let changed = stale + delta;
                (changed as f64 > REBUILD_FRACTION * m.count as f64).then(|| {
                    format!(
                        "{stale} stale and {delta} new of {} ({:.0}% > {:.0}%)",
                        m.count,
                        100.0 * changed as f64 / m.count.max(1) as f64,
                        100.0 * REBUILD_FRACTION
                    )
                })
            }
            (None, Some(why)) => Some(format!("the graph in place is unusable: {why}")),
            (None, None) if other_model => Some("the model or pipeline changed".to_owned()),
            (None, None) => None,
        };
        match (matching, rebuild_reason) {
            (Some(m), None) => {
                report.action = AnnAction::Kept;
                Some(m.clone())
            }
            (_, reason) => {
                let generation = next_generation(index_dir, current.as_ref())?;
                let manifest = build(
                    catalog, index_dir, model, pipeline, generation, params, start,
                )?;
                report.action = match reason {
                    Some(why) => AnnAction::Rebuilt(why),
                    None => AnnAction::Built,
                };
                report.vectors = manifest.count;
                Some(manifest)
            }
        }
    };

    if let Some(m) = &keep {
        report.indexed = m.count;
        report.orphans = m.orphans.len();
    }
    // Tombstones the graph in place covers are no longer needed by any
    // reader that is up to date; without a graph, readers reload in full.
    catalog.prune_tombstones(keep.as_ref().map_or(last_seq, |m| m.built_seq))?;
    report.generations_busy =
        files::retire_generations(index_dir, keep.as_ref().map(|m| m.generation))?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

fn next_generation(dir: &Path, current: Option<&Manifest>) -> Result<u64> {
    let on_disk = files::highest_generation(dir)?.unwrap_or(0);
    Ok(on_disk.max(current.map_or(0, |m| m.generation)) + 1)
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".to_owned())
}

/// A graph built in memory from one catalog snapshot.
struct Built {
    hnsw: Hnsw<'static, f32, UnitDot>,
    built_seq: i64,
    dim: usize,
    count: usize,
    /// Vectors with NaN or infinite components: kept out of the graph
    /// (they would panic its ordering) and listed with the orphans.
    non_finite: Vec<i64>,
}

/// Builds, checks, dumps and publishes generation `generation`.
fn build(
    catalog: &Catalog,
    dir: &Path,
    model: &str,
    pipeline: &str,
    generation: u64,
    params: &AnnParams,
    start: Instant,
) -> Result<Manifest> {
    let tmp = TempDump::new(dir, generation);
    tmp.create()?;
    let result = build_into(
        catalog, dir, model, pipeline, generation, params, start, &tmp,
    );
    if result.is_err() {
        tmp.discard();
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn build_into(
    catalog: &Catalog,
    dir: &Path,
    model: &str,
    pipeline: &str,
    generation: u64,
    params: &AnnParams,
    start: Instant,
    tmp: &TempDump,
) -> Result<Manifest> {
    let built = insert_all(catalog, dir, model, pipeline, params)?;
    let mut orphans = unreachable(&built.hnsw);
    orphans.extend(&built.non_finite);
    orphans.sort_unstable();

    let dumped = catch_unwind(AssertUnwindSafe(|| {
        built.hnsw.file_dump(&tmp.dir, &tmp.basename)
    }))
    .map_err(|p| Error::AnnBuild {
        path: dir.to_owned(),
        what: "write the graph",
        cause: panic_message(p),
    })?
    .map_err(|e| Error::AnnBuild {
        path: dir.to_owned(),
        what: "write the graph",
        cause: format!("{e:#}"),
    })?;
    if dumped != tmp.basename {
        return Err(Error::AnnBuild {
            path: dir.to_owned(),
            what: "write the graph",
            cause: format!("hnsw_rs wrote `{dumped}` instead of `{}`", tmp.basename),
        });
    }
    let count = built.count;
    drop(built.hnsw);

    let (mut graph, mut data) = tmp.seal()?;
    let base = files::generation_basename(generation);
    graph.name = format!("{base}.hnsw.graph");
    data.name = format!("{base}.hnsw.data");
    let manifest = Manifest {
        format: files::FORMAT,
        generation,
        model: model.to_owned(),
        pipeline: pipeline.to_owned(),
        dim: built.dim,
        count: count + built.non_finite.len(),
        built_seq: built.built_seq,
        max_nb_connection: params.max_nb_connection,
        ef_construction: params.ef_construction,
        distance: std::any::type_name::<UnitDot>().to_owned(),
        byte_order: files::byte_order().to_owned(),
        pointer_bits: usize::BITS,
        hnsw_rs: files::HNSW_RS_VERSION.to_owned(),
        orphans,
        graph,
        data,
        built_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        build_seconds: start.elapsed().as_secs_f64(),
    };
    files::publish(dir, tmp, &manifest)?;
    Ok(manifest)
}

/// Reads every vector of the model from one snapshot into a new graph,
/// in parallel batches.
fn insert_all(
    catalog: &Catalog,
    dir: &Path,
    model: &str,
    pipeline: &str,
    params: &AnnParams,
) -> Result<Built> {
    catalog.read(|tx| {
        let (built_seq, _) = tx.seq_state()?;
        let (total, _) = tx.count_vectors(model, pipeline, built_seq)?;
        let hnsw = Hnsw::<f32, UnitDot>::new(
            params.max_nb_connection,
            total.max(1),
            NB_LAYERS,
            params.ef_construction,
            UnitDot,
        );
        let mut dim: Option<usize> = None;
        let mut bad_dim: Option<(i64, usize)> = None;
        let mut non_finite = Vec::new();
        let mut ids: Vec<usize> = Vec::with_capacity(INSERT_BATCH);
        let mut batch: Vec<f32> = Vec::new();
        let mut count = 0usize;
        let mut insert_error: Option<Error> = None;
        let mut flush = |ids: &mut Vec<usize>, batch: &mut Vec<f32>, dim: usize| {
            if ids.is_empty() || insert_error.is_some() {
                return;
            }
            let items: Vec<(&[f32], usize)> =
                batch.chunks_exact(dim).zip(ids.iter().copied()).collect();
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| hnsw.parallel_insert_slice(&items))) {
                insert_error = Some(Error::AnnBuild {
                    path: dir.to_owned(),
                    what: "insert vectors",
                    cause: panic_message(p),
                });
            }
            count += ids.len();
            ids.clear();
            batch.clear();
        };
        tx.vectors(model, pipeline, |id, v| {
            let d = *dim.get_or_insert(v.len());
            if v.len() != d {
                bad_dim.get_or_insert((id.0, v.len()));
                return;
            }
            if !v.iter().all(|x| x.is_finite()) {
                non_finite.push(id.0);
                return;
            }
            ids.push(id.0 as usize);
            batch.extend_from_slice(v);
            if ids.len() == INSERT_BATCH {
                flush(&mut ids, &mut batch, d);
            }
        })?;
        if let Some((id, found)) = bad_dim {
            return Err(Error::Corrupt {
                path: tx.path.to_owned(),
                what: format!(
                    "vector {id} (of file {}) has {found} components, others of model `{model}` have {}",
                    crate::PointId(id).file().0,
                    dim.unwrap_or(0)
                ),
            });
        }
        let d = dim.unwrap_or(0);
        flush(&mut ids, &mut batch, d.max(1));
        if let Some(e) = insert_error {
            return Err(e);
        }
        let mut hnsw = hnsw;
        hnsw.set_searching_mode(true);
        Ok(Built {
            hnsw,
            built_seq,
            dim: d,
            count,
            non_finite,
        })
    })
}

/// The file ids of points no search can reach: not reached by walking
/// every layer's edges from the points of the top layer.
pub(super) fn unreachable(hnsw: &Hnsw<'_, f32, UnitDot>) -> Vec<i64> {
    let pi = hnsw.get_point_indexation();
    // Dense numbering: layer offsets, then rank within the layer.
    let mut offsets = [0usize; NB_LAYERS + 1];
    for l in 0..NB_LAYERS {
        offsets[l + 1] = offsets[l] + pi.get_layer_nb_point(l);
    }
    let total = offsets[NB_LAYERS];
    if total == 0 {
        return Vec::new();
    }
    let index = |p: PointId| -> Option<usize> {
        let (l, r) = (p.0 as usize, usize::try_from(p.1).ok()?);
        (l < NB_LAYERS && r < offsets[l + 1] - offsets[l]).then(|| offsets[l] + r)
    };
    let mut points = Vec::with_capacity(total);
    for l in 0..NB_LAYERS {
        if pi.get_layer_nb_point(l) > 0 {
            points.extend(pi.get_layer_iterator(l));
        }
    }
    let top = pi.get_max_level_observed() as usize;
    let mut seen = vec![false; total];
    let mut queue: Vec<usize> = (offsets[top]..offsets[top + 1]).collect();
    for &i in &queue {
        seen[i] = true;
    }
    while let Some(i) = queue.pop() {
        for layer in points[i].get_neighborhood_id() {
            for n in layer {
                if let Some(j) = index(n.p_id) {
                    if !seen[j] {
                        seen[j] = true;
                        queue.push(j);
                    }
                }
            }
        }
    }
    points
        .iter()
        .zip(&seen)
        .filter(|(_, seen)| !**seen)
        .map(|(p, _)| p.get_origin_id() as i64)
        .collect()
}
