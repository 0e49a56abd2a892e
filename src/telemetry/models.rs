//! Per-model gauges that ML teams alert on: the alerts open per kind, and
//! the heal commands published in the last hour.
//!
//! Guarantees:
//! - an alert is one (model, kind, name): a feature's covariate-drift
//!   alert, a metric's anomaly alert, the model's concept-drift alert. It
//!   is open as of the latest acknowledged evaluation record (`covariate`,
//!   `anomaly`) or drift event (any kind: `closed` closes it, any other
//!   status opens it) about it, in processing order;
//! - every model this instance holds exports one open-alerts series per
//!   kind in [`KINDS`] (0 when none is open) plus any other kind seen, and
//!   one commands series (0 when it published none within the hour);
//! - "the last hour" is wall-clock, by this process' monotonic clock: a
//!   command counts from the moment its publication is acknowledged until
//!   one hour later. The times are kept per model and dropped once older
//!   than the hour, so memory stays bounded by the commands of one hour;
//! - a model's series leave when the input partition its latest update
//!   came from is revoked (the model's next owner reports it); a new owner
//!   learns open alerts from their next evaluation, and starts the
//!   commands count at zero.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Alert kinds exported for every model, open or not.
pub const KINDS: [&str; 3] = ["anomaly", "concept", "covariate"];

/// The window of the commands gauge.
pub const COMMAND_WINDOW: Duration = Duration::from_secs(3600);

/// The per-model gauges of one pipeline instance.
#[derive(Debug, Default)]
pub struct ModelGauges {
    table: Mutex<HashMap<String, Model>>,
}

#[derive(Debug, Default)]
struct Model {
    /// Input partition of the latest update.
    partition: i32,
    /// (kind, name) → open.
    alerts: BTreeMap<(String, String), bool>,
    /// Acknowledgement times of the commands of the last hour, oldest first.
    commands: VecDeque<Instant>,
}

/// One model's exported values.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelValues {
    /// Model.
    pub model: String,
    /// (kind, open alerts), by kind.
    pub open_alerts: Vec<(String, u64)>,
    /// Heal commands published in the hour before the snapshot.
    pub commands_last_hour: u64,
}

/// What became of one alert, read from `partition`.
#[derive(Debug, Clone, Copy)]
pub struct AlertState<'a> {
    /// Input partition of the record behind it.
    pub partition: i32,
    /// Model.
    pub model: &'a str,
    /// `covariate`, `anomaly` or `concept`.
    pub kind: &'a str,
    /// Feature or metric (`accuracy` for concept drift).
    pub name: &'a str,
    /// Open after the update.
    pub open: bool,
}

impl ModelGauges {
    /// Records alert states, in processing order (one lock).
    pub fn set_alerts<'a>(&self, states: impl IntoIterator<Item = AlertState<'a>>) {
        let mut table = self.lock();
        for s in states {
            let Some(model) = entry(&mut table, s.model, s.partition) else {
                continue;
            };
            let key = (s.kind.to_string(), s.name.to_string());
            model.alerts.insert(key, s.open);
        }
    }

    /// Records a heal command of `model` acknowledged at `at`.
    pub fn record_command(&self, model: &str, partition: i32, at: Instant) {
        let mut table = self.lock();
        let Some(m) = entry(&mut table, model, partition) else {
            return;
        };
        prune(&mut m.commands, at);
        m.commands.push_back(at);
    }

    /// Removes the models last updated from input `partition`; returns how
    /// many.
    pub fn forget_partition(&self, partition: i32) -> usize {
        let mut table = self.lock();
        let before = table.len();
        table.retain(|_, m| m.partition != partition);
        before - table.len()
    }

    /// The values at `now`, by model.
    pub fn snapshot(&self, now: Instant) -> Vec<ModelValues> {
        let mut table = self.lock();
        let mut out: Vec<ModelValues> = table
            .iter_mut()
            .map(|(name, m)| {
                prune(&mut m.commands, now);
                let mut open: BTreeMap<&str, u64> = KINDS.iter().map(|k| (*k, 0)).collect();
                for ((kind, _), is_open) in &m.alerts {
                    *open.entry(kind.as_str()).or_insert(0) += u64::from(*is_open);
                }
                ModelValues {
                    model: name.clone(),
                    open_alerts: open.into_iter().map(|(k, n)| (k.to_string(), n)).collect(),
                    commands_last_hour: m.commands.len() as u64,
                }
            })
            .collect();
        drop(table);
        out.sort_by(|a, b| a.model.cmp(&b.model));
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Model>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The model's entry, created if new, with `partition` as its latest (a
/// name costs an allocation only the first time).
fn entry<'t>(
    table: &'t mut HashMap<String, Model>,
    model: &str,
    partition: i32,
) -> Option<&'t mut Model> {
    if !table.contains_key(model) {
        table.insert(model.to_string(), Model::default());
    }
    let m = table.get_mut(model)?;
    m.partition = partition;
    Some(m)
}

