//! The label join's operator: predictions wait in RocksDB for their label,
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
//! - It owns the `pending`, `orphans` and `expiry` tables: its writes wait
//!   in its own [`StateBatch`] (read through before the store) and reach
//!   RocksDB (and the changelog) with the next checkpoint; values are binary
//!   ([`Table`]), never JSON.
//! - A concept-drift alert opened by a join is reported ([`Joined`]); the
//!   pipeline hands it to the decisions.
//!
//! [`StateBatch`]: crate::state::StateBatch
//! [`Table`]: crate::state::Table
//!
//! [`LabelCounts`]: crate::state::LabelCounts

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{Config, LabelsConfig};
use crate::detect::accuracy::{abs_error, is_hit};
use crate::detect::events::{concept_event, status, track_alert};
use crate::detect::hysteresis::Transition;
use crate::ids;
use crate::schema::{DriftEvent, Label, Prediction};
use crate::stage::{Models, Operator, SourcePos};
use crate::state::{window_key, AlertKey, Cf, StateBatch, StateError, Store, Table};

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

/// The label-join operator.
#[derive(Debug)]
pub struct LabelJoin {
    labels: LabelsConfig,
    /// Each model's settings (its `detect.persistence`), resolved once.
    settings: crate::config::SettingsCache,
    store: Arc<Store>,
    /// Writes since the last checkpoint.
    overlay: StateBatch,
}

/// What a prediction or a label did to the join.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Joined {
    /// The concept-drift event of an alert opened or closed by the join.
    pub drift: Option<DriftEvent>,
    /// The concept-drift alert opened: the model wants a decision.
    pub concept_opened: bool,
}

