//! The contextual bandit's settings (`[decide.bandit]`) and their checks.
//!
//! Guarantees: every field is documented here and in
//! `docs/configuration.md`; [`BanditConfig::default`] equals the embedded
//! `defaults.toml` (tested); [`check_bandit`] rejects every value the
//! engine cannot use, with an error naming the key.

use serde::{Deserialize, Serialize};

use super::load::ConfigError;
use crate::decide::bandit::{Deviation, Scope};

/// The contextual bandit (`[decide.bandit]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BanditConfig {
    /// Arms: a subset of none, retrain, rollback, fallback, hold, escalate
    /// (no duplicates, at least one).
    pub arms: Vec<String>,
    /// Joint posterior draws used to estimate the confidence (≥ 1).
    pub samples: usize,
    /// Seed mixed with each decision id: the same input gives the same draws.
    pub seed: u64,
    /// Prior precision of the arm weights (ridge strength, > 0).
    pub prior_precision: f64,
    /// Reward = benefit-weight × recovery − cost-weight × cost (≥ 0).
    pub benefit_weight: f64,
    /// See `benefit-weight` (≥ 0).
    pub cost_weight: f64,
    /// Whose outcomes a model's bandit learns from: `model` (its own only),
    /// `group` (its own, plus those of the models with the same
    /// `bandit-group`, shrunk by `pool-strength`) or `global` (its own,
    /// plus every model's, shrunk).
    #[serde(default = "default_scope")]
    pub scope: Scope,
    /// Forgetting factor γ in (0, 1]: each new outcome of an arm multiplies
    /// the weight of that arm's earlier outcomes by γ (1 forgets nothing),
    /// so the bandit follows a change of an action's cost or effect; the
    /// memory is about 1 / (1 − γ) outcomes per arm.
    #[serde(default = "default_forgetting")]
    pub forgetting: f64,
    /// Weight in [0, 1] of the other models' outcomes in a model's prior
    /// (1: as if they were its own; 0: ignored, the same as `scope =
    /// "model"`); the pool's covariance is inflated by 1 / pool-strength.
    #[serde(default = "default_pool_strength")]
    pub pool_strength: f64,
    /// How far one model's arm weights may deviate from its pool's (scope
    /// `group` or `global`): `"estimated"` (from how far each model's
    /// outcomes stray from what the other models' predict, per arm and
    /// refreshed with every outcome) or a fixed variance τ² ≥ 0 in units of
    /// the reward noise variance (0: complete pooling, a model's outcomes
    /// count no more than any other's).
    #[serde(default = "default_deviation")]
    pub deviation: Deviation,
    /// Prior mean reward (reward units, ≥ 0) of the action of the first
    /// matching default rule, halved for each later default rule: before any
    /// outcome the bandit favours what the rules would do; 0 turns this
    /// informative start off.
    #[serde(default = "default_rules_prior")]
    pub rules_prior: f64,
    /// Shape `a0` (> 0) of the inverse-gamma prior of the reward noise
    /// variance σ² of the learner's arms (about `2 · a0` pseudo-outcomes).
    #[serde(default = "default_noise_shape")]
    pub noise_shape: f64,
    /// Scale `b0` (> 0) of that prior: the prior mean of σ² is
    /// `b0 / (a0 − 1)` (reward units²).
    #[serde(default = "default_noise_scale")]
    pub noise_scale: f64,
    /// Most lessons a pool holds in the pipeline (`scope` other than
    /// `model`); past it the earliest learned are dropped (≥ 1).
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
}

/// Default of `pool-size`.
pub fn default_pool_size() -> usize {
    2000
}

/// Default of `noise-shape`.
pub fn default_noise_shape() -> f64 {
    100.0
}

/// Default of `noise-scale`.
pub fn default_noise_scale() -> f64 {
    100.0
}

/// Default of `scope`.
pub fn default_scope() -> Scope {
    Scope::Global
}

/// Default of `forgetting` (chosen by `jidoka bench ablation` on
/// `benches/scenarios/seed-cost-swap.toml`, see docs/decisions.md).
pub fn default_forgetting() -> f64 {
    0.99
}

/// Default of `pool-strength`.
pub fn default_pool_strength() -> f64 {
    1.0
}

/// Default of `deviation`.
pub fn default_deviation() -> Deviation {
    Deviation::ESTIMATED
}

/// Default of `rules-prior`.
pub fn default_rules_prior() -> f64 {
    5.0
}

impl Default for BanditConfig {
    fn default() -> Self {
        BanditConfig {
            arms: ["retrain", "rollback", "fallback", "hold", "escalate"]
                .map(String::from)
                .to_vec(),
            samples: 200,
            seed: 0,
            prior_precision: 10.0,
            benefit_weight: 1.0,
            cost_weight: 0.01,
            scope: default_scope(),
            forgetting: default_forgetting(),
            pool_strength: default_pool_strength(),
            deviation: default_deviation(),
            rules_prior: default_rules_prior(),
            noise_shape: default_noise_shape(),
            noise_scale: default_noise_scale(),
            pool_size: default_pool_size(),
        }
    }
}

/// Checks every `[decide.bandit]` value; the error names the key.
pub(super) fn check_bandit(
    b: &BanditConfig,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    if b.arms.is_empty() {
        return Err(fail(
            "decide.bandit.arms",
            "must name at least one arm".into(),
        ));
    }
    for (i, arm) in b.arms.iter().enumerate() {
        let known = [
            "none", "retrain", "rollback", "fallback", "hold", "escalate",
        ];
        if !known.contains(&arm.as_str()) {
            return Err(fail(
                "decide.bandit.arms",
                format!("unknown arm `{arm}` (known: {})", known.join(", ")),
            ));
        }
        if b.arms[..i].contains(arm) {
            return Err(fail(
                "decide.bandit.arms",
                format!("`{arm}` is listed twice"),
            ));
        }
    }
    if b.samples == 0 {
        return Err(fail("decide.bandit.samples", "must be at least 1".into()));
    }
    if b.pool_size == 0 {
        return Err(fail("decide.bandit.pool-size", "must be at least 1".into()));
    }
    for (key, v) in [
        ("decide.bandit.prior-precision", b.prior_precision),
        ("decide.bandit.noise-shape", b.noise_shape),
        ("decide.bandit.noise-scale", b.noise_scale),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(fail(key, format!("must be positive, got {v}")));
        }
    }
    for (key, w) in [
        ("decide.bandit.benefit-weight", b.benefit_weight),
        ("decide.bandit.cost-weight", b.cost_weight),
        ("decide.bandit.rules-prior", b.rules_prior),
    ] {
        if !(w.is_finite() && w >= 0.0) {
            return Err(fail(key, format!("must be ≥ 0, got {w}")));
        }
    }
    if !(b.forgetting.is_finite() && b.forgetting > 0.0 && b.forgetting <= 1.0) {
        return Err(fail(
            "decide.bandit.forgetting",
            format!("must be in (0, 1], got {}", b.forgetting),
        ));
    }
    if !(b.pool_strength.is_finite() && (0.0..=1.0).contains(&b.pool_strength)) {
        return Err(fail(
            "decide.bandit.pool-strength",
            format!("must be in [0, 1], got {}", b.pool_strength),
        ));
    }
    if !b.deviation.is_valid() {
        return Err(fail(
            "decide.bandit.deviation",
            format!("must be \"estimated\" or a number ≥ 0, got {}", b.deviation),
        ));
    }
    Ok(())
}
