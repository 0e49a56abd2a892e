//! Bayesian linear contextual bandit with Thompson sampling.
//!
//! Guarantees:
//! * each active arm holds an exact Normal–inverse-gamma posterior
//!   `(mu, Lambda, a, b)` for `reward = xᵀw + ε`, `ε ~ N(0, σ²)`, updated with
//!   the standard conjugate recursion (the noise variance is learned);
//! * `Lambda` is kept together with its Cholesky factor (rank-1 updated), so a
//!   posterior draw costs O(d²): `σ² ~ InvGamma(a, b)`, `w = mu + σ L⁻ᵀ z`;
//! * [`LinearThompsonBandit::decide`] is a pure function of the state, the
//!   context and the RNG stream: the same seed gives the same choice;
//! * no public method panics on bad input: dimension mismatches, non-finite
//!   values, unknown arms and malformed persisted bytes return [`BanditError`];
//! * [`LinearThompsonBandit::to_bytes`] / [`LinearThompsonBandit::from_bytes`]
//!   round-trip the state bit-exactly (little-endian IEEE-754); an arm's
//!   [`ArmPosterior::deviation`] (how its pooled prior was built, recorded
//!   for the audit) is not state: a decoded arm has 0.

use crate::decide::bandit::linalg::{self, LinalgError};
use crate::schema::Action;
use rand::distributions::Distribution;
use rand::Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Gamma, Normal};
use std::fmt;

/// Default number of joint posterior draws used to estimate confidence.
pub const DEFAULT_SAMPLES: usize = 200;

/// Errors from bandit construction, updates, decisions and decoding.
#[derive(Debug, Clone, PartialEq)]
pub enum BanditError {
    /// No arms were configured.
    NoArms,
    /// The same action was configured twice.
    DuplicateArm(Action),
    /// Context dimension must be at least 1.
    ZeroDimension,
    /// Prior hyper-parameters must be finite and strictly positive.
    InvalidPrior,
    /// A context vector had the wrong length.
    DimensionMismatch {
        /// Configured dimension.
        expected: usize,
        /// Supplied length.
        got: usize,
    },
    /// A context or reward contained NaN or infinity.
    NonFinite,
    /// The action is not an active arm.
    UnknownArm(Action),
    /// `samples` must be at least 1.
    ZeroSamples,
    /// A numerical failure in the linear algebra.
    Linalg(LinalgError),
    /// Persisted bytes could not be decoded.
    Decode(&'static str),
}

impl fmt::Display for BanditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for BanditError {}

impl From<LinalgError> for BanditError {
    fn from(e: LinalgError) -> Self {
        BanditError::Linalg(e)
    }
}

/// Normal–inverse-gamma prior: `w | σ² ~ N(0, σ²/precision · I)`, `σ² ~ InvGamma(a0, b0)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    /// Prior precision multiplier of the weights (ridge strength).
    pub precision: f64,
    /// Inverse-gamma shape.
    pub a0: f64,
    /// Inverse-gamma scale.
    pub b0: f64,
}

impl Default for Prior {
    fn default() -> Self {
        Prior {
            precision: 1.0,
            a0: 1.0,
            b0: 1.0,
        }
    }
}

/// Posterior of one arm.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmPosterior {
    action: Action,
    mu: Vec<f64>,
    lambda: Vec<f64>,
    chol: Vec<f64>,
    eta: Vec<f64>,
    a: f64,
    b: f64,
    n: u64,
    /// τ² its pooled prior was widened by (0: not widened).
    deviation: f64,
}

