//! Latency histograms (hdrhistogram) and the quantiles exported from them.
//!
//! Guarantees: every observation from 1 ns to 1 h is kept with 3
//! significant digits (longer ones count as 1 h); quantiles are over every
//! observation since the process started; recording never fails and never
//! panics, even after a thread panicked while holding the lock.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;

/// Longest latency kept exactly, in nanoseconds (1 h).
const HIGHEST_NS: u64 = 3_600_000_000_000;
/// Significant digits kept.
const SIGNIFICANT_DIGITS: u8 = 3;

/// The quantiles exported for every latency histogram (1.0 is the maximum).
pub const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 1.0];

/// A latency histogram, safe to share between threads.
#[derive(Default)]
pub struct Latency {
    // `None` until the first observation (creating the histogram with
    // constant bounds cannot fail, but is not assumed not to).
    histogram: Mutex<Option<Histogram<u64>>>,
}

/// A snapshot of a histogram: observation count and quantiles in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    /// Observations so far.
    pub count: u64,
    /// `(quantile, seconds)` for each of [`QUANTILES`]; seconds are NaN
    /// while there is no observation.
    pub values: [(f64, f64); 4],
}

impl std::fmt::Debug for Latency {
    /// The count and quantiles, not the histogram's thousands of buckets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = self.quantiles();
        f.debug_struct("Latency")
            .field("count", &q.count)
            .field("quantiles", &q.values)
            .finish()
    }
}

impl Latency {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let mut guard = self
            .histogram
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            *guard = Histogram::new_with_bounds(1, HIGHEST_NS, SIGNIFICANT_DIGITS).ok();
        }
        if let Some(h) = guard.as_mut() {
            h.saturating_record(ns.clamp(1, HIGHEST_NS));
        }
    }

    /// The count and quantiles observed so far.
    pub fn quantiles(&self) -> Quantiles {
        let guard = self
            .histogram
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let h = guard.as_ref().filter(|h| !h.is_empty());
        Quantiles {
            count: h.map_or(0, |h| h.len()),
            values: QUANTILES.map(|q| {
                let seconds = h.map_or(f64::NAN, |h| {
                    let ns = if q >= 1.0 {
                        h.max()
                    } else {
                        h.value_at_quantile(q)
                    };
                    ns as f64 / 1e9
                });
                (q, seconds)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within hdrhistogram's 3 significant digits.
    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= want * 1e-3
    }

    #[test]
    fn empty_histogram_has_no_count_and_nan_quantiles() {
        let q = Latency::default().quantiles();
        assert_eq!(q.count, 0);
        assert!(q.values.iter().all(|(_, s)| s.is_nan()));
        assert_eq!(q.values.map(|(q, _)| q), QUANTILES);
    }

    #[test]
    fn quantiles_of_one_to_a_thousand_microseconds() {
        let l = Latency::default();
        // 1..=1000 µs, shuffled order does not matter.
        for us in (1..=1000u64).rev() {
            l.observe(Duration::from_micros(us));
        }
        let q = l.quantiles();
        assert_eq!(q.count, 1000);
        let want = [500e-6, 900e-6, 990e-6, 1000e-6];
        for ((quantile, got), want) in q.values.iter().zip(want) {
            assert!(close(*got, want), "q{quantile}: {got} vs {want}");
        }
    }

    #[test]
    fn extremes_are_clamped_not_lost() {
        let l = Latency::default();
        l.observe(Duration::ZERO);
        l.observe(Duration::from_secs(7200));
        let q = l.quantiles();
        assert_eq!(q.count, 2);
        let max = q.values[3].1;
        assert!(close(max, 3600.0), "max {max}");
        assert!(q.values[0].1 <= 1e-8, "p50 {}", q.values[0].1);
    }
}
