//! Which drift events a drift export keeps, and their order.
//!
//! Guarantees: pure (no Kafka, no clock); bounds are inclusive and `None`
//! keeps everything; [`by_time`] orders by event time, then model,
//! feature and event id, so an export's order does not depend on how the
//! topic's partitions interleaved.

use std::cmp::Ordering;

use crate::schema::DriftEvent;

/// What a drift export keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftFilter {
    /// Only this model.
    pub model: Option<String>,
    /// Only this kind: `covariate`, `anomaly` or `concept`.
    pub kind: Option<String>,
    /// Only events at or after this event time (ms).
    pub from: Option<i64>,
    /// Only events at or before this event time (ms).
    pub to: Option<i64>,
}

impl DriftFilter {
    /// Whether `e` passes every filter.
    pub fn matches(&self, e: &DriftEvent) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.model, &e.model_id)
            && is(&self.kind, &e.kind)
            && self.from.is_none_or(|t| e.event_time >= t)
            && self.to.is_none_or(|t| e.event_time <= t)
    }
}

/// Event time, then model, feature and event id.
pub fn by_time(a: &DriftEvent, b: &DriftEvent) -> Ordering {
    (a.event_time, &a.model_id, &a.feature, &a.event_id).cmp(&(
        b.event_time,
        &b.model_id,
        &b.feature,
        &b.event_id,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TestKind;

    fn event(id: &str, model: &str, kind: &str, at: i64) -> DriftEvent {
        DriftEvent {
            event_id: id.into(),
            model_id: model.into(),
            feature: "f".into(),
            test: TestKind::Ks,
            statistic: 0.0,
            p_value: 1.0,
            alpha: 0.01,
            reference_size: 0,
            reference_start_time: 0,
            reference_end_time: 0,
            window_size: 0,
            window_start_record: 0,
            window_end_record: 0,
            window_start_time: 0,
            window_end_time: 0,
            event_time: at,
            kind: kind.into(),
            status: "opened".into(),
            adjusted_p_value: None,
            correction: "none".into(),
            late_records: 0,
            effect_size: None,
            min_effect: None,
        }
    }

    #[test]
    fn each_filter_narrows_and_bounds_are_inclusive() {
        let events = [
            event("a", "m1", "covariate", 10),
            event("b", "m2", "anomaly", 20),
            event("c", "m1", "concept", 30),
        ];
        let keep = |f: DriftFilter| -> Vec<&str> {
            events
                .iter()
                .filter(|e| f.matches(e))
                .map(|e| e.event_id.as_str())
                .collect()
        };
        assert_eq!(keep(DriftFilter::default()), ["a", "b", "c"]);
        let model = DriftFilter {
            model: Some("m1".into()),
            ..DriftFilter::default()
        };
        assert_eq!(keep(model), ["a", "c"]);
        let kind = DriftFilter {
            kind: Some("anomaly".into()),
            ..DriftFilter::default()
        };
        assert_eq!(keep(kind), ["b"]);
        let range = DriftFilter {
            from: Some(20),
            to: Some(30),
            ..DriftFilter::default()
        };
        assert_eq!(keep(range), ["b", "c"]);
    }

    #[test]
    fn events_order_by_time_then_model_and_feature() {
        let mut events = [
            event("z", "m2", "covariate", 5),
            event("y", "m1", "covariate", 5),
            event("x", "m1", "covariate", 1),
        ];
        events.sort_by(by_time);
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["x", "y", "z"]);
    }
}
