//! The drift events detection and the label join publish, and the alert
//! bookkeeping behind them.
//!
//! Guarantees: every event of one kind, and every evaluation record, is
//! built in one place, from the test result and the evaluation that
//! produced it; an alert remembers the
//! id of the event that opened it while it is open, and no id once closed.

use crate::detect::accuracy::ConceptTest;
use crate::detect::anomaly::{two_sided_p, ZScoreConfig};
use crate::detect::hysteresis::Transition;
use crate::detect::metrics::MetricTest;
use crate::detect::FeatureTest;
use crate::schema::{DriftEvent, EvaluationRecord, TestKind};
use crate::stage::Evaluation;
use crate::state::Alert;

pub(crate) fn status(t: Transition) -> &'static str {
    match t {
        Transition::Opened => "opened",
        Transition::Closed => "closed",
    }
}

pub(crate) fn track_alert(alert: &mut Alert, t: Transition, id: &str) {
    alert.opened_by = match t {
        Transition::Opened => Some(id.to_string()),
        Transition::Closed => None,
    };
}

/// The open concept-drift alert as decision evidence.
pub(crate) fn concept_evidence(alert: &Alert) -> FeatureTest {
    FeatureTest {
        feature: "accuracy".into(),
        test: TestKind::AccuracyDrop,
        statistic: 0.0,
        p_value: 0.0,
        adjusted_p_value: 0.0,
        drifted: alert.state.is_open(),
        significant: alert.state.is_open(),
        effect_size: None,
        min_effect: 0.0,
        threshold: 0.0,
        reference_size: 0,
        reference_start_time: 0,
        reference_end_time: 0,
        window_size: 0,
        window_start_record: 0,
        window_end_record: 0,
        window_start_time: 0,
        window_end_time: 0,
    }
}

fn long(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn drift_event(
    id: &str,
    model_id: &str,
    t: &FeatureTest,
    event_time: i64,
) -> DriftEvent {
    DriftEvent {
        event_id: id.to_string(),
        model_id: model_id.to_string(),
        feature: t.feature.clone(),
        test: t.test,
        statistic: t.statistic,
        p_value: t.p_value,
        alpha: t.threshold,
        reference_size: long(t.reference_size as u64),
        reference_start_time: t.reference_start_time,
        reference_end_time: t.reference_end_time,
        window_size: long(t.window_size as u64),
        window_start_record: long(t.window_start_record),
        window_end_record: long(t.window_end_record),
        window_start_time: t.window_start_time,
        window_end_time: t.window_end_time,
        event_time,
        kind: "covariate".into(),
        status: "opened".into(),
        adjusted_p_value: Some(t.adjusted_p_value),
        correction: "none".into(),
        late_records: 0,
        effect_size: t.effect_size,
        min_effect: Some(t.min_effect),
    }
}

pub(crate) fn anomaly_event(
    id: &str,
    at: &Evaluation<'_>,
    m: &MetricTest,
    cfg: &ZScoreConfig,
    status: &str,
    late_records: i64,
) -> DriftEvent {
    DriftEvent {
        event_id: id.to_string(),
        model_id: at.model_id.to_string(),
        feature: m.metric.clone(),
        test: TestKind::ZScore,
        statistic: m.score.z,
        p_value: two_sided_p(m.score.z),
        alpha: two_sided_p(cfg.threshold),
        reference_size: long(m.score.samples),
        reference_start_time: 0,
        reference_end_time: 0,
        window_size: long(m.window_count),
        window_start_record: long((at.record + 1).saturating_sub(m.window_count)),
        window_end_record: long(at.record),
        window_start_time: at.event_time,
        window_end_time: at.event_time,
        event_time: at.event_time,
        kind: "anomaly".into(),
        status: status.into(),
        adjusted_p_value: None,
        correction: "none".into(),
        late_records,
        effect_size: Some(m.score.z.abs()),
        min_effect: None,
    }
}

/// A concept-drift alert opened or closed at a label join.
pub(crate) fn concept_event(
    id: &str,
    model_id: &str,
    test: &ConceptTest,
    accuracy_drop: f64,
    event_time: i64,
    status: &str,
    late_records: i64,
) -> DriftEvent {
    DriftEvent {
        event_id: id.to_string(),
        model_id: model_id.to_string(),
        feature: "accuracy".into(),
        test: TestKind::AccuracyDrop,
        statistic: test.drop,
        p_value: test.p_value,
        alpha: accuracy_drop,
        reference_size: long(test.reference_size),
        reference_start_time: 0,
        reference_end_time: 0,
        window_size: long(test.window_size),
        window_start_record: 0,
        window_end_record: 0,
        window_start_time: event_time,
        window_end_time: event_time,
        event_time,
        kind: "concept".into(),
        status: status.into(),
        adjusted_p_value: None,
        correction: "none".into(),
        late_records,
        effect_size: None,
        min_effect: None,
    }
}

/// What became of a test's alert at one evaluation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AlertAfter {
    /// The alert is open after the evaluation.
    pub open: bool,
    /// It opened or closed at it.
    pub transition: Option<Transition>,
}

