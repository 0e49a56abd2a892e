//! The bandit's context vector, built from the decision signals and the
//! policy's view of them.
//!
//! The bandit's model is linear in this vector, so the vector carries, next
//! to the raw signals, a one-hot encoding of the three main signals on a
//! regular grid of five bins across each signal's working range (drift and
//! accuracy drop in steps of 0.1 up to 0.5, anomaly rate in steps of 0.04
//! up to 0.2): that lets a linear model learn
//! threshold-shaped rewards ("retraining pays once drift passes 0.3")
//! without knowing any threshold in advance.
//!
//! Guarantees: the vector has [`dim`] entries for a policy of `n` rules, every
//! entry is finite and in `[-1, 1]` (unbounded signals are squashed or
//! clamped), entry 0 is the intercept, exactly one entry of each one-hot
//! group is 1, and the layout depends only on the policy, so a persisted
//! bandit matches the vectors of the same policy.

use super::rules::{Evaluation, Signals};

/// Minutes since the last command used when there was none (one year).
pub const NEVER_MINUTES: f64 = 525_600.0;

/// Raw signal entries.
const RAW_ENTRIES: usize = 8;

/// One-hot groups: (bins, step). Drift, accuracy drop, anomaly rate.
const GRIDS: [(usize, f64); 3] = [(5, 0.1), (5, 0.1), (5, 0.04)];

/// Signal entries before the per-rule indicators.
const SIGNAL_ENTRIES: usize = RAW_ENTRIES + GRIDS[0].0 + GRIDS[1].0 + GRIDS[2].0;

/// Index of `v`'s bin on a grid of `bins` bins of width `step` from 0 (the
/// last bin takes everything above).
fn bin(v: f64, bins: usize, step: f64) -> usize {
    let v = unit(v);
    ((v / step).floor() as usize).min(bins - 1)
}

/// Context dimension for a policy of `rules` rules.
pub fn dim(rules: usize) -> usize {
    SIGNAL_ENTRIES + rules
}

fn unit(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else if x > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// `[1, drift, drifted_share, accuracy_drop, anomaly_rate,
/// clamp(latency_shift, -1, 1), min(minutes_since_action / 1440, 1),
/// min(recent_actions / 10, 1)]`, then the one-hot bins of drift, accuracy
/// drop and anomaly rate, then one 0/1 entry per rule (in evaluation
/// order): whether it matched.
pub fn features(s: &Signals, rules: &Evaluation) -> Vec<f64> {
    let latency = if s.latency_shift.is_finite() {
        s.latency_shift.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let mut x = Vec::with_capacity(dim(rules.results.len()));
    x.extend([
        1.0,
        unit(s.drift),
        unit(s.drifted_share),
        unit(s.accuracy_drop),
        unit(s.anomaly_rate),
        latency,
        unit(s.minutes_since_action / 1440.0),
        unit(s.recent_actions / 10.0),
    ]);
    for ((bins, step), v) in GRIDS.iter().zip([s.drift, s.accuracy_drop, s.anomaly_rate]) {
        let hot = bin(v, *bins, *step);
        x.extend((0..*bins).map(|i| if i == hot { 1.0 } else { 0.0 }));
    }
    x.extend(
        rules
            .results
            .iter()
            .map(|r| if r.matched { 1.0 } else { 0.0 }),
    );
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::rules::Policy;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn entries_are_bounded_and_finite(
            d in proptest::num::f64::ANY, a in proptest::num::f64::ANY,
            r in proptest::num::f64::ANY, l in proptest::num::f64::ANY,
            m in proptest::num::f64::ANY, n in proptest::num::f64::ANY,
        ) {
            let Ok(policy) = Policy::seed() else { return Err(TestCaseError::fail("seed")) };
            let s = Signals { drift: d, drifted_share: d, accuracy_drop: a, anomaly_rate: r,
                latency_shift: l, minutes_since_action: m, recent_actions: n, effect: d,
                effect_gate: a };
            let x = features(&s, &policy.evaluate(&s));
            prop_assert_eq!(x.len(), dim(policy.rules().len()));
            prop_assert_eq!(x[0], 1.0);
            for group in x[8..23].chunks(5) {
                prop_assert_eq!(group.iter().filter(|v| **v == 1.0).count(), 1);
            }
            for v in x {
                prop_assert!(v.is_finite() && (-1.0..=1.0).contains(&v));
            }
        }
    }

    #[test]
    fn rule_indicators_follow_the_evaluation() {
        let Ok(policy) = Policy::seed() else {
            panic!("seed policy parses")
        };
        let s = Signals {
            drift: 0.35,
            anomaly_rate: 0.06,
            minutes_since_action: NEVER_MINUTES,
            ..Signals::default()
        };
        let x = features(&s, &policy.evaluate(&s));
        assert_eq!(&x[..8], &[1.0, 0.35, 0.0, 0.0, 0.06, 0.0, 1.0, 0.0]);
        // drift 0.35 → bin 3 of 0.1; accuracy 0 → bin 0; anomaly 0.06 → bin 1 of 0.04.
        let hot: Vec<usize> = (8..23).filter(|i| x[*i] == 1.0).collect();
        assert_eq!(hot, vec![8 + 3, 13, 18 + 1]);
        // Seed rules in priority order: big-drift, anomalies, accuracy-drop, otherwise.
        assert_eq!(&x[23..], &[1.0, 1.0, 0.0, 1.0]);
    }
}
