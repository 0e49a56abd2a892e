//! Per-model bookkeeping kept beside the feature windows.
//!
//! Guarantees: every field added after the first release has a serde
//! default, so bookkeeping written by an older jidoka still loads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alert_key::AlertKey;
use crate::decide::{Pause, Veto};
use crate::detect::accuracy::AccuracyState;
use crate::detect::hysteresis::Hysteresis;
use crate::detect::metrics::ModelMetrics;

/// What jidoka remembers about one model besides its windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Records of this model processed so far (drives the evaluation cadence
    /// and the deterministic ids).
    pub records_seen: u64,
    /// Last model version seen.
    pub model_version: String,
    /// Event time (ms) of the last heal command, for the cooldown.
    pub last_action_at: Option<i64>,
    /// Decisions taken so far.
    pub decisions: u64,
    /// Heal commands issued so far.
    pub commands: u64,
    /// Sequence number of the model's last audit record.
    #[serde(default)]
    pub audit_sequence: u64,
    /// `record_hash` of the model's last audit record.
    #[serde(default)]
    pub last_audit_hash: Option<String>,
    /// Event time and lateness bookkeeping.
    #[serde(default)]
    pub clock: EventClock,
    /// Open/closed state of every alert, by alert key (`feature:<name>`,
    /// `anomaly:<metric>`, `concept:accuracy`).
    #[serde(default)]
    pub alerts: BTreeMap<AlertKey, Alert>,
    /// Windowed metrics and their baselines.
    #[serde(default)]
    pub metrics: ModelMetrics,
    /// Accuracy baseline and window of joined predictions.
    #[serde(default)]
    pub accuracy: AccuracyState,
    /// Label join counters.
    #[serde(default)]
    pub labels: LabelCounts,
    /// Event times of the commands of the last 24 hours (rate limit and the
    /// `recent_actions` signal).
    #[serde(default)]
    pub command_times: Vec<i64>,
    /// Signals of the last evaluation (a concept decision reuses them).
    #[serde(default)]
    pub signals: SignalSnapshot,
    /// Operator pause of this model.
    #[serde(default)]
    pub pause: Option<Pause>,
    /// Operator vetoes waiting for the command they block.
    #[serde(default)]
    pub vetoes: Vec<Veto>,
    /// Executor outcomes the bandit learned from.
    #[serde(default)]
    pub outcomes_learned: u64,
    /// Outcomes for commands not (or no longer) waiting for one: redelivered
    /// or foreign; ignored.
    #[serde(default)]
    pub outcomes_unknown: u64,
}

/// The detector-side signals of a model's last evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SignalSnapshot {
    /// Largest KS statistic among features in drift.
    pub drift: f64,
    /// Share of tested features in drift.
    pub drifted_share: f64,
    /// Share of monitored metrics with an open anomaly alert.
    pub anomaly_rate: f64,
    /// Relative shift of the latency mean against its baseline.
    pub latency_shift: f64,
    /// Event time of the evaluation (ms).
    pub at: i64,
}

/// A model's event-time clock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventClock {
    /// Largest prediction event time seen (ms).
    pub max_event_time: Option<i64>,
    /// End of the last evaluated time window (ms), for time windows.
    pub window_end: Option<i64>,
    /// Predictions older than the largest event time seen so far.
    pub out_of_order: u64,
    /// Predictions older than the watermark: counted, left out of the windows.
    pub late: u64,
    /// Predictions before the reference time range.
    pub before_reference: u64,
}

/// One alert with hysteresis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Open/closed state and the run of disagreeing evaluations.
    pub state: Hysteresis,
    /// Id of the event that opened the alert, while it is open.
    pub opened_by: Option<String>,
}

/// What happened to labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelCounts {
    /// Labels joined with their prediction.
    pub joined: u64,
    /// Labels that arrived before their prediction (joined later, or expired).
    pub early: u64,
    /// Labels for a prediction that already had one (ignored).
    pub duplicate: u64,
    /// Labels whose prediction never arrived within the TTL.
    pub unknown: u64,
    /// Predictions whose label never arrived within the TTL.
    pub unlabeled: u64,
    /// Labels that could not be compared with their prediction (e.g. a
    /// non-numeric label for a numeric prediction).
    pub incomparable: u64,
}
