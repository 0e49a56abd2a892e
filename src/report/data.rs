//! What the HTML report shows, gathered from the drift-events, audit and
//! evaluations topics: per model, each feature's (or metric's) drift
//! statistic and p-value over event time (its evaluation history when the
//! evaluations topic has it; otherwise the drift events and the evidence
//! of every decision), the decisions, the action mix, the bandit's
//! confidence and the outcomes, all within the selected time range.
//!
//! Guarantees: [`ReportData::build_with`] is pure (records in, data out; the
//! report's time is a parameter) and keeps for each decision the version
//! compaction keeps (its latest), so a compacted and an uncompacted topic
//! give the same report; operator-command records are listed apart, not
//! counted as decisions; non-finite numbers are dropped from the events
//! and decision series; everything shown lies in the [`Selection`]'s range
//! (drift events and evaluations by event time, decisions and operator
//! commands by decision time, outcomes by report time), and a model's
//! common time axis ([`ModelReport::span`]) runs from the range's start
//! (else its earliest datum) to its end (else its latest). [`gather`]
//! reads the three topics to their end; a missing or empty evaluations
//! topic leaves the report as it was without it.

use std::collections::BTreeMap;

use super::history::{EvaluationHistory, HistoryPoint};
use super::select::Selection;
use crate::audit::{latest, read_topic, AuditError, ReadMode};
use crate::config::Config;
use crate::schema::{AuditRecord, AuditStatus, DriftEvent, OutcomeStatus, TestKind};

/// One drift event of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftPoint {
    /// Event time of the evaluation (ms).
    pub time: i64,
    /// Test statistic (KS D, chi-square, Z-score, accuracy drop).
    pub statistic: f64,
    /// p-value.
    pub p_value: f64,
    /// p-value after the correction, for covariate drift.
    pub adjusted_p_value: Option<f64>,
    /// The raw p-value cutoff at that evaluation.
    pub alpha: f64,
    /// `opened` or `closed`.
    pub status: String,
    /// Event id.
    pub event_id: String,
}

/// One decision's test of a feature (from its evidence).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Decision time (ms).
    pub time: i64,
    /// Statistic.
    pub statistic: f64,
    /// p-value.
    pub p_value: f64,
    /// Whether it counted as drift.
    pub drifted: bool,
}

/// A model's feature (or metric): its evaluation history, its alert's
/// events and its evaluations at decisions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DriftSeries {
    /// `covariate`, `anomaly` or `concept`.
    pub kind: String,
    /// Feature or metric.
    pub feature: String,
    /// Test name (`ks`, `chi2`, `zscore`, `accuracy-drop`).
    pub test: String,
    /// Drift events (openings and closings), in time order.
    pub events: Vec<DriftPoint>,
    /// Evaluations at decisions, in time order.
    pub evaluations: Vec<Evaluation>,
    /// Every evaluation from the evaluations topic, in time order (empty
    /// when the topic had none).
    pub history: Vec<HistoryPoint>,
}

/// One decision, at its latest version.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionPoint {
    /// Decision time (ms).
    pub time: i64,
    /// Decision id.
    pub decision_id: String,
    /// Final action (`none` when nothing was done).
    pub action: String,
    /// `rules`, `bandit`, `human` or `escalation`.
    pub decided_by: String,
    /// Lifecycle status.
    pub status: AuditStatus,
    /// Latest version.
    pub version: i32,
    /// Bandit confidence and gate threshold, when it was consulted.
    pub confidence: Option<(f64, f64)>,
    /// The bandit's chosen arm, when it was consulted.
    pub chosen: Option<String>,
}

/// An executor's report on a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomePoint {
    /// When it was reported (ms).
    pub time: i64,
    /// Decision id.
    pub decision_id: String,
    /// Action it answered.
    pub action: String,
    /// How the executor's run ended.
    pub status: OutcomeStatus,
    /// Recovery measured.
    pub recovery: f64,
    /// Cost.
    pub cost: f64,
    /// Reward learned.
    pub reward: f64,
}

/// Everything shown for one model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelReport {
    /// Model id.
    pub model_id: String,
    /// Event-time span of everything shown (ms), for a common time axis.
    pub span: (i64, i64),
    /// Alerts by (kind, feature).
    pub series: Vec<DriftSeries>,
    /// Decisions in time order.
    pub decisions: Vec<DecisionPoint>,
    /// Decisions by (final action, decided by).
    pub mix: BTreeMap<(String, String), u64>,
    /// Completed decisions' outcomes, in time order.
    pub outcomes: Vec<OutcomePoint>,
    /// Decision records on the topic, every version.
    pub audit_records: u64,
    /// Evaluations shown (history points of every series).
    pub evaluations: u64,
}

