//! Multiple-testing correction across the features tested at one
//! evaluation.
//!
//! Guarantees: outputs are in input order. Bonferroni adjusts each p-value
//! to `min(1, p·m)`; Benjamini–Hochberg adjusts exactly as SciPy's
//! `false_discovery_control(p, method='bh')` (step-up, monotone, capped at
//! 1; checked against golden values). A feature is rejected exactly when its
//! adjusted p-value is `<= alpha`, and also exactly when its raw p-value is
//! `<= threshold`, so the reported cutoff always explains the decisions.
//! Benjamini–Hochberg rejects every feature Bonferroni rejects, tied
//! p-values share one fate, and with one feature both corrections agree.
//!
//! Inputs are sanitized, never refused: a NaN p-value counts as 1.0 (never
//! rejected); p-values outside `[0, 1]` are clamped into it; a NaN `alpha`
//! counts as 0 and any other `alpha` is clamped into `[0, 1]`.

use serde::{Deserialize, Serialize};

/// Which correction to apply across the features of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Correction {
    /// Benjamini–Hochberg: bounds the expected share of false alarms among
    /// the features flagged (false discovery rate).
    #[default]
    BenjaminiHochberg,
    /// Bonferroni: bounds the chance of any false alarm at all
    /// (family-wise error rate); more conservative.
    Bonferroni,
}

impl Correction {
    /// The config and report name: `"benjamini-hochberg"` or `"bonferroni"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Correction::BenjaminiHochberg => "benjamini-hochberg",
            Correction::Bonferroni => "bonferroni",
        }
    }
}

/// The corrected results of one evaluation, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjusted {
    /// Adjusted p-values, in `[0, 1]`.
    pub adjusted: Vec<f64>,
    /// Whether each hypothesis is rejected (`adjusted <= alpha`), i.e. the
    /// feature drifted.
    pub rejected: Vec<bool>,
    /// The raw p-value cutoff applied: `rejected[i] == (p[i] <= threshold)`
    /// for the sanitized p-values. Nominally `alpha / m` (Bonferroni, or
    /// Benjamini–Hochberg rejecting nothing) or `(k / m)·alpha` where `k` is
    /// the number of Benjamini–Hochberg rejections; nudged by at most a
    /// rounding error so the equivalence above holds exactly. `alpha` when
    /// there are no p-values.
    pub threshold: f64,
}

/// Corrects `p_values` for being tested together at level `alpha`.
pub fn adjust(p_values: &[f64], alpha: f64, correction: Correction) -> Adjusted {
    let alpha = if alpha.is_nan() {
        0.0
    } else {
        alpha.clamp(0.0, 1.0)
    };
    let m = p_values.len();
    if m == 0 {
        return Adjusted {
            adjusted: Vec::new(),
            rejected: Vec::new(),
            threshold: alpha,
        };
    }
    let ps: Vec<f64> = p_values.iter().map(|&p| sanitize(p)).collect();
    let mf = m as f64;
    let adjusted = match correction {
        Correction::Bonferroni => ps.iter().map(|&p| (p * mf).min(1.0)).collect(),
        Correction::BenjaminiHochberg => benjamini_hochberg(&ps),
    };
    let rejected: Vec<bool> = adjusted.iter().map(|&a| a <= alpha).collect();
    let k = rejected.iter().filter(|&&r| r).count();
    let nominal = match correction {
        Correction::BenjaminiHochberg if k > 0 => alpha * k as f64 / mf,
        _ => alpha / mf,
    };
    let threshold = consistent_cutoff(nominal, &ps, &rejected);
    Adjusted {
        adjusted,
        rejected,
        threshold,
    }
}

/// NaN counts as 1.0; everything else is clamped into `[0, 1]` (and -0.0
/// becomes 0.0).
fn sanitize(p: f64) -> f64 {
    if p.is_nan() {
        1.0
    } else {
        p.clamp(0.0, 1.0) + 0.0
    }
}

/// SciPy's algorithm: sort ascending, multiply the i-th (1-based) by `m / i`,
/// take the running minimum from the largest down, cap at 1, unsort.
fn benjamini_hochberg(ps: &[f64]) -> Vec<f64> {
    let m = ps.len();
    let mf = m as f64;
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| ps[a].total_cmp(&ps[b]));
    let mut out = vec![0.0; m];
    let mut running = f64::INFINITY;
    for (rank, &i) in order.iter().enumerate().rev() {
        let scaled = ps[i] * (mf / (rank + 1) as f64);
        running = running.min(scaled);
        out[i] = running.min(1.0);
    }
    out
}

/// Moves `nominal` (if rounding put it on the wrong side) into the interval
/// between the largest rejected p-value and just below the smallest
/// non-rejected one. The interval is never empty: rejections are a prefix
/// of the sorted p-values and tied p-values share one fate.
fn consistent_cutoff(nominal: f64, ps: &[f64], rejected: &[bool]) -> f64 {
    let mut t = nominal;
    let max_rejected = ps
        .iter()
        .zip(rejected)
        .filter(|(_, &r)| r)
        .map(|(&p, _)| p)
        .fold(f64::NEG_INFINITY, f64::max);
    let min_kept = ps
        .iter()
        .zip(rejected)
        .filter(|(_, &r)| !r)
        .map(|(&p, _)| p)
        .fold(f64::INFINITY, f64::min);
    if t < max_rejected {
        t = max_rejected;
    }
    if t >= min_kept {
        t = next_below(min_kept);
    }
    t
}

/// The largest f64 strictly below `x`, for `x` in `(0, 1]`.
fn next_below(x: f64) -> f64 {
    if x > 0.0 {
        f64::from_bits(x.to_bits() - 1)
    } else {
        -f64::MIN_POSITIVE
    }
}

#[cfg(test)]
#[path = "multiple_tests.rs"]
mod tests;
