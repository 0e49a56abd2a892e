//! The write set of one commit interval: every key written or deleted since
//! the last checkpoint, read through before the store.
//!
//! Guarantees: a read sees the latest write of the interval, else the
//! store; a prefix scan merges both in key order; the writes of one input
//! partition can be dropped whole (the partition was revoked before its
//! checkpoint); taking the set leaves it empty; an operator's own batch is
//! appended into the checkpoint's.

use std::collections::BTreeMap;

use super::cf::Cf;
use super::store::{KeyValues, StateError, Store, Write};

/// A pending write: new value (`None` deletes) and the input partition the
/// key belongs to.
type Pending = (Option<Vec<u8>>, i32);

/// Pending writes by (store, key).
#[derive(Debug, Default)]
pub struct StateBatch {
    writes: BTreeMap<(Cf, Vec<u8>), Pending>,
}

impl StateBatch {
    /// The value of `key`: this interval's write, else the store's.
    pub fn get(&self, store: &Store, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.writes.get(&(cf, key.to_vec())) {
            Some((value, _)) => Ok(value.clone()),
            None => store.get(cf, key),
        }
    }

    /// Writes (`Some`) or deletes (`None`) `key`.
    pub fn put(&mut self, cf: Cf, key: Vec<u8>, value: Option<Vec<u8>>, partition: i32) {
        self.writes.insert((cf, key), (value, partition));
    }

    /// Every live (key, value) of `cf` with `from <= key < to`, merged.
    pub fn range(
        &self,
        store: &Store,
        cf: Cf,
        from: &[u8],
        to: &[u8],
    ) -> Result<KeyValues, StateError> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> =
            store.range(cf, from, to)?.into_iter().collect();
        for ((_, key), (value, _)) in self.writes.range((cf, from.to_vec())..(cf, to.to_vec())) {
            match value {
                Some(v) => merged.insert(key.clone(), v.clone()),
                None => merged.remove(key),
            };
        }
        Ok(merged.into_iter().collect())
    }

    /// Every live (key, value) of `cf` starting with `prefix`, merged.
    pub fn scan_prefix(
        &self,
        store: &Store,
        cf: Cf,
        prefix: &[u8],
    ) -> Result<KeyValues, StateError> {
        match prefix_end(prefix) {
            Some(end) => self.range(store, cf, prefix, &end),
            None => {
                let mut all = self.range(store, cf, prefix, &[0xff; 64])?;
                all.retain(|(k, _)| k.starts_with(prefix));
                Ok(all)
            }
        }
    }

    /// Moves every write of `other` into this batch (a key written in both
    /// keeps `other`'s write), leaving `other` empty.
    pub fn append(&mut self, other: &mut StateBatch) {
        self.writes.append(&mut other.writes);
    }

    /// Drops the writes of `partition`.
    pub fn forget_partition(&mut self, partition: i32) {
        self.writes.retain(|_, (_, p)| *p != partition);
    }

    /// Keys written.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Nothing written.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Takes every write, in key order.
    pub fn take(&mut self) -> Vec<Write> {
        std::mem::take(&mut self.writes)
            .into_iter()
            .map(|((cf, key), (value, partition))| Write {
                cf,
                key,
                value,
                partition,
            })
            .collect()
    }
}

/// The smallest key after every key starting with `prefix` (`None` when
/// the prefix is all 0xff).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_through_and_merges_scans() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path(), false)?;
        store.write(&super::super::Checkpoint {
            writes: vec![
                Write {
                    cf: Cf::Pending,
                    key: b"m\0a".to_vec(),
                    value: Some(vec![1]),
                    partition: 0,
                },
                Write {
                    cf: Cf::Pending,
                    key: b"m\0b".to_vec(),
                    value: Some(vec![2]),
                    partition: 0,
                },
                Write {
                    cf: Cf::Pending,
                    key: b"n\0a".to_vec(),
                    value: Some(vec![3]),
                    partition: 1,
                },
            ],
            offsets: Vec::new(),
        })?;
        let mut batch = StateBatch::default();
        batch.put(Cf::Pending, b"m\0b".to_vec(), None, 0);
        batch.put(Cf::Pending, b"m\0c".to_vec(), Some(vec![4]), 0);
        batch.put(Cf::Pending, b"n\0b".to_vec(), Some(vec![5]), 1);
        assert_eq!(batch.get(&store, Cf::Pending, b"m\0a")?, Some(vec![1]));
        assert_eq!(batch.get(&store, Cf::Pending, b"m\0b")?, None);
        let scan = batch.scan_prefix(&store, Cf::Pending, b"m\0")?;
        assert_eq!(
            scan,
            vec![(b"m\0a".to_vec(), vec![1]), (b"m\0c".to_vec(), vec![4])]
        );
        let mut other = StateBatch::default();
        other.put(Cf::Pending, b"m\0c".to_vec(), None, 0);
        other.put(Cf::Orphans, b"m\0c".to_vec(), Some(vec![6]), 0);
        batch.append(&mut other);
        assert!(other.is_empty());
        assert_eq!(
            batch.get(&store, Cf::Pending, b"m\0c")?,
            None,
            "the later write wins"
        );
        assert_eq!(batch.get(&store, Cf::Orphans, b"m\0c")?, Some(vec![6]));
        batch.forget_partition(1);
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.take().len(), 3);
        assert!(batch.is_empty());
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
        Ok(())
    }
}
