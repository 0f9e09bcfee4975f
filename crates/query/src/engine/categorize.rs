//! [`Categorizer`]: UCS category suggestions for the files that have none,
//! from the labelled files' votes, their copies, and the zero-shot match
//! (the evidence and its combination are in [`crate::categorize`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hark_fingerprint::{compare, Fingerprint, Relation, Thresholds};
use hark_store::ann::Allow;
use hark_store::{CategoryFacts, FileId};
use hark_types::{CategoryCandidate, CategoryEvidence, CategorySuggestion, LabelledFile};

use super::idset::IdSet;
use super::state::State;
use super::Engine;
use crate::categorize::{
    combine, embed_category_texts, label_of, load_cached, save_cache, zero_shot_probabilities,
    CatIdx, CategoryTexts, Label, Vote, NEIGHBOURS,
};
use crate::error::{Error, Result};
use crate::vector::VectorIndex;

/// The candidates a suggestion lists.
const CANDIDATES: usize = 3;

/// Only neighbours at least this close are checked for being copies
/// (their fingerprints compared): a copy of a sound, even through a lossy
/// codec, is much closer than that to it.
const COPY_CANDIDATE_SIMILARITY: f32 = 0.9;

/// Where the zero-shot vectors of a [`Categorizer`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZeroShotSource {
    /// The cache file in the index directory.
    Cached,
    /// The text tower, just now: `texts` texts. `unsaved` says why they
    /// could not be saved for next time, if they could not.
    Computed {
        /// How many texts went through the text tower.
        texts: usize,
        /// Why the cache file could not be written.
        unsaved: Option<String>,
    },
}

/// The files [`Categorizer::uncategorised`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Uncategorised {
    /// Files with no UCS category and a vector, by path.
    pub files: Vec<(FileId, PathBuf)>,
    /// Files with no UCS category and no vector yet (nothing to go on).
    pub without_vector: usize,
}

/// How one CatID fared in [`Categorizer::evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryScore {
    /// The CatID.
    pub cat_id: &'static str,
    /// Labelled files with it.
    pub files: usize,
    /// How many of them got it as their first candidate.
    pub top1: usize,
    /// How many got it among their first three.
    pub top3: usize,
}

/// Leave-one-out accuracy over the labelled files ([`Categorizer::evaluate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Labelled files with a vector, each suggested for as if unlabelled.
    pub files: usize,
    /// How many got their own CatID first.
    pub top1: usize,
    /// How many got it among the first three.
    pub top3: usize,
    /// The threshold `suggested` counts at.
    pub min_confidence: f32,
    /// How many got a suggestion at `min_confidence` (the best candidate's
    /// confidence reaching it).
    pub suggested: usize,
    /// How many of those suggestions were their own CatID.
    pub suggested_right: usize,
    /// Per CatID, the most files first (then by CatID).
    pub per_category: Vec<CategoryScore>,
}

/// Suggests UCS categories: the labelled files of one opening of the
/// index, its vectors, and the zero-shot vectors of every CatID. Made by
/// [`Engine::categorizer`]; `Send + Sync`.
pub struct Categorizer {
    state: Arc<State>,
    index: Arc<dyn VectorIndex>,
    /// Every readable file, in id order.
    files: Vec<CategoryFacts>,
    labels: Vec<Label>,
    by_id: HashMap<FileId, usize>,
    labelled: IdSet,
    texts: Arc<CategoryTexts>,
    zero_shot: ZeroShotSource,
}

impl Engine {
    /// A [`Categorizer`] for the index as it is now. Needs the model (the
    /// zero-shot vectors are made with its text tower, once per model, then
    /// read from the index directory's cache): without it, the model's
    /// error. `progress(done, total)` follows the texts through the text
    /// tower when they are not cached.
    pub fn categorizer(&self, progress: &mut dyn FnMut(usize, usize)) -> Result<Categorizer> {
        let state = self.state();
        let reuse = super::lock::lock(&self.categorizer)
            .as_ref()
            .map(|c| c.texts.clone());
        Categorizer::new(self, state, reuse, progress)
    }

