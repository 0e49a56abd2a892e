//! A feature's reference and current windows (count-based).
//!
//! Guarantees: the reference window holds the feature's first
//! `reference_size` values for a model, in arrival order, and never changes
//! once full; the current window holds at most `window_size` of the values
//! that came after the reference filled, newest last. The binary encoding
//! round-trips exactly and decoding rejects malformed bytes with an error,
//! never a panic.

use std::collections::VecDeque;

/// One value of the current window, with where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowEntry {
    /// 1-based index of the model record that carried the value.
    pub record: u64,
    /// Its event time (ms).
    pub time: i64,
    /// The feature value.
    pub value: f64,
}

/// Reference and current windows of one (model, feature).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureWindow {
    /// The reference values, oldest first.
    pub reference: Vec<f64>,
    /// Event time of the first reference value.
    pub reference_start_time: i64,
    /// Event time of the last reference value.
    pub reference_end_time: i64,
    /// The current window, oldest first.
    pub current: VecDeque<WindowEntry>,
}

/// Bytes that are not an encoded [`FeatureWindow`] (corrupt local state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt feature window: {0}")]
pub struct WindowDecodeError(pub &'static str);

const FORMAT_VERSION: u8 = 1;

impl FeatureWindow {
    /// Adds a value: to the reference until it holds `reference_size`
    /// values, then to the current window, evicting the oldest beyond
    /// `window_size`.
    pub fn push(&mut self, entry: WindowEntry, reference_size: usize, window_size: usize) {
        if self.reference.len() < reference_size {
            if self.reference.is_empty() {
                self.reference_start_time = entry.time;
            }
            self.reference_end_time = entry.time;
            self.reference.push(entry.value);
            return;
        }
        self.current.push_back(entry);
        while self.current.len() > window_size {
            self.current.pop_front();
        }
    }

    /// True when both windows are full and a test is meaningful.
    pub fn is_ready(&self, reference_size: usize, window_size: usize) -> bool {
        self.reference.len() >= reference_size && self.current.len() >= window_size
    }

    /// The current window's values, oldest first.
    pub fn current_values(&self) -> Vec<f64> {
        self.current.iter().map(|e| e.value).collect()
    }

    /// Encodes to a compact little-endian binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(1 + 4 + 16 + self.reference.len() * 8 + 4 + self.current.len() * 24);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&(self.reference.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.reference_start_time.to_le_bytes());
        out.extend_from_slice(&self.reference_end_time.to_le_bytes());
        for v in &self.reference {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.current.len() as u32).to_le_bytes());
        for e in &self.current {
            out.extend_from_slice(&e.record.to_le_bytes());
            out.extend_from_slice(&e.time.to_le_bytes());
            out.extend_from_slice(&e.value.to_le_bytes());
        }
        out
    }

    /// Decodes what [`FeatureWindow::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, WindowDecodeError> {
        let mut r = Reader(bytes);
        if r.take::<1>()?[0] != FORMAT_VERSION {
            return Err(WindowDecodeError("unknown format version"));
        }
        let ref_len = u32::from_le_bytes(r.take()?) as usize;
        let reference_start_time = i64::from_le_bytes(r.take()?);
        let reference_end_time = i64::from_le_bytes(r.take()?);
        if r.0.len() < ref_len.saturating_mul(8) {
            return Err(WindowDecodeError("reference shorter than its length"));
        }
        let mut reference = Vec::with_capacity(ref_len);
        for _ in 0..ref_len {
            reference.push(f64::from_le_bytes(r.take()?));
        }
        let cur_len = u32::from_le_bytes(r.take()?) as usize;
        if r.0.len() != cur_len.saturating_mul(24) {
            return Err(WindowDecodeError("current window length mismatch"));
        }
        let mut current = VecDeque::with_capacity(cur_len);
        for _ in 0..cur_len {
            current.push_back(WindowEntry {
                record: u64::from_le_bytes(r.take()?),
                time: i64::from_le_bytes(r.take()?),
                value: f64::from_le_bytes(r.take()?),
            });
        }
        Ok(FeatureWindow {
            reference,
            reference_start_time,
            reference_end_time,
            current,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WindowDecodeError> {
        if self.0.len() < N {
            return Err(WindowDecodeError("truncated"));
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(i: u64) -> WindowEntry {
        WindowEntry {
            record: i,
            time: i as i64 * 1000,
            value: i as f64,
        }
    }

    #[test]
    fn reference_fills_first_then_current_slides() {
        let mut w = FeatureWindow::default();
        for i in 1..=10 {
            w.push(entry(i), 4, 3);
        }
        assert_eq!(w.reference, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(w.reference_start_time, 1000);
        assert_eq!(w.reference_end_time, 4000);
        assert_eq!(w.current_values(), vec![8.0, 9.0, 10.0]);
        assert!(w.is_ready(4, 3));
        assert!(!w.is_ready(4, 4));
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(FeatureWindow::decode(&[]).is_err());
        assert!(FeatureWindow::decode(&[2, 0, 0, 0, 0]).is_err());
        let mut bytes = FeatureWindow::default().encode();
        bytes.push(1);
        assert!(FeatureWindow::decode(&bytes).is_err());
        let huge = [
            1, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(FeatureWindow::decode(&huge).is_err());
    }

    proptest! {
        #[test]
        fn encode_round_trips(values in proptest::collection::vec(-1e9f64..1e9, 0..80), r in 1usize..20, c in 1usize..20) {
            let mut w = FeatureWindow::default();
            for (i, v) in values.iter().enumerate() {
                w.push(WindowEntry { record: i as u64 + 1, time: i as i64, value: *v }, r, c);
            }
            prop_assert_eq!(FeatureWindow::decode(&w.encode()), Ok(w));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = FeatureWindow::decode(&bytes);
        }
    }
}
