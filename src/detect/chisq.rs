//! Chi-square test of homogeneity for a categorical feature: the current
//! window's category counts against the reference window's.
//!
//! Guarantees: the statistic, degrees of freedom and p-value equal SciPy's
//! `chi2_contingency` on the 2 x k table (reference row, current row) with
//! its default Yates continuity correction when there is one degree of
//! freedom (checked against golden values); categories absent from both
//! rows are dropped; a category seen only in the current window (unseen in
//! the reference) is a column like any other, so new categories raise the
//! statistic instead of being ignored. Returns `None` when the test is
//! undefined (fewer than two categories, or an empty row).

use std::collections::BTreeMap;

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Result of one chi-square test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquareResult {
    /// The chi-square statistic.
    pub statistic: f64,
    /// Degrees of freedom (categories − 1).
    pub dof: usize,
    /// Upper-tail p-value.
    pub p_value: f64,
}

/// Tests whether `current` counts follow the same category distribution as
/// `reference` counts.
pub fn chi2_homogeneity(
    reference: &BTreeMap<String, u64>,
    current: &BTreeMap<String, u64>,
) -> Option<ChiSquareResult> {
    let mut columns: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (k, v) in reference {
        columns.entry(k).or_default().0 += *v as f64;
    }
    for (k, v) in current {
        columns.entry(k).or_default().1 += *v as f64;
    }
    columns.retain(|_, (r, c)| *r + *c > 0.0);
    let rows: Vec<(f64, f64)> = columns.into_values().collect();
    chi2_table(&rows)
}

/// The test on columns of (reference count, current count).
pub fn chi2_table(columns: &[(f64, f64)]) -> Option<ChiSquareResult> {
    if columns.len() < 2 {
        return None;
    }
    let n_ref: f64 = columns.iter().map(|c| c.0).sum();
    let n_cur: f64 = columns.iter().map(|c| c.1).sum();
    let total = n_ref + n_cur;
    if n_ref <= 0.0 || n_cur <= 0.0 {
        return None;
    }
    let dof = columns.len() - 1;
    let mut statistic = 0.0;
    for (r, c) in columns {
        let col = r + c;
        for (observed, row_total) in [(*r, n_ref), (*c, n_cur)] {
            let expected = row_total * col / total;
            let observed = if dof == 1 {
                // SciPy's Yates correction: move observed towards expected by
                // at most 0.5.
                let diff = expected - observed;
                observed + diff.signum() * diff.abs().min(0.5)
            } else {
                observed
            };
            statistic += (observed - expected).powi(2) / expected;
        }
    }
    let p_value = ChiSquared::new(dof as f64).ok()?.sf(statistic);
    Some(ChiSquareResult {
        statistic,
        dof,
        p_value,
    })
}

#[cfg(test)]
#[path = "chisq_golden.rs"]
mod golden;

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(v: &[u64]) -> BTreeMap<String, u64> {
        v.iter()
            .enumerate()
            .map(|(i, c)| (format!("cat{i}"), *c))
            .collect()
    }

    #[test]
    fn matches_scipy_chi2_contingency() {
        let mut worst: f64 = 0.0;
        for (r, c, stat, dof, p) in golden::CASES {
            let got = chi2_homogeneity(&counts(r), &counts(c));
            let Some(got) = got else {
                panic!("no result for {r:?} {c:?}");
            };
            assert_eq!(got.dof, *dof, "{r:?} {c:?}");
            assert!(
                (got.statistic - stat).abs() <= 1e-9 * stat.max(1.0),
                "{r:?} {c:?}: {} vs {stat}",
                got.statistic
            );
            worst = worst.max((got.p_value - p).abs());
            assert!(
                (got.p_value - p).abs() <= 1e-9,
                "{r:?} {c:?}: {} vs {p}",
                got.p_value
            );
        }
        assert!(golden::CASES.len() >= 40, "golden set too small");
        assert!(worst < 1e-9);
    }

    #[test]
    fn unseen_categories_count_and_undefined_cases_are_none() {
        let reference = counts(&[50, 50]);
        let mut current = counts(&[50, 50]);
        assert!(chi2_homogeneity(&reference, &current).is_some_and(|r| r.p_value > 0.99));
        current.insert("brand-new".into(), 40);
        let r = chi2_homogeneity(&reference, &current);
        assert!(r.is_some_and(|r| r.dof == 2 && r.p_value < 1e-6), "{r:?}");
        assert!(chi2_homogeneity(&counts(&[5]), &counts(&[7])).is_none());
        assert!(chi2_homogeneity(&counts(&[0, 0]), &counts(&[3, 4])).is_none());
        assert!(chi2_homogeneity(&BTreeMap::new(), &counts(&[3, 4])).is_none());
    }
}
