//! The synthetic streams of `jidoka bench alerts`, generated one prediction
//! at a time from a seeded RNG (no stream held in memory).
//!
//! Guarantees:
//! - A stream is a pure function of (spec, seed): the same seed gives the
//!   same predictions, on every platform (`StdRng`, no thread RNG).
//! - Record `i` (1-based) has event time `START_MS + (i - 1) * step_ms`
//!   exactly, so a seasonal stream's phase is exact in event time: its
//!   seasonal component depends only on `(event time - START_MS) mod
//!   period_ms`, computed in integer milliseconds.
//! - Stationary streams are independent and identically distributed
//!   record to record; a planted shift adds `sd` (the shifted feature's
//!   standard deviation is 1) to feature [`SHIFTED_FEATURE`] of every record
//!   after `after`, and changes nothing else (the RNG draws are the same
//!   with or without the shift).

use std::collections::BTreeMap;
use std::f64::consts::TAU;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::schema::Prediction;

/// Event time of every stream's first record: 2000-01-01T00:00:00Z.
pub const START_MS: i64 = 946_684_800_000;
/// A minute in milliseconds.
pub const MINUTE_MS: i64 = 60_000;
/// An hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// A day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// The feature a planted shift moves (standard normal before the shift).
pub const SHIFTED_FEATURE: &str = "n0";
/// Features of a seasonal stream.
pub const SEASONAL_FEATURES: usize = 8;

/// A planted shift in a stationary stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// Size in standard deviations of the shifted feature.
    pub sd: f64,
    /// The last unshifted record: records `after + 1 ..` are shifted.
    pub after: u64,
}

/// What a synthetic stream draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Synthetic {
    /// Eight independent features, one record a minute: `n0`..`n5`
    /// standard normal, `skewed` (exponential, centred: mean 0, sd 1),
    /// `discrete` (binomial(10, 0.3): eleven values, many ties); optionally
    /// a shift in `n0`.
    Stationary {
        /// Records.
        records: u64,
        /// Planted shift, if any.
        shift: Option<Shift>,
    },
    /// Eight features `s0`..`s7`, one record every `step_ms`:
    /// `A_k sin(2π phase + 2πk/8) + N(0, 1)` with amplitude
    /// `A_k = 1 + k/7` noise standard deviations (1 to 2) and
    /// `phase = ((t - START_MS) mod period_ms) / period_ms`.
    Seasonal {
        /// Records.
        records: u64,
        /// Event time between records (ms).
        step_ms: i64,
        /// Length of the cycle in event time (ms).
        period_ms: i64,
    },
}

impl Synthetic {
    /// Records in the stream.
    pub fn records(&self) -> u64 {
        match self {
            Synthetic::Stationary { records, .. } | Synthetic::Seasonal { records, .. } => *records,
        }
    }

    /// Event time between two records (ms).
    pub fn step_ms(&self) -> i64 {
        match self {
            Synthetic::Stationary { .. } => MINUTE_MS,
            Synthetic::Seasonal { step_ms, .. } => *step_ms,
        }
    }

    /// Event time of record `i` (1-based).
    pub fn event_time(&self, i: u64) -> i64 {
        let k = i64::try_from(i.saturating_sub(1)).unwrap_or(i64::MAX);
        START_MS.saturating_add(k.saturating_mul(self.step_ms()))
    }

    /// The predictions of model `model_id` for `seed`.
    pub fn predictions(self, model_id: &str, seed: u64) -> SyntheticIter {
        SyntheticIter {
            spec: self,
            model_id: model_id.to_string(),
            rng: StdRng::seed_from_u64(seed),
            next: 1,
        }
    }
}

/// The seasonal component of feature `k` at event time `t` (no noise).
pub fn seasonal_component(k: usize, t: i64, period_ms: i64) -> f64 {
    let period = period_ms.max(1);
    let phase = (t - START_MS).rem_euclid(period) as f64 / period as f64;
    let amplitude = 1.0 + k as f64 / (SEASONAL_FEATURES - 1) as f64;
    amplitude * (TAU * phase + TAU * k as f64 / SEASONAL_FEATURES as f64).sin()
}

/// A standard normal draw (Box–Muller; two uniforms per draw).
fn normal(rng: &mut StdRng) -> f64 {
    let u: f64 = 1.0 - rng.gen::<f64>(); // (0, 1]
    let v: f64 = rng.gen();
    (-2.0 * u.ln()).sqrt() * (TAU * v).cos()
}

/// The stream, one prediction at a time.
#[derive(Debug)]
pub struct SyntheticIter {
    spec: Synthetic,
    model_id: String,
    rng: StdRng,
    next: u64,
}

impl SyntheticIter {
    fn features(&mut self, i: u64, t: i64) -> BTreeMap<String, f64> {
        let rng = &mut self.rng;
        let mut f = BTreeMap::new();
        match self.spec {
            Synthetic::Stationary { shift, .. } => {
                for k in 0..6 {
                    f.insert(format!("n{k}"), normal(rng));
                }
                let u: f64 = 1.0 - rng.gen::<f64>();
                f.insert("skewed".into(), -u.ln() - 1.0);
                let hits = (0..10).filter(|_| rng.gen::<f64>() < 0.3).count();
                f.insert("discrete".into(), hits as f64);
                if let Some(s) = shift.filter(|s| i > s.after) {
                    if let Some(v) = f.get_mut(SHIFTED_FEATURE) {
                        *v += s.sd;
                    }
                }
            }
            Synthetic::Seasonal { period_ms, .. } => {
                for k in 0..SEASONAL_FEATURES {
                    let v = seasonal_component(k, t, period_ms) + normal(rng);
                    f.insert(format!("s{k}"), v);
                }
            }
        }
        f
    }
}

