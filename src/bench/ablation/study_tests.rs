//! Scenario runs: the seed scenario through the policy language gives the
//! published numbers for rules, hybrid and oracle; runs are deterministic
//! across thread counts; the oracle is its own reference.

use super::*;
use crate::bench::ablation::learner::LearnerConfig;

fn quick(decisions: usize) -> (ScenarioSpec, StudyConfig) {
    let mut spec = ScenarioSpec::seed();
    spec.decisions_per_model = decisions;
    let mut learner = LearnerConfig::defaults(Scope::Global);
    learner.samples = 20;
    (
        spec,
        StudyConfig {
            learner,
            ..StudyConfig::default()
        },
    )
}

/// Published (seed system): rules $284 / 19.8%, hybrid $330 / 25.2%,
/// oracle $124 / 10.0%. 20 seeds × 200 decisions: the SE of a mean cost
/// is ≤ ~7.5, of a failure rate ≤ ~0.0076; bounds ±35 and ±0.035 are
/// ≥ 4.5 SE.
#[test]
fn seed_scenario_reproduces_the_published_baselines() {
    let (spec, cfg) = quick(200);
    let r = run_study(&spec, &cfg, 20, 77);
    for (k, cost, fail) in [(0, 284.0, 0.198), (1, 330.0, 0.252), (2, 124.0, 0.100)] {
        let p = &r.policies[k];
        assert!(
            (p.all.mean_cost.mean - cost).abs() < 35.0,
            "{}: {:?}",
            p.name,
            p.all
        );
        assert!(
            (p.all.failure_rate.mean - fail).abs() < 0.035,
            "{}: {:?}",
            p.name,
            p.all
        );
    }
    let oracle = &r.policies[2].all.cost_ratio;
    assert!((oracle.mean - 1.0).abs() < 1e-12);
    assert_eq!(r.update_errors, 0);
    // 200 decisions: curve points at 40 and 100 only (a block of 50 must fit).
    assert_eq!(
        r.policies[3].curve.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![40, 100]
    );
}

#[test]
fn deterministic_across_thread_counts() {
    let (mut spec, mut cfg) = quick(60);
    spec.models = 3;
    spec.groups = 2;
    spec.change = Some((90, spec.regime.clone()));
    cfg.warmup = 60;
    cfg.threads = 1;
    let a = run_study(&spec, &cfg, 3, 5);
    cfg.threads = 2;
    let b = run_study(&spec, &cfg, 3, 5);
    assert_eq!(a.policies, b.policies);
    assert_eq!(a.seeds, 3);
    // An unchanged regime: the oracle is within 1.2x of itself at once.
    assert_eq!(a.policies[2].recovery, Some(50));
    let json = crate::bench::ablation::study_report::study_json(&a);
    let names: Vec<&str> = json["policies"]
        .as_array()
        .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, POLICIES);
    assert_eq!(json["change_at"], 90);
    assert!(json["policies"][4]["curve"][0][1]["mean_cost"]["mean"].is_number());
    let table = crate::bench::ablation::study_report::study_table(&a);
    assert!(
        table.contains("recovery after the change at decision 90"),
        "{table}"
    );
    assert!(table.contains("jidoka-pooled"), "{table}");
}

/// Per seed, the traces follow the scenario: the oracle never fails where
/// an action is appropriate, and every policy's cost is its action's cost
/// plus the penalty exactly when it failed.
#[test]
fn traces_are_consistent_with_the_scenario() {
    let (spec, cfg) = quick(120);
    let Ok(policy) = Policy::seed() else {
        panic!("seed policy")
    };
    let run = run_seed(&spec, &cfg, &policy, 3, 0);
    let prices = [0.0, 10.0, 50.0, 100.0];
    for t in &run.traces {
        assert_eq!(t.cost.len(), 120);
        for (c, f) in t.cost.iter().zip(&t.failed) {
            let direct = prices.iter().any(|p| (c - p).abs() < 1e-9);
            assert_eq!(direct, !f, "cost {c} failed {f}");
        }
    }
    let oracle = &run.traces[2];
    for k in [0, 1, 3, 4] {
        for i in 0..120 {
            // Nobody beats the oracle at any single decision.
            assert!(oracle.cost[i] <= run.traces[k].cost[i] + 1e-9);
        }
    }
}
