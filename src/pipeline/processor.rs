//! The synchronous core of the pipeline: one prediction in, the records to
//! publish out, with all state in memory until a checkpoint.
//!
//! Guarantees: outputs depend only on the input records and the state, so a
//! replay from the same state gives the same outputs with the same ids;
//! [`Processor::checkpoint`] writes every state change and the next input
//! offset per partition in one atomic RocksDB batch; a record whose offset is
//! below the stored offset of its partition is reported as already applied
//! and must not be processed again.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::config::{Config, LabelsConfig};
use crate::decide::Engine;
use crate::detect::anomaly::ZScoreConfig;
use crate::detect::metrics::MetricTest;
use crate::detect::{
    CategoricalWindow, CategoryEntry, DriftDetector, Due, FeatureState, FeatureTest, Placement,
    WindowEntry,
};
use crate::ids;
use crate::schema::{AuditRecord, DriftEvent, HealCommand, Prediction};
use crate::state::segments::{self, SegmentLog, CATEGORICAL, NUMERIC};
use crate::state::{AlertKey, ModelMeta, StateBatch, StateError, Store, MODELS};

use super::decisions::snapshot;
use super::events::{anomaly_event, concept_evidence, drift_event, status, track_alert};
use super::reference::ReferenceData;

/// Where an input record came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourcePos {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

impl SourcePos {
    /// The position as an id input.
    pub fn as_ref(&self) -> ids::InputRef<'_> {
        ids::InputRef {
            topic: &self.topic,
            partition: self.partition,
            offset: self.offset,
        }
    }
}

/// A record to publish.
// Outputs live for one batch, in a Vec, and are moved a few times: boxing
// the audit record would cost an allocation each and save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// To the drift-events topic, keyed by model id.
    Drift(DriftEvent),
    /// To the actions topic, keyed by model id.
    Command(HealCommand),
    /// To the audit topic, keyed by decision id.
    Audit(AuditRecord),
}

#[derive(Debug, Default)]
pub(super) struct ModelState {
    pub(super) meta: ModelMeta,
    pub(super) windows: BTreeMap<String, FeatureState>,
    pub(super) dirty_windows: BTreeSet<String>,
    pub(super) categorical: BTreeMap<String, CategoricalWindow>,
    pub(super) dirty_categorical: BTreeSet<String>,
    /// Stored segments per (kind, feature).
    pub(super) logs: HashMap<(u8, String), SegmentLog>,
    pub(super) dirty: bool,
}

/// The processing core.
#[derive(Debug)]
pub struct Processor {
    pub(super) detector: DriftDetector,
    zscore: ZScoreConfig,
    pub(super) labels: LabelsConfig,
    persistence: u32,
    pub(super) engine: Engine,
    pub(super) config_version: String,
    pub(super) store: Arc<Store>,
    reference: Option<Arc<ReferenceData>>,
    pub(super) models: HashMap<String, ModelState>,
    /// Input partition each cached model was last read from.
    pub(super) model_partition: HashMap<String, i32>,
    pub(super) applied: HashMap<(String, i32), i64>,
    pub(super) pending_offsets: BTreeMap<(String, i32), i64>,
    /// Label-join and decision writes since the last checkpoint.
    pub(super) overlay: StateBatch,
}

/// Where and when an evaluation happened.
pub(super) struct Evaluation<'a> {
    pub(super) pos: &'a SourcePos,
    pub(super) model_id: &'a str,
    pub(super) model_version: &'a str,
    pub(super) event_time: i64,
    pub(super) record: u64,
}

impl Processor {
    /// The preloaded reference sample (`reference-mode = "file"`).
    pub fn with_reference(mut self, reference: Arc<ReferenceData>) -> Self {
        self.reference = Some(reference);
        self
    }

    /// A processor over `store` with the given configuration.
    pub fn new(config: &Config, config_version: &str, store: Store) -> Self {
        let a = &config.detect.anomaly;
        Processor {
            detector: DriftDetector::new(&config.detect, config.reference_range_ms()),
            zscore: ZScoreConfig {
                threshold: a.threshold,
                min_samples: a.min_samples,
                baseline: a.baseline,
                ewma_alpha: a.ewma_alpha,
            },
            labels: config.labels.clone(),
            persistence: config.detect.persistence.max(1),
            engine: Engine::new(&config.decide),
            config_version: config_version.to_string(),
            store: Arc::new(store),
            reference: None,
            models: HashMap::new(),
            model_partition: HashMap::new(),
            applied: HashMap::new(),
            pending_offsets: BTreeMap::new(),
            overlay: StateBatch::default(),
        }
    }

