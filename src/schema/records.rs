//! Rust types of the records in `schemas/`. Field names and types mirror the
//! `.avsc` files one to one; the codec's tests round-trip each type through
//! its schema, so a drift between the two fails the build's tests.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use super::action::Action;
pub use super::status::AuditStatus;
pub use super::test_kind::TestKind;
use super::wire_enum::wire_enum;

/// One model prediction (`schemas/prediction.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Unique id; labels refer to it.
    pub prediction_id: String,
    /// Model that made the prediction; also the record key.
    pub model_id: String,
    /// Version of the model.
    pub model_version: String,
    /// Event time, ms since the epoch.
    pub event_time: i64,
    /// Numeric features by name (finite values only).
    pub features: BTreeMap<String, f64>,
    /// Categorical features by name.
    pub categorical_features: Option<BTreeMap<String, String>>,
    /// Model output score.
    pub score: f64,
    /// Predicted class, for classifiers.
    pub predicted_class: Option<String>,
    /// Serving latency in ms.
    pub latency_ms: Option<f64>,
}

/// Ground truth for a prediction (`schemas/label.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// Prediction the label belongs to.
    pub prediction_id: String,
    /// Model of that prediction.
    pub model_id: String,
    /// When the truth became known, ms.
    pub event_time: i64,
    /// The true value.
    pub label: String,
}

/// A drifted feature (`schemas/drift_event.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftEvent {
    /// Deterministic id.
    pub event_id: String,
    /// Model whose input drifted.
    pub model_id: String,
    /// Feature that drifted.
    pub feature: String,
    /// Test that drifted.
    pub test: TestKind,
    /// Test statistic.
    pub statistic: f64,
    /// p-value.
    pub p_value: f64,
    /// Significance level used.
    pub alpha: f64,
    /// Values in the reference window.
    pub reference_size: i64,
    /// Event time of the first reference value.
    pub reference_start_time: i64,
    /// Event time of the last reference value.
    pub reference_end_time: i64,
    /// Values in the current window.
    pub window_size: i64,
    /// Model record index of the first value in the current window.
    pub window_start_record: i64,
    /// Model record index of the last value in the current window.
    pub window_end_record: i64,
    /// Event time of the first value in the current window.
    pub window_start_time: i64,
    /// Event time of the last value in the current window.
    pub window_end_time: i64,
    /// Event time of the evaluation.
    pub event_time: i64,
    /// `covariate`, `anomaly` or `concept`.
    pub kind: String,
    /// `opened` or `closed`.
    pub status: String,
    /// Covariate drift: p-value after the correction.
    pub adjusted_p_value: Option<f64>,
    /// Correction across features (`none` for anomaly and concept events).
    pub correction: String,
    /// The model's late predictions so far.
    pub late_records: i64,
    /// Effect size (normed Wasserstein, Jensen–Shannon, |Z|).
    pub effect_size: Option<f64>,
    /// The effect-size gate applied.
    pub min_effect: Option<f64>,
}

/// One test of one feature or metric at one evaluation
/// (`schemas/evaluation.avsc`), drifted or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationRecord {
    /// Deterministic id.
    pub evaluation_id: String,
    /// Model evaluated.
    pub model_id: String,
    /// Model version serving.
    pub model_version: String,
    /// `covariate` or `anomaly`.
    pub kind: String,
    /// Feature or metric.
    pub feature: String,
    /// Test.
    pub test: TestKind,
    /// Test statistic.
    pub statistic: f64,
    /// p-value.
    pub p_value: f64,
    /// Covariate: p-value after the correction.
    pub adjusted_p_value: Option<f64>,
    /// Raw p-value cutoff at this evaluation.
    pub threshold: f64,
    /// Correction across features (`none` for anomaly).
    pub correction: String,
    /// Effect size (normed Wasserstein for ks, Jensen–Shannon for chi2,
    /// |Z| for zscore).
    pub effect_size: Option<f64>,
    /// The effect-size gate applied (0: off).
    pub min_effect: f64,
    /// The test rejected the null hypothesis (after the correction).
    pub significant: bool,
    /// Significant and past the effect gate: counts toward the alert.
    pub drifted: bool,
    /// The alert is open after it.
    pub alert_open: bool,
    /// `opened`, `closed` or `none`.
    pub transition: String,
    /// Values in the reference window (the baseline's, for zscore).
    pub reference_size: i64,
    /// Event time of the first reference value.
    pub reference_start_time: i64,
    /// Event time of the last reference value.
    pub reference_end_time: i64,
    /// Values in the current window.
    pub window_size: i64,
    /// Model record index of the first value in the current window.
    pub window_start_record: i64,
    /// Model record index of the last value in the current window.
    pub window_end_record: i64,
    /// Event time of the first value in the current window.
    pub window_start_time: i64,
    /// Event time of the last value in the current window.
    pub window_end_time: i64,
    /// The model's record count at the evaluation.
    pub record: i64,
    /// Event time of the evaluation.
    pub event_time: i64,
}

