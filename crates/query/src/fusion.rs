//! Fusing the ranking by sound (CLAP cosine) with the ranking by words
//! (BM25 over names, folders and tags).
//!
//! The two scores are not on one scale (a cosine near 0.3 can be CLAP's
//! best text-to-sound match; BM25 is unbounded and depends on the query's
//! words), so the lists are fused by rank: weighted reciprocal-rank fusion
//! (Cormack, Clarke and Büttcher, SIGIR 2009):
//!
//! ```text
//! fused(d) = Σ_lists  w_list / (K + rank_list(d))        rank from 1; absent: no term
//! ```
//!
//! - `K = 60`, the paper's value: it flattens the head of each list, so a
//!   file both lists found beats one that either list ranks first alone.
//! - Words weigh 2, sound 1. A word hit has every query word (or phrase) in
//!   its name, folders or tags, which in a sound library a person chose;
//!   CLAP's ranking is a softer signal. With these numbers a word hit at
//!   rank r outranks the best sound-only hit while `2/(60+r) > 1/61`, i.e.
//!   r ≤ 61; and a file found both ways, at worst at rank k in each list,
//!   outranks the first word-only hit while `3/(60+k) > 2/61`, i.e.
//!   k ≤ 31. So for k up to 31 (the CLI's default is 20) hits come in three
//!   tiers: found both ways, then by words only, then by sound only, each
//!   tier in fused order; deeper lists interleave, as rank fusion intends.
//!   Checked on the test library (`crates/query/tests/engine.rs`):
//!   with equal weights, `gravel footsteps` tied the file named for those
//!   words with an unrelated sound the (random-weight) test model ranks
//!   first, and lost the tie; with `K = 1` the hits of `tone` no longer
//!   came as both, then words, then sound. No labelled real library (and
//!   no real model) was at hand to tune further.
//!
//! [`fuse`] cuts each list at its `depth` before fusing. The engine fuses
//! at a fixed depth (at least 200, `engine::rank::FUSION_DEPTH`) whatever
//! number of hits was asked for, and cuts the fused list after: cutting
//! at k first made the order depend on k (a file 30th by sound was "both"
//! at `-k 200` and "words" at `-k 20`, and ranked differently). So "matched
//! by sound" means "in the top 200 (or k, if more) by sound", and the tier
//! arithmetic above holds for the first hits of each list, not for whole
//! lists: deeper in, the tiers interleave.
//!
//! The reported score is the fused value over the best one possible with
//! the lists that produced hits (first in each), so it lies in (0, 1] and a
//! file first in every list scores 1.

use std::collections::HashMap;

use hark_types::{FileId, Matched};

/// The rank constant of reciprocal-rank fusion.
pub(crate) const RRF_K: f64 = 60.0;
/// Weight of the ranking by sound.
pub(crate) const SOUND_WEIGHT: f64 = 1.0;
/// Weight of the ranking by words.
pub(crate) const WORDS_WEIGHT: f64 = 2.0;

/// A fused hit before its facts are read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fused {
    pub id: FileId,
    pub score: f32,
    pub matched: Matched,
}

