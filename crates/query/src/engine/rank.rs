//! The two rankings of a query, by sound and by words, run at once and
//! fused into hits.

use hark_store::ann::Allow;
use hark_store::{Catalog, FileId, FtsMatch, MatchTerm, PointId};
use hark_types::Hit;

use super::idset::IdSet;
use super::results::hits;
use super::state::State;
use crate::error::{Error, Result};
use crate::fusion::fuse;
use crate::parse::Query;

/// A sound ranking (points, best first, with their cosines) and a word
/// ranking (files, best first).
type Rankings = (Vec<(PointId, f32)>, Vec<FileId>);

/// Which catalog connection a step uses (see [`State::with_second`]).
#[derive(Clone, Copy)]
pub(super) enum Conn {
    Main,
    Second,
}

/// The sound ranking (of `sound_query`, if any) and the word ranking of
/// `q`, both keeping to the files that pass its filters and leaving out
/// those in `skip`; a listing query has no word ranking.
///
/// The two run at once, the sound ranking on a second thread: each takes
/// milliseconds at 100k files (a graph search; BM25 over every file
/// matching the words), and together they are most of a query's time.
/// Neither waits for the other's connection: the graph search has its
/// own, and the sound ranking looks up excluded words on the catalog's
/// second one.
pub(super) fn rankings(
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
        Some(query) => sound_ranking(st, query, allowed, &excluded, skip, k, conn),
        None => Ok(Vec::new()),
    };
    if q.is_listing() {
        return Ok((sound(Conn::Main)?, Vec::new()));
    }
    let words = || -> Result<Vec<FileId>> {
        let mut words = word_ranking(st, q, allowed, k + skip.len())?;
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

/// How deep each ranking goes before fusing, at least: the fused order of
/// the first hits must not depend on how many were asked for (`-k 20` and
/// the UI's 200 agree), so both rankings are always fused this deep and the
/// result cut after. A file absent from both lists at this depth fuses to
/// at most 3/(61 + depth); every hit above that value is where a fusion
/// of the whole lists would put it (at 200: sound-only hits down to rank
/// 26, word-only ones down to 113).
pub(super) const FUSION_DEPTH: usize = 200;

/// How deep to rank for a query asking for `k` hits (see [`FUSION_DEPTH`]).
pub(super) fn fusion_depth(k: usize) -> usize {
    k.max(FUSION_DEPTH)
}

/// Fuses a sound ranking (of points) and a word ranking (of files), each
/// [`fusion_depth`] deep, and keeps the top `k` hits; a file found by
/// sound through one of its moments starts there.
pub(super) fn fused_hits(
    st: &State,
    sound: &[(PointId, f32)],
    words: &[FileId],
    k: usize,
) -> Result<Vec<Hit>> {
    let files: Vec<FileId> = sound.iter().map(|(p, _)| p.file()).collect();
    let points: Vec<PointId> = sound.iter().map(|(p, _)| *p).collect();
    let fused = fuse(&files, words, fusion_depth(k));
    hits(
        st,
        fused
            .into_iter()
            .take(k)
            .map(|f| (f.id, f.score, f.matched)),
        &points,
    )
}

/// The top `k` files by words (BM25), among the `allowed` ones (all if
/// `None`).
fn word_ranking(st: &State, q: &Query, allowed: Option<&IdSet>, k: usize) -> Result<Vec<FileId>> {
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

/// The top `k` files by similarity to `query` that are `allowed` (all if
/// `None`), match none of `excluded` lexically, and are not in `skip`;
/// each as its nearest point (the whole file or a moment of it). `conn` is
/// the catalog connection for the excluded words.
pub(super) fn sound_ranking(
    st: &State,
    query: &[f32],
    allowed: Option<&IdSet>,
    excluded: &[MatchTerm],
    skip: &[FileId],
    k: usize,
    conn: Conn,
) -> Result<Vec<(PointId, f32)>> {
    let index = st.index()?;
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
        let any = |catalog: &Catalog| Ok(catalog.read(|tx| tx.fts_ids(FtsMatch::AnyOf(excluded)))?);
        match conn {
            Conn::Main => any(&st.catalog())?,
            Conn::Second => st.with_second(any)?,
        }
    };
    denied.extend_from_slice(skip);
    let denied = (!denied.is_empty()).then(|| IdSet::new(denied));
    let allow = |id: FileId| {
        allowed.is_none_or(|a| a.contains(id)) && denied.as_ref().is_none_or(|d| !d.contains(id))
    };
    let filter = (allowed.is_some() || denied.is_some()).then(|| Allow {
        test: &allow,
        passing: allowed.map(IdSet::len),
    });
    index.search(query, k, filter)
}
