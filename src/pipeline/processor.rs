//! The synchronous core of the pipeline: the stage operators wired in
//! order, one record in, the records to publish out, with all state in
//! memory until a checkpoint.
//!
//! Routing (the order is part of the behaviour): a prediction enters
//! detection ([`Detection::process`]), then the label join (it may join a
//! label that came first, and a concept-drift alert opened by that join
//! goes to the decisions at once); if an evaluation is due, detection
//! tests the windows, the join expires what waited too long, detection's
//! alerts give drift events, the decisions measure the model's earlier
//! decisions whose horizon has passed, and a degraded model goes to the
//! decisions.
//! A label goes to the join (then maybe the decisions); an outcome or an
//! operator command to the feedback.
//!
//! Guarantees: outputs depend only on the input records and the state, so a
//! replay from the same state gives the same outputs with the same ids;
//! [`Processor::checkpoint`] writes every operator's state changes and the
//! next input offset per partition in one atomic RocksDB batch; a record
//! whose offset is below the stored offset of its partition is reported as
//! already applied and must not be processed again.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::decide::operator::Decisions;
use crate::detect::join::LabelJoin;
use crate::detect::operator::Detection;
use crate::detect::reference::ReferenceData;
use crate::detect::{WindowPlan, Windows};
use crate::heal::feedback::{self, Feedback};
use crate::schema::{HealOutcome, Label, OperatorCommand, Prediction};
use crate::stage::{Evaluation, Models, Operator};
pub use crate::stage::{Output, SourcePos};
use crate::state::{ModelMeta, StateBatch, StateError, Store, MODELS};

/// The processing core: the operators and the input offsets done.
#[derive(Debug)]
pub struct Processor {
    pub(super) models: Models,
    detection: Detection,
    join: LabelJoin,
    pub(super) decisions: Decisions,
    feedback: Feedback,
    pub(super) applied: HashMap<(String, i32), i64>,
    pub(super) pending_offsets: BTreeMap<(String, i32), i64>,
}

impl Processor {
    /// The preloaded reference sample of `file` (`reference-mode =
    /// "file"`), for every model whose settings name it.
    pub fn with_reference(mut self, file: PathBuf, reference: Arc<ReferenceData>) -> Self {
        self.detection = self.detection.with_reference(file, reference);
        self
    }

    /// The window plan of `model` (its per-model settings or the global
    /// ones).
    pub fn plan_of(&self, model: &str) -> WindowPlan {
        self.detection.plan_of(model)
    }

    /// Values sent to a categorical feature's `"other"` category
    /// (`max-categories`) since the last call.
    pub fn take_capped(&mut self) -> u64 {
        self.detection.take_capped()
    }

