//! The "jidoka" healing policy: seed rules as default and safety net, plus the
//! linear Thompson bandit learning online, behind a confidence gate.
//!
//! Guarantees:
//! * the bandit's action is taken **only** when its posterior probability of
//!   being best (Monte-Carlo `confidence`) is ≥ the gate threshold; otherwise,
//!   or if the bandit errors for any reason, the rules' action is taken;
//! * learning uses only the outcome of the action actually taken (no
//!   counterfactual information), with reward `−(action cost + failure
//!   penalty) / 100`;
//! * decisions are deterministic for a given RNG stream.

use std::sync::Arc;
use std::time::Duration;

use crate::bench::ablation::scenario::Signals;
use crate::config::{BanditConfig, DecideConfig};
use crate::decide::bandit::{Action, BanditChoice, BanditError, LinearThompsonBandit, Prior};
use crate::decide::context::{self, NEVER_MINUTES};
use crate::decide::rules::{self, Policy};
use crate::decide::{DecisionRequest, Engine, Source};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The signals as the pipeline's engine sees them: the scenario's three,
/// no drifted-share or latency information, no earlier action.
pub fn engine_signals(s: &Signals) -> rules::Signals {
    rules::Signals {
        drift: s.drift,
        accuracy_drop: s.accuracy_drop,
        anomaly_rate: s.anomaly_rate,
        minutes_since_action: NEVER_MINUTES,
        ..rules::Signals::default()
    }
}

/// Reward fed to the bandit for a realised total cost (dollars): the
/// engine's reward with no measured recovery and a cost weight of 0.01.
pub fn reward_from_cost(total_cost: f64) -> f64 {
    -total_cost / 100.0
}

/// Tunables of the jidoka engine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JidokaConfig {
    /// Minimum bandit confidence to act on the bandit's choice.
    pub gate: f64,
    /// Joint posterior draws used to estimate confidence.
    pub samples: usize,
    /// Bandit prior.
    pub prior: Prior,
}

impl Default for JidokaConfig {
    fn default() -> Self {
        JidokaConfig {
            gate: 0.8,
            samples: crate::decide::bandit::DEFAULT_SAMPLES,
            prior: Prior {
                precision: 10.0,
                a0: 1.0,
                b0: 1.0,
            },
        }
    }
}

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecisionSource {
    /// The bandit's Thompson choice passed the gate.
    Bandit,
    /// The rules decided (gate not passed, or bandit unavailable).
    Rules,
}

/// A gated decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JidokaDecision {
    /// Action to execute.
    pub action: Action,
    /// Who decided.
    pub source: DecisionSource,
    /// The bandit's proposal and its confidence, if the bandit produced one.
    pub bandit: Option<(Action, f64)>,
}

/// Pure gate, as the engine applies it: the bandit's arm if it differs from
/// `rules` and `choice.confidence ≥ threshold` (an override), else `rules`.
pub fn gate(choice: Option<&BanditChoice>, rules: Action, threshold: f64) -> JidokaDecision {
    match choice {
        Some(c) if c.confidence >= threshold && c.arm != rules => JidokaDecision {
            action: c.arm,
            source: DecisionSource::Bandit,
            bandit: Some((c.arm, c.confidence)),
        },
        other => JidokaDecision {
            action: rules,
            source: DecisionSource::Rules,
            bandit: other.map(|c| (c.arm, c.confidence)),
        },
    }
}

/// The pipeline's decision engine ([`crate::decide::Engine`]) with the seed
/// policy file and the seed's four actions as arms, learning online.
#[derive(Debug, Clone)]
pub struct JidokaEngine {
    engine: Engine,
    bandit: LinearThompsonBandit,
}

/// Why the engine could not be built.
#[derive(Debug)]
pub enum EngineError {
    /// The seed policy file did not load.
    Policy(rules::PolicyError),
    /// The bandit could not be created.
    Bandit(BanditError),
}

fn decide_config(config: &JidokaConfig) -> Result<DecideConfig, EngineError> {
    let policy = Policy::from_toml_str(rules::SEED_POLICY, "configs/seed-policy.toml")
        .map_err(EngineError::Policy)?;
    Ok(DecideConfig {
        cooldown: Duration::ZERO,
        policy_file: None,
        confidence_gate: config.gate,
        rate_limit_per_hour: u32::MAX,
        max_evidence_age: Duration::from_secs(u64::from(u32::MAX)),
        bandit: BanditConfig {
            arms: ["none", "retrain", "rollback", "fallback"]
                .map(String::from)
                .to_vec(),
            samples: config.samples,
            seed: 0,
            prior_precision: config.prior.precision,
            benefit_weight: 0.0,
            cost_weight: 0.01,
            ..BanditConfig::default()
        },
        policy: Some(Arc::new(policy)),
        reward: crate::config::RewardConfig::default(),
    })
}

fn arm(a: Option<Action>) -> Action {
    a.unwrap_or(Action::None)
}

