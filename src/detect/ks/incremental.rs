//! Incremental two-sample Kolmogorov–Smirnov statistic for a sliding window.
//!
//! Each sample is kept as sorted order keys (one `u64` per value, see
//! [`order_key`]) in blocks of bounded size ([`SortedKeys`]); an insert or a
//! removal is a binary search plus a move of at most one block, and a read
//! is one merge of the two sorted samples.
//!
//! # Guarantees
//!
//! * The statistics equal scipy's `ks_2samp(reference, current)` definitions
//!   exactly (as rationals): `D = max_x |F_ref(x) - F_cur(x)|` over all distinct
//!   pooled values `x`, ECDFs right-continuous (all values equal to `x` counted).
//!   [`IncrementalKs::statistic_greater`] is `max(F_ref - F_cur)` (scipy
//!   `'greater'`), [`IncrementalKs::statistic_less`] is `max(F_cur - F_ref)`
//!   (scipy `'less'`); both are `>= 0`. [`IncrementalKs::exact`] returns the
//!   integer numerators over `n_ref * n_cur`; the `f64` getters are the correctly
//!   rounded quotient whenever numerator and denominator are below 2^53.
//! * `-0.0` and `0.0` are the same value (as with `np.searchsorted`). Values are
//!   ordered by `f64::total_cmp`. NaN (any payload) is accepted without panic and
//!   treated as one distinct value above `+inf` (scipy would propagate NaN).
//! * Every sum is exact integer arithmetic. Removing an absent value returns
//!   `false` and changes nothing; nothing panics.
//!
//! # Cost model (`n` = size of the sample changed, `N` = both samples)
//!
//! * insert / remove: `O(log n)` comparisons plus a `memmove` of at most one
//!   block (8 KiB);
//! * statistic reads: one `O(N)` merge over contiguous blocks.
//!
//! Drift detection reads the statistic once per evaluation (every few hundred
//! records), so the reads are amortised over many updates. An earlier treap
//! (dos Reis et al., KDD 2016) read in `O(1)`, but each update chased
//! `O(log n)` pointers through a 96-byte node per value: with thousands of
//! models × features those nodes do not fit in any cache and every update
//! cost about a microsecond of cache misses, twelve times the memory of the
//! values themselves. Memory here: 8 bytes per value (plus vector slack).

use std::collections::VecDeque;
use std::iter::Peekable;

use super::sorted::SortedKeys;

/// Exact one-sided statistics as integer numerators over `denominator`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KsExact {
    /// `n_ref * n_cur * max(F_ref - F_cur)` (scipy `'greater'`), `>= 0`.
    pub greater: u128,
    /// `n_ref * n_cur * max(F_cur - F_ref)` (scipy `'less'`), `>= 0`.
    pub less: u128,
    /// `n_ref * n_cur` (0 when either sample is empty; numerators are then 0).
    pub denominator: u128,
}

impl KsExact {
    /// Numerator of the two-sided statistic `D`.
    pub fn two_sided(&self) -> u128 {
        self.greater.max(self.less)
    }
}

/// The value's position in `f64::total_cmp` order as an unsigned integer,
/// after `-0.0 -> 0.0` and every NaN -> `f64::NAN` (above `+inf`): equal keys
/// are equal values, and integer order is value order.
pub fn order_key(v: f64) -> u64 {
    let canon = if v.is_nan() { f64::NAN } else { v + 0.0 };
    let bits = canon.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The value of an order key (the inverse of [`order_key`]).
pub fn key_value(key: u64) -> f64 {
    if key >> 63 == 1 {
        f64::from_bits(key & !(1 << 63))
    } else {
        f64::from_bits(!key)
    }
}

/// One full comparison of the two samples: the KS numerators, the
/// Wasserstein-1 distance and the reference's spread, from one merge.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Comparison {
    /// KS statistics as exact numerators.
    pub exact: KsExact,
    /// Wasserstein-1 (earth mover's) distance between the two empirical
    /// distributions, `∫ |F_ref(x) - F_cur(x)| dx` (scipy's
    /// `wasserstein_distance`); 0.0 if either sample is empty.
    pub wasserstein: f64,
    /// Population standard deviation of the reference sample (numpy's
    /// `std`, `ddof = 0`); 0.0 if it is empty.
    pub reference_sd: f64,
}

impl Comparison {
    /// Two-sided KS `D`; 0.0 if either sample is empty.
    pub fn statistic(&self) -> f64 {
        ratio(self.exact.two_sided(), self.exact.denominator)
    }

