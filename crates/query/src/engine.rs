//! The [`Engine`]: an open index, a lazily loaded model, and the query steps.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use hark_model::hub::{self, ModelSpec};
use hark_model::{Clap, ModelLocation, PIPELINE_VERSION};
use hark_store::ann::Allow;
use hark_store::{
    meta, Catalog, FileFilter, FileId, FilterEvaluator, FtsMatch, ListOrder, MatchTerm, PointId,
};

use crate::cache::TextCache;
use crate::error::{Error, Result};
use crate::fusion::fuse;
use crate::parse::Query;
use crate::vector::{dot, normalize, AnnIndex, VectorIndex};
use crate::{FileDetail, Hit, IndexSummary, Matched, QueryVectors, SimilarTarget};

/// How strongly an excluded text pushes the query away: the sound ranking
/// orders files by `cos(v, q) − EXCLUDE_WEIGHT · Σ cos(v, e)` over the
/// excluded texts `e` (the query vector `q − 0.5 Σ e`, renormalised). A
/// sound as close to an excluded text as to the query loses half its
/// similarity; one unrelated to the excluded text keeps its place. Moving
/// the query (rather than re-scoring candidates) lets an ANN index search
/// the moved query directly.
const EXCLUDE_WEIGHT: f32 = 0.5;

/// `similar --plus TEXT`: the query is `normalize(v + PLUS_WEIGHT · t)` for
/// the example's vector `v` and the text's `t` (both unit): with weight 1,
/// the point of the sphere halfway between them.
const PLUS_WEIGHT: f32 = 1.0;

/// Rocchio relevance feedback (Manning, Raghavan & Schütze, *Introduction
/// to Information Retrieval*, §9.1.1, with their suggested weights):
/// `q' = α q + β mean(wanted) − γ mean(unwanted)`. Negative feedback weighs
/// less: what a user rejects says less about what they want.
const ROCCHIO: (f32, f32, f32) = (1.0, 0.75, 0.15);

/// Builds the vector index of an open catalog (see [`Engine::open_with`]).
pub type IndexLoader = dyn Fn(&IndexSource<'_>) -> Result<Arc<dyn VectorIndex>> + Send + Sync;

/// What an [`IndexLoader`] gets: the index and which vectors to index.
pub struct IndexSource<'a> {
    /// The index directory (where an ANN cache file would live).
    pub dir: &'a Path,
    /// The catalog, read-only.
    pub catalog: &'a Catalog,
    /// The model identity of the vectors to index (meta `model`).
    pub model: &'a str,
    /// Their pipeline (meta `pipeline`).
    pub pipeline: &'a str,
}

/// An open index, ready for queries. `Send + Sync`: share it between a UI
/// thread and workers; methods take `&self`.
pub struct Engine {
    dir: PathBuf,
    spec: ModelSpec,
    loader: Box<IndexLoader>,
    state: RwLock<Arc<State>>,
    model: Mutex<Option<Arc<ModelHandle>>>,
    cache: TextCache,
}

/// The model, located and identified; its weights load on first use.
struct ModelHandle {
    location: ModelLocation,
    identity: String,
    clap: OnceLock<Clap>,
}

impl ModelHandle {
    fn clap(&self) -> Result<&Clap> {
        if let Some(clap) = self.clap.get() {
            return Ok(clap);
        }
        let clap = Clap::load(&self.location)?;
        Ok(self.clap.get_or_init(|| clap))
    }
}

/// One opening of the catalog; replaced whole by a reload.
struct State {
    catalog: Mutex<Catalog>,
    /// A second read-only connection, opened at first need: the sound
    /// ranking looks up excluded words on it while the word ranking runs
    /// on `catalog` in another thread (one SQLite connection serves one
    /// statement at a time).
    second: Mutex<Option<Catalog>>,
    /// `PRAGMA data_version` when opened.
    data_version: i64,
    /// The catalog file's identity when opened (to notice a replaced file).
    file: Option<FileIdentity>,
    meta_model: Option<String>,
    meta_pipeline: Option<String>,
    index: Mutex<Option<Arc<dyn VectorIndex>>>,
    /// Evaluates metadata filters, in SQL or on the column table it reads
    /// when filters repeat.
    filters: FilterEvaluator,
    /// The files passing the last metadata filters asked for: a UI re-runs
    /// the same filters at every keystroke of the words.
    last_filter: Mutex<Option<(Vec<FileFilter>, Arc<IdSet>)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_identity(path: &Path) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(FileIdentity {
        dev: m.dev(),
        ino: m.ino(),
    })
}

