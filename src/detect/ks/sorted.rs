//! A sorted multiset of `u64` keys kept in blocks of bounded size.
//!
//! Guarantees: iteration yields every stored key in ascending order, equal
//! keys adjacent; an insert or a removal costs a binary search over the
//! blocks, one inside a block, and a move of at most [`MAX_BLOCK`] keys, so
//! its cost does not grow with the number of keys the way one sorted vector's
//! tail move does. Every block is non-empty and blocks are in key order.

/// A block is split in two when it grows past this many keys (8 KiB).
const MAX_BLOCK: usize = 1024;

/// Sorted keys in blocks.
#[derive(Clone, Debug, Default)]
pub struct SortedKeys {
    blocks: Vec<Vec<u64>>,
    len: usize,
}

impl SortedKeys {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds one occurrence of `key`.
    pub fn insert(&mut self, key: u64) {
        // The first block whose last key is above `key`, else the last block.
        let at = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|&last| last <= key));
        let at = at.min(self.blocks.len().saturating_sub(1));
        match self.blocks.get_mut(at) {
            Some(block) => {
                let pos = block.partition_point(|&k| k <= key);
                block.insert(pos, key);
                if block.len() > MAX_BLOCK {
                    let upper = block.split_off(block.len() / 2);
                    self.blocks.insert(at + 1, upper);
                }
            }
            None => self.blocks.push(vec![key]),
        }
        self.len += 1;
    }

    /// Removes one occurrence of `key`; `false` (and no change) if absent.
    pub fn remove(&mut self, key: u64) -> bool {
        // The first occurrence, if any, is in the first block whose last key
        // is at least `key`.
        let at = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|&last| last < key));
        let Some(block) = self.blocks.get_mut(at) else {
            return false;
        };
        let pos = block.partition_point(|&k| k < key);
        if block.get(pos) != Some(&key) {
            return false;
        }
        block.remove(pos);
        if block.is_empty() {
            self.blocks.remove(at);
        }
        self.len -= 1;
        true
    }

    /// The keys in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.blocks.iter().flatten().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_a_sorted_vector(ops in proptest::collection::vec((any::<bool>(), 0u64..300), 0..6000)) {
            let mut keys = SortedKeys::default();
            let mut model: Vec<u64> = Vec::new();
            for (insert, k) in ops {
                if insert {
                    keys.insert(k);
                    let at = model.partition_point(|&m| m <= k);
                    model.insert(at, k);
                } else {
                    let found = model.binary_search(&k).ok();
                    if let Some(at) = found {
                        model.remove(at);
                    }
                    prop_assert_eq!(keys.remove(k), found.is_some());
                }
                prop_assert_eq!(keys.len(), model.len());
            }
            prop_assert_eq!(keys.iter().collect::<Vec<_>>(), model);
            prop_assert!(keys.blocks.iter().all(|b| !b.is_empty() && b.len() <= MAX_BLOCK));
        }
    }

    #[test]
    fn ascending_inserts_split_blocks() {
        let mut keys = SortedKeys::default();
        (0..5000).for_each(|k| keys.insert(k));
        assert!(keys.blocks.len() > 4);
        assert!(keys.iter().eq(0..5000));
        assert!((0..5000).all(|k| keys.remove(k)));
        assert!(keys.is_empty() && keys.blocks.is_empty());
    }
}
