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
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::files::{self, FileIdentity, Manifest, PinError};
use super::graph::{score_rows, MappedGraph};
use super::kernel::{dot, dot_rows};
use super::params::{EF_SEARCH, EXACT_THRESHOLD, REBUILD_FRACTION};
use super::top_k::TopK;
use crate::{Catalog, Error, FileId, PointId, Result};

/// Rows scored per call of the block kernel in an exact scan.
const SCAN_BLOCK: usize = 256;

/// How many candidates a filtered graph search may ask for before giving
/// up on the graph and scanning the allowed vectors exactly (it gives up
/// sooner when the predicate seems to pass at most EXACT_THRESHOLD).
const MAX_CANDIDATES: usize = 4096;

/// How many times a load retries when a writer replaces the graph under it.
const LOAD_ATTEMPTS: usize = 3;

/// Which files a [`VectorSearcher::search`] may return.
#[derive(Clone, Copy)]
pub struct Allow<'a> {
    /// Whether a file may be returned.
    pub test: &'a dyn Fn(FileId) -> bool,
    /// At most how many files pass `test`, if the caller knows (a metadata
    /// filter evaluated beforehand does). A search then sizes its first
    /// graph query to the share that passes, and scans a small set exactly
    /// without asking the graph at all; unknown, it learns the share from
    /// a first graph query. An overestimate costs only speed.
    pub passing: Option<usize>,
}

