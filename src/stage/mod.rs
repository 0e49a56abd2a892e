//! Stage operators' common ground: where an input record came from
//! ([`SourcePos`]), what a stage emits ([`Output`]), the moment of an
//! evaluation ([`Evaluation`]), the models' shared bookkeeping ([`Models`])
//! and the lifecycle hooks every operator has ([`Operator`]).
//!
//! The operators themselves live in their stages: detection in
//! [`crate::detect::operator`], the label join in [`crate::detect::join`],
//! decisions in [`crate::decide::operator`], feedback in
//! [`crate::heal::feedback`]; [`crate::pipeline`] wires them.
//!
//! Guarantees: an operator owns its tables and keeps what it changed in
//! memory (or in its own [`StateBatch`]) until [`Operator::on_checkpoint`]
//! writes it into the checkpoint's batch; operators write disjoint keys, so
//! the order in which they are checkpointed does not change the batch.

mod models;

pub use models::{ModelEntry, Models};

use crate::decide::lesson::Lesson;
use crate::ids;
use crate::schema::{AuditRecord, DriftEvent, EvaluationRecord, HealCommand};
use crate::state::{StateBatch, StateError};

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
    /// To the evaluations topic (when enabled), keyed by model id; also
    /// the source of the per-feature gauges.
    Evaluation(EvaluationRecord),
    /// To the lessons topic, keyed by decision id: what a decision taught
    /// its bandit, for the pools of every instance.
    Lesson(Lesson),
}

/// Where and when an evaluation happened.
#[derive(Debug, Clone, Copy)]
pub struct Evaluation<'a> {
    /// The record that triggered it.
    pub pos: &'a SourcePos,
    /// Model.
    pub model_id: &'a str,
    /// Model version serving.
    pub model_version: &'a str,
    /// Event time (ms).
    pub event_time: i64,
    /// The model's record count at the evaluation.
    pub record: u64,
}

/// Lifecycle hooks of a stage operator (its `process` methods take the
/// stage's own inputs and are inherent).
pub trait Operator {
    /// Writes the state changed since the last checkpoint into `batch`
    /// (each changed key once); `models` tells each model's partition.
    fn on_checkpoint(
        &mut self,
        _models: &Models,
        _batch: &mut StateBatch,
    ) -> Result<(), StateError> {
        Ok(())
    }

    /// Drops what is cached for input partition `partition` (revoked or
    /// restored), whose cached models were `models`; what the store holds
    /// is reloaded from there when needed.
    fn on_revoke(&mut self, _partition: i32, _models: &[String]) {}
}
