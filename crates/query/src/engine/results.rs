//! Turning catalog rows into the result types: [`Hit`]s of a ranking or a
//! listing, a file's [`FileDetail`], the [`IndexSummary`].

use std::path::Path;

use hark_store::{FileFacts, FileId, PointId};
use hark_types::{FileDetail, Hit, IndexSummary, Matched};

use super::state::State;
use crate::error::{Error, Result};

/// Hits in the given order, with their facts; files gone from the catalog
/// since the vector index loaded are left out. A hit whose file is in
/// `points` as a moment gets that moment's start as its offset.
pub(super) fn hits(
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

/// Listed files as hits: score 1, [`Matched::Filter`], no offset.
pub(super) fn listing(facts: Vec<FileFacts>) -> Vec<Hit> {
    facts
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
        .collect()
}

/// Everything the catalog knows about file `id`: its record, and whether
/// it has a vector of the index's model and pipeline.
pub(super) fn detail(st: &State, id: FileId) -> Result<FileDetail> {
    let catalog = st.catalog();
    let (file, vector) = catalog.read(|tx| Ok::<_, Error>((tx.file_by_id(id)?, tx.vector(id)?)))?;
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

/// File counts, roots, and the model and pipeline of the index in `dir`,
/// opened as `st`.
pub(super) fn summary(st: &State, dir: &Path) -> Result<IndexSummary> {
    let catalog = st.catalog();
    let (counts, roots, embedded) = catalog.read(|tx| {
        let embedded = match (&st.meta_model, &st.meta_pipeline) {
            (Some(m), Some(p)) => tx.vector_count(m, p)?,
            _ => 0,
        };
        Ok::<_, Error>((tx.counts()?, tx.roots()?, embedded))
    })?;
    Ok(IndexSummary {
        dir: dir.to_owned(),
        roots: roots.into_iter().map(|r| r.path).collect(),
        files: counts.files,
        embedded,
        waiting: counts.waiting,
        failed: counts.failed,
        model: st.meta_model.clone(),
        pipeline: st.meta_pipeline.clone(),
    })
}
