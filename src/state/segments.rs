//! Feature windows stored as a log of entry segments.
//!
//! A feature's window is kept as segments: each checkpoint appends one
//! segment with the entries the feature accepted since the last one (those
//! still alive), keyed by (model, kind, feature, first record), and deletes
//! every segment none of whose entries is alive any more. A head entry per
//! feature holds the time window's end. The windows are rebuilt from the
//! live entries on load ([`crate::detect::Windows::rebuild`]).
//!
//! Guarantees:
//! - The bytes written per accepted value are constant (one entry once, one
//!   share of a segment delete later), whatever the window size.
//! - A segment is deleted only when every entry in it is dead, so the
//!   stored segments always hold every live entry; the rebuild ignores the
//!   dead ones it still finds.
//! - Keys sort by model, then feature, then arrival: one prefix scan loads a
//!   model; decoding rejects malformed bytes with an error, never a panic.

use std::collections::{BTreeMap, HashSet};

use super::batch::StateBatch;
use super::cf::Cf;
use super::store::{StateError, Store};
use crate::detect::window::{Entry, Journal, Reader, Tag, WindowValue};
use crate::detect::WindowDecodeError;

/// Kind byte of a numeric feature.
pub const NUMERIC: u8 = b'n';
/// Kind byte of a categorical feature.
pub const CATEGORICAL: u8 = b'c';

/// Key suffix of a feature's head entry (after every segment).
pub const HEAD: u64 = u64::MAX;
/// Format version of a segment value.
const SEGMENT_VERSION: u8 = 1;
/// Format version of a head value.
const HEAD_VERSION: u8 = 1;

/// Prefix of every key of a model.
pub fn model_prefix(model: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(model.len() + 1);
    key.extend_from_slice(model.as_bytes());
    key.push(0);
    key
}

/// Key of a feature's segment starting at record `first` (or its head,
/// at `u64::MAX`).
pub fn segment_key(model: &str, kind: u8, feature: &str, first: u64) -> Vec<u8> {
    let len = u16::try_from(feature.len()).unwrap_or(u16::MAX);
    let mut key = model_prefix(model);
    key.reserve(feature.len() + 11);
    key.push(kind);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(&feature.as_bytes()[..usize::from(len)]);
    key.extend_from_slice(&first.to_be_bytes());
    key
}

/// (kind, feature, first record) of a key under `prefix`.
fn parse_key<'a>(prefix: &[u8], key: &'a [u8]) -> Option<(u8, &'a str, u64)> {
    let rest = key.strip_prefix(prefix)?;
    let (&kind, rest) = rest.split_first()?;
    let len = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
    let feature = std::str::from_utf8(rest.get(2..2 + len)?).ok()?;
    let first = u64::from_be_bytes(rest.get(2 + len..)?.try_into().ok()?);
    Some((kind, feature, first))
}

/// The stored bytes of a segment's entries.
pub fn encode_segment<V: WindowValue>(entries: &[(Tag, Entry<V>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + entries.len() * (17 + V::MIN_BYTES));
    out.push(SEGMENT_VERSION);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (tag, e) in entries {
        out.push(tag.byte());
        out.extend_from_slice(&e.record.to_le_bytes());
        out.extend_from_slice(&e.time.to_le_bytes());
        e.value.write(&mut out);
    }
    out
}

/// The entries of a stored segment.
pub fn decode_segment<V: WindowValue>(
    bytes: &[u8],
) -> Result<Vec<(Tag, Entry<V>)>, WindowDecodeError> {
    let mut r = Reader::new(bytes);
    if r.take::<1>()?[0] != SEGMENT_VERSION {
        return Err(WindowDecodeError("unknown segment format version"));
    }
    let len = u32::from_le_bytes(r.take()?) as usize;
    if bytes.len() < len.saturating_mul(17 + V::MIN_BYTES) {
        return Err(WindowDecodeError("segment shorter than its length"));
    }
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        let tag =
            Tag::from_byte(r.take::<1>()?[0]).ok_or(WindowDecodeError("unknown entry tag"))?;
        let record = u64::from_le_bytes(r.take()?);
        let time = i64::from_le_bytes(r.take()?);
        let value = V::read(&mut r)?;
        out.push((
            tag,
            Entry {
                record,
                time,
                value,
            },
        ));
    }
    r.finish()?;
    Ok(out)
}

fn encode_head(window_end: Option<i64>) -> Vec<u8> {
    let mut out = vec![HEAD_VERSION];
    out.extend_from_slice(&window_end.unwrap_or(i64::MIN).to_le_bytes());
    out
}

fn decode_head(bytes: &[u8]) -> Result<Option<i64>, WindowDecodeError> {
    let mut r = Reader::new(bytes);
    if r.take::<1>()?[0] != HEAD_VERSION {
        return Err(WindowDecodeError("unknown head format version"));
    }
    let end = i64::from_le_bytes(r.take()?);
    r.finish()?;
    Ok((end != i64::MIN).then_some(end))
}

/// The stored segments of one feature: first record → entries alive in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentLog {
    live: BTreeMap<u64, u32>,
}

impl SegmentLog {
    /// Segments stored.
    pub fn segments(&self) -> usize {
        self.live.len()
    }

