//! A categorical feature's reference and current windows (count-based).
//!
//! Guarantees: the reference holds the counts of the feature's first
//! `reference_size` values for a model and never changes once full; the
//! current window holds at most `window_size` of the later values, newest
//! last, and its counts always equal a recount of its entries (also after
//! decoding). Decoding rejects malformed bytes with an error, never a panic.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::window::WindowDecodeError;

/// One value of the current window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryEntry {
    /// 1-based index of the model record that carried the value.
    pub record: u64,
    /// Its event time (ms).
    pub time: i64,
    /// The category.
    pub value: String,
}

/// Reference and current windows of one categorical (model, feature).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoricalWindow {
    /// Category counts of the reference window.
    pub reference: BTreeMap<String, u64>,
    /// Values in the reference window.
    pub reference_len: usize,
    /// Event time of the first reference value.
    pub reference_start_time: i64,
    /// Event time of the last reference value.
    pub reference_end_time: i64,
    /// The current window, oldest first.
    pub current: VecDeque<CategoryEntry>,
    #[serde(skip)]
    counts: BTreeMap<String, u64>,
}

impl CategoricalWindow {
    /// Adds a value: to the reference until it holds `reference_size`
    /// values, then to the current window, evicting beyond `window_size`.
    pub fn push(&mut self, entry: CategoryEntry, reference_size: usize, window_size: usize) {
        if self.reference_len < reference_size {
            if self.reference_len == 0 {
                self.reference_start_time = entry.time;
            }
            self.reference_end_time = entry.time;
            *self.reference.entry(entry.value).or_default() += 1;
            self.reference_len += 1;
            return;
        }
        *self.counts.entry(entry.value.clone()).or_default() += 1;
        self.current.push_back(entry);
        while self.current.len() > window_size {
            if let Some(old) = self.current.pop_front() {
                if let Some(c) = self.counts.get_mut(&old.value) {
                    *c -= 1;
                    if *c == 0 {
                        self.counts.remove(&old.value);
                    }
                }
            }
        }
    }

    /// True when both windows are full.
    pub fn is_ready(&self, reference_size: usize, window_size: usize) -> bool {
        self.reference_len >= reference_size && self.current.len() >= window_size
    }

    /// Category counts of the current window.
    pub fn current_counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    /// Encodes for the store.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes what [`CategoricalWindow::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, WindowDecodeError> {
        let mut w: CategoricalWindow = serde_json::from_slice(bytes)
            .map_err(|_| WindowDecodeError("not a categorical window"))?;
        // Checked: stored counts near u64::MAX must not overflow the sum.
        let total = w
            .reference
            .values()
            .try_fold(0u64, |sum, &count| sum.checked_add(count));
        if total != Some(w.reference_len as u64) {
            return Err(WindowDecodeError("reference counts do not add up"));
        }
        for e in &w.current {
            *w.counts.entry(e.value.clone()).or_default() += 1;
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(i: u64, v: &str) -> CategoryEntry {
        CategoryEntry {
            record: i,
            time: i as i64,
            value: v.to_string(),
        }
    }

    #[test]
    fn fills_reference_then_slides() {
        let mut w = CategoricalWindow::default();
        for (i, v) in ["a", "b", "a", "c", "c", "d"].iter().enumerate() {
            w.push(entry(i as u64 + 1, v), 3, 2);
        }
        assert_eq!(
            w.reference,
            BTreeMap::from([("a".into(), 2), ("b".into(), 1)])
        );
        assert_eq!(
            w.current_counts(),
            &BTreeMap::from([("c".into(), 1), ("d".into(), 1)])
        );
        assert!(w.is_ready(3, 2));
        assert!(CategoricalWindow::decode(b"{}").is_err());
        assert!(CategoricalWindow::decode(b"\xff").is_err());
    }

    #[test]
    fn overflowing_reference_counts_are_corrupt_not_a_panic() {
        // Found by tests/fuzz_inputs.rs: the counts' sum overflowed u64 (a
        // panic in debug builds; in release it wrapped and could match).
        let stored = br#"{"reference":{"de":18446744073709551615,"fr":1},"reference_len":0,
            "reference_start_time":0,"reference_end_time":0,"current":[]}"#;
        assert_eq!(
            CategoricalWindow::decode(stored),
            Err(WindowDecodeError("reference counts do not add up"))
        );
        let wrapped = br#"{"reference":{"de":18446744073709551615,"fr":3},"reference_len":2,
            "reference_start_time":0,"reference_end_time":0,"current":[]}"#;
        assert!(CategoricalWindow::decode(wrapped).is_err());
    }

    proptest! {
        #[test]
        fn counts_match_entries_and_round_trip(values in proptest::collection::vec(0u8..5, 0..100), r in 1usize..10, c in 1usize..10) {
            let mut w = CategoricalWindow::default();
            for (i, v) in values.iter().enumerate() {
                w.push(entry(i as u64 + 1, &v.to_string()), r, c);
            }
            let mut recount: BTreeMap<String, u64> = BTreeMap::new();
            for e in &w.current {
                *recount.entry(e.value.clone()).or_default() += 1;
            }
            prop_assert_eq!(w.current_counts(), &recount);
            prop_assert_eq!(CategoricalWindow::decode(&w.encode()), Ok(w));
        }
    }
}
