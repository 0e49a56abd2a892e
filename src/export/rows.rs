//! The flat rows of the exports: one per audit record version, one per
//! drift event.
//!
//! Guarantees: pure (records in, rows out). Every audit record field is
//! in its row: scalars and optional sub-records (inputs, cooldown, bandit,
//! outcome, supersedes, reward) as columns of their own, null when absent; the
//! lists (evidence, rules, checks, bandit arms) and the signal map both as
//! summary columns (drifted features, matched rules, failed checks, one
//! mean, one count and one deviation column per bandit arm) and, whole, as JSON columns
//! equal to the record's JSON (`audit replay --json`). The columns are the
//! same for every record (a fixed arm per action), so exports of different
//! ranges stack. Every drift event field is a column.

use super::table::{json_text, Field, Layout};
use crate::schema::{Action, AuditRecord, DriftEvent};

/// The columns of an audit export, one row per audit record (every
/// version of a decision is a row).
pub fn audit_layout() -> Layout<AuditRecord> {
    type R = AuditRecord;
    let mut fields = vec![
        Field::text("decision_id", |r: &R| r.decision_id.clone()),
        Field::int("version", |r: &R| i64::from(r.version)),
        Field::int("sequence", |r: &R| r.sequence),
        Field::text("status", |r: &R| r.status.as_str().to_string()),
        Field::text("model_id", |r: &R| r.model_id.clone()),
        Field::text("model_version", |r: &R| r.model_version.clone()),
        Field::time("decided_at", |r: &R| r.decided_at),
        Field::text("decided_by", |r: &R| r.decided_by.clone()),
        Field::text("proposed_action", |r: &R| r.proposed_action.clone()),
        Field::text("action", |r: &R| r.action.clone()),
        Field::text("command_id", |r: &R| r.command_id.clone()),
        Field::text("operator_command_id", |r: &R| r.operator_command_id.clone()),
        Field::text("gate_reason", |r: &R| r.gate_reason.clone()),
        Field::text("config_version", |r: &R| r.config_version.clone()),
        Field::text("source_topic", |r: &R| r.inputs.source_topic.clone()),
        Field::int("source_partition", |r: &R| {
            i64::from(r.inputs.source_partition)
        }),
        Field::int("source_offset", |r: &R| r.inputs.source_offset),
        Field::int("records_seen", |r: &R| r.inputs.records_seen),
        Field::int("features_tested", |r: &R| r.evidence.len() as i64),
        Field::int("features_drifted", |r: &R| {
            r.evidence.iter().filter(|e| e.drifted).count() as i64
        }),
        Field::list("drifted_features", |r: &R| {
            r.evidence
                .iter()
                .filter(|e| e.drifted)
                .map(|e| e.feature.clone())
                .collect::<Vec<_>>()
        }),
        Field::list("drift_event_ids", |r: &R| {
            r.evidence
                .iter()
                .filter_map(|e| e.drift_event_id.clone())
                .collect::<Vec<_>>()
        }),
        Field::json("evidence", |r: &R| json_text(&r.evidence)),
        Field::list("rules_matched", |r: &R| {
            let mut matched: Vec<_> = r.rules.iter().filter(|x| x.matched).collect();
            matched.sort_by_key(|x| std::cmp::Reverse(x.priority));
            matched.iter().map(|x| x.name.clone()).collect::<Vec<_>>()
        }),
        Field::bool("hard_rule_matched", |r: &R| {
            r.rules.iter().any(|x| x.hard && x.matched)
        }),
        Field::json("rules", |r: &R| json_text(&r.rules)),
        Field::list("checks_failed", |r: &R| {
            r.checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        }),
        Field::json("checks", |r: &R| json_text(&r.checks)),
        Field::bool("cooldown_active", |r: &R| r.cooldown.active),
        Field::time("cooldown_last_action_at", |r: &R| r.cooldown.last_action_at),
        Field::int("cooldown_remaining_ms", |r: &R| r.cooldown.remaining_ms),
        Field::json("context", |r: &R| json_text(&r.context)),
        Field::text("bandit_chosen", |r: &R| {
            r.bandit.as_ref().map(|b| b.chosen.clone())
        }),
        Field::float("bandit_confidence", |r: &R| {
            r.bandit.as_ref().map(|b| b.confidence)
        }),
        Field::float("bandit_threshold", |r: &R| {
            r.bandit.as_ref().map(|b| b.threshold)
        }),
        Field::int("bandit_samples", |r: &R| {
            r.bandit.as_ref().map(|b| i64::from(b.samples))
        }),
    ];
    for action in Action::ALL {
        let arm = action.as_str();
        let find = move |r: &R| {
            r.bandit
                .as_ref()
                .and_then(|b| b.arms.iter().find(|a| a.action == arm))
                .cloned()
        };
        fields.push(Field::float(format!("bandit_{arm}_mean"), move |r: &R| {
            find(r).map(|a| a.posterior_mean)
        }));
        fields.push(Field::int(
            format!("bandit_{arm}_observations"),
            move |r: &R| find(r).map(|a| a.observations),
        ));
    }
    fields.extend([
        Field::json("bandit_arms", |r: &R| {
            r.bandit.as_ref().and_then(|b| json_text(&b.arms))
        }),
        Field::text("outcome_command_id", |r: &R| {
            r.outcome.as_ref().map(|o| o.command_id.clone())
        }),
        Field::text("outcome_status", |r: &R| {
            r.outcome.as_ref().map(|o| o.status.as_str().to_string())
        }),
        Field::float("outcome_recovery", |r: &R| {
            r.outcome.as_ref().map(|o| o.recovery)
        }),
        Field::float("outcome_cost", |r: &R| r.outcome.as_ref().map(|o| o.cost)),
        Field::float("outcome_reward", |r: &R| {
            r.outcome.as_ref().map(|o| o.reward)
        }),
        Field::time("outcome_reported_at", |r: &R| {
            r.outcome.as_ref().map(|o| o.reported_at)
        }),
        Field::int("supersedes_sequence", |r: &R| {
            r.supersedes.as_ref().map(|s| s.sequence)
        }),
        Field::text("supersedes_hash", |r: &R| {
            r.supersedes.as_ref().map(|s| s.record_hash.clone())
        }),
        Field::text("previous_hash", |r: &R| r.previous_hash.clone()),
        Field::text("record_hash", |r: &R| r.record_hash.clone()),
    ]);
    fields.extend(reward_fields());
    fields.extend(reproduce_fields());
    Layout::new(fields)
}

