//! Unit tests of `rows.rs`.

use super::*;
use crate::export::table::{Kind, Value};
use crate::schema::{
    ArmView, AuditInputs, AuditOutcome, AuditStatus, BanditView, CooldownCheck, FeatureEvidence,
    GateCheck, OutcomeStatus, RuleEvaluation, Superseded, TestKind,
};

fn completed() -> AuditRecord {
    AuditRecord {
        reward: None,
        decision_id: "dec-abc".into(),
        model_id: "churn-v7".into(),
        model_version: "7".into(),
        decided_at: 1_717_200_000_000,
        inputs: AuditInputs {
            source_topic: "predictions".into(),
            source_partition: 2,
            source_offset: 1234,
            records_seen: 3000,
        },
        evidence: vec![
            FeatureEvidence {
                feature: "tenure_days".into(),
                test: TestKind::Ks,
                statistic: 0.3125,
                p_value: 2.1e-9,
                drifted: true,
                drift_event_id: Some("drift-1".into()),
            },
            FeatureEvidence {
                feature: "plan".into(),
                test: TestKind::Chi2,
                statistic: 1.5,
                p_value: 0.47,
                drifted: false,
                drift_event_id: None,
            },
        ],
        rules: vec![
            RuleEvaluation {
                name: "default-retrain".into(),
                condition: "drifted_features >= 1".into(),
                matched: true,
                action: "retrain".into(),
                hard: false,
                priority: 1,
            },
            RuleEvaluation {
                name: "hard-rollback".into(),
                condition: "accuracy_drop > 0.1".into(),
                matched: false,
                action: "rollback".into(),
                hard: true,
                priority: 10,
            },
            RuleEvaluation {
                name: "hard-hold".into(),
                condition: "paused".into(),
                matched: true,
                action: "hold".into(),
                hard: true,
                priority: 5,
            },
        ],
        cooldown: CooldownCheck {
            active: false,
            last_action_at: Some(1_717_100_000_000),
            remaining_ms: 0,
        },
        action: "retrain".into(),
        gate_reason: "bandit confident, \"quoted\",\nnew line".into(),
        command_id: Some("cmd-1".into()),
        config_version: "cfg-9".into(),
        sequence: 7,
        previous_hash: Some("aa".into()),
        record_hash: "bb".into(),
        decided_by: "bandit".into(),
        proposed_action: "retrain".into(),
        context: [("drifted_features".to_string(), 1.0)].into(),
        bandit: Some(BanditView {
            chosen: "retrain".into(),
            confidence: 0.91,
            threshold: 0.8,
            samples: 200,
            arms: vec![
                ArmView {
                    action: "retrain".into(),
                    posterior_mean: 0.4,
                    observations: 12,
                    deviation: Some(0.0625),
                },
                ArmView {
                    action: "none".into(),
                    posterior_mean: -0.1,
                    observations: 3,
                    deviation: Some(0.0),
                },
            ],
            seed: Some(7),
            against: Some("fallback".into()),
        }),
        checks: vec![
            GateCheck {
                name: "cooldown".into(),
                passed: true,
                detail: "clear".into(),
            },
            GateCheck {
                name: "rate-limit".into(),
                passed: false,
                detail: "over".into(),
            },
        ],
        operator_command_id: None,
        status: AuditStatus::Completed,
        version: 2,
        outcome: Some(AuditOutcome {
            command_id: "cmd-1".into(),
            status: OutcomeStatus::Succeeded,
            recovery: 0.25,
            cost: 5.0,
            reward: 0.2,
            reported_at: 1_717_300_000_000,
        }),
        supersedes: Some(Superseded {
            sequence: 5,
            record_hash: "cc".into(),
        }),
    }
}