/// An operator command's audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorRow {
    /// When issued (ms).
    pub time: i64,
    /// Model, or `*/p<partition>` for every model.
    pub model_id: String,
    /// `veto`, `approve`, `pause`, `resume`.
    pub kind: String,
    /// `accepted` or `rejected`.
    pub status: AuditStatus,
    /// What it did, or why it was refused.
    pub reason: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportData {
    /// When the report was made (ms).
    pub generated_at: i64,
    /// Where the data came from (topics and brokers), for the header.
    pub source: String,
    /// Models, by id.
    pub models: Vec<ModelReport>,
    /// Operator commands.
    pub operator: Vec<OperatorRow>,
    /// Drift events read.
    pub drift_events: u64,
    /// Audit records read.
    pub audit_records: u64,
    /// Evaluation records read.
    pub evaluations: u64,
    /// Records that did not decode (every topic).
    pub undecodable: u64,
}

fn is_operator_record(r: &AuditRecord) -> bool {
    r.operator_command_id.is_some()
        && r.decided_by == "human"
        && matches!(r.status, AuditStatus::Accepted | AuditStatus::Rejected)
}

fn kind_of_test(test: TestKind) -> &'static str {
    match test {
        TestKind::ZScore => "anomaly",
        TestKind::AccuracyDrop => "concept",
        TestKind::Ks | TestKind::Chi2 => "covariate",
    }
}

impl ReportData {
    /// The report of `events` and `audits` (every version; any order),
    /// only for `model` if given, over all time, without evaluation
    /// history.
    pub fn build(
        events: Vec<DriftEvent>,
        audits: Vec<AuditRecord>,
        model: Option<&str>,
        generated_at: i64,
    ) -> ReportData {
        let selection = Selection {
            model: model.map(str::to_string),
            ..Selection::all()
        };
        ReportData::build_with(
            events,
            audits,
            EvaluationHistory::default(),
            &selection,
            generated_at,
        )
    }

    /// The report of `events`, `audits` (every version; any order) and the
    /// evaluation `history` (folded with the same `selection`), for what
    /// `selection` wants.
    pub fn build_with(
        events: Vec<DriftEvent>,
        audits: Vec<AuditRecord>,
        history: EvaluationHistory,
        selection: &Selection,
        generated_at: i64,
    ) -> ReportData {
        let mut data = ReportData {
            generated_at,
            drift_events: events.len() as u64,
            audit_records: audits.len() as u64,
            evaluations: history.read(),
            ..ReportData::default()
        };
        let mut models: BTreeMap<String, ModelReport> = BTreeMap::new();
        let mut series: BTreeMap<(String, String, String), DriftSeries> = BTreeMap::new();
        for h in history.into_series() {
            if h.points.is_empty() {
                continue;
            }
            series.insert(
                (h.model_id, h.kind.clone(), h.feature.clone()),
                DriftSeries {
                    kind: h.kind,
                    feature: h.feature,
                    test: h.test.to_string(),
                    history: h.points,
                    ..DriftSeries::default()
                },
            );
        }
        for e in events
            .into_iter()
            .filter(|e| selection.wants(&e.model_id, e.event_time))
        {
            let s = series
                .entry((e.model_id.clone(), e.kind.clone(), e.feature.clone()))
                .or_insert_with(|| DriftSeries {
                    kind: e.kind.clone(),
                    feature: e.feature.clone(),
                    test: e.test.to_string(),
                    ..DriftSeries::default()
                });
            if !(e.statistic.is_finite() && e.p_value.is_finite()) {
                continue;
            }
            if !s.events.iter().any(|p| p.event_id == e.event_id) {
                s.events.push(DriftPoint {
                    time: e.event_time,
                    statistic: e.statistic,
                    p_value: e.p_value,
                    adjusted_p_value: e.adjusted_p_value.filter(|p| p.is_finite()),
                    alpha: e.alpha,
                    status: e.status,
                    event_id: e.event_id,
                });
            }
        }
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let audits: Vec<AuditRecord> = audits
            .into_iter()
            .filter(|r| selection.wants(&r.model_id, r.decided_at))
            .filter(|r| {
                if is_operator_record(r) {
                    return true;
                }
                *counts.entry(r.model_id.clone()).or_default() += 1;
                true
            })
            .collect();
        for r in latest(audits) {
            if is_operator_record(&r) {
                data.operator.push(OperatorRow {
                    time: r.decided_at,
                    model_id: r.model_id,
                    kind: r.proposed_action,
                    status: r.status,
                    reason: r.gate_reason,
                });
                continue;
            }
            for ev in r.evidence.iter().filter(|e| e.test != TestKind::ZScore) {
                if !(ev.statistic.is_finite() && ev.p_value.is_finite()) {
                    continue;
                }
                let kind = kind_of_test(ev.test);
                series
                    .entry((r.model_id.clone(), kind.to_string(), ev.feature.clone()))
                    .or_insert_with(|| DriftSeries {
                        kind: kind.to_string(),
                        feature: ev.feature.clone(),
                        test: ev.test.to_string(),
                        ..DriftSeries::default()
                    })
                    .evaluations
                    .push(Evaluation {
                        time: r.decided_at,
                        statistic: ev.statistic,
                        p_value: ev.p_value,
                        drifted: ev.drifted,
                    });
            }
            let m = models.entry(r.model_id.clone()).or_default();
            *m.mix
                .entry((r.action.clone(), r.decided_by.clone()))
                .or_default() += 1;
            if let Some(o) = r
                .outcome
                .as_ref()
                .filter(|o| selection.contains(o.reported_at))
            {
                m.outcomes.push(OutcomePoint {
                    time: o.reported_at,
                    decision_id: r.decision_id.clone(),
                    action: r.action.clone(),
                    status: o.status,
                    recovery: o.recovery,
                    cost: o.cost,
                    reward: o.reward,
                });
            }
            m.decisions.push(DecisionPoint {
                time: r.decided_at,
                confidence: r
                    .bandit
                    .as_ref()
                    .map(|b| (b.confidence, b.threshold))
                    .filter(|(c, t)| c.is_finite() && t.is_finite()),
                chosen: r.bandit.as_ref().map(|b| b.chosen.clone()),
                decision_id: r.decision_id,
                action: r.action,
                decided_by: r.decided_by,
                status: r.status,
                version: r.version,
            });
        }
        for ((model_id, _, _), s) in series {
            models.entry(model_id).or_default().series.push(s);
        }
        for (model_id, mut m) in models {
            m.model_id = model_id;
            m.audit_records = counts.get(&m.model_id).copied().unwrap_or(0);
            m.decisions.sort_by_key(|d| (d.time, d.decision_id.clone()));
            m.outcomes.sort_by_key(|o| o.time);
            for s in &mut m.series {
                s.events.sort_by_key(|p| p.time);
                s.evaluations.sort_by_key(|p| p.time);
            }
            m.evaluations = m.series.iter().map(|s| s.history.len() as u64).sum();
            m.span = span(&m, selection);
            data.models.push(m);
        }
        data.operator.sort_by_key(|o| o.time);
        data
    }
}

