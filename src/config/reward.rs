//! The reward's settings (`[decide.reward]`): the horizon after which a
//! decision is measured again on the model's own signals, the grace a
//! command's outcome gets, and the weights of the measured and reported
//! parts.
//!
//! Guarantees: every key has a default (a config without the table
//! measures every decision and weighs the measured and reported parts
//! equally); the weights are checked at load ([`super::Config::load`]), naming the key and the file.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a decision's reward is made (`[decide.reward]`): the model's own
/// signals measured again after `horizon`, and the executor's report,
/// weighted (docs/decisions.md, "Reward").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RewardConfig {
    /// Event time of the model's own stream after a decision at which its
    /// accuracy drop and drifted share are measured again (humantime).
    #[serde(default = "default_reward_horizon", with = "humantime_serde")]
    pub horizon: Duration,
    /// How much longer, after the horizon, a dispatched command's reward
    /// waits for the executor's outcome; then the measured part alone is
    /// learned (humantime).
    #[serde(default = "default_outcome_grace", with = "humantime_serde")]
    pub outcome_grace: Duration,
    /// Weight of the measured recovery in the recovery (≥ 0; default 1,
    /// the same as the reported part; 0 turns measurement off: the reward
    /// is the executor's report alone, learned when it arrives).
    #[serde(default = "default_reward_weight")]
    pub measured_weight: f64,
    /// Weight of the executor's reported recovery in the recovery (≥ 0).
    #[serde(default = "default_reward_weight")]
    pub reported_weight: f64,
}

/// Default of `decide.reward.horizon`: 30 minutes.
pub fn default_reward_horizon() -> Duration {
    Duration::from_secs(30 * 60)
}

/// Default of `decide.reward.outcome-grace`: 30 minutes.
pub fn default_outcome_grace() -> Duration {
    Duration::from_secs(30 * 60)
}

/// Default of `decide.reward.measured-weight` and
/// `decide.reward.reported-weight`: 1.
pub fn default_reward_weight() -> f64 {
    1.0
}

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig {
            horizon: default_reward_horizon(),
            outcome_grace: default_outcome_grace(),
            measured_weight: default_reward_weight(),
            reported_weight: default_reward_weight(),
        }
    }
}