/// A command for downstream executors (`schemas/heal_command.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealCommand {
    /// Deterministic id; executors de-duplicate on it.
    pub command_id: String,
    /// Audit record explaining it.
    pub decision_id: String,
    /// Model to heal.
    pub model_id: String,
    /// Model version serving at decision time.
    pub model_version: String,
    /// What to do: never [`Action::None`] (the Avro enum has no `none`).
    pub action: Action,
    /// One-line reason.
    pub reason: String,
    /// Drift event ids behind the decision.
    pub evidence: Vec<String>,
    /// Event time of the decision.
    pub issued_at: i64,
    /// Config hash.
    pub config_version: String,
    /// The earlier command this one acts on: the dispatched command a
    /// `hold` stops, the escalation an approved command answers; `None` for
    /// a decision's own command.
    pub target_command_id: Option<String>,
}

wire_enum! {
    /// How an executor's run ended (the Avro enum `OutcomeStatus`; the
    /// string `AuditOutcome::status`).
    pub enum OutcomeStatus {
        /// The action ran and completed.
        Succeeded = "succeeded",
        /// The action ran and failed.
        Failed = "failed",
        /// The executor refused the action.
        Rejected = "rejected",
    }
}

/// An executor's report (`schemas/heal_outcome.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealOutcome {
    /// Command answered.
    pub command_id: String,
    /// Model healed.
    pub model_id: String,
    /// How it ended.
    pub status: OutcomeStatus,
    /// Measured improvement.
    pub recovery: f64,
    /// Cost of the action.
    pub cost: f64,
    /// When reported, ms.
    pub reported_at: i64,
    /// Free text for people (a CI run's URL, why it failed); not part of
    /// the reward.
    pub note: Option<String>,
}

/// What an operator asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorKind {
    /// Cancel a pending or future command.
    Veto,
    /// Approve an escalation.
    Approve,
    /// Stop automatic actions.
    Pause,
    /// Resume automatic actions.
    Resume,
}

impl OperatorKind {
    /// The lowercase name used on the wire (the Avro enum symbol).
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorKind::Veto => "veto",
            OperatorKind::Approve => "approve",
            OperatorKind::Pause => "pause",
            OperatorKind::Resume => "resume",
        }
    }
}