/// The bandit view's fields of audit schema version 4 (after the reward's
/// columns, so the earlier columns keep their places): the seed, the arm
/// the confidence was measured against and each arm's deviation τ²; null
/// without a bandit view and for records written before version 4.
fn reproduce_fields() -> Vec<Field<AuditRecord>> {
    type R = AuditRecord;
    let mut fields = vec![
        Field::int("bandit_seed", |r: &R| {
            r.bandit.as_ref().and_then(|b| b.seed)
        }),
        Field::text("bandit_against", |r: &R| {
            r.bandit.as_ref().and_then(|b| b.against.clone())
        }),
    ];
    for action in Action::ALL {
        let arm = action.as_str();
        fields.push(Field::float(
            format!("bandit_{arm}_deviation"),
            move |r: &R| {
                r.bandit
                    .as_ref()
                    .and_then(|b| b.arms.iter().find(|a| a.action == arm))
                    .and_then(|a| a.deviation)
            },
        ));
    }
    fields
}

/// The reward's columns (`reward_*`, null until the reward is complete or
/// when it was made from the executor's report alone).
fn reward_fields() -> Vec<Field<AuditRecord>> {
    type R = AuditRecord;
    fn w<T>(f: impl Fn(&crate::schema::AuditReward) -> T) -> impl Fn(&R) -> Option<T> {
        move |r: &R| r.reward.as_ref().map(&f)
    }
    vec![
        Field::text("reward_arm", w(|w| w.arm.clone())),
        Field::text("reward_parts", w(|w| w.parts.clone())),
        Field::bool("reward_learned", w(|w| w.learned)),
        Field::int("reward_horizon_ms", w(|w| w.horizon_ms)),
        Field::time("reward_measured_at", |r: &R| {
            r.reward.as_ref().and_then(|w| w.measured_at)
        }),
        Field::float("reward_accuracy_drop_before", w(|w| w.accuracy_drop_before)),
        Field::float("reward_drifted_share_before", w(|w| w.drifted_share_before)),
        Field::float("reward_accuracy_drop_after", |r: &R| {
            r.reward.as_ref().and_then(|w| w.accuracy_drop_after)
        }),
        Field::float("reward_drifted_share_after", |r: &R| {
            r.reward.as_ref().and_then(|w| w.drifted_share_after)
        }),
        Field::float("reward_measured_recovery", |r: &R| {
            r.reward.as_ref().and_then(|w| w.measured_recovery)
        }),
        Field::float("reward_reported_recovery", |r: &R| {
            r.reward.as_ref().and_then(|w| w.reported_recovery)
        }),
        Field::float("reward_reported_cost", |r: &R| {
            r.reward.as_ref().and_then(|w| w.reported_cost)
        }),
        Field::float("reward_measured_weight", w(|w| w.measured_weight)),
        Field::float("reward_reported_weight", w(|w| w.reported_weight)),
        Field::float("reward_benefit_weight", w(|w| w.benefit_weight)),
        Field::float("reward_cost_weight", w(|w| w.cost_weight)),
        Field::float("reward_recovery", w(|w| w.recovery)),
        Field::float("reward", w(|w| w.reward)),
    ]
}

/// The columns of a drift export, one row per drift event.
pub fn drift_layout() -> Layout<DriftEvent> {
    type E = DriftEvent;
    Layout::new(vec![
        Field::text("event_id", |e: &E| e.event_id.clone()),
        Field::text("model_id", |e: &E| e.model_id.clone()),
        Field::text("feature", |e: &E| e.feature.clone()),
        Field::text("kind", |e: &E| e.kind.clone()),
        Field::text("status", |e: &E| e.status.clone()),
        Field::time("event_time", |e: &E| e.event_time),
        Field::text("test", |e: &E| e.test.as_str().to_string()),
        Field::float("statistic", |e: &E| e.statistic),
        Field::float("p_value", |e: &E| e.p_value),
        Field::float("adjusted_p_value", |e: &E| e.adjusted_p_value),
        Field::float("alpha", |e: &E| e.alpha),
        Field::text("correction", |e: &E| e.correction.clone()),
        Field::float("effect_size", |e: &E| e.effect_size),
        Field::float("min_effect", |e: &E| e.min_effect),
        Field::int("reference_size", |e: &E| e.reference_size),
        Field::time("reference_start_time", |e: &E| e.reference_start_time),
        Field::time("reference_end_time", |e: &E| e.reference_end_time),
        Field::int("window_size", |e: &E| e.window_size),
        Field::int("window_start_record", |e: &E| e.window_start_record),
        Field::int("window_end_record", |e: &E| e.window_end_record),
        Field::time("window_start_time", |e: &E| e.window_start_time),
        Field::time("window_end_time", |e: &E| e.window_end_time),
        Field::int("late_records", |e: &E| e.late_records),
    ])
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
