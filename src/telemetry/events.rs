//! Notable events: one struct each, one `emit` that logs and counts.

use std::time::Instant;

use super::features::Latest;
use super::metrics::Metrics;
use super::models::AlertState;
use crate::schema::EvaluationRecord;

/// An input record could not be processed and was dead-lettered.
pub struct RecordDeadLettered<'a> {
    /// Source topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Error class.
    pub kind: &'a str,
    /// Reason.
    pub reason: &'a str,
}

impl RecordDeadLettered<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::warn!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            error_kind = self.kind,
            reason = self.reason,
            "record dead-lettered"
        );
        Metrics::add(&m.records_dead_lettered_total, 1);
    }
}

/// Records of an input topic not keyed by model id were forwarded, keyed
/// by model id, to its repartition topic (counted once acknowledged).
pub struct RecordsRepartitioned<'a> {
    /// Source topic.
    pub topic: &'a str,
    /// Repartition topic.
    pub repartition_topic: &'a str,
    /// Records forwarded.
    pub records: u64,
}

impl RecordsRepartitioned<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::debug!(
            topic = self.topic,
            repartition_topic = self.repartition_topic,
            records = self.records,
            "records forwarded to the repartition topic"
        );
        Metrics::add(&m.records_repartitioned_total, self.records);
    }
}

/// A record already reflected in the state was skipped.
pub struct RecordSkipped<'a> {
    /// Source topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

impl RecordSkipped<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::debug!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            "record already applied to state, skipped"
        );
        Metrics::add(&m.records_skipped_total, 1);
    }
}

/// Categorical values went to their feature's `"other"` category
/// (`max-categories`) in a batch.
pub struct CategoriesCapped {
    /// Values counted in `"other"`.
    pub values: u64,
}

impl CategoriesCapped {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::debug!(
            values = self.values,
            "categorical values beyond max-categories counted as \"other\""
        );
        Metrics::add(&m.categories_capped_total, self.values);
    }
}

/// A drift event was published (an alert opened, or for anomaly and
/// concept drift also closed).
pub struct DriftDetected<'a> {
    /// Input partition of the record behind it.
    pub partition: i32,
    /// Model.
    pub model_id: &'a str,
    /// `covariate`, `anomaly` or `concept`.
    pub kind: &'a str,
    /// `opened` or `closed`.
    pub status: &'a str,
    /// Feature.
    pub feature: &'a str,
    /// KS statistic.
    pub statistic: f64,
    /// p-value.
    pub p_value: f64,
    /// Model record index of the evaluation.
    pub record: i64,
}

impl DriftDetected<'_> {
    /// Logs, counts and sets the alert's state in the per-model gauges.
    pub fn emit(&self, m: &Metrics) {
        tracing::info!(
            model = self.model_id,
            kind = self.kind,
            status = self.status,
            feature = self.feature,
            statistic = self.statistic,
            p_value = self.p_value,
            record = self.record,
            "drift detected"
        );
        Metrics::add(&m.drift_events_total, 1);
        m.models.set_alerts([AlertState {
            partition: self.partition,
            model: self.model_id,
            kind: self.kind,
            name: self.feature,
            open: self.status != "closed",
        }]);
    }
}

/// A decision was taken and audited.
pub struct DecisionTaken<'a> {
    /// Model.
    pub model_id: &'a str,
    /// Decision id.
    pub decision_id: &'a str,
    /// Final action or `none`.
    pub action: &'a str,
    /// Gate reason.
    pub reason: &'a str,
    /// What made the decision (`rules`, …): the `source` label of
    /// `jidoka_decisions_total`.
    pub source: &'a str,
}

impl DecisionTaken<'_> {
    /// Logs and counts (in total, and by action and source).
    pub fn emit(&self, m: &Metrics) {
        tracing::info!(
            model = self.model_id,
            decision = self.decision_id,
            action = self.action,
            reason = self.reason,
            source = self.source,
            "decision taken"
        );
        Metrics::add(&m.decisions_total, 1);
        m.record_decision(self.action, self.source);
    }
}

/// A heal command was published.
pub struct HealCommandPublished<'a> {
    /// Input partition of the record behind it.
    pub partition: i32,
    /// Model.
    pub model_id: &'a str,
    /// Command id.
    pub command_id: &'a str,
    /// Action.
    pub action: &'a str,
}

impl HealCommandPublished<'_> {
    /// Logs, counts, and counts it in the model's commands of the last
    /// hour (from now: its publication was just acknowledged).
    pub fn emit(&self, m: &Metrics) {
        tracing::info!(
            model = self.model_id,
            command = self.command_id,
            action = self.action,
            "heal command published"
        );
        Metrics::add(&m.heal_commands_total, 1);
        m.models
            .record_command(self.model_id, self.partition, Instant::now());
    }
}

