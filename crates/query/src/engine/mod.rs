//! The [`Engine`]: an open index answering queries. This file holds the
//! engine's public steps; each job behind them has a file of its own:
//! `state` (one opening of the catalog, the vector index loaded on first
//! use), `filter` (metadata filters, in SQL or on the column table),
//! `model` (CLAP loaded on first need and checked against the index; the
//! text cache), `rank` (the sound and word rankings, run at once, and their
//! fusion), `feedback` (the vector arithmetic of exclusions, `--plus` and
//! relevance feedback), `results` (catalog rows into hits, details and
//! summaries), `example` (the vector of a "sounds like" example, an audio
//! file embedded now if need be), `idset` (the set of allowed files),
//! `unavailable` (why a text query is ranked by words alone) and
//! `categorize` (UCS category suggestions).

mod categorize;
mod example;
mod feedback;
mod filter;
mod idset;
mod lock;
mod model;
mod rank;
mod results;
mod state;
mod unavailable;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use hark_model::hub::ModelSpec;
use hark_store::{FileId, ListOrder, PointId};
use hark_types::{FileDetail, Hit, IndexSummary, Matched};

use self::example::{path_vector, stored_vector};
use self::feedback::{example_query, push_away, Rocchio};
use self::model::Model;
use self::rank::{fused_hits, fusion_depth, rankings, sound_ranking, Conn};
use self::state::State;
use crate::error::{Error, Result};
use crate::parse::Query;
use crate::vector::{dot, AnnIndex, VectorIndex};

pub use self::categorize::{Categorizer, CategoryScore, Evaluation, Uncategorised, ZeroShotSource};
pub use self::example::embed_audio_file;
pub use self::state::{IndexLoader, IndexSource};
pub use self::unavailable::SoundUnavailable;

/// The text-tower vectors a query needs (made by [`Engine::embed_query`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryVectors {
    /// The vector of the query's words and phrases; `None` for a query of
    /// filters and exclusions only.
    pub positive: Option<Vec<f32>>,
    /// The vector of each excluded word or phrase, in query order.
    pub excluded: Vec<Vec<f32>>,
    /// How many of these texts went through the text tower (the rest came
    /// from the on-disk cache).
    pub computed: usize,
}

/// What to find sounds like, for [`Engine::similar`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimilarTarget {
    /// An indexed file, by id: its stored vector.
    File(FileId),
    /// A sound file on disk: its stored vector if the index has the file
    /// unchanged, else decoded and embedded now.
    Path(PathBuf),
}

