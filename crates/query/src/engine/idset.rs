//! [`IdSet`]: a set of file ids the vector scan can test once per file.

use hark_store::FileId;

/// A set of file ids with constant-time membership, for the filter the
/// vector scan asks once per file. Catalog ids are SQLite rowids, dense
/// from 1, so a bitset is small (12.5 KB per 100k files); ids too sparse
/// for one (a hand-edited catalog) fall back to a hash set.
pub(super) enum IdSet {
    /// The bits, and how many are set.
    Bits(Vec<u64>, usize),
    Hash(std::collections::HashSet<FileId>),
}

impl IdSet {
    /// The set of `ids`.
    pub(super) fn new(ids: Vec<FileId>) -> IdSet {
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
    pub(super) fn len(&self) -> usize {
        match self {
            IdSet::Bits(_, len) => *len,
            IdSet::Hash(set) => set.len(),
        }
    }

    /// Whether `id` is in the set.
    pub(super) fn contains(&self, id: FileId) -> bool {
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
