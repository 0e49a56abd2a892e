//! Covariate drift per feature: a two-sample KS test (numeric features) or a
//! chi-square homogeneity test (categorical features) of the current window
//! against the reference, at every evaluation of a model: every
//! `evaluate-every` records for count windows, at every slide boundary the
//! watermark passes for time windows. D is maintained incrementally
//! ([`FeatureState`]); the p-value is SciPy's `ks_2samp` p-value for that D
//! and the window sizes.
//!
//! Guarantees: only features whose two samples are ready are tested; the
//! features tested at one evaluation share one multiple-testing correction
//! (Benjamini–Hochberg by default, or Bonferroni), so `alpha` bounds the false
//! discovery (or family-wise error) rate of a model's evaluation rather than
//! of each feature; results come out numeric first, each group in
//! feature-name order, so the same state gives the same output.
//!
//! The effect-size gate of a feature is `detect.min-effect` of its test,
//! or with `effect-threshold = "reference"` the larger of that and the
//! threshold learned from the feature's reference ([`super::null`]); the
//! gate applied is in the result's `min_effect`.

use super::categorical::CategoricalWindow;
use super::chisq::chi2_homogeneity;
use super::effect::jensen_shannon;
use super::feature::FeatureState;
use super::ks::{p_value, Alternative, Method};
use super::multiple::{adjust, Correction};
use super::null::NullPlan;
use super::window::{Entry, ReferenceKind, WindowKind, WindowPlan, Windows};
use crate::config::{DetectConfig, EffectThreshold, MinEffect, ReferenceMode, WindowKindName};
use crate::schema::TestKind;

/// The result of testing one feature at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTest {
    /// Feature name.
    pub feature: String,
    /// The test (`ks` for numeric, `chi2` for categorical features).
    pub test: TestKind,
    /// The test statistic (KS D, or chi-square).
    pub statistic: f64,
    /// p-value (two-sided for KS).
    pub p_value: f64,
    /// p-value after the multiple-testing correction.
    pub adjusted_p_value: f64,
    /// The correction rejected this feature's null hypothesis (its windows
    /// differ) and the effect size passed the gate at this evaluation; see
    /// the alert for persistence.
    pub drifted: bool,
    /// The correction rejected the null hypothesis (significance alone).
    pub significant: bool,
    /// Effect size: for `ks` the Wasserstein-1 distance in reference
    /// standard deviations, for `chi2` the Jensen–Shannon distance; `None`
    /// where the test has none.
    pub effect_size: Option<f64>,
    /// The effect-size gate applied: `detect.min-effect` of the test (0:
    /// off), or with `effect-threshold = "reference"` the larger of that
    /// and the threshold learned from the feature's reference.
    pub min_effect: f64,
    /// The raw p-value cutoff the correction applied at this evaluation.
    pub threshold: f64,
    /// Reference sample size.
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

/// When a model's features are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Not now.
    No,
    /// Now (count windows).
    Now,
    /// Now, after moving every time window's end to this time (ms).
    AtWindowEnd(i64),
}

