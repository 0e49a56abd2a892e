//! Rendering of an [`AblationReport`]: a readable table, or one JSON object
//! keyed by policy name (`rules`, `bandit`, `hybrid`, `oracle`, `jidoka`),
//! each with `mean_cost`, `cost_ci95`, `failure_rate` and `failure_ci95`.

use std::fmt::Write;

use serde_json::{json, Map, Value};

use super::run::AblationReport;

/// The JSON object printed by `jidoka bench ablation --json`.
pub fn to_json(report: &AblationReport) -> Value {
    let mut out = Map::new();
    for p in &report.policies {
        out.insert(
            p.name.clone(),
            json!({
                "mean_cost": p.mean_cost,
                "cost_ci95": p.cost_ci95,
                "failure_rate": p.failure_rate,
                "failure_ci95": p.failure_ci95,
            }),
        );
    }
    out.insert("seeds".into(), json!(report.seeds));
    out.insert("base_seed".into(), json!(report.base_seed));
    out.insert(
        "jidoka_learning_curve".into(),
        json!(report
            .jidoka_learning_curve
            .iter()
            .map(|c| json!({
                "block": c.block,
                "mean_cost": c.mean_cost.mean,
                "failure_rate": c.failure_rate.mean,
                "bandit_share": c.bandit_share,
            }))
            .collect::<Vec<_>>()),
    );
    Value::Object(out)
}

/// The readable table with the learning curve.
pub fn to_table(report: &AblationReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "ablation: {} seeds x {} scenarios (base seed {})",
        report.seeds, report.config.scenarios_per_seed, report.base_seed
    );
    let _ = writeln!(
        s,
        "{:<8} {:>26} {:>26}",
        "policy", "mean cost [95% CI]", "failure rate [95% CI]"
    );
    for p in &report.policies {
        let _ = writeln!(
            s,
            "{:<8} {:>8.1} [{:>7.1}, {:>7.1}]   {:>6.1}% [{:>5.1}%, {:>5.1}%]",
            p.name,
            p.mean_cost,
            p.cost_ci95[0],
            p.cost_ci95[1],
            100.0 * p.failure_rate,
            100.0 * p.failure_ci95[0],
            100.0 * p.failure_ci95[1]
        );
    }
    let _ = writeln!(
        s,
        "jidoka learning curve (cost per block of {} scenarios):",
        report.config.block_size
    );
    for c in &report.jidoka_learning_curve {
        let _ = writeln!(
            s,
            "  block {:>2}: cost {:>7.1}  failures {:>5.1}%  bandit share {:>5.1}%",
            c.block,
            c.mean_cost.mean,
            100.0 * c.failure_rate.mean,
            100.0 * c.bandit_share
        );
    }
    s
}