#[cfg(not(unix))]
fn file_identity(_: &Path) -> Option<FileIdentity> {
    None
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves data that is still
    // consistent (a connection, a cached Arc): keep going.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    fn open(dir: &Path) -> Result<State> {
        let catalog = Catalog::open_readonly(dir).map_err(|e| match e {
            hark_store::Error::Missing { .. } => Error::NoIndex {
                dir: dir.to_owned(),
            },
            e => e.into(),
        })?;
        let data_version = catalog.data_version()?;
        let (meta_model, meta_pipeline) =
            catalog.read(|tx| Ok::<_, Error>((tx.meta(meta::MODEL)?, tx.meta(meta::PIPELINE)?)))?;
        Ok(State {
            file: file_identity(catalog.path()),
            catalog: Mutex::new(catalog),
            second: Mutex::new(None),
            data_version,
            meta_model,
            meta_pipeline,
            index: Mutex::new(None),
            filters: FilterEvaluator::new(),
            last_filter: Mutex::new(None),
        })
    }

    fn catalog(&self) -> MutexGuard<'_, Catalog> {
        lock(&self.catalog)
    }

    /// Runs `f` on the catalog's second connection (see `second`),
    /// opening it (in index directory `dir`) first if need be.
    fn with_second<T>(&self, dir: &Path, f: impl FnOnce(&Catalog) -> Result<T>) -> Result<T> {
        let mut slot = lock(&self.second);
        let catalog = match &mut *slot {
            Some(catalog) => catalog,
            empty => empty.insert(Catalog::open_readonly(dir)?),
        };
        f(catalog)
    }

    /// The index's model and pipeline, or [`Error::NoVectors`].
    fn vectors_of(&self, dir: &Path) -> Result<(&str, &str)> {
        match (&self.meta_model, &self.meta_pipeline) {
            (Some(m), Some(p)) => Ok((m, p)),
            _ => Err(Error::NoVectors {
                dir: dir.to_owned(),
            }),
        }
    }

    /// The files passing `filters` (all of them if there are none).
    fn allowed(&self, filters: &[FileFilter]) -> Result<Option<Arc<IdSet>>> {
        if filters.is_empty() {
            return Ok(None);
        }
        let mut last = lock(&self.last_filter);
        if let Some((f, set)) = &*last {
            if f == filters {
                return Ok(Some(set.clone()));
            }
        }
        let ids = self
            .catalog()
            .read(|tx| self.filters.filter_ids(tx, filters))?;
        let set = Arc::new(IdSet::new(ids));
        *last = Some((filters.to_vec(), set.clone()));
        Ok(Some(set))
    }

    /// The vector index, loaded on first use.
    fn index(&self, dir: &Path, loader: &IndexLoader) -> Result<Arc<dyn VectorIndex>> {
        let mut slot = lock(&self.index);
        if let Some(index) = &*slot {
            return Ok(index.clone());
        }
        let (model, pipeline) = self.vectors_of(dir)?;
        let catalog = self.catalog();
        let index = loader(&IndexSource {
            dir,
            catalog: &catalog,
            model,
            pipeline,
        })?;
        *slot = Some(index.clone());
        // On a thread of its own, not waited for: a one-shot process may
        // exit before it ends, which is fine, as it only saves page faults.
        let ready = index.clone();
        let _ = std::thread::Builder::new()
            .name("hark-prefault".into())
            .spawn(move || ready.prefault());
        Ok(index)
    }
}

