//! Unit tests of `explain.rs`.

use super::*;
use crate::schema::{
    ArmView, AuditInputs, AuditOutcome, AuditStatus, BanditView, CooldownCheck, GateCheck,
    OutcomeStatus, RuleEvaluation, Superseded, TestKind,
};

fn escalation() -> AuditRecord {
    AuditRecord {
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
            FeatureEvidence {
                feature: "score_mean".into(),
                test: TestKind::ZScore,
                statistic: 0.0,
                p_value: 0.0,
                drifted: true,
                drift_event_id: Some("drift-2".into()),
            },
        ],
        rules: vec![
            RuleEvaluation {
                name: "drift-retrain".into(),
                condition: "drift > 0.5".into(),
                matched: false,
                action: "retrain".into(),
                hard: false,
                priority: 10,
            },
            RuleEvaluation {
                name: "accuracy-collapse".into(),
                condition: "accuracy_drop > 0.3".into(),
                matched: false,
                action: "rollback".into(),
                hard: true,
                priority: 100,
            },
        ],
        cooldown: CooldownCheck {
            active: false,
            last_action_at: None,
            remaining_ms: 0,
        },
        action: "escalate".into(),
        gate_reason: "nobody is sure: escalate".into(),
        command_id: Some("cmd-1".into()),
        config_version: "cfg9".into(),
        sequence: 41,
        decided_by: "escalation".into(),
        proposed_action: "escalate".into(),
        context: [
            ("drift".to_string(), 0.3125),
            ("accuracy_drop".to_string(), 0.0),
        ]
        .into_iter()
        .collect(),
        bandit: Some(BanditView {
            chosen: "rollback".into(),
            confidence: 0.55,
            threshold: 0.8,
            samples: 200,
            arms: vec![
                ArmView {
                    action: "retrain".into(),
                    posterior_mean: 0.12,
                    observations: 4,
                    deviation: None,
                },
                ArmView {
                    action: "rollback".into(),
                    posterior_mean: 0.31,
                    observations: 1,
                    deviation: None,
                },
            ],
            // Written before audit schema version 4.
            seed: None,
            against: None,
        }),
        checks: vec![
            GateCheck {
                name: "gate".into(),
                passed: false,
                detail: "bandit not confident (0.550 < 0.8)".into(),
            },
            GateCheck {
                name: "cooldown".into(),
                passed: true,
                detail: "no command yet".into(),
            },
            GateCheck {
                name: "rate-limit".into(),
                passed: true,
                detail: "0 of 4 per hour".into(),
            },
        ],
        status: AuditStatus::AwaitingApproval,
        record_hash: "h41".into(),
        ..AuditRecord::default()
    }
}

fn next(
    previous: &AuditRecord,
    sequence: i64,
    change: impl FnOnce(&mut AuditRecord),
) -> AuditRecord {
    let mut r = previous.clone();
    r.version += 1;
    r.sequence = sequence;
    r.record_hash = format!("h{sequence}");
    r.supersedes = Some(Superseded {
        sequence: previous.sequence,
        record_hash: previous.record_hash.clone(),
    });
    change(&mut r);
    r
}

fn lifecycle_records() -> Vec<AuditRecord> {
    let v1 = escalation();
    let v2 = next(&v1, 57, |r| {
        r.status = AuditStatus::Dispatched;
        r.decided_by = "human".into();
        r.action = "rollback".into();
        r.command_id = Some("cmd-2".into());
        r.operator_command_id = Some("op-9".into());
        r.gate_reason = format!(
            "{}; rollback approved by alice (operator command op-9)",
            r.gate_reason
        );
    });
    let v3 = next(&v2, 63, |r| {
        r.status = AuditStatus::Completed;
        r.outcome = Some(AuditOutcome {
            command_id: "cmd-2".into(),
            status: OutcomeStatus::Succeeded,
            recovery: 0.2,
            cost: 10.0,
            reward: 0.1,
            reported_at: 1_717_203_600_000,
        });
    });
    // Any order.
    vec![v3, v1, v2]
}

