//! The reward against an independent, written-out recomputation of the
//! documented formula, over random signals and weights.

use proptest::prelude::*;

use super::*;

fn weights(measured: f64, reported: f64, benefit: f64, cost: f64) -> Weights {
    Weights {
        horizon_ms: 1_800_000,
        grace_ms: 600_000,
        measured,
        reported,
        benefit,
        cost,
    }
}

/// The documented formula, written out case by case.
fn by_hand(
    w: &Weights,
    before: (f64, f64),
    after: Option<(f64, f64)>,
    reported: Option<(f64, f64)>,
) -> f64 {
    let clip = |x: f64| x.clamp(0.0, 1.0);
    let bad = |(a, s): (f64, f64)| (clip(a) + clip(s)) / 2.0;
    let m = after.map(|a| bad(before) - bad(a));
    let recovery = match (m, reported) {
        (Some(m), Some((r, _))) if w.measured > 0.0 && w.reported > 0.0 => {
            (w.measured * m + w.reported * r) / (w.measured + w.reported)
        }
        (Some(m), _) if w.measured > 0.0 => m,
        (_, Some((r, _))) if w.reported > 0.0 => r,
        _ => 0.0,
    };
    w.benefit * recovery - w.cost * reported.map_or(0.0, |(_, c)| c)
}

proptest! {
    #[test]
    fn equals_the_documented_formula(
        a0 in -0.5f64..1.5, s0 in 0.0f64..1.0,
        after in proptest::option::of((-0.5f64..1.5, 0.0f64..1.0)),
        reported in proptest::option::of((-2.0f64..2.0, 0.0f64..100.0)),
        wm in prop_oneof![Just(0.0), 0.0f64..3.0],
        wr in prop_oneof![Just(0.0), 0.0f64..3.0],
        benefit in 0.0f64..2.0, cost in 0.0f64..0.1,
    ) {
        let w = weights(wm, wr, benefit, cost);
        let r = w.reward(
            Action::Retrain,
            Health { accuracy_drop: a0, drifted_share: s0 },
            after.map(|(a, s)| (Health { accuracy_drop: a, drifted_share: s }, 5)),
            reported.map(|(recovery, cost)| Reported { recovery, cost }),
        );
        let expected = by_hand(&w, (a0, s0), after, reported);
        prop_assert!((r.reward - expected).abs() < 1e-12, "{} vs {expected}", r.reward);
        if let Some(m) = r.measured_recovery {
            prop_assert!((-1.0..=1.0).contains(&m));
        }
        prop_assert_eq!(r.measured_at, after.map(|_| 5));
        prop_assert_eq!(r.reported_cost, reported.map(|(_, c)| c));
    }

    /// A model that ends healthier earns more, every other thing equal.
    #[test]
    fn a_model_that_recovers_earns_more(
        a0 in 0.0f64..1.0, s0 in 0.0f64..1.0,
        better in 0.0f64..0.5, worse in 0.5f64..1.0,
        wm in 0.01f64..3.0, wr in 0.0f64..3.0,
    ) {
        let w = weights(wm, wr, 1.0, 0.01);
        let before = Health { accuracy_drop: a0, drifted_share: s0 };
        let report = Some(Reported { recovery: 0.3, cost: 5.0 });
        let at = |x: f64| Some((Health { accuracy_drop: x, drifted_share: x }, 1));
        let good = w.reward(Action::Hold, before, at(better), report);
        let bad = w.reward(Action::Hold, before, at(worse), report);
        prop_assert!(good.reward > bad.reward);
    }
}

#[test]
fn measured_weight_zero_is_the_reported_reward() {
    let w = weights(0.0, 1.0, 1.0, 0.01);
    let r = w.reward(
        Action::Retrain,
        Health::default(),
        None,
        Some(Reported {
            recovery: 0.2,
            cost: 10.0,
        }),
    );
    assert!((r.reward - 0.1).abs() < 1e-12, "{}", r.reward);
    assert_eq!(r.parts, "reported");
    assert!(!w.measures());
}

#[test]
fn degradation_is_bounded_and_ignores_nan() {
    let h = |a, s| Health {
        accuracy_drop: a,
        drifted_share: s,
    };
    assert_eq!(h(f64::NAN, 0.5).degradation(), 0.25);
    assert_eq!(h(-0.3, 0.0).degradation(), 0.0);
    assert_eq!(h(2.0, 1.0).degradation(), 1.0);
    let w = weights(1.0, 1.0, 1.0, 0.01);
    let r = w.reward(Action::None, h(0.4, 0.5), Some((h(0.0, 0.1), 9)), None);
    assert!((r.reward - 0.4).abs() < 1e-12, "{}", r.reward);
    assert_eq!((r.parts.as_str(), r.arm.as_str()), ("measured", "none"));
}