impl fmt::Display for OperatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed human instruction (`schemas/operator_command.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorCommand {
    /// Unique id.
    pub command_id: String,
    /// What is asked.
    pub kind: OperatorKind,
    /// Model, or every model when `None`.
    pub model_id: Option<String>,
    /// Command or escalation referred to.
    pub target_command_id: Option<String>,
    /// Who issued it.
    pub issued_by: String,
    /// When, ms.
    pub issued_at: i64,
    /// Lowercase hex HMAC-SHA256 over every other field
    /// (`crate::operator::sign`).
    pub signature: Option<String>,
    /// Approve only: the action to take instead of the escalation's
    /// proposal (an [`Action`] name); `None` keeps the proposal.
    pub action: Option<String>,
    /// Free-text reason.
    pub note: Option<String>,
}

/// Where a decision came from in the input stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditInputs {
    /// Topic of the triggering record.
    pub source_topic: String,
    /// Its partition.
    pub source_partition: i32,
    /// Its offset.
    pub source_offset: i64,
    /// Model records processed so far.
    pub records_seen: i64,
}

/// One feature's test result at an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureEvidence {
    /// Feature name.
    pub feature: String,
    /// Test that produced the result.
    pub test: TestKind,
    /// Statistic.
    pub statistic: f64,
    /// p-value.
    pub p_value: f64,
    /// Whether it counts as drift.
    pub drifted: bool,
    /// Drift event published for it, if any.
    pub drift_event_id: Option<String>,
}

/// A rule and whether it matched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleEvaluation {
    /// Rule name.
    pub name: String,
    /// Its condition, as written.
    pub condition: String,
    /// Whether it matched.
    pub matched: bool,
    /// Action it proposes.
    pub action: String,
    /// A hard safety rule: wins over the bandit.
    #[serde(default)]
    pub hard: bool,
    /// Evaluation order, higher first.
    #[serde(default)]
    pub priority: i32,
}

/// Result of the cooldown check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CooldownCheck {
    /// The model was still cooling down.
    pub active: bool,
    /// Event time of the last command.
    pub last_action_at: Option<i64>,
    /// Cooldown left, ms.
    pub remaining_ms: i64,
}

/// Why a decision was taken (`schemas/audit_record.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Deterministic decision id.
    pub decision_id: String,
    /// Model concerned.
    pub model_id: String,
    /// Model version at the time.
    pub model_version: String,
    /// Event time of the decision.
    pub decided_at: i64,
    /// Input position.
    pub inputs: AuditInputs,
    /// Every feature tested.
    pub evidence: Vec<FeatureEvidence>,
    /// Every rule evaluated.
    pub rules: Vec<RuleEvaluation>,
    /// Cooldown check.
    pub cooldown: CooldownCheck,
    /// Final action, or `none`.
    pub action: String,
    /// Why.
    pub gate_reason: String,
    /// Command published, if any.
    pub command_id: Option<String>,
    /// Config hash.
    pub config_version: String,
    /// 1-based position in the model's audit chain.
    pub sequence: i64,
    /// `record_hash` of the model's previous audit record.
    pub previous_hash: Option<String>,
    /// Hex SHA-256 of this record's canonical JSON with `record_hash` empty.
    pub record_hash: String,
    /// Who chose the proposed action: `rules`, `bandit`, `human` or
    /// `escalation`.
    #[serde(default = "default_decided_by")]
    pub decided_by: String,
    /// Action proposed before the checks (`none` if nothing was).
    #[serde(default)]
    pub proposed_action: String,
    /// Decision signals by name.
    #[serde(default)]
    pub context: BTreeMap<String, f64>,
    /// The bandit's view, when it was consulted.
    #[serde(default)]
    pub bandit: Option<BanditView>,
    /// Every check between proposal and final action.
    #[serde(default)]
    pub checks: Vec<GateCheck>,
    /// Operator command this record is about.
    #[serde(default)]
    pub operator_command_id: Option<String>,
    /// Lifecycle state (`decided`, `dispatched`, `awaiting-approval`,
    /// `approved`, `vetoed`, `completed`, `accepted`, `rejected`).
    #[serde(default)]
    pub status: AuditStatus,
    /// 1 for the decision, +1 per later stage of the same decision.
    #[serde(default = "default_version")]
    pub version: i32,
    /// The executor's report, once it arrived.
    #[serde(default)]
    pub outcome: Option<AuditOutcome>,
    /// The earlier version of this decision this record replaces.
    #[serde(default)]
    pub supersedes: Option<Superseded>,
    /// The decision's reward once complete, with its measured and
    /// reported parts (schema version 3; kept last: see
    /// [`crate::audit::chain::record_hash`]).
    #[serde(default)]
    pub reward: Option<super::reward::AuditReward>,
}

