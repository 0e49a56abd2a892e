//! How far models stray from the pool: the empirical-Bayes estimate of the
//! hierarchical prior's deviation τ², one per arm.
//!
//! Guarantees:
//! * [`estimate`] is a pure function of the members' statistics (in the
//!   order given), the scope's total, the base prior and the prior means:
//!   every instance holding the same pool gets the same τ²;
//! * per arm, the one-way random-effects analysis of variance of the
//!   residuals `e = r − xᵀμ` around the scope's completely pooled posterior
//!   mean `μ` (weighted by the outcomes' forgetting weights `w`): with
//!   `nⱼ = Σw`, `s₁ⱼ = Σw·e` and `s₂ⱼ = Σw·e²` of member `j` (all from its
//!   sufficient statistics; the context's entry 0 is the intercept 1),
//!   the within-member mean square `σ̂² = Σⱼ(s₂ⱼ − s₁ⱼ²/nⱼ) / Σⱼ(nⱼ − 1)`
//!   estimates the reward noise variance, the between-member mean square
//!   `B = Σⱼ nⱼ(ēⱼ − ē)² / (J − 1)` has expectation `σ² + n₀·v` with `v`
//!   the variance of the members' intercepts and
//!   `n₀ = (N − Σⱼnⱼ²/N) / (J − 1)`. Under no difference `B / σ̂²` follows
//!   `F(J − 1, Σⱼ(nⱼ − 1))`; only the part beyond its [`LEVEL`] quantile
//!   `f` counts: `τ² = max(0, (B / σ̂² − f) / n₀)`, the intercepts'
//!   variance in units of σ² (the moment estimate `(B / σ̂² − 1) / n₀`,
//!   made conservative so that alike models are pooled completely unless
//!   their outcomes say otherwise at that level);
//! * the noise estimate uses only repeated outcomes of the same member, so
//!   it does not depend on the noise prior; on a fleet of alike models τ²
//!   is 0 with probability about [`LEVEL`];
//! * an arm with fewer than two members with outcomes, or less than one
//!   degree of freedom within members, gets τ² = 0: there is nothing to
//!   compare yet (complete pooling);
//! * nothing panics: bad dimensions and non-finite values return
//!   [`BanditError`].

use statrs::distribution::{ContinuousCDF, FisherSnedecor};

use super::belief::Belief;
use super::stats::{ArmStats, BanditStats};
use super::thompson::{BanditError, Prior};

/// The share of the between-member spread that noise alone stays below:
/// only the spread beyond this quantile of `F(J − 1, df)` counts as models
/// differing.
pub const LEVEL: f64 = 0.95;

/// τ² per arm of `total` (in its arms' order) from the scope's `members`
/// (each a model's own statistics; `total` is their sum), with the base
/// prior and prior means `m0s` (one per arm) the pooled fit uses.
pub fn estimate(
    members: &[&BanditStats],
    total: &BanditStats,
    prior: Prior,
    m0s: &[Vec<f64>],
) -> Result<Vec<f64>, BanditError> {
    let actions = total.actions();
    if m0s.len() != actions.len() {
        return Err(BanditError::DimensionMismatch {
            expected: actions.len(),
            got: m0s.len(),
        });
    }
    let mut taus = Vec::with_capacity(actions.len());
    for (action, m0) in actions.into_iter().zip(m0s) {
        let all = total.arm(action).ok_or(BanditError::UnknownArm(action))?;
        let mu = Belief::prior(prior, m0)?.learn(all)?.mu;
        let mut groups = Vec::new();
        for m in members {
            let s = m.arm(action).ok_or(BanditError::UnknownArm(action))?;
            if s.weight > 0.0 {
                groups.push(residual_sums(s, &mu)?);
            }
        }
        let tau2 = anova(&groups);
        if !tau2.is_finite() {
            return Err(BanditError::NonFinite);
        }
        taus.push(tau2);
    }
    Ok(taus)
}

/// `(n, s₁, s₂) = (Σw, Σw·e, Σw·e²)` of the residuals `e = r − xᵀμ`.
fn residual_sums(s: &ArmStats, mu: &[f64]) -> Result<(f64, f64, f64), BanditError> {
    let d = mu.len();
    if s.xr.len() != d || s.xx.len() != d * d {
        return Err(BanditError::DimensionMismatch {
            expected: d,
            got: s.xr.len(),
        });
    }
    let fitted_sum: f64 = s.xx[..d].iter().zip(mu).map(|(x, m)| x * m).sum();
    let s1 = s.xr[0] - fitted_sum;
    let cross: f64 = mu.iter().zip(&s.xr).map(|(m, x)| m * x).sum();
    let mut quad = 0.0;
    for i in 0..d {
        for j in 0..d {
            quad += mu[i] * s.xx[i * d + j] * mu[j];
        }
    }
    let s2 = (s.rr - 2.0 * cross + quad).max(0.0);
    Ok((s.weight, s1, s2))
}

/// τ² = v̂ / σ̂² of the one-way random-effects ANOVA of `(n, s₁, s₂)` per
/// member; 0 when it cannot be estimated.
fn anova(groups: &[(f64, f64, f64)]) -> f64 {
    let j = groups.len() as f64;
    let n: f64 = groups.iter().map(|g| g.0).sum();
    let within: f64 = groups
        .iter()
        .map(|(n, s1, s2)| (s2 - s1 * s1 / n).max(0.0))
        .sum();
    let df_within: f64 = groups.iter().map(|g| (g.0 - 1.0).max(0.0)).sum();
    if groups.len() < 2 || df_within < 1.0 || n <= 0.0 {
        return 0.0;
    }
    let sigma2 = within / df_within;
    if sigma2 <= 0.0 {
        return 0.0;
    }
    let grand = groups.iter().map(|g| g.1).sum::<f64>() / n;
    let between: f64 = groups
        .iter()
        .map(|(n, s1, _)| n * (s1 / n - grand).powi(2))
        .sum::<f64>()
        / (j - 1.0);
    let n0 = (n - groups.iter().map(|g| g.0 * g.0).sum::<f64>() / n) / (j - 1.0);
    if n0 <= 0.0 {
        return 0.0;
    }
    let ratio = between / sigma2;
    if ratio <= 1.0 {
        // The F distribution's upper quantiles exceed 1: nothing counts,
        // and the (costly) quantile is not needed.
        return 0.0;
    }
    let Ok(f) = FisherSnedecor::new(j - 1.0, df_within) else {
        return 0.0;
    };
    let critical = f.inverse_cdf(LEVEL);
    if !critical.is_finite() {
        return 0.0;
    }
    ((ratio - critical) / n0).max(0.0)
}

#[cfg(test)]
#[path = "deviation_tests.rs"]
mod tests;