impl AlertAfter {
    fn transition(self) -> String {
        self.transition.map_or("none", status).into()
    }
}

/// The evaluation record of a feature's test.
pub(crate) fn feature_evaluation(
    at: &Evaluation<'_>,
    t: &FeatureTest,
    correction: &str,
    alert: AlertAfter,
) -> EvaluationRecord {
    let key = crate::state::AlertKey::Feature(t.feature.clone()).to_string();
    EvaluationRecord {
        evaluation_id: crate::ids::evaluation_id(at.model_id, &key, at.pos.as_ref()),
        model_id: at.model_id.to_string(),
        model_version: at.model_version.to_string(),
        kind: "covariate".into(),
        feature: t.feature.clone(),
        test: t.test,
        statistic: t.statistic,
        p_value: t.p_value,
        adjusted_p_value: Some(t.adjusted_p_value),
        threshold: t.threshold,
        correction: correction.into(),
        effect_size: t.effect_size,
        min_effect: t.min_effect,
        significant: t.significant,
        drifted: t.drifted,
        alert_open: alert.open,
        transition: alert.transition(),
        reference_size: long(t.reference_size as u64),
        reference_start_time: t.reference_start_time,
        reference_end_time: t.reference_end_time,
        window_size: long(t.window_size as u64),
        window_start_record: long(t.window_start_record),
        window_end_record: long(t.window_end_record),
        window_start_time: t.window_start_time,
        window_end_time: t.window_end_time,
        record: long(at.record),
        event_time: at.event_time,
    }
}

/// The evaluation record of a metric's Z-score.
pub(crate) fn metric_evaluation(
    at: &Evaluation<'_>,
    m: &MetricTest,
    cfg: &ZScoreConfig,
    alert: AlertAfter,
) -> EvaluationRecord {
    let key = crate::state::AlertKey::Anomaly(m.metric.clone()).to_string();
    EvaluationRecord {
        evaluation_id: crate::ids::evaluation_id(at.model_id, &key, at.pos.as_ref()),
        model_id: at.model_id.to_string(),
        model_version: at.model_version.to_string(),
        kind: "anomaly".into(),
        feature: m.metric.clone(),
        test: TestKind::ZScore,
        statistic: m.score.z,
        p_value: two_sided_p(m.score.z),
        adjusted_p_value: None,
        threshold: two_sided_p(cfg.threshold),
        correction: "none".into(),
        effect_size: Some(m.score.z.abs()),
        min_effect: 0.0,
        significant: m.score.anomalous,
        drifted: m.score.anomalous,
        alert_open: alert.open,
        transition: alert.transition(),
        reference_size: long(m.score.samples),
        reference_start_time: 0,
        reference_end_time: 0,
        window_size: long(m.window_count),
        window_start_record: long((at.record + 1).saturating_sub(m.window_count)),
        window_end_record: long(at.record),
        window_start_time: at.event_time,
        window_end_time: at.event_time,
        record: long(at.record),
        event_time: at.event_time,
    }
}
