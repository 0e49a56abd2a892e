//! The rule engine: today one safety rule (any feature drifted, i.e. its KS
//! or chi-square p-value is below alpha / k → retrain) behind the per-model
//! cooldown.
//!
//! Guarantees: a decision is only asked for when at least one feature
//! drifted; the returned [`Decision`] lists every rule evaluated and the
//! cooldown check; an action is returned only when a rule matched and the
//! cooldown is not active.

use super::cooldown::Cooldown;
use crate::config::DecideConfig;
use crate::detect::FeatureTest;
use crate::schema::{Action, CooldownCheck, RuleEvaluation};

/// Name of the built-in drift rule.
pub const DRIFT_RULE: &str = "drift-retrain";

/// What the engine decides from.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    /// This evaluation's test results.
    pub tests: &'a [FeatureTest],
    /// Significance level the tests used.
    pub alpha: f64,
    /// Event time of the model's last command.
    pub last_action_at: Option<i64>,
    /// Event time of this evaluation.
    pub now: i64,
}

/// The engine's answer, with every check it made.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The action to publish, if any.
    pub action: Option<Action>,
    /// Every rule evaluated.
    pub rules: Vec<RuleEvaluation>,
    /// The cooldown check.
    pub cooldown: CooldownCheck,
    /// Why the action is what it is.
    pub gate_reason: String,
}

/// Deterministic rules plus the cooldown.
#[derive(Debug, Clone)]
pub struct RuleEngine {
    cooldown: Cooldown,
}

impl RuleEngine {
    /// An engine with the configured cooldown.
    pub fn new(cfg: &DecideConfig) -> Self {
        RuleEngine {
            cooldown: Cooldown::new(cfg.cooldown),
        }
    }

    /// Whether these results call for a decision (some feature drifted).
    pub fn needs_decision(tests: &[FeatureTest]) -> bool {
        tests.iter().any(|t| t.drifted)
    }

    /// Decides.
    pub fn decide(&self, input: DecisionInput<'_>) -> Decision {
        let drifted: Vec<&str> = input
            .tests
            .iter()
            .filter(|t| t.drifted)
            .map(|t| t.feature.as_str())
            .collect();
        let matched = !drifted.is_empty();
        let rules = vec![RuleEvaluation {
            name: DRIFT_RULE.to_string(),
            condition: format!(
                "a drift alert is open: a feature's corrected p-value (ks or chi2) below {} \
                 for the persistence evaluations, or a concept-drift accuracy drop",
                input.alpha
            ),
            matched,
            action: Action::Retrain.as_str().to_string(),
        }];
        let cooldown = self.cooldown.check(input.last_action_at, input.now);
        let (action, gate_reason) = if !matched {
            (None, "no rule matched".to_string())
        } else if cooldown.active {
            (
                None,
                format!(
                    "rule {DRIFT_RULE} matched ({}) but the model is in cooldown for {} more",
                    drifted.join(", "),
                    humantime::format_duration(std::time::Duration::from_millis(
                        cooldown.remaining_ms.max(0) as u64
                    ))
                ),
            )
        } else {
            (
                Some(Action::Retrain),
                format!("rule {DRIFT_RULE} matched: drift on {}", drifted.join(", ")),
            )
        };
        Decision {
            action,
            rules,
            cooldown,
            gate_reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn test(feature: &str, drifted: bool) -> FeatureTest {
        FeatureTest {
            feature: feature.into(),
            test: "ks",
            statistic: if drifted { 0.4 } else { 0.01 },
            p_value: if drifted { 1e-9 } else { 0.9 },
            adjusted_p_value: if drifted { 1e-9 } else { 0.9 },
            drifted,
            threshold: 0.001,
            reference_size: 10,
            reference_start_time: 0,
            reference_end_time: 0,
            window_size: 10,
            window_start_record: 1,
            window_end_record: 10,
            window_start_time: 0,
            window_end_time: 0,
        }
    }

    fn engine() -> RuleEngine {
        RuleEngine::new(&DecideConfig {
            cooldown: Duration::from_secs(1800),
        })
    }

    #[test]
    fn drift_outside_cooldown_retrains() {
        let tests = [test("a", false), test("b", true)];
        let d = engine().decide(DecisionInput {
            tests: &tests,
            alpha: 0.001,
            last_action_at: None,
            now: 0,
        });
        assert_eq!(d.action, Some(Action::Retrain));
        assert!(d.rules[0].matched);
        assert!(!d.cooldown.active);
        assert!(d.gate_reason.contains('b'));
    }

    #[test]
    fn drift_inside_cooldown_is_held_back() {
        let tests = [test("b", true)];
        let d = engine().decide(DecisionInput {
            tests: &tests,
            alpha: 0.001,
            last_action_at: Some(1_000),
            now: 1_000 + 600_000,
        });
        assert_eq!(d.action, None);
        assert!(d.cooldown.active);
        assert_eq!(d.cooldown.remaining_ms, 1_200_000);
        assert!(
            d.gate_reason.contains("cooldown for 20m"),
            "{}",
            d.gate_reason
        );
    }

    #[test]
    fn no_drift_no_action() {
        let tests = [test("a", false)];
        assert!(!RuleEngine::needs_decision(&tests));
        let d = engine().decide(DecisionInput {
            tests: &tests,
            alpha: 0.001,
            last_action_at: None,
            now: 0,
        });
        assert_eq!(d.action, None);
        assert!(!d.rules[0].matched);
    }
}
