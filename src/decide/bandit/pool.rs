//! Pooled learning across models, and the prior that starts from the rules.
//!
//! Guarantees:
//! * a [`Pool`] keeps every model's [`BanditStats`] and, per group and for
//!   all models, their sum, updated with each outcome (a pool is the sum of
//!   its members, see `stats`); iteration is in name order, so two copies fed
//!   the same outcomes in the same order hold the same numbers;
//! * [`pooled_posterior`] is a pure function of (the model's statistics, the
//!   statistics of the others in its scope, the config, the prior means,
//!   the deviations τ²): a two-level hierarchy. The pool's belief is the
//!   exact conjugate posterior of the base prior and the others' outcomes
//!   with weight `pool-strength` (a power prior: the pool's information
//!   enters with its precision scaled by `s`); the model's weights are the
//!   pool's plus a deviation of the intercept `δ ~ N(0, σ² τ²)` (its prior
//!   is the pool's belief widened by τ², see `belief`), then learn from the
//!   model's own outcomes with weight 1. τ² = 0 is complete pooling (the model's and
//!   the others' outcomes count alike); a large τ² leaves the model to its
//!   own outcomes. With `scope = model` (no others) it is the model's own
//!   posterior;
//! * [`Pool::posterior`] takes τ² from [`Deviation`]: fixed, or estimated
//!   per arm by the analysis of variance of the scope's members' residuals
//!   (`deviation`), over the members of the scope, in name order;
//! * [`rules_prior_means`] centres each arm's prior so that, before any
//!   outcome, the arm with the highest prior mean reward at a context is the
//!   action of the first matching default rule there (the rules' choice);
//!   with it, every arm's prior intercept is the mean reward observed in
//!   scope, so an untried action is not expected to beat the average.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::belief::Belief;
use super::deviation;
use super::stats::{check_forgetting, prior_means, ArmStats, BanditStats};
use super::thompson::{BanditError, LinearThompsonBandit, Prior};
use crate::decide::context;
use crate::decide::rules::Policy;
use crate::schema::Action;

/// Which models' outcomes a model's bandit learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Only its own.
    Model,
    /// Its own, plus (shrunk) those of the models of its group.
    Group,
    /// Its own, plus (shrunk) those of every model.
    Global,
}

impl Scope {
    /// The name in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Model => "model",
            Scope::Group => "group",
            Scope::Global => "global",
        }
    }

    /// Parses a config name.
    pub fn from_name(name: &str) -> Option<Scope> {
        [Scope::Model, Scope::Group, Scope::Global]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// How far a model's weights may deviate from its pool's (the variance τ²
/// of the deviation, in units of the reward noise variance σ²).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Deviation {
    /// Estimated per arm from the pool's members (`"estimated"`).
    Estimated(Estimated),
    /// The same fixed τ² ≥ 0 for every arm (0: complete pooling).
    Fixed(f64),
}

/// The one name of [`Deviation::Estimated`] in config files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Estimated {
    /// `"estimated"`.
    Estimated,
}

impl Deviation {
    /// The estimated deviation.
    pub const ESTIMATED: Deviation = Deviation::Estimated(Estimated::Estimated);

    /// Whether the value can be used (a fixed τ² is finite and ≥ 0).
    pub fn is_valid(self) -> bool {
        match self {
            Deviation::Estimated(_) => true,
            Deviation::Fixed(t) => t.is_finite() && t >= 0.0,
        }
    }
}

impl std::fmt::Display for Deviation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Deviation::Estimated(_) => write!(f, "estimated"),
            Deviation::Fixed(t) => write!(f, "{t}"),
        }
    }
}

/// How a model's posterior is built from outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LearnConfig {
    /// Whose outcomes are pooled.
    pub scope: Scope,
    /// Forgetting factor γ ∈ (0, 1] applied per outcome of an arm.
    pub forgetting: f64,
    /// Weight `s` ∈ [0, 1] of the other models' outcomes (1: as if they
    /// were the model's own; 0: ignored).
    pub pool_strength: f64,
    /// How far a model may deviate from its pool.
    pub deviation: Deviation,
    /// Prior mean reward given to the rules' choice (see
    /// [`rules_prior_means`]); 0 turns the informative start off.
    pub rules_prior: f64,
    /// The base prior.
    pub prior: Prior,
}

