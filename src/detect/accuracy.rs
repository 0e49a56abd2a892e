//! Concept drift: the accuracy of joined predictions against the accuracy
//! of the model's first joined predictions.
//!
//! Guarantees: the baseline is the first `reference-size` outcomes and never
//! changes afterwards; the window holds the last `window-size` outcomes
//! after it; [`AccuracyState::check`] answers only when both are full, and
//! reports drift exactly when the baseline accuracy minus the window
//! accuracy is at least `accuracy-drop`. The p-value (one-sided pooled
//! two-proportion z-test) is evidence for the audit trail, not the rule.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::anomaly::two_sided_p;
use crate::config::LabelsConfig;

/// A concept-drift check.
#[derive(Debug, Clone, PartialEq)]
pub struct ConceptTest {
    /// Baseline accuracy.
    pub reference_accuracy: f64,
    /// Window accuracy.
    pub window_accuracy: f64,
    /// `reference_accuracy - window_accuracy`.
    pub drop: f64,
    /// One-sided p-value of "the window is less accurate".
    pub p_value: f64,
    /// Outcomes in the baseline.
    pub reference_size: u64,
    /// Outcomes in the window.
    pub window_size: u64,
    /// `drop >= accuracy-drop`.
    pub drifted: bool,
}

/// Whether a prediction's class matched its label.
pub fn is_hit(predicted_class: Option<&str>, score: f64, label: &str) -> Option<bool> {
    let label = label.trim();
    match predicted_class {
        Some(c) => Some(c.trim() == label),
        // A binary classifier that reports only its score: the class is
        // `score >= 0.5`, labels `1`/`0` (or `true`/`false`).
        None => match label.to_ascii_lowercase().as_str() {
            "1" | "1.0" | "true" => Some(score >= 0.5),
            "0" | "0.0" | "false" => Some(score < 0.5),
            _ => None,
        },
    }
}

/// Absolute error of a numeric prediction (score) against a numeric label.
pub fn abs_error(score: f64, label: &str) -> Option<f64> {
    label
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| (v - score).abs())
}

/// Baseline and window of one model's outcomes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccuracyState {
    reference_n: u64,
    reference_hits: u64,
    window: VecDeque<bool>,
    window_hits: u64,
}

impl AccuracyState {
    /// Adds one outcome.
    pub fn record(&mut self, hit: bool, cfg: &LabelsConfig) {
        if self.reference_n < cfg.reference_size as u64 {
            self.reference_n = self.reference_n.saturating_add(1);
            self.reference_hits = self.reference_hits.saturating_add(u64::from(hit));
            return;
        }
        self.window.push_back(hit);
        self.window_hits = self.window_hits.saturating_add(u64::from(hit));
        while self.window.len() > cfg.window_size {
            if self.window.pop_front() == Some(true) {
                self.window_hits = self.window_hits.saturating_sub(1);
            }
        }
    }

    /// The check, once baseline and window are full.
    pub fn check(&self, cfg: &LabelsConfig) -> Option<ConceptTest> {
        if self.reference_n < cfg.reference_size as u64 || self.window.len() < cfg.window_size {
            return None;
        }
        let (n1, n2) = (self.reference_n as f64, self.window.len() as f64);
        let (p1, p2) = (
            self.reference_hits as f64 / n1,
            self.window_hits as f64 / n2,
        );
        let pooled = (self.reference_hits as f64 + self.window_hits as f64) / (n1 + n2);
        let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
        let p_value = if se > 0.0 {
            let z = (p1 - p2) / se;
            // One-sided upper tail from the two-sided tail.
            if z >= 0.0 {
                two_sided_p(z) / 2.0
            } else {
                1.0 - two_sided_p(z) / 2.0
            }
        } else if p1 > p2 {
            0.0
        } else {
            1.0
        };
        let drop = p1 - p2;
        Some(ConceptTest {
            reference_accuracy: p1,
            window_accuracy: p2,
            drop,
            p_value,
            reference_size: self.reference_n,
            window_size: self.window.len() as u64,
            drifted: drop >= cfg.accuracy_drop,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LabelsConfig {
        LabelsConfig {
            ttl: std::time::Duration::from_secs(60),
            reference_size: 100,
            window_size: 50,
            accuracy_drop: 0.1,
        }
    }

    #[test]
    fn hits_for_classes_scores_and_numbers() {
        assert_eq!(is_hit(Some("cat"), 0.2, "cat"), Some(true));
        assert_eq!(is_hit(Some("cat"), 0.2, "dog"), Some(false));
        assert_eq!(is_hit(None, 0.7, "1"), Some(true));
        assert_eq!(is_hit(None, 0.7, "0"), Some(false));
        assert_eq!(is_hit(None, 0.7, "12.5"), None);
        assert_eq!(abs_error(10.0, "12.5"), Some(2.5));
        assert_eq!(abs_error(10.0, "NaN"), None);
    }

    #[test]
    fn drop_beyond_threshold_is_concept_drift() {
        let c = cfg();
        let mut s = AccuracyState::default();
        for i in 0..100 {
            s.record(i % 10 != 0, &c); // 90 %
        }
        assert_eq!(s.check(&c), None);
        for i in 0..50 {
            s.record(i % 10 < 7, &c); // 70 %
        }
        let t = s.check(&c).ok_or("no check");
        let t = t.as_ref().map_err(|e| *e);
        assert_eq!(t.map(|t| t.drifted), Ok(true));
        assert!(t.is_ok_and(|t| (t.drop - 0.2).abs() < 1e-12 && t.p_value < 0.01));
        for i in 0..50 {
            s.record(i % 10 != 0, &c);
        }
        assert_eq!(s.check(&c).map(|t| t.drifted), Some(false));
    }
}
