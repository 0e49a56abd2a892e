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
use crate::decide::{Decision, DecisionRequest, Engine, Source};

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
                deviation: d.deviation,
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
            reward: crate::config::RewardConfig::default(),
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
        let d = self.decision(model, group, signals, decision_id);
        (d.action.unwrap_or(Action::None), d.source == Source::Bandit)
    }

    /// The engine's full decision (rules, bandit view, checks) for `model`.
    pub fn decision(
        &self,
        model: &str,
        group: &str,
        signals: &Signals,
        decision_id: &str,
    ) -> Decision {
        let bandit = self
            .pool
            .posterior(model, group, &self.cfg.learn, self.means.as_deref())
            .ok();
        self.engine.decide(&DecisionRequest::unconstrained(
            decision_id,
            *signals,
            bandit.as_ref(),
        ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::ablation::spec::ScenarioSpec;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn learner(scope: Scope) -> Learner {
        let mut cfg = LearnerConfig::defaults(scope);
        cfg.samples = 40;
        match Learner::new(cfg) {
            Ok(l) => l,
            Err(e) => panic!("{e:?}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Before any outcome the decision is the rules' (the informative
        /// start): either the bandit is not confident, or it is confident
        /// in the rules' own choice.
        #[test]
        fn first_decisions_are_the_rules(
            d in 0.0f64..0.5, a in 0.0f64..0.4, r in 0.0f64..0.2, id in any::<u64>(),
        ) {
            let l = learner(Scope::Global);
            let s = Signals { drift: d, accuracy_drop: a, anomaly_rate: r,
                minutes_since_action: context::NEVER_MINUTES, ..Signals::default() };
            let rules = l.engine.policy().evaluate(&s).default_match().map(|m| m.action);
            let (act, _) = l.decide("m", "g", &s, &format!("{id}"));
            prop_assert_eq!(Some(act), rules);
        }
    }

    /// Learning pooled on a fleet: no bandit action below the gate, every
    /// other decision is the rules'; the pool's models share what they learn.
    #[test]
    fn pooled_learning_never_acts_below_the_gate() {
        let mut spec = ScenarioSpec::seed();
        spec.models = 5;
        let mut l = learner(Scope::Global);
        let mut rng = StdRng::seed_from_u64(11);
        let mut by_bandit = 0;
        for i in 0..600 {
            let model = format!("m{}", i % 5);
            let draw = spec.sample(&mut rng);
            let s = &draw.signals;
            let d = l.decision(&model, "g", s, &format!("d{i}"));
            let rules = l
                .engine
                .policy()
                .evaluate(s)
                .default_match()
                .map(|m| m.action);
            match d.source {
                Source::Bandit => {
                    let conf = d.bandit.as_ref().map_or(0.0, |b| b.confidence);
                    assert!(conf >= 0.8, "bandit acted at confidence {conf}");
                    by_bandit += 1;
                }
                _ => assert_eq!(Some(d.proposed), rules),
            }
            let a = d.action.unwrap_or(Action::None);
            let cost = spec.regime.cost(a)
                + if spec.regime.is_appropriate(s, a) {
                    0.0
                } else {
                    draw.penalty
                };
            assert!(l.learn(&model, "g", s, a, cost).is_ok());
        }
        assert!(by_bandit > 0, "the bandit never passed the gate");
        // A model that never decided gets the fleet's posterior.
        let fresh = l.posterior("new", "g");
        assert!(fresh.is_ok_and(|b| b.arm(Action::Retrain).is_some_and(|a| a.observations() > 0)));
    }
}
