//! Ablation-level tests: the published seed numbers are reproduced, the
//! report is deterministic and serialisable, and jidoka beats the rules.

use jidoka::bench::ablation::engine::JidokaConfig;
use jidoka::bench::ablation::run::{run_ablation_with, AblationConfig};

fn fast_config() -> AblationConfig {
    AblationConfig {
        warmup_scenarios: 200,
        jidoka: JidokaConfig {
            samples: 40,
            ..JidokaConfig::default()
        },
        ..AblationConfig::default()
    }
}

/// 20 seeds × 200 scenarios = 4,000 scenarios per policy. The per-scenario
/// cost sd is ≤ ~450, so the SE of a mean cost is ≤ ~7.5 and the bound of
/// ±35 is ≥ 4.5 SE; failure-rate SE ≤ √(0.36·0.64/4000) ≈ 0.0076, bound ±0.035
/// is ≥ 4.5 SE. Published: rules $284/19.8%, bandit $418/35.7%,
/// hybrid $330/25.2%, oracle $124/10.0%.
#[test]
fn seed_numbers_are_reproduced() {
    let report = run_ablation_with(&fast_config(), 20, 77);
    let expected = [
        ("rules", 284.0, 0.198),
        ("bandit", 418.0, 0.357),
        ("hybrid", 330.0, 0.252),
        ("oracle", 124.0, 0.100),
    ];
    for (p, (name, cost, fail)) in report.policies.iter().zip(expected) {
        assert_eq!(p.name, name);
        assert!(
            (p.mean_cost - cost).abs() < 35.0,
            "{name}: cost {}",
            p.mean_cost
        );
        assert!(
            (p.failure_rate - fail).abs() < 0.035,
            "{name}: fail {}",
            p.failure_rate
        );
        assert!(p.cost_ci95[0] <= p.mean_cost && p.mean_cost <= p.cost_ci95[1]);
    }
    assert_eq!(report.jidoka_update_errors, 0);
    assert!(report.jidoka_engine_ok);
}

#[test]
fn report_is_deterministic_across_thread_counts_and_serialises() {
    let mut cfg = fast_config();
    cfg.threads = 1;
    let a = run_ablation_with(&cfg, 3, 5);
    cfg.threads = 2;
    let b = run_ablation_with(&cfg, 3, 5);
    assert_eq!(a.policies, b.policies);
    assert_eq!(a.jidoka_learning_curve, b.jidoka_learning_curve);
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.contains("\"jidoka\""));
    assert_eq!(a.jidoka_learning_curve.len(), 2); // 1 warm-up block + eval
}

#[test]
fn jidoka_beats_rules_after_warmup() {
    let cfg = AblationConfig {
        jidoka: JidokaConfig {
            samples: 100,
            ..JidokaConfig::default()
        },
        ..AblationConfig::default()
    };
    let r = run_ablation_with(&cfg, 4, 1);
    let rules = &r.policies[0];
    let jidoka = &r.policies[4];
    assert!(
        jidoka.mean_cost < rules.mean_cost,
        "{jidoka:?} vs {rules:?}"
    );
    assert!(jidoka.failure_rate < rules.failure_rate);
    assert_eq!(r.jidoka_learning_curve.len(), 11);
}