#[test]
fn explains_every_section_of_a_decision() {
    let text = explain(&lifecycle_records());
    for expected in [
        "Decision dec-abc about model churn-v7 (model version 7)",
        "Decided at 2024-06-01T00:00:00.000Z (event time), on the record at predictions partition 2 offset 1234, after 3000 of the model's records",
        "3 versions on the audit topic: v1 awaiting-approval (sequence 41), v2 dispatched (sequence 57), v3 completed (sequence 63). Current status: completed.",
        "The proposal came from escalation",
        "Proposed action: escalate. Action after the checks: escalate.",
        "Later changed to rollback (v3, human).",
        "1 of 2 features tested drifted.",
        "- tenure_days: ks statistic 0.3125, p-value 2.100e-9: drifted; drift event drift-1",
        "- plan: chi2 statistic 1.5000, p-value 4.700e-1: no drift",
        "Open anomaly alerts: 1 alert.",
        "- score_mean (anomaly: Z-score of a windowed metric); drift event drift-2",
        "drift = 0.3125",
        "accuracy_drop = 0.0000",
        "- accuracy-collapse (hard, priority 100): when accuracy_drop > 0.3 then rollback: not matched",
        "- drift-retrain (default, priority 10): when drift > 0.5 then retrain: not matched",
        "Chosen arm: rollback with confidence 0.550 (share of 200 posterior draws in which it is the best arm); the gate requires 0.800: below the gate",
        "rollback    0.3100  (1 outcome)  <- chosen",
        "retrain     0.1200  (4 outcomes)",
        "Seed not recorded (written before audit schema version 4)",
        "- gate: not passed: bandit not confident (0.550 < 0.8)",
        "- cooldown: passed: no command yet",
        "- rate-limit: passed: 0 of 4 per hour",
        "Cooldown: clear (no earlier command).",
        "escalate: command cmd-1 published (awaiting-approval).",
        "v1 at 2024-06-01T00:00:00.000Z: escalate by escalation (awaiting-approval).",
        "v2: approved by a human (operator command op-9): rollback dispatched as command cmd-2; rollback approved by alice (operator command op-9) [supersedes v1].",
        "v3: completed: the executor reported succeeded for command cmd-2 at 2024-06-01T01:00:00.000Z: recovery 0.2000, cost 10.0000, reward 0.1000 [supersedes v2].",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    // Rules are listed by priority: the hard rule first.
    let hard = text.find("accuracy-collapse (hard");
    let default = text.find("drift-retrain (default");
    assert!(hard < default, "{text}");
}

#[test]
fn linked_drift_events_are_described() {
    let event = DriftEvent {
        event_id: "drift-1".into(),
        model_id: "churn-v7".into(),
        feature: "tenure_days".into(),
        test: TestKind::Ks,
        statistic: 0.3125,
        p_value: 2.1e-9,
        alpha: 0.001,
        reference_size: 500,
        reference_start_time: 0,
        reference_end_time: 0,
        window_size: 250,
        window_start_record: 0,
        window_end_record: 0,
        window_start_time: 0,
        window_end_time: 0,
        event_time: 1_717_199_000_000,
        kind: "covariate".into(),
        status: "opened".into(),
        adjusted_p_value: Some(4.2e-9),
        correction: "benjamini-hochberg".into(),
        late_records: 0,
        effect_size: Some(0.8123),
        min_effect: Some(0.1),
    };
    let text = explain_with_events(&[escalation()], &[event]);
    assert!(
        text.contains("drift event drift-1: covariate alert opened at 2024-05-31T23:43:20.000Z, ks statistic 0.3125, p-value 2.100e-9, adjusted p-value 4.200e-9, alpha 1.000e-3, effect size 0.8123 (gate 0.1000)"),
        "{text}"
    );
    assert!(
        text.contains("Now waiting for a human to approve or veto it."),
        "{text}"
    );
}

#[test]
fn a_veto_a_confident_bandit_and_an_active_cooldown() {
    let mut v1 = escalation();
    v1.decided_by = "bandit".into();
    v1.status = AuditStatus::Dispatched;
    v1.action = "rollback".into();
    if let Some(b) = v1.bandit.as_mut() {
        b.confidence = 0.91;
    }
    v1.rules[1].matched = true;
    v1.cooldown = CooldownCheck {
        active: true,
        last_action_at: Some(1_717_199_000_000),
        remaining_ms: 720_000,
    };
    let v2 = next(&v1, 50, |r| {
        r.status = AuditStatus::Vetoed;
        r.operator_command_id = Some("op-7".into());
        r.gate_reason = format!(
            "{}; after dispatch vetoed by bob (operator command op-7): hold sent",
            r.gate_reason
        );
    });
    let text = explain(&[v1, v2]);
    for expected in [
        "at or above the gate: confident enough to act on",
        "A hard rule matched (accuracy-collapse): it wins over the bandit.",
        "Cooldown: active, 12m left (last command at 2024-05-31T23:43:20.000Z).",
        "v2: vetoed (operator command op-7); after dispatch vetoed by bob (operator command op-7): hold sent [supersedes v1].",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn the_confidence_says_what_it_was_measured_against() {
    // The first matching default rule's action is an arm: the confidence
    // is the share of draws in which the chosen arm does no worse than it.
    let mut r = escalation();
    r.rules[0].matched = true;
    let text = explain(std::slice::from_ref(&r));
    assert!(
        text.contains("(share of 200 posterior draws in which it does no worse than the rules' choice, retrain)"),
        "{text}"
    );
    // The bandit chose the rules' own action.
    if let Some(b) = r.bandit.as_mut() {
        b.chosen = "retrain".into();
    }
    let text = explain(&[r.clone()]);
    assert!(
        text.contains("in which it does no worse than the rules' choice, which it is)"),
        "{text}"
    );
    // A matching hard rule is not the reference, and an action that is not
    // an arm cannot be one.
    r.rules[0].action = "escalate".into();
    r.rules[1].matched = true;
    let text = explain(&[r]);
    assert!(text.contains("in which it is the best arm)"), "{text}");
}

/// A record of schema version 4 says what the confidence was measured
/// against itself: its `against` wins over the rules (the derivation is
/// for older records only), null means the best of all arms; the seed is
/// named, and each arm's deviation τ² when it is not 0.
#[test]
fn a_version_4_record_names_its_reference_seed_and_deviations() {
    let mut r = escalation();
    // The rules would make retrain the reference…
    r.rules[0].matched = true;
    if let Some(b) = r.bandit.as_mut() {
        // …but the record says rollback was measured against itself.
        b.seed = Some(42);
        b.against = Some("rollback".into());
        b.arms[0].deviation = Some(0.0);
        b.arms[1].deviation = Some(0.0625);
    }
    let text = explain(std::slice::from_ref(&r));
    for expected in [
        "(share of 200 posterior draws in which it does no worse than the rules' choice, which it is)",
        "Draws seeded with decide.bandit.seed = 42 and the decision id",
        "rollback    0.3100  (1 outcome, prior widened by deviation τ² = 0.0625)  <- chosen",
        "retrain     0.1200  (4 outcomes)\n",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert!(!text.contains("Seed not recorded"), "{text}");
    // Measured as the best of all arms, though a default rule matched.
    if let Some(b) = r.bandit.as_mut() {
        b.against = None;
        b.seed = Some(0);
    }
    let text = explain(&[r]);
    assert!(text.contains("in which it is the best arm)"), "{text}");
    assert!(text.contains("decide.bandit.seed = 0 "), "{text}");
}

#[test]
fn a_compacted_decision_and_a_bare_record_still_explain() {
    let records = lifecycle_records();
    let last = records[0].clone();
    let text = explain(&[last]);
    for expected in [
        "Versions before v3 are no longer on the topic (compacted)",
        "v1 to v2 at 2024-06-01T00:00:00.000Z: compacted away.",
        "v3: completed: the executor reported succeeded for command cmd-2",
        "[supersedes sequence 57, compacted; the reason above holds the earlier stages]",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    let bare = AuditRecord {
        decision_id: "d".into(),
        action: "none".into(),
        ..AuditRecord::default()
    };
    let text = explain(&[bare]);
    for expected in [
        "model version unknown",
        "No evidence recorded.",
        "Signals\n  Not recorded",
        "No rule was evaluated.",
        "The bandit was not consulted.",
        "No check recorded.",
        "none: no command was published (decided).",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert_eq!(explain(&[]), "No audit record to explain.\n");
}

#[test]
fn an_operator_command_record() {
    let r = AuditRecord {
        decision_id: "op-1".into(),
        model_id: "*/p2".into(),
        decided_by: "human".into(),
        proposed_action: "pause".into(),
        operator_command_id: Some("cmd-op".into()),
        status: AuditStatus::Rejected,
        gate_reason: "operator pause by mallory: signature check failed".into(),
        checks: vec![GateCheck {
            name: "signature".into(),
            passed: false,
            detail: "signature check failed: mismatch".into(),
        }],
        action: "none".into(),
        ..AuditRecord::default()
    };
    let text = explain(&[r]);
    for expected in [
        "pause command cmd-op (rejected): operator pause by mallory: signature check failed.",
        "It concerns every model of partition 2.",
        "Issued at 1970-01-01T00:00:00.000Z, read from unknown partition 0 offset 0",
        "- signature: BLOCKED: signature check failed: mismatch",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert!(!text.contains("Bandit"), "{text}");
}

#[test]
fn the_reward_says_what_was_measured_and_what_reported() {
    let decided = AuditRecord {
        decision_id: "d".into(),
        model_id: "m".into(),
        action: "none".into(),
        ..AuditRecord::default()
    };
    let text = explain(std::slice::from_ref(&decided));
    assert!(text.contains("Reward\n  Not complete yet"), "{text}");
    let mut done = decided.clone();
    done.version = 2;
    done.status = AuditStatus::Completed;
    done.reward = Some(crate::schema::AuditReward {
        arm: "none".into(),
        parts: "measured".into(),
        learned: true,
        horizon_ms: 1_800_000,
        measured_at: Some(1_717_200_000_000),
        accuracy_drop_before: 0.2,
        drifted_share_before: 0.5,
        accuracy_drop_after: Some(0.05),
        drifted_share_after: Some(0.25),
        measured_recovery: Some(0.2),
        reported_recovery: None,
        reported_cost: None,
        measured_weight: 1.0,
        reported_weight: 1.0,
        benefit_weight: 1.0,
        cost_weight: 0.01,
        recovery: 0.2,
        reward: 0.2,
    });
    let text = explain(&[decided, done]);
    for expected in [
        "0.2000 for the none arm, from the model's own signals alone (learned by the bandit).",
        "At the decision: accuracy drop 0.2000, drifted share 0.5000.",
        "Measured at 2024-06-01T00:00:00.000Z (horizon 30m): accuracy drop 0.0500, drifted share 0.2500; measured recovery 0.2000.",
        "Reported: no executor outcome used (cost 0).",
        "v2: completed: reward 0.2000 (measured)",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}
