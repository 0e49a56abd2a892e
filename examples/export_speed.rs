//! How fast the analyst exports write: builds N synthetic audit records
//! shaped like the pipeline's (6 features of evidence, 3 rules, 5 checks,
//! 8 signals, a bandit view of 6 arms; every fifth one a completed second
//! version with its outcome) and N drift events, then times flattening
//! and writing them in each format (no Kafka: the read is not timed).
//!
//! `cargo run --release --example export_speed [N]` (default 100,000).

use std::time::Instant;

use jidoka::export::{audit_layout, drift_layout, write_table, Format};
use jidoka::schema::{
    ArmView, AuditInputs, AuditOutcome, AuditRecord, AuditStatus, BanditView, DriftEvent,
    FeatureEvidence, GateCheck, OutcomeStatus, RuleEvaluation, TestKind,
};

const T0: i64 = 1_767_225_600_000;

fn audit(i: usize) -> AuditRecord {
    let features = [
        "tenure_days",
        "monthly_spend",
        "support_calls",
        "plan",
        "region",
        "age",
    ];
    let drifted = i % 3 == 0;
    AuditRecord {
        decision_id: format!("dec-{i:024x}"),
        model_id: format!("model-{}", i % 50),
        model_version: "7".into(),
        decided_at: T0 + i as i64 * 1000,
        inputs: AuditInputs {
            source_topic: "predictions".into(),
            source_partition: (i % 12) as i32,
            source_offset: i as i64 * 250,
            records_seen: i as i64 * 250,
        },
        evidence: features
            .iter()
            .enumerate()
            .map(|(k, f)| FeatureEvidence {
                feature: (*f).into(),
                test: if k < 3 { TestKind::Ks } else { TestKind::Chi2 },
                statistic: 0.01 * (k + 1) as f64 + (i % 7) as f64 * 0.003,
                p_value: if drifted && k == 0 { 2.1e-9 } else { 0.4 },
                drifted: drifted && k == 0,
                drift_event_id: (drifted && k == 0).then(|| format!("drift-{i:x}")),
            })
            .collect(),
        rules: ["hard-accuracy-drop", "default-retrain", "default-hold"]
            .iter()
            .enumerate()
            .map(|(k, n)| RuleEvaluation {
                name: (*n).into(),
                condition: "drifted_features >= 1 and accuracy_drop < 0.05".into(),
                matched: k == 1 && drifted,
                action: "retrain".into(),
                hard: k == 0,
                priority: 10 - k as i32,
            })
            .collect(),
        action: if drifted { "retrain" } else { "none" }.into(),
        gate_reason: "bandit confident (0.912 >= 0.8): retrain".into(),
        command_id: drifted.then(|| format!("cmd-{i:x}")),
        config_version: "9f3e0c1d".into(),
        sequence: i as i64 + 1,
        previous_hash: Some("ab".repeat(32)),
        record_hash: "cd".repeat(32),
        decided_by: "bandit".into(),
        proposed_action: "retrain".into(),
        context: (0..8)
            .map(|k| (format!("signal_{k}"), k as f64 * 0.1))
            .collect(),
        bandit: Some(BanditView {
            chosen: "retrain".into(),
            confidence: 0.912,
            threshold: 0.8,
            samples: 200,
            arms: [
                "none", "retrain", "rollback", "fallback", "hold", "escalate",
            ]
            .iter()
            .enumerate()
            .map(|(k, a)| ArmView {
                action: (*a).into(),
                posterior_mean: 0.1 * k as f64 - 0.2,
                observations: (i % 40) as i64 + k as i64,
                deviation: Some(0.01 * k as f64),
            })
            .collect(),
            seed: Some(0),
            against: Some("retrain".into()),
        }),
        checks: ["evidence-age", "pause", "cooldown", "rate-limit", "veto"]
            .iter()
            .map(|n| GateCheck {
                name: (*n).into(),
                passed: true,
                detail: "clear".into(),
            })
            .collect(),
        status: if i % 5 == 4 {
            AuditStatus::Completed
        } else {
            AuditStatus::Dispatched
        },
        version: if i % 5 == 4 { 2 } else { 1 },
        outcome: (i % 5 == 4).then(|| AuditOutcome {
            command_id: format!("cmd-{i:x}"),
            status: OutcomeStatus::Succeeded,
            recovery: 0.25,
            cost: 5.0,
            reward: 0.2,
            reported_at: T0 + i as i64 * 1000 + 60_000,
        }),
        ..AuditRecord::default()
    }
}

fn drift(i: usize) -> DriftEvent {
    DriftEvent {
        event_id: format!("drift-{i:024x}"),
        model_id: format!("model-{}", i % 50),
        feature: "tenure_days".into(),
        test: TestKind::Ks,
        statistic: 0.31,
        p_value: 2.1e-9,
        alpha: 0.001,
        reference_size: 1000,
        reference_start_time: T0,
        reference_end_time: T0 + 999_000,
        window_size: 500,
        window_start_record: i as i64,
        window_end_record: i as i64 + 499,
        window_start_time: T0 + i as i64 * 1000,
        window_end_time: T0 + i as i64 * 1000 + 499_000,
        event_time: T0 + i as i64 * 1000 + 499_000,
        kind: "covariate".into(),
        status: if i % 2 == 0 { "opened" } else { "closed" }.into(),
        adjusted_p_value: Some(4.2e-9),
        correction: "benjamini-hochberg".into(),
        late_records: 0,
        effect_size: Some(0.42),
        min_effect: Some(0.1),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let audits: Vec<AuditRecord> = (0..n).map(audit).collect();
    let events: Vec<DriftEvent> = (0..n).map(drift).collect();
    let (al, dl) = (audit_layout(), drift_layout());
    println!(
        "{n} rows each; {} audit columns, {} drift columns",
        al.columns().len(),
        dl.columns().len()
    );
    for format in [Format::Parquet, Format::Csv, Format::Jsonl] {
        let out = dir.path().join(format!("audit.{}", format.as_str()));
        let start = Instant::now();
        write_table(
            &out,
            format,
            &al.columns(),
            &mut audits.iter().map(|r| al.row(r)),
        )?;
        let s = start.elapsed().as_secs_f64();
        let size = std::fs::metadata(&out)?.len();
        println!(
            "audit {:8} {:6.2} s  {:>9.0} rows/s  {:>7.1} MB ({:.0} bytes/row)",
            format.as_str(),
            s,
            n as f64 / s,
            size as f64 / 1e6,
            size as f64 / n as f64
        );
        let out = dir.path().join(format!("drift.{}", format.as_str()));
        let start = Instant::now();
        write_table(
            &out,
            format,
            &dl.columns(),
            &mut events.iter().map(|e| dl.row(e)),
        )?;
        let s = start.elapsed().as_secs_f64();
        let size = std::fs::metadata(&out)?.len();
        println!(
            "drift {:8} {:6.2} s  {:>9.0} rows/s  {:>7.1} MB ({:.0} bytes/row)",
            format.as_str(),
            s,
            n as f64 / s,
            size as f64 / 1e6,
            size as f64 / n as f64
        );
    }
    Ok(())
}
