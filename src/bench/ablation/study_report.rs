//! Rendering of a [`StudyReport`]: a readable table, or one JSON object
//! (`jidoka bench ablation --scenario FILE --json`) with every field of the
//! report (policies in order rules, hybrid, oracle, jidoka-model,
//! jidoka-pooled; each with `all`, `after_warmup`, `curve`, `recovery`,
//! `worse_than_rules`).

use std::fmt::Write;

use serde_json::Value;

use super::stats::MeanCi;
use super::study::{StudyReport, Summary};

/// The JSON object printed with `--json`.
pub fn study_json(report: &StudyReport) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

fn ci(m: &MeanCi, scale: f64, digits: usize) -> String {
    format!(
        "{:.d$} [{:.d$}, {:.d$}]",
        scale * m.mean,
        scale * m.ci95[0],
        scale * m.ci95[1],
        d = digits
    )
}

fn row(s: &mut String, name: &str, x: &Summary) {
    let _ = writeln!(
        s,
        "  {:<14} {:>24} {:>22} {:>20} {:>6.1}%",
        name,
        ci(&x.mean_cost, 1.0, 1),
        ci(&x.failure_rate, 100.0, 1),
        ci(&x.cost_ratio, 1.0, 2),
        100.0 * x.bandit_share.mean
    );
}

fn header(s: &mut String) {
    let _ = writeln!(
        s,
        "  {:<14} {:>24} {:>22} {:>20} {:>7}",
        "policy", "mean cost [95% CI]", "failures % [95% CI]", "cost/oracle [CI]", "bandit"
    );
}

/// The readable report.
pub fn study_table(r: &StudyReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario {}: {} model(s) x {} decisions, {} seeds (base seed {}){}; jidoka-pooled scope {}",
        r.scenario,
        r.models,
        r.decisions_per_model,
        r.seeds,
        r.base_seed,
        r.change_at
            .map_or(String::new(), |k| format!(", change at decision {k}")),
        match r.config.learner.learn.scope {
            crate::decide::bandit::Scope::Group => "group",
            _ => "global",
        }
    );
    let _ = writeln!(s, "all decisions:");
    header(&mut s);
    for p in &r.policies {
        row(&mut s, &p.name, &p.all);
    }
    let _ = writeln!(s, "after {} outcomes:", r.config.warmup);
    header(&mut s);
    for p in &r.policies {
        row(&mut s, &p.name, &p.after_warmup);
    }
    let _ = writeln!(
        s,
        "learning curve: the {} decisions after n outcomes (over all models)",
        r.config.block
    );
    for p in &r.policies {
        for (n, x) in &p.curve {
            row(&mut s, &format!("{} n={n}", p.name), x);
        }
    }
    if let Some(k) = r.change_at {
        let _ = writeln!(
            s,
            "recovery after the change at decision {k} (outcomes until a block of {} is within {}x the oracle):",
            r.config.block, r.config.recovery_ratio
        );
        for p in &r.policies {
            let _ = writeln!(
                s,
                "  {:<14} {}",
                p.name,
                p.recovery
                    .map_or("not within the run".to_string(), |n| n.to_string())
            );
        }
    }
    let _ = writeln!(
        s,
        "never worse than rules by more than the 95% CI in any block of {}:",
        r.config.block
    );
    for p in r.policies.iter().filter(|p| p.name.starts_with("jidoka")) {
        let verdict = if p.worse_than_rules.is_empty() {
            "yes".to_string()
        } else {
            format!("NO, blocks {:?}", p.worse_than_rules)
        };
        let _ = writeln!(
            s,
            "  {:<14} {verdict} (largest mean excess in a block: {:.1})",
            p.name, p.max_block_excess
        );
    }
    if r.update_errors > 0 {
        let _ = writeln!(s, "bandit updates rejected: {}", r.update_errors);
    }
    s
}