impl JidokaEngine {
    /// New engine over the four seed actions.
    pub fn new(config: JidokaConfig) -> Result<Self, EngineError> {
        let engine = Engine::new(&decide_config(&config)?);
        let bandit = engine.new_bandit().map_err(EngineError::Bandit)?;
        Ok(JidokaEngine { engine, bandit })
    }

    /// The underlying bandit (e.g. for persistence).
    pub fn bandit(&self) -> &LinearThompsonBandit {
        &self.bandit
    }

    /// Decide for signals `s`; never fails (rules are the safety net). The
    /// decision id (which seeds the engine's draws) comes from `rng`.
    pub fn decide<R: Rng + ?Sized>(&self, s: &Signals, rng: &mut R) -> JidokaDecision {
        let id = format!("ablation-{:016x}", rng.gen::<u64>());
        let d = self.engine.decide(&DecisionRequest::unconstrained(
            &id,
            engine_signals(s),
            Some(&self.bandit),
        ));
        JidokaDecision {
            action: arm(d.action),
            source: if d.source == Source::Bandit {
                DecisionSource::Bandit
            } else {
                DecisionSource::Rules
            },
            bandit: d.bandit.map(|b| {
                let chosen = match b.chosen.as_str() {
                    "retrain" => Action::Retrain,
                    "rollback" => Action::Rollback,
                    "fallback" => Action::Fallback,
                    _ => Action::None,
                };
                (chosen, b.confidence)
            }),
        }
    }

    /// Learn from the realised total cost of the action actually taken.
    pub fn learn(
        &mut self,
        s: &Signals,
        action: Action,
        total_cost: f64,
    ) -> Result<(), BanditError> {
        let signals = engine_signals(s);
        let x = context::features(&signals, &self.engine.policy().evaluate(&signals));
        self.bandit
            .update(action, &x, self.engine.reward(0.0, total_cost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::ablation::scenario::{rules_policy, Scenario};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn choice(arm: Action, confidence: f64) -> BanditChoice {
        BanditChoice {
            arm,
            confidence,
            against: None,
            posterior_means: vec![],
        }
    }

    #[test]
    fn gate_threshold_is_inclusive_and_strict_below() {
        let d = gate(Some(&choice(Action::Fallback, 0.8)), Action::Retrain, 0.8);
        assert_eq!(
            (d.action, d.source),
            (Action::Fallback, DecisionSource::Bandit)
        );
        let d = gate(Some(&choice(Action::Fallback, 0.795)), Action::Retrain, 0.8);
        assert_eq!(
            (d.action, d.source),
            (Action::Retrain, DecisionSource::Rules)
        );
        // Confident in the rules' own action: the rules decide.
        let d = gate(Some(&choice(Action::Retrain, 0.95)), Action::Retrain, 0.8);
        assert_eq!(
            (d.action, d.source),
            (Action::Retrain, DecisionSource::Rules)
        );
        let d = gate(None, Action::None, 0.8);
        assert_eq!((d.action, d.source), (Action::None, DecisionSource::Rules));
    }

    /// Over a full online run (untrained → trained), every bandit-sourced
    /// decision had confidence ≥ 0.8 and every low-confidence one used rules.
    /// A rules-sourced decision with a confident bandit is one in which the
    /// bandit proposed the rules' own action.
    #[test]
    fn gate_never_takes_low_confidence_bandit_action() {
        let mut engine = JidokaEngine::new(JidokaConfig {
            samples: 50,
            ..JidokaConfig::default()
        })
        .unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut bandit_taken = 0;
        for _ in 0..1500 {
            let sc = Scenario::sample(&mut rng);
            let dec = engine.decide(&sc.signals, &mut rng);
            let (arm, conf) = dec.bandit.unwrap();
            match dec.source {
                DecisionSource::Bandit => {
                    assert!(conf >= 0.8);
                    assert_eq!(dec.action, arm);
                    bandit_taken += 1;
                }
                DecisionSource::Rules => {
                    // Not confident, or confident in the rules' own action.
                    assert!(conf < 0.8 || arm == dec.action, "{conf} {arm:?}");
                    assert_eq!(dec.action, rules_policy(&sc.signals));
                }
            }
            let out = sc.outcome(dec.action);
            engine.learn(&sc.signals, dec.action, out.cost).unwrap();
        }
        assert!(bandit_taken > 0, "bandit never passed the gate");
    }

    #[test]
    fn engine_sees_the_scenario_signals() {
        let s = engine_signals(&Signals {
            drift: 0.35,
            accuracy_drop: 0.05,
            anomaly_rate: 0.09,
        });
        assert_eq!(
            (s.drift, s.accuracy_drop, s.anomaly_rate, s.drifted_share),
            (0.35, 0.05, 0.09, 0.0)
        );
        assert_eq!(s.minutes_since_action, NEVER_MINUTES);
        assert_eq!(reward_from_cost(250.0), -2.5);
    }
}
