//! Sufficient statistics of the bandit's outcomes, with forgetting, and the
//! exact conjugate posterior they give.
//!
//! Guarantees:
//! * an [`ArmStats`] holds `(Σ w·x xᵀ, Σ w·r x, Σ w·r², Σ w)` of the outcomes
//!   it absorbed, where an outcome absorbed `k` observations ago (of that
//!   same arm's statistics) has weight `w = γᵏ` (γ = the forgetting factor;
//!   γ = 1 forgets nothing);
//! * statistics are additive: [`BanditStats::add_scaled`] with scale 1 of the
//!   statistics of A and of B equals the statistics of A's and B's outcomes
//!   (up to rounding), so a pool is the sum of its members;
//! * [`posterior`] is a pure function of the statistics and the prior: the
//!   Normal–inverse-gamma posterior of `reward = xᵀw + ε` under the prior
//!   `w | σ² ~ N(m0, σ²/precision · I)`, `σ² ~ InvGamma(a0, b0)`, by the
//!   batch conjugate formulas; with γ = 1 and `m0 = 0` it equals the state
//!   [`LinearThompsonBandit::update`] reaches from the same outcomes;
//! * no function panics: bad dimensions, unknown arms, non-finite values and
//!   a forgetting factor outside `(0, 1]` return [`BanditError`].

use serde::{Deserialize, Serialize};

use super::belief::Belief;
use super::thompson::{BanditError, LinearThompsonBandit, Prior};
use crate::schema::Action;

/// Weighted sufficient statistics of one arm's outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmStats {
    /// `Σ w·x xᵀ`, row-major `d × d`.
    pub xx: Vec<f64>,
    /// `Σ w·r·x`.
    pub xr: Vec<f64>,
    /// `Σ w·r²`.
    pub rr: f64,
    /// `Σ w`: the effective number of outcomes.
    pub weight: f64,
    /// Outcomes absorbed, undecayed (for the audit's "learned from").
    pub count: u64,
}

impl ArmStats {
    /// Empty statistics of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        ArmStats {
            xx: vec![0.0; dim * dim],
            xr: vec![0.0; dim],
            rr: 0.0,
            weight: 0.0,
            count: 0,
        }
    }

    fn dim(&self) -> usize {
        self.xr.len()
    }

    /// Absorb one outcome: every earlier one is first multiplied by
    /// `forgetting` (γ ∈ (0, 1]), then `(x, r)` is added with weight 1.
    /// On error nothing changes.
    pub fn observe(&mut self, x: &[f64], r: f64, forgetting: f64) -> Result<(), BanditError> {
        let d = self.dim();
        if x.len() != d {
            return Err(BanditError::DimensionMismatch {
                expected: d,
                got: x.len(),
            });
        }
        if !r.is_finite() || x.iter().any(|v| !v.is_finite()) {
            return Err(BanditError::NonFinite);
        }
        check_forgetting(forgetting)?;
        for (i, xi) in x.iter().enumerate() {
            for (j, xj) in x.iter().enumerate() {
                let v = &mut self.xx[i * d + j];
                *v = forgetting * *v + xi * xj;
            }
            self.xr[i] = forgetting * self.xr[i] + r * xi;
        }
        self.rr = forgetting * self.rr + r * r;
        self.weight = forgetting * self.weight + 1.0;
        self.count += 1;
        Ok(())
    }

    /// `self += scale · other`; the undecayed count adds `other`'s when
    /// `scale > 0` and subtracts it when `scale < 0`.
    pub fn add_scaled(&mut self, other: &ArmStats, scale: f64) -> Result<(), BanditError> {
        if other.dim() != self.dim() || other.xx.len() != self.xx.len() {
            return Err(BanditError::DimensionMismatch {
                expected: self.dim(),
                got: other.dim(),
            });
        }
        if !scale.is_finite() {
            return Err(BanditError::NonFinite);
        }
        for (a, b) in self.xx.iter_mut().zip(&other.xx) {
            *a += scale * b;
        }
        for (a, b) in self.xr.iter_mut().zip(&other.xr) {
            *a += scale * b;
        }
        self.rr += scale * other.rr;
        self.weight += scale * other.weight;
        if scale > 0.0 {
            self.count = self.count.saturating_add(other.count);
        } else if scale < 0.0 {
            self.count = self.count.saturating_sub(other.count);
        }
        Ok(())
    }
}

/// A forgetting factor must be in `(0, 1]`.
pub fn check_forgetting(forgetting: f64) -> Result<(), BanditError> {
    if forgetting.is_finite() && forgetting > 0.0 && forgetting <= 1.0 {
        Ok(())
    } else {
        Err(BanditError::InvalidPrior)
    }
}

/// The statistics of every arm of one bandit (one model, a group, or all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BanditStats {
    dim: usize,
    arms: Vec<(Action, ArmStats)>,
}

