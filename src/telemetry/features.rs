//! Per-feature gauges: the latest statistic and p-value of every tested
//! feature (`covariate`: KS, chi-square) and scored metric (`anomaly`:
//! Z-score) of every model this instance evaluates, under a cap on the
//! number of series.
//!
//! Guarantees:
//! - a series is one (model, kind, feature, test) and holds the values of
//!   its latest evaluation, set once the batch that made it is
//!   acknowledged;
//! - at most `limit` series have their own labels, admitted first come; a
//!   series seen when the cap is full is refused for as long as this
//!   instance keeps it, and counted once in `dropped_total` when refused;
//!   a refused series is not promoted when places free up;
//! - the refused series of one (kind, test) are shown as one aggregated
//!   series labelled `model="_other", feature="_other"`: the latest values
//!   of the refused series whose latest p-value is smallest (a NaN p-value
//!   counts as the largest; ties go to the larger |statistic|, then to the
//!   first model and feature by name), i.e. the most significant result
//!   hidden behind the cap;
//! - when an input partition is revoked, the series last evaluated from it
//!   (own and refused) are removed, freeing their places: the model's next
//!   owner reports them. A refused series that comes back and is refused
//!   again is counted again.
//!
//! Updates take one lock per batch; a series costs allocations only when
//! it first appears.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::config::DEFAULT_FEATURE_SERIES_LIMIT;
use crate::schema::TestKind;

/// The `model` and `feature` label of the aggregated series.
pub const OTHER: &str = "_other";

/// One evaluation's values for a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latest<'a> {
    /// Input partition of the record that triggered the evaluation.
    pub partition: i32,
    /// Model.
    pub model: &'a str,
    /// `covariate` or `anomaly`.
    pub kind: &'a str,
    /// Feature or metric.
    pub feature: &'a str,
    /// Test.
    pub test: TestKind,
    /// Test statistic (a Z-score may be infinite).
    pub statistic: f64,
    /// p-value.
    pub p_value: f64,
}

/// A series' labels and latest values, as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesValue {
    /// Model (`_other` for an aggregated series).
    pub model: String,
    /// `covariate` or `anomaly`.
    pub kind: String,
    /// Feature or metric (`_other` for an aggregated series).
    pub feature: String,
    /// Test.
    pub test: TestKind,
    /// Latest statistic.
    pub statistic: f64,
    /// Latest p-value.
    pub p_value: f64,
}

/// What a scrape exports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Series with their own labels, by model, feature, kind and test.
    pub series: Vec<SeriesValue>,
    /// One aggregated series per (kind, test) with refused series.
    pub aggregated: Vec<SeriesValue>,
    /// Series refused since start.
    pub dropped_total: u64,
}

/// The gauges of one pipeline instance.
#[derive(Debug)]
pub struct FeatureGauges {
    table: Mutex<Table>,
}

impl Default for FeatureGauges {
    fn default() -> Self {
        FeatureGauges::new(DEFAULT_FEATURE_SERIES_LIMIT)
    }
}

#[derive(Debug, Default)]
struct Table {
    limit: usize,
    /// Series with their own labels.
    admitted: usize,
    dropped_total: u64,
    /// Model → feature → its series (one per kind and test; usually one).
    models: HashMap<String, HashMap<String, Vec<Series>>>,
}

#[derive(Debug, Clone)]
struct Series {
    kind: String,
    test: TestKind,
    partition: i32,
    statistic: f64,
    p_value: f64,
    /// Has its own labels (else it is aggregated).
    own: bool,
}

impl FeatureGauges {
    /// Gauges admitting at most `limit` series.
    pub fn new(limit: usize) -> Self {
        FeatureGauges {
            table: Mutex::new(Table {
                limit,
                ..Table::default()
            }),
        }
    }

    /// Sets the cap for series admitted from now on (series already
    /// admitted keep their place).
    pub fn set_limit(&self, limit: usize) {
        self.lock().limit = limit;
    }

