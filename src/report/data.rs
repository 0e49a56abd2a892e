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
#[path = "data_tests.rs"]
pub(crate) mod tests;
