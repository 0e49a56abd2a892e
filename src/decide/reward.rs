//! The reward a decision teaches the bandit: the model's own signals
//! measured again after a horizon, and what an executor reported, weighted.
//!
//! Guarantees (documented in docs/decisions.md, "Reward"; pure functions):
//! * a model's degradation is `(clamp(accuracy_drop, 0, 1) +
//!   clamp(drifted_share, 0, 1)) / 2`, in `[0, 1]`; its measured recovery
//!   is the degradation at the decision minus the degradation after the
//!   horizon, in `[-1, 1]`;
//! * the recovery is the weighted mean of the parts present: measured
//!   (weight `measured-weight`) and reported (weight `reported-weight`); a
//!   part that is absent, or whose weight is 0, does not count; with no part
//!   counting it is 0;
//! * reward = benefit-weight × recovery − cost-weight × cost, where the cost
//!   is the executor's (0 without an outcome); with `measured-weight = 0`
//!   this is the reward made from the report alone;
//! * every number that went in is returned, for the audit record.

use crate::config::DecideConfig;
use crate::schema::{Action, AuditReward};

/// A model's health signals at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Health {
    /// Accuracy drop against the baseline (0 when not known yet).
    pub accuracy_drop: f64,
    /// Share of tested features in drift.
    pub drifted_share: f64,
}

impl Health {
    /// Degradation in `[0, 1]` (a NaN signal counts as 0).
    pub fn degradation(&self) -> f64 {
        let unit = |x: f64| if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
        (unit(self.accuracy_drop) + unit(self.drifted_share)) / 2.0
    }
}

/// The executor's part: its reported recovery and cost.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reported {
    /// Recovery reported.
    pub recovery: f64,
    /// Cost reported.
    pub cost: f64,
}

/// The reward's weights (`[decide.reward]` and `[decide.bandit]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Event time after a decision at which it is measured again (ms).
    pub horizon_ms: i64,
    /// How much longer a dispatched command waits for its outcome (ms).
    pub grace_ms: i64,
    /// Weight of the measured recovery.
    pub measured: f64,
    /// Weight of the reported recovery.
    pub reported: f64,
    /// Weight of the recovery in the reward.
    pub benefit: f64,
    /// Weight of the cost in the reward.
    pub cost: f64,
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Weights {
    /// The weights of `cfg`.
    pub fn new(cfg: &DecideConfig) -> Self {
        Weights {
            horizon_ms: millis(cfg.reward.horizon),
            grace_ms: millis(cfg.reward.outcome_grace),
            measured: cfg.reward.measured_weight,
            reported: cfg.reward.reported_weight,
            benefit: cfg.bandit.benefit_weight,
            cost: cfg.bandit.cost_weight,
        }
    }

    /// Whether decisions are measured at all (`measured-weight > 0`).
    pub fn measures(&self) -> bool {
        self.measured > 0.0
    }

    /// The reward of a decision of `arm` whose model had `before` at the
    /// decision and `after` (measured at `measured_at`) after the horizon,
    /// with the executor's report if one is used.
    pub fn reward(
        &self,
        arm: Action,
        before: Health,
        after: Option<(Health, i64)>,
        reported: Option<Reported>,
    ) -> AuditReward {
        let measured = after.map(|(h, _)| before.degradation() - h.degradation());
        let mut sum = 0.0;
        let mut weight = 0.0;
        if let Some(m) = measured.filter(|_| self.measured > 0.0) {
            sum += self.measured * m;
            weight += self.measured;
        }
        if let Some(r) = reported.filter(|_| self.reported > 0.0) {
            sum += self.reported * r.recovery;
            weight += self.reported;
        }
        let recovery = if weight > 0.0 { sum / weight } else { 0.0 };
        let cost = reported.map_or(0.0, |r| r.cost);
        let parts = match (measured.is_some(), reported.is_some()) {
            (true, true) => "measured+reported",
            (false, true) => "reported",
            _ => "measured",
        };
        AuditReward {
            arm: arm.as_str().to_string(),
            parts: parts.to_string(),
            learned: false,
            horizon_ms: self.horizon_ms,
            measured_at: after.map(|(_, at)| at),
            accuracy_drop_before: before.accuracy_drop,
            drifted_share_before: before.drifted_share,
            accuracy_drop_after: after.map(|(h, _)| h.accuracy_drop),
            drifted_share_after: after.map(|(h, _)| h.drifted_share),
            measured_recovery: measured,
            reported_recovery: reported.map(|r| r.recovery),
            reported_cost: reported.map(|r| r.cost),
            measured_weight: self.measured,
            reported_weight: self.reported,
            benefit_weight: self.benefit,
            cost_weight: self.cost,
            recovery,
            reward: self.benefit * recovery - self.cost * cost,
        }
    }
}

#[cfg(test)]
#[path = "reward_tests.rs"]
mod tests;
