//! Effect-size thresholds learned from the reference itself
//! (`detect.effect-threshold = "reference"`): how far a window-sized
//! stretch of the reference moves away from the rest of the reference is
//! an empirical null distribution of the effect size, and a high quantile
//! of it is the least effect that counts as drift. A feature that always
//! moves a lot (seasonal swings, regimes inside the reference) needs a
//! bigger move to alert than a calm one.
//!
//! The chunks: `chunks` stretches of consecutive reference values (in
//! arrival order, so the swings the reference went through stay in them),
//! each of the current window's size `n` (the effect size of a sample
//! against the reference shrinks as the sample grows, so the null must be
//! taken at the test's sample size), their starts spread evenly from the
//! first value to the last possible one (overlapping when the reference
//! holds fewer than `chunks × n` values). A reference shorter than `2n`
//! gives chunks of half its length: smaller samples move more, so the
//! threshold errs high (fewer alerts), never low.
//!
//! Each chunk is compared with the **rest** of the reference, not with the
//! whole: a chunk inside the reference pulls the reference towards itself
//! (the whole is `m/N` chunk), which would shrink every distance by the
//! factor `1 − m/N`, half of it when the chunk is half the reference; the
//! rest is a sample independent of the chunk, as the reference is of the
//! current window. Numeric effect: the Wasserstein-1 distance in standard
//! deviations of the whole reference (the same unit as the test's effect
//! size); categorical: the Jensen–Shannon distance.
//!
//! Guarantees: deterministic (no randomness: the chunks are fixed by the
//! reference's order and size); every chunk effect equals the batch
//! computation ([`super::effect::wasserstein_distance`] of the chunk and
//! the rest over the reference's standard deviation,
//! [`super::effect::jensen_shannon`] of their counts: property-tested);
//! `None` when the reference holds fewer than two values; nothing panics.
//! Cost of one threshold: `chunks` sorts of a chunk and merges with the
//! sorted reference, `O(chunks · (N + n) · log n)` for numeric features,
//! `O(chunks · n · log c)` for `c` categories; [`NullCache`] computes it
//! once per reference state and window size.

use std::collections::BTreeMap;

use super::effect::jensen_shannon;

/// How the null distribution is sampled and read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NullPlan {
    /// Chunks of the reference (at least 1).
    pub chunks: usize,
    /// Quantile of the chunk effects that is the threshold, in `(0, 1]`
    /// (1: the largest).
    pub quantile: f64,
}

/// Chunk length and starts for a reference of `n_ref` values and a current
/// window of `window` values: `None` with fewer than two reference values.
pub fn chunk_starts(n_ref: usize, window: usize, chunks: usize) -> Option<(usize, Vec<usize>)> {
    let m = window.min(n_ref / 2);
    if m == 0 {
        return None;
    }
    let last = n_ref - m;
    let k = chunks.max(1);
    let mut starts: Vec<usize> = if k == 1 {
        vec![0]
    } else {
        // Evenly spread from 0 to `last`, both included (rounded down).
        (0..k)
            .map(|i| ((i as u128 * last as u128) / (k as u128 - 1)) as usize)
            .collect()
    };
    starts.dedup();
    Some((m, starts))
}

/// The `q` quantile of `values` (linear interpolation between order
/// statistics, NumPy's default): `None` when empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let h = (values.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(values.len() - 1);
    let (a, b) = (values[lo], values[hi]);
    let frac = h - lo as f64;
    Some(if a == b || frac == 0.0 {
        a
    } else {
        a + frac * (b - a)
    })
}

/// Population standard deviation (the one the test's effect size uses).
fn standard_deviation(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// `∫ |F_a − F_b|` for two sorted, non-empty samples (one merge).
fn wasserstein_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut total = 0.0;
    let mut previous: Option<f64> = None;
    loop {
        let x = match (a.get(i), b.get(j)) {
            (Some(p), Some(q)) => p.min(*q),
            (Some(p), None) => *p,
            (None, Some(q)) => *q,
            (None, None) => break,
        };
        if let Some(p) = previous {
            total += (x - p) * (i as f64 / na - j as f64 / nb).abs();
        }
        while a.get(i).is_some_and(|v| *v <= x) {
            i += 1;
        }
        while b.get(j).is_some_and(|v| *v <= x) {
            j += 1;
        }
        previous = Some(x);
    }
    total
}