impl Iterator for SyntheticIter {
    type Item = Prediction;

    fn next(&mut self) -> Option<Prediction> {
        let i = self.next;
        if i > self.spec.records() {
            return None;
        }
        self.next += 1;
        let event_time = self.spec.event_time(i);
        let features = self.features(i, event_time);
        let score = self.rng.gen::<f64>();
        Some(Prediction {
            prediction_id: format!("{}-{i}", self.model_id),
            model_id: self.model_id.clone(),
            model_version: "v1".into(),
            event_time,
            features,
            categorical_features: None,
            score,
            predicted_class: None,
            latency_ms: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(records: u64) -> Synthetic {
        Synthetic::Seasonal {
            records,
            step_ms: DAY_MS,
            period_ms: 365 * DAY_MS,
        }
    }

    #[test]
    fn seasonal_phase_is_exact_in_event_time() {
        let s = daily(3 * 365 + 10);
        let p: Vec<Prediction> = s.predictions("m", 1).collect();
        assert_eq!(p.len(), 3 * 365 + 10);
        for (i, rec) in p.iter().enumerate() {
            assert_eq!(rec.event_time, START_MS + i as i64 * DAY_MS);
        }
        for k in 0..SEASONAL_FEATURES {
            // One period later in event time: the very same component.
            for i in [0usize, 17, 200, 364] {
                let (a, b) = (p[i].event_time, p[i + 365].event_time);
                assert_eq!(b - a, 365 * DAY_MS);
                assert_eq!(
                    seasonal_component(k, a, 365 * DAY_MS),
                    seasonal_component(k, b, 365 * DAY_MS)
                );
            }
            // Half a period later: the opposite sign (a sine), within rounding.
            let half = seasonal_component(k, START_MS + 365 * DAY_MS / 2, 365 * DAY_MS)
                + seasonal_component(k, START_MS, 365 * DAY_MS);
            assert!(half.abs() < 1e-9, "{k}: {half}");
        }
        // Amplitudes from 1 to 2 noise sd: the largest value over a period.
        let peak = |k: usize| {
            (0..365 * 24)
                .map(|h| seasonal_component(k, START_MS + h * HOUR_MS, 365 * DAY_MS))
                .fold(f64::MIN, f64::max)
        };
        assert!((peak(0) - 1.0).abs() < 1e-3 && (peak(7) - 2.0).abs() < 1e-3);
    }

    #[test]
    fn seasonal_values_follow_the_cycle() {
        // The mean over many cycles of each phase is the component.
        let s = daily(365 * 200);
        let mut sum = vec![0.0; 365];
        for (i, p) in s.predictions("m", 3).enumerate() {
            sum[i % 365] += p.features["s7"];
        }
        for (d, total) in sum.iter().enumerate() {
            let expected = seasonal_component(7, START_MS + d as i64 * DAY_MS, 365 * DAY_MS);
            // 200 draws of N(0, 1): the mean's sd is 0.071; 5 sd.
            assert!((total / 200.0 - expected).abs() < 0.36, "day {d}");
        }
    }

    #[test]
    fn shift_is_placed_after_its_record_and_changes_nothing_else() {
        let shift = Shift {
            sd: 0.5,
            after: 300,
        };
        let plain = Synthetic::Stationary {
            records: 600,
            shift: None,
        };
        let shifted = Synthetic::Stationary {
            records: 600,
            shift: Some(shift),
        };
        let a: Vec<Prediction> = plain.predictions("m", 9).collect();
        let b: Vec<Prediction> = shifted.predictions("m", 9).collect();
        assert_eq!(a.len(), 600);
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let record = i as u64 + 1;
            assert_eq!(x.event_time, START_MS + i as i64 * MINUTE_MS);
            for (name, v) in &x.features {
                let w = y.features[name];
                if name == SHIFTED_FEATURE && record > shift.after {
                    assert!((w - v - 0.5).abs() < 1e-12, "record {record}");
                } else {
                    assert_eq!(w, *v, "record {record} {name}");
                }
            }
        }
    }

    #[test]
    fn stationary_features_have_the_documented_distributions() {
        let s = Synthetic::Stationary {
            records: 20_000,
            shift: None,
        };
        let p: Vec<Prediction> = s.predictions("m", 5).collect();
        let n = p.len() as f64;
        for name in ["n0", "n5", "skewed"] {
            let mean = p.iter().map(|r| r.features[name]).sum::<f64>() / n;
            let var = p
                .iter()
                .map(|r| (r.features[name] - mean).powi(2))
                .sum::<f64>()
                / n;
            // sd of the mean 0.007, of the variance ≤ 0.02 (exponential).
            assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.1, "{name}");
        }
        let distinct: std::collections::BTreeSet<u64> =
            p.iter().map(|r| r.features["discrete"].to_bits()).collect();
        assert!(distinct.len() <= 11 && distinct.len() >= 8, "{distinct:?}");
        let other: Vec<Prediction> = s.predictions("m", 6).take(10).collect();
        assert_ne!(other[..], p[..10], "a seed changes the stream");
        let again: Vec<Prediction> = s.predictions("m", 5).take(10).collect();
        assert_eq!(again[..], p[..10], "a seed repeats the stream");
    }
}