impl<'a> Allow<'a> {
    /// A filter whose passing count is unknown.
    pub fn new(test: &'a dyn Fn(FileId) -> bool) -> Allow<'a> {
        Allow {
            test,
            passing: None,
        }
    }
}

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
/// least [`EXACT_THRESHOLD`] vectors, else by an
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
        if let Some(allow) = allow {
            let row = |i: usize| Some(self.row(i));
            scan_allowed(&self.ids, row, q, top, &skip, allow);
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

/// An exact scan of the rows whose file `allow` accepts: the predicate
/// first, once per file (a file's points are consecutive in id order),
/// then the dot product of the rows that pass. A filter that passes few
/// files then costs a scan of those, not of every vector.
fn scan_allowed<'a>(
    ids: &[i64],
    row: impl Fn(usize) -> Option<&'a [f32]>,
    q: &[f32],
    top: &mut TopK,
    skip: &impl Fn(i64) -> bool,
    allow: &dyn Fn(FileId) -> bool,
) {
    let mut last: Option<(FileId, bool)> = None;
    for (i, &id) in ids.iter().enumerate() {
        let file = PointId(id).file();
        let allowed = match last {
            Some((f, a)) if f == file => a,
            _ => {
                let a = allow(file);
                last = Some((file, a));
                a
            }
        };
        if !allowed || skip(id) {
            continue;
        }
        if let Some(v) = row(i) {
            // The file is allowed already: only the score test is left.
            consider(top, id, dot(q, v), skip, None);
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

/// A mapped graph and the manifest that named it.
struct Graph {
    mapped: MappedGraph,
    manifest: Manifest,
}

impl Graph {
    fn contains(&self, id: i64) -> bool {
        self.mapped.find(id).is_some()
    }

    /// The vector of file `id`, if it is a point of the graph.
    fn find(&self, id: i64) -> Option<&[f32]> {
        self.mapped.vector(self.mapped.find(id)?)
    }

    /// Offers the points `range` to `top`, scored exactly, in blocks.
    fn scan(
        &self,
        q: &[f32],
        range: std::ops::Range<usize>,
        top: &mut TopK,
        skip: &impl Fn(i64) -> bool,
        allow: Option<&dyn Fn(FileId) -> bool>,
    ) {
        let ids = self.mapped.ids();
        score_rows(&self.mapped, q, range, |i, score| {
            if let Some(&id) = ids.get(i) {
                consider(top, id, score, skip, allow)
            }
        });
    }
}

/// Maps and checks the graph a manifest names, and checks it against the
/// manifest's counts.
fn load_graph(dir: &Path, manifest: &Manifest) -> Result<Graph, PinError> {
    let mapped = files::pin_and_map(dir, manifest)?;
    let (n, reachable) = (mapped.len(), mapped.reachable());
    // The manifest's orphans are the file's unreachable points plus the
    // vectors left out of the graph (count - n).
    let left_out = manifest.count.checked_sub(n);
    if left_out.is_none_or(|l| n - reachable + l != manifest.orphans.len()) {
        return Err(PinError::Bad(Error::AnnCorrupt {
            path: dir.join(&manifest.graph.name),
            what: format!(
                "holds {n} points, {} of them orphans; the manifest says {} vectors, {} orphans",
                n - reachable,
                manifest.count,
                manifest.orphans.len()
            ),
        }));
    }
    Ok(Graph {
        mapped,
        manifest: manifest.clone(),
    })
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
    match load_graph(dir, &manifest) {
        Ok(g) => GraphLoad::Loaded(Box::new(g)),
        Err(PinError::Gone) => match files::read_manifest(dir) {
            // A writer retired it and published another meanwhile.
            Ok(Some(now)) if now.generation != manifest.generation => GraphLoad::Retry,
            _ => GraphLoad::Unusable(format!(
                "ANN cache in `{}`: its graph file `{}` is missing",
                dir.display(),
                manifest.graph.name
            )),
        },
        Err(PinError::Bad(e)) => GraphLoad::Unusable(e.to_string()),
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
                    let mut state = State {
                        dim: graph.manifest.dim,
                        base: Base::Graph(graph),
                        base_seq: built,
                        stale: HashSet::new(),
                        delta: Matrix::default(),
                    };
                    state.read_changes(tx, model, pipeline)?;
                    // The model's vectors now, from the graph and what
                    // changed since: counting them in SQLite reads an
                    // index entry per vector, milliseconds per 100k.
                    if state.len() >= EXACT_THRESHOLD {
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

    /// Makes the first searches as fast as later ones by mapping the pages
    /// of the graph file now, against ~5 ms of page faults in a first search
    /// at 100k vectors; for a background thread. An exact scan's vectors are
    /// in memory already: nothing to do.
    pub fn prefault(&self) {
        if let Base::Graph(g) = &self.state.base {
            g.mapped.prefault();
        }
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
        self.state.len()
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
            Base::Graph(g) => g.find(id).map(<[f32]>::to_vec),
        }
    }

    /// The `k` files nearest `query` by cosine, best first, each as its
    /// nearest point (the whole file or one of its moments) and that
    /// point's cosine; ties go to the smaller point id. With `allow`, only
    /// files it accepts are returned, and still `k` of them if that many
    /// exist: the graph is asked for more candidates, and when the predicate
    /// passes few files (an estimated EXACT_THRESHOLD or fewer) or too many
    /// candidates were needed, the allowed vectors are scanned exactly.
    /// `allow`'s test is called only for files whose score would place them
    /// in the results, except in that exact scan.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<Allow<'_>>,
    ) -> Result<Vec<(PointId, f32)>> {
        let allow = filter.map(|f| f.test);
        let passing = filter.and_then(|f| f.passing);
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
                // The orphans, scanned exactly: the file keeps them after
                // the reachable points, so this is one contiguous block.
                g.scan(
                    &q,
                    g.mapped.reachable()..g.mapped.len(),
                    &mut top,
                    &stale,
                    allow,
                );
                for (id, score) in self.graph_top(g, &q, k, &stale, allow, passing) {
                    top.push(id, score);
                }
            }
        }
        Ok(top
            .into_sorted()
            .into_iter()
            .map(|(id, score)| (PointId(id), score))
            .collect())
    }

    /// The graph's best `k` allowed, non-skipped reachable points, scored
    /// exactly; `passing` is how many files `allow` passes, if known.
    fn graph_top(
        &self,
        g: &Graph,
        q: &[f32],
        k: usize,
        skip: &impl Fn(i64) -> bool,
        allow: Option<&dyn Fn(FileId) -> bool>,
        passing: Option<usize>,
    ) -> Vec<(i64, f32)> {
        let ids = g.mapped.ids();
        let n = g.mapped.reachable();
        // `passing` is an upper bound, so a first query sized by it may
        // still come back short; the loop below then asks for more.
        let scan_exactly = |allow: Option<&dyn Fn(FileId) -> bool>| {
            let mut top = TopK::new(k);
            match allow {
                Some(allow) => {
                    let row = |i: usize| g.mapped.vector(i);
                    scan_allowed(ids, row, q, &mut top, skip, allow);
                }
                None => g.scan(q, 0..n, &mut top, skip, None),
            }
            top.into_sorted()
        };
        // Stale entries take places in the graph's answer: ask for enough
        // more that, at the rebuild limit, k usually survive.
        let mut want = (k + k / 4 + 8).min(n);
        if let (Some(allow), Some(passing)) = (allow, passing) {
            // Few enough to score them all: exact, and no dearer than the
            // graph's far candidates (see below).
            if passing <= EXACT_THRESHOLD {
                return scan_exactly(Some(allow));
            }
            // Ask for as many more as the filter will turn away. The share
            // is of files among points, so moments make it an underestimate
            // (a larger first query, never a smaller one).
            let share = (passing as f64 / self.len().max(1) as f64).clamp(1e-3, 1.0);
            want = ((want as f64 / share).ceil() as usize)
                .min(MAX_CANDIDATES)
                .min(n);
        }
        loop {
            let ef = self.ef_search.max(want);
            // Scores are q · vector, computed by the search itself.
            let hits = g.mapped.search(q, want, ef);
            let mut top = TopK::new(k);
            let mut accepted = 0;
            for &(i, score) in &hits {
                let Some(&id) = ids.get(i) else { continue };
                if skip(id) || !allow.is_none_or(|f| f(PointId(id).file())) {
                    continue;
                }
                accepted += 1;
                top.push(id, score);
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
                return scan_exactly(allow);
            }
            want = (want * 4).min(n).min(MAX_CANDIDATES);
        }
    }
}

impl State {
    fn len(&self) -> usize {
        self.base_len() - self.stale.len() + self.delta.ids.len()
    }

    fn base_len(&self) -> usize {
        match &self.base {
            Base::Flat(m) => m.ids.len(),
            Base::Graph(g) => g.mapped.len(),
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