    /// True if the state already reflects this record (it was processed and
    /// checkpointed before a restart that did not commit its offset).
    pub fn already_applied(&mut self, pos: &SourcePos) -> Result<bool, StateError> {
        let key = (pos.topic.clone(), pos.partition);
        let next = match self.applied.get(&key) {
            Some(next) => *next,
            None => {
                let next = self
                    .store
                    .applied_offset(&pos.topic, pos.partition)?
                    .unwrap_or(-1);
                self.applied.insert(key, next);
                next
            }
        };
        Ok(pos.offset < next)
    }

    /// Records that `pos` is done (processed or dead-lettered), so the next
    /// checkpoint moves its partition's offset past it.
    pub fn mark_done(&mut self, pos: &SourcePos) {
        let next = pos.offset + 1;
        let entry = self
            .pending_offsets
            .entry((pos.topic.clone(), pos.partition))
            .or_insert(next);
        *entry = (*entry).max(next);
    }

    pub(super) fn model<'a>(
        models: &'a mut HashMap<String, ModelState>,
        store: &Store,
        plan: &crate::detect::WindowPlan,
        model_id: &str,
    ) -> Result<&'a mut ModelState, StateError> {
        Ok(match models.entry(model_id.to_string()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(load_model(store, plan, model_id)?),
        })
    }

    /// Remembers the input partition of a model (where its state's
    /// changelog records go).
    pub(super) fn track(&mut self, model_id: &str, pos: &SourcePos) {
        if self.model_partition.get(model_id) != Some(&pos.partition) {
            self.model_partition
                .insert(model_id.to_string(), pos.partition);
        }
    }

    /// Evaluations an alert must persist to open or close.
    pub(super) fn persistence(&self) -> u32 {
        self.persistence
    }

    /// The partition of a cached model.
    pub(super) fn partition_of(&self, model_id: &str) -> i32 {
        self.model_partition.get(model_id).copied().unwrap_or(0)
    }

    /// Drops the cached state of every model read from `topic`/`partition`
    /// (called when the partition is revoked). Call it between batches, after
    /// a checkpoint: what is dropped is then exactly what RocksDB holds, and
    /// it is reloaded from there if the partition comes back.
    pub fn forget_partition(&mut self, topic: &str, partition: i32) {
        let gone: Vec<String> = self
            .model_partition
            .iter()
            .filter(|(_, p)| **p == partition)
            .map(|(m, _)| m.clone())
            .collect();
        for model in gone {
            self.models.remove(&model);
            self.model_partition.remove(&model);
        }
        self.applied.remove(&(topic.to_string(), partition));
        self.pending_offsets.remove(&(topic.to_string(), partition));
        self.overlay.forget_partition(partition);
    }

    /// The local store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The local store, shared (for blocking work off the processor).
    pub fn shared_store(&self) -> Arc<Store> {
        self.store.clone()
    }

    /// A model's bookkeeping as the store holds it (not the memory).
    pub fn stored_model(&self, model: &str) -> Result<Option<ModelMeta>, StateError> {
        MODELS.get(&StateBatch::default(), &self.store, model.as_bytes())
    }

    /// A model's numeric windows as the store holds them, rebuilt from
    /// their entries, in feature-name order.
    pub fn stored_windows(
        &self,
        model: &str,
    ) -> Result<Vec<(String, crate::detect::Windows<f64>)>, StateError> {
        let state = load_model(&self.store, self.detector.plan(), model)?;
        Ok(state
            .windows
            .into_iter()
            .map(|(f, w)| (f, w.windows().clone()))
            .collect())
    }

    /// A model's categorical windows as the store holds them, rebuilt
    /// from their entries, in feature-name order.
    pub fn stored_categorical(
        &self,
        model: &str,
    ) -> Result<Vec<(String, crate::detect::Windows<String>)>, StateError> {
        let state = load_model(&self.store, self.detector.plan(), model)?;
        Ok(state
            .categorical
            .into_iter()
            .map(|(f, w)| (f, w.windows().clone()))
            .collect())
    }

    /// The window plan of every feature.
    pub fn plan(&self) -> crate::detect::WindowPlan {
        *self.detector.plan()
    }

    /// Number of models whose state is cached in memory.
    pub fn cached_models(&self) -> usize {
        self.models.len()
    }

    /// Processes one prediction and returns what to publish.
    pub fn process(&mut self, pos: &SourcePos, p: &Prediction) -> Result<Vec<Output>, StateError> {
        self.track(&p.model_id, pos);
        let plan = *self.detector.plan();
        let state = Self::model(
            &mut self.models,
            &self.store,
            self.detector.plan(),
            &p.model_id,
        )?;
        state.dirty = true;
        // Saturating: corrupt stored counters must not overflow.
        state.meta.records_seen = state.meta.records_seen.saturating_add(1);
        let record = state.meta.records_seen;
        if state.meta.model_version != p.model_version {
            state.meta.model_version.clone_from(&p.model_version);
        }
        let clock = &mut state.meta.clock;
        if clock.max_event_time.is_some_and(|max| p.event_time < max) {
            clock.out_of_order = clock.out_of_order.saturating_add(1);
        }
        let max = clock
            .max_event_time
            .map_or(p.event_time, |m| m.max(p.event_time));
        clock.max_event_time = Some(max);
        let watermark = self.detector.watermark(max);
        if p.event_time < watermark {
            clock.late = clock.late.saturating_add(1);
        }
        let mut before_reference = false;
        for (feature, value) in &p.features {
            let entry = WindowEntry {
                record,
                time: p.event_time,
                value: *value,
            };
            let window = match state.windows.get_mut(feature) {
                Some(w) => w,
                None => {
                    let mut w = FeatureState::journaled();
                    if let Some(values) = self.reference.as_ref().and_then(|r| r.numeric(feature)) {
                        w.preload(values.iter().copied());
                    }
                    state.windows.entry(feature.clone()).or_insert(w)
                }
            };
            before_reference |= window.push(entry, watermark, &plan) == Placement::BeforeReference;
            if !state.dirty_windows.contains(feature) {
                state.dirty_windows.insert(feature.clone());
            }
        }
        for (feature, value) in p.categorical_features.iter().flatten() {
            let entry = CategoryEntry {
                record,
                time: p.event_time,
                value: value.clone(),
            };
            let window = match state.categorical.get_mut(feature) {
                Some(w) => w,
                None => {
                    let mut w = CategoricalWindow::journaled();
                    if let Some(values) =
                        self.reference.as_ref().and_then(|r| r.categorical(feature))
                    {
                        w.preload(values.iter().cloned());
                    }
                    state.categorical.entry(feature.clone()).or_insert(w)
                }
            };
            before_reference |= window.push(entry, watermark, &plan) == Placement::BeforeReference;
            if !state.dirty_categorical.contains(feature) {
                state.dirty_categorical.insert(feature.clone());
            }
        }
        if before_reference {
            state.meta.clock.before_reference = state.meta.clock.before_reference.saturating_add(1);
        }
        state
            .meta
            .metrics
            .observe_prediction(p.score, p.predicted_class.as_deref(), p.latency_ms);
        let mut outputs = self.await_label(pos, p)?;
        let state = Self::model(
            &mut self.models,
            &self.store,
            self.detector.plan(),
            &p.model_id,
        )?;
        match self
            .detector
            .due(record, watermark, state.meta.clock.window_end)
        {
            Due::No => {
                self.mark_done(pos);
                return Ok(outputs);
            }
            Due::Now => {}
            Due::AtWindowEnd(end) => {
                for (feature, w) in &mut state.windows {
                    w.advance(end, &plan);
                    if !state.dirty_windows.contains(feature) {
                        state.dirty_windows.insert(feature.clone());
                    }
                }
                for (feature, w) in &mut state.categorical {
                    w.advance(end, &plan);
                    if !state.dirty_categorical.contains(feature) {
                        state.dirty_categorical.insert(feature.clone());
                    }
                }
                state.meta.clock.window_end = Some(end);
            }
        }
        let tests = self.detector.evaluate_all(
            state.windows.iter_mut().map(|(f, w)| (f.as_str(), w)),
            state.categorical.iter().map(|(f, w)| (f.as_str(), w)),
            watermark,
        );
        let metric_tests = state.meta.metrics.evaluate(&self.zscore);
        self.expire(&p.model_id, watermark)?;
        self.mark_done(pos);
        let at = Evaluation {
            pos,
            model_id: &p.model_id,
            model_version: &p.model_version,
            event_time: p.event_time,
            record,
        };
        outputs.extend(self.evaluated(&at, tests, &metric_tests)?);
        Ok(outputs)
    }

    /// Alerts from one evaluation's tests, then a decision if the model is
    /// degraded: any covariate, anomaly or concept alert open.
    fn evaluated(
        &mut self,
        at: &Evaluation<'_>,
        mut tests: Vec<FeatureTest>,
        metric_tests: &[MetricTest],
    ) -> Result<Vec<Output>, StateError> {
        let mut outputs = Vec::new();
        let persistence = self.persistence;
        let correction = self.detector.correction().as_str();
        let Some(state) = self.models.get_mut(at.model_id) else {
            return Ok(outputs);
        };
        let late = i64::try_from(state.meta.clock.late).unwrap_or(i64::MAX);
        for t in &mut tests {
            let key = AlertKey::Feature(t.feature.clone());
            let id_key = key.to_string();
            let alert = state.meta.alerts.entry(key).or_default();
            let transition = alert.state.observe(t.drifted, persistence);
            if let Some(tr) = transition {
                let id = ids::drift_event_id(at.model_id, &id_key, at.pos.as_ref());
                let mut e = drift_event(&id, at.model_id, t, at.event_time);
                e.status = status(tr).into();
                e.correction = correction.into();
                e.late_records = late;
                track_alert(alert, tr, &id);
                outputs.push(Output::Drift(e));
            }
            // Decisions see the alert, not one evaluation's rejection.
            t.drifted = alert.state.is_open();
        }
        for m in metric_tests {
            let key = AlertKey::Anomaly(m.metric.clone());
            let id_key = key.to_string();
            let alert = state.meta.alerts.entry(key).or_default();
            if let Some(tr) = alert.state.observe(m.score.anomalous, persistence) {
                let id = ids::drift_event_id(at.model_id, &id_key, at.pos.as_ref());
                let e = anomaly_event(&id, at, m, &self.zscore, status(tr), late);
                track_alert(alert, tr, &id);
                outputs.push(Output::Drift(e));
            }
        }
        let open_anomalies = metric_tests
            .iter()
            .filter(|m| {
                state
                    .meta
                    .alerts
                    .get(&AlertKey::Anomaly(m.metric.clone()))
                    .is_some_and(|a| a.state.is_open())
            })
            .count();
        state.meta.signals = snapshot(&tests, metric_tests, open_anomalies, at.event_time);
        if let Some(concept) = state.meta.alerts.get(&AlertKey::Concept) {
            if concept.state.is_open() {
                tests.push(concept_evidence(concept));
            }
        }
        let degraded = state.meta.alerts.values().any(|a| a.state.is_open());
        if degraded {
            outputs.extend(self.decide(at, &tests)?);
        }
        Ok(outputs)
    }

    pub(super) fn decide_concept(
        &mut self,
        pos: &SourcePos,
        model_id: &str,
        event_time: i64,
    ) -> Result<Vec<Output>, StateError> {
        let Some(state) = self.models.get(model_id) else {
            return Ok(Vec::new());
        };
        let Some(concept) = state.meta.alerts.get(&AlertKey::Concept) else {
            return Ok(Vec::new());
        };
        let tests = vec![concept_evidence(concept)];
        let model_version = state.meta.model_version.clone();
        let record = state.meta.records_seen;
        let at = Evaluation {
            pos,
            model_id,
            model_version: &model_version,
            event_time,
            record,
        };
        self.decide(&at, &tests)
    }

    /// Offsets done since the last checkpoint: (topic, partition, next offset).
    pub fn pending_offsets(&self) -> Vec<(String, i32, i64)> {
        self.pending_offsets
            .iter()
            .map(|((t, p), next)| (t.clone(), *p, *next))
            .collect()
    }
}

