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

use crate::audit::chain;
use crate::config::Config;
use crate::decide::{DecisionInput, RuleEngine};
use crate::detect::{
    CategoricalWindow, CategoryEntry, DriftDetector, FeatureState, FeatureTest, WindowEntry,
};
use crate::heal::{self, CommandSpec};
use crate::ids;
use crate::schema::{
    AuditInputs, AuditRecord, DriftEvent, FeatureEvidence, HealCommand, Prediction,
};
use crate::state::{Checkpoint, ModelMeta, StateError, Store};

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
struct ModelState {
    meta: ModelMeta,
    windows: BTreeMap<String, FeatureState>,
    dirty_windows: BTreeSet<String>,
    categorical: BTreeMap<String, CategoricalWindow>,
    dirty_categorical: BTreeSet<String>,
    dirty: bool,
}

/// The processing core.
#[derive(Debug)]
pub struct Processor {
    detector: DriftDetector,
    engine: RuleEngine,
    config_version: String,
    store: Store,
    models: HashMap<String, ModelState>,
    /// Input partition each cached model was last read from.
    model_partition: HashMap<String, (String, i32)>,
    applied: HashMap<(String, i32), i64>,
    pending_offsets: BTreeMap<(String, i32), i64>,
}

impl Processor {
    /// A processor over `store` with the given configuration.
    pub fn new(config: &Config, config_version: &str, store: Store) -> Self {
        Processor {
            detector: DriftDetector::new(&config.detect),
            engine: RuleEngine::new(&config.decide),
            config_version: config_version.to_string(),
            store,
            models: HashMap::new(),
            model_partition: HashMap::new(),
            applied: HashMap::new(),
            pending_offsets: BTreeMap::new(),
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

    fn model<'a>(
        models: &'a mut HashMap<String, ModelState>,
        store: &Store,
        detector: &DriftDetector,
        model_id: &str,
    ) -> Result<&'a mut ModelState, StateError> {
        Ok(match models.entry(model_id.to_string()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(ModelState {
                meta: store.model(model_id)?.unwrap_or_default(),
                windows: store
                    .windows(model_id)?
                    .into_iter()
                    .map(|(f, w)| (f, detector.restore_feature(w)))
                    .collect(),
                categorical: store.categorical(model_id)?.into_iter().collect(),
                ..ModelState::default()
            }),
        })
    }

    /// Drops the cached state of every model read from `topic`/`partition`
    /// (called when the partition is revoked). Call it between batches, after
    /// a checkpoint: what is dropped is then exactly what RocksDB holds, and
    /// it is reloaded from there if the partition comes back.
    pub fn forget_partition(&mut self, topic: &str, partition: i32) {
        let gone: Vec<String> = self
            .model_partition
            .iter()
            .filter(|(_, (t, p))| t == topic && *p == partition)
            .map(|(m, _)| m.clone())
            .collect();
        for model in gone {
            self.models.remove(&model);
            self.model_partition.remove(&model);
        }
        self.applied.remove(&(topic.to_string(), partition));
    }

    /// Number of models whose state is cached in memory.
    pub fn cached_models(&self) -> usize {
        self.models.len()
    }

    /// Processes one prediction and returns what to publish.
    pub fn process(&mut self, pos: &SourcePos, p: &Prediction) -> Result<Vec<Output>, StateError> {
        if self
            .model_partition
            .get(&p.model_id)
            .is_none_or(|(t, part)| *part != pos.partition || *t != pos.topic)
        {
            self.model_partition
                .insert(p.model_id.clone(), (pos.topic.clone(), pos.partition));
        }
        let state = Self::model(&mut self.models, &self.store, &self.detector, &p.model_id)?;
        state.dirty = true;
        // Saturating: corrupt stored counters must not overflow.
        state.meta.records_seen = state.meta.records_seen.saturating_add(1);
        let record = state.meta.records_seen;
        if state.meta.model_version != p.model_version {
            state.meta.model_version.clone_from(&p.model_version);
        }
        for (feature, value) in &p.features {
            let entry = WindowEntry {
                record,
                time: p.event_time,
                value: *value,
            };
            match state.windows.get_mut(feature) {
                Some(window) => self.detector.push(window, entry),
                None => {
                    let mut window = self.detector.new_feature();
                    self.detector.push(&mut window, entry);
                    state.windows.insert(feature.clone(), window);
                }
            }
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
            match state.categorical.get_mut(feature) {
                Some(window) => self.detector.push_category(window, entry),
                None => {
                    let mut window = CategoricalWindow::default();
                    self.detector.push_category(&mut window, entry);
                    state.categorical.insert(feature.clone(), window);
                }
            }
            if !state.dirty_categorical.contains(feature) {
                state.dirty_categorical.insert(feature.clone());
            }
        }
        if !self.detector.is_due(record) {
            self.mark_done(pos);
            return Ok(Vec::new());
        }
        let tests = self.detector.evaluate_all(
            state.windows.iter().map(|(f, w)| (f.as_str(), w)),
            state.categorical.iter().map(|(f, w)| (f.as_str(), w)),
        );
        self.mark_done(pos);
        if !RuleEngine::needs_decision(&tests) {
            return Ok(Vec::new());
        }
        Ok(self.decide(pos, p, record, &tests))
    }