fn cell<'a>(columns: &[crate::export::Column], row: &'a [Value], name: &str) -> &'a Value {
    let i = columns.iter().position(|c| c.name == name);
    match i.and_then(|i| row.get(i)) {
        Some(v) => v,
        None => panic!("no column {name}"),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn list(items: &[&str]) -> Value {
    Value::TextList(items.iter().map(|s| s.to_string()).collect())
}

#[test]
fn an_audit_record_flattens_to_one_row() {
    let layout = audit_layout();
    let columns = layout.columns();
    let r = completed();
    let row = layout.row(&r);
    assert_eq!(row.len(), columns.len());
    let at = |name| cell(&columns, &row, name);
    assert_eq!(at("decision_id"), &text("dec-abc"));
    assert_eq!(at("version"), &Value::Int(2));
    assert_eq!(at("sequence"), &Value::Int(7));
    assert_eq!(at("status"), &text("completed"));
    assert_eq!(at("decided_at"), &Value::Time(1_717_200_000_000));
    assert_eq!(at("decided_by"), &text("bandit"));
    assert_eq!(at("source_partition"), &Value::Int(2));
    assert_eq!(at("records_seen"), &Value::Int(3000));
    assert_eq!(at("features_tested"), &Value::Int(2));
    assert_eq!(at("features_drifted"), &Value::Int(1));
    assert_eq!(at("drifted_features"), &list(&["tenure_days"]));
    assert_eq!(at("drift_event_ids"), &list(&["drift-1"]));
    // Matched rules, higher priority first; a hard one among them.
    assert_eq!(
        at("rules_matched"),
        &list(&["hard-hold", "default-retrain"])
    );
    assert_eq!(at("hard_rule_matched"), &Value::Bool(true));
    assert_eq!(at("checks_failed"), &list(&["rate-limit"]));
    assert_eq!(at("cooldown_active"), &Value::Bool(false));
    assert_eq!(
        at("cooldown_last_action_at"),
        &Value::Time(1_717_100_000_000)
    );
    assert_eq!(at("bandit_confidence"), &Value::Float(0.91));
    assert_eq!(at("bandit_samples"), &Value::Int(200));
    assert_eq!(at("bandit_retrain_mean"), &Value::Float(0.4));
    assert_eq!(at("bandit_retrain_observations"), &Value::Int(12));
    assert_eq!(at("bandit_none_mean"), &Value::Float(-0.1));
    // An arm the view does not list is null, not zero.
    assert_eq!(at("bandit_rollback_mean"), &Value::Null);
    assert_eq!(at("bandit_rollback_observations"), &Value::Null);
    // Schema version 4: seed, reference arm, deviation per arm (0 is a
    // value, an arm the view does not list is null).
    assert_eq!(at("bandit_seed"), &Value::Int(7));
    assert_eq!(at("bandit_against"), &text("fallback"));
    assert_eq!(at("bandit_retrain_deviation"), &Value::Float(0.0625));
    assert_eq!(at("bandit_none_deviation"), &Value::Float(0.0));
    assert_eq!(at("bandit_rollback_deviation"), &Value::Null);
    assert_eq!(at("outcome_status"), &text("succeeded"));
    assert_eq!(at("outcome_reward"), &Value::Float(0.2));
    assert_eq!(at("outcome_reported_at"), &Value::Time(1_717_300_000_000));
    assert_eq!(at("supersedes_sequence"), &Value::Int(5));
    assert_eq!(at("supersedes_hash"), &text("cc"));
    assert_eq!(at("previous_hash"), &text("aa"));
    assert_eq!(at("record_hash"), &text("bb"));
    assert_eq!(at("operator_command_id"), &Value::Null);
    assert_eq!(at("gate_reason"), &text(&r.gate_reason));

    // The JSON columns are the record's own JSON of those fields.
    let whole = serde_json::to_value(&r).unwrap_or_default();
    for (column, key) in [
        ("evidence", "evidence"),
        ("rules", "rules"),
        ("checks", "checks"),
        ("context", "context"),
    ] {
        let Value::Json(j) = at(column) else {
            panic!("{column} is not JSON: {:?}", at(column));
        };
        let parsed: serde_json::Value = serde_json::from_str(j).unwrap_or_default();
        assert_eq!(parsed, whole[key], "{column}");
    }
    let Value::Json(arms) = at("bandit_arms") else {
        panic!("bandit_arms is not JSON");
    };
    let parsed: serde_json::Value = serde_json::from_str(arms).unwrap_or_default();
    assert_eq!(parsed, whole["bandit"]["arms"]);
    for (v, c) in row.iter().zip(&columns) {
        assert!(v.kind().is_none_or(|k| k == c.kind), "{}", c.name);
    }
}

#[test]
fn absent_parts_of_a_record_are_null_columns() {
    let layout = audit_layout();
    let columns = layout.columns();
    let r = AuditRecord::default();
    let row = layout.row(&r);
    assert_eq!(row.len(), columns.len());
    for name in [
        "command_id",
        "bandit_chosen",
        "bandit_confidence",
        "bandit_arms",
        "bandit_none_mean",
        "bandit_escalate_observations",
        "bandit_seed",
        "bandit_against",
        "bandit_none_deviation",
        "outcome_status",
        "outcome_reward",
        "outcome_reported_at",
        "supersedes_sequence",
        "previous_hash",
        "cooldown_last_action_at",
    ] {
        assert_eq!(cell(&columns, &row, name), &Value::Null, "{name}");
    }
    assert_eq!(cell(&columns, &row, "drifted_features"), &list(&[]));
    assert_eq!(cell(&columns, &row, "evidence"), &Value::Json("[]".into()));
    assert_eq!(cell(&columns, &row, "context"), &Value::Json("{}".into()));
    assert_eq!(cell(&columns, &row, "version"), &Value::Int(1));
    assert_eq!(cell(&columns, &row, "status"), &text("decided"));
}

#[test]
fn columns_are_unique_and_three_per_bandit_arm() {
    for columns in [audit_layout().columns(), drift_layout().columns()] {
        let mut names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate column names");
    }
    let columns = audit_layout().columns();
    for action in Action::ALL {
        for (suffix, kind) in [
            ("mean", Kind::Float),
            ("observations", Kind::Int),
            ("deviation", Kind::Float),
        ] {
            let name = format!("bandit_{}_{suffix}", action.as_str());
            assert!(
                columns.iter().any(|c| c.name == name && c.kind == kind),
                "{name}"
            );
        }
    }
}

#[test]
fn the_docs_list_every_column_with_its_kind() {
    let docs = include_str!("../../docs/audit.md");
    for columns in [audit_layout().columns(), drift_layout().columns()] {
        for c in columns {
            let name = if c.name.starts_with("bandit_") && c.name.ends_with("_mean") {
                "bandit_<arm>_mean".to_string()
            } else if c.name.starts_with("bandit_") && c.name.ends_with("_observations") {
                "bandit_<arm>_observations".to_string()
            } else if c.name.starts_with("bandit_") && c.name.ends_with("_deviation") {
                "bandit_<arm>_deviation".to_string()
            } else {
                c.name.clone()
            };
            let entry = format!("| `{name}` | {} |", c.kind.as_str());
            assert!(docs.contains(&entry), "docs/audit.md lacks `{entry}`");
        }
    }
}

#[test]
fn a_drift_event_flattens_to_one_row() {
    let e = DriftEvent {
        event_id: "drift-1".into(),
        model_id: "churn-v7".into(),
        feature: "tenure_days".into(),
        test: TestKind::Ks,
        statistic: 0.31,
        p_value: 2e-9,
        alpha: 0.001,
        reference_size: 1000,
        reference_start_time: 10,
        reference_end_time: 20,
        window_size: 500,
        window_start_record: 2501,
        window_end_record: 3000,
        window_start_time: 30,
        window_end_time: 40,
        event_time: 41,
        kind: "covariate".into(),
        status: "opened".into(),
        adjusted_p_value: Some(4e-9),
        correction: "benjamini-hochberg".into(),
        late_records: 3,
        effect_size: None,
        min_effect: Some(0.1),
    };
    let layout = drift_layout();
    let columns = layout.columns();
    let row = layout.row(&e);
    let at = |name| cell(&columns, &row, name);
    assert_eq!(at("event_id"), &text("drift-1"));
    assert_eq!(at("test"), &text("ks"));
    assert_eq!(at("p_value"), &Value::Float(2e-9));
    assert_eq!(at("adjusted_p_value"), &Value::Float(4e-9));
    // A schema-v1 event has no effect size: null.
    assert_eq!(at("effect_size"), &Value::Null);
    assert_eq!(at("min_effect"), &Value::Float(0.1));
    assert_eq!(at("event_time"), &Value::Time(41));
    assert_eq!(at("window_start_record"), &Value::Int(2501));
    assert_eq!(at("window_end_time"), &Value::Time(40));
    assert_eq!(at("late_records"), &Value::Int(3));
    assert_eq!(row.len(), 23);
}
