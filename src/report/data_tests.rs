//! The report's data against hand-built topics: versions, selection,
//! evaluation history, operator records and spans.

use super::*;
use crate::report::history::tests::evaluation;
use crate::report::history::Transition;
use crate::schema::{AuditOutcome, BanditView, EvaluationRecord, FeatureEvidence, Superseded};

const T0: i64 = 1_717_200_000_000;
const MIN: i64 = 60_000;

pub(crate) fn event(model: &str, feature: &str, minute: i64, status: &str, p: f64) -> DriftEvent {
    DriftEvent {
        event_id: format!("drift-{model}-{feature}-{minute}"),
        model_id: model.into(),
        feature: feature.into(),
        test: TestKind::Ks,
        statistic: 0.1 + minute as f64 / 100.0,
        p_value: p,
        alpha: 0.001,
        reference_size: 500,
        reference_start_time: T0,
        reference_end_time: T0,
        window_size: 250,
        window_start_record: 1,
        window_end_record: 250,
        window_start_time: T0,
        window_end_time: T0 + minute * MIN,
        event_time: T0 + minute * MIN,
        kind: "covariate".into(),
        status: status.into(),
        adjusted_p_value: Some(p * 2.0),
        correction: "benjamini-hochberg".into(),
        late_records: 0,
        effect_size: None,
        min_effect: None,
    }
}

pub(crate) fn decision(model: &str, n: i64, action: &str, by: &str) -> AuditRecord {
    AuditRecord {
        decision_id: format!("dec-{model}-{n}"),
        model_id: model.into(),
        decided_at: T0 + n * 10 * MIN,
        action: action.into(),
        decided_by: by.into(),
        status: if action == "none" {
            AuditStatus::Decided
        } else {
            AuditStatus::Dispatched
        },
        sequence: n,
        evidence: vec![FeatureEvidence {
            feature: "tenure_days".into(),
            test: TestKind::Ks,
            statistic: 0.2 + n as f64 / 50.0,
            p_value: 10f64.powi(-(n as i32) - 2),
            drifted: n > 1,
            drift_event_id: None,
        }],
        bandit: Some(BanditView {
            chosen: "retrain".into(),
            confidence: 0.5 + n as f64 / 20.0,
            threshold: 0.8,
            samples: 200,
            arms: vec![],
            seed: Some(0),
            against: None,
        }),
        ..AuditRecord::default()
    }
}

