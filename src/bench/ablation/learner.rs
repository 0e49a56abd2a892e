//! The engine as a user-defined scenario runs it: the pipeline's
//! [`Engine`] with the seed policy and the seed's four arms, each model
//! deciding with the posterior its [`Pool`] gives it (its own outcomes,
//! the others' in its scope shrunk, the rules prior).
//!
//! Guarantees: decisions go through [`Engine::decide`] (hard rules, gate,
//! rules fallback exactly as in the pipeline); learning uses only the
//! outcome of the action taken, with the engine's reward
//! `−cost-weight × cost`; a decision is a pure function of the pool, the
//! signals and the decision id.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{BanditConfig, DecideConfig};
use crate::decide::bandit::{
    rules_prior_means, Action, BanditError, LearnConfig, Pool, Prior, Scope,
};
use crate::decide::context;
use crate::decide::rules::{Policy, Signals, SEED_POLICY};
use crate::decide::{Control, DecisionRequest, Engine, Source};

/// The engine's settings in a scenario run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LearnerConfig {
    /// Confidence gate.
    pub gate: f64,
    /// Joint posterior draws per decision.
    pub samples: usize,
    /// How posteriors are built.
    pub learn: LearnConfig,
}

impl LearnerConfig {
    /// The engine's defaults (`src/config/defaults.toml`) with `scope`.
    pub fn defaults(scope: Scope) -> Self {
        let d = BanditConfig::default();
        LearnerConfig {
            gate: 0.8,
            samples: crate::decide::bandit::DEFAULT_SAMPLES,
            learn: LearnConfig {
                scope,
                forgetting: d.forgetting,
                pool_strength: d.pool_strength,
                rules_prior: d.rules_prior,
                prior: Prior {
                    precision: d.prior_precision,
                    a0: d.noise_shape,
                    b0: d.noise_scale,
                },
            },
        }
    }
}

/// The engine and the outcomes it learned from.
#[derive(Debug, Clone)]
pub struct Learner {
    engine: Engine,
    pool: Pool,
    cfg: LearnerConfig,
    means: Option<Vec<Vec<f64>>>,
}

/// Why the learner could not be built.
#[derive(Debug)]
pub enum LearnerError {
    /// The seed policy did not load.
    Policy(crate::decide::rules::PolicyError),
    /// The bandit statistics could not be created.
    Bandit(BanditError),
}

const ARMS: [&str; 4] = ["none", "retrain", "rollback", "fallback"];

impl Learner {
    /// A learner with no outcome yet.
    pub fn new(cfg: LearnerConfig) -> Result<Self, LearnerError> {
        let policy = Policy::from_toml_str(SEED_POLICY, "configs/seed-policy.toml")
            .map_err(LearnerError::Policy)?;
        let arms: Vec<Action> = ARMS.iter().filter_map(|a| Action::from_name(a)).collect();
        let means = (cfg.learn.rules_prior > 0.0)
            .then(|| rules_prior_means(&policy, &arms, cfg.learn.rules_prior));
        let engine = Engine::new(&DecideConfig {
            cooldown: Duration::ZERO,
            policy_file: None,
            confidence_gate: cfg.gate,
            rate_limit_per_hour: u32::MAX,
            max_evidence_age: Duration::from_secs(u64::from(u32::MAX)),
            bandit: BanditConfig {
                arms: ARMS.map(String::from).to_vec(),
                samples: cfg.samples,
                prior_precision: cfg.learn.prior.precision,
                benefit_weight: 0.0,
                cost_weight: 0.01,
                ..BanditConfig::default()
            },
            policy: Some(Arc::new(policy)),
        });
        let pool = Pool::new(context::dim(engine.policy().rules().len()), &arms)
            .map_err(LearnerError::Bandit)?;
        Ok(Learner {
            engine,
            pool,
            cfg,
            means,
        })
    }

    /// Decide for `model` (in `group`) at `signals`: the action (`none`
    /// when no command) and whether the bandit chose it. Never fails: if
    /// the posterior cannot be built the rules decide.
    pub fn decide(
        &self,
        model: &str,
        group: &str,
        signals: &Signals,
        decision_id: &str,
    ) -> (Action, bool) {
        let bandit = self
            .pool
            .posterior(model, group, &self.cfg.learn, self.means.as_deref())
            .ok();
        let d = self.engine.decide(&DecisionRequest {
            decision_id,
            signals: *signals,
            now: 0,
            stream_time: 0,
            evidence_time: 0,
            last_action_at: None,
            recent_commands: &[],
            control: Control::default(),
            bandit: bandit.as_ref(),
        });
        (d.action.unwrap_or(Action::None), d.source == Source::Bandit)
    }

    /// The posterior `model` decides with (for inspection).
    pub fn posterior(
        &self,
        model: &str,
        group: &str,
    ) -> Result<crate::decide::bandit::LinearThompsonBandit, BanditError> {
        self.pool
            .posterior(model, group, &self.cfg.learn, self.means.as_deref())
    }

    /// Learn from the total cost (action cost + any failure penalty) of
    /// `action` taken for `model` at `signals`.
    pub fn learn(
        &mut self,
        model: &str,
        group: &str,
        signals: &Signals,
        action: Action,
        total_cost: f64,
    ) -> Result<(), BanditError> {
        let x = context::features(signals, &self.engine.policy().evaluate(signals));
        let r = self.engine.reward(0.0, total_cost);
        self.pool
            .observe(model, group, action, &x, r, self.cfg.learn.forgetting)
    }
}