/// The event-time span of `m`: the selection's bounds where it has them,
/// else the earliest and latest time of everything in `m` (0..0 when
/// empty).
fn span(m: &ModelReport, selection: &Selection) -> (i64, i64) {
    let times = m
        .series
        .iter()
        .flat_map(|s| {
            s.events
                .iter()
                .map(|p| p.time)
                .chain(s.evaluations.iter().map(|p| p.time))
                // In time order: the ends are enough.
                .chain(s.history.first().map(|p| p.time))
                .chain(s.history.last().map(|p| p.time))
        })
        .chain(m.decisions.iter().map(|d| d.time))
        .chain(m.outcomes.iter().map(|o| o.time));
    let (lo, hi) = times
        .fold(None, |acc: Option<(i64, i64)>, t| {
            Some(acc.map_or((t, t), |(a, b)| (a.min(t), b.max(t))))
        })
        .unwrap_or((0, 0));
    (selection.from.unwrap_or(lo), selection.to.unwrap_or(hi))
}

/// Reads the drift-events, audit and evaluations topics to their end and
/// builds the report of what `selection` wants. Evaluation records are
/// folded in as they are read, never held; a missing evaluations topic is
/// no history.
pub fn gather(
    cfg: &Config,
    selection: &Selection,
    generated_at: i64,
) -> Result<ReportData, AuditError> {
    let mut events = Vec::new();
    let mut undecodable = read_topic(
        cfg,
        &cfg.topics.drift_events,
        ReadMode::to_end(),
        &mut |e| {
            events.push(e);
            Ok(())
        },
    )?;
    let mut audits = Vec::new();
    undecodable += read_topic(cfg, &cfg.topics.audit, ReadMode::to_end(), &mut |r| {
        audits.push(r);
        Ok(())
    })?;
    let mut history = EvaluationHistory::default();
    let topic = &cfg.topics.evaluations;
    match read_topic(cfg, topic, ReadMode::to_end(), &mut |r| {
        history.add(r, selection);
        Ok(())
    }) {
        Ok(n) => undecodable += n,
        Err(AuditError::NoTopic(_)) => {}
        Err(e) => return Err(e),
    }
    let mut data = ReportData::build_with(events, audits, history, selection, generated_at);
    data.undecodable = undecodable;
    data.source = format!(
        "topics {}, {} and {} at {}",
        cfg.topics.drift_events, cfg.topics.audit, topic, cfg.kafka.bootstrap_servers
    );
    Ok(data)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::history::tests::evaluation;
    use crate::report::history::Transition;
    use crate::schema::{AuditOutcome, BanditView, EvaluationRecord, FeatureEvidence, Superseded};

    const T0: i64 = 1_717_200_000_000;
    const MIN: i64 = 60_000;

    pub(crate) fn event(
        model: &str,
        feature: &str,
        minute: i64,
        status: &str,
        p: f64,
    ) -> DriftEvent {
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
}
