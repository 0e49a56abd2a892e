//! A feature's (or metric's) evaluation history, folded from the
//! evaluations topic one record at a time into compact points.
//!
//! Guarantees: pure; [`EvaluationHistory::add`] keeps only records the
//! [`Selection`] wants and keeps of each record only what the charts draw
//! (48 bytes a point; the record itself is dropped), so a month of
//! evaluations costs little more than its points; [`EvaluationHistory::into_series`]
//! returns each (model, kind, feature) series in time order with repeats
//! (the same evaluation written twice, as an at-least-once replay does)
//! removed. A point keeps its alert state even when its numbers are not
//! finite; such numbers are never drawn.

use std::collections::BTreeMap;

use super::select::Selection;
use crate::schema::{EvaluationRecord, TestKind};

/// What became of the alert at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transition {
    /// Nothing changed.
    #[default]
    None,
    /// The alert opened.
    Opened,
    /// The alert closed.
    Closed,
}

impl Transition {
    /// `opened`, `closed`, anything else is no change.
    pub fn parse(s: &str) -> Self {
        match s {
            "opened" => Transition::Opened,
            "closed" => Transition::Closed,
            _ => Transition::None,
        }
    }
}

/// One evaluation of a series.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HistoryPoint {
    /// Event time of the evaluation (ms).
    pub time: i64,
    /// The model's record count at the evaluation.
    pub record: i64,
    /// Test statistic (KS D, chi-square, Z-score).
    pub statistic: f64,
    /// p-value.
    pub p_value: f64,
    /// Raw p-value cutoff at this evaluation.
    pub threshold: f64,
    /// The alert is open after it.
    pub alert_open: bool,
    /// Whether it opened or closed the alert.
    pub transition: Transition,
}

/// (model, kind, feature).
type Key = (String, String, String);

/// One series of the history: its test and its points.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesHistory {
    /// Model id.
    pub model_id: String,
    /// `covariate` or `anomaly`.
    pub kind: String,
    /// Feature or metric.
    pub feature: String,
    /// Test.
    pub test: TestKind,
    /// Points in time order, without repeats.
    pub points: Vec<HistoryPoint>,
}

/// Evaluation records folded into series, as they are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluationHistory {
    series: BTreeMap<Key, (TestKind, Vec<HistoryPoint>)>,
    read: u64,
}

impl EvaluationHistory {
    /// The history of `records` that `selection` wants.
    pub fn from_records(
        records: impl IntoIterator<Item = EvaluationRecord>,
        selection: &Selection,
    ) -> Self {
        let mut h = EvaluationHistory::default();
        for r in records {
            h.add(r, selection);
        }
        h
    }

    /// Folds one record in (counted as read; kept if `selection` wants it).
    pub fn add(&mut self, r: EvaluationRecord, selection: &Selection) {
        self.read += 1;
        if !selection.wants(&r.model_id, r.event_time) {
            return;
        }
        let point = HistoryPoint {
            time: r.event_time,
            record: r.record,
            statistic: r.statistic,
            p_value: r.p_value,
            threshold: r.threshold,
            alert_open: r.alert_open,
            transition: Transition::parse(&r.transition),
        };
        self.series
            .entry((r.model_id, r.kind, r.feature))
            .or_insert_with(|| (r.test, Vec::new()))
            .1
            .push(point);
    }

    /// Records folded in, kept or not.
    pub fn read(&self) -> u64 {
        self.read
    }

    /// Points kept.
    pub fn points(&self) -> usize {
        self.series.values().map(|(_, p)| p.len()).sum()
    }

    /// Every series, by (model, kind, feature), its points in time order
    /// (then record) with repeats of one evaluation removed.
    pub fn into_series(self) -> Vec<SeriesHistory> {
        self.series
            .into_iter()
            .map(|((model_id, kind, feature), (test, mut points))| {
                points.sort_by_key(|p| (p.time, p.record));
                points.dedup_by_key(|p| (p.time, p.record));
                points.shrink_to_fit();
                SeriesHistory {
                    model_id,
                    kind,
                    feature,
                    test,
                    points,
                }
            })
            .collect()
    }
}

