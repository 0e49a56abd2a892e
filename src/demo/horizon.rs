//! How much of a model's stream must pass for a command to be measured
//! again: the reward's horizon (`[decide.reward] horizon`), then at most one
//! evaluation of the model (`[detect] evaluate-every` records).
//!
//! Guarantees: pure functions of the config and the scenario (no clock, no
//! broker); with measurement off (`measured-weight = 0`) no command waits
//! and no time needs to pass; a stream run on for [`time_to_pass`] records
//! per model reaches [`measured_by`] of the command it is given.

use super::scenario::Scenario;
use crate::config::Config;

/// Stream time by which a command issued at `issued_at` has been measured
/// again: its horizon, then at most one evaluation of its model later
/// (`None` when measurement is off).
pub(super) fn measured_by(cfg: &Config, scenario: &Scenario, issued_at: i64) -> Option<i64> {
    if cfg.decide.reward.measured_weight <= 0.0 {
        return None;
    }
    let horizon = i64::try_from(cfg.decide.reward.horizon.as_millis()).unwrap_or(i64::MAX);
    let evaluation = i64::try_from(cfg.detect.evaluate_every)
        .unwrap_or(i64::MAX)
        .saturating_mul(scenario.interval_ms);
    Some(issued_at.saturating_add(horizon).saturating_add(evaluation))
}

/// Records per model the streams run on so that the last command, issued
/// at `last`, is measured again (0 without a command, or when measurement
/// is off).
pub(super) fn time_to_pass(cfg: &Config, scenario: &Scenario, last: Option<i64>) -> u64 {
    let Some(by) = last.and_then(|t| measured_by(cfg, scenario, t)) else {
        return 0;
    };
    let gap = by.saturating_sub(scenario.end_time_ms()).max(0);
    u64::try_from(gap.div_euclid(scenario.interval_ms.max(1)) + 1).unwrap_or(0)
}
