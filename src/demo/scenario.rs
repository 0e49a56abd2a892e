//! Synthetic prediction streams with known drifts, for the demo, tests and
//! benchmarks.
//!
//! Guarantees: the stream is a pure function of the scenario (seeded RNG per
//! model), so every run and every test sees the same records; a feature's
//! shift starts exactly at its configured record index.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use statrs::distribution::Normal;

use crate::schema::Prediction;

/// A change of one feature's distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// First model record (1-based) drawn from the shifted distribution.
    pub at_record: u64,
    /// Added to the mean, in units of the feature's standard deviation.
    pub mean_delta_sd: f64,
}

/// One numeric feature.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSpec {
    /// Name.
    pub name: String,
    /// Mean before any shift.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
    /// Optional shift.
    pub shift: Option<Shift>,
}

/// One model's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Model id (the record key).
    pub model_id: String,
    /// Its features.
    pub features: Vec<FeatureSpec>,
    /// Records to generate.
    pub records: u64,
}

/// A multi-model stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Models, interleaved round-robin in the output.
    pub models: Vec<ModelSpec>,
    /// RNG seed.
    pub seed: u64,
    /// Event time of each model's first record (ms).
    pub start_time_ms: i64,
    /// Event time between two records of one model (ms).
    pub interval_ms: i64,
}

fn feature(name: &str, mean: f64, sd: f64) -> FeatureSpec {
    FeatureSpec {
        name: name.to_string(),
        mean,
        sd,
        shift: None,
    }
}

impl Scenario {
    /// The demo: three models of `records` records each; `churn-v7`'s
    /// `tenure_days` shifts by one standard deviation at `shift_at`.
    pub fn demo(records: u64, shift_at: u64) -> Self {
        let mut churn = ModelSpec {
            model_id: "churn-v7".into(),
            features: vec![
                feature("monthly_spend", 70.0, 20.0),
                feature("tenure_days", 400.0, 120.0),
                feature("support_calls", 2.0, 1.0),
            ],
            records,
        };
        churn.features[1].shift = Some(Shift {
            at_record: shift_at,
            mean_delta_sd: 1.0,
        });
        Scenario {
            models: vec![
                ModelSpec {
                    model_id: "fraud-v3".into(),
                    features: vec![
                        feature("amount", 120.0, 40.0),
                        feature("merchant_risk", 0.3, 0.1),
                        feature("hour_of_day", 12.0, 5.0),
                    ],
                    records,
                },
                churn,
                ModelSpec {
                    model_id: "ranker-v2".into(),
                    features: vec![
                        feature("query_length", 4.0, 2.0),
                        feature("doc_age_days", 30.0, 10.0),
                        feature("ctr_prior", 0.05, 0.02),
                    ],
                    records,
                },
            ],
            seed: 7,
            start_time_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            interval_ms: 1_000,
        }
    }

    /// Total number of records.
    pub fn len(&self) -> u64 {
        self.models.iter().map(|m| m.records).sum()
    }

    /// True if the scenario has no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Generates the stream, models interleaved round-robin.
    pub fn predictions(&self) -> Vec<Prediction> {
        let per_model: Vec<Vec<Prediction>> = self
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| self.model_stream(i as u64, m))
            .collect();
        let longest = per_model.iter().map(Vec::len).max().unwrap_or(0);
        let mut out = Vec::with_capacity(per_model.iter().map(Vec::len).sum());
        for r in 0..longest {
            for stream in &per_model {
                if let Some(p) = stream.get(r) {
                    out.push(p.clone());
                }
            }
        }
        out
    }

    /// Event time of the scenario's last record.
    pub fn end_time_ms(&self) -> i64 {
        let records = self.models.iter().map(|m| m.records).max().unwrap_or(0);
        self.start_time_ms + (records as i64 - 1) * self.interval_ms
    }

    /// The stream continued: every model's next `extra` records (the same
    /// streams, shift included, later in event time), interleaved.
    pub fn continued(&self, extra: u64) -> Vec<Prediction> {
        let end = self.end_time_ms();
        let mut longer = self.clone();
        for m in &mut longer.models {
            m.records += extra;
        }
        longer
            .predictions()
            .into_iter()
            .filter(|p| p.event_time > end)
            .collect()
    }

    fn model_stream(&self, index: u64, m: &ModelSpec) -> Vec<Prediction> {
        let mut rng = StdRng::seed_from_u64(self.seed.wrapping_mul(1_000_003).wrapping_add(index));
        let standard = Normal::standard();
        (1..=m.records)
            .map(|record| {
                let mut features = BTreeMap::new();
                let mut z_sum = 0.0;
                for f in &m.features {
                    let z: f64 = rng.sample(standard);
                    let delta = match f.shift {
                        Some(s) if record >= s.at_record => s.mean_delta_sd,
                        _ => 0.0,
                    };
                    z_sum += z + delta;
                    features.insert(f.name.clone(), f.mean + f.sd * (z + delta));
                }
                let score = 1.0 / (1.0 + (-z_sum / 2.0).exp());
                let latency: f64 = 5.0 + 2.0 * rng.sample::<f64, _>(standard).abs();
                Prediction {
                    prediction_id: format!("{}-{record}", m.model_id),
                    model_id: m.model_id.clone(),
                    model_version: "1".into(),
                    event_time: self.start_time_ms + (record as i64 - 1) * self.interval_ms,
                    features,
                    categorical_features: None,
                    score,
                    predicted_class: Some(if score >= 0.5 { "1" } else { "0" }.into()),
                    latency_ms: Some(latency),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_interleaved_and_shifted() {
        let s = Scenario::demo(100, 50);
        let a = s.predictions();
        assert_eq!(a, s.predictions());
        assert_eq!(a.len(), 300);
        assert_eq!(a[0].model_id, "fraud-v3");
        assert_eq!(a[1].model_id, "churn-v7");
        assert_eq!(a[3].prediction_id, "fraud-v3-2");
        let tenure = |range: std::ops::Range<usize>| {
            let v: Vec<f64> = a
                .iter()
                .filter(|p| p.model_id == "churn-v7")
                .skip(range.start)
                .take(range.len())
                .filter_map(|p| p.features.get("tenure_days").copied())
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(tenure(49..100) - tenure(0..49) > 60.0);
    }

    #[test]
    fn continued_is_the_longer_stream_after_the_end() {
        let s = Scenario::demo(100, 50);
        let tail = s.continued(20);
        assert_eq!(tail.len(), 60);
        assert_eq!(tail[0].prediction_id, "fraud-v3-101");
        assert_eq!(tail[0].event_time, s.end_time_ms() + s.interval_ms);
        let longer = Scenario::demo(120, 50).predictions();
        assert_eq!(&longer[300..], tail.as_slice());
    }
}
