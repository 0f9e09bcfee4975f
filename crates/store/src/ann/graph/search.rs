//! The search over a mapped graph, the same algorithm hnsw_rs runs: greedy
//! descent from the entry point through the upper levels, then a beam
//! search of width `ef` on level 0. Every index is read through the
//! bounds-checked accessors of [`View`], so a damaged file gives wrong
//! results at worst, never a panic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::format::View;
use crate::ann::kernel::dot;

/// Visited marks for one search: a stamp per point, so clearing is
/// bumping the stamp rather than writing n entries.
#[derive(Default)]
pub(super) struct Visited {
    marks: Vec<u32>,
    stamp: u32,
}

impl Visited {
    /// Clears the marks for a search over `n` points.
    pub fn reset(&mut self, n: usize) {
        if self.marks.len() != n {
            self.marks = vec![0; n];
            self.stamp = 0;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.marks.fill(0);
            self.stamp = 1;
        }
    }

    /// Marks `p`; false if it was marked already or is out of range.
    #[inline]
    pub fn insert(&mut self, p: u32) -> bool {
        match self.marks.get_mut(p as usize) {
            Some(m) if *m != self.stamp => {
                *m = self.stamp;
                true
            }
            _ => false,
        }
    }
}

/// A point and its score (dot product with the query), ordered by score.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scored {
    /// The dot product with the query.
    pub score: f32,
    /// The point's index in the file.
    pub point: u32,
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.point.cmp(&self.point))
    }
}

/// `q` · the vector of point `p`; `None` if `p` is out of range or the
/// score is NaN (a damaged vector).
#[inline]
fn score(view: &View<'_>, q: &[f32], p: u32) -> Option<f32> {
    let s = dot(q, view.vector(p as usize)?);
    (!s.is_nan()).then_some(s)
}

/// The reachable points nearest `q` found by a greedy descent from the
/// entry point through the upper levels, then a beam search of width `ef`
/// on level 0. Best first.
pub(super) fn nearest(view: &View<'_>, q: &[f32], ef: usize, visited: &mut Visited) -> Vec<Scored> {
    let mut cur = view.entry;
    let Some(mut cur_score) = score(view, q, cur) else {
        return Vec::new();
    };
    for level in view.levels.iter().skip(1).rev() {
        loop {
            let mut moved = false;
            for &p in level.neighbours_of(cur) {
                if let Some(s) = score(view, q, p) {
                    if s > cur_score {
                        (cur, cur_score) = (p, s);
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
    let Some(level0) = view.levels.first() else {
        return Vec::new();
    };
    let start = Scored {
        score: cur_score,
        point: cur,
    };
    visited.insert(cur);
    // Candidates to expand, best first; the best `ef` found, worst first.
    let mut candidates = BinaryHeap::with_capacity(ef * 2);
    let mut best = BinaryHeap::with_capacity(ef + 1);
    candidates.push(start);
    best.push(Reverse(start));
    while let Some(c) = candidates.pop() {
        let worst = best.peek().map_or(f32::NEG_INFINITY, |w| w.0.score);
        if best.len() >= ef && c.score < worst {
            break;
        }
        for &p in level0.neighbours_of(c.point) {
            if !visited.insert(p) {
                continue;
            }
            let Some(score) = score(view, q, p) else {
                continue;
            };
            let worst = best.peek().map_or(f32::NEG_INFINITY, |w| w.0.score);
            if best.len() < ef || score > worst {
                let s = Scored { score, point: p };
                candidates.push(s);
                best.push(Reverse(s));
                if best.len() > ef {
                    best.pop();
                }
            }
        }
    }
    let mut found: Vec<Scored> = best.into_iter().map(|r| r.0).collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    // Orphans are scanned exactly by the caller; a damaged file could
    // lead here to one.
    found.retain(|s| (s.point as usize) < view.reachable);
    found
}
