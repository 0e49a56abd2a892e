//! The reward part of an audit record ([`AuditReward`], version 3 of
//! `schemas/audit_record.avsc`): what the bandit learned from a decision,
//! which parts were measured from the model's own signals and which were
//! reported by an executor, and the weights that combined them.
//!
//! Guarantees: plain data, every number as it went into the reward (the
//! reward can be recomputed from the record alone, see
//! [`crate::decide::reward`]).

use serde::{Deserialize, Serialize};

/// What a decision's reward was made of (`AuditRecord.reward`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditReward {
    /// The arm the reward belongs to: the command's action, or `none` when
    /// no command was issued.
    pub arm: String,
    /// `measured`, `reported` or `measured+reported`.
    pub parts: String,
    /// Whether the bandit learned it.
    pub learned: bool,
    /// Event time after the decision at which the signals were measured
    /// again (ms).
    pub horizon_ms: i64,
    /// The model's stream time when it was measured (ms).
    pub measured_at: Option<i64>,
    /// Accuracy drop at the decision (0 when not yet known).
    pub accuracy_drop_before: f64,
    /// Share of tested features in drift at the decision.
    pub drifted_share_before: f64,
    /// Accuracy drop after the horizon.
    pub accuracy_drop_after: Option<f64>,
    /// Share of tested features in drift after the horizon.
    pub drifted_share_after: Option<f64>,
    /// Degradation before minus after, in `[-1, 1]`.
    pub measured_recovery: Option<f64>,
    /// Recovery the executor reported, when its outcome was used.
    pub reported_recovery: Option<f64>,
    /// Cost the executor reported, when its outcome was used.
    pub reported_cost: Option<f64>,
    /// `decide.reward.measured-weight`.
    pub measured_weight: f64,
    /// `decide.reward.reported-weight`.
    pub reported_weight: f64,
    /// `decide.bandit.benefit-weight`.
    pub benefit_weight: f64,
    /// `decide.bandit.cost-weight`.
    pub cost_weight: f64,
    /// The weighted mean of the parts present.
    pub recovery: f64,
    /// benefit-weight × recovery − cost-weight × cost.
    pub reward: f64,
}