impl Engine {
    /// Opens the index at `index_dir` read-only, with vectors searched
    /// through the ANN cache when there is one ([`AnnIndex`]; an exact scan
    /// below 20,000 vectors). The model is located and loaded only
    /// when a text or a file not in the index must be embedded, so
    /// listings, word-only runs and [`Engine::similar`] on an indexed file
    /// never load it.
    pub fn open(index_dir: &Path, model: ModelSpec) -> Result<Engine> {
        Engine::open_with(
            index_dir,
            model,
            Box::new(|src: &IndexSource<'_>| {
                let searcher = hark_store::ann::VectorSearcher::open(
                    src.catalog,
                    src.dir,
                    src.model,
                    src.pipeline,
                )?;
                let index: Arc<dyn VectorIndex> = Arc::new(AnnIndex(searcher));
                Ok(index)
            }),
        )
    }

    /// [`Engine::open`] with another vector index: `loader` builds it from
    /// the catalog on first need, and again after a reload.
    pub fn open_with(
        index_dir: &Path,
        model: ModelSpec,
        loader: Box<IndexLoader>,
    ) -> Result<Engine> {
        let state = State::open(index_dir)?;
        let has_files = state.catalog().read(|tx| tx.has_files())?;
        if !has_files && state.meta_model.is_none() {
            return Err(Error::NeverBuilt {
                dir: index_dir.to_owned(),
            });
        }
        Ok(Engine {
            dir: index_dir.to_owned(),
            spec: model,
            loader,
            state: RwLock::new(Arc::new(state)),
            model: Mutex::new(None),
            cache: TextCache::new(index_dir),
        })
    }

    /// The index directory.
    pub fn index_dir(&self) -> &Path {
        &self.dir
    }

    fn state(&self) -> Arc<State> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The model, located and identified (no weights loaded).
    fn model(&self) -> Result<Arc<ModelHandle>> {
        let mut slot = lock(&self.model);
        if let Some(m) = &*slot {
            return Ok(m.clone());
        }
        let location = hub::locate(&self.spec)?;
        let identity = location.identity().map_err(|source| Error::ModelIdentity {
            dir: location.dir.clone(),
            source,
        })?;
        let handle = Arc::new(ModelHandle {
            location,
            identity,
            clap: OnceLock::new(),
        });
        *slot = Some(handle.clone());
        Ok(handle)
    }

    /// The model, after checking it is the one that made the index's vectors.
    fn checked_model(&self, st: &State) -> Result<Arc<ModelHandle>> {
        let (index_model, _) = st.vectors_of(&self.dir)?;
        let model = self.model()?;
        if model.identity != index_model {
            return Err(Error::ModelMismatch {
                index: index_model.to_owned(),
                current: model.identity.clone(),
            });
        }
        Ok(model)
    }

    /// Parses the query language (see [`crate::parse`]). Fast and pure.
    pub fn parse(&self, query: &str) -> Result<Query> {
        Query::parse(query)
    }

    /// Text-tower vectors of `texts`, from the cache where present; the
    /// second value counts the texts that were computed.
    fn text_vectors(&self, st: &State, texts: &[&str]) -> Result<(Vec<Vec<f32>>, usize)> {
        if texts.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let model = self.checked_model(st)?;
        let mut out: Vec<Option<Vec<f32>>> = texts
            .iter()
            .map(|t| self.cache.get(&model.identity, t))
            .collect();
        let missing: Vec<&str> = texts
            .iter()
            .zip(&out)
            .filter(|(_, v)| v.is_none())
            .map(|(t, _)| *t)
            .collect();
        if !missing.is_empty() {
            let mut computed = model.clap()?.embed_texts(&missing)?.into_iter();
            for (text, slot) in texts.iter().zip(out.iter_mut()) {
                if slot.is_none() {
                    let v = computed.next().expect("one vector per text");
                    self.cache.put(&model.identity, text, &v);
                    *slot = Some(v);
                }
            }
        }
        let count = missing.len();
        Ok((out.into_iter().map(|v| v.expect("filled")).collect(), count))
    }

    /// The slow step: the text-tower vectors of the query's words and
    /// phrases and of each excluded text, from the on-disk cache when
    /// present (a miss costs the text tower, ~20–30 ms with the full model,
    /// plus loading the model the first time). A listing query needs none.
    pub fn embed_query(&self, q: &Query) -> Result<QueryVectors> {
        if q.is_listing() {
            return Ok(QueryVectors::default());
        }
        let st = self.state();
        let positive = q.positive_text();
        let mut texts: Vec<&str> = positive.iter().map(String::as_str).collect();
        texts.extend(q.excluded.iter().map(|t| t.text()));
        let (mut vectors, computed) = self.text_vectors(&st, &texts)?;
        let excluded = vectors.split_off(1);
        Ok(QueryVectors {
            positive: vectors.pop(),
            excluded,
            computed,
        })
    }

    /// The fast step: ranks by sound (if `vectors` has a positive vector)
    /// and by words, fuses, filters, and returns the top `k`. A query of
    /// filters only lists the files that pass, by path.
    pub fn run(&self, q: &Query, vectors: Option<&QueryVectors>, k: usize) -> Result<Vec<Hit>> {
        let st = self.state();
        if k == 0 {
            return Ok(Vec::new());
        }
        if q.is_listing() {
            return self.list(&st, &q.store_filters(), ListOrder::Path, k);
        }
        let sound_query = vectors
            .and_then(|v| Some((v.positive.as_ref()?, &v.excluded)))
            .map(|(positive, excluded)| push_away(positive.clone(), excluded));
        let (sound, words) = self.rankings(&st, q, sound_query.as_deref(), &[], k)?;
        self.fused_hits(&st, &sound, &words, k)
    }

    /// Fuses a sound ranking (of points) and a word ranking (of files)
    /// into the top `k` hits; a file found by sound through one of its
    /// moments starts there.
    fn fused_hits(
        &self,
        st: &State,
        sound: &[(PointId, f32)],
        words: &[FileId],
        k: usize,
    ) -> Result<Vec<Hit>> {
        let files: Vec<FileId> = sound.iter().map(|(p, _)| p.file()).collect();
        let points: Vec<PointId> = sound.iter().map(|(p, _)| *p).collect();
        let fused = fuse(&files, words, k);
        self.hits(
            st,
            fused.into_iter().map(|f| (f.id, f.score, f.matched)),
            &points,
        )
    }

    /// Parses, embeds and runs `query`. While the text tower runs, the
    /// vector index loads on another thread if it is not loaded yet.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        let q = self.parse(query)?;
        if q.is_listing() {
            return self.run(&q, None, k);
        }
        let st = self.state();
        // A missing or mismatched model fails now, not after the vectors load.
        self.checked_model(&st)?;
        let loaded = lock(&st.index).is_some();
        let vectors = if loaded {
            self.embed_query(&q)?
        } else {
            std::thread::scope(|s| {
                // Errors surface again, with context, when `run` needs the index.
                let warm = s.spawn(|| st.index(&self.dir, &*self.loader).map(drop));
                let vectors = self.embed_query(&q);
                let _ = warm.join();
                vectors
            })?
        };
        self.run(&q, Some(&vectors), k)
    }

    /// Loads the vector index now rather than at the first query (a UI can
    /// call this from a worker thread at start-up).
    pub fn warm(&self) -> Result<()> {
        self.state().index(&self.dir, &*self.loader).map(drop)
    }

    /// Files that sound like `target` (see [`SimilarTarget`]), best first,
    /// scored by cosine similarity; `plus` moves the query toward a text.
    /// The target itself is never among the hits.
    pub fn similar(
        &self,
        target: &SimilarTarget,
        k: usize,
        plus: Option<&str>,
    ) -> Result<Vec<Hit>> {
        self.similar_filtered(target, k, plus, None)
    }

    /// [`Engine::similar`] keeping only hits that pass `filters`: a query
    /// of filters and exclusions (`dur:<2s -rain`); its excluded texts also
    /// push the query away. Words and phrases are for `plus`, and are
    /// ignored here.
    pub fn similar_filtered(
        &self,
        target: &SimilarTarget,
        k: usize,
        plus: Option<&str>,
        filters: Option<&Query>,
    ) -> Result<Vec<Hit>> {
        let st = self.state();
        let index = st.index(&self.dir, &*self.loader)?;
        let (mut query, own_id) = match target {
            SimilarTarget::File(id) => (self.stored_vector(&st, &*index, *id)?, Some(*id)),
            SimilarTarget::Path(path) => self.path_vector(&st, &*index, path)?,
        };
        let mut texts: Vec<&str> = plus.into_iter().collect();
        if let Some(q) = filters {
            texts.extend(q.excluded.iter().map(|t| t.text()));
        }
        let (mut text_vectors, _) = self.text_vectors(&st, &texts)?;
        normalize(&mut query);
        if plus.is_some() {
            let t = text_vectors.remove(0);
            for (x, y) in query.iter_mut().zip(&t) {
                *x += PLUS_WEIGHT * y;
            }
            normalize(&mut query);
        }
        let scored_query = query.clone();
        let query = push_away(query, &text_vectors);
        let metadata = filters.map(Query::metadata_filters).unwrap_or_default();
        let exclusions = filters.map(Query::exclusion_terms).unwrap_or_default();
        let own: Vec<FileId> = own_id.into_iter().collect();
        let allowed = st.allowed(&metadata)?;
        let ranked = self.sound_ranking(
            &st,
            &query,
            allowed.as_deref(),
            &exclusions,
            &own,
            k,
            Conn::Main,
        )?;
        let points: Vec<PointId> = ranked.iter().map(|(p, _)| *p).collect();
        // Scores are the cosine of the matched point to the example (moved
        // by `plus`), whatever exclusions did to the order.
        self.hits(
            &st,
            ranked.into_iter().map(|(point, _)| {
                let cosine = index
                    .point_vector(point)
                    .map_or(0.0, |v| dot(&scored_query, &v));
                (point.file(), cosine, Matched::Sound)
            }),
            &points,
        )
    }

    /// Relevance feedback: runs `q` with its sound query moved toward the
    /// files in `wanted` and away from those in `unwanted` (Rocchio, in
    /// CLAP's space), keeping its words, filters and exclusions. Files in
    /// `unwanted` are left out of the hits. With no query vector, the
    /// wanted files alone make the query.
    pub fn refine(
        &self,
        q: &Query,
        vectors: Option<&QueryVectors>,
        wanted: &[FileId],
        unwanted: &[FileId],
        k: usize,
    ) -> Result<Vec<Hit>> {
        let st = self.state();
        let index = st.index(&self.dir, &*self.loader)?;
        let (alpha, beta, gamma) = ROCCHIO;
        let positive = vectors.and_then(|v| v.positive.as_ref());
        if positive.is_none() && wanted.is_empty() {
            return Err(Error::NothingToRefine);
        }
        let mut query = vec![0f32; index.dim()];
        let mut add = |v: &[f32], w: f32| -> Result<()> {
            if v.len() != query.len() {
                return Err(Error::Dimension {
                    expected: query.len(),
                    found: v.len(),
                });
            }
            query.iter_mut().zip(v).for_each(|(x, y)| *x += w * y);
            Ok(())
        };
        if let Some(p) = positive {
            add(p, alpha)?;
        }
        for id in wanted {
            add(
                &self.stored_vector(&st, &*index, *id)?,
                beta / wanted.len() as f32,
            )?;
        }
        for id in unwanted {
            add(
                &self.stored_vector(&st, &*index, *id)?,
                -gamma / unwanted.len() as f32,
            )?;
        }
        normalize(&mut query);
        if k == 0 {
            return Ok(Vec::new());
        }
        let excluded = vectors.map(|v| v.excluded.as_slice()).unwrap_or_default();
        let query = push_away(query, excluded);
        let (sound, words) = self.rankings(&st, q, Some(&query), unwanted, k)?;
        self.fused_hits(&st, &sound, &words, k)
    }

    /// The library, most recently indexed first (for an empty query).
    pub fn recent(&self, k: usize) -> Result<Vec<Hit>> {
        let st = self.state();
        self.list(&st, &[], ListOrder::Newest, k)
    }

    /// Everything the catalog knows about one file.
    pub fn detail(&self, id: FileId) -> Result<FileDetail> {
        let st = self.state();
        let catalog = st.catalog();
        let (file, vector) =
            catalog.read(|tx| Ok::<_, Error>((tx.file_by_id(id)?, tx.vector(id)?)))?;
        let file = file.ok_or(Error::UnknownFile { id })?;
        let has_vector = match (vector, &st.meta_model, &st.meta_pipeline) {
            (Some(v), Some(m), Some(p)) => v.model == *m && v.pipeline == *p,
            _ => false,
        };
        let r = file.record;
        Ok(FileDetail {
            id,
            path: r.path,
            size: r.size,
            mtime_ns: r.mtime_ns,
            indexed_at: file.indexed_at,
            format: r.format,
            codec: r.codec,
            duration_s: r.duration_s,
            sample_rate: r.sample_rate,
            channels: r.channels,
            bits_per_sample: r.bits_per_sample,
            tags: r.tags,
            ucs_cat_id: r.ucs_cat_id,
            ucs_category: r.ucs_category,
            ucs_subcategory: r.ucs_subcategory,
            ucs_fx_name: r.ucs_fx_name,
            peaks: r.peaks,
            status: r.status,
            error: r.error,
            has_vector,
        })
    }

    /// If a `hark index` run has committed to the catalog (or replaced it)
    /// since it was opened or last reloaded, opens it afresh and returns
    /// true; the vector index reloads at its next use. Cheap when nothing
    /// changed (a file stat and a pragma), so a UI can call it often.
    pub fn reload_if_changed(&self) -> Result<bool> {
        let st = self.state();
        let changed = st.catalog().data_version()? != st.data_version
            || file_identity(&self.dir.join(hark_store::FILE_NAME)) != st.file;
        if !changed {
            return Ok(false);
        }
        let fresh = Arc::new(State::open(&self.dir)?);
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(true)
    }

    /// File counts, roots, and the model and pipeline of the index.
    pub fn summary(&self) -> Result<IndexSummary> {
        let st = self.state();
        let catalog = st.catalog();
        let (counts, roots, embedded) = catalog.read(|tx| {
            let embedded = match (&st.meta_model, &st.meta_pipeline) {
                (Some(m), Some(p)) => tx.vector_count(m, p)?,
                _ => 0,
            };
            Ok::<_, Error>((tx.counts()?, tx.roots()?, embedded))
        })?;
        Ok(IndexSummary {
            dir: self.dir.clone(),
            roots: roots.into_iter().map(|r| r.path).collect(),
            files: counts.files,
            embedded,
            waiting: counts.waiting,
            failed: counts.failed,
            model: st.meta_model.clone(),
            pipeline: st.meta_pipeline.clone(),
        })
    }

    /// Files passing `filters`, in `order`, as listing hits.
    fn list(
        &self,
        st: &State,
        filters: &[FileFilter],
        order: ListOrder,
        k: usize,
    ) -> Result<Vec<Hit>> {
        let facts = st
            .catalog()
            .read(|tx| st.filters.list_files(tx, filters, order, k))?;
        Ok(facts
            .into_iter()
            .map(|f| Hit {
                id: f.id,
                path: f.path,
                score: 1.0,
                duration_s: f.duration_s,
                sample_rate: f.sample_rate,
                channels: f.channels,
                offset_s: None,
                matched: Matched::Filter,
            })
            .collect())
    }

    /// The sound ranking (of `sound_query`, if any) and the word ranking
    /// of `q`, both keeping to the files that pass its filters and leaving
    /// out those in `skip`; a listing query has no word ranking.
    ///
    /// The two run at once, the sound ranking on a second thread: each
    /// takes milliseconds at 100k files (a graph search; BM25 over every
    /// file matching the words), and together they are most of a query's
    /// time. Neither waits for the other's connection: the graph search
    /// has its own, and the sound ranking looks up excluded words on the
    /// catalog's second one.
    fn rankings(
        &self,
        st: &State,
        q: &Query,
        sound_query: Option<&[f32]>,
        skip: &[FileId],
        k: usize,
    ) -> Result<Rankings> {
        let allowed = st.allowed(&q.metadata_filters())?;
        let allowed = allowed.as_deref();
        let excluded = q.exclusion_terms();
        let sound = |conn| match sound_query {
            Some(query) => self.sound_ranking(st, query, allowed, &excluded, skip, k, conn),
            None => Ok(Vec::new()),
        };
        if q.is_listing() {
            return Ok((sound(Conn::Main)?, Vec::new()));
        }
        let words = || -> Result<Vec<FileId>> {
            let mut words = self.word_ranking(st, q, allowed, k + skip.len())?;
            words.retain(|id| !skip.contains(id));
            words.truncate(k);
            Ok(words)
        };
        if sound_query.is_none() {
            return Ok((Vec::new(), words()?));
        }
        std::thread::scope(|s| {
            let sound = s.spawn(|| sound(Conn::Second));
            let words = words();
            let sound = sound
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            Ok((sound?, words?))
        })
    }

    /// The top `k` files by words (BM25), among the `allowed` ones (all
    /// if `None`).
    fn word_ranking(
        &self,
        st: &State,
        q: &Query,
        allowed: Option<&IdSet>,
        k: usize,
    ) -> Result<Vec<FileId>> {
        let text = q.text_match();
        let hits = match allowed {
            // The column table's files leave out failed ones.
            Some(allowed) => st
                .catalog()
                .read(|tx| tx.fts_ranked(&text, k, Some(&|id| allowed.contains(id))))?,
            None => st.catalog().read(|tx| tx.fts_ranked(&text, k, None))?,
        };
        Ok(hits.into_iter().map(|h| h.id).collect())
    }

    /// The top `k` files by similarity to `query` that are `allowed` (all
    /// if `None`), match none of `excluded` lexically, and are not in
    /// `skip`; each as its nearest point (the whole file or a moment of
    /// it). `conn` is the catalog connection for the excluded words.
    #[allow(clippy::too_many_arguments)]
    fn sound_ranking(
        &self,
        st: &State,
        query: &[f32],
        allowed: Option<&IdSet>,
        excluded: &[MatchTerm],
        skip: &[FileId],
        k: usize,
        conn: Conn,
    ) -> Result<Vec<(PointId, f32)>> {
        let index = st.index(&self.dir, &*self.loader)?;
        if query.len() != index.dim() && !index.is_empty() {
            return Err(Error::Dimension {
                expected: index.dim(),
                found: query.len(),
            });
        }
        // Straight from the full-text index, not a scan of every file.
        let mut denied = if excluded.is_empty() {
            Vec::new()
        } else {
            let any =
                |catalog: &Catalog| Ok(catalog.read(|tx| tx.fts_ids(FtsMatch::AnyOf(excluded)))?);
            match conn {
                Conn::Main => any(&st.catalog())?,
                Conn::Second => st.with_second(&self.dir, any)?,
            }
        };
        denied.extend_from_slice(skip);
        let denied = (!denied.is_empty()).then(|| IdSet::new(denied));
        let allow = |id: FileId| {
            allowed.is_none_or(|a| a.contains(id))
                && denied.as_ref().is_none_or(|d| !d.contains(id))
        };
        let filter = (allowed.is_some() || denied.is_some()).then(|| Allow {
            test: &allow,
            passing: allowed.map(IdSet::len),
        });
        index.search(query, k, filter)
    }

    /// The stored vector of an indexed file.
    fn stored_vector(&self, st: &State, index: &dyn VectorIndex, id: FileId) -> Result<Vec<f32>> {
        if let Some(v) = index.vector(id) {
            return Ok(v);
        }
        match st.catalog().file_by_id(id)? {
            Some(file) => Err(Error::NoVector {
                path: file.record.path,
            }),
            None => Err(Error::UnknownFile { id }),
        }
    }

    /// The vector of a file on disk: the stored one if the catalog has the
    /// file with the same size and modification time, else decoded and
    /// embedded now. Also returns the file's id if the catalog has it.
    fn path_vector(
        &self,
        st: &State,
        index: &dyn VectorIndex,
        path: &Path,
    ) -> Result<(Vec<f32>, Option<FileId>)> {
        let target_error = |cause| Error::TargetFile {
            path: path.to_owned(),
            cause,
        };
        let canonical = std::fs::canonicalize(path).map_err(target_error)?;
        let meta = std::fs::metadata(&canonical).map_err(target_error)?;
        if meta.is_dir() {
            return Err(target_error(std::io::Error::other("it is a directory")));
        }
        let stored = st.catalog().file_by_path(&canonical)?;
        if let Some(file) = &stored {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos() as i64);
            let unchanged =
                file.record.size == meta.len() && mtime_ns == Some(file.record.mtime_ns);
            if unchanged {
                if let Some(v) = index.vector(file.id) {
                    return Ok((v, Some(file.id)));
                }
            }
        }
        let model = self.checked_model(st)?;
        let (_, pipeline) = st.vectors_of(&self.dir)?;
        if pipeline != PIPELINE_VERSION {
            return Err(Error::PipelineMismatch {
                index: pipeline.to_owned(),
                current: PIPELINE_VERSION.to_owned(),
            });
        }
        let vector = embed_audio_file(model.clap()?, path)?;
        Ok((vector, stored.map(|f| f.id)))
    }

    /// Hits in the given order, with their facts; files gone from the
    /// catalog since the vector index loaded are left out. A hit whose file
    /// is in `points` as a moment gets that moment's start as its offset.
    fn hits(
        &self,
        st: &State,
        ranked: impl Iterator<Item = (FileId, f32, Matched)>,
        points: &[PointId],
    ) -> Result<Vec<Hit>> {
        let ranked: Vec<(FileId, f32, Matched)> = ranked.collect();
        let ids: Vec<FileId> = ranked.iter().map(|r| r.0).collect();
        let moments: Vec<PointId> = points
            .iter()
            .copied()
            .filter(|p| p.is_moment() && ids.contains(&p.file()))
            .collect();
        let (facts, starts) = st
            .catalog()
            .read(|tx| Ok::<_, Error>((tx.file_facts(&ids)?, tx.point_starts(&moments)?)))?;
        let offset = |id: FileId| {
            starts
                .iter()
                .find(|(p, _)| p.file() == id)
                .map(|&(_, start)| start)
        };
        let mut facts = facts.into_iter().peekable();
        let mut hits = Vec::with_capacity(ranked.len());
        for (id, score, matched) in ranked {
            // `file_facts` keeps the order of `ids`, leaving out missing ones.
            if facts.peek().is_some_and(|f| f.id == id) {
                let f = facts.next().expect("peeked");
                hits.push(Hit {
                    id,
                    path: f.path,
                    score,
                    duration_s: f.duration_s,
                    sample_rate: f.sample_rate,
                    channels: f.channels,
                    offset_s: offset(id),
                    matched,
                });
            }
        }
        Ok(hits)
    }
}

