//! Z-score anomalies of windowed metrics (a model's mean prediction score
//! per window, a predicted-class rate, latency, accuracy) against a learned
//! baseline.
//!
//! Guarantees: a value is scored against the baseline as it was before the
//! value arrived, and only once the baseline holds `min_samples` (and at
//! least 2) values; `z = (value − mean) / std_dev`, with `std_dev` the
//! sample standard deviation (n − 1) for Welford and the square root of
//! West's exponentially weighted variance for EWMA; a zero spread gives
//! `z = 0` for the mean itself and ±∞ (anomalous) otherwise; `anomalous`
//! is `|z| >= threshold`. Welford learns only from values that were not
//! anomalous, so a persistent shift keeps alarming; EWMA learns from every
//! value, so it adapts. Non-finite values are ignored and the state stays
//! finite (an update that would overflow is skipped). A baseline learned
//! under one [`BaselineKind`] is never scored under the other: observing
//! with another kind restarts it. The binary encoding round-trips exactly
//! and decoding rejects malformed bytes with an error, never a panic.

use serde::{Deserialize, Serialize};

/// How the baseline learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineKind {
    /// Running mean and sample variance of all non-anomalous values
    /// (Welford's algorithm).
    #[default]
    Welford,
    /// Exponentially weighted mean and variance: recent values count most.
    Ewma,
}

/// Z-score detector settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZScoreConfig {
    /// A value is anomalous when `|z| >=` this (default 3.0).
    pub threshold: f64,
    /// Baseline values needed before scoring (default 10).
    pub min_samples: u64,
    /// How the baseline learns (default Welford).
    pub baseline: BaselineKind,
    /// EWMA weight of the newest value, in `(0, 1]` (default 0.1); values
    /// outside are clamped into `[0, 1]` and NaN counts as 0.1.
    pub ewma_alpha: f64,
}

const DEFAULT_EWMA_ALPHA: f64 = 0.1;

impl Default for ZScoreConfig {
    fn default() -> Self {
        Self {
            threshold: 3.0,
            min_samples: 10,
            baseline: BaselineKind::Welford,
            ewma_alpha: DEFAULT_EWMA_ALPHA,
        }
    }
}

/// The learned baseline of one metric (e.g. one model's accuracy).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    kind: BaselineKind,
    /// Values learned.
    n: u64,
    mean: f64,
    /// Welford: sum of squared deviations (m2). EWMA: the variance.
    spread: f64,
}

/// One scored value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZScore {
    /// The value scored.
    pub value: f64,
    /// The baseline mean it was compared with.
    pub mean: f64,
    /// The baseline standard deviation.
    pub std_dev: f64,
    /// `(value − mean) / std_dev` (±∞ when the spread is zero).
    pub z: f64,
    /// Values the baseline had learned.
    pub samples: u64,
    /// `|z| >= threshold`.
    pub anomalous: bool,
}