    /// Records the latest values of a batch's evaluations, in order;
    /// returns how many new series were refused.
    pub fn update<'a>(&self, values: impl IntoIterator<Item = Latest<'a>>) -> u64 {
        let mut table = self.lock();
        let before = table.dropped_total;
        for v in values {
            table.set(&v);
        }
        table.dropped_total - before
    }

    /// Removes the series last evaluated from input `partition`; returns
    /// how many (own and refused).
    pub fn forget_partition(&self, partition: i32) -> usize {
        let mut table = self.lock();
        let mut removed = 0;
        let mut freed = 0;
        for features in table.models.values_mut() {
            for list in features.values_mut() {
                list.retain(|s| {
                    let keep = s.partition != partition;
                    if !keep {
                        removed += 1;
                        freed += usize::from(s.own);
                    }
                    keep
                });
            }
            features.retain(|_, list| !list.is_empty());
        }
        table.models.retain(|_, features| !features.is_empty());
        table.admitted = table.admitted.saturating_sub(freed);
        removed
    }

    /// Series refused since start.
    pub fn dropped_total(&self) -> u64 {
        self.lock().dropped_total
    }

    /// The series to export, sorted.
    pub fn snapshot(&self) -> Snapshot {
        let mut series = Vec::new();
        // Per (kind, test): the most significant refused series.
        let mut worst: Vec<Ranked<'_>> = Vec::new();
        let table = self.lock();
        for (model, features) in &table.models {
            for (feature, list) in features {
                for s in list {
                    if s.own {
                        series.push(s.value(model, feature));
                        continue;
                    }
                    let r = Ranked { model, feature, s };
                    match worst
                        .iter_mut()
                        .find(|w| w.s.kind == s.kind && w.s.test == s.test)
                    {
                        Some(w) if r.before(w) => *w = r,
                        Some(_) => {}
                        None => worst.push(r),
                    }
                }
            }
        }
        let mut aggregated: Vec<SeriesValue> =
            worst.iter().map(|w| w.s.value(OTHER, OTHER)).collect();
        let dropped_total = table.dropped_total;
        drop(table);
        series.sort_by(|a, b| labels(a).cmp(&labels(b)));
        aggregated.sort_by(|a, b| labels(a).cmp(&labels(b)));
        Snapshot {
            series,
            aggregated,
            dropped_total,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Table {
    fn set(&mut self, v: &Latest<'_>) {
        if !self.models.contains_key(v.model) {
            self.models.insert(v.model.to_string(), HashMap::new());
        }
        let Some(features) = self.models.get_mut(v.model) else {
            return;
        };
        if !features.contains_key(v.feature) {
            features.insert(v.feature.to_string(), Vec::new());
        }
        let Some(list) = features.get_mut(v.feature) else {
            return;
        };
        if let Some(s) = list
            .iter_mut()
            .find(|s| s.test == v.test && s.kind == v.kind)
        {
            s.statistic = v.statistic;
            s.p_value = v.p_value;
            s.partition = v.partition;
            return;
        }
        let own = self.admitted < self.limit;
        if own {
            self.admitted += 1;
        } else {
            self.dropped_total += 1;
        }
        list.push(Series {
            kind: v.kind.to_string(),
            test: v.test,
            partition: v.partition,
            statistic: v.statistic,
            p_value: v.p_value,
            own,
        });
    }
}

impl Series {
    fn value(&self, model: &str, feature: &str) -> SeriesValue {
        SeriesValue {
            model: model.to_string(),
            kind: self.kind.clone(),
            feature: feature.to_string(),
            test: self.test,
            statistic: self.statistic,
            p_value: self.p_value,
        }
    }
}

/// The sort key of an exported series.
fn labels(v: &SeriesValue) -> (&str, &str, &str, &str) {
    (&v.model, &v.feature, &v.kind, v.test.as_str())
}

/// A refused series with its labels, ranked by significance.
struct Ranked<'a> {
    model: &'a str,
    feature: &'a str,
    s: &'a Series,
}

impl Ranked<'_> {
    /// More significant than `other`: a smaller p-value (NaN counts as
    /// the largest), then a larger |statistic| (NaN as the smallest), then
    /// the first model and feature by name, so the choice does not depend
    /// on the table's order.
    fn before(&self, other: &Ranked<'_>) -> bool {
        let p = |s: &Series| {
            if s.p_value.is_nan() {
                f64::INFINITY
            } else {
                s.p_value
            }
        };
        let size = |s: &Series| {
            let a = s.statistic.abs();
            if a.is_nan() {
                -1.0
            } else {
                a
            }
        };
        p(self.s)
            .total_cmp(&p(other.s))
            .then(size(other.s).total_cmp(&size(self.s)))
            .then((self.model, self.feature).cmp(&(other.model, other.feature)))
            .is_lt()
    }
}

#[cfg(test)]
#[path = "features_tests.rs"]
mod tests;