impl BanditStats {
    /// Empty statistics over `actions` (distinct, at least one) of dimension `dim`.
    pub fn new(dim: usize, actions: &[Action]) -> Result<Self, BanditError> {
        if dim == 0 {
            return Err(BanditError::ZeroDimension);
        }
        if actions.is_empty() {
            return Err(BanditError::NoArms);
        }
        let mut arms: Vec<(Action, ArmStats)> = Vec::with_capacity(actions.len());
        for &a in actions {
            if arms.iter().any(|(b, _)| *b == a) {
                return Err(BanditError::DuplicateArm(a));
            }
            arms.push((a, ArmStats::new(dim)));
        }
        Ok(BanditStats { dim, arms })
    }

    /// Context dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Arms in configuration order.
    pub fn actions(&self) -> Vec<Action> {
        self.arms.iter().map(|(a, _)| *a).collect()
    }

    /// One arm's statistics.
    pub fn arm(&self, action: Action) -> Option<&ArmStats> {
        self.arms.iter().find(|(a, _)| *a == action).map(|(_, s)| s)
    }

    /// Absorb the outcome `r` of `action` taken at context `x` (see
    /// [`ArmStats::observe`]; only that arm's statistics decay).
    pub fn observe(
        &mut self,
        action: Action,
        x: &[f64],
        r: f64,
        forgetting: f64,
    ) -> Result<(), BanditError> {
        self.arm_mut(action)?.observe(x, r, forgetting)
    }

    fn arm_mut(&mut self, action: Action) -> Result<&mut ArmStats, BanditError> {
        self.arms
            .iter_mut()
            .find(|(a, _)| *a == action)
            .map(|(_, s)| s)
            .ok_or(BanditError::UnknownArm(action))
    }

    /// `self[action] += scale · other` (one arm; the others unchanged).
    pub fn add_to_arm(
        &mut self,
        action: Action,
        other: &ArmStats,
        scale: f64,
    ) -> Result<(), BanditError> {
        self.arm_mut(action)?.add_scaled(other, scale)
    }

    /// Replaces `action`'s statistics by `stats` (of the same dimension).
    pub fn set_arm(&mut self, action: Action, stats: ArmStats) -> Result<(), BanditError> {
        if stats.dim() != self.dim || stats.xx.len() != self.dim * self.dim {
            return Err(BanditError::DimensionMismatch {
                expected: self.dim,
                got: stats.dim(),
            });
        }
        *self.arm_mut(action)? = stats;
        Ok(())
    }

    /// `self += scale · other`, arm by arm; both must have the same
    /// dimension and arms in the same order. On error nothing changes.
    pub fn add_scaled(&mut self, other: &BanditStats, scale: f64) -> Result<(), BanditError> {
        if other.dim != self.dim {
            return Err(BanditError::DimensionMismatch {
                expected: self.dim,
                got: other.dim,
            });
        }
        if other.actions() != self.actions() {
            let missing = other
                .actions()
                .into_iter()
                .find(|a| self.arm(*a).is_none())
                .unwrap_or(Action::None);
            return Err(BanditError::UnknownArm(missing));
        }
        if !scale.is_finite() {
            return Err(BanditError::NonFinite);
        }
        for ((_, a), (_, b)) in self.arms.iter_mut().zip(&other.arms) {
            a.add_scaled(b, scale)?;
        }
        Ok(())
    }
}

/// The exact posterior of `stats` under `prior`, centred on `means` (one
/// prior mean vector per arm, in the arms' order; `None`: all zero), as a
/// [`LinearThompsonBandit`] ready to decide:
/// `Λ = precision·I + Σwxxᵀ`, `η = precision·m0 + Σwrx`, `μ = Λ⁻¹η`,
/// `a = a0 + Σw/2`, `b = b0 + ½(Σwr² + precision·m0ᵀm0 − μᵀη)`.
pub fn posterior(
    stats: &BanditStats,
    prior: Prior,
    means: Option<&[Vec<f64>]>,
) -> Result<LinearThompsonBandit, BanditError> {
    let d = stats.dim;
    let m0s = prior_means(stats, means)?;
    let mut arms = Vec::with_capacity(stats.arms.len());
    for ((action, s), m0) in stats.arms.iter().zip(m0s) {
        let belief = Belief::prior(prior, &m0)?.learn(s)?;
        arms.push(belief.into_arm(*action, s.count)?);
    }
    Ok(LinearThompsonBandit::from_arms(d, arms))
}

/// One prior mean vector per arm of `stats`: `means` checked against its
/// arms and dimension, or all zero.
pub fn prior_means(
    stats: &BanditStats,
    means: Option<&[Vec<f64>]>,
) -> Result<Vec<Vec<f64>>, BanditError> {
    let d = stats.dim;
    let Some(m) = means else {
        return Ok(vec![vec![0.0; d]; stats.arms.len()]);
    };
    if m.len() != stats.arms.len() {
        return Err(BanditError::DimensionMismatch {
            expected: stats.arms.len(),
            got: m.len(),
        });
    }
    if let Some(bad) = m.iter().find(|v| v.len() != d) {
        return Err(BanditError::DimensionMismatch {
            expected: d,
            got: bad.len(),
        });
    }
    Ok(m.to_vec())
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