/// Runs the tests over a model's feature windows.
#[derive(Debug, Clone)]
pub struct DriftDetector {
    plan: WindowPlan,
    evaluate_every: u64,
    lateness_ms: i64,
    alpha: f64,
    correction: Correction,
    min_effect: MinEffect,
    /// How thresholds are learned from the reference (`reference` mode).
    null: Option<NullPlan>,
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl DriftDetector {
    /// A detector for the configuration; `reference_range` is the reference
    /// time range in ms (needed for `reference-mode = "time-range"`).
    pub fn new(cfg: &DetectConfig, reference_range: Option<(i64, i64)>) -> Self {
        let window = match cfg.window_kind {
            WindowKindName::Count => WindowKind::Count {
                size: cfg.window_size,
            },
            WindowKindName::Time => WindowKind::Time {
                size_ms: millis(cfg.window_duration).max(1),
                slide_ms: millis(cfg.window_slide).max(1),
                min_values: cfg.min_window_size,
            },
        };
        let reference = match (cfg.reference_mode, reference_range) {
            (ReferenceMode::FirstN, _) => ReferenceKind::FirstN(cfg.reference_size),
            (ReferenceMode::Rolling, _) => ReferenceKind::Rolling(cfg.reference_size),
            (ReferenceMode::TimeRange, Some((start, end))) => {
                ReferenceKind::TimeRange { start, end }
            }
            // Validation requires the range; without it nothing is a reference.
            (ReferenceMode::TimeRange, None) => ReferenceKind::TimeRange { start: 0, end: 0 },
            (ReferenceMode::File, _) => ReferenceKind::Preloaded,
            (ReferenceMode::Seasonal, _) => ReferenceKind::Seasonal {
                period_ms: millis(cfg.season.unwrap_or_default()).max(1),
            },
        };
        DriftDetector {
            plan: WindowPlan { window, reference },
            evaluate_every: cfg.evaluate_every.max(1),
            lateness_ms: millis(cfg.allowed_lateness),
            alpha: cfg.ks_alpha,
            correction: cfg.correction,
            min_effect: cfg.min_effect,
            null: (cfg.effect_threshold == EffectThreshold::Reference).then_some(NullPlan {
                chunks: cfg.reference_chunks,
                quantile: cfg.reference_quantile,
            }),
        }
    }

    /// The significance level.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The multiple-testing correction.
    pub fn correction(&self) -> Correction {
        self.correction
    }

    /// The window plan.
    pub fn plan(&self) -> &WindowPlan {
        &self.plan
    }

    /// The watermark for the largest event time seen.
    pub fn watermark(&self, max_event_time: i64) -> i64 {
        max_event_time.saturating_sub(self.lateness_ms)
    }

    /// Whether a model with `records_seen` records, its watermark, and the
    /// end of its last evaluated time window is due for an evaluation.
    pub fn due(&self, records_seen: u64, watermark: i64, last_end: Option<i64>) -> Due {
        match self.plan.window {
            WindowKind::Count { .. } => {
                if records_seen > 0 && records_seen % self.evaluate_every == 0 {
                    Due::Now
                } else {
                    Due::No
                }
            }
            WindowKind::Time { slide_ms, .. } => {
                let end = watermark.div_euclid(slide_ms).saturating_mul(slide_ms);
                if last_end.is_none_or(|last| end > last) {
                    Due::AtWindowEnd(end)
                } else {
                    Due::No
                }
            }
        }
    }

    /// Tests every ready numeric (KS) and categorical (chi-square) feature,
    /// with one correction across all of them.
    pub fn evaluate_all<'a>(
        &self,
        numeric: impl IntoIterator<Item = (&'a str, &'a mut FeatureState)>,
        categorical: impl IntoIterator<Item = (&'a str, &'a mut CategoricalWindow)>,
        watermark: i64,
    ) -> Vec<FeatureTest> {
        let plan = self.plan;
        let mut tests: Vec<FeatureTest> = numeric
            .into_iter()
            .filter(|(_, s)| s.windows().is_ready(&plan, watermark))
            .filter_map(|(feature, s)| self.test(feature, s))
            .collect();
        tests.extend(
            categorical
                .into_iter()
                .filter(|(_, w)| w.windows().is_ready(&plan, watermark))
                .filter_map(|(feature, w)| self.test_categorical(feature, w)),
        );
        let p: Vec<f64> = tests.iter().map(|t| t.p_value).collect();
        let adjusted = adjust(&p, self.alpha, self.correction);
        for (i, t) in tests.iter_mut().enumerate() {
            t.threshold = adjusted.threshold;
            t.adjusted_p_value = adjusted.adjusted.get(i).copied().unwrap_or(1.0);
            t.significant = adjusted.rejected.get(i).copied().unwrap_or(false);
            // A test without an effect size is not gated.
            t.drifted = t.significant && t.effect_size.is_none_or(|e| e >= t.min_effect);
        }
        tests
    }

    /// The gate of a test whose fixed gate is `fixed`, given the learned
    /// threshold (reference mode).
    fn gate(fixed: f64, learned: Option<f64>) -> f64 {
        learned.map_or(fixed, |l| fixed.max(l))
    }

