//! Signal names usable in policy conditions and the per-decision values.
//!
//! Guarantees: [`Signal::ALL`] lists every signal exactly once, and
//! [`Signal::from_name`] is the exact inverse of [`Signal::name`]; no other
//! name is accepted in a condition.

use std::fmt;

/// A named input a policy condition may compare against a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// `drift`: largest per-feature KS statistic; unitless, in [0, 1].
    Drift,
    /// `drifted_share`: share of features flagged as drifted; unitless, in [0, 1].
    DriftedShare,
    /// `accuracy_drop`: drop in accuracy versus the reference; unitless fraction, in [0, 1].
    AccuracyDrop,
    /// `anomaly_rate`: share of records flagged anomalous; unitless fraction, in [0, 1].
    AnomalyRate,
    /// `latency_shift`: relative change of inference latency; unitless, may be negative.
    LatencyShift,
    /// `minutes_since_action`: minutes since the last healing command, >= 0;
    /// `+inf` when no action was ever taken.
    MinutesSinceAction,
    /// `recent_actions`: number of healing commands issued in the last 24 hours (a count).
    RecentActions,
    /// `effect`: largest effect size among the features in drift at the
    /// evaluation that led to the decision (numeric features: Wasserstein-1
    /// distance in reference standard deviations; categorical ones: the
    /// Jensen–Shannon distance, in [0, 1]); >= 0, 0 when no feature is in
    /// drift (a decision on an accuracy or anomaly alert alone).
    Effect,
    /// `effect_gate`: the effect-size gate (`detect.min-effect`, or the
    /// threshold learned from the reference) applied to the feature whose
    /// effect size is `effect`; same unit, >= 0, 0 when the gate is off or
    /// no feature is in drift.
    EffectGate,
}

impl Signal {
    /// Every signal, in declaration order.
    pub const ALL: [Signal; 9] = [
        Signal::Drift,
        Signal::DriftedShare,
        Signal::AccuracyDrop,
        Signal::AnomalyRate,
        Signal::LatencyShift,
        Signal::MinutesSinceAction,
        Signal::RecentActions,
        Signal::Effect,
        Signal::EffectGate,
    ];

    /// The name used for this signal in policy conditions.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Drift => "drift",
            Signal::DriftedShare => "drifted_share",
            Signal::AccuracyDrop => "accuracy_drop",
            Signal::AnomalyRate => "anomaly_rate",
            Signal::LatencyShift => "latency_shift",
            Signal::MinutesSinceAction => "minutes_since_action",
            Signal::RecentActions => "recent_actions",
            Signal::Effect => "effect",
            Signal::EffectGate => "effect_gate",
        }
    }

    /// Looks a signal up by its exact (case-sensitive) condition name.
    pub fn from_name(name: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The current value of every signal, as plain `f64`s (see [`Signal`] for units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    /// Largest KS statistic, [0, 1].
    pub drift: f64,
    /// Share of features drifted, [0, 1].
    pub drifted_share: f64,
    /// Accuracy drop, [0, 1].
    pub accuracy_drop: f64,
    /// Anomaly rate, [0, 1].
    pub anomaly_rate: f64,
    /// Relative latency change, unitless, may be negative.
    pub latency_shift: f64,
    /// Minutes since the last action, >= 0; `f64::INFINITY` when never.
    pub minutes_since_action: f64,
    /// Count of commands in the last 24 h.
    pub recent_actions: f64,
    /// Largest effect size among the features in drift, >= 0.
    pub effect: f64,
    /// The gate applied to that feature, >= 0.
    pub effect_gate: f64,
}

impl Default for Signals {
    /// All zero, except `minutes_since_action = +inf` (no action yet).
    fn default() -> Self {
        Signals {
            drift: 0.0,
            drifted_share: 0.0,
            accuracy_drop: 0.0,
            anomaly_rate: 0.0,
            latency_shift: 0.0,
            minutes_since_action: f64::INFINITY,
            recent_actions: 0.0,
            effect: 0.0,
            effect_gate: 0.0,
        }
    }
}

impl Signals {
    /// The value of one signal.
    pub fn get(&self, signal: Signal) -> f64 {
        match signal {
            Signal::Drift => self.drift,
            Signal::DriftedShare => self.drifted_share,
            Signal::AccuracyDrop => self.accuracy_drop,
            Signal::AnomalyRate => self.anomaly_rate,
            Signal::LatencyShift => self.latency_shift,
            Signal::MinutesSinceAction => self.minutes_since_action,
            Signal::RecentActions => self.recent_actions,
            Signal::Effect => self.effect,
            Signal::EffectGate => self.effect_gate,
        }
    }

    /// Sets one signal.
    pub fn set(&mut self, signal: Signal, value: f64) {
        let slot = match signal {
            Signal::Drift => &mut self.drift,
            Signal::DriftedShare => &mut self.drifted_share,
            Signal::AccuracyDrop => &mut self.accuracy_drop,
            Signal::AnomalyRate => &mut self.anomaly_rate,
            Signal::LatencyShift => &mut self.latency_shift,
            Signal::MinutesSinceAction => &mut self.minutes_since_action,
            Signal::RecentActions => &mut self.recent_actions,
            Signal::Effect => &mut self.effect,
            Signal::EffectGate => &mut self.effect_gate,
        };
        *slot = value;
    }

    /// The signals an audit record's `context` names (a signal it does not
    /// name keeps its [`Default`]): the decision's signals again, so its
    /// bandit context can be rebuilt.
    pub fn from_context(context: &std::collections::BTreeMap<String, f64>) -> Signals {
        let mut s = Signals::default();
        for signal in Signal::ALL {
            if let Some(v) = context.get(signal.name()) {
                s.set(signal, *v);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_round_trips_through_a_context_map() {
        let mut s = Signals::default();
        for (i, signal) in Signal::ALL.iter().enumerate() {
            s.set(*signal, i as f64 + 0.5);
        }
        let map: std::collections::BTreeMap<String, f64> = Signal::ALL
            .iter()
            .map(|sig| (sig.name().to_string(), s.get(*sig)))
            .collect();
        assert_eq!(Signals::from_context(&map), s);
        let partial = std::collections::BTreeMap::from([("drift".to_string(), 0.4)]);
        let back = Signals::from_context(&partial);
        assert_eq!(back.drift, 0.4);
        assert_eq!(
            back.minutes_since_action,
            f64::INFINITY,
            "the default stays"
        );
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        for s in Signal::ALL {
            assert_eq!(Signal::from_name(s.name()), Some(s));
            assert_eq!(s.to_string(), s.name());
        }
        let mut names: Vec<_> = Signal::ALL.iter().map(|s| s.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Signal::ALL.len());
        assert_eq!(Signal::from_name("Drift"), None);
    }

    #[test]
    fn get_reads_the_matching_field() {
        let s = Signals {
            drift: 1.0,
            drifted_share: 2.0,
            accuracy_drop: 3.0,
            anomaly_rate: 4.0,
            latency_shift: 5.0,
            minutes_since_action: 6.0,
            recent_actions: 7.0,
            effect: 8.0,
            effect_gate: 9.0,
        };
        let got: Vec<f64> = Signal::ALL.iter().map(|&x| s.get(x)).collect();
        assert_eq!(got, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(Signals::default().minutes_since_action, f64::INFINITY);
    }
}