    /// The Wasserstein distance in units of the reference's standard
    /// deviation (Evidently's normed Wasserstein distance): `None` if a
    /// sample is empty or a value is not finite; `+inf` for any difference
    /// from a constant reference, 0.0 for none.
    pub fn normed_wasserstein(&self) -> Option<f64> {
        if self.exact.denominator == 0 || !self.wasserstein.is_finite() {
            return None;
        }
        if self.wasserstein == 0.0 {
            Some(0.0)
        } else if self.reference_sd > 0.0 && self.reference_sd.is_finite() {
            Some(self.wasserstein / self.reference_sd)
        } else {
            Some(f64::INFINITY)
        }
    }
}

fn ratio(num: u128, den: u128) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Incremental two-sample KS statistic between a reference and a current sample.
#[derive(Clone, Debug, Default)]
pub struct IncrementalKs {
    /// Order keys of the reference sample.
    reference: SortedKeys,
    /// Order keys of the current sample.
    current: SortedKeys,
}

impl IncrementalKs {
    /// Empty samples.
    pub fn new() -> Self {
        IncrementalKs::default()
    }

    /// Adds one value to the reference sample.
    pub fn insert_reference(&mut self, value: f64) {
        self.reference.insert(order_key(value));
    }

    /// Removes one occurrence of `value` from the reference sample; `false`
    /// (and no change) if absent.
    pub fn remove_reference(&mut self, value: f64) -> bool {
        self.reference.remove(order_key(value))
    }

    /// Adds one value to the current sample.
    pub fn insert_current(&mut self, value: f64) {
        self.current.insert(order_key(value));
    }

    /// Removes one occurrence of `value` from the current sample; `false`
    /// (and no change) if absent.
    pub fn remove_current(&mut self, value: f64) -> bool {
        self.current.remove(order_key(value))
    }

    /// Size of the reference sample.
    pub fn n_reference(&self) -> usize {
        self.reference.len()
    }

    /// Size of the current sample.
    pub fn n_current(&self) -> usize {
        self.current.len()
    }

    /// Number of distinct pooled values. `O(N)`.
    pub fn distinct_values(&self) -> usize {
        let mut pooled = merge(&self.reference, &self.current);
        let mut distinct = 0;
        while pooled.next_distinct().is_some() {
            distinct += 1;
        }
        distinct
    }

    /// Two-sided `D`; 0.0 if either sample is empty.
    pub fn statistic(&self) -> f64 {
        let e = self.exact();
        ratio(e.two_sided(), e.denominator)
    }

    /// `max(F_ref - F_cur)`, scipy's `alternative='greater'`; 0.0 if a side is empty.
    pub fn statistic_greater(&self) -> f64 {
        let e = self.exact();
        ratio(e.greater, e.denominator)
    }

    /// `max(F_cur - F_ref)`, scipy's `alternative='less'`; 0.0 if a side is empty.
    pub fn statistic_less(&self) -> f64 {
        let e = self.exact();
        ratio(e.less, e.denominator)
    }

    /// Exact integer numerators of `D+`, `D-` over `n_ref * n_cur`: one merge
    /// of the two sorted samples.
    pub fn exact(&self) -> KsExact {
        if self.reference.is_empty() || self.current.is_empty() {
            return KsExact::default();
        }
        let (n_ref, n_cur) = (self.reference.len(), self.current.len());
        // At a distinct value x with i reference and j current values <= x,
        // n_ref * n_cur * (F_ref(x) - F_cur(x)) = i * n_cur - j * n_ref.
        // Once one sample is exhausted the difference only moves back to 0
        // (where it ends), so neither extreme can grow after that.
        let (a, b) = (n_ref as i128, n_cur as i128);
        let (mut max, mut min) = (0i128, 0i128);
        let mut pooled = merge(&self.reference, &self.current);
        while let Some((_, i, j)) = pooled.next_distinct() {
            let d = i as i128 * b - j as i128 * a;
            max = max.max(d);
            min = min.min(d);
            if i == n_ref || j == n_cur {
                break;
            }
        }
        KsExact {
            greater: max.unsigned_abs(),
            less: min.unsigned_abs(),
            denominator: (a * b).unsigned_abs(),
        }
    }
}