impl Default for AuditRecord {
    /// Empty, with the schema's defaults: decided by rules, status
    /// `decided`, version 1.
    fn default() -> Self {
        AuditRecord {
            decision_id: String::new(),
            model_id: String::new(),
            model_version: String::new(),
            decided_at: 0,
            inputs: AuditInputs::default(),
            evidence: Vec::new(),
            rules: Vec::new(),
            cooldown: CooldownCheck::default(),
            action: String::new(),
            gate_reason: String::new(),
            command_id: None,
            config_version: String::new(),
            sequence: 0,
            previous_hash: None,
            record_hash: String::new(),
            decided_by: default_decided_by(),
            proposed_action: String::new(),
            context: BTreeMap::new(),
            bandit: None,
            checks: Vec::new(),
            operator_command_id: None,
            status: AuditStatus::Decided,
            version: default_version(),
            outcome: None,
            supersedes: None,
            reward: None,
        }
    }
}

fn default_decided_by() -> String {
    "rules".into()
}

fn default_version() -> i32 {
    1
}

/// The bandit's view of one decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BanditView {
    /// Arm with the highest Thompson draw.
    pub chosen: String,
    /// Posterior probability that `chosen` is best (sampled).
    pub confidence: f64,
    /// Confidence the gate requires.
    pub threshold: f64,
    /// Joint posterior draws used.
    pub samples: i32,
    /// Every arm.
    pub arms: Vec<ArmView>,
    /// `decide.bandit.seed`: the draws were seeded with it and the decision
    /// id (schema version 4; `None` in records written before, whose
    /// `against` and arms' `deviation` are unknown too). A seed above
    /// `i64::MAX` is recorded as its two's-complement `i64`.
    #[serde(default)]
    pub seed: Option<i64>,
    /// The arm `confidence` was measured against (the rules' choice);
    /// `None` when it was measured as the best of all arms (schema version
    /// 4; see `seed` for older records).
    #[serde(default)]
    pub against: Option<String>,
}

/// One arm of the bandit at a decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmView {
    /// Action of the arm (`none` for no action).
    pub action: String,
    /// Posterior mean reward at this context.
    pub posterior_mean: f64,
    /// Outcomes learned from.
    pub observations: i64,
    /// The deviation τ² the arm's pooled prior was widened by (0: complete
    /// pooling, scope `model`, or a model's stored bandit); `None` in
    /// records written before schema version 4.
    #[serde(default)]
    pub deviation: Option<f64>,
}

/// One check between the proposal and the final action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    /// `evidence-age`, `pause`, `cooldown`, `rate-limit`, `veto`, `gate` or
    /// `signature`.
    pub name: String,
    /// Whether it let the action through.
    pub passed: bool,
    /// Plain-words detail.
    pub detail: String,
}

/// The executor's report on a decision's command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditOutcome {
    /// Command reported on.
    pub command_id: String,
    /// How the executor's run ended.
    pub status: OutcomeStatus,
    /// Measured recovery.
    pub recovery: f64,
    /// Cost reported.
    pub cost: f64,
    /// Reward the bandit learned (0 and not learned when rejected).
    pub reward: f64,
    /// When the executor reported (ms).
    pub reported_at: i64,
}

/// The version of a decision a record replaces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Superseded {
    /// Its sequence number in the model's chain.
    pub sequence: i64,
    /// Its hash.
    pub record_hash: String,
}

/// An input record that could not be processed (`schemas/dead_letter.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Source topic.
    pub source_topic: String,
    /// Source partition.
    pub source_partition: i32,
    /// Source offset.
    pub source_offset: i64,
    /// Original key bytes.
    #[serde(with = "apache_avro::serde_avro_bytes_opt")]
    pub source_key: Option<Vec<u8>>,
    /// Original value bytes (a prefix when `payload_truncated`).
    #[serde(with = "apache_avro::serde_avro_bytes_opt")]
    pub payload: Option<Vec<u8>>,
    /// Length of the original value.
    pub payload_size: i64,
    /// `payload` is only a prefix of the original value.
    pub payload_truncated: bool,
    /// Hex SHA-256 of the whole original value.
    pub payload_sha256: Option<String>,
    /// Class of error.
    pub error_kind: String,
    /// Human-readable reason.
    pub reason: String,
    /// Kafka timestamp of the original, ms.
    pub source_timestamp: Option<i64>,
}