impl ArmPosterior {
    /// The action this arm represents.
    pub fn action(&self) -> Action {
        self.action
    }
    /// Posterior mean of the weights.
    pub fn mean(&self) -> &[f64] {
        &self.mu
    }
    /// Posterior precision matrix (row-major).
    pub fn precision(&self) -> &[f64] {
        &self.lambda
    }
    /// Inverse-gamma `(a, b)` of the noise variance.
    pub fn noise_params(&self) -> (f64, f64) {
        (self.a, self.b)
    }
    /// Number of observations absorbed.
    pub fn observations(&self) -> u64 {
        self.n
    }
    /// The deviation τ² its pooled prior was widened by
    /// ([`crate::decide::bandit::pooled_posterior`]); 0 when it was not
    /// (complete pooling, scope `model`, a fresh or decoded bandit).
    pub fn deviation(&self) -> f64 {
        self.deviation
    }
    /// The same arm, noting that its prior was widened by `tau2`.
    pub(crate) fn widened_by(self, tau2: f64) -> Self {
        ArmPosterior {
            deviation: tau2,
            ..self
        }
    }
}

/// Result of [`LinearThompsonBandit::decide`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BanditChoice {
    /// Thompson choice: argmax of one joint posterior draw.
    pub arm: Action,
    /// Monte-Carlo posterior probability, from `samples` joint draws: that
    /// `arm` does no worse than `against` when there is one, else that it is
    /// the best arm.
    pub confidence: f64,
    /// The reference arm the confidence was measured against (`None`: it
    /// was measured against every arm).
    pub against: Option<Action>,
    /// Posterior mean expected reward `xᵀmu` of every active arm.
    pub posterior_means: Vec<(Action, f64)>,
}

/// A linear Thompson-sampling bandit over a configurable set of [`Action`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearThompsonBandit {
    dim: usize,
    arms: Vec<ArmPosterior>,
}

impl LinearThompsonBandit {
    /// New bandit with context dimension `dim` (include the intercept yourself).
    pub fn new(dim: usize, actions: &[Action], prior: Prior) -> Result<Self, BanditError> {
        if dim == 0 {
            return Err(BanditError::ZeroDimension);
        }
        if actions.is_empty() {
            return Err(BanditError::NoArms);
        }
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !(ok(prior.precision) && ok(prior.a0) && ok(prior.b0)) {
            return Err(BanditError::InvalidPrior);
        }
        let mut arms: Vec<ArmPosterior> = Vec::with_capacity(actions.len());
        for &action in actions {
            if arms.iter().any(|arm| arm.action == action) {
                return Err(BanditError::DuplicateArm(action));
            }
            arms.push(ArmPosterior {
                action,
                mu: vec![0.0; dim],
                lambda: linalg::scaled_identity(dim, prior.precision),
                chol: linalg::scaled_identity(dim, prior.precision.sqrt()),
                eta: vec![0.0; dim],
                a: prior.a0,
                b: prior.b0,
                n: 0,
                deviation: 0.0,
            });
        }
        Ok(LinearThompsonBandit { dim, arms })
    }

    /// Context dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Active arms in configuration order.
    pub fn actions(&self) -> Vec<Action> {
        self.arms.iter().map(|a| a.action).collect()
    }

    /// Posterior of one arm, if active.
    pub fn arm(&self, action: Action) -> Option<&ArmPosterior> {
        self.arms.iter().find(|a| a.action == action)
    }

    fn check_x(&self, x: &[f64]) -> Result<(), BanditError> {
        if x.len() != self.dim {
            return Err(BanditError::DimensionMismatch {
                expected: self.dim,
                got: x.len(),
            });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(BanditError::NonFinite);
        }
        Ok(())
    }