    fn test_categorical(&self, feature: &str, w: &mut CategoricalWindow) -> Option<FeatureTest> {
        let learned = self.null.and_then(|plan| w.learned_threshold(plan));
        let counts = w.counts();
        let result = chi2_homogeneity(&counts.reference, &counts.current)?;
        let mut t = self.result(
            feature,
            TestKind::Chi2,
            (result.statistic, result.p_value),
            w.windows(),
        );
        t.effect_size = jensen_shannon(&counts.reference, &counts.current);
        t.min_effect = Self::gate(self.min_effect.chi2, learned);
        Some(t)
    }

    fn test(&self, feature: &str, state: &mut FeatureState) -> Option<FeatureTest> {
        let learned = self.null.and_then(|plan| state.learned_threshold(plan));
        let comparison = state.compare();
        let statistic = comparison.statistic();
        let w = state.windows();
        let (p, _) = p_value(
            statistic,
            w.reference().len(),
            w.current().len(),
            Alternative::TwoSided,
            Method::Auto,
        );
        let mut t = self.result(feature, TestKind::Ks, (statistic, p), w);
        t.effect_size = comparison.normed_wasserstein();
        t.min_effect = Self::gate(self.min_effect.ks, learned);
        Some(t)
    }

    /// A result before the multiple-testing correction sets `drifted`.
    fn result<V: Clone>(
        &self,
        feature: &str,
        test: TestKind,
        (statistic, p_value): (f64, f64),
        w: &Windows<V>,
    ) -> FeatureTest {
        let span = |side: &std::collections::VecDeque<Entry<V>>| {
            (
                side.front().map_or((0, 0), |e| (e.record, e.time)),
                side.back().map_or((0, 0), |e| (e.record, e.time)),
            )
        };
        let ((_, reference_start_time), (_, reference_end_time)) = span(w.reference());
        let ((start_record, start_time), (end_record, end_time)) = span(w.current());
        FeatureTest {
            feature: feature.to_string(),
            test,
            statistic,
            p_value,
            adjusted_p_value: p_value,
            drifted: false,
            significant: false,
            effect_size: None,
            min_effect: 0.0,
            threshold: self.alpha,
            reference_size: w.reference().len(),
            reference_start_time,
            reference_end_time,
            window_size: w.current().len(),
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
    use crate::detect::window::{CategoryEntry, WindowEntry};

    /// The defaults with small windows: reference 200, window 100.
    fn small() -> DetectConfig {
        let mut cfg = crate::config::Config::defaults()
            .map(|c| c.detect)
            .unwrap_or_else(|e| panic!("{e}"));
        cfg.reference_size = 200;
        cfg.window_size = 100;
        cfg.evaluate_every = 50;
        cfg
    }

    fn detector(correction: Correction) -> DriftDetector {
        let mut cfg = small();
        cfg.ks_alpha = 0.001;
        cfg.correction = correction;
        // No effect gate: the gates have tests of their own.
        cfg.effect_threshold = EffectThreshold::Fixed;
        cfg.min_effect = MinEffect { ks: 0.0, chi2: 0.0 };
        DriftDetector::new(&cfg, None)
    }

    fn fill(d: &DriftDetector, values: impl Iterator<Item = f64>) -> FeatureState {
        let mut w = FeatureState::default();
        for (i, v) in values.enumerate() {
            let i = i as u64 + 1;
            let entry = WindowEntry {
                record: i,
                time: i as i64,
                value: v,
            };
            w.push(entry, i as i64, d.plan());
        }
        w
    }

    // A deterministic, well-spread sequence in [0, 1): the golden-ratio sequence.
    fn spread(n: usize, offset: f64) -> impl Iterator<Item = f64> {
        (0..n).map(move |i| ((i as f64) * 0.618_033_988_749_895).fract() + offset)
    }

    #[test]
    fn same_distribution_does_not_drift() {
        let d = detector(Correction::BenjaminiHochberg);
        let mut w = fill(&d, spread(300, 0.0));
        let tests = d.evaluate_all([("x", &mut w)], [], 300);
        assert_eq!(tests.len(), 1);
        assert!(!tests[0].drifted, "{:?}", tests[0]);
        assert!(tests[0].statistic < 0.05);
    }

    #[test]
    fn shifted_window_drifts_with_bounds() {
        let d = detector(Correction::BenjaminiHochberg);
        let mut w = fill(&d, spread(200, 0.0).chain(spread(100, 0.5)));
        let reference: Vec<f64> = w.windows().reference().iter().map(|e| e.value).collect();
        let current: Vec<f64> = w.windows().current().iter().map(|e| e.value).collect();
        let tests = d.evaluate_all([("x", &mut w)], [], 300);
        assert_eq!(tests.len(), 1);
        let t = &tests[0];
        assert!(t.drifted);
        let brute = super::super::ks::statistic_brute_force(
            &reference,
            &current,
            super::super::ks::Alternative::TwoSided,
        );
        let scipy =
            super::super::ks::ks_2samp(&reference, &current, Alternative::TwoSided, Method::Auto);
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
    fn the_effect_gate_keeps_small_significant_differences_from_counting() {
        // A shift of 0.3 (about one standard deviation of the uniform
        // [0, 1) spread): significant with these sample sizes, a normed
        // Wasserstein distance of about 1.
        let shifted = |d: &DriftDetector| fill(d, spread(200, 0.0).chain(spread(100, 0.3)));
        let mut gated = detector(Correction::BenjaminiHochberg);
        let mut w = shifted(&gated);
        let open = gated.evaluate_all([("x", &mut w)], [], 300);
        assert!(open[0].significant && open[0].drifted, "{:?}", open[0]);
        let effect = open[0].effect_size.unwrap_or(f64::NAN);
        assert!((0.8..1.2).contains(&effect), "{effect}");
        assert_eq!(open[0].min_effect, 0.0);
        for (gate, drifted) in [(effect * 0.99, true), (effect * 1.01, false)] {
            gated.min_effect.ks = gate;
            let t = &gated.evaluate_all([("x", &mut w)], [], 300)[0];
            assert!(t.significant, "{t:?}");
            assert_eq!((t.drifted, t.min_effect), (drifted, gate), "{t:?}");
        }
    }

    #[test]
    fn a_threshold_learned_from_the_reference_needs_a_restless_feature_to_move_more() {
        // Both features' windows move by 0.3. "calm" has one spread of
        // values in its reference; "restless" has regimes of 100 values
        // alternately around 0.5 and 1.5, so a stretch of its reference
        // already moves far from the rest, and the same shift is within
        // what it does anyway.
        let mut cfg = small();
        cfg.effect_threshold = EffectThreshold::Reference;
        // No floor: the gate is the learned threshold alone.
        cfg.min_effect = MinEffect { ks: 0.0, chi2: 0.0 };
        let d = DriftDetector::new(&cfg, None);
        let regime = |i: usize| if (i / 100) % 2 == 0 { 0.0 } else { 1.0 };
        let restless_values = spread(200, 0.0)
            .enumerate()
            .map(|(i, v)| v + regime(i))
            .chain(spread(100, 0.3));
        let mut calm = fill(&d, spread(200, 0.0).chain(spread(100, 0.3)));
        let mut restless = fill(&d, restless_values);
        let tests = d.evaluate_all([("calm", &mut calm), ("restless", &mut restless)], [], 300);
        let plan = NullPlan {
            chunks: cfg.reference_chunks,
            quantile: cfg.reference_quantile,
        };
        for (t, state) in tests.iter().zip([&calm, &restless]) {
            assert!(t.significant, "{t:?}");
            let reference: Vec<f64> = state
                .windows()
                .reference()
                .iter()
                .map(|e| e.value)
                .collect();
            let learned = super::super::null::threshold(
                super::super::null::numeric_effects(&reference, 100, cfg.reference_chunks),
                plan,
            );
            assert_eq!(Some(t.min_effect), learned, "{t:?}");
        }
        let effect = |t: &FeatureTest| t.effect_size.unwrap_or(f64::NAN);
        let (c, r) = (&tests[0], &tests[1]);
        assert!(c.min_effect < 0.3 && effect(c) > 0.8 && c.drifted, "{c:?}");
        assert!(r.min_effect > effect(r) && !r.drifted, "{r:?}");
        // Learned once per reference state: a second evaluation of the same
        // windows reuses it.
        let again = d.evaluate_all([("calm", &mut calm)], [], 300);
        assert_eq!(again[0].min_effect, c.min_effect);
        assert_eq!(calm.thresholds_learned(), 1);
        // A fixed gate above the learned one wins.
        let mut fixed = cfg.clone();
        fixed.min_effect.ks = 5.0;
        let t = &DriftDetector::new(&fixed, None).evaluate_all([("calm", &mut calm)], [], 300)[0];
        assert_eq!((t.min_effect, t.drifted), (5.0, false), "{t:?}");
    }

    #[test]
    fn categorical_shift_drifts_and_shares_the_correction() {
        for correction in [Correction::Bonferroni, Correction::BenjaminiHochberg] {
            let d = detector(correction);
            let mut stable = CategoricalWindow::default();
            let mut shifted = CategoricalWindow::default();
            for i in 1..=300u64 {
                let v = ["a", "b", "c"][(i % 3) as usize];
                let e = CategoryEntry {
                    record: i,
                    time: i as i64,
                    value: v.to_string(),
                };
                stable.push(e.clone(), 0, d.plan());
                let moved = if i > 200 && i % 2 == 0 {
                    "d".to_string()
                } else {
                    v.to_string()
                };
                shifted.push(CategoryEntry { value: moved, ..e }, 0, d.plan());
            }
            let mut numeric = fill(&d, spread(300, 0.0));
            let tests = d.evaluate_all(
                [("x", &mut numeric)],
                [("s", &mut stable), ("t", &mut shifted)],
                300,
            );
            let by: Vec<(&str, &str, bool)> = tests
                .iter()
                .map(|t| (t.feature.as_str(), t.test.as_str(), t.drifted))
                .collect();
            assert_eq!(
                by,
                vec![
                    ("x", "ks", false),
                    ("s", "chi2", false),
                    ("t", "chi2", true)
                ]
            );
            // One rejection out of three: both corrections cut at alpha / 3.
            assert!(tests.iter().all(|t| t.threshold == 0.001 / 3.0));
        }
    }

    #[test]
    fn benjamini_hochberg_finds_more_than_bonferroni() {
        // Three features with p-values that BH rejects together but
        // Bonferroni does not: shifts of decreasing size.
        let shifted = |shift: f64| {
            move |d: &DriftDetector| fill(d, spread(200, 0.0).chain(spread(100, shift)))
        };
        let mut found = Vec::new();
        for correction in [Correction::Bonferroni, Correction::BenjaminiHochberg] {
            let d = detector(correction);
            let mut fs: Vec<FeatureState> =
                [0.28, 0.29, 0.30].iter().map(|s| shifted(*s)(&d)).collect();
            let names = ["a", "b", "c"];
            let tests = d.evaluate_all(names.iter().copied().zip(fs.iter_mut()), [], 300);
            let p: Vec<f64> = tests.iter().map(|t| t.p_value).collect();
            assert!(p.iter().all(|p| *p < 0.001), "{p:?}");
            found.push(tests.iter().filter(|t| t.drifted).count());
        }
        assert!(found[1] >= found[0], "{found:?}");
        assert_eq!(found[1], 3);
    }

    #[test]
    fn cadence_for_count_and_time_windows() {
        let d = detector(Correction::BenjaminiHochberg);
        assert_eq!(d.due(0, 0, None), Due::No);
        assert_eq!(d.due(50, 0, None), Due::Now);
        assert_eq!(d.due(75, 0, None), Due::No);
        let mut cfg = crate::config::Config::defaults()
            .map(|c| c.detect)
            .unwrap_or_else(|e| panic!("{e}"));
        cfg.window_kind = WindowKindName::Time;
        cfg.window_duration = std::time::Duration::from_secs(60);
        cfg.window_slide = std::time::Duration::from_secs(10);
        cfg.allowed_lateness = std::time::Duration::from_secs(5);
        let t = DriftDetector::new(&cfg, None);
        let w = t.watermark(26_000);
        assert_eq!(w, 21_000);
        assert_eq!(t.due(1, w, None), Due::AtWindowEnd(20_000));
        assert_eq!(t.due(1, w, Some(20_000)), Due::No);
        assert_eq!(
            t.due(1, t.watermark(35_000), Some(20_000)),
            Due::AtWindowEnd(30_000)
        );
    }
}