/// Drops the times an hour or more before `now`.
fn prune(commands: &mut VecDeque<Instant>, now: Instant) {
    while commands
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= COMMAND_WINDOW)
    {
        commands.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert<'a>(
        partition: i32,
        model: &'a str,
        kind: &'a str,
        name: &'a str,
        open: bool,
    ) -> AlertState<'a> {
        AlertState {
            partition,
            model,
            kind,
            name,
            open,
        }
    }

    fn open(values: &ModelValues, kind: &str) -> u64 {
        values
            .open_alerts
            .iter()
            .find(|(k, _)| k == kind)
            .map_or(u64::MAX, |(_, n)| *n)
    }

    #[test]
    fn open_alerts_per_kind_follow_the_latest_state() {
        let g = ModelGauges::default();
        let now = Instant::now();
        g.set_alerts([
            alert(0, "churn-v7", "covariate", "tenure", true),
            alert(0, "churn-v7", "covariate", "income", true),
            alert(0, "churn-v7", "anomaly", "score_mean", false),
            alert(1, "fraud-v3", "concept", "accuracy", true),
        ]);
        g.set_alerts([alert(0, "churn-v7", "covariate", "income", false)]);
        let s = g.snapshot(now);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].model, "churn-v7");
        assert_eq!(open(&s[0], "covariate"), 1);
        assert_eq!(open(&s[0], "anomaly"), 0);
        assert_eq!(open(&s[0], "concept"), 0, "every kind is exported");
        assert_eq!(open(&s[1], "concept"), 1);
        assert_eq!(s[1].open_alerts.len(), KINDS.len());
    }

    #[test]
    fn commands_count_for_one_hour() {
        let g = ModelGauges::default();
        let t0 = Instant::now();
        g.record_command("churn-v7", 0, t0);
        let at = |s: u64| g.snapshot(t0 + Duration::from_secs(s))[0].commands_last_hour;
        assert_eq!(at(0), 1);
        g.record_command("churn-v7", 0, t0 + Duration::from_secs(1800));
        assert_eq!(at(3599), 2);
        assert_eq!(at(3600), 1, "the first is an hour old");
        assert_eq!(at(5400), 0);
        let s = g.snapshot(t0 + Duration::from_secs(5400));
        assert_eq!(open(&s[0], "covariate"), 0, "a model with commands only");
    }

    #[test]
    fn a_revoked_partition_takes_its_models_along() {
        let g = ModelGauges::default();
        let now = Instant::now();
        g.set_alerts([
            alert(0, "churn-v7", "covariate", "tenure", true),
            alert(2, "fraud-v3", "covariate", "amount", true),
        ]);
        g.record_command("fraud-v3", 2, now);
        assert_eq!(g.forget_partition(2), 1);
        assert_eq!(g.forget_partition(2), 0);
        let s = g.snapshot(now);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].model, "churn-v7");
        // Its new owner starts from its next evaluation.
        g.set_alerts([alert(2, "fraud-v3", "covariate", "amount", false)]);
        let s = g.snapshot(now);
        assert_eq!(
            (
                s[1].model.as_str(),
                open(&s[1], "covariate"),
                s[1].commands_last_hour
            ),
            ("fraud-v3", 0, 0)
        );
    }
}