/// Embeds a sound file, decoding it as a stream: memory holds the file's
/// spectrogram (what CLAP's fusion path needs), never its samples, so an
/// hour-long FILE costs tens of MB, not a GB. The vector equals
/// [`Clap::embed_audio`] of the decoded samples.
///
/// # Errors
///
/// [`Error::NotAudio`] if the file cannot be decoded (the cause names the
/// file); a model error otherwise.
pub fn embed_audio_file(clap: &Clap, path: &Path) -> Result<Vec<f32>> {
    let mut stream = clap.front_end().stream();
    hark_audio::decode_stream(path, &mut |chunk| stream.push(chunk))
        .map_err(|cause| Error::NotAudio { cause })?;
    let features = stream.finish()?;
    let mut v = clap.embed_features(std::slice::from_ref(&features))?;
    Ok(v.remove(0))
}

/// A sound ranking (points, best first, with their cosines) and a word
/// ranking (files, best first).
type Rankings = (Vec<(PointId, f32)>, Vec<FileId>);

/// Which catalog connection a step uses (see `State::second`).
#[derive(Clone, Copy)]
enum Conn {
    Main,
    Second,
}

/// A set of file ids with constant-time membership, for the filter the
/// vector scan asks once per file. Catalog ids are SQLite rowids, dense
/// from 1, so a bitset is small (12.5 KB per 100k files); ids too sparse
/// for one (a hand-edited catalog) fall back to a hash set.
enum IdSet {
    /// The bits, and how many are set.
    Bits(Vec<u64>, usize),
    Hash(std::collections::HashSet<FileId>),
}