    /// Conjugate update of `action`'s posterior with one observation `(x, reward)`.
    ///
    /// `Lambda += x xᵀ`, `eta += reward·x`, `mu = Lambda⁻¹ eta`, `a += ½`,
    /// `b += ½ (reward − xᵀmu_old)² / (1 + xᵀ Lambda_old⁻¹ x)` (the recursive
    /// form of `b0 + ½(yᵀy − mu_nᵀ Lambda_n mu_n)`, which is always ≥ 0).
    /// On error the state is left unchanged.
    pub fn update(&mut self, action: Action, x: &[f64], reward: f64) -> Result<(), BanditError> {
        self.check_x(x)?;
        if !reward.is_finite() {
            return Err(BanditError::NonFinite);
        }
        let dim = self.dim;
        let arm = self
            .arms
            .iter_mut()
            .find(|a| a.action == action)
            .ok_or(BanditError::UnknownArm(action))?;
        let resid = reward - linalg::dot(x, &arm.mu)?;
        let mut y = x.to_vec();
        linalg::solve_lower_in_place(&arm.chol, dim, &mut y)?;
        let q: f64 = y.iter().map(|v| v * v).sum();
        let mut chol = arm.chol.clone();
        linalg::cholesky_rank1_update(&mut chol, dim, x)?;
        let mut eta = arm.eta.clone();
        for (e, xi) in eta.iter_mut().zip(x) {
            *e += reward * xi;
        }
        let mu = linalg::cholesky_solve(&chol, dim, &eta)?;
        let b = arm.b + 0.5 * resid * resid / (1.0 + q);
        if !b.is_finite() || mu.iter().any(|v| !v.is_finite()) {
            return Err(BanditError::NonFinite);
        }
        linalg::add_outer(&mut arm.lambda, dim, x)?;
        arm.chol = chol;
        arm.eta = eta;
        arm.mu = mu;
        arm.a += 0.5;
        arm.b = b;
        arm.n += 1;
        Ok(())
    }

    /// One posterior draw of `action`'s weight vector:
    /// `σ² ~ InvGamma(a, b)`, then `w = mu + σ L⁻ᵀ z`, `z ~ N(0, I)`, where
    /// `Lambda = L Lᵀ`, so `Cov(w) = σ² Lambda⁻¹`.
    pub fn sample_weights<R: Rng + ?Sized>(
        &self,
        action: Action,
        rng: &mut R,
    ) -> Result<Vec<f64>, BanditError> {
        let arm = self.arm(action).ok_or(BanditError::UnknownArm(action))?;
        let mut w = vec![0.0; self.dim];
        draw_weights(arm, self.dim, rng, &mut w)?;
        Ok(w)
    }

    /// Thompson decision for context `x`.
    ///
    /// `arm` is the argmax of one joint posterior draw (first draw from `rng`);
    /// `confidence` is the fraction of `samples` further joint draws in which
    /// `arm` has the highest sampled expected reward `xᵀw`.
    pub fn decide<R: Rng + ?Sized>(
        &self,
        x: &[f64],
        rng: &mut R,
        samples: usize,
    ) -> Result<BanditChoice, BanditError> {
        self.decide_against(x, rng, samples, None)
    }

    /// Thompson decision for context `x`, its confidence measured against
    /// `reference` (the safety net's choice) when that is one of the arms.
    ///
    /// `arm` is the argmax of one joint posterior draw (first draw from
    /// `rng`). With a `reference` arm other than `arm`, `confidence` is the
    /// fraction of `samples` further joint draws in which `arm`'s sampled
    /// expected reward is at least `reference`'s (the posterior probability
    /// that following the bandit does no worse than the reference); with
    /// `arm == reference` it is 1 (following the bandit changes nothing);
    /// without a reference arm it is the fraction in which `arm` is the
    /// best of all arms. The draws consumed from `rng` are the same in
    /// every case.
    pub fn decide_against<R: Rng + ?Sized>(
        &self,
        x: &[f64],
        rng: &mut R,
        samples: usize,
        reference: Option<Action>,
    ) -> Result<BanditChoice, BanditError> {
        self.check_x(x)?;
        if samples == 0 {
            return Err(BanditError::ZeroSamples);
        }
        let mut w = vec![0.0; self.dim];
        let mut values = vec![0.0; self.arms.len()];
        let arm_idx = self.joint_draw(x, rng, &mut w, &mut values)?;
        let arm = self.arms[arm_idx].action;
        let reference = reference.and_then(|r| self.arms.iter().position(|a| a.action == r));
        let mut wins = 0usize;
        for _ in 0..samples {
            let best = self.joint_draw(x, rng, &mut w, &mut values)?;
            let win = match reference {
                Some(r) => values[arm_idx] >= values[r],
                None => best == arm_idx,
            };
            if win {
                wins += 1;
            }
        }
        let posterior_means = self
            .arms
            .iter()
            .map(|a| Ok((a.action, linalg::dot(x, &a.mu)?)))
            .collect::<Result<Vec<_>, LinalgError>>()?;
        Ok(BanditChoice {
            arm,
            confidence: wins as f64 / samples as f64,
            against: reference.and_then(|r| self.arms.get(r)).map(|a| a.action),
            posterior_means,
        })
    }

