//! The result list of a search: the best `k` scored points, at most one
//! per file, in a deterministic order.

use crate::PointId;

/// The best `k` (score, point id) pairs seen, **one per file**: a point
/// whose file is already kept replaces it only with a better score, so a
/// long file's many moments take one place. Highest score first on output;
/// ties go to the smaller id, so results are deterministic.
///
/// A sorted vector rather than a heap: a push must find the kept entry of
/// the same file, and `k` is small (search results), while most offers are
/// turned away by [`TopK::admits`] before any of this runs.
#[derive(Debug)]
pub(crate) struct TopK {
    k: usize,
    /// Best first.
    kept: Vec<Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    score: f32,
    id: i64,
}

impl Entry {
    fn file(&self) -> i64 {
        PointId(self.id).file().0
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Greater is better: a higher score, then a smaller id.
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.id.cmp(&self.id))
    }
}

impl TopK {
    pub(crate) fn new(k: usize) -> TopK {
        TopK {
            k,
            kept: Vec::with_capacity(k.min(1024) + 1),
        }
    }

    /// Whether `score` (for some id) could enter: cheap pre-check before
    /// calling a caller's predicate.
    #[inline]
    pub(crate) fn admits(&self, score: f32) -> bool {
        self.k > 0
            && (self.kept.len() < self.k
                || self.kept.last().is_some_and(|worst| score >= worst.score))
    }

    /// How many files are kept.
    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }

    pub(crate) fn push(&mut self, id: i64, score: f32) {
        if self.k == 0 {
            return;
        }
        let entry = Entry { score, id };
        let file = entry.file();
        if let Some(i) = self.kept.iter().position(|e| e.file() == file) {
            if entry <= self.kept[i] {
                return;
            }
            self.kept.remove(i);
        } else if self.kept.len() == self.k {
            if self.kept.last().is_some_and(|worst| entry <= *worst) {
                return;
            }
            self.kept.pop();
        }
        let at = self.kept.partition_point(|e| *e > entry);
        self.kept.insert(at, entry);
    }

    /// The kept pairs, best first.
    pub(crate) fn into_sorted(self) -> Vec<(i64, f32)> {
        self.kept.into_iter().map(|e| (e.id, e.score)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileId;

    fn whole(file: i64) -> i64 {
        PointId::whole(FileId(file)).0
    }

    #[test]
    fn top_k_keeps_best_and_breaks_ties_by_id() {
        let mut top = TopK::new(3);
        for (id, score) in [(5, 0.5), (1, 0.9), (7, 0.1), (3, 0.9), (2, 0.5), (9, 0.95)] {
            top.push(whole(id), score);
        }
        let want = vec![(whole(9), 0.95), (whole(1), 0.9), (whole(3), 0.9)];
        assert_eq!(top.into_sorted(), want);
        let mut none = TopK::new(0);
        none.push(1, 1.0);
        assert!(none.into_sorted().is_empty());
    }

    #[test]
    fn top_k_keeps_one_point_per_file() {
        let moment = |file, seg| PointId::new(FileId(file), seg).0;
        let mut top = TopK::new(2);
        top.push(moment(1, 3), 0.5);
        top.push(moment(1, 4), 0.7);
        top.push(whole(1), 0.6);
        top.push(whole(2), 0.4);
        top.push(moment(3, 1), 0.3);
        assert_eq!(top.len(), 2);
        assert_eq!(
            top.into_sorted(),
            vec![(moment(1, 4), 0.7), (whole(2), 0.4)]
        );
        // A full list whose worst file improves keeps its order right.
        let mut top = TopK::new(2);
        top.push(whole(1), 0.9);
        top.push(whole(2), 0.5);
        top.push(moment(2, 7), 0.95);
        top.push(whole(3), 0.6);
        assert_eq!(
            top.into_sorted(),
            vec![(moment(2, 7), 0.95), (whole(1), 0.9)]
        );
    }
}
