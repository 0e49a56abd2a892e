//! Exponential backoff with jitter between delivery attempts.
//!
//! Guarantees: the wait before retry `n` (1 = the first retry) is drawn
//! uniformly from `[d/2, d]` where `d = min(initial × 2^(n-1), max)`, so
//! waits grow until `max` and retries of many commands do not fall in step.
//! Pure code: the random source is a parameter.

use std::time::Duration;

use rand::Rng;

/// The retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first wait.
    pub initial: Duration,
    /// Ceiling of every wait.
    pub max: Duration,
}

impl Backoff {
    /// The ceiling `d` of retry `retry` (1-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(31));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The wait before retry `retry`, jittered with `rng`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let d = self.ceiling(retry);
        let half = d / 2;
        let span = d.saturating_sub(half).as_nanos().min(u128::from(u64::MAX)) as u64;
        half + Duration::from_nanos(if span == 0 {
            0
        } else {
            rng.gen_range(0..=span)
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn waits_double_up_to_the_ceiling_and_stay_within_jitter_bounds() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let ceilings: Vec<u128> = (1..=6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.ceiling(1000), Duration::from_secs(1));
        let mut rng = StdRng::seed_from_u64(7);
        let mut distinct = std::collections::BTreeSet::new();
        for n in 1..=8 {
            for _ in 0..200 {
                let d = b.delay(n, &mut rng);
                assert!(d >= b.ceiling(n) / 2 && d <= b.ceiling(n), "{n}: {d:?}");
                distinct.insert(d);
            }
        }
        assert!(distinct.len() > 100, "no jitter: {}", distinct.len());
        let zero = Backoff {
            initial: Duration::ZERO,
            max: Duration::ZERO,
        };
        assert_eq!(zero.delay(3, &mut rng), Duration::ZERO);
    }
}