/// A partition's state was restored from its changelog.
pub struct StateRestored {
    /// Input partition.
    pub partition: i32,
    /// Changelog records read.
    pub records: u64,
    /// Bytes of keys and values read.
    pub bytes: u64,
    /// Time taken.
    pub elapsed: std::time::Duration,
}

impl StateRestored {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::info!(
            partition = self.partition,
            records = self.records,
            bytes = self.bytes,
            records_per_s = (self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)) as u64,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "state restored from changelog"
        );
        Metrics::add(&m.partitions_restored_total, 1);
        Metrics::add(&m.restored_records_total, self.records);
    }
}

/// A batch was acknowledged, checkpointed and committed.
pub struct BatchCommitted {
    /// Input records in the batch.
    pub records: usize,
    /// Output records acknowledged.
    pub outputs: usize,
}

impl BatchCommitted {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::debug!(
            records = self.records,
            outputs = self.outputs,
            "batch committed"
        );
        Metrics::add(&m.batches_total, 1);
    }
}

/// Committing consumer offsets failed (the next commit covers them; the
/// state's own offsets prevent double effects).
pub struct OffsetCommitFailed<'a> {
    /// The error.
    pub error: &'a dyn std::fmt::Display,
}

impl OffsetCommitFailed<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::warn!(error = %self.error, "offset commit failed");
        Metrics::add(&m.offset_commit_failures_total, 1);
    }
}

/// Producing outputs failed and will be retried.
pub struct ProduceRetried<'a> {
    /// Outputs not acknowledged.
    pub failed: usize,
    /// The first error.
    pub error: &'a dyn std::fmt::Display,
    /// Attempt number.
    pub attempt: u32,
}

impl ProduceRetried<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::warn!(failed = self.failed, error = %self.error, attempt = self.attempt,
            "outputs not acknowledged, retrying");
        Metrics::add(&m.produce_retries_total, 1);
    }
}

/// A batch's evaluations (one per tested feature and scored metric) were
/// acknowledged: the per-feature gauges take their values, the per-model
/// gauges their alerts' states.
pub struct FeaturesEvaluated<'a> {
    /// (input partition of the triggering record, evaluation), in
    /// processing order.
    pub evaluations: &'a [(i32, EvaluationRecord)],
}

impl FeaturesEvaluated<'_> {
    /// Sets the gauges (one lock for the batch); logs the series refused
    /// by `telemetry.feature-series-limit`, if any.
    pub fn emit(&self, m: &Metrics) {
        if self.evaluations.is_empty() {
            return;
        }
        let refused = m
            .features
            .update(self.evaluations.iter().map(|(partition, e)| Latest {
                partition: *partition,
                model: &e.model_id,
                kind: &e.kind,
                feature: &e.feature,
                test: e.test,
                statistic: e.statistic,
                p_value: e.p_value,
            }));
        m.models
            .set_alerts(self.evaluations.iter().map(|(partition, e)| AlertState {
                partition: *partition,
                model: &e.model_id,
                kind: &e.kind,
                name: &e.feature,
                open: e.alert_open,
            }));
        if refused > 0 {
            tracing::warn!(
                refused,
                "per-feature series over telemetry.feature-series-limit, aggregated into model=\"_other\""
            );
        }
        tracing::trace!(evaluations = self.evaluations.len(), "feature gauges set");
    }
}

/// An input partition was revoked: the per-feature and per-model series
/// of the models last evaluated from it leave with them.
pub struct FeatureSeriesRevoked {
    /// Input partition.
    pub partition: i32,
}

impl FeatureSeriesRevoked {
    /// Removes the series and logs how many.
    pub fn emit(&self, m: &Metrics) {
        let removed = m.features.forget_partition(self.partition);
        let models = m.models.forget_partition(self.partition);
        tracing::debug!(
            partition = self.partition,
            removed,
            models,
            "per-feature series of a revoked partition removed"
        );
    }
}

/// A writer schema could not be fetched from the Schema Registry; the
/// batch waits and asks again.
pub struct SchemaRegistryRetry<'a> {
    /// Schema id asked for.
    pub id: u32,
    /// What failed.
    pub error: &'a dyn std::fmt::Display,
    /// Wait before the next attempt.
    pub retry_in: std::time::Duration,
}

impl SchemaRegistryRetry<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::warn!(
            schema_id = self.id,
            error = %self.error,
            retry_in = ?self.retry_in,
            "schema registry request failed, retrying"
        );
        Metrics::add(&m.schema_registry_retries_total, 1);
    }
}