/// The effect size of every chunk of a numeric reference against the rest
/// (Wasserstein-1 distance over the reference's standard deviation), in
/// chunk order. Empty when the reference has fewer than two values or a
/// value is not finite.
pub fn numeric_effects(reference: &[f64], window: usize, chunks: usize) -> Vec<f64> {
    if reference.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let n_ref = reference.len();
    let Some((m, starts)) = chunk_starts(n_ref, window, chunks) else {
        return Vec::new();
    };
    let mut sorted = reference.to_vec();
    sorted.sort_by(f64::total_cmp);
    let sd = standard_deviation(reference);
    // F_reference = (m F_chunk + (N − m) F_rest) / N, so
    // W(chunk, rest) = W(chunk, reference) · N / (N − m).
    let scale = n_ref as f64 / (n_ref - m) as f64;
    let mut chunk = Vec::with_capacity(m);
    starts
        .iter()
        .map(|s| {
            chunk.clear();
            chunk.extend_from_slice(&reference[*s..*s + m]);
            chunk.sort_by(f64::total_cmp);
            let w = wasserstein_sorted(&chunk, &sorted) * scale;
            if w == 0.0 {
                0.0
            } else if sd > 0.0 && sd.is_finite() {
                w / sd
            } else {
                f64::INFINITY
            }
        })
        .collect()
}

/// The Jensen–Shannon distance of every chunk of a categorical reference
/// against the rest, in chunk order; empty with fewer than two values.
pub fn categorical_effects<S: AsRef<str>>(
    reference: &[S],
    window: usize,
    chunks: usize,
) -> Vec<f64> {
    let Some((m, starts)) = chunk_starts(reference.len(), window, chunks) else {
        return Vec::new();
    };
    let mut whole: BTreeMap<&str, u64> = BTreeMap::new();
    for v in reference {
        *whole.entry(v.as_ref()).or_default() += 1;
    }
    starts
        .iter()
        .filter_map(|s| {
            let mut chunk: BTreeMap<&str, u64> = BTreeMap::new();
            for v in &reference[*s..*s + m] {
                *chunk.entry(v.as_ref()).or_default() += 1;
            }
            let rest: BTreeMap<&str, u64> = whole
                .iter()
                .map(|(k, c)| (*k, c - chunk.get(k).copied().unwrap_or(0)))
                .filter(|(_, c)| *c > 0)
                .collect();
            jensen_shannon(&rest, &chunk)
        })
        .collect()
}

/// The learned threshold: the plan's quantile of the chunk effects.
pub fn threshold(mut effects: Vec<f64>, plan: NullPlan) -> Option<f64> {
    quantile(&mut effects, plan.quantile)
}

/// A feature's learned threshold, kept while its reference and window
/// size stay the same.
#[derive(Debug, Clone, Default)]
pub struct NullCache {
    /// (reference changes counted by the feature, window size) it was
    /// computed for.
    key: Option<(u64, usize)>,
    value: Option<f64>,
    computed: u64,
}

impl NullCache {
    /// The threshold for `key`, computed by `compute` only when the key
    /// changed since the last call.
    pub fn get(&mut self, key: (u64, usize), compute: impl FnOnce() -> Option<f64>) -> Option<f64> {
        if self.key != Some(key) {
            self.value = compute();
            self.key = Some(key);
            self.computed = self.computed.saturating_add(1);
        }
        self.value
    }

