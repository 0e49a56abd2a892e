//! The delayed-label join: predictions wait in RocksDB for their label,
//! labels that come first wait for their prediction, both up to the TTL.
//!
//! Guarantees:
//! - Every label ends up counted once in the model's [`LabelCounts`] as
//!   joined, duplicate, unknown (its prediction never came within the TTL)
//!   or incomparable; `early` also counts those that came before their
//!   prediction and waited for it.
//! - A joined prediction stays marked as joined until its TTL passes, so a
//!   second label for it is a duplicate, never a second outcome.
//! - Waiting entries are expired by the model's event-time watermark minus
//!   the TTL, through an expiry index, never by wall-clock time.
//! - All writes go through the processor's [`StateBatch`] and reach RocksDB
//!   (and the changelog) with the next checkpoint; values are binary
//!   ([`Table`]), never JSON.
//!
//! [`StateBatch`]: crate::state::StateBatch
//! [`Table`]: crate::state::Table
//!
//! [`LabelCounts`]: crate::state::LabelCounts

use serde::{Deserialize, Serialize};

use super::events::{concept_event, status, track_alert};
use super::processor::{Output, Processor, SourcePos};
use crate::detect::accuracy::{abs_error, is_hit};
use crate::detect::hysteresis::Transition;
use crate::ids;
use crate::schema::{Label, Prediction};
use crate::state::{window_key, AlertKey, Cf, StateError, Table};

/// A prediction waiting for its label (or joined, until its TTL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Waiting {
    /// Prediction event time (ms).
    t: i64,
    /// Score.
    s: f64,
    /// Predicted class.
    c: Option<String>,
    /// Joined already.
    j: bool,
}

/// A label waiting for its prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Early {
    /// Label event time (ms).
    t: i64,
    /// The label.
    l: String,
}

/// Predictions waiting for their label.
const PENDING: Table<Waiting> = Table::new(Cf::Pending, "pending", 1);
/// Labels waiting for their prediction.
const ORPHANS: Table<Early> = Table::new(Cf::Orphans, "orphans", 1);

const KIND_PREDICTION: u8 = b'p';
const KIND_LABEL: u8 = b'l';

/// Expiry index key: model, NUL, order-preserving time, kind, id.
fn expiry_key(model: &str, time: i64, kind: u8, id: &str) -> Vec<u8> {
    let mut key = expiry_prefix(model, time);
    key.push(kind);
    key.extend_from_slice(id.as_bytes());
    key
}

fn expiry_prefix(model: &str, time: i64) -> Vec<u8> {
    let mut key = Vec::with_capacity(model.len() + 10);
    key.extend_from_slice(model.as_bytes());
    key.push(0);
    key.extend_from_slice(&((time as u64) ^ (1 << 63)).to_be_bytes());
    key
}

/// The expiry-index entry of a stored waiting prediction or early label
/// (`None` for any other store, or a value that does not decode).
pub fn expiry_index(cf: Cf, key: &[u8], value: &[u8]) -> Option<(Cf, Vec<u8>)> {
    let split = key.iter().position(|b| *b == 0)?;
    let model = std::str::from_utf8(&key[..split]).ok()?;
    let id = std::str::from_utf8(&key[split + 1..]).ok()?;
    let index = match cf {
        Cf::Pending => {
            let w = PENDING.decode(key, value).ok()?;
            expiry_key(model, w.t, KIND_PREDICTION, id)
        }
        Cf::Orphans => {
            let e = ORPHANS.decode(key, value).ok()?;
            expiry_key(model, e.t, KIND_LABEL, id)
        }
        _ => return None,
    };
    Some((Cf::Expiry, index))
}

