//! Covariate drift per feature: a two-sample KS test of the current window
//! against the reference window, run every `evaluate-every` records of a
//! model. D is maintained incrementally ([`FeatureState`]); the p-value is
//! SciPy's `ks_2samp` p-value for that D and the window sizes.
//!
//! Guarantees: only features whose two windows are full are tested; with k
//! features tested at one evaluation, a feature drifts exactly when its
//! p-value is below `alpha / k` (Bonferroni), so `alpha` bounds the chance
//! that a model's evaluation raises any false alarm; results come out in
//! feature-name order, so the same state gives the same output.

use super::categorical::{CategoricalWindow, CategoryEntry};
use super::chisq::chi2_homogeneity;
use super::feature::FeatureState;
use super::ks::{p_value, Alternative, Method};
use super::window::WindowEntry;
use crate::config::DetectConfig;

/// The result of testing one feature at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTest {
    /// Feature name.
    pub feature: String,
    /// Test name (`ks` for numeric, `chi2` for categorical features).
    pub test: &'static str,
    /// The test statistic (KS D, or chi-square).
    pub statistic: f64,
    /// p-value (two-sided for KS).
    pub p_value: f64,
    /// `p_value < threshold`.
    pub drifted: bool,
    /// The level the p-value was compared with: `alpha / k`, k the number of
    /// features tested together.
    pub threshold: f64,
    /// Reference window size.
    pub reference_size: usize,
    /// Event time of the first reference value.
    pub reference_start_time: i64,
    /// Event time of the last reference value.
    pub reference_end_time: i64,
    /// Current window size.
    pub window_size: usize,
    /// Model record index of the first value in the current window.
    pub window_start_record: u64,
    /// Model record index of the last value in the current window.
    pub window_end_record: u64,
    /// Event time of the first value in the current window.
    pub window_start_time: i64,
    /// Event time of the last value in the current window.
    pub window_end_time: i64,
}

/// Runs the KS test over feature windows.
#[derive(Debug, Clone)]
pub struct DriftDetector {
    reference_size: usize,
    window_size: usize,
    evaluate_every: u64,
    alpha: f64,
}

impl DriftDetector {
    /// A detector with the configured window sizes, cadence and alpha.
    pub fn new(cfg: &DetectConfig) -> Self {
        DriftDetector {
            reference_size: cfg.reference_size,
            window_size: cfg.window_size,
            evaluate_every: cfg.evaluate_every.max(1),
            alpha: cfg.ks_alpha,
        }
    }

    /// The significance level.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Empty state for a new feature.
    pub fn new_feature(&self) -> FeatureState {
        FeatureState::new(self.window_size)
    }

    /// State for a feature whose windows were stored.
    pub fn restore_feature(&self, window: super::window::FeatureWindow) -> FeatureState {
        FeatureState::from_window(window, self.window_size)
    }

    /// Adds one value to a feature's windows.
    pub fn push(&self, state: &mut FeatureState, entry: WindowEntry) {
        state.push(entry, self.reference_size, self.window_size);
    }

    /// Whether the model's `records_seen`-th record triggers an evaluation.
    pub fn is_due(&self, records_seen: u64) -> bool {
        records_seen > 0 && records_seen % self.evaluate_every == 0
    }

