//! Shared helpers of the processor's unit tests (compiled for tests only):
//! a small-window config, input positions, a scenario run (and its
//! continuation past the reward's horizon), and output pickers.

use super::processor::{Output, Processor, SourcePos};
use crate::config::Config;
use crate::demo::scenario::Scenario;
use crate::schema::{AuditRecord, DriftEvent, HealCommand};
use crate::state::StateError;

/// Result of a test.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The defaults with small windows: reference 500, window 250, evaluated
/// every 125 records.
pub fn config() -> Result<Config, Box<dyn std::error::Error>> {
    let mut c = Config::defaults()?;
    c.detect.reference_size = 500;
    c.detect.window_size = 250;
    c.detect.evaluate_every = 125;
    Ok(c)
}

/// Offset `offset` of partition 0 of `topic`.
pub fn at(topic: &str, offset: i64) -> SourcePos {
    SourcePos {
        topic: topic.into(),
        partition: 0,
        offset,
    }
}

/// Offset `offset` of partition 0 of the predictions topic.
pub fn pos(offset: i64) -> SourcePos {
    at("predictions", offset)
}

/// Every prediction of `scenario`, at offsets 0, 1, …
pub fn run(p: &mut Processor, scenario: &Scenario) -> Result<Vec<Output>, StateError> {
    let mut out = Vec::new();
    for (i, rec) in scenario.predictions().iter().enumerate() {
        out.extend(p.process(&pos(i as i64), rec)?);
    }
    Ok(out)
}

/// `scenario` continued: every model's next `extra` records (the same
/// streams, later in event time), at the offsets after those of [`run`],
/// so the models' stream time passes the horizon of the reward
/// (`[decide.reward] horizon`) of the decisions [`run`] made.
pub fn run_on(
    p: &mut Processor,
    scenario: &Scenario,
    extra: u64,
) -> Result<Vec<Output>, StateError> {
    let mut out = Vec::new();
    for (i, rec) in scenario.continued(extra).iter().enumerate() {
        out.extend(p.process(&pos(scenario.len() as i64 + i as i64), rec)?);
    }
    Ok(out)
}

/// The heal commands among `out`.
pub fn commands(out: &[Output]) -> Vec<&HealCommand> {
    out.iter()
        .filter_map(|o| match o {
            Output::Command(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// The audit records among `out`.
pub fn audits(out: &[Output]) -> Vec<&AuditRecord> {
    out.iter()
        .filter_map(|o| match o {
            Output::Audit(a) => Some(a),
            _ => None,
        })
        .collect()
}

/// The drift events among `out`.
pub fn drift_events(out: &[Output]) -> Vec<&DriftEvent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Drift(d) => Some(d),
            _ => None,
        })
        .collect()
}
