//! The benchmark's input: `records` predictions of `models` models with
//! `features` numeric features each, generated one at a time from the
//! record's index (no stream held in memory).
//!
//! Guarantees: a prediction is a pure function of (workload, index), so
//! every run produces the same records; models are interleaved round-robin
//! (record `i` belongs to model `i % models`); drift is planted in every
//! model whose index is a multiple of ten (a tenth of the models when their
//! number is a multiple of ten), whose features all shift by one standard
//! deviation from the first record of the second half of that model's
//! records on.

use std::collections::BTreeMap;

use crate::schema::Prediction;

/// Event time of each model's first record: 2026-01-01T00:00:00Z.
const START_TIME_MS: i64 = 1_767_225_600_000;
/// Event time between two records of one model.
const INTERVAL_MS: i64 = 1_000;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// Predictions in all.
    pub records: u64,
    /// Models (at least 1).
    pub models: u32,
    /// Numeric features per prediction.
    pub features: u32,
    /// RNG seed.
    pub seed: u64,
}

impl Workload {
    /// The id (and record key) of model `m`.
    pub fn model_id(&self, m: u32) -> String {
        format!("model-{m:05}")
    }

    /// The name of feature `f`.
    pub fn feature_name(f: u32) -> String {
        format!("f{f:02}")
    }

    /// Whether drift is planted in model `m`.
    pub fn is_drifted(&self, m: u32) -> bool {
        m % 10 == 0
    }

    /// Models with planted drift.
    pub fn drifted_models(&self) -> u32 {
        (0..self.models).filter(|&m| self.is_drifted(m)).count() as u32
    }

    /// Records of model `m`.
    pub fn records_of(&self, m: u32) -> u64 {
        let models = u64::from(self.models.max(1));
        self.records / models + u64::from(u64::from(m) < self.records % models)
    }

    /// First model record (1-based) of a drifted model drawn from the
    /// shifted distribution.
    pub fn shift_at(&self, m: u32) -> u64 {
        self.records_of(m) / 2 + 1
    }

    /// The prediction at global index `i` (0-based).
    pub fn prediction(&self, i: u64) -> Prediction {
        let models = u64::from(self.models.max(1));
        let m = (i % models) as u32;
        let record = i / models + 1;
        let shifted = self.is_drifted(m) && record >= self.shift_at(m);
        let mut rng = SplitMix(self.seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let model_id = self.model_id(m);
        let mut features = BTreeMap::new();
        let mut z_sum = 0.0;
        for f in 0..self.features {
            let z = rng.normal() + if shifted { 1.0 } else { 0.0 };
            z_sum += z;
            let (mean, sd) = (10.0 * f64::from(f + 1), 1.0 + f64::from(f));
            features.insert(Self::feature_name(f), mean + sd * z);
        }
        let score = 1.0 / (1.0 + (-z_sum / 2.0).exp());
        Prediction {
            prediction_id: format!("{model_id}-{record}"),
            model_id,
            model_version: "1".into(),
            event_time: START_TIME_MS + (record as i64 - 1) * INTERVAL_MS,
            features,
            categorical_features: None,
            score,
            predicted_class: Some(if score >= 0.5 { "1" } else { "0" }.into()),
            latency_ms: Some(5.0 + 2.0 * rng.normal().abs()),
        }
    }
}

/// SplitMix64: a small, fast, seedable generator (one per record).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(records: u64, models: u32) -> Workload {
        Workload {
            records,
            models,
            features: 3,
            seed: 42,
        }
    }

    #[test]
    fn generation_is_deterministic_and_interleaved() {
        let w = workload(100, 10);
        let a: Vec<Prediction> = (0..100).map(|i| w.prediction(i)).collect();
        let b: Vec<Prediction> = (0..100).map(|i| w.prediction(i)).collect();
        assert_eq!(a, b);
        assert_eq!(a[0].model_id, "model-00000");
        assert_eq!(a[13].model_id, "model-00003");
        assert_eq!(a[13].prediction_id, "model-00003-2");
        assert_eq!(a[13].features.len(), 3);
        assert!(a.iter().all(|p| p.features.values().all(|v| v.is_finite())));
        let other = Workload { seed: 43, ..w };
        assert_ne!(other.prediction(5), a[5]);
    }

    #[test]
    fn drift_is_planted_in_exactly_a_tenth_of_the_models() {
        for models in [10, 100, 1000] {
            let w = workload(u64::from(models) * 10, models);
            assert_eq!(w.drifted_models(), models / 10, "{models}");
        }
    }

    #[test]
    fn drifted_models_shift_by_one_sd_at_half_time_and_others_do_not() {
        let w = Workload {
            records: 10 * 4_000,
            models: 10,
            features: 2,
            seed: 1,
        };
        // Mean of feature f00 (mean 10, sd 1) of model m over its model
        // records in [from, to) (1-based).
        let mean = |m: u32, from: u64, to: u64| {
            let v: Vec<f64> = (from..to)
                .map(|r| w.prediction((r - 1) * 10 + u64::from(m)).features["f00"])
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert_eq!(w.shift_at(0), 2_001);
        let (before, after) = (mean(0, 1, 2_001), mean(0, 2_001, 4_001));
        assert!((before - 10.0).abs() < 0.1, "{before}");
        assert!((after - 11.0).abs() < 0.1, "{after}");
        let (before, after) = (mean(3, 1, 2_001), mean(3, 2_001, 4_001));
        assert!((after - before).abs() < 0.1, "{before} {after}");
    }

    #[test]
    fn records_are_split_evenly_over_models() {
        let w = workload(25, 10);
        let per: Vec<u64> = (0..10).map(|m| w.records_of(m)).collect();
        assert_eq!(per.iter().sum::<u64>(), 25);
        assert_eq!((per[0], per[4], per[5], per[9]), (3, 3, 2, 2));
    }
}