impl Processor {
    pub(super) fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.overlay.get(&self.store, cf, key)
    }

    pub(super) fn put(&mut self, model: &str, cf: Cf, key: Vec<u8>, value: Option<Vec<u8>>) {
        let partition = self.partition_of(model);
        self.overlay.put(cf, key, value, partition);
    }

    fn put_typed<V: serde::Serialize + serde::de::DeserializeOwned>(
        &mut self,
        table: Table<V>,
        model: &str,
        key: Vec<u8>,
        value: Option<&V>,
    ) -> Result<(), StateError> {
        let partition = self.partition_of(model);
        table.put(&mut self.overlay, key, value, partition)
    }

    /// Stores a new prediction as waiting for its label, or joins it with
    /// a label that came first.
    pub(super) fn await_label(
        &mut self,
        pos: &SourcePos,
        p: &Prediction,
    ) -> Result<Vec<Output>, StateError> {
        let key = window_key(&p.model_id, &p.prediction_id);
        let early = ORPHANS.get(&self.overlay, &self.store, &key)?;
        let mut waiting = Waiting {
            t: p.event_time,
            s: p.score,
            c: p.predicted_class.clone(),
            j: false,
        };
        let mut outputs = Vec::new();
        if let Some(early) = &early {
            self.put(&p.model_id, Cf::Orphans, key.clone(), None);
            let gone = expiry_key(&p.model_id, early.t, KIND_LABEL, &p.prediction_id);
            self.put(&p.model_id, Cf::Expiry, gone, None);
            outputs = self.join(pos, &p.model_id, &waiting, &early.l, p.event_time)?;
            waiting.j = true;
        }
        self.put_typed(PENDING, &p.model_id, key, Some(&waiting))?;
        let index = expiry_key(&p.model_id, p.event_time, KIND_PREDICTION, &p.prediction_id);
        self.put(&p.model_id, Cf::Expiry, index, Some(Vec::new()));
        Ok(outputs)
    }

    /// Processes one label and returns what to publish.
    pub fn process_label(
        &mut self,
        pos: &SourcePos,
        label: &Label,
    ) -> Result<Vec<Output>, StateError> {
        self.track(&label.model_id, pos);
        let key = window_key(&label.model_id, &label.prediction_id);
        let waiting = PENDING.get(&self.overlay, &self.store, &key)?;
        let early_exists = waiting.is_none() && self.get(Cf::Orphans, &key)?.is_some();
        let state = Self::model(
            &mut self.models,
            &self.store,
            self.detector.plan(),
            &label.model_id,
        )?;
        state.dirty = true;
        let mut outputs = Vec::new();
        match waiting {
            Some(w) if w.j => {
                state.meta.labels.duplicate = state.meta.labels.duplicate.saturating_add(1)
            }
            Some(mut w) => {
                outputs = self.join(pos, &label.model_id, &w, &label.label, label.event_time)?;
                w.j = true;
                self.put_typed(PENDING, &label.model_id, key, Some(&w))?;
            }
            None => {
                if early_exists {
                    state.meta.labels.duplicate = state.meta.labels.duplicate.saturating_add(1);
                } else {
                    state.meta.labels.early = state.meta.labels.early.saturating_add(1);
                    let early = Early {
                        t: label.event_time,
                        l: label.label.clone(),
                    };
                    self.put_typed(ORPHANS, &label.model_id, key, Some(&early))?;
                    let index = expiry_key(
                        &label.model_id,
                        label.event_time,
                        KIND_LABEL,
                        &label.prediction_id,
                    );
                    self.put(&label.model_id, Cf::Expiry, index, Some(Vec::new()));
                }
            }
        }
        self.mark_done(pos);
        Ok(outputs)
    }

    /// One joined (prediction, label): outcome metrics, the accuracy
    /// window, and every `window-size / 10` joins a concept-drift check.
    fn join(
        &mut self,
        pos: &SourcePos,
        model_id: &str,
        w: &Waiting,
        label: &str,
        event_time: i64,
    ) -> Result<Vec<Output>, StateError> {
        let labels = self.labels.clone();
        let persistence = self.persistence();
        let state = Self::model(
            &mut self.models,
            &self.store,
            self.detector.plan(),
            model_id,
        )?;
        state.dirty = true;
        let hit = is_hit(w.c.as_deref(), w.s, label);
        let error = if w.c.is_none() && hit.is_none() {
            abs_error(w.s, label)
        } else {
            None
        };
        if hit.is_none() && error.is_none() {
            state.meta.labels.incomparable = state.meta.labels.incomparable.saturating_add(1);
            return Ok(Vec::new());
        }
        state.meta.labels.joined = state.meta.labels.joined.saturating_add(1);
        state.meta.metrics.observe_outcome(hit, error);
        let Some(hit) = hit else {
            return Ok(Vec::new());
        };
        state.meta.accuracy.record(hit, &labels);
        let every = (labels.window_size as u64 / 10).max(1);
        if state.meta.labels.joined % every != 0 {
            return Ok(Vec::new());
        }
        let Some(test) = state.meta.accuracy.check(&labels) else {
            return Ok(Vec::new());
        };
        let alert = state.meta.alerts.entry(AlertKey::Concept).or_default();
        let Some(transition) = alert.state.observe(test.drifted, persistence) else {
            return Ok(Vec::new());
        };
        let id = ids::drift_event_id(model_id, &AlertKey::Concept.to_string(), pos.as_ref());
        track_alert(alert, transition, &id);
        let late = i64::try_from(state.meta.clock.late).unwrap_or(i64::MAX);
        let event = concept_event(
            &id,
            model_id,
            &test,
            labels.accuracy_drop,
            event_time,
            status(transition),
            late,
        );
        let opened = transition == Transition::Opened;
        let mut outputs = vec![Output::Drift(event)];
        if opened {
            outputs.extend(self.decide_concept(pos, model_id, event_time)?);
        }
        Ok(outputs)
    }

    /// Drops a model's waiting predictions and labels older than
    /// `watermark - ttl`, counting what never joined.
    pub(super) fn expire(&mut self, model_id: &str, watermark: i64) -> Result<(), StateError> {
        let ttl = i64::try_from(self.labels.ttl.as_millis()).unwrap_or(i64::MAX);
        let bound = watermark.saturating_sub(ttl);
        let from = expiry_prefix(model_id, i64::MIN);
        let to = expiry_prefix(model_id, bound);
        let keys: Vec<Vec<u8>> = self
            .overlay
            .range(&self.store, Cf::Expiry, &from, &to)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let (mut unlabeled, mut unknown) = (0u64, 0u64);
        for key in keys {
            let Some(rest) = key.get(from.len()..) else {
                continue;
            };
            let (Some(kind), Some(id)) = (rest.first(), rest.get(1..)) else {
                continue;
            };
            let id = String::from_utf8_lossy(id).into_owned();
            let item = window_key(model_id, &id);
            if *kind == KIND_PREDICTION {
                if let Some(w) = PENDING.get(&self.overlay, &self.store, &item)? {
                    unlabeled += u64::from(!w.j);
                }
                self.put(model_id, Cf::Pending, item, None);
            } else {
                if self.get(Cf::Orphans, &item)?.is_some() {
                    unknown += 1;
                }
                self.put(model_id, Cf::Orphans, item, None);
            }
            self.put(model_id, Cf::Expiry, key, None);
        }
        if unlabeled + unknown > 0 {
            let state = Self::model(
                &mut self.models,
                &self.store,
                self.detector.plan(),
                model_id,
            )?;
            state.dirty = true;
            state.meta.labels.unlabeled = state.meta.labels.unlabeled.saturating_add(unlabeled);
            state.meta.labels.unknown = state.meta.labels.unknown.saturating_add(unknown);
        }
        Ok(())
    }
}
