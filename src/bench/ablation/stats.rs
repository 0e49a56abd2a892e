//! Summary statistics for the ablation: sample mean with a two-sided 95%
//! Student-t confidence interval over independent replicates (seeds).
//!
//! Guarantees: never panics; an empty input gives NaN, a single replicate gives
//! a degenerate interval `[mean, mean]`.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Mean and 95% confidence interval of a set of replicates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanCi {
    /// Sample mean.
    pub mean: f64,
    /// `[low, high]` = mean ∓ t₀.₉₇₅,ₙ₋₁ · s/√n.
    pub ci95: [f64; 2],
}

/// Mean and t-based 95% CI of `xs`.
pub fn mean_ci95(xs: &[f64]) -> MeanCi {
    let n = xs.len();
    if n == 0 {
        return MeanCi {
            mean: f64::NAN,
            ci95: [f64::NAN, f64::NAN],
        };
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return MeanCi {
            mean,
            ci95: [mean, mean],
        };
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .map(|d| d.inverse_cdf(0.975))
        .unwrap_or(1.96);
    let half = t * (var / n as f64).sqrt();
    MeanCi {
        mean,
        ci95: [mean - half, mean + half],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let s = mean_ci95(&[1.0, 2.0, 3.0]);
        assert!((s.mean - 2.0).abs() < 1e-12);
        // t_{0.975,2} = 4.302653; s = 1; half = 4.302653/sqrt(3).
        let half = 4.302_652_73 / 3f64.sqrt();
        assert!((s.ci95[1] - 2.0 - half).abs() < 1e-5);
        assert_eq!(mean_ci95(&[5.0]).ci95, [5.0, 5.0]);
        assert!(mean_ci95(&[]).mean.is_nan());
    }
}
