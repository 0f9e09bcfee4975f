//! The reader's side: [`VectorSearcher`].
//!
//! The searcher's state is a *base* that covers the catalog's vectors up to
//! a sequence number — the graph when one is in place and matches, else a
//! contiguous matrix — plus the *delta* (vectors numbered after the base,
//! in a small matrix scanned exactly) and the *stale* set (base entries
//! whose vector changed or went since). A reload after new commits reads
//! only what changed since the base; a new graph, or pruned tombstones the
//! base would need, make it load the base again.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hnsw_rs::hnsw::{Hnsw, Point};
use hnsw_rs::hnswio::HnswIo;

use super::build::NB_LAYERS;
use super::files::{self, FileIdentity, Manifest, PinError};
use super::kernel::{dot, dot_rows, TopK};
use super::{EF_SEARCH, EXACT_THRESHOLD, REBUILD_FRACTION};
use crate::{Catalog, Error, FileId, PointId, Result};

/// Rows scored per call of the block kernel in an exact scan.
const SCAN_BLOCK: usize = 256;

/// How many candidates a filtered graph search may ask for before giving
/// up on the graph and scanning the allowed vectors exactly (it gives up
/// sooner when the predicate seems to pass at most EXACT_THRESHOLD).
const MAX_CANDIDATES: usize = 4096;

/// How many times a load retries when a writer replaces the graph under it.
const LOAD_ATTEMPTS: usize = 3;

/// How a [`VectorSearcher`] answers queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// An exact scan of every vector.
    Exact,
    /// The ANN graph, plus an exact scan of what is newer than it.
    Ann,
}

/// Top-k nearest vectors of one model and pipeline, from the ANN graph
/// beside the catalog when there is a usable one and the model has at
/// least [`EXACT_THRESHOLD`](super::EXACT_THRESHOLD) vectors, else by an
/// exact scan. Scores are cosines (dot products of unit vectors).
///
/// It keeps its own read-only connection to the catalog, so it can be
/// kept for the life of a UI and refreshed with
/// [`reload_if_changed`](Self::reload_if_changed). `Send` and `Sync`:
/// searches may run from several threads at once.
pub struct VectorSearcher {
    dir: PathBuf,
    model: String,
    pipeline: String,
    catalog: Mutex<Catalog>,
    data_version: i64,
    manifest_id: Option<FileIdentity>,
    state: State,
    ef_search: usize,
    problem: Option<String>,
}

struct State {
    base: Base,
    /// The base holds every vector of the model numbered up to this.
    base_seq: i64,
    /// Base entries not to return: their vector changed or went.
    stale: HashSet<i64>,
    /// Vectors numbered after `base_seq`.
    delta: Matrix,
    dim: usize,
}

enum Base {
    Flat(Matrix),
    Graph(Box<Graph>),
}

/// Vectors in a contiguous row-major matrix, ids ascending.
#[derive(Default)]
struct Matrix {
    ids: Vec<i64>,
    data: Vec<f32>,
    dim: usize,
}

impl Matrix {
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    fn find(&self, id: i64) -> Option<&[f32]> {
        self.ids.binary_search(&id).ok().map(|i| self.row(i))
    }

    fn push(&mut self, id: i64, v: &[f32]) {
        self.ids.push(id);
        self.data.extend_from_slice(v);
    }

    /// Sorts by id after pushes in another order.
    fn sort(&mut self) {
        if self.ids.windows(2).all(|w| w[0] < w[1]) {
            return;
        }
        let mut order: Vec<usize> = (0..self.ids.len()).collect();
        order.sort_unstable_by_key(|&i| self.ids[i]);
        let mut sorted = Matrix {
            ids: Vec::with_capacity(self.ids.len()),
            data: Vec::with_capacity(self.data.len()),
            dim: self.dim,
        };
        for i in order {
            sorted.push(self.ids[i], self.row(i));
        }
        *self = sorted;
    }

    /// Exact top-k of the rows, skipping `skip`ped and disallowed ids.
    fn scan(
        &self,
        q: &[f32],
        top: &mut TopK,
        skip: impl Fn(i64) -> bool,
        allow: Option<&dyn Fn(FileId) -> bool>,
    ) {
        if self.dim == 0 {
            return;
        }
        let mut scores = [0f32; SCAN_BLOCK];
        for (block, ids) in self
            .data
            .chunks(SCAN_BLOCK * self.dim)
            .zip(self.ids.chunks(SCAN_BLOCK))
        {
            let scores = &mut scores[..ids.len()];
            dot_rows(q, block, scores);
            for (&id, &score) in ids.iter().zip(scores.iter()) {
                consider(top, id, score, &skip, allow);
            }
        }
    }
}

