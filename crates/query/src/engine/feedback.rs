//! Moving a query vector in CLAP's space: away from excluded texts, toward
//! a text (`similar --plus`), and toward or away from files the user
//! marked (relevance feedback). Pure arithmetic on unit vectors.

use crate::error::{Error, Result};
use crate::vector::normalize;

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

/// `normalize(q − EXCLUDE_WEIGHT · Σ e)`: see [`EXCLUDE_WEIGHT`]; `query`
/// unchanged when nothing is excluded.
pub(super) fn push_away(mut query: Vec<f32>, excluded: &[Vec<f32>]) -> Vec<f32> {
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

/// The query of an example's vector, normalised, moved toward the vector
/// of a `plus` text if there is one (see [`PLUS_WEIGHT`]).
pub(super) fn example_query(mut example: Vec<f32>, plus: Option<&[f32]>) -> Vec<f32> {
    normalize(&mut example);
    if let Some(t) = plus {
        for (x, y) in example.iter_mut().zip(t) {
            *x += PLUS_WEIGHT * y;
        }
        normalize(&mut example);
    }
    example
}

/// A Rocchio query being summed (see [`ROCCHIO`]): add the query's own
/// vector, then each wanted and unwanted file's, then [`Rocchio::finish`].
pub(super) struct Rocchio {
    query: Vec<f32>,
    wanted: usize,
    unwanted: usize,
}

impl Rocchio {
    /// A zero query of `dim` dimensions, for `wanted` and `unwanted` files.
    pub(super) fn new(dim: usize, wanted: usize, unwanted: usize) -> Rocchio {
        Rocchio {
            query: vec![0f32; dim],
            wanted,
            unwanted,
        }
    }

    /// Adds the query's own vector (weight α).
    pub(super) fn add_query(&mut self, v: &[f32]) -> Result<()> {
        self.add(v, ROCCHIO.0)
    }

    /// Adds a wanted file's vector (weight β over the wanted files).
    pub(super) fn add_wanted(&mut self, v: &[f32]) -> Result<()> {
        self.add(v, ROCCHIO.1 / self.wanted as f32)
    }

    /// Subtracts an unwanted file's vector (weight γ over the unwanted
    /// files).
    pub(super) fn add_unwanted(&mut self, v: &[f32]) -> Result<()> {
        self.add(v, -ROCCHIO.2 / self.unwanted as f32)
    }

    fn add(&mut self, v: &[f32], w: f32) -> Result<()> {
        if v.len() != self.query.len() {
            return Err(Error::Dimension {
                expected: self.query.len(),
                found: v.len(),
            });
        }
        self.query.iter_mut().zip(v).for_each(|(x, y)| *x += w * y);
        Ok(())
    }

    /// The summed query, normalised.
    pub(super) fn finish(mut self) -> Vec<f32> {
        normalize(&mut self.query);
        self.query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn push_away_moves_off_the_excluded_and_renormalises() {
        let q = vec![1.0, 0.0];
        assert_eq!(push_away(q.clone(), &[]), q);
        // (1, 0) − 0.5 (0.6, 0.8) = (0.7, −0.4), over its length.
        let moved = push_away(q, &[vec![0.6, 0.8]]);
        let len = (0.7f32 * 0.7 + 0.4 * 0.4).sqrt();
        assert!(close(&moved, &[0.7 / len, -0.4 / len]), "{moved:?}");
    }

    #[test]
    fn plus_lands_halfway_on_the_sphere() {
        let half = std::f32::consts::FRAC_1_SQRT_2;
        assert!(close(&example_query(vec![2.0, 0.0], None), &[1.0, 0.0]));
        let q = example_query(vec![2.0, 0.0], Some(&[0.0, 1.0]));
        assert!(close(&q, &[half, half]), "{q:?}");
    }

    #[test]
    fn rocchio_weighs_means_of_wanted_and_unwanted() {
        let mut r = Rocchio::new(3, 2, 1);
        r.add_query(&[1.0, 0.0, 0.0]).unwrap();
        r.add_wanted(&[0.0, 1.0, 0.0]).unwrap();
        r.add_wanted(&[0.0, 1.0, 0.0]).unwrap();
        r.add_unwanted(&[0.0, 0.0, 1.0]).unwrap();
        // (1, 0.75, −0.15), normalised.
        let len = (1.0f32 + 0.75 * 0.75 + 0.15 * 0.15).sqrt();
        let q = r.finish();
        assert!(close(&q, &[1.0 / len, 0.75 / len, -0.15 / len]), "{q:?}");
    }

    #[test]
    fn rocchio_refuses_another_dimension() {
        let mut r = Rocchio::new(3, 1, 0);
        let e = r.add_wanted(&[1.0, 0.0]).unwrap_err();
        assert!(matches!(
            e,
            Error::Dimension {
                expected: 3,
                found: 2
            }
        ));
    }
}