/// Prior mean weight vectors, one per arm (in `arms` order), for the
/// context layout of `policy` ([`context::features`]): default rule number
/// `k` (0-based, in evaluation order, counting default rules only) adds
/// `strength · 2⁻ᵏ` to its action's weight on the rule's indicator. At a
/// context the prior mean reward of an arm is then the sum over the
/// matching default rules naming it, and the first matching rule's term
/// exceeds all later ones together, so the rules' choice has the highest
/// prior mean (ties only when no default rule matches). Hard rules get no
/// weight (they are applied before the bandit is consulted).
pub fn rules_prior_means(policy: &Policy, arms: &[Action], strength: f64) -> Vec<Vec<f64>> {
    let dim = context::dim(policy.rules().len());
    let base = context::dim(0);
    let mut means = vec![vec![0.0; dim]; arms.len()];
    let mut rank = 0i32;
    for (j, rule) in policy.rules().iter().enumerate() {
        if rule.hard {
            continue;
        }
        if let Some(k) = arms.iter().position(|a| *a == rule.action) {
            means[k][base + j] += strength * 2f64.powi(-rank);
        }
        rank += 1;
    }
    means
}

/// The posterior a model decides with: the pool's belief (base prior, then
/// `others` with weight `cfg.pool_strength`; ignored when `cfg.scope` is
/// `Model`) widened by `tau2` (one per arm; none: 0), then `own`. With
/// `means` (the informative start, see [`rules_prior_means`]) the prior is
/// centred on them plus, on the intercept, the mean reward of every outcome
/// so combined ([`mean_reward`]; empirical Bayes: an action not tried yet
/// in a situation is expected to do as well as the average outcome, not
/// better); without, on zero. Each arm notes the τ² its prior was widened
/// by ([`super::ArmPosterior::deviation`], 0 when there were no others), so the
/// audit records it without computing it again.
pub fn pooled_posterior(
    own: &BanditStats,
    others: Option<&BanditStats>,
    cfg: &LearnConfig,
    means: Option<&[Vec<f64>]>,
    tau2: Option<&[f64]>,
) -> Result<LinearThompsonBandit, BanditError> {
    let s = cfg.pool_strength;
    if !(s.is_finite() && (0.0..=1.0).contains(&s)) {
        return Err(BanditError::InvalidPrior);
    }
    let others = others.filter(|_| cfg.scope != Scope::Model && s > 0.0);
    let mut combined = own.clone();
    if let Some(o) = others {
        combined.add_scaled(o, s)?;
    }
    let m0s = centred_means(&combined, means)?;
    let d = own.dim();
    let mut arms = Vec::new();
    for (k, (action, m0)) in own.actions().into_iter().zip(&m0s).enumerate() {
        let mine = own.arm(action).ok_or(BanditError::UnknownArm(action))?;
        let mut belief = Belief::prior(cfg.prior, m0)?;
        let mut widened = 0.0;
        if let Some(o) = others {
            let theirs = o.arm(action).ok_or(BanditError::UnknownArm(action))?;
            let mut scaled = ArmStats::new(d);
            scaled.add_scaled(theirs, s)?;
            widened = tau2.and_then(|t| t.get(k)).copied().unwrap_or(0.0);
            belief = belief.learn(&scaled)?.widen(widened)?;
        }
        let n = combined.arm(action).map_or(mine.count, |c| c.count);
        arms.push(belief.learn(mine)?.into_arm(action, n)?.widened_by(widened));
    }
    Ok(LinearThompsonBandit::from_arms(d, arms))
}

/// The prior means of every arm: `means` (or zero) plus, with `means`, the
/// mean reward of `stats` on the intercept.
fn centred_means(
    stats: &BanditStats,
    means: Option<&[Vec<f64>]>,
) -> Result<Vec<Vec<f64>>, BanditError> {
    let mut m0s = prior_means(stats, means)?;
    if means.is_some() {
        let base = mean_reward(stats);
        for m in &mut m0s {
            if let Some(first) = m.first_mut() {
                *first += base;
            }
        }
    }
    Ok(m0s)
}

/// The mean reward of every outcome in `stats` (all arms, weighted; the
/// context's entry 0 is the intercept 1, so `Σ w·r = Σ xr[0]`); 0 when
/// there is none.
pub fn mean_reward(stats: &BanditStats) -> f64 {
    let (mut sum, mut weight) = (0.0, 0.0);
    for a in stats.actions() {
        if let Some(s) = stats.arm(a) {
            sum += s.xr.first().copied().unwrap_or(0.0);
            weight += s.weight;
        }
    }
    if weight > 0.0 && sum.is_finite() {
        sum / weight
    } else {
        0.0
    }
}

/// One model in a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Member {
    group: String,
    stats: BanditStats,
}

/// Every model's outcome statistics, with per-group and global sums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    empty: BanditStats,
    members: BTreeMap<String, Member>,
    groups: BTreeMap<String, BanditStats>,
    global: BanditStats,
}

impl Pool {
    /// An empty pool over `actions` with context dimension `dim`.
    pub fn new(dim: usize, actions: &[Action]) -> Result<Self, BanditError> {
        let empty = BanditStats::new(dim, actions)?;
        Ok(Pool {
            global: empty.clone(),
            empty,
            members: BTreeMap::new(),
            groups: BTreeMap::new(),
        })
    }

