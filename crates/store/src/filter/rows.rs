//! A set of rows of a [`FileColumns`](crate::FileColumns), as a bitset:
//! what evaluating a filter on the columns gives, combined with `and`, `or`
//! and `negate` as filters combine.

/// A set of rows of a [`FileColumns`](crate::FileColumns), as a bitset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    bits: Vec<u64>,
    len: usize,
}

impl Rows {
    pub(crate) fn none(len: usize) -> Rows {
        Rows {
            bits: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub(crate) fn all(len: usize) -> Rows {
        let mut rows = Rows {
            bits: vec![!0; len.div_ceil(64)],
            len,
        };
        rows.clear_tail();
        rows
    }

    pub(crate) fn from_fn(len: usize, mut f: impl FnMut(usize) -> bool) -> Rows {
        let mut bits = vec![0u64; len.div_ceil(64)];
        for (w, word) in bits.iter_mut().enumerate() {
            let start = w * 64;
            let end = (start + 64).min(len);
            let mut x = 0u64;
            for row in start..end {
                x |= u64::from(f(row)) << (row - start);
            }
            *word = x;
        }
        Rows { bits, len }
    }

    pub(crate) fn insert(&mut self, row: usize) {
        self.bits[row / 64] |= 1 << (row % 64);
    }

    /// Clears the bits past `len` in the last word (after a negation).
    fn clear_tail(&mut self) {
        if !self.len.is_multiple_of(64) {
            if let Some(last) = self.bits.last_mut() {
                *last &= (1u64 << (self.len % 64)) - 1;
            }
        }
    }

    pub(crate) fn and(&mut self, other: &Rows) {
        self.bits
            .iter_mut()
            .zip(&other.bits)
            .for_each(|(a, b)| *a &= b);
    }

    pub(crate) fn or(&mut self, other: &Rows) {
        self.bits
            .iter_mut()
            .zip(&other.bits)
            .for_each(|(a, b)| *a |= b);
    }

    pub(crate) fn negate(&mut self) {
        self.bits.iter_mut().for_each(|a| *a = !*a);
        self.clear_tail();
    }

    /// How many rows are in the set.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The rows, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                (word != 0).then(|| {
                    let bit = word.trailing_zeros() as usize;
                    word &= word - 1;
                    w * 64 + bit
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_sets() {
        for len in [0, 1, 63, 64, 65, 130] {
            let every_third = Rows::from_fn(len, |r| r % 3 == 0);
            let mut rows: Vec<usize> = every_third.iter().collect();
            assert_eq!(rows, (0..len).step_by(3).collect::<Vec<_>>());
            let mut not = every_third.clone();
            not.negate();
            assert_eq!(not.count(), len - rows.len());
            not.or(&every_third);
            assert_eq!(not, Rows::all(len));
            not.and(&Rows::none(len));
            assert_eq!(not.count(), 0);
            rows.clear();
            let mut set = Rows::none(len);
            for r in (0..len).rev().step_by(5) {
                set.insert(r);
                rows.push(r);
            }
            rows.reverse();
            assert_eq!(set.iter().collect::<Vec<_>>(), rows);
        }
    }
}