/// Offers one scored id: the cheap score test first, then the caller's
/// predicate only for ids that would enter.
#[inline]
fn consider(
    top: &mut TopK,
    id: i64,
    score: f32,
    skip: &impl Fn(i64) -> bool,
    allow: Option<&dyn Fn(FileId) -> bool>,
) {
    if score.is_nan() || !top.admits(score) || skip(id) {
        return;
    }
    if allow.is_none_or(|f| f(PointId(id).file())) {
        top.push(id, score);
    }
}

/// A loaded graph. hnsw_rs ties a loaded graph's lifetime to its loader,
/// so the two live in one self-referential cell.
struct Graph {
    cell: LoadedGraph,
    manifest: Manifest,
    /// The orphans' vectors, copied into one matrix: they are scanned on
    /// every query, and a contiguous scan is several times faster than
    /// visiting hnsw_rs's separately allocated points.
    orphans: Matrix,
}

/// The graph and its points sorted by file id (for exact scoring of hits,
/// the orphans, filtered fallbacks and [`VectorSearcher::vector`]).
struct GraphRefs<'a> {
    hnsw: Hnsw<'a, f32, super::UnitDot>,
    points: Vec<Arc<Point<'a, f32>>>,
}

impl GraphRefs<'_> {
    fn find(&self, id: i64) -> Option<&[f32]> {
        let id = usize::try_from(id).ok()?;
        self.points
            .binary_search_by_key(&id, |p| p.get_origin_id())
            .ok()
            .map(|i| self.points[i].get_v())
    }
}

self_cell::self_cell!(
    struct LoadedGraph {
        owner: HnswIo,
        #[not_covariant]
        dependent: GraphRefs,
    }
);

impl Graph {
    fn contains(&self, id: i64) -> bool {
        self.cell.with_dependent(|_, g| g.find(id).is_some())
    }
}

/// Loads and checks the graph a manifest names. The caller has pinned and
/// verified the files.
fn load_graph(dir: &Path, manifest: &Manifest) -> Result<Graph> {
    let path = dir.join(&manifest.graph.name);
    let bad = |what: String| Error::AnnCorrupt {
        path: path.clone(),
        what,
    };
    let io = HnswIo::new(dir, &manifest.basename());
    let cell = LoadedGraph::try_new(io, |io| -> Result<GraphRefs<'_>> {
        let hnsw = catch_unwind(AssertUnwindSafe(|| {
            io.load_hnsw_with_dist::<f32, super::UnitDot>(super::UnitDot)
        }))
        .map_err(|p| bad(format!("hnsw_rs panicked loading it: {}", panic_text(&p))))?
        .map_err(|e| bad(format!("hnsw_rs could not load it: {e:#}")))?;
        let pi = hnsw.get_point_indexation();
        let mut points = Vec::with_capacity(hnsw.get_nb_point());
        for l in 0..NB_LAYERS {
            if pi.get_layer_nb_point(l) > 0 {
                points.extend(pi.get_layer_iterator(l));
            }
        }
        points.sort_unstable_by_key(|p| p.get_origin_id());
        Ok(GraphRefs { hnsw, points })
    })?;
    let (n, dims_ok, unique) = cell.with_dependent(|_, g| {
        (
            g.points.len(),
            g.points.iter().all(|p| p.get_v().len() == manifest.dim),
            g.points
                .windows(2)
                .all(|w| w[0].get_origin_id() < w[1].get_origin_id()),
        )
    });
    let non_finite = manifest.count.saturating_sub(n);
    if n > manifest.count || !dims_ok || !unique || non_finite > manifest.orphans.len() {
        return Err(bad(format!(
            "holds {n} points (manifest: {}) of dimension {} or with repeated ids",
            manifest.count, manifest.dim
        )));
    }
    let mut orphans = Matrix {
        dim: manifest.dim,
        ..Matrix::default()
    };
    cell.with_dependent(|_, g| {
        for &id in &manifest.orphans {
            if let Some(v) = g.find(id) {
                orphans.push(id, v);
            }
        }
    });
    orphans.sort();
    Ok(Graph {
        cell,
        manifest: manifest.clone(),
        orphans,
    })
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// A graph that can be used, or why not.
enum GraphLoad {
    None,
    Loaded(Box<Graph>),
    Unusable(String),
    Retry,
}