    /// The suggestion for the indexed file `id` if it has no UCS category
    /// (`None` if it has one), for a UI: the categorizer is kept between
    /// calls and made anew after a reload.
    pub fn suggest_category(&self, id: FileId) -> Result<Option<CategorySuggestion>> {
        let state = self.state();
        let mut slot = super::lock::lock(&self.categorizer);
        let categorizer = match &*slot {
            Some(c) if Arc::ptr_eq(&c.state, &state) => c.clone(),
            old => {
                let reuse = old.as_ref().map(|c| c.texts.clone());
                let fresh = Arc::new(Categorizer::new(self, state, reuse, &mut |_, _| {})?);
                *slot = Some(fresh.clone());
                fresh
            }
        };
        drop(slot);
        match categorizer.label(id) {
            Some(Label::None) => categorizer.suggest(id).map(Some),
            Some(_) => Ok(None),
            None => Err(Error::UnknownFile { id }),
        }
    }
}

impl Categorizer {
    fn new(
        engine: &Engine,
        state: Arc<State>,
        reuse: Option<Arc<CategoryTexts>>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Categorizer> {
        let model = engine.model.checked(&state)?;
        let index = state.index()?;
        let (texts, zero_shot) = match reuse.filter(|t| t.dim() == index.dim()) {
            Some(texts) => (texts, ZeroShotSource::Cached),
            None => match load_cached(engine.index_dir(), &model.identity) {
                Some(texts) => (Arc::new(texts), ZeroShotSource::Cached),
                None => {
                    let texts = embed_category_texts(model.clap()?, progress)?;
                    let unsaved = save_cache(engine.index_dir(), &model.identity, &texts)
                        .err()
                        .map(|e| e.to_string());
                    let count = crate::categorize::ucs()
                        .iter()
                        .map(|e| crate::categorize::prompts(e).len())
                        .sum();
                    (
                        Arc::new(texts),
                        ZeroShotSource::Computed {
                            texts: count,
                            unsaved,
                        },
                    )
                }
            },
        };
        if texts.dim() != index.dim() && !index.is_empty() {
            return Err(Error::Dimension {
                expected: index.dim(),
                found: texts.dim(),
            });
        }
        let mut files = Vec::new();
        state.catalog().category_facts(|f| files.push(f))?;
        let labels: Vec<Label> = files.iter().map(label_of).collect();
        let by_id = files.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
        let labelled = IdSet::new(
            files
                .iter()
                .zip(&labels)
                .filter(|(_, l)| matches!(l, Label::Known(_)))
                .map(|(f, _)| f.id)
                .collect(),
        );
        Ok(Categorizer {
            state,
            index,
            files,
            labels,
            by_id,
            labelled,
            texts,
            zero_shot,
        })
    }

    /// Where the zero-shot vectors came from.
    pub fn zero_shot(&self) -> &ZeroShotSource {
        &self.zero_shot
    }

    /// How many files are labelled (have a CatID of the UCS list).
    pub fn labelled(&self) -> usize {
        self.labelled.len()
    }

    /// What the name and tags of the file `id` say, `None` for a file the
    /// index does not have (or that failed to index).
    pub fn label(&self, id: FileId) -> Option<Label> {
        self.by_id.get(&id).map(|&i| self.labels[i])
    }

    /// The files with no UCS category under any of `under` (all when
    /// empty), by path.
    pub fn uncategorised(&self, under: &[PathBuf]) -> Uncategorised {
        let mut out = Uncategorised::default();
        for (f, label) in self.files.iter().zip(&self.labels) {
            if *label != Label::None
                || !(under.is_empty() || under.iter().any(|root| f.path.starts_with(root)))
            {
                continue;
            }
            if self.index.vector(f.id).is_some() {
                out.files.push((f.id, f.path.clone()));
            } else {
                out.without_vector += 1;
            }
        }
        out.files.sort_by(|a, b| a.1.cmp(&b.1));
        out
    }

    /// The suggestion for the file `id` (whatever its label: a labelled
    /// file is suggested for as if it had none, itself left out).
    pub fn suggest(&self, id: FileId) -> Result<CategorySuggestion> {
        let (vote, evidence) = self.vote(id)?;
        let candidates = vote
            .top(CANDIDATES)
            .into_iter()
            .map(|(c, confidence)| {
                let entry = c.entry();
                CategoryCandidate {
                    cat_id: entry.cat_id.to_string(),
                    category: entry.category.to_string(),
                    subcategory: entry.subcategory.to_string(),
                    confidence,
                    neighbours: evidence.neighbours.iter().filter(|n| n.0 == c).count(),
                    copies: evidence.copies.iter().filter(|n| n.0 == c).count(),
                    zero_shot: evidence.zero_shot[c.0 as usize],
                }
            })
            .collect();
        let labelled = |(c, i, s): &(CatIdx, usize, f32)| LabelledFile {
            path: self.files[*i].path.clone(),
            cat_id: c.entry().cat_id.to_string(),
            similarity: *s,
        };
        let best_zero_shot = Vote {
            p: evidence.zero_shot.clone(),
            library_weight: 0.0,
        }
        .top(1)
        .first()
        .map(|(c, p)| (c.entry().cat_id.to_string(), *p));
        Ok(CategorySuggestion {
            id,
            path: self.path(id)?.to_owned(),
            candidates,
            evidence: CategoryEvidence {
                copies: evidence.copies.iter().map(labelled).collect(),
                neighbours: evidence.neighbours.iter().map(labelled).collect(),
                library_weight: vote.library_weight,
                zero_shot_best: best_zero_shot,
            },
        })
    }

    /// Leave-one-out over the labelled files: each one's suggestion made
    /// as if it had no label (itself left out of the vote; its copies
    /// still count, as they would for a new file), scored against its
    /// label. `progress(done, total)` after each file.
    pub fn evaluate(
        &self,
        min_confidence: f32,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Evaluation> {
        let targets: Vec<(FileId, CatIdx)> = self
            .files
            .iter()
            .zip(&self.labels)
            .filter_map(|(f, l)| match l {
                Label::Known(c) => Some((f.id, *c)),
                _ => None,
            })
            .filter(|(id, _)| self.index.vector(*id).is_some())
            .collect();
        let mut eval = Evaluation {
            files: 0,
            top1: 0,
            top3: 0,
            min_confidence,
            suggested: 0,
            suggested_right: 0,
            per_category: Vec::new(),
        };
        let mut per: HashMap<CatIdx, CategoryScore> = HashMap::new();
        for (done, (id, truth)) in targets.iter().enumerate() {
            let (vote, _) = self.vote(*id)?;
            let top = vote.top(CANDIDATES);
            let first = top.first().is_some_and(|(c, _)| c == truth);
            let three = top.iter().any(|(c, _)| c == truth);
            let score = per.entry(*truth).or_insert(CategoryScore {
                cat_id: truth.entry().cat_id,
                files: 0,
                top1: 0,
                top3: 0,
            });
            score.files += 1;
            score.top1 += usize::from(first);
            score.top3 += usize::from(three);
            eval.files += 1;
            eval.top1 += usize::from(first);
            eval.top3 += usize::from(three);
            if top.first().is_some_and(|(_, p)| *p >= min_confidence) {
                eval.suggested += 1;
                eval.suggested_right += usize::from(first);
            }
            progress(done + 1, targets.len());
        }
        eval.per_category = per.into_values().collect();
        eval.per_category
            .sort_by(|a, b| b.files.cmp(&a.files).then(a.cat_id.cmp(b.cat_id)));
        Ok(eval)
    }

    fn path(&self, id: FileId) -> Result<&Path> {
        self.by_id
            .get(&id)
            .map(|&i| self.files[i].path.as_path())
            .ok_or(Error::UnknownFile { id })
    }

    /// The combined vote for `id` and what went into it.
    fn vote(&self, id: FileId) -> Result<(Vote, Evidence)> {
        let vector = self.index.vector(id).ok_or_else(|| match self.path(id) {
            Ok(path) => Error::NoVector {
                path: path.to_owned(),
            },
            Err(e) => e,
        })?;
        let zero_shot = zero_shot_probabilities(&self.texts.cosines(&vector));
        let mut neighbours = Vec::new();
        if self.labelled.len() > 0 {
            let allow = |other: FileId| other != id && self.labelled.contains(other);
            let found = self.index.search(
                &vector,
                NEIGHBOURS,
                Some(Allow {
                    test: &allow,
                    passing: Some(self.labelled.len()),
                }),
            )?;
            for (point, similarity) in found {
                let Some(&i) = self.by_id.get(&point.file()) else {
                    continue;
                };
                if let Label::Known(c) = self.labels[i] {
                    neighbours.push((c, i, similarity));
                }
            }
        }
        let copies = self.copies(id, &neighbours)?;
        let votes: Vec<(CatIdx, f32)> = neighbours.iter().map(|(c, _, s)| (*c, *s)).collect();
        let copy_ids: Vec<CatIdx> = copies.iter().map(|(c, _, _)| *c).collect();
        let vote = combine(&zero_shot, &votes, &copy_ids);
        Ok((
            vote,
            Evidence {
                neighbours,
                copies,
                zero_shot,
            },
        ))
    }

    /// The neighbours that hold the same audio as `id`: the same bytes, or
    /// by fingerprint the same recording, trimmed, or an excerpt of the
    /// neighbour (a longer take that contains a labelled sound is not
    /// taken for it).
    fn copies(
        &self,
        id: FileId,
        neighbours: &[(CatIdx, usize, f32)],
    ) -> Result<Vec<(CatIdx, usize, f32)>> {
        let me = &self.files[self.by_id[&id]];
        let mut mine: Option<Option<Fingerprint>> = None;
        let limits = Thresholds::default();
        let mut copies = Vec::new();
        for &(c, i, s) in neighbours {
            if s < COPY_CANDIDATE_SIMILARITY {
                continue;
            }
            let other = &self.files[i];
            if me.content_hash.is_some() && me.content_hash == other.content_hash {
                copies.push((c, i, s));
                continue;
            }
            // Longer by more than a trim: it could only contain the neighbour.
            if let (Some(a), Some(b)) = (me.duration_s, other.duration_s) {
                if a > b + limits.max_trim_s {
                    continue;
                }
            }
            let mine = match &mine {
                Some(print) => print,
                None => mine.insert(self.fingerprint(id)?),
            };
            let Some(mine) = mine else {
                // No fingerprint (indexed by an older hark): bytes only.
                continue;
            };
            let Some(theirs) = self.fingerprint(other.id)? else {
                continue;
            };
            if let Some(m) = compare(mine, &theirs, &limits) {
                if matches!(
                    m.relation,
                    Relation::SameAudio | Relation::Trimmed | Relation::ContainedAt(_)
                ) {
                    copies.push((c, i, s));
                }
            }
        }
        Ok(copies)
    }

    fn fingerprint(&self, id: FileId) -> Result<Option<Fingerprint>> {
        Ok(self
            .state
            .catalog()
            .fingerprint(id)?
            .as_deref()
            .and_then(Fingerprint::from_bytes))
    }
}

/// What went into a vote: `(CatID, index in files, similarity)` of the
/// labelled neighbours and of those that are copies, and the zero-shot
/// probabilities.
struct Evidence {
    neighbours: Vec<(CatIdx, usize, f32)>,
    copies: Vec<(CatIdx, usize, f32)>,
    zero_shot: Vec<f32>,
}