    /// One joint draw: every arm's sampled `xᵀw` into `values`; returns the
    /// index of the highest (ties go to the earliest arm).
    fn joint_draw<R: Rng + ?Sized>(
        &self,
        x: &[f64],
        rng: &mut R,
        w: &mut [f64],
        values: &mut [f64],
    ) -> Result<usize, BanditError> {
        let mut best = (0usize, f64::NEG_INFINITY);
        for (i, arm) in self.arms.iter().enumerate() {
            draw_weights(arm, self.dim, rng, w)?;
            let v = linalg::dot(x, w)?;
            values[i] = v;
            if v > best.1 {
                best = (i, v);
            }
        }
        Ok(best.0)
    }

    /// A bandit from finished arm posteriors (see `stats::posterior`).
    pub(crate) fn from_arms(dim: usize, arms: Vec<ArmPosterior>) -> Self {
        LinearThompsonBandit { dim, arms }
    }

    /// Serialise the full state (bit-exact, little-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        super::codec::encode(self.dim, &self.arms)
    }

    /// Restore a state produced by [`LinearThompsonBandit::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BanditError> {
        let (dim, arms) = super::codec::decode(bytes)?;
        Ok(LinearThompsonBandit { dim, arms })
    }
}

/// Raw fields of an arm, used by the codec.
pub(crate) struct ArmParts {
    pub action: Action,
    pub mu: Vec<f64>,
    pub lambda: Vec<f64>,
    pub chol: Vec<f64>,
    pub eta: Vec<f64>,
    pub a: f64,
    pub b: f64,
    pub n: u64,
}

impl ArmPosterior {
    pub(crate) fn parts(&self) -> ArmParts {
        ArmParts {
            action: self.action,
            mu: self.mu.clone(),
            lambda: self.lambda.clone(),
            chol: self.chol.clone(),
            eta: self.eta.clone(),
            a: self.a,
            b: self.b,
            n: self.n,
        }
    }

    pub(crate) fn from_parts(p: ArmParts) -> Self {
        ArmPosterior {
            action: p.action,
            mu: p.mu,
            lambda: p.lambda,
            chol: p.chol,
            eta: p.eta,
            a: p.a,
            b: p.b,
            n: p.n,
            deviation: 0.0,
        }
    }
}

fn draw_weights<R: Rng + ?Sized>(
    arm: &ArmPosterior,
    dim: usize,
    rng: &mut R,
    w: &mut [f64],
) -> Result<(), BanditError> {
    let precision = Gamma::new(arm.a, arm.b)
        .map_err(|_| BanditError::NonFinite)?
        .sample(rng);
    if !(precision > 0.0 && precision.is_finite()) {
        return Err(BanditError::NonFinite);
    }
    let sigma = precision.sqrt().recip();
    let std_normal = Normal::new(0.0, 1.0).map_err(|_| BanditError::NonFinite)?;
    for z in w.iter_mut() {
        *z = std_normal.sample(rng);
    }
    linalg::solve_lower_transpose_in_place(&arm.chol, dim, w)?;
    for (wi, mi) in w.iter_mut().zip(&arm.mu) {
        *wi = mi + sigma * *wi;
    }
    Ok(())
}