fn try_graph(dir: &Path, model: &str, pipeline: &str) -> GraphLoad {
    let manifest = match files::read_manifest(dir) {
        Ok(Some(m)) => m,
        Ok(None) => return GraphLoad::None,
        Err(e) => return GraphLoad::Unusable(e.to_string()),
    };
    if manifest.model != model || manifest.pipeline != pipeline {
        // A graph of another model is not a problem, just not ours.
        return GraphLoad::None;
    }
    if let Some(why) = manifest.incompatibility() {
        return GraphLoad::Unusable(format!("ANN cache in `{}`: {why}", dir.display()));
    }
    let pin = match files::pin_and_verify(dir, &manifest) {
        Ok(pin) => pin,
        Err(PinError::Gone) => return GraphLoad::Retry,
        Err(PinError::Bad(e)) => return GraphLoad::Unusable(e.to_string()),
    };
    let loaded = load_graph(dir, &manifest);
    drop(pin);
    match loaded {
        Ok(g) => GraphLoad::Loaded(Box::new(g)),
        Err(e) => GraphLoad::Unusable(e.to_string()),
    }
}

impl VectorSearcher {
    /// Opens a searcher over the vectors `model` made under `pipeline` in
    /// `catalog`, with the ANN graph in `index_dir` if there is a usable
    /// one. A damaged graph is not an error: the searcher scans exactly
    /// and [`ann_problem`](Self::ann_problem) says why (the next
    /// `hark index` rebuilds it).
    pub fn open(
        catalog: &Catalog,
        index_dir: &Path,
        model: &str,
        pipeline: &str,
    ) -> Result<VectorSearcher> {
        let catalog_dir = catalog.path().parent().unwrap_or(Path::new("."));
        let own = Catalog::open_readonly(catalog_dir)?;
        let data_version = own.data_version()?;
        let mut searcher = VectorSearcher {
            dir: index_dir.to_owned(),
            model: model.to_owned(),
            pipeline: pipeline.to_owned(),
            catalog: Mutex::new(own),
            data_version,
            manifest_id: None,
            state: State {
                base: Base::Flat(Matrix::default()),
                base_seq: 0,
                stale: HashSet::new(),
                delta: Matrix::default(),
                dim: 0,
            },
            ef_search: EF_SEARCH,
            problem: None,
        };
        searcher.load()?;
        Ok(searcher)
    }

    fn catalog(&self) -> std::sync::MutexGuard<'_, Catalog> {
        // A panic while holding the lock leaves the connection as usable
        // as before: it holds no transaction between calls.
        self.catalog.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads the base again: the graph if usable, else every vector.
    fn load(&mut self) -> Result<()> {
        for _ in 0..LOAD_ATTEMPTS {
            let manifest_id = files::manifest_identity(&self.dir);
            let (graph, problem) = match try_graph(&self.dir, &self.model, &self.pipeline) {
                GraphLoad::Retry => continue,
                GraphLoad::None => (None, None),
                GraphLoad::Loaded(g) => (Some(g), None),
                GraphLoad::Unusable(why) => (None, Some(why)),
            };
            let catalog = self.catalog.get_mut().unwrap_or_else(|e| e.into_inner());
            let (model, pipeline) = (&self.model, &self.pipeline);
            let loaded = catalog.read(|tx| -> Result<Option<State>> {
                let (last, pruned) = tx.seq_state()?;
                if let Some(graph) = graph {
                    let built = graph.manifest.built_seq;
                    if pruned > built {
                        // A newer graph replaced this one meanwhile.
                        return Ok(None);
                    }
                    let (total, _) = tx.count_vectors(model, pipeline, built)?;
                    if total >= EXACT_THRESHOLD {
                        let mut state = State {
                            dim: graph.manifest.dim,
                            base: Base::Graph(graph),
                            base_seq: built,
                            stale: HashSet::new(),
                            delta: Matrix::default(),
                        };
                        state.read_changes(tx, model, pipeline)?;
                        return Ok(Some(state));
                    }
                }
                let mut matrix = Matrix::default();
                let mut bad_dim = None;
                tx.vectors(model, pipeline, |id, v| {
                    if matrix.ids.is_empty() {
                        matrix.dim = v.len();
                    }
                    if v.len() == matrix.dim {
                        matrix.push(id.0, v);
                    } else {
                        bad_dim.get_or_insert((id.0, v.len()));
                    }
                })?;
                if let Some((id, found)) = bad_dim {
                    return Err(mixed_dims(tx.path, id, found, matrix.dim, model));
                }
                Ok(Some(State {
                    dim: matrix.dim,
                    base: Base::Flat(matrix),
                    base_seq: last,
                    stale: HashSet::new(),
                    delta: Matrix::default(),
                }))
            })?;
            if let Some(state) = loaded {
                self.state = state;
                self.manifest_id = manifest_id;
                self.problem = problem;
                return Ok(());
            }
        }
        Err(Error::AnnCorrupt {
            path: self.dir.join(files::MANIFEST),
            what: format!("the ANN cache changed under {LOAD_ATTEMPTS} load attempts in a row"),
        })
    }