/// A model as stored: bookkeeping and windows, rebuilt from their entries.
fn load_model(
    store: &Store,
    plan: &crate::detect::WindowPlan,
    model_id: &str,
) -> Result<ModelState, StateError> {
    let meta = MODELS
        .get(&StateBatch::default(), store, model_id.as_bytes())?
        .unwrap_or_default();
    let stored = segments::load(store, model_id)?;
    let mut state = ModelState {
        meta,
        ..ModelState::default()
    };
    let plan = *plan;
    for (feature, f) in stored.numeric {
        let w = FeatureState::rebuild(f.entries.iter().cloned(), f.window_end, &plan);
        let log = f.log(&w.windows().live_window_records(&plan));
        state.logs.insert((NUMERIC, feature.clone()), log);
        state.windows.insert(feature, w);
    }
    for (feature, f) in stored.categorical {
        let w = CategoricalWindow::rebuild(f.entries.iter().cloned(), f.window_end, &plan);
        let log = f.log(&w.windows().live_window_records(&plan));
        state.logs.insert((CATEGORICAL, feature.clone()), log);
        state.categorical.insert(feature, w);
    }
    Ok(state)
}

#[cfg(test)]
#[path = "processor_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "stream_tests.rs"]
mod stream_tests;

#[cfg(test)]
#[path = "feedback_tests.rs"]
mod feedback_tests;