    /// A processor over `store` with the given configuration.
    pub fn new(config: &Config, config_version: &str, store: Store) -> Self {
        let store = Arc::new(store);
        Processor {
            models: Models::new(store.clone()),
            detection: Detection::new(config, store.clone()),
            join: LabelJoin::new(config, store.clone()),
            decisions: Decisions::new(config, config_version, store),
            feedback: Feedback,
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
                    .models
                    .store()
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

    /// Drops the cached state of every model of input `partition` and the
    /// cached offsets of that partition of every input topic (called when
    /// the partition is revoked or restored). Call it between batches, after
    /// a checkpoint: what is dropped is then exactly what RocksDB holds, and
    /// it is reloaded from there if the partition comes back.
    pub fn forget_partition(&mut self, partition: i32) {
        let (models, operators) = self.operators();
        let gone = models.forget_partition(partition);
        for op in operators {
            op.on_revoke(partition, &gone);
        }
        self.applied.retain(|(_, p), _| *p != partition);
        self.pending_offsets.retain(|(_, p), _| *p != partition);
    }

    /// The models' bookkeeping and the operators, in checkpoint order.
    pub(super) fn operators(&mut self) -> (&mut Models, [&mut dyn Operator; 4]) {
        (
            &mut self.models,
            [
                &mut self.detection,
                &mut self.join,
                &mut self.decisions,
                &mut self.feedback,
            ],
        )
    }

    /// The local store.
    pub fn store(&self) -> &Store {
        self.models.store()
    }

    /// The local store, shared (for blocking work off the processor).
    pub fn shared_store(&self) -> Arc<Store> {
        self.models.shared_store()
    }

    /// A model's bookkeeping as the store holds it (not the memory).
    pub fn stored_model(&self, model: &str) -> Result<Option<ModelMeta>, StateError> {
        MODELS.get(&StateBatch::default(), self.store(), model.as_bytes())
    }

    /// A model's numeric windows as the store holds them, rebuilt from
    /// their entries, in feature-name order.
    pub fn stored_windows(&self, model: &str) -> Result<Vec<(String, Windows<f64>)>, StateError> {
        self.detection.stored_windows(model)
    }

    /// A model's categorical windows as the store holds them, rebuilt
    /// from their entries, in feature-name order.
    pub fn stored_categorical(
        &self,
        model: &str,
    ) -> Result<Vec<(String, Windows<String>)>, StateError> {
        self.detection.stored_categorical(model)
    }

    /// The window plan of every feature.
    pub fn plan(&self) -> WindowPlan {
        self.detection.plan()
    }

    /// Number of models whose state is cached in memory.
    pub fn cached_models(&self) -> usize {
        self.models.len()
    }

    /// Processes one prediction and returns what to publish.
    pub fn process(&mut self, pos: &SourcePos, p: &Prediction) -> Result<Vec<Output>, StateError> {
        self.models.track(&p.model_id, pos.partition);
        let observed = self.detection.process(&mut self.models, p)?;
        let joined = self.join.process_prediction(&mut self.models, pos, p)?;
        let mut outputs = self.joined(pos, &p.model_id, joined, p.event_time)?;
        let tested = self
            .detection
            .test(&mut self.models, &p.model_id, observed)?;
        let Some(tested) = tested else {
            self.mark_done(pos);
            return Ok(outputs);
        };
        self.join
            .expire(&mut self.models, &p.model_id, observed.watermark)?;
        self.mark_done(pos);
        let at = Evaluation {
            pos,
            model_id: &p.model_id,
            model_version: &p.model_version,
            event_time: p.event_time,
            record: observed.record,
        };
        let alerts = self.detection.alerts(&mut self.models, &at, tested)?;
        outputs.extend(alerts.outputs);
        outputs.extend(self.decisions.measure(&mut self.models, &p.model_id)?);
        if let Some(evidence) = alerts.degraded {
            outputs.extend(self.decisions.process(&mut self.models, &at, &evidence)?);
        }
        Ok(outputs)
    }

    /// Processes one label and returns what to publish.
    pub fn process_label(
        &mut self,
        pos: &SourcePos,
        label: &Label,
    ) -> Result<Vec<Output>, StateError> {
        self.models.track(&label.model_id, pos.partition);
        let joined = self.join.process(&mut self.models, pos, label)?;
        let outputs = self.joined(pos, &label.model_id, joined, label.event_time)?;
        self.mark_done(pos);
        Ok(outputs)
    }

    /// A join's concept-drift event, then the decision on a concept-drift
    /// alert it opened.
    fn joined(
        &mut self,
        pos: &SourcePos,
        model_id: &str,
        joined: crate::detect::join::Joined,
        event_time: i64,
    ) -> Result<Vec<Output>, StateError> {
        let mut outputs: Vec<Output> = joined.drift.into_iter().map(Output::Drift).collect();
        if joined.concept_opened {
            outputs.extend(
                self.decisions
                    .concept(&mut self.models, pos, model_id, event_time)?,
            );
        }
        Ok(outputs)
    }

    /// Adds a lesson read from the lessons topic to its pool; false if it
    /// was held already.
    pub fn learn(&mut self, lesson: crate::decide::lesson::Lesson) -> bool {
        self.decisions.learn(lesson)
    }

    /// Processes one executor outcome.
    pub fn process_outcome(
        &mut self,
        pos: &SourcePos,
        o: &HealOutcome,
    ) -> Result<Vec<Output>, StateError> {
        self.models.track(&o.model_id, pos.partition);
        self.mark_done(pos);
        self.feedback
            .process_outcome(&mut self.models, &mut self.decisions, o)
    }

    /// Processes one operator command read at `pos`; `verified` is the
    /// result of its signature check.
    pub fn process_operator(
        &mut self,
        pos: &SourcePos,
        cmd: &OperatorCommand,
        verified: Result<(), String>,
    ) -> Result<Vec<Output>, StateError> {
        self.models.track(&feedback::scope(pos, cmd), pos.partition);
        self.mark_done(pos);
        self.feedback
            .process_operator(&mut self.models, &mut self.decisions, pos, cmd, verified)
    }

    /// Offsets done since the last checkpoint: (topic, partition, next offset).
    pub fn pending_offsets(&self) -> Vec<(String, i32, i64)> {
        self.pending_offsets
            .iter()
            .map(|((t, p), next)| (t.clone(), *p, *next))
            .collect()
    }
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

#[cfg(test)]
#[path = "models_tests.rs"]
mod models_tests;

#[cfg(test)]
#[path = "pool_tests.rs"]
mod pool_tests;

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod recovery_tests;