    /// Re-reads the catalog and the ANN cache if either changed since the
    /// last load: cheap when nothing did (a stat and a pragma). Returns
    /// whether anything was reloaded. A new graph is loaded whole; new and
    /// changed vectors are read incrementally.
    pub fn reload_if_changed(&mut self) -> Result<bool> {
        let manifest_id = files::manifest_identity(&self.dir);
        let data_version = self.catalog().data_version()?;
        if manifest_id != self.manifest_id {
            self.data_version = data_version;
            self.load()?;
            return Ok(true);
        }
        if data_version == self.data_version {
            return Ok(false);
        }
        self.data_version = data_version;
        let (model, pipeline) = (self.model.clone(), self.pipeline.clone());
        let catalog = self.catalog.get_mut().unwrap_or_else(|e| e.into_inner());
        let state = &mut self.state;
        let full = catalog.read(|tx| -> Result<bool> {
            let (_, pruned) = tx.seq_state()?;
            if pruned > state.base_seq {
                return Ok(true);
            }
            state.read_changes(tx, &model, &pipeline)?;
            let base = state.base_len();
            let changed = state.stale.len() + state.delta.ids.len();
            // A matrix base is cheap to reload: do it once changes pile up.
            // A graph is replaced by the writer's refresh instead.
            Ok(matches!(state.base, Base::Flat(_))
                && changed as f64 > REBUILD_FRACTION * base.max(1) as f64)
        })?;
        if full {
            self.load()?;
        }
        Ok(true)
    }

    /// How queries are answered now.
    pub fn mode(&self) -> SearchMode {
        match self.state.base {
            Base::Flat(_) => SearchMode::Exact,
            Base::Graph(_) => SearchMode::Ann,
        }
    }

    /// Why an ANN graph in the index directory is not used, if one is
    /// there for this model but damaged or unreadable (the next
    /// `hark index` rebuilds it; search scans exactly meanwhile).
    pub fn ann_problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Sets the graph search's candidate list (at least k is always used).
    /// Larger is slower and finds more of the true nearest neighbours.
    pub fn set_ef_search(&mut self, ef: usize) {
        self.ef_search = ef.max(1);
    }

    /// The number of vectors searched.
    pub fn len(&self) -> usize {
        self.state.base_len() - self.state.stale.len() + self.state.delta.ids.len()
    }

    /// Whether there is nothing to search.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dimension of the vectors (0 when there are none).
    pub fn dim(&self) -> usize {
        self.state.dim
    }

    /// The whole-file vector of a file, as searched.
    pub fn vector(&self, id: FileId) -> Option<Vec<f32>> {
        self.point_vector(PointId::whole(id))
    }

    /// The vector of a point (a whole file or a moment), as searched.
    pub fn point_vector(&self, point: PointId) -> Option<Vec<f32>> {
        let state = &self.state;
        let id = point.0;
        if let Some(v) = state.delta.find(id) {
            return Some(v.to_vec());
        }
        if state.stale.contains(&id) {
            return None;
        }
        match &state.base {
            Base::Flat(m) => m.find(id).map(<[f32]>::to_vec),
            Base::Graph(g) => g
                .cell
                .with_dependent(|_, g| g.find(id).map(<[f32]>::to_vec)),
        }
    }