impl LabelJoin {
    /// The operator for `config`, its tables in `store`.
    pub fn new(config: &Config, store: Arc<Store>) -> Self {
        LabelJoin {
            labels: config.labels.clone(),
            settings: crate::config::SettingsCache::new(Arc::new(crate::config::ModelRules::new(
                config,
            ))),
            store,
            overlay: StateBatch::default(),
        }
    }

    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.overlay.get(&self.store, cf, key)
    }

    fn put(&mut self, partition: i32, cf: Cf, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.overlay.put(cf, key, value, partition);
    }

    /// Stores a new prediction as waiting for its label, or joins it with
    /// a label that came first (the model must be tracked in `models`).
    pub fn process_prediction(
        &mut self,
        models: &mut Models,
        pos: &SourcePos,
        p: &Prediction,
    ) -> Result<Joined, StateError> {
        let partition = models.partition_of(&p.model_id);
        let key = window_key(&p.model_id, &p.prediction_id);
        let early = ORPHANS.get(&self.overlay, &self.store, &key)?;
        let mut waiting = Waiting {
            t: p.event_time,
            s: p.score,
            c: p.predicted_class.clone(),
            j: false,
        };
        let mut joined = Joined::default();
        if let Some(early) = &early {
            self.put(partition, Cf::Orphans, key.clone(), None);
            let gone = expiry_key(&p.model_id, early.t, KIND_LABEL, &p.prediction_id);
            self.put(partition, Cf::Expiry, gone, None);
            joined = self.join(models, pos, &p.model_id, &waiting, &early.l, p.event_time)?;
            waiting.j = true;
        }
        PENDING.put(&mut self.overlay, key, Some(&waiting), partition)?;
        let index = expiry_key(&p.model_id, p.event_time, KIND_PREDICTION, &p.prediction_id);
        self.put(partition, Cf::Expiry, index, Some(Vec::new()));
        Ok(joined)
    }

    /// Processes one label (the model must be tracked in `models`).
    pub fn process(
        &mut self,
        models: &mut Models,
        pos: &SourcePos,
        label: &Label,
    ) -> Result<Joined, StateError> {
        let partition = models.partition_of(&label.model_id);
        let key = window_key(&label.model_id, &label.prediction_id);
        let waiting = PENDING.get(&self.overlay, &self.store, &key)?;
        let early_exists = waiting.is_none() && self.get(Cf::Orphans, &key)?.is_some();
        let state = models.load(&label.model_id)?;
        state.dirty = true;
        let mut joined = Joined::default();
        match waiting {
            Some(w) if w.j => {
                state.meta.labels.duplicate = state.meta.labels.duplicate.saturating_add(1)
            }
            Some(mut w) => {
                joined = self.join(
                    models,
                    pos,
                    &label.model_id,
                    &w,
                    &label.label,
                    label.event_time,
                )?;
                w.j = true;
                PENDING.put(&mut self.overlay, key, Some(&w), partition)?;
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
                    ORPHANS.put(&mut self.overlay, key, Some(&early), partition)?;
                    let index = expiry_key(
                        &label.model_id,
                        label.event_time,
                        KIND_LABEL,
                        &label.prediction_id,
                    );
                    self.put(partition, Cf::Expiry, index, Some(Vec::new()));
                }
            }
        }
        Ok(joined)
    }

    /// One joined (prediction, label): outcome metrics, the accuracy
    /// window, and every `window-size / 10` joins a concept-drift check.
    fn join(
        &mut self,
        models: &mut Models,
        pos: &SourcePos,
        model_id: &str,
        w: &Waiting,
        label: &str,
        event_time: i64,
    ) -> Result<Joined, StateError> {
        let persistence = self.settings.get(model_id).detect.persistence.max(1);
        let labels = &self.labels;
        let state = models.load(model_id)?;
        state.dirty = true;
        let hit = is_hit(w.c.as_deref(), w.s, label);
        let error = if w.c.is_none() && hit.is_none() {
            abs_error(w.s, label)
        } else {
            None
        };
        if hit.is_none() && error.is_none() {
            state.meta.labels.incomparable = state.meta.labels.incomparable.saturating_add(1);
            return Ok(Joined::default());
        }
        state.meta.labels.joined = state.meta.labels.joined.saturating_add(1);
        state.meta.metrics.observe_outcome(hit, error);
        let Some(hit) = hit else {
            return Ok(Joined::default());
        };
        state.meta.accuracy.record(hit, labels);
        let every = (labels.window_size as u64 / 10).max(1);
        if state.meta.labels.joined % every != 0 {
            return Ok(Joined::default());
        }
        let Some(test) = state.meta.accuracy.check(labels) else {
            return Ok(Joined::default());
        };
        let alert = state.meta.alerts.entry(AlertKey::Concept).or_default();
        let Some(transition) = alert.state.observe(test.drifted, persistence) else {
            return Ok(Joined::default());
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
        Ok(Joined {
            drift: Some(event),
            concept_opened: transition == Transition::Opened,
        })
    }

    /// Drops a model's waiting predictions and labels older than
    /// `watermark - ttl`, counting what never joined.
    pub fn expire(
        &mut self,
        models: &mut Models,
        model_id: &str,
        watermark: i64,
    ) -> Result<(), StateError> {
        let partition = models.partition_of(model_id);
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
                self.put(partition, Cf::Pending, item, None);
            } else {
                if self.get(Cf::Orphans, &item)?.is_some() {
                    unknown += 1;
                }
                self.put(partition, Cf::Orphans, item, None);
            }
            self.put(partition, Cf::Expiry, key, None);
        }
        if unlabeled + unknown > 0 {
            let state = models.load(model_id)?;
            state.dirty = true;
            state.meta.labels.unlabeled = state.meta.labels.unlabeled.saturating_add(unlabeled);
            state.meta.labels.unknown = state.meta.labels.unknown.saturating_add(unknown);
        }
        Ok(())
    }
}

impl Operator for LabelJoin {
    /// Moves the interval's writes (waiting entries, their deletes and the
    /// expiry index) into `batch`.
    fn on_checkpoint(
        &mut self,
        _models: &Models,
        batch: &mut StateBatch,
    ) -> Result<(), StateError> {
        batch.append(&mut self.overlay);
        Ok(())
    }

    fn on_revoke(&mut self, partition: i32, _models: &[String]) {
        self.overlay.forget_partition(partition);
    }
}