/// Bytes that are not an encoded [`Baseline`] (corrupt local state; a retry
/// cannot help).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt z-score baseline: {0}")]
pub struct BaselineDecodeError(pub &'static str);

const FORMAT_VERSION: u8 = 1;
const ENCODED_LEN: usize = 1 + 1 + 8 + 8 + 8;

impl Baseline {
    /// Scores `value` without learning it. `None` until the baseline holds
    /// `max(min_samples, 2)` values, for a non-finite value, or when the
    /// baseline was learned under another kind than `cfg.baseline`.
    pub fn score(&self, value: f64, cfg: &ZScoreConfig) -> Option<ZScore> {
        if !value.is_finite() || self.kind != cfg.baseline || self.n < cfg.min_samples {
            return None;
        }
        let std_dev = self.std_dev()?;
        let diff = value - self.mean;
        let z = if std_dev > 0.0 {
            diff / std_dev
        } else if diff == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(diff)
        };
        Some(ZScore {
            value,
            mean: self.mean,
            std_dev,
            z,
            samples: self.n,
            anomalous: z.abs() >= cfg.threshold,
        })
    }

    /// Scores `value` (as [`Baseline::score`]), then learns it: Welford only
    /// when it was not anomalous, EWMA always. A non-finite value returns
    /// `None` and leaves the state unchanged.
    pub fn observe(&mut self, value: f64, cfg: &ZScoreConfig) -> Option<ZScore> {
        if !value.is_finite() {
            return None;
        }
        if self.kind != cfg.baseline {
            *self = Self {
                kind: cfg.baseline,
                ..Self::default()
            };
        }
        let score = self.score(value, cfg);
        match self.kind {
            BaselineKind::Welford if score.is_some_and(|s| s.anomalous) => {}
            BaselineKind::Welford => self.learn_welford(value),
            BaselineKind::Ewma => self.learn_ewma(value, cfg.ewma_alpha),
        }
        score
    }

    fn learn_welford(&mut self, x: f64) {
        let n = self.n.saturating_add(1);
        let delta = x - self.mean;
        let mean = self.mean + delta / n as f64;
        let m2 = (self.spread + delta * (x - mean)).max(0.0);
        self.commit(n, mean, m2);
    }

    fn learn_ewma(&mut self, x: f64, alpha: f64) {
        let a = if alpha.is_nan() {
            DEFAULT_EWMA_ALPHA
        } else {
            alpha.clamp(0.0, 1.0)
        };
        let n = self.n.saturating_add(1);
        if self.n == 0 {
            self.commit(n, x, 0.0);
            return;
        }
        let diff = x - self.mean;
        let incr = a * diff;
        let mean = self.mean + incr;
        let var = ((1.0 - a) * (self.spread + diff * incr)).max(0.0);
        self.commit(n, mean, var);
    }

    /// Applies an update only if it keeps the state finite.
    fn commit(&mut self, n: u64, mean: f64, spread: f64) {
        if mean.is_finite() && spread.is_finite() {
            self.n = n;
            self.mean = mean;
            self.spread = spread;
        }
    }

    /// Values learned.
    pub fn samples(&self) -> u64 {
        self.n
    }

    /// The baseline mean (0 before any value).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The baseline standard deviation; `None` before 2 values.
    pub fn std_dev(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        Some(match self.kind {
            BaselineKind::Welford => (self.spread / (self.n - 1) as f64).sqrt(),
            BaselineKind::Ewma => self.spread.sqrt(),
        })
    }

    /// Encodes as 26 bytes: format version, kind (0 Welford, 1 EWMA), then
    /// n, mean and spread little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENCODED_LEN);
        out.push(FORMAT_VERSION);
        out.push(match self.kind {
            BaselineKind::Welford => 0,
            BaselineKind::Ewma => 1,
        });
        out.extend_from_slice(&self.n.to_le_bytes());
        out.extend_from_slice(&self.mean.to_le_bytes());
        out.extend_from_slice(&self.spread.to_le_bytes());
        out
    }

    /// Decodes what [`Baseline::encode`] produced, checking that the state
    /// could have been learned (finite, non-negative spread, empty when
    /// n is 0, no spread when n is 1).
    pub fn decode(bytes: &[u8]) -> Result<Self, BaselineDecodeError> {
        let b: &[u8; ENCODED_LEN] = bytes
            .try_into()
            .map_err(|_| BaselineDecodeError("length is not 26 bytes"))?;
        if b[0] != FORMAT_VERSION {
            return Err(BaselineDecodeError("unknown format version"));
        }
        let kind = match b[1] {
            0 => BaselineKind::Welford,
            1 => BaselineKind::Ewma,
            _ => return Err(BaselineDecodeError("unknown baseline kind")),
        };
        let word = |i: usize| {
            [
                b[i],
                b[i + 1],
                b[i + 2],
                b[i + 3],
                b[i + 4],
                b[i + 5],
                b[i + 6],
                b[i + 7],
            ]
        };
        let n = u64::from_le_bytes(word(2));
        let mean = f64::from_le_bytes(word(10));
        let spread = f64::from_le_bytes(word(18));
        if !mean.is_finite() || !spread.is_finite() || spread < 0.0 {
            return Err(BaselineDecodeError("non-finite mean or invalid spread"));
        }
        if (n == 0 && (mean != 0.0 || spread != 0.0)) || (n == 1 && spread != 0.0) {
            return Err(BaselineDecodeError("moments inconsistent with the count"));
        }
        Ok(Self {
            kind,
            n,
            mean,
            spread,
        })
    }
}

/// Two-sided normal tail probability `P(|Z| >= |z|)`, for reporting: 0 for
/// ±∞, NaN for NaN.
pub fn two_sided_p(z: f64) -> f64 {
    statrs::function::erf::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Accumulates one window of a metric (sum and count) between evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct MetricWindow {
    /// Sum of the values added.
    pub sum: f64,
    /// Number of values added.
    pub count: u64,
}

impl MetricWindow {
    /// Adds a value; non-finite values are ignored.
    pub fn add(&mut self, x: f64) {
        // A value that would overflow the sum is left out like a
        // non-finite one: the window must stay finite to be stored.
        let sum = self.sum + x;
        if sum.is_finite() {
            self.sum = sum;
            self.count = self.count.saturating_add(1);
        }
    }

    /// The window's mean; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// The window's mean and count, resetting the window; `None` when
    /// empty.
    pub fn take(&mut self) -> Option<(f64, u64)> {
        let out = self.mean().map(|m| (m, self.count));
        *self = Self::default();
        out
    }
}

#[cfg(test)]
#[path = "anomaly_tests.rs"]
mod tests;
