//! Scenario files: every shipped file loads, the seed file is exactly the
//! built-in seed scenario and agrees with the literal seed definitions,
//! and errors name the file and the key.

use super::*;
use crate::bench::ablation::scenario::{self, Scenario};
use crate::decide::rules::Policy;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn shipped(name: &str) -> ScenarioSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/scenarios")
        .join(name);
    match ScenarioSpec::from_file(&path) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_shipped_file_loads_and_the_seed_file_is_the_builtin() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            ScenarioSpec::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 3, "{n} scenario files");
    assert_eq!(shipped("seed.toml"), ScenarioSpec::seed());
    let fleet = shipped("fleet-50x20.toml");
    assert_eq!((fleet.models, fleet.decisions_per_model), (50, 20));
    assert_eq!(fleet.regime, ScenarioSpec::seed().regime);
    let swap = shipped("seed-cost-swap.toml");
    let (at, after) = swap.change.clone().unwrap();
    assert_eq!(at, 500);
    assert_eq!(after.cost(Action::Retrain), 50.0);
    assert_eq!(after.cost(Action::Rollback), 100.0);
    assert_eq!(after.appropriate, swap.regime.appropriate);
    assert_eq!(swap.regime_at(499).cost(Action::Retrain), 100.0);
    assert_eq!(swap.regime_at(500).cost(Action::Retrain), 50.0);
    assert_eq!(swap.regime_for(500, 0).cost(Action::Retrain), 50.0);
    // A change limited to some groups: group 1 never has fallback.
    let mixed = shipped("fleet-mixed.toml");
    assert_eq!(
        (mixed.models, mixed.groups, mixed.decisions_per_model),
        (40, 2, 50)
    );
    assert_eq!(mixed.change_groups, Some(vec![1]));
    let anomalous = Signals {
        anomaly_rate: 0.15,
        ..Signals::default()
    };
    for (model, fallback_helps) in [(0, true), (1, false), (2, true), (39, false)] {
        let regime = mixed.regime_for(0, model);
        assert_eq!(
            regime.is_appropriate(&anomalous, Action::Fallback),
            fallback_helps
        );
        assert_eq!(regime.costs, mixed.regime.costs);
    }
}

proptest! {
    /// The seed spec, through the policy language, decides appropriateness,
    /// the oracle and the draws exactly like the literal seed code.
    #[test]
    fn seed_spec_is_the_literal_seed(seed in any::<u64>()) {
        let spec = ScenarioSpec::seed();
        let policy = Policy::seed().unwrap();
        let (mut a, mut b) = (StdRng::seed_from_u64(seed), StdRng::seed_from_u64(seed));
        for _ in 0..50 {
            let draw = spec.sample(&mut a);
            let lit = Scenario::sample(&mut b);
            let s = &draw.signals;
            prop_assert_eq!((s.drift, s.accuracy_drop, s.anomaly_rate),
                (lit.signals.drift, lit.signals.accuracy_drop, lit.signals.anomaly_rate));
            prop_assert_eq!(draw.penalty, 1000.0 * lit.penalty_multiplier);
            for act in SEED_ACTIONS {
                prop_assert_eq!(spec.regime.is_appropriate(s, act),
                    scenario::is_appropriate(&lit.signals, act));
                prop_assert_eq!(spec.regime.cost(act), scenario::action_cost(act));
            }
            prop_assert_eq!(spec.regime.oracle(s), scenario::oracle_policy(&lit.signals));
            prop_assert_eq!(policy.evaluate(s).default_match().map(|m| m.action),
                Some(scenario::rules_policy(&lit.signals)));
        }
    }
}

fn error_of(text: &str) -> SpecError {
    match ScenarioSpec::from_toml_str(text, "my.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn errors_name_the_file_and_the_key() {
    let base = include_str!("../../../benches/scenarios/seed.toml");
    let cases = [
        (base.replace("models = 1", "models = 0"), "models"),
        (
            base.replace("drift = { uniform", "drfit = { uniform"),
            "signals.drfit",
        ),
        (
            base.replace("[0.0, 0.5]", "[0.5, 0.0]"),
            "signals.drift.uniform",
        ),
        (
            base.replace("retrain = 100", "reboot = 100"),
            "costs.retrain",
        ),
        (
            base.replace("fallback = 10", "fallback = -1"),
            "costs.fallback",
        ),
        (
            base.replace("\"anomaly_rate > 0.08\"", "\"anomaly_rate >> 0.08\""),
            "appropriate.fallback",
        ),
        (
            base.replace("multiplier = [0.5, 1.5]", "multiplier = [1.5, 0.5]"),
            "failure.multiplier",
        ),
        (
            format!("{base}\n[change]\nat = 5\n[change.costs]\nhold = 3\n"),
            "change.costs.hold",
        ),
        (
            format!("{base}\n[change]\nat = 5\ngroups = [1]\n"),
            "change.groups",
        ),
    ];
    for (text, key) in cases {
        let e = error_of(&text);
        assert_eq!(e.key, key, "{e}");
        assert!(e.to_string().starts_with("my.toml: "), "{e}");
    }
    let e = error_of(&format!("{base}\nsurprise = 1\n"));
    assert!(e.to_string().contains("surprise"), "{e}");
}

#[test]
fn oracle_falls_back_to_the_cheapest_action() {
    let spec = ScenarioSpec::seed();
    let gap = Signals {
        drift: 0.25,
        accuracy_drop: 0.15,
        anomaly_rate: 0.05,
        ..Signals::default()
    };
    assert_eq!(spec.regime.oracle(&gap), Action::None);
    let swap = shipped("seed-cost-swap.toml");
    let both = Signals {
        accuracy_drop: 0.3,
        ..Signals::default()
    };
    assert_eq!(swap.regime_at(0).oracle(&both), Action::Rollback);
    assert_eq!(swap.regime_at(600).oracle(&both), Action::Retrain);
}