impl IdSet {
    fn new(ids: Vec<FileId>) -> IdSet {
        let max = ids.iter().map(|id| id.0).max().unwrap_or(0);
        let dense =
            ids.iter().all(|id| id.0 >= 0) && (max as u64) < 64 * ids.len() as u64 + (1 << 24);
        if !dense {
            return IdSet::Hash(ids.into_iter().collect());
        }
        let mut bits = vec![0u64; max as usize / 64 + 1];
        for id in ids {
            bits[id.0 as usize / 64] |= 1 << (id.0 % 64);
        }
        let len = bits.iter().map(|w| w.count_ones() as usize).sum();
        IdSet::Bits(bits, len)
    }

    /// How many ids the set holds.
    fn len(&self) -> usize {
        match self {
            IdSet::Bits(_, len) => *len,
            IdSet::Hash(set) => set.len(),
        }
    }

    fn contains(&self, id: FileId) -> bool {
        match self {
            IdSet::Bits(bits, _) => {
                id.0 >= 0
                    && bits
                        .get(id.0 as usize / 64)
                        .is_some_and(|w| w & (1 << (id.0 % 64)) != 0)
            }
            IdSet::Hash(set) => set.contains(&id),
        }
    }
}

/// `normalize(q − EXCLUDE_WEIGHT · Σ e)`: see [`EXCLUDE_WEIGHT`].
fn push_away(mut query: Vec<f32>, excluded: &[Vec<f32>]) -> Vec<f32> {
    if excluded.is_empty() {
        return query;
    }
    for e in excluded {
        query
            .iter_mut()
            .zip(e)
            .for_each(|(x, y)| *x -= EXCLUDE_WEIGHT * y);
    }
    normalize(&mut query);
    query
}

// The engine is shared between a UI thread and workers.
const _: fn() = || {
    fn is<T: Send + Sync>() {}
    is::<Engine>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_sets_dense_and_sparse() {
        for ids in [vec![1, 2, 64, 65, 1000], vec![3, 1 << 40, 7]] {
            let set = IdSet::new(ids.iter().map(|&i| FileId(i)).collect());
            assert_eq!(matches!(set, IdSet::Bits(..)), ids.len() == 5);
            assert_eq!(set.len(), ids.len());
            for probe in [0, 1, 2, 3, 7, 63, 64, 65, 66, 999, 1000, 1001, 1 << 40, -1] {
                assert_eq!(set.contains(FileId(probe)), ids.contains(&probe), "{probe}");
            }
        }
        assert!(!IdSet::new(vec![]).contains(FileId(0)));
    }
}