    /// The `k` files nearest `query` by cosine, best first, each as its
    /// nearest point (the whole file or one of its moments) and that
    /// point's cosine; ties go to the smaller point id. With `allow`, only
    /// files it accepts are returned, and still `k` of them if that many
    /// exist: the graph is asked for more candidates, and when the predicate
    /// passes few files (an estimated EXACT_THRESHOLD or fewer) or too many
    /// candidates were needed, the allowed vectors are scanned exactly.
    /// `allow` is called only for files whose score would place them in the
    /// results, except in that exact scan.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(FileId) -> bool>,
    ) -> Result<Vec<(PointId, f32)>> {
        let state = &self.state;
        if k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        if query.len() != state.dim {
            return Err(Error::QueryDimension {
                expected: state.dim,
                found: query.len(),
            });
        }
        let norm = dot(query, query).sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Err(Error::QueryNotFinite);
        }
        let q: Vec<f32> = query.iter().map(|x| x / norm).collect();

        let mut top = TopK::new(k);
        state.delta.scan(&q, &mut top, |_| false, allow);
        let stale = |id: i64| state.stale.contains(&id);
        match &state.base {
            Base::Flat(m) => m.scan(&q, &mut top, stale, allow),
            Base::Graph(g) => {
                g.orphans.scan(&q, &mut top, stale, allow);
                g.cell.with_dependent(|_, refs| {
                    let orphans = &g.manifest.orphans;
                    let skip = |id: i64| stale(id) || orphans.binary_search(&id).is_ok();
                    for (id, score) in self.graph_top(refs, &q, k, &skip, allow) {
                        top.push(id, score);
                    }
                });
            }
        }
        Ok(top
            .into_sorted()
            .into_iter()
            .map(|(id, score)| (PointId(id), score))
            .collect())
    }

    /// The graph's best `k` allowed, non-skipped points, scored exactly.
    fn graph_top(
        &self,
        refs: &GraphRefs<'_>,
        q: &[f32],
        k: usize,
        skip: &impl Fn(i64) -> bool,
        allow: Option<&dyn Fn(FileId) -> bool>,
    ) -> Vec<(i64, f32)> {
        let n = refs.points.len();
        // Stale entries take places in the graph's answer: ask for enough
        // more that, at the rebuild limit, k usually survive.
        let mut want = (k + k / 4 + 8).min(n);
        loop {
            let ef = self.ef_search.max(want);
            let hits = refs.hnsw.search(q, want, ef);
            let mut top = TopK::new(k);
            let mut accepted = 0;
            for hit in &hits {
                let id = hit.d_id as i64;
                if skip(id) || !allow.is_none_or(|f| f(PointId(id).file())) {
                    continue;
                }
                if let Some(v) = refs.find(id) {
                    accepted += 1;
                    top.push(id, dot(q, v));
                }
            }
            // Points of one file share a place, so count files, not points.
            if top.len() >= k || hits.len() < want || want >= n {
                return top.into_sorted();
            }
            // Too few candidates passed the predicate. If it passes few
            // vectors overall, the graph's far candidates are poor (its
            // beam is built for near ones), and scanning the allowed ones
            // exactly is both cheap and exact.
            let allowed_estimate = accepted as f64 / hits.len().max(1) as f64 * n as f64;
            if want >= MAX_CANDIDATES || allowed_estimate <= EXACT_THRESHOLD as f64 {
                let mut top = TopK::new(k);
                for p in &refs.points {
                    let id = p.get_origin_id() as i64;
                    let score = dot(q, p.get_v());
                    consider(&mut top, id, score, skip, allow);
                }
                return top.into_sorted();
            }
            want = (want * 4).min(n).min(MAX_CANDIDATES);
        }
    }
}

impl State {
    fn base_len(&self) -> usize {
        match &self.base {
            Base::Flat(m) => m.ids.len(),
            Base::Graph(g) => g.cell.with_dependent(|_, refs| refs.points.len()),
        }
    }

    fn base_contains(&self, id: i64) -> bool {
        match &self.base {
            Base::Flat(m) => m.ids.binary_search(&id).is_ok(),
            Base::Graph(g) => g.contains(id),
        }
    }

    /// Reads the delta and the stale set relative to the base, replacing
    /// the previous ones.
    fn read_changes(&mut self, tx: &crate::Tx<'_>, model: &str, pipeline: &str) -> Result<()> {
        let mut delta = Matrix {
            dim: self.dim,
            ..Matrix::default()
        };
        let mut bad_dim = None;
        tx.vectors_after(model, pipeline, self.base_seq, |id, v| {
            if delta.ids.is_empty() && delta.dim == 0 {
                delta.dim = v.len();
            }
            if v.len() == delta.dim {
                delta.push(id.0, v);
            } else {
                bad_dim.get_or_insert((id.0, v.len()));
            }
        })?;
        if let Some((id, found)) = bad_dim {
            return Err(mixed_dims(tx.path, id, found, delta.dim, model));
        }
        delta.sort();
        let changed = tx.vectors_changed_after(self.base_seq)?;
        self.stale = changed
            .into_iter()
            .map(|id| id.0)
            .filter(|&id| self.base_contains(id))
            .collect();
        if self.dim == 0 {
            self.dim = delta.dim;
        }
        self.delta = delta;
        Ok(())
    }
}

fn mixed_dims(path: &Path, id: i64, found: usize, expected: usize, model: &str) -> Error {
    Error::Corrupt {
        path: path.to_owned(),
        what: format!(
            "vector {id} (of file {}) has {found} components, others of model `{model}` have {expected}",
            PointId(id).file().0
        ),
    }
}
