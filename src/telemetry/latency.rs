//! Latency histograms: Prometheus histograms in seconds over fixed
//! exponential buckets, exported as `_bucket{le}`, `_sum` and `_count`.
//!
//! Guarantees: every observation since the process started is counted
//! once, in the first bucket whose upper bound is at least its value
//! (observations over the last bound only in `le="+Inf"`); the buckets are
//! the same for every histogram and every instance ([`buckets`]), so
//! `histogram_quantile` over `sum by (le)` of several instances is sound;
//! recording never fails and never panics.

use std::time::Duration;

use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// Upper bound of the first bucket, in seconds (10 µs).
pub const FIRST_BUCKET_SECONDS: f64 = 1e-5;
/// Ratio between consecutive bucket bounds.
pub const BUCKET_FACTOR: f64 = 2.0;
/// Buckets before `+Inf`: the last bound is 10 µs · 2¹⁹ ≈ 5.24 s.
pub const BUCKET_COUNT: u16 = 20;

/// The upper bounds of the buckets, in seconds, ascending (`+Inf` apart).
pub fn buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(FIRST_BUCKET_SECONDS, BUCKET_FACTOR, BUCKET_COUNT)
}

/// A latency histogram, safe to share between threads.
#[derive(Debug)]
pub struct Latency(Histogram);

impl Default for Latency {
    fn default() -> Self {
        Latency(Histogram::new(buckets()))
    }
}

impl Latency {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        self.0.observe(elapsed.as_secs_f64());
    }

    /// The histogram, for the exposition.
    pub fn histogram(&self) -> &Histogram {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_by_the_factor_from_ten_microseconds() {
        let b: Vec<f64> = buckets().collect();
        assert_eq!(b.len(), usize::from(BUCKET_COUNT));
        assert!((b[0] - 1e-5).abs() < 1e-18);
        for pair in b.windows(2) {
            assert!((pair[1] / pair[0] - BUCKET_FACTOR).abs() < 1e-9, "{pair:?}");
        }
        let last = b[b.len() - 1];
        assert!((last - 5.24288).abs() < 1e-9, "{last}");
    }
    // Counts, sums and the buckets an observation lands in are checked on
    // the exposition (`exposition.rs`).
}