    /// Writes a window's journal into `batch`: the entries still alive as
    /// one new segment, deletes of segments left without a live entry, the
    /// head when the window end moved.
    #[allow(clippy::too_many_arguments)]
    pub fn flush<V: WindowValue + Clone>(
        &mut self,
        batch: &mut StateBatch,
        partition: i32,
        model: &str,
        kind: u8,
        feature: &str,
        journal: Journal<V>,
        window_end: Option<i64>,
    ) {
        let Journal {
            mut added,
            died,
            end_moved,
        } = journal;
        let first_new = added.first().map(|(_, e)| e.record);
        let mut died_new: HashSet<u64> = HashSet::new();
        for record in died {
            // Records grow with arrival: a record at or after the first new
            // one was added in this interval and is not written yet.
            if first_new.is_some_and(|f| record >= f) {
                died_new.insert(record);
                continue;
            }
            let Some((&first, live)) = self.live.range_mut(..=record).next_back() else {
                continue;
            };
            *live = live.saturating_sub(1);
            if *live == 0 {
                self.live.remove(&first);
                batch.put(
                    Cf::Windows,
                    segment_key(model, kind, feature, first),
                    None,
                    partition,
                );
            }
        }
        if !died_new.is_empty() {
            added.retain(|(tag, e)| *tag == Tag::Reference || !died_new.contains(&e.record));
        }
        if let Some((_, e)) = added.first() {
            let first = e.record;
            self.live.insert(first, added.len() as u32);
            batch.put(
                Cf::Windows,
                segment_key(model, kind, feature, first),
                Some(encode_segment(&added)),
                partition,
            );
        }
        if end_moved {
            batch.put(
                Cf::Windows,
                segment_key(model, kind, feature, HEAD),
                Some(encode_head(window_end)),
                partition,
            );
        }
    }
}

/// One feature as stored: its entries in arrival order, the window end,
/// and the segments with the records in each (to count the live ones once
/// the windows are rebuilt).
#[derive(Debug, Default)]
pub struct StoredFeature<V> {
    /// Entries of every segment, in arrival order.
    pub entries: Vec<(Tag, Entry<V>)>,
    /// The time window's end.
    pub window_end: Option<i64>,
    /// (first record, (tag, record) of each entry) per segment.
    segments: Vec<(u64, Vec<(Tag, u64)>)>,
}

impl<V> StoredFeature<V> {
    /// The segment bookkeeping, given the records alive after the rebuild.
    pub fn log(&self, live_window_records: &[u64]) -> SegmentLog {
        let live: HashSet<u64> = live_window_records.iter().copied().collect();
        let mut log = SegmentLog::default();
        for (first, records) in &self.segments {
            let n = records
                .iter()
                .filter(|(tag, r)| *tag == Tag::Reference || live.contains(r))
                .count();
            // A segment already dead is kept with one live entry so that it
            // is deleted by the next death in it; rare (a crash between a
            // death and its delete cannot happen: both are in one batch).
            log.live
                .insert(*first, u32::try_from(n.max(1)).unwrap_or(u32::MAX));
        }
        log
    }
}

/// Every stored feature of a model, numeric and categorical, by name.
#[derive(Debug, Default)]
pub struct StoredModel {
    /// Numeric features.
    pub numeric: BTreeMap<String, StoredFeature<f64>>,
    /// Categorical features.
    pub categorical: BTreeMap<String, StoredFeature<String>>,
}

fn corrupt(model: &str, feature: &str, e: WindowDecodeError) -> StateError {
    StateError::Corrupt {
        key: format!("{model}/{feature}"),
        reason: e.to_string(),
    }
}

fn add<V: WindowValue>(
    into: &mut BTreeMap<String, StoredFeature<V>>,
    model: &str,
    feature: &str,
    first: u64,
    value: &[u8],
) -> Result<(), StateError> {
    let f = into
        .entry(feature.to_string())
        .or_insert_with(|| StoredFeature {
            entries: Vec::new(),
            window_end: None,
            segments: Vec::new(),
        });
    if first == HEAD {
        f.window_end = decode_head(value).map_err(|e| corrupt(model, feature, e))?;
        return Ok(());
    }
    let entries = decode_segment::<V>(value).map_err(|e| corrupt(model, feature, e))?;
    f.segments
        .push((first, entries.iter().map(|(t, e)| (*t, e.record)).collect()));
    f.entries.extend(entries);
    Ok(())
}

/// Loads every stored window of `model` (windows are written only at
/// checkpoints, so the store holds all of them).
pub fn load(store: &Store, model: &str) -> Result<StoredModel, StateError> {
    let prefix = model_prefix(model);
    let mut out = StoredModel::default();
    for (key, value) in StateBatch::default().scan_prefix(store, Cf::Windows, &prefix)? {
        let Some((kind, feature, first)) = parse_key(&prefix, &key) else {
            return Err(StateError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                reason: "not a window key".into(),
            });
        };
        match kind {
            NUMERIC => add(&mut out.numeric, model, feature, first, &value)?,
            CATEGORICAL => add(&mut out.categorical, model, feature, first, &value)?,
            _ => {
                return Err(StateError::Corrupt {
                    key: format!("{model}/{feature}"),
                    reason: format!("unknown feature kind {kind}"),
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "segments_tests.rs"]
mod tests;
