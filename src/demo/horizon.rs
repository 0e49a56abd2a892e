//! How much of a model's stream must pass for a command to be measured
//! again: the reward's horizon (`[decide.reward] horizon`), then at most one
//! evaluation of the model (`[detect] evaluate-every` records).
//!
//! Guarantees: pure functions of the config and the scenario (no clock, no
//! broker); with measurement off (`measured-weight = 0`) no command waits
//! and no time needs to pass; a stream run on for [`time_to_pass`] records
//! per model reaches [`measured_by`] of the command it is given, and
//! [`after_stream`] records per model reach it for every command issued
//! within the scenario's stream.

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

/// Records per model a stream that cannot see its commands (`demo
/// --produce`) runs on after the scenario's last record, so that every
/// command issued within the scenario's stream is measured again: the
/// horizon plus one evaluation of stream time after its last record (0
/// when measurement is off).
pub(super) fn after_stream(cfg: &Config, scenario: &Scenario) -> u64 {
    if scenario.is_empty() {
        return 0;
    }
    time_to_pass(cfg, scenario, Some(scenario.end_time_ms()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_producer_runs_each_stream_past_the_horizon_of_its_last_record(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let mut cfg = Config::defaults()?;
        let scenario = Scenario::demo(5_000, 3_000);
        // Horizon 30 min and one evaluation (250 records, 1 s apart) after
        // the last record, then one record past it.
        assert_eq!(after_stream(&cfg, &scenario), 1_800 + 250 + 1);
        let tail = scenario.continued(after_stream(&cfg, &scenario));
        assert_eq!(tail.len(), 3 * 2_051);
        let end = scenario.end_time_ms();
        let by = measured_by(&cfg, &scenario, end).ok_or("measured")?;
        assert_eq!(by, end + 2_050_000);
        for model in ["fraud-v3", "churn-v7", "ranker-v2"] {
            let last = tail
                .iter()
                .filter(|p| p.model_id == model)
                .map(|p| p.event_time)
                .max()
                .ok_or("no tail")?;
            assert!(last > by && last - scenario.interval_ms <= by, "{model}");
        }
        // Follows the configured horizon and evaluation.
        cfg.decide.reward.horizon = Duration::from_secs(600);
        cfg.detect.evaluate_every = 100;
        assert_eq!(after_stream(&cfg, &scenario), 600 + 100 + 1);
        // Measurement off: no command waits, nothing more.
        cfg.decide.reward.measured_weight = 0.0;
        assert_eq!(after_stream(&cfg, &scenario), 0);
        assert_eq!(after_stream(&Config::defaults()?, &Scenario::demo(0, 0)), 0);
        Ok(())
    }

    #[test]
    fn time_passes_until_the_last_command_is_measured_again(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults()?;
        let scenario = Scenario::demo(5_000, 3_000);
        assert_eq!(time_to_pass(&cfg, &scenario, None), 0);
        // A command 1,000 s before the end: horizon and evaluation
        // (2,050 s) less those 1,000 s, and one record past it.
        let issued = scenario.end_time_ms() - 1_000_000;
        assert_eq!(time_to_pass(&cfg, &scenario, Some(issued)), 1_051);
        // One measured long before the end needs no more stream (but one
        // record).
        assert_eq!(
            time_to_pass(&cfg, &scenario, Some(scenario.start_time_ms)),
            1
        );
        Ok(())
    }
}
