//! The writer's side: deciding whether the graph needs building, building
//! it with hnsw_rs, checking it for orphans, and publishing it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use std::sync::Arc;

use hnsw_rs::hnsw::{Hnsw, Point, PointId};

use super::files::{self, GraphSum, Manifest, PinError, TempGraph};
use super::graph::{write_file, Csr, Graph, MappedGraph};
use super::kernel::UnitDot;
use super::params::{AnnParams, EXACT_THRESHOLD, REBUILD_FRACTION};
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
            None => match files::pin_and_map(index_dir, &m) {
                Ok(_graph) => (Some(m), None),
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

/// Builds, checks, exports and publishes generation `generation`.
fn build(
    catalog: &Catalog,
    dir: &Path,
    model: &str,
    pipeline: &str,
    generation: u64,
    params: &AnnParams,
    start: Instant,
) -> Result<Manifest> {
    let tmp = TempGraph::new(dir, generation);
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
    tmp: &TempGraph,
) -> Result<Manifest> {
    let built = insert_all(catalog, dir, model, pipeline, params)?;
    let (graph, points) = export(&built.hnsw);
    if graph.ids.len() != built.count {
        return Err(Error::AnnBuild {
            path: dir.to_owned(),
            what: "export the graph",
            cause: format!(
                "hnsw_rs holds {} points, {} were inserted",
                graph.ids.len(),
                built.count
            ),
        });
    }
    let mut orphans: Vec<i64> = graph.ids[graph.reachable..].to_vec();
    orphans.extend(&built.non_finite);
    orphans.sort_unstable();

    // hnsw_rs's own dump is not written: readers map hark's file, and a
    // rebuild always starts from the catalog.
    let written = write_file(&tmp.path, &graph, built.dim, |i| points[i].get_v()).map_err(|e| {
        Error::AnnIo {
            path: tmp.path.clone(),
            what: "write the graph file",
            source: e,
        }
    })?;
    drop(points);
    drop(built.hnsw);
    // Never publish a file the reader would refuse.
    let file = std::fs::File::open(&tmp.path).map_err(|e| Error::AnnIo {
        path: tmp.path.clone(),
        what: "open the graph file written",
        source: e,
    })?;
    MappedGraph::open(&file, &tmp.path, &written, built.dim)?;

    let manifest = Manifest {
        format: files::FORMAT,
        generation,
        model: model.to_owned(),
        pipeline: pipeline.to_owned(),
        dim: built.dim,
        count: graph.ids.len() + built.non_finite.len(),
        built_seq: built.built_seq,
        max_nb_connection: params.max_nb_connection,
        ef_construction: params.ef_construction,
        hnsw_rs: files::HNSW_RS_VERSION.to_owned(),
        orphans,
        graph: GraphSum {
            name: files::graph_name(generation),
            bytes: written.bytes,
            hashed_bytes: written.hashed_bytes,
            blake3: written.blake3,
        },
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

/// How many of each point's nearest level-0 neighbours get an edge back
/// to it in the exported graph (see [`Graph::add_reverse_edges`]).
const REVERSE_EDGES: usize = 16;

/// The graph hnsw_rs built, in hark's file terms: points ordered by
/// catalog id, reachable ones first (see [`Graph::orphans_last`]),
/// with each level's neighbour lists as CSR rows of point indices. Returns
/// it with the points in the same order, for their vectors.
///
/// The entry point is the first point hnsw_rs placed on its top layer (its
/// own entry point is not public; any top-layer point serves, and the
/// orphans are computed from the one chosen).
///
/// A point is on the levels up to its own. hnsw_rs also keeps lists on the
/// levels above a point's own, which its searches never read, and can name
/// on a level a point below it: its entry point of the time, when the
/// first points of a higher level were inserted (a few dozen edges in a
/// graph). Both are left out, so every neighbour on a level is a point of
/// that level.
pub(super) fn export<'h, 'b>(
    hnsw: &'h Hnsw<'b, f32, UnitDot>,
) -> (Graph, Vec<Arc<Point<'b, f32>>>) {
    let pi = hnsw.get_point_indexation();
    let mut points: Vec<Arc<Point<'b, f32>>> = Vec::with_capacity(pi.get_nb_point());
    for l in 0..NB_LAYERS {
        if pi.get_layer_nb_point(l) > 0 {
            points.extend(pi.get_layer_iterator(l));
        }
    }
    points.sort_unstable_by_key(|p| p.get_origin_id());
    let n = points.len();
    // hnsw_rs names a point by (layer, rank in layer): a dense numbering of
    // those, then a table to the point's index in id order.
    let mut layer_start = [0usize; NB_LAYERS + 1];
    for l in 0..NB_LAYERS {
        layer_start[l + 1] = layer_start[l] + pi.get_layer_nb_point(l);
    }
    let mut index_of = vec![u32::MAX; layer_start[NB_LAYERS]];
    let slot = |p: PointId| -> Option<usize> {
        let (l, r) = (p.0 as usize, usize::try_from(p.1).ok()?);
        (l < NB_LAYERS && r < layer_start[l + 1] - layer_start[l]).then(|| layer_start[l] + r)
    };
    for (i, p) in points.iter().enumerate() {
        if let Some(s) = slot(p.get_point_id()) {
            index_of[s] = i as u32;
        }
    }
    let level_of = |i: usize| points[i].get_point_id().0 as usize;
    let levels = (0..n).map(level_of).max().map_or(1, |top| top + 1);
    let mut graph = Graph {
        ids: points.iter().map(|p| p.get_origin_id() as i64).collect(),
        reachable: n,
        entry: 0,
        levels: vec![Csr::default(); levels],
    };
    for (l, csr) in graph.levels.iter_mut().enumerate() {
        csr.offsets.push(0);
        if l > 0 {
            csr.members = (0..n as u32)
                .filter(|&i| level_of(i as usize) >= l)
                .collect();
        }
    }
    for (i, p) in points.iter().enumerate() {
        let top = level_of(i);
        for (l, list) in p.get_neighborhood_id().into_iter().enumerate() {
            if l > top || l >= levels {
                continue;
            }
            let csr = &mut graph.levels[l];
            // Only neighbours that exist and are on this level (all of
            // them, in a sound hnsw_rs graph).
            csr.neighbours.extend(
                list.iter()
                    .filter_map(|nb| slot(nb.p_id).map(|s| index_of[s]))
                    .filter(|&j| j != u32::MAX && level_of(j as usize) >= l),
            );
        }
        for csr in &mut graph.levels[..=top.min(levels - 1)] {
            csr.offsets.push(csr.neighbours.len() as u32);
        }
    }
    graph.entry = index_of
        .get(layer_start[levels - 1])
        .copied()
        .filter(|&i| i != u32::MAX)
        .unwrap_or(0);
    graph.add_reverse_edges(REVERSE_EDGES);
    let reached = graph.reached();
    let order = graph.orphans_last(&reached);
    let points = order
        .iter()
        .map(|&old| Arc::clone(&points[old as usize]))
        .collect();
    (graph, points)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::ann::files::GraphSum;

    /// hnsw_rs's graph and the exported, written and mapped one agree:
    /// same ids, vectors and neighbour lists on every level, and the
    /// orphans at the end are exactly the points the walk cannot reach.
    #[test]
    fn export_write_and_map_round_trip() {
        let (n, dim) = (3000, 16);
        let mut rng = StdRng::seed_from_u64(7);
        let data: Vec<Vec<f32>> = (0..n)
            .map(|_| {
                let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / norm).collect()
            })
            .collect();
        // Ids with gaps, inserted out of order.
        let ids: Vec<usize> = (0..n).map(|i| (i * 7919) % n * 3 + 5).collect();
        let hnsw = Hnsw::<f32, UnitDot>::new(8, n, NB_LAYERS, 40, UnitDot);
        let items: Vec<(&[f32], usize)> = data
            .iter()
            .map(|v| &v[..])
            .zip(ids.iter().copied())
            .collect();
        hnsw.parallel_insert_slice(&items);

        let (graph, points) = export(&hnsw);
        assert_eq!(graph.ids.len(), n);
        assert!(graph.levels.len() > 1, "a graph this size has upper levels");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.graph");
        let written = write_file(&path, &graph, dim, |i| points[i].get_v()).unwrap();
        let sum = GraphSum {
            name: String::new(),
            bytes: written.bytes,
            hashed_bytes: written.hashed_bytes,
            blake3: written.blake3,
        };
        let file = std::fs::File::open(&path).unwrap();
        let mapped = MappedGraph::open(&file, &path, &sum.written(), dim).unwrap();
        assert_eq!(mapped.to_graph(), graph);

        // The same points and vectors as hnsw_rs holds, by id.
        let by_id: HashMap<i64, &[f32]> = ids
            .iter()
            .zip(&data)
            .map(|(&id, v)| (id as i64, &v[..]))
            .collect();
        let mut seen = HashSet::new();
        for (i, &id) in mapped.ids().iter().enumerate() {
            assert!(seen.insert(id));
            assert_eq!(mapped.vector(i), Some(by_id[&id]));
            assert_eq!(mapped.find(id), Some(i));
        }
        assert_eq!(seen.len(), n);

        // The same neighbour lists, level by level, as ids.
        let pi = hnsw.get_point_indexation();
        let mut hnsw_points = Vec::new();
        for l in 0..NB_LAYERS {
            if pi.get_layer_nb_point(l) > 0 {
                hnsw_points.extend(pi.get_layer_iterator(l));
            }
        }
        let level_of: HashMap<i64, usize> = hnsw_points
            .iter()
            .map(|p| (p.get_origin_id() as i64, p.get_point_id().0 as usize))
            .collect();
        // The reverse edges the export adds on level 0, in id order.
        let mut by_id: Vec<&Arc<Point<'_, f32>>> = hnsw_points.iter().collect();
        by_id.sort_unstable_by_key(|p| p.get_origin_id());
        let level0 = |p: &Point<'_, f32>| -> Vec<i64> {
            p.get_neighborhood_id()[0]
                .iter()
                .map(|nb| nb.d_id as i64)
                .collect()
        };
        let lists0: HashMap<i64, Vec<i64>> = by_id
            .iter()
            .map(|p| (p.get_origin_id() as i64, level0(p)))
            .collect();
        let mut reverse: HashMap<i64, Vec<i64>> = HashMap::new();
        for p in &by_id {
            let id = p.get_origin_id() as i64;
            for q in lists0[&id].iter().take(REVERSE_EDGES) {
                if *q != id && !lists0[q].contains(&id) {
                    reverse.entry(*q).or_default().push(id);
                }
            }
        }
        let (mut edges, mut dropped) = (0, 0);
        for p in &hnsw_points {
            let i = mapped.find(p.get_origin_id() as i64).unwrap() as u32;
            let level = p.get_point_id().0 as usize;
            for (l, list) in p.get_neighborhood_id().iter().enumerate().take(level + 1) {
                let all: Vec<i64> = list.iter().map(|nb| nb.d_id as i64).collect();
                let mut want: Vec<i64> =
                    all.iter().copied().filter(|id| level_of[id] >= l).collect();
                dropped += all.len() - want.len();
                if l == 0 {
                    let id = p.get_origin_id() as i64;
                    want.extend(reverse.get(&id).into_iter().flatten().copied());
                }
                let csr = &graph.levels[l];
                let row = if l == 0 {
                    i as usize
                } else {
                    csr.members.binary_search(&i).unwrap()
                };
                let got: Vec<i64> = csr.neighbours
                    [csr.offsets[row] as usize..csr.offsets[row + 1] as usize]
                    .iter()
                    .map(|&j| graph.ids[j as usize])
                    .collect();
                assert_eq!(got, want, "point {} level {l}", p.get_origin_id());
                edges += got.len();
            }
        }
        assert_eq!(
            edges,
            graph
                .levels
                .iter()
                .map(|l| l.neighbours.len())
                .sum::<usize>()
        );
        // Only edges to the first points inserted are off their level.
        assert!(dropped <= 64, "{dropped} edges dropped of {edges}");
        assert!(
            !reverse.is_empty(),
            "no reverse edge was needed: the test shows nothing"
        );

        // Reachability, recomputed from hnsw_rs's lists by id: the points
        // before `reachable` are exactly those reached from the entry.
        let level_of = &level_of;
        let lists: HashMap<i64, Vec<i64>> = hnsw_points
            .iter()
            .map(|p| {
                let level = p.get_point_id().0 as usize;
                let on_level = p
                    .get_neighborhood_id()
                    .into_iter()
                    .enumerate()
                    .take(level + 1)
                    .flat_map(|(l, list)| {
                        list.into_iter()
                            .map(|nb| nb.d_id as i64)
                            .filter(move |id| level_of[id] >= l)
                    });
                let id = p.get_origin_id() as i64;
                let back = reverse.get(&id).into_iter().flatten().copied();
                (id, on_level.chain(back).collect())
            })
            .collect();
        let entry = graph.ids[graph.entry as usize];
        let mut reached = HashSet::from([entry]);
        let mut stack = vec![entry];
        while let Some(id) = stack.pop() {
            for &nb in &lists[&id] {
                if reached.insert(nb) {
                    stack.push(nb);
                }
            }
        }
        let file_reached: HashSet<i64> = graph.ids[..graph.reachable].iter().copied().collect();
        assert_eq!(file_reached, reached);
        assert!(graph.ids[..graph.reachable].windows(2).all(|w| w[0] < w[1]));
        assert!(graph.ids[graph.reachable..].windows(2).all(|w| w[0] < w[1]));

        // And the mapped search finds each point from its own vector.
        let mut found = 0;
        for i in (0..graph.reachable).step_by(30) {
            let hits = mapped.search(mapped.vector(i).unwrap(), 1, 32);
            found += usize::from(hits.first().map(|h| h.0) == Some(i));
        }
        assert!(found * 100 >= 99 * graph.reachable.div_ceil(30), "{found}");
    }
}