/// The spans (ms) during which the alert was open, from points in time
/// order: from the evaluation that left it open after a closed one (or the
/// first point, if it was open already) to the one that closed it, or to
/// the last point if it is still open then (`still_open` true).
pub fn alert_spans(points: &[HistoryPoint]) -> Vec<(i64, i64, bool)> {
    let mut spans = Vec::new();
    let mut open: Option<i64> = None;
    let mut last = None;
    for p in points {
        match (open, p.alert_open) {
            (None, true) => open = Some(p.time),
            (Some(start), false) => {
                spans.push((start, p.time, false));
                open = None;
            }
            _ => {}
        }
        last = Some(p.time);
    }
    if let (Some(start), Some(end)) = (open, last) {
        spans.push((start, end, true));
    }
    spans
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A KS evaluation of `feature` of `model` at record `record`, one
    /// record a minute from `t0`.
    pub(crate) fn evaluation(
        model: &str,
        feature: &str,
        t0: i64,
        record: i64,
        statistic: f64,
        alert_open: bool,
        transition: &str,
    ) -> EvaluationRecord {
        EvaluationRecord {
            evaluation_id: format!("eval-{model}-{feature}-{record}"),
            model_id: model.into(),
            model_version: "1".into(),
            kind: "covariate".into(),
            feature: feature.into(),
            test: TestKind::Ks,
            statistic,
            p_value: (-statistic * 40.0).exp(),
            adjusted_p_value: Some((-statistic * 40.0).exp()),
            threshold: 0.001,
            correction: "benjamini-hochberg".into(),
            effect_size: Some(statistic),
            min_effect: 0.0,
            significant: alert_open,
            drifted: alert_open,
            alert_open,
            transition: transition.into(),
            reference_size: 500,
            reference_start_time: t0,
            reference_end_time: t0,
            window_size: 250,
            window_start_record: record - 249,
            window_end_record: record,
            window_start_time: t0,
            window_end_time: t0 + record * 60_000,
            record,
            event_time: t0 + record * 60_000,
        }
    }

    #[test]
    fn folds_selected_records_in_time_order_without_repeats(
    ) -> Result<(), super::super::select::RangeError> {
        let t0 = 1_700_000_000_000;
        let recs = vec![
            evaluation("m", "a", t0, 20, 0.2, false, "none"),
            evaluation("m", "a", t0, 10, 0.1, false, "none"),
            evaluation("m", "a", t0, 20, 0.2, false, "none"),
            evaluation("m", "b", t0, 10, 0.3, true, "opened"),
            evaluation("n", "a", t0, 10, 0.3, false, "none"),
            evaluation("m", "a", t0, 40, 0.4, true, "opened"),
        ];
        let sel = Selection::new(Some("m"), Some(t0 + 10 * 60_000), Some(t0 + 20 * 60_000))?;
        let h = EvaluationHistory::from_records(recs, &sel);
        assert_eq!((h.read(), h.points()), (6, 4));
        let series = h.into_series();
        let keys: Vec<(&str, &str)> = series
            .iter()
            .map(|s| (s.model_id.as_str(), s.feature.as_str()))
            .collect();
        assert_eq!(keys, [("m", "a"), ("m", "b")]);
        let a: Vec<(i64, f64)> = series[0]
            .points
            .iter()
            .map(|p| (p.record, p.statistic))
            .collect();
        assert_eq!(a, [(10, 0.1), (20, 0.2)]);
        assert_eq!(series[1].points[0].transition, Transition::Opened);
        assert!(series[1].points[0].alert_open);
        assert_eq!(std::mem::size_of::<HistoryPoint>(), 48);
        Ok(())
    }

    #[test]
    fn alert_spans_run_from_opening_to_closing() {
        let p = |time: i64, alert_open: bool| HistoryPoint {
            time,
            alert_open,
            ..HistoryPoint::default()
        };
        let points = [
            p(1, false),
            p(2, true),
            p(3, true),
            p(4, false),
            p(5, true),
            p(6, true),
        ];
        assert_eq!(alert_spans(&points), [(2, 4, false), (5, 6, true)]);
        assert_eq!(alert_spans(&[p(1, true), p(2, false)]), [(1, 2, false)]);
        assert!(alert_spans(&[]).is_empty());
    }
}