    /// Tests every ready feature; `windows` must be in feature-name order.
    pub fn evaluate<'a>(
        &self,
        windows: impl IntoIterator<Item = (&'a str, &'a FeatureState)>,
    ) -> Vec<FeatureTest> {
        self.evaluate_all(windows, std::iter::empty())
    }

    /// Tests every ready numeric (KS) and categorical (chi-square) feature,
    /// with one Bonferroni correction across all of them; numeric results
    /// come first, each group in the order given (feature-name order).
    pub fn evaluate_all<'a>(
        &self,
        numeric: impl IntoIterator<Item = (&'a str, &'a FeatureState)>,
        categorical: impl IntoIterator<Item = (&'a str, &'a CategoricalWindow)>,
    ) -> Vec<FeatureTest> {
        let mut tests: Vec<FeatureTest> = numeric
            .into_iter()
            .filter(|(_, s)| s.window().is_ready(self.reference_size, self.window_size))
            .filter_map(|(feature, w)| self.test(feature, w))
            .collect();
        tests.extend(
            categorical
                .into_iter()
                .filter(|(_, w)| w.is_ready(self.reference_size, self.window_size))
                .filter_map(|(feature, w)| self.test_categorical(feature, w)),
        );
        let threshold = self.alpha / tests.len().max(1) as f64;
        for t in &mut tests {
            t.threshold = threshold;
            t.drifted = t.p_value < threshold;
        }
        tests
    }

    fn test_categorical(&self, feature: &str, w: &CategoricalWindow) -> Option<FeatureTest> {
        let result = chi2_homogeneity(&w.reference, w.current_counts())?;
        let (first, last) = (w.current.front()?, w.current.back()?);
        Some(self.result(
            feature,
            "chi2",
            (result.statistic, result.p_value),
            (
                w.reference_len,
                w.reference_start_time,
                w.reference_end_time,
            ),
            w.current.len(),
            ((first.record, first.time), (last.record, last.time)),
        ))
    }

    /// Adds one value to a categorical feature's windows.
    pub fn push_category(&self, window: &mut CategoricalWindow, entry: CategoryEntry) {
        window.push(entry, self.reference_size, self.window_size);
    }

    fn test(&self, feature: &str, state: &FeatureState) -> Option<FeatureTest> {
        let w = state.window();
        let statistic = state.statistic();
        let (p, _) = p_value(
            statistic,
            w.reference.len(),
            w.current.len(),
            Alternative::TwoSided,
            Method::Auto,
        );
        let (first, last) = (w.current.front()?, w.current.back()?);
        Some(self.result(
            feature,
            "ks",
            (statistic, p),
            (
                w.reference.len(),
                w.reference_start_time,
                w.reference_end_time,
            ),
            w.current.len(),
            ((first.record, first.time), (last.record, last.time)),
        ))
    }

    /// A result before the multiple-testing correction sets `drifted`.
    fn result(
        &self,
        feature: &str,
        test: &'static str,
        (statistic, p_value): (f64, f64),
        (reference_size, reference_start_time, reference_end_time): (usize, i64, i64),
        window_size: usize,
        ((start_record, start_time), (end_record, end_time)): ((u64, i64), (u64, i64)),
    ) -> FeatureTest {
        FeatureTest {
            feature: feature.to_string(),
            test,
            statistic,
            p_value,
            drifted: false,
            threshold: self.alpha,
            reference_size,
            reference_start_time,
            reference_end_time,
            window_size,
            window_start_record: start_record,
            window_end_record: end_record,
            window_start_time: start_time,
            window_end_time: end_time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> DriftDetector {
        DriftDetector::new(&DetectConfig {
            reference_size: 200,
            window_size: 100,
            evaluate_every: 50,
            ks_alpha: 0.001,
        })
    }

    fn fill(d: &DriftDetector, values: impl Iterator<Item = f64>) -> FeatureState {
        let mut w = d.new_feature();
        for (i, v) in values.enumerate() {
            let i = i as u64 + 1;
            d.push(
                &mut w,
                WindowEntry {
                    record: i,
                    time: i as i64,
                    value: v,
                },
            );
        }
        w
    }

    // A deterministic, well-spread sequence in [0, 1): the golden-ratio sequence.
    fn spread(n: usize, offset: f64) -> impl Iterator<Item = f64> {
        (0..n).map(move |i| ((i as f64) * 0.618_033_988_749_895).fract() + offset)
    }

    #[test]
    fn same_distribution_does_not_drift() {
        let d = detector();
        let w = fill(&d, spread(300, 0.0));
        let tests = d.evaluate([("x", &w)]);
        assert_eq!(tests.len(), 1);
        assert!(!tests[0].drifted, "{:?}", tests[0]);
        assert!(tests[0].statistic < 0.05);
    }

    #[test]
    fn shifted_window_drifts_with_bounds() {
        let d = detector();
        let w = fill(&d, spread(200, 0.0).chain(spread(100, 0.5)));
        let tests = d.evaluate([("x", &w)]);
        assert_eq!(tests.len(), 1);
        let t = &tests[0];
        assert!(t.drifted);
        let brute = super::super::ks::statistic_brute_force(
            &w.window().reference,
            &w.window().current_values(),
            super::super::ks::Alternative::TwoSided,
        );
        let scipy = super::super::ks::ks_2samp(
            &w.window().reference,
            &w.window().current_values(),
            Alternative::TwoSided,
            Method::Auto,
        );
        assert_eq!(scipy.map(|r| r.p_value), Some(t.p_value));
        assert!(
            (t.statistic - brute).abs() < 1e-12,
            "{} vs {brute}",
            t.statistic
        );
        assert!(t.statistic > 0.45, "{}", t.statistic);
        assert_eq!((t.window_start_record, t.window_end_record), (201, 300));
        assert_eq!((t.reference_start_time, t.reference_end_time), (1, 200));
        assert_eq!((t.window_start_time, t.window_end_time), (201, 300));
    }

    #[test]
    fn categorical_shift_drifts_and_shares_the_correction() {
        let d = detector();
        let mut stable = CategoricalWindow::default();
        let mut shifted = CategoricalWindow::default();
        for i in 1..=300u64 {
            let v = ["a", "b", "c"][(i % 3) as usize];
            let e = CategoryEntry {
                record: i,
                time: i as i64,
                value: v.to_string(),
            };
            d.push_category(&mut stable, e.clone());
            let moved = if i > 200 && i % 2 == 0 {
                "d".to_string()
            } else {
                v.to_string()
            };
            d.push_category(&mut shifted, CategoryEntry { value: moved, ..e });
        }
        let numeric = fill(&d, spread(300, 0.0));
        let tests = d.evaluate_all([("x", &numeric)], [("s", &stable), ("t", &shifted)]);
        let by: Vec<(&str, &str, bool)> = tests
            .iter()
            .map(|t| (t.feature.as_str(), t.test, t.drifted))
            .collect();
        assert_eq!(
            by,
            vec![
                ("x", "ks", false),
                ("s", "chi2", false),
                ("t", "chi2", true)
            ]
        );
        assert!(tests.iter().all(|t| t.threshold == 0.001 / 3.0));
    }

    #[test]
    fn not_ready_features_are_skipped_and_cadence_holds() {
        let d = detector();
        let w = fill(&d, spread(250, 0.0));
        assert!(d.evaluate([("x", &w)]).is_empty());
        assert!(!d.is_due(0));
        assert!(d.is_due(50) && d.is_due(100) && !d.is_due(75));
    }
}