/// Fuses `sound` and `words` (each best first, no duplicates, each cut at
/// `k` here) into the top `k`, best first. Ties go to the file with the better single rank, then
/// the lower id, so the order is deterministic.
pub(crate) fn fuse(sound: &[FileId], words: &[FileId], k: usize) -> Vec<Fused> {
    let sound = &sound[..sound.len().min(k)];
    let words = &words[..words.len().min(k)];
    // (fused value, best rank, matched by sound, matched by words)
    let mut acc: HashMap<FileId, (f64, usize, bool, bool)> = HashMap::new();
    for (rank, id) in sound.iter().enumerate() {
        let e = acc.entry(*id).or_insert((0.0, usize::MAX, false, false));
        e.0 += SOUND_WEIGHT / (RRF_K + (rank + 1) as f64);
        e.1 = e.1.min(rank);
        e.2 = true;
    }
    for (rank, id) in words.iter().enumerate() {
        let e = acc.entry(*id).or_insert((0.0, usize::MAX, false, false));
        e.0 += WORDS_WEIGHT / (RRF_K + (rank + 1) as f64);
        e.1 = e.1.min(rank);
        e.3 = true;
    }
    let best = [(sound, SOUND_WEIGHT), (words, WORDS_WEIGHT)]
        .iter()
        .filter(|(list, _)| !list.is_empty())
        .map(|(_, w)| w / (RRF_K + 1.0))
        .sum::<f64>();
    let mut fused: Vec<(FileId, f64, usize, Matched)> = acc
        .into_iter()
        .map(|(id, (value, best_rank, by_sound, by_words))| {
            let matched = match (by_sound, by_words) {
                (true, true) => Matched::Both,
                (true, false) => Matched::Sound,
                _ => Matched::Words,
            };
            (id, value, best_rank, matched)
        })
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
    fused.truncate(k);
    fused
        .into_iter()
        .map(|(id, value, _, matched)| Fused {
            id,
            score: (value / best) as f32,
            matched,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[i64]) -> Vec<FileId> {
        v.iter().map(|&i| FileId(i)).collect()
    }

    fn order(fused: &[Fused]) -> Vec<(i64, Matched)> {
        fused.iter().map(|f| (f.id.0, f.matched)).collect()
    }

    #[test]
    fn both_beats_either_and_words_beat_sound() {
        // 3 is found both ways, at ranks 3 and 3; 10 is first by sound only;
        // 20 is first by words only.
        let sound = ids(&[10, 11, 3, 12]);
        let words = ids(&[20, 21, 3]);
        let fused = fuse(&sound, &words, 10);
        assert_eq!(
            order(&fused),
            [
                (3, Matched::Both),
                (20, Matched::Words),
                (21, Matched::Words),
                (10, Matched::Sound),
                (11, Matched::Sound),
                (12, Matched::Sound),
            ]
        );
        // Scores fall with rank and stay in (0, 1].
        assert!(fused.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(fused.iter().all(|f| f.score > 0.0 && f.score <= 1.0));
    }

    #[test]
    fn first_in_both_scores_one() {
        let fused = fuse(&ids(&[5, 6]), &ids(&[5, 7]), 3);
        assert_eq!(fused[0].id, FileId(5));
        assert!((fused[0].score - 1.0).abs() < 1e-6);
        // One list only: its first hit scores 1 too.
        let fused = fuse(&ids(&[8, 9]), &[], 3);
        assert!((fused[0].score - 1.0).abs() < 1e-6);
        assert_eq!(order(&fused), [(8, Matched::Sound), (9, Matched::Sound)]);
        let fused = fuse(&[], &ids(&[4]), 3);
        assert_eq!(order(&fused), [(4, Matched::Words)]);
    }

    #[test]
    fn lists_are_cut_at_k() {
        // 9 is fourth by sound and first by words: with k = 3 it counts as a
        // word hit only.
        let fused = fuse(&ids(&[1, 2, 3, 9]), &ids(&[9]), 3);
        assert_eq!(
            order(&fused),
            [
                (9, Matched::Words),
                (1, Matched::Sound),
                (2, Matched::Sound)
            ]
        );
        assert!(fuse(&ids(&[1]), &ids(&[2]), 0).is_empty());
    }

    #[test]
    fn found_both_ways_at_rank_31_still_beats_the_first_word_hit() {
        // 7 is last (rank k) in both lists; 100 is first by words only.
        for (k, both_first) in [(31, true), (32, false)] {
            let mut sound: Vec<FileId> = (200..200 + k as i64 - 1).map(FileId).collect();
            sound.push(FileId(7));
            let mut words: Vec<FileId> = vec![FileId(100)];
            words.extend((300..300 + k as i64 - 2).map(FileId));
            words.push(FileId(7));
            let fused = fuse(&sound, &words, k);
            let pos = |id| fused.iter().position(|f| f.id == FileId(id)).unwrap();
            assert_eq!(pos(7) < pos(100), both_first, "k = {k}");
        }
    }

    #[test]
    fn words_within_61_ranks_beat_the_best_sound_only_hit() {
        let words: Vec<FileId> = (1000..1061).map(FileId).collect();
        let fused = fuse(&ids(&[1]), &words, 62);
        assert_eq!(fused.last().map(|f| f.id), Some(FileId(1)));
        let words: Vec<FileId> = (1000..1062).map(FileId).collect();
        let fused = fuse(&ids(&[1]), &words, 63);
        assert_eq!(
            fused[61].id,
            FileId(1),
            "rank 62 of words falls below sound rank 1"
        );
    }
}
