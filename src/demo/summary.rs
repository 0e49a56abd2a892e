//! What the demo saw ([`DemoSummary`]), whether it is what the scenario
//! expects, and the one line printed at the end.
//!
//! Guarantees: [`DemoSummary::is_expected`] holds only if the shifted
//! model's first command is a retrain, the other models have none, the
//! drift is found at or after the shift, every command is answered and
//! either completed or still within its horizon (at least one completed
//! and learned from), and every corrupt record is dead-lettered; the
//! summary line is a pure function of the summary and the options.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{DemoOptions, SHIFTED_FEATURE, SHIFTED_MODEL};
use crate::schema::ArmView;

/// What the demo saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoSummary {
    /// Predictions produced.
    pub produced: u64,
    /// Records processed by the pipeline.
    pub processed: u64,
    /// Records dead-lettered.
    pub dead_lettered: u64,
    /// Decisions audited.
    pub decisions: u64,
    /// Evaluation records published (one per feature and metric tested).
    pub evaluations: u64,
    /// Model record of the first drift event of the shifted feature.
    pub first_drift_record: Option<i64>,
    /// Commands per model (every demo model listed).
    pub commands: BTreeMap<String, Vec<String>>,
    /// Drift events per (model, feature).
    pub drift_events: BTreeMap<String, u64>,
    /// Outcomes the simulated executor reported.
    pub outcomes: u64,
    /// Decisions whose reward is complete (their `completed` versions).
    pub completed: u64,
    /// Commands issued while time passed (after the scenario's stream),
    /// whose horizon the stream did not reach: answered, not completed.
    pub waiting: u64,
    /// Predictions produced while time passed (included in `produced`).
    pub later: u64,
    /// What the shifted model's bandit learned: every arm's posterior mean
    /// reward at the context of the model's last decision, and the
    /// outcomes it learned from.
    pub learned: Vec<ArmView>,
    /// The HTML report written, if any.
    pub report: Option<PathBuf>,
}

impl DemoSummary {
    /// True if the loop did what the scenario expects: a retrain for the
    /// shifted model, no command for the others, every command answered
    /// and, unless issued while time passed, completed and learned from,
    /// every corrupt record dead-lettered.
    pub fn is_expected(&self, opts: &DemoOptions) -> bool {
        let shifted_ok = self
            .commands
            .get(SHIFTED_MODEL)
            .is_some_and(|c| c.first().map(String::as_str) == Some("retrain"));
        let healthy_ok = self
            .commands
            .iter()
            .filter(|(m, _)| m.as_str() != SHIFTED_MODEL)
            .all(|(_, c)| c.is_empty());
        let drift_ok = self
            .first_drift_record
            .is_some_and(|r| r >= opts.shift_at as i64);
        let commands: u64 = self.commands.values().map(|c| c.len() as u64).sum();
        let loop_ok = self.outcomes == commands
            && self.completed + self.waiting == commands
            && self.completed > 0
            && self.learned.iter().any(|a| a.observations > 0);
        shifted_ok && healthy_ok && drift_ok && loop_ok && self.dead_lettered == opts.corrupt
    }
}

/// The one-line summary printed at the end.
pub fn summary_line(s: &DemoSummary, opts: &DemoOptions) -> String {
    let waiting = match s.waiting {
        0 => String::new(),
        n => format!(", {n} waiting for the horizon"),
    };
    let drift = match s.first_drift_record {
        Some(r) => format!(
            "drift detected at record {r} for {SHIFTED_MODEL}/{SHIFTED_FEATURE} (shift at {}, delay {} records)",
            opts.shift_at,
            r - opts.shift_at as i64
        ),
        None => format!("NO drift detected for {SHIFTED_MODEL}/{SHIFTED_FEATURE}"),
    };
    let commands: Vec<String> = s
        .commands
        .iter()
        .map(|(m, c)| {
            if c.is_empty() {
                format!("{m} 0")
            } else {
                format!("{m} {} ({})", c.len(), c.join(", "))
            }
        })
        .collect();
    let learned: Vec<String> = s
        .learned
        .iter()
        .map(|a| {
            format!(
                "{} {:+.3} ({} outcome{})",
                a.action,
                a.posterior_mean,
                a.observations,
                if a.observations == 1 { "" } else { "s" }
            )
        })
        .collect();
    format!(
        "summary: {} records processed, {} dead-lettered, {} evaluations recorded, {} decisions audited; {drift}; commands: {}; outcomes: {} back, decisions completed: {}{waiting}; {SHIFTED_MODEL}'s bandit learned (posterior mean reward at its last decision): {}",
        s.processed,
        s.dead_lettered,
        s.evaluations,
        s.decisions,
        commands.join(", "),
        s.outcomes,
        s.completed,
        if learned.is_empty() { "nothing".to_string() } else { learned.join(", ") }
    )
}