    /// How many times the threshold was computed.
    pub fn computed(&self) -> u64 {
        self.computed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::effect::wasserstein_distance;
    use proptest::prelude::*;

    #[test]
    fn chunks_are_window_sized_and_spread() {
        assert_eq!(chunk_starts(1000, 500, 3), Some((500, vec![0, 250, 500])));
        assert_eq!(chunk_starts(1000, 100, 1), Some((100, vec![0])));
        // A reference shorter than two windows: chunks of half of it.
        assert_eq!(chunk_starts(10, 100, 2), Some((5, vec![0, 5])));
        // More chunks than distinct starts: each start once.
        assert_eq!(chunk_starts(4, 2, 10), Some((2, vec![0, 1, 2])));
        assert_eq!(chunk_starts(1, 10, 5), None);
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0.5, 0.9, 1.0]) = [2.5, 3.7, 4.0].
        let q = |p: f64| quantile(&mut [4.0, 1.0, 3.0, 2.0], p).unwrap_or(f64::NAN);
        assert_eq!(q(0.5), 2.5);
        assert!((q(0.9) - 3.7).abs() < 1e-12);
        assert_eq!(q(1.0), 4.0);
        assert_eq!(quantile(&mut [], 0.5), None);
        assert_eq!(
            quantile(&mut [1.0, f64::INFINITY], 0.5),
            Some(f64::INFINITY)
        );
    }

    #[test]
    fn regimes_inside_the_reference_raise_the_threshold() {
        // Calm: one spread of values. Restless: regimes of 100 values,
        // alternately around 0 and around 1, inside one reference.
        let spread = |i: usize| ((i as f64) * 0.618_033_988_749_895).fract();
        let calm: Vec<f64> = (0..1000).map(spread).collect();
        let restless: Vec<f64> = (0..1000)
            .map(|i| spread(i) + if (i / 100) % 2 == 0 { 0.0 } else { 1.0 })
            .collect();
        let plan = NullPlan {
            chunks: 20,
            quantile: 1.0,
        };
        let calm_t = threshold(numeric_effects(&calm, 100, 20), plan).unwrap_or(f64::NAN);
        let restless_t = threshold(numeric_effects(&restless, 100, 20), plan).unwrap_or(f64::NAN);
        assert!(calm_t < 0.2, "{calm_t}");
        // A chunk that is one regime is about one regime gap (1, in sds
        // of about 0.6) from the rest.
        assert!(restless_t > 0.7, "{restless_t}");
        // A constant reference never moves.
        assert_eq!(numeric_effects(&[2.0; 10], 3, 4), vec![0.0; 4]);
    }

    proptest! {
        /// Every chunk effect equals the batch computation from the
        /// reference values, and the threshold is the quantile of them.
        #[test]
        fn numeric_effects_equal_brute_force(
            values in proptest::collection::vec(-30i32..30, 0..120),
            window in 1usize..60,
            chunks in 1usize..12,
            scale in prop_oneof![Just(1.0f64), Just(0.01), Just(1e6)],
            q in 0.01f64..=1.0,
        ) {
            let r: Vec<f64> = values.iter().map(|v| f64::from(*v) * scale).collect();
            let got = numeric_effects(&r, window, chunks);
            let Some((m, starts)) = chunk_starts(r.len(), window, chunks) else {
                prop_assert!(got.is_empty());
                return Ok(());
            };
            prop_assert_eq!(got.len(), starts.len());
            let mean = r.iter().sum::<f64>() / r.len() as f64;
            let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / r.len() as f64).sqrt();
            for (s, effect) in starts.iter().zip(&got) {
                let chunk = &r[*s..*s + m];
                let rest: Vec<f64> = r[..*s].iter().chain(&r[*s + m..]).copied().collect();
                let w = wasserstein_distance(chunk, &rest).unwrap_or(f64::NAN);
                if w == 0.0 {
                    prop_assert_eq!(*effect, 0.0);
                } else {
                    let brute = w / sd;
                    prop_assert!((effect - brute).abs() <= 1e-9 * brute.max(1.0), "{} vs {}", effect, brute);
                }
            }
            let mut sorted = got.clone();
            sorted.sort_by(f64::total_cmp);
            let t = threshold(got, NullPlan { chunks, quantile: q }).unwrap_or(f64::NAN);
            prop_assert!(t >= sorted[0] && t <= sorted[sorted.len() - 1]);
            if q == 1.0 {
                prop_assert_eq!(t, sorted[sorted.len() - 1]);
            }
        }

        #[test]
        fn categorical_effects_equal_brute_force(
            values in proptest::collection::vec(0u8..5, 0..120),
            window in 1usize..60,
            chunks in 1usize..12,
        ) {
            let r: Vec<String> = values.iter().map(|v| format!("c{v}")).collect();
            let got = categorical_effects(&r, window, chunks);
            let Some((m, starts)) = chunk_starts(r.len(), window, chunks) else {
                prop_assert!(got.is_empty());
                return Ok(());
            };
            prop_assert_eq!(got.len(), starts.len());
            let count = |side: &mut dyn Iterator<Item = &String>| {
                let mut c: BTreeMap<String, u64> = BTreeMap::new();
                for v in side {
                    *c.entry(v.clone()).or_default() += 1;
                }
                c
            };
            for (s, effect) in starts.iter().zip(&got) {
                let chunk = count(&mut r[*s..*s + m].iter());
                let rest = count(&mut r[..*s].iter().chain(&r[*s + m..]));
                let brute = jensen_shannon(&rest, &chunk).unwrap_or(f64::NAN);
                prop_assert!((effect - brute).abs() <= 1e-12, "{} vs {}", effect, brute);
            }
        }
    }

    #[test]
    fn the_cache_computes_once_per_key() {
        let mut cache = NullCache::default();
        let mut calls = 0;
        for key in [(1, 10), (1, 10), (2, 10), (2, 10), (2, 11)] {
            let got = cache.get(key, || {
                calls += 1;
                Some(calls as f64)
            });
            assert_eq!(got, Some(calls as f64));
        }
        assert_eq!((calls, cache.computed()), (3, 3));
    }
}