    fn decide(
        &mut self,
        pos: &SourcePos,
        p: &Prediction,
        record: u64,
        tests: &[FeatureTest],
    ) -> Vec<Output> {
        let alpha = self.detector.alpha();
        let at = pos.as_ref();
        let decision_id = ids::decision_id(&p.model_id, at);
        let mut outputs = Vec::new();
        let mut evidence = Vec::with_capacity(tests.len());
        let mut drift_ids = Vec::new();
        for t in tests {
            let drift_event_id = t
                .drifted
                .then(|| ids::drift_event_id(&p.model_id, &t.feature, at));
            if let Some(id) = &drift_event_id {
                drift_ids.push(id.clone());
                outputs.push(Output::Drift(drift_event(id, &p.model_id, t, p.event_time)));
            }
            evidence.push(FeatureEvidence {
                feature: t.feature.clone(),
                test: t.test.to_string(),
                statistic: t.statistic,
                p_value: t.p_value,
                drifted: t.drifted,
                drift_event_id,
            });
        }
        let Some(state) = self.models.get_mut(&p.model_id) else {
            return outputs;
        };
        let decision = self.engine.decide(DecisionInput {
            tests,
            alpha,
            last_action_at: state.meta.last_action_at,
            now: p.event_time,
        });
        state.meta.decisions = state.meta.decisions.saturating_add(1);
        let command = decision.action.map(|action| {
            state.meta.last_action_at = Some(p.event_time);
            state.meta.commands = state.meta.commands.saturating_add(1);
            heal::command(CommandSpec {
                decision_id: &decision_id,
                model_id: &p.model_id,
                model_version: &p.model_version,
                action,
                reason: &decision.gate_reason,
                evidence: &drift_ids,
                issued_at: p.event_time,
                config_version: &self.config_version,
            })
        });
        let mut audit = AuditRecord {
            decision_id,
            model_id: p.model_id.clone(),
            model_version: p.model_version.clone(),
            decided_at: p.event_time,
            inputs: AuditInputs {
                source_topic: pos.topic.clone(),
                source_partition: pos.partition,
                source_offset: pos.offset,
                records_seen: i64::try_from(record).unwrap_or(i64::MAX),
            },
            evidence,
            rules: decision.rules,
            cooldown: decision.cooldown,
            action: decision.action.map_or("none", |a| a.as_str()).to_string(),
            gate_reason: decision.gate_reason,
            command_id: command.as_ref().map(|c| c.command_id.clone()),
            config_version: self.config_version.clone(),
            sequence: 0,
            previous_hash: None,
            record_hash: String::new(),
        };
        state.meta.audit_sequence = state.meta.audit_sequence.saturating_add(1);
        chain::seal(
            &mut audit,
            state.meta.audit_sequence,
            state.meta.last_audit_hash.take(),
        );
        state.meta.last_audit_hash = Some(audit.record_hash.clone());
        if let Some(command) = command {
            outputs.push(Output::Command(command));
        }
        outputs.push(Output::Audit(audit));
        outputs
    }

    /// Writes every state change since the last checkpoint, with the input
    /// offsets it reflects, in one atomic batch.
    pub fn checkpoint(&mut self) -> Result<(), StateError> {
        let mut cp = Checkpoint::default();
        for (model, state) in &self.models {
            if state.dirty {
                cp.models.push((model.clone(), state.meta.clone()));
            }
            for feature in &state.dirty_windows {
                if let Some(w) = state.windows.get(feature) {
                    cp.windows
                        .push((model.clone(), feature.clone(), w.window().clone()));
                }
            }
            for feature in &state.dirty_categorical {
                if let Some(w) = state.categorical.get(feature) {
                    cp.categorical
                        .push((model.clone(), feature.clone(), w.clone()));
                }
            }
        }
        cp.offsets = self
            .pending_offsets
            .iter()
            .map(|((t, p), next)| (t.clone(), *p, *next))
            .collect();
        self.store.write(&cp)?;
        for state in self.models.values_mut() {
            state.dirty = false;
            state.dirty_windows.clear();
            state.dirty_categorical.clear();
        }
        for (key, next) in std::mem::take(&mut self.pending_offsets) {
            self.applied.insert(key, next);
        }
        Ok(())
    }

    /// Offsets done since the last checkpoint: (topic, partition, next offset).
    pub fn pending_offsets(&self) -> Vec<(String, i32, i64)> {
        self.pending_offsets
            .iter()
            .map(|((t, p), next)| (t.clone(), *p, *next))
            .collect()
    }
}

fn drift_event(id: &str, model_id: &str, t: &FeatureTest, event_time: i64) -> DriftEvent {
    let long = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    DriftEvent {
        event_id: id.to_string(),
        model_id: model_id.to_string(),
        feature: t.feature.clone(),
        test: t.test.to_string(),
        statistic: t.statistic,
        p_value: t.p_value,
        alpha: t.threshold,
        reference_size: long(t.reference_size as u64),
        reference_start_time: t.reference_start_time,
        reference_end_time: t.reference_end_time,
        window_size: long(t.window_size as u64),
        window_start_record: long(t.window_start_record),
        window_end_record: long(t.window_end_record),
        window_start_time: t.window_start_time,
        window_end_time: t.window_end_time,
        event_time,
    }
}

#[cfg(test)]
#[path = "processor_tests.rs"]
mod tests;
