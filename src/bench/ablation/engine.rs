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

use crate::bench::ablation::scenario::{rules_policy, Signals, SEED_ACTIONS};
use crate::decide::bandit::{Action, BanditChoice, BanditError, LinearThompsonBandit, Prior};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Context dimension produced by [`features`].
pub const FEATURE_DIM: usize = 8;

/// Context vector: `[1, d, a, r, 1{d>0.3}, 1{a>0.2}, 1{r>0.08}, 1{max(d,a,r)<0.1}]`.
///
/// The indicator thresholds are features the engine may compute from the
/// signals; nothing here looks at the outcome.
pub fn features(s: &Signals) -> [f64; FEATURE_DIM] {
    let (d, a, r) = (s.drift, s.accuracy_drop, s.anomaly_rate);
    let ind = |b: bool| if b { 1.0 } else { 0.0 };
    [
        1.0,
        d,
        a,
        r,
        ind(d > 0.3),
        ind(a > 0.2),
        ind(r > 0.08),
        ind(d.max(a).max(r) < 0.1),
    ]
}

/// Reward fed to the bandit for a realised total cost (dollars).
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
                precision: 1.0,
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

/// Pure gate: the bandit's arm if `choice.confidence ≥ threshold`, else `rules`.
pub fn gate(choice: Option<&BanditChoice>, rules: Action, threshold: f64) -> JidokaDecision {
    match choice {
        Some(c) if c.confidence >= threshold => JidokaDecision {
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

/// Rules + gated online bandit.
#[derive(Debug, Clone)]
pub struct JidokaEngine {
    bandit: LinearThompsonBandit,
    config: JidokaConfig,
}

impl JidokaEngine {
    /// New engine over the four seed actions.
    pub fn new(config: JidokaConfig) -> Result<Self, BanditError> {
        Ok(JidokaEngine {
            bandit: LinearThompsonBandit::new(FEATURE_DIM, &SEED_ACTIONS, config.prior)?,
            config,
        })
    }

    /// The underlying bandit (e.g. for persistence).
    pub fn bandit(&self) -> &LinearThompsonBandit {
        &self.bandit
    }

    /// Decide for signals `s`; never fails (rules are the safety net).
    pub fn decide<R: Rng + ?Sized>(&self, s: &Signals, rng: &mut R) -> JidokaDecision {
        let choice = self
            .bandit
            .decide(&features(s), rng, self.config.samples)
            .ok();
        gate(choice.as_ref(), rules_policy(s), self.config.gate)
    }

    /// Learn from the realised total cost of the action actually taken.
    pub fn learn(
        &mut self,
        s: &Signals,
        action: Action,
        total_cost: f64,
    ) -> Result<(), BanditError> {
        self.bandit
            .update(action, &features(s), reward_from_cost(total_cost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::ablation::scenario::Scenario;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn choice(arm: Action, confidence: f64) -> BanditChoice {
        BanditChoice {
            arm,
            confidence,
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
        let d = gate(None, Action::None, 0.8);
        assert_eq!((d.action, d.source), (Action::None, DecisionSource::Rules));
    }

    /// Over a full online run (untrained → trained), every bandit-sourced
    /// decision had confidence ≥ 0.8 and every low-confidence one used rules.
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
                    assert!(conf < 0.8);
                    assert_eq!(dec.action, rules_policy(&sc.signals));
                }
            }
            let out = sc.outcome(dec.action);
            engine.learn(&sc.signals, dec.action, out.cost).unwrap();
        }
        assert!(bandit_taken > 0, "bandit never passed the gate");
    }

    #[test]
    fn features_shape() {
        let f = features(&Signals {
            drift: 0.35,
            accuracy_drop: 0.05,
            anomaly_rate: 0.09,
        });
        assert_eq!(f, [1.0, 0.35, 0.05, 0.09, 1.0, 0.0, 1.0, 0.0]);
        assert_eq!(reward_from_cost(250.0), -2.5);
    }
}
