//! Windowed model metrics scored against a learned baseline (Z-score).
//!
//! Metrics per model: `score_mean` (mean prediction score), `latency_mean`
//! (mean serving latency, when reported), `class_rate:<class>` (share of
//! predictions of each predicted class), and, once labels arrive,
//! `accuracy` (share of joined predictions whose class was right) and
//! `abs_error` (mean absolute error of numeric predictions).
//!
//! Guarantees: each evaluation closes the current window of every metric
//! that saw values and scores it with [`Baseline::observe`] (so a metric is
//! scored only after `min-samples` baseline windows); a class seen before
//! but absent from a window is scored with rate 0; the state serializes
//! exactly (it lives in the model's stored bookkeeping).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::anomaly::{Baseline, MetricWindow, ZScore, ZScoreConfig};

/// Name of the score-mean metric.
pub const SCORE_MEAN: &str = "score_mean";
/// Name of the latency metric.
pub const LATENCY_MEAN: &str = "latency_mean";
/// Name of the accuracy metric.
pub const ACCURACY: &str = "accuracy";
/// Name of the absolute-error metric.
pub const ABS_ERROR: &str = "abs_error";
/// Prefix of the per-class rate metrics.
pub const CLASS_RATE: &str = "class_rate:";

/// One metric scored at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricTest {
    /// Metric name.
    pub metric: String,
    /// Values (predictions or labels) in the window.
    pub window_count: u64,
    /// The Z-score against the baseline.
    pub score: ZScore,
}

/// The metric windows and baselines of one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    windows: BTreeMap<String, MetricWindow>,
    class_counts: BTreeMap<String, u64>,
    class_total: u64,
    baselines: BTreeMap<String, Baseline>,
}

impl ModelMetrics {
    fn add(&mut self, metric: &str, x: f64) {
        match self.windows.get_mut(metric) {
            Some(w) => w.add(x),
            None => {
                let mut w = MetricWindow::default();
                w.add(x);
                self.windows.insert(metric.to_string(), w);
            }
        }
    }

    /// Adds one prediction to the current windows.
    pub fn observe_prediction(&mut self, score: f64, class: Option<&str>, latency_ms: Option<f64>) {
        self.add(SCORE_MEAN, score);
        if let Some(l) = latency_ms {
            self.add(LATENCY_MEAN, l);
        }
        if let Some(c) = class {
            let n = self.class_counts.entry(c.to_string()).or_default();
            *n = n.saturating_add(1);
            self.class_total = self.class_total.saturating_add(1);
        }
    }

    /// Adds one joined prediction's outcome.
    pub fn observe_outcome(&mut self, hit: Option<bool>, abs_error: Option<f64>) {
        if let Some(hit) = hit {
            self.add(ACCURACY, if hit { 1.0 } else { 0.0 });
        }
        if let Some(e) = abs_error {
            self.add(ABS_ERROR, e);
        }
    }

    /// Closes every window that saw values and scores it against (then
    /// teaches) its baseline; results in metric-name order.
    pub fn evaluate(&mut self, cfg: &ZScoreConfig) -> Vec<MetricTest> {
        let mut closed: BTreeMap<String, (f64, u64)> = BTreeMap::new();
        for (name, w) in &mut self.windows {
            if let Some(v) = w.take() {
                closed.insert(name.clone(), v);
            }
        }
        if self.class_total > 0 {
            let known: BTreeSet<String> = self
                .baselines
                .keys()
                .filter_map(|k| k.strip_prefix(CLASS_RATE).map(str::to_string))
                .chain(self.class_counts.keys().cloned())
                .collect();
            for class in known {
                let n = self.class_counts.get(&class).copied().unwrap_or(0);
                let rate = n as f64 / self.class_total as f64;
                closed.insert(format!("{CLASS_RATE}{class}"), (rate, self.class_total));
            }
            self.class_counts.clear();
            self.class_total = 0;
        }
        let mut out = Vec::new();
        for (metric, (value, window_count)) in closed {
            let baseline = self.baselines.entry(metric.clone()).or_default();
            if let Some(score) = baseline.observe(value, cfg) {
                out.push(MetricTest {
                    metric,
                    window_count,
                    score,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_shift_is_anomalous_after_the_baseline_forms() {
        let cfg = ZScoreConfig::default();
        let mut m = ModelMetrics::default();
        let mut flagged = Vec::new();
        for window in 0..30 {
            for i in 0..50 {
                // Score mean wobbles around 0.5; jumps to 0.8 from window 20.
                let base = if window >= 20 { 0.8 } else { 0.5 };
                let wobble = ((window * 50 + i) as f64 * 0.618_033_988_749_895).fract() - 0.5;
                let class = if i % 4 == 0 { "yes" } else { "no" };
                m.observe_prediction(base + 0.1 * wobble, Some(class), None);
            }
            for t in m.evaluate(&cfg) {
                if t.score.anomalous {
                    flagged.push((window, t.metric));
                }
            }
        }
        assert!(
            flagged.iter().all(|(w, m)| *w >= 20 && m == SCORE_MEAN),
            "{flagged:?}"
        );
        assert!(flagged.iter().any(|(w, _)| *w == 20), "{flagged:?}");
        let json = serde_json::to_string(&m).unwrap_or_default();
        let back: ModelMetrics = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, m);
    }

    #[test]
    fn a_vanished_class_scores_zero() {
        let cfg = ZScoreConfig {
            min_samples: 3,
            ..ZScoreConfig::default()
        };
        let mut m = ModelMetrics::default();
        let mut last = Vec::new();
        for window in 0..8 {
            for i in 0..40 {
                let class = if window < 7 && i % 2 == 0 { "a" } else { "b" };
                m.observe_prediction(0.5, Some(class), None);
            }
            last = m.evaluate(&cfg);
        }
        let a = last
            .iter()
            .find(|t| t.metric == "class_rate:a")
            .map(|t| (t.score.value, t.score.anomalous));
        assert_eq!(a, Some((0.0, true)));
    }
}