/// An open index, ready for queries. `Send + Sync`: share it between a UI
/// thread and workers; methods take `&self`.
pub struct Engine {
    dir: PathBuf,
    loader: Arc<IndexLoader>,
    state: RwLock<Arc<State>>,
    model: Model,
    /// The categorizer [`Engine::suggest_category`] keeps between calls.
    categorizer: Mutex<Option<Arc<Categorizer>>>,
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
        let loader: Arc<IndexLoader> = Arc::from(loader);
        let state = State::open(index_dir, loader.clone())?;
        let has_files = state.catalog().read(|tx| tx.has_files())?;
        if !has_files && state.meta_model.is_none() {
            return Err(Error::NeverBuilt {
                dir: index_dir.to_owned(),
            });
        }
        Ok(Engine {
            dir: index_dir.to_owned(),
            loader,
            state: RwLock::new(Arc::new(state)),
            model: Model::new(model, index_dir),
            categorizer: Mutex::new(None),
        })
    }

    /// The index directory.
    pub fn index_dir(&self) -> &Path {
        &self.dir
    }

    /// The groups of copies among the indexed files under any of `under`
    /// (all when empty); see [`crate::duplicates`].
    pub fn duplicates(&self, under: &[PathBuf]) -> Result<crate::duplicates::Duplicates> {
        let state = self.state();
        // The catalog is read under its lock; the grouping runs without it.
        let files = crate::duplicates::read_files(&state.catalog(), under)?;
        Ok(crate::duplicates::duplicates(files))
    }

    /// The copies of the indexed file `id`, itself included (first when it
    /// is the keeper; none when it has no copy), and whether it has a
    /// fingerprint; see [`crate::duplicates::copies_of`].
    /// [`Error::UnknownFile`] when the index has no readable file `id`.
    pub fn copies_of(&self, id: FileId) -> Result<crate::duplicates::CopiesOf> {
        let state = self.state();
        let files = crate::duplicates::read_files(&state.catalog(), &[])?;
        crate::duplicates::copies_of(files, id).ok_or(Error::UnknownFile { id })
    }

    fn state(&self) -> Arc<State> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Parses the query language (see [`crate::parse`]). Fast and pure.
    pub fn parse(&self, query: &str) -> Result<Query> {
        Query::parse(query)
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
        let (mut vectors, computed) = self.model.text_vectors(&st, &texts)?;
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
            let facts = st.list(&q.store_filters(), ListOrder::Path, k)?;
            return Ok(results::listing(facts));
        }
        let sound_query = vectors
            .and_then(|v| Some((v.positive.as_ref()?, &v.excluded)))
            .map(|(positive, excluded)| push_away(positive.clone(), excluded));
        let (sound, words) = rankings(&st, q, sound_query.as_deref(), &[], fusion_depth(k))?;
        fused_hits(&st, &sound, &words, k)
    }

    /// Parses, embeds and runs `query`. While the text tower runs, the
    /// vector index loads on another thread if it is not loaded yet.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        self.search_with(query, k, false).map(|(hits, _)| hits)
    }

    /// [`Engine::search`] for a caller that can do without the sound
    /// ranking: when it cannot run (see [`SoundUnavailable`]), the words,
    /// phrases, exclusions and filters rank alone, and the second value
    /// says why. Other failures are errors, as in [`Engine::search`].
    pub fn search_or_words(
        &self,
        query: &str,
        k: usize,
    ) -> Result<(Vec<Hit>, Option<SoundUnavailable>)> {
        self.search_with(query, k, true)
    }

    /// [`Engine::embed_query`] for a caller that can do without the sound
    /// ranking: when it cannot run, the vectors are empty (so
    /// [`Engine::run`] ranks by words and filters alone) and the second
    /// value says why.
    pub fn embed_query_or_words(
        &self,
        q: &Query,
    ) -> Result<(QueryVectors, Option<SoundUnavailable>)> {
        match self.embed_query(q) {
            Ok(vectors) => Ok((vectors, None)),
            Err(e) => self
                .words_only(e)
                .map(|why| (QueryVectors::default(), Some(why))),
        }
    }

    /// Why `error` keeps the sound ranking from running, if it does.
    fn words_only(&self, error: Error) -> Result<SoundUnavailable> {
        SoundUnavailable::from_error(error, &self.model.name())
    }

    /// [`Engine::search`]; when `lenient`, by words alone if the sound
    /// ranking cannot run.
    fn search_with(
        &self,
        query: &str,
        k: usize,
        lenient: bool,
    ) -> Result<(Vec<Hit>, Option<SoundUnavailable>)> {
        let q = self.parse(query)?;
        if q.is_listing() {
            return Ok((self.run(&q, None, k)?, None));
        }
        let st = self.state();
        let by_words = |e: Error| -> Result<(Vec<Hit>, Option<SoundUnavailable>)> {
            if !lenient {
                return Err(e);
            }
            let why = self.words_only(e)?;
            Ok((self.run(&q, None, k)?, Some(why)))
        };
        // A missing or mismatched model fails now, not after the vectors load.
        if let Err(e) = self.model.checked(&st) {
            return by_words(e);
        }
        let vectors = if st.index_loaded() {
            self.embed_query(&q)
        } else {
            std::thread::scope(|s| {
                // Errors surface again, with context, when `run` needs the index.
                let warm = s.spawn(|| st.index().map(drop));
                let vectors = self.embed_query(&q);
                let _ = warm.join();
                vectors
            })
        };
        match vectors {
            Ok(vectors) => Ok((self.run(&q, Some(&vectors), k)?, None)),
            Err(e) => by_words(e),
        }
    }

    /// Loads the vector index now rather than at the first query (a UI can
    /// call this from a worker thread at start-up).
    pub fn warm(&self) -> Result<()> {
        self.state().index().map(drop)
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
        let index = st.index()?;
        let (example, own_id) = match target {
            SimilarTarget::File(id) => (stored_vector(&st, &*index, *id)?, Some(*id)),
            SimilarTarget::Path(path) => path_vector(&st, &self.model, &*index, path)?,
        };
        let mut texts: Vec<&str> = plus.into_iter().collect();
        if let Some(q) = filters {
            texts.extend(q.excluded.iter().map(|t| t.text()));
        }
        let (mut text_vectors, _) = self.model.text_vectors(&st, &texts)?;
        let plus_vector = plus.is_some().then(|| text_vectors.remove(0));
        let query = example_query(example, plus_vector.as_deref());
        let scored_query = query.clone();
        let query = push_away(query, &text_vectors);
        let metadata = filters.map(Query::metadata_filters).unwrap_or_default();
        let exclusions = filters.map(Query::exclusion_terms).unwrap_or_default();
        let own: Vec<FileId> = own_id.into_iter().collect();
        let allowed = st.allowed(&metadata)?;
        let ranked = sound_ranking(
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
        results::hits(
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
        let index = st.index()?;
        let positive = vectors.and_then(|v| v.positive.as_ref());
        if positive.is_none() && wanted.is_empty() {
            return Err(Error::NothingToRefine);
        }
        let mut rocchio = Rocchio::new(index.dim(), wanted.len(), unwanted.len());
        if let Some(p) = positive {
            rocchio.add_query(p)?;
        }
        for id in wanted {
            rocchio.add_wanted(&stored_vector(&st, &*index, *id)?)?;
        }
        for id in unwanted {
            rocchio.add_unwanted(&stored_vector(&st, &*index, *id)?)?;
        }
        let query = rocchio.finish();
        if k == 0 {
            return Ok(Vec::new());
        }
        let excluded = vectors.map(|v| v.excluded.as_slice()).unwrap_or_default();
        let query = push_away(query, excluded);
        let (sound, words) = rankings(&st, q, Some(&query), unwanted, fusion_depth(k))?;
        fused_hits(&st, &sound, &words, k)
    }

    /// The library, most recently indexed first (for an empty query).
    pub fn recent(&self, k: usize) -> Result<Vec<Hit>> {
        let facts = self.state().list(&[], ListOrder::Newest, k)?;
        Ok(results::listing(facts))
    }

    /// Everything the catalog knows about one file.
    pub fn detail(&self, id: FileId) -> Result<FileDetail> {
        results::detail(&self.state(), id)
    }

    /// If a `hark index` run has committed to the catalog (or replaced it)
    /// since it was opened or last reloaded, opens it afresh and returns
    /// true; the vector index reloads at its next use. Cheap when nothing
    /// changed (a file stat and a pragma), so a UI can call it often.
    pub fn reload_if_changed(&self) -> Result<bool> {
        if !self.state().is_stale()? {
            return Ok(false);
        }
        let fresh = Arc::new(State::open(&self.dir, self.loader.clone())?);
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(true)
    }

    /// File counts, roots, and the model and pipeline of the index.
    pub fn summary(&self) -> Result<IndexSummary> {
        results::summary(&self.state(), &self.dir)
    }
}

// The engine is shared between a UI thread and workers.
const _: fn() = || {
    fn is<T: Send + Sync>() {}
    is::<Engine>();
};