impl IncrementalKs {
    /// The KS numerators (as [`IncrementalKs::exact`]), the Wasserstein-1
    /// distance and the reference's standard deviation: one merge over
    /// both samples to their ends.
    pub fn compare(&self) -> Comparison {
        if self.reference.is_empty() || self.current.is_empty() {
            return Comparison::default();
        }
        let (n_ref, n_cur) = (self.reference.len(), self.current.len());
        let (a, b) = (n_ref as i128, n_cur as i128);
        let denominator = (a * b) as f64;
        let (mut max, mut min) = (0i128, 0i128);
        let (mut wasserstein, mut previous) = (0.0f64, None::<(f64, i128)>);
        // Welford over the reference's distinct values with their counts.
        let (mut n, mut mean, mut m2, mut seen) = (0.0f64, 0.0f64, 0.0f64, 0usize);
        let mut pooled = merge(&self.reference, &self.current);
        while let Some((key, i, j)) = pooled.next_distinct() {
            let x = key_value(key);
            let d = i as i128 * b - j as i128 * a;
            max = max.max(d);
            min = min.min(d);
            if let Some((before, d_before)) = previous {
                // Between two pooled values the ECDFs are flat.
                wasserstein += (x - before) * (d_before.unsigned_abs() as f64 / denominator);
            }
            previous = Some((x, d));
            if i > seen {
                let count = (i - seen) as f64;
                seen = i;
                let total = n + count;
                let delta = x - mean;
                mean += delta * count / total;
                m2 += delta * (x - mean) * count;
                n = total;
            }
        }
        Comparison {
            exact: KsExact {
                greater: max.unsigned_abs(),
                less: min.unsigned_abs(),
                denominator: (a * b).unsigned_abs(),
            },
            wasserstein,
            reference_sd: if n > 0.0 {
                (m2 / n).max(0.0).sqrt()
            } else {
                0.0
            },
        }
    }
}

/// Walks two sorted samples together, one distinct pooled value at a time.
struct Merge<R: Iterator<Item = u64>, C: Iterator<Item = u64>> {
    reference: Peekable<R>,
    current: Peekable<C>,
    /// Reference and current keys consumed so far.
    counts: (usize, usize),
}

fn merge<'a>(
    reference: &'a SortedKeys,
    current: &'a SortedKeys,
) -> Merge<impl Iterator<Item = u64> + 'a, impl Iterator<Item = u64> + 'a> {
    Merge {
        reference: reference.iter().peekable(),
        current: current.iter().peekable(),
        counts: (0, 0),
    }
}

impl<R: Iterator<Item = u64>, C: Iterator<Item = u64>> Merge<R, C> {
    /// Consumes every key equal to the next distinct pooled value; returns
    /// it with how many reference and current keys are at or below it.
    fn next_distinct(&mut self) -> Option<(u64, usize, usize)> {
        let x = match (self.reference.peek(), self.current.peek()) {
            (Some(&r), Some(&c)) => r.min(c),
            (Some(&r), None) => r,
            (None, Some(&c)) => c,
            (None, None) => return None,
        };
        while self.reference.next_if_eq(&x).is_some() {
            self.counts.0 += 1;
        }
        while self.current.next_if_eq(&x).is_some() {
            self.counts.1 += 1;
        }
        Some((x, self.counts.0, self.counts.1))
    }
}

/// A fixed reference sample against a sliding window of the most recent
/// `capacity` values.
#[derive(Clone, Debug)]
pub struct SlidingKs {
    ks: IncrementalKs,
    window: VecDeque<f64>,
    capacity: usize,
}

impl SlidingKs {
    /// Empty window of `capacity` values (a capacity of 0 is treated as 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        SlidingKs {
            ks: IncrementalKs::new(),
            window: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Adds a value to the reference sample.
    pub fn insert_reference(&mut self, value: f64) {
        self.ks.insert_reference(value);
    }

    /// Removes one occurrence from the reference sample; `false` if absent.
    pub fn remove_reference(&mut self, value: f64) -> bool {
        self.ks.remove_reference(value)
    }

    /// Appends `value` to the window, evicting and returning the oldest value
    /// if the window was full.
    pub fn push(&mut self, value: f64) -> Option<f64> {
        let evicted = if self.window.len() >= self.capacity {
            self.window.pop_front()
        } else {
            None
        };
        if let Some(old) = evicted {
            // Always present: every window value was inserted as current.
            self.ks.remove_current(old);
        }
        self.ks.insert_current(value);
        self.window.push_back(value);
        evicted
    }

    /// Two-sided `D` between reference and window; 0.0 if either is empty.
    pub fn statistic(&self) -> f64 {
        self.ks.statistic()
    }

    /// `max(F_ref - F_window)` (scipy `'greater'`).
    pub fn statistic_greater(&self) -> f64 {
        self.ks.statistic_greater()
    }

    /// `max(F_window - F_ref)` (scipy `'less'`).
    pub fn statistic_less(&self) -> f64 {
        self.ks.statistic_less()
    }

    /// The window contents, oldest first.
    pub fn window(&self) -> &VecDeque<f64> {
        &self.window
    }

    /// Window capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The underlying incremental statistic.
    pub fn inner(&self) -> &IncrementalKs {
        &self.ks
    }
}

#[cfg(test)]
#[path = "incremental_tests.rs"]
mod tests;