/// Two models: churn with drift, decisions (one completed), an
/// operator pause; fraud with one event.
pub(crate) fn sample() -> (Vec<DriftEvent>, Vec<AuditRecord>) {
    let events = vec![
        event("churn", "tenure_days", 5, "opened", 1e-9),
        event("churn", "tenure_days", 55, "closed", 0.2),
        event("fraud", "amount", 20, "opened", 1e-5),
    ];
    let d1 = decision("churn", 1, "retrain", "rules");
    let mut d1v2 = d1.clone();
    d1v2.version = 2;
    d1v2.sequence = 9;
    d1v2.status = AuditStatus::Completed;
    d1v2.supersedes = Some(Superseded {
        sequence: 1,
        record_hash: String::new(),
    });
    d1v2.outcome = Some(AuditOutcome {
        command_id: "cmd-1".into(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.3,
        cost: 12.0,
        reward: 0.18,
        reported_at: T0 + 70 * MIN,
    });
    let pause = AuditRecord {
        decision_id: "op-1".into(),
        model_id: "*/p0".into(),
        decided_at: T0 + 30 * MIN,
        decided_by: "human".into(),
        proposed_action: "pause".into(),
        operator_command_id: Some("cmd-op".into()),
        status: AuditStatus::Accepted,
        gate_reason: "operator pause by <alice> & bob".into(),
        action: "none".into(),
        ..AuditRecord::default()
    };
    let audits = vec![
        d1,
        decision("churn", 2, "rollback", "bandit"),
        decision("churn", 3, "none", "escalation"),
        decision("churn", 4, "rollback", "bandit"),
        pause,
        d1v2,
    ];
    (events, audits)
}

#[test]
fn builds_per_model_series_decisions_mix_and_outcomes() {
    let (events, audits) = sample();
    let data = ReportData::build(events, audits, None, T0);
    let names: Vec<&str> = data.models.iter().map(|m| m.model_id.as_str()).collect();
    assert_eq!(names, ["churn", "fraud"]);
    let churn = &data.models[0];
    assert_eq!(churn.series.len(), 1);
    let s = &churn.series[0];
    assert_eq!(
        (s.kind.as_str(), s.feature.as_str()),
        ("covariate", "tenure_days")
    );
    assert_eq!(s.events.len(), 2);
    assert_eq!(s.evaluations.len(), 4);
    // Latest versions only: 4 decisions, d1 completed.
    assert_eq!(churn.decisions.len(), 4);
    assert_eq!(churn.decisions[0].status, "completed");
    assert_eq!(churn.audit_records, 5);
    assert_eq!(
        churn.mix.get(&("rollback".into(), "bandit".into())),
        Some(&2)
    );
    assert_eq!(
        churn.mix.get(&("none".into(), "escalation".into())),
        Some(&1)
    );
    assert_eq!(churn.outcomes.len(), 1);
    assert!((churn.outcomes[0].reward - 0.18).abs() < 1e-12);
    assert_eq!(churn.span, (T0 + 5 * MIN, T0 + 70 * MIN));
    assert_eq!(data.operator.len(), 1);
    assert_eq!(data.operator[0].kind, "pause");
    assert_eq!((data.drift_events, data.audit_records), (3, 6));
}

#[test]
fn one_model_only_and_non_finite_values_dropped() {
    let (mut events, audits) = sample();
    events.push(event("churn", "tenure_days", 60, "opened", f64::NAN));
    let data = ReportData::build(events, audits, Some("fraud"), T0);
    assert_eq!(data.models.len(), 1);
    assert_eq!(data.models[0].model_id, "fraud");
    assert!(data.models[0].decisions.is_empty());
    assert!(data.operator.is_empty());
    let (mut events, audits) = sample();
    events.push(event("churn", "tenure_days", 60, "opened", f64::NAN));
    let data = ReportData::build(events, audits, Some("churn"), T0);
    assert_eq!(data.models[0].series[0].events.len(), 2);
}

/// churn's tenure_days evaluated every minute from minute 1 to 80: flat
/// until minute 40, then drifting (alert open from 42 to 70), plus a
/// metric of fraud.
pub(crate) fn history(selection: &Selection) -> EvaluationHistory {
    let mut records: Vec<EvaluationRecord> = (1..=80)
        .map(|minute| {
            let drifting = (40..70).contains(&minute);
            let open = (42..70).contains(&minute);
            let transition = match minute {
                42 => "opened",
                70 => "closed",
                _ => "none",
            };
            let d = if drifting { 0.3 } else { 0.05 };
            evaluation("churn", "tenure_days", T0, minute, d, open, transition)
        })
        .collect();
    let mut metric = evaluation("fraud", "score_mean", T0, 30, 2.5, false, "none");
    metric.kind = "anomaly".into();
    metric.test = TestKind::ZScore;
    records.push(metric);
    EvaluationHistory::from_records(records, selection)
}

#[test]
fn evaluation_history_joins_the_alerts_series_and_widens_the_span() {
    let (events, audits) = sample();
    let all = Selection::all();
    let data = ReportData::build_with(events, audits, history(&all), &all, T0);
    assert_eq!(data.evaluations, 81);
    let churn = &data.models[0];
    assert_eq!(churn.series.len(), 1);
    let s = &churn.series[0];
    assert_eq!(
        (s.events.len(), s.evaluations.len(), s.history.len()),
        (2, 4, 80)
    );
    assert_eq!(churn.evaluations, 80);
    // The history starts before the first alert and the first decision.
    assert_eq!(s.history[0].time, T0 + MIN);
    assert!(s.history[0].time < s.events[0].time);
    assert_eq!(churn.span, (T0 + MIN, T0 + 80 * MIN));
    let opened: Vec<i64> = s
        .history
        .iter()
        .filter(|p| p.transition == Transition::Opened)
        .map(|p| p.record)
        .collect();
    assert_eq!(opened, [42]);
    // fraud: its event's alert and its metric's history.
    let fraud = &data.models[1];
    let kinds: Vec<(&str, &str, usize)> = fraud
        .series
        .iter()
        .map(|s| (s.kind.as_str(), s.feature.as_str(), s.history.len()))
        .collect();
    assert_eq!(
        kinds,
        [("anomaly", "score_mean", 1), ("covariate", "amount", 0)]
    );
}

#[test]
fn a_time_range_applies_to_everything_shown() -> Result<(), super::super::select::RangeError> {
    let (events, audits) = sample();
    // Minutes 10 to 45: the history from 10, decisions 1 to 4 are at
    // minutes 10, 20, 30, 40; the events at 5 and 55 and the outcome
    // at 70 are outside, and so is the pause (at 30, but not churn's).
    let sel = Selection::new(Some("churn"), Some(T0 + 10 * MIN), Some(T0 + 45 * MIN))?;
    let data = ReportData::build_with(events, audits, history(&sel), &sel, T0);
    assert_eq!(data.models.len(), 1);
    let churn = &data.models[0];
    assert_eq!(churn.span, (T0 + 10 * MIN, T0 + 45 * MIN));
    let s = &churn.series[0];
    assert!(s.events.is_empty());
    assert_eq!(s.history.len(), 36);
    assert_eq!(s.history.first().map(|p| p.record), Some(10));
    assert_eq!(s.history.last().map(|p| p.record), Some(45));
    assert_eq!(churn.decisions.len(), 4);
    assert!(churn.outcomes.is_empty());
    assert!(data.operator.is_empty());
    // A range that excludes the later decisions drops them and their
    // mix, and the span is the range even where data is sparse.
    let (events, audits) = sample();
    let sel = Selection::new(None, Some(T0), Some(T0 + 15 * MIN))?;
    let data = ReportData::build_with(events, audits, EvaluationHistory::default(), &sel, T0);
    let churn = &data.models[0];
    assert_eq!(churn.decisions.len(), 1);
    assert_eq!(churn.mix.values().sum::<u64>(), 1);
    assert_eq!(churn.span, (T0, T0 + 15 * MIN));
    assert_eq!(churn.series[0].events.len(), 1);
    Ok(())
}
