//! One arm's Normal–inverse-gamma belief, and the two steps every posterior
//! is built from: learning from outcome statistics, and widening a pool's
//! belief into the prior of one model that may deviate from it.
//!
//! Guarantees:
//! * a [`Belief`] is `w | σ² ~ N(mu, σ² Λ⁻¹)`, `σ² ~ InvGamma(a, b)`, with
//!   `eta = Λ mu` kept alongside;
//! * [`Belief::learn`] is the exact conjugate update by weighted sufficient
//!   statistics (`Λ' = Λ + Σwxxᵀ`, `η' = η + Σwrx`, `a' = a + Σw/2`,
//!   `b' = b + ½(Σwr² + muᵀη − mu'ᵀη')`): learning A then B equals learning
//!   A and B together (up to rounding);
//! * [`Belief::widen`] adds `τ²` to the variance of the intercept (weight
//!   0, in units of σ²), leaving the mean and the noise belief alone: the
//!   belief about a model whose weights are the pool's plus a deviation of
//!   its intercept `δ ~ N(0, σ² τ²)` (its mean reward for the action may
//!   differ from the pool's; how the reward varies with the context is
//!   shared). `τ² = 0` returns the belief unchanged, so a hierarchy with no
//!   deviation is complete pooling exactly;
//! * no function panics: bad dimensions and non-finite values return
//!   [`BanditError`].

use super::linalg;
use super::stats::ArmStats;
use super::thompson::{ArmParts, ArmPosterior, BanditError, Prior};
use crate::schema::Action;

/// One arm's Normal–inverse-gamma belief.
#[derive(Debug, Clone, PartialEq)]
pub struct Belief {
    /// Mean of the weights.
    pub mu: Vec<f64>,
    /// Precision of the weights in units of 1/σ² (row-major `d × d`).
    pub lambda: Vec<f64>,
    /// `Λ mu`.
    pub eta: Vec<f64>,
    /// Inverse-gamma shape of σ².
    pub a: f64,
    /// Inverse-gamma scale of σ².
    pub b: f64,
}

impl Belief {
    /// The base prior centred on `m0`: `Λ = precision · I`, `a = a0`, `b = b0`.
    pub fn prior(prior: Prior, m0: &[f64]) -> Result<Self, BanditError> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !(ok(prior.precision) && ok(prior.a0) && ok(prior.b0)) {
            return Err(BanditError::InvalidPrior);
        }
        if m0.iter().any(|v| !v.is_finite()) {
            return Err(BanditError::NonFinite);
        }
        let d = m0.len();
        if d == 0 {
            return Err(BanditError::ZeroDimension);
        }
        Ok(Belief {
            mu: m0.to_vec(),
            lambda: linalg::scaled_identity(d, prior.precision),
            eta: m0.iter().map(|m| prior.precision * m).collect(),
            a: prior.a0,
            b: prior.b0,
        })
    }

    fn dim(&self) -> usize {
        self.mu.len()
    }

    /// The belief after the outcomes summarised by `s`.
    pub fn learn(&self, s: &ArmStats) -> Result<Self, BanditError> {
        let d = self.dim();
        if s.xr.len() != d || s.xx.len() != d * d {
            return Err(BanditError::DimensionMismatch {
                expected: d,
                got: s.xr.len(),
            });
        }
        let lambda: Vec<f64> = self.lambda.iter().zip(&s.xx).map(|(p, x)| p + x).collect();
        let eta: Vec<f64> = self.eta.iter().zip(&s.xr).map(|(p, x)| p + x).collect();
        let chol = linalg::cholesky(&lambda, d)?;
        let mu = linalg::cholesky_solve(&chol, d, &eta)?;
        let before = linalg::dot(&self.mu, &self.eta)?;
        let fit = linalg::dot(&mu, &eta)?;
        let b = (self.b + 0.5 * (s.rr + before - fit)).max(self.b * 1e-9);
        let a = self.a + 0.5 * s.weight.max(0.0);
        if !(a.is_finite() && b.is_finite()) || mu.iter().any(|v| !v.is_finite()) {
            return Err(BanditError::NonFinite);
        }
        Ok(Belief {
            mu,
            lambda,
            eta,
            a,
            b,
        })
    }

    /// The belief about a member whose intercept deviates from this one's
    /// by `δ ~ N(0, σ² τ²)`: covariance `Λ⁻¹ + τ² e₀e₀ᵀ`.
    pub fn widen(&self, tau2: f64) -> Result<Self, BanditError> {
        if !(tau2.is_finite() && tau2 >= 0.0) {
            return Err(BanditError::InvalidPrior);
        }
        if tau2 == 0.0 {
            return Ok(self.clone());
        }
        let d = self.dim();
        let mut cov = self.covariance()?;
        cov[0] += tau2;
        let lambda = linalg::cholesky_inverse(&linalg::cholesky(&cov, d)?, d)?;
        let eta = linalg::mat_vec(&lambda, d, &self.mu)?;
        Ok(Belief {
            mu: self.mu.clone(),
            lambda,
            eta,
            a: self.a,
            b: self.b,
        })
    }

    /// `Λ⁻¹`: the weights' covariance in units of σ².
    pub fn covariance(&self) -> Result<Vec<f64>, BanditError> {
        let d = self.dim();
        Ok(linalg::cholesky_inverse(
            &linalg::cholesky(&self.lambda, d)?,
            d,
        )?)
    }

    /// The posterior mean of σ² (`b / (a − 1)`; `b / a` when `a ≤ 1`, where
    /// the mean does not exist).
    pub fn noise_mean(&self) -> f64 {
        if self.a > 1.0 {
            self.b / (self.a - 1.0)
        } else {
            self.b / self.a
        }
    }

    /// The arm that decides with this belief, having learned from `n`
    /// outcomes.
    pub fn into_arm(self, action: Action, n: u64) -> Result<ArmPosterior, BanditError> {
        let chol = linalg::cholesky(&self.lambda, self.dim())?;
        Ok(ArmPosterior::from_parts(ArmParts {
            action,
            mu: self.mu,
            lambda: self.lambda,
            chol,
            eta: self.eta,
            a: self.a,
            b: self.b,
            n,
        }))
    }
}