    /// A model's own statistics (empty if it has no outcome yet).
    pub fn own(&self, model: &str) -> &BanditStats {
        self.members.get(model).map_or(&self.empty, |m| &m.stats)
    }

    /// The sum over every model.
    pub fn global(&self) -> &BanditStats {
        &self.global
    }

    /// Absorb `model`'s outcome `r` of `action` at `x`, the model being in
    /// `group` (a model that changes group takes its statistics along: they
    /// leave the old group's sum and join the new one's). Only that arm's
    /// statistics change otherwise: the model's, its group's and the global
    /// sum move by the same difference. On error nothing changes.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        model: &str,
        group: &str,
        action: Action,
        x: &[f64],
        r: f64,
        forgetting: f64,
    ) -> Result<(), BanditError> {
        check_forgetting(forgetting)?;
        let own = self.members.get(model).map_or(&self.empty, |m| &m.stats);
        let old = own.arm(action).ok_or(BanditError::UnknownArm(action))?;
        let mut new = old.clone();
        new.observe(x, r, forgetting)?;
        let mut delta = new.clone();
        delta.add_scaled(old, -1.0)?;
        // Every statistics of the pool has the same arms and dimension as
        // `self.empty`, so nothing below can fail once the outcome was
        // absorbed above: the updates happen together or not at all.
        let empty = &self.empty;
        let member = self
            .members
            .entry(model.to_string())
            .or_insert_with(|| Member {
                group: group.to_string(),
                stats: empty.clone(),
            });
        if member.group != group {
            let before = std::mem::replace(&mut member.group, group.to_string());
            if let Some(sum) = self.groups.get_mut(&before) {
                sum.add_scaled(&member.stats, -1.0)?;
            }
            self.groups
                .entry(group.to_string())
                .or_insert_with(|| empty.clone())
                .add_scaled(&member.stats, 1.0)?;
        }
        member.stats.set_arm(action, new)?;
        self.groups
            .entry(group.to_string())
            .or_insert_with(|| empty.clone())
            .add_to_arm(action, &delta, 1.0)?;
        self.global.add_to_arm(action, &delta, 1.0)
    }

    /// The statistics of the other models in `model`'s scope (its scope's
    /// sum minus its own); `None` for `Scope::Model`.
    pub fn others(
        &self,
        model: &str,
        group: &str,
        scope: Scope,
    ) -> Result<Option<BanditStats>, BanditError> {
        let total = match scope {
            Scope::Model => return Ok(None),
            Scope::Group => self.groups.get(group).unwrap_or(&self.empty),
            Scope::Global => &self.global,
        };
        let mut others = total.clone();
        if let Some(m) = self.members.get(model) {
            if scope == Scope::Global || m.group == group {
                others.add_scaled(&m.stats, -1.0)?;
            }
        }
        Ok(Some(others))
    }

    /// The own statistics of every model in `model`'s scope (in name
    /// order, `model` included if it has any), and their sum.
    fn scope(&self, group: &str, scope: Scope) -> (Vec<&BanditStats>, &BanditStats) {
        match scope {
            Scope::Model => (Vec::new(), &self.empty),
            Scope::Group => (
                self.members
                    .values()
                    .filter(|m| m.group == group)
                    .map(|m| &m.stats)
                    .collect(),
                self.groups.get(group).unwrap_or(&self.empty),
            ),
            Scope::Global => (
                self.members.values().map(|m| &m.stats).collect(),
                &self.global,
            ),
        }
    }

    /// τ² per arm for a model of `group` under `cfg` (none for
    /// `Scope::Model`).
    pub fn deviation(
        &self,
        group: &str,
        cfg: &LearnConfig,
        means: Option<&[Vec<f64>]>,
    ) -> Result<Option<Vec<f64>>, BanditError> {
        if cfg.scope == Scope::Model {
            return Ok(None);
        }
        let arms = self.empty.actions().len();
        match cfg.deviation {
            Deviation::Fixed(t) => Ok(Some(vec![t; arms])),
            Deviation::Estimated(_) => {
                let (members, total) = self.scope(group, cfg.scope);
                let m0s = centred_means(total, means)?;
                deviation::estimate(&members, total, cfg.prior, &m0s).map(Some)
            }
        }
    }

    /// The posterior `model` (in `group`) decides with under `cfg`.
    pub fn posterior(
        &self,
        model: &str,
        group: &str,
        cfg: &LearnConfig,
        means: Option<&[Vec<f64>]>,
    ) -> Result<LinearThompsonBandit, BanditError> {
        let others = self.others(model, group, cfg.scope)?;
        let tau2 = self.deviation(group, cfg, means)?;
        pooled_posterior(
            self.own(model),
            others.as_ref(),
            cfg,
            means,
            tau2.as_deref(),
        )
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
