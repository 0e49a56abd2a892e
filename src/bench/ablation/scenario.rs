//! The published ablation scenario and its four seed policies.
//!
//! Guarantees: every function here is a pure function of its arguments (plus
//! the RNG stream passed in), so results are reproducible per seed; the
//! definitions follow the published seed system literally:
//! * signals `d ~ U(0, 0.5)`, `a ~ U(0, 0.4)`, `r ~ U(0, 0.2)`, independent;
//! * action costs retrain 100, rollback 50, fallback 10, none 0;
//! * an inappropriate action is a failure and costs its action cost **plus**
//!   `1000 × U(0.5, 1.5)` (the reading that reproduces the published numbers);
//! * the oracle takes the cheapest appropriate action, or — when no action is
//!   appropriate — the cheapest action overall (`None`), accepting the failure.

use crate::schema::Action;
use rand::Rng;

/// The four actions of the seed system, in the ε-bandit's tie-break order.
pub const SEED_ACTIONS: [Action; 4] = [
    Action::Retrain,
    Action::Rollback,
    Action::Fallback,
    Action::None,
];

/// Monitoring signals observed for one scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    /// Drift score `d`.
    pub drift: f64,
    /// Accuracy drop `a`.
    pub accuracy_drop: f64,
    /// Anomaly rate `r`.
    pub anomaly_rate: f64,
}

/// One scenario: signals plus the (hidden) failure-penalty multiplier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    /// Observable signals.
    pub signals: Signals,
    /// `U(0.5, 1.5)` multiplier of the 1000 failure penalty (drawn up front so
    /// every policy faces the same penalty: common random numbers).
    pub penalty_multiplier: f64,
}

impl Scenario {
    /// Draw one scenario.
    pub fn sample<R: Rng + ?Sized>(rng: &mut R) -> Scenario {
        Scenario {
            signals: Signals {
                drift: rng.gen_range(0.0..0.5),
                accuracy_drop: rng.gen_range(0.0..0.4),
                anomaly_rate: rng.gen_range(0.0..0.2),
            },
            penalty_multiplier: rng.gen_range(0.5..1.5),
        }
    }

    /// Outcome of taking `action` in this scenario.
    pub fn outcome(&self, action: Action) -> Outcome {
        let failed = !is_appropriate(&self.signals, action);
        let penalty = if failed {
            1000.0 * self.penalty_multiplier
        } else {
            0.0
        };
        Outcome {
            failed,
            cost: action_cost(action) + penalty,
        }
    }
}

/// Result of one action in one scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Whether the action was inappropriate.
    pub failed: bool,
    /// Total cost: action cost plus failure penalty if failed.
    pub cost: f64,
}

/// Direct cost of an action (Hold/Escalate are not part of the seed system
/// and are priced like `None` and `Fallback` respectively for completeness).
pub fn action_cost(action: Action) -> f64 {
    match action {
        Action::Retrain => 100.0,
        Action::Rollback => 50.0,
        Action::Fallback | Action::Escalate => 10.0,
        Action::None | Action::Hold => 0.0,
    }
}

/// The published appropriateness predicate (strict inequalities).
pub fn is_appropriate(s: &Signals, action: Action) -> bool {
    let (d, a, r) = (s.drift, s.accuracy_drop, s.anomaly_rate);
    (d > 0.3 && action == Action::Retrain)
        || (r > 0.08 && action == Action::Fallback)
        || (a > 0.2 && matches!(action, Action::Retrain | Action::Rollback))
        || (d.max(a).max(r) < 0.1 && action == Action::None)
}

/// Seed rules, first match wins.
pub fn rules_policy(s: &Signals) -> Action {
    if s.drift > 0.2 || s.accuracy_drop > 0.15 {
        Action::Retrain
    } else if s.anomaly_rate > 0.05 {
        Action::Fallback
    } else if s.accuracy_drop > 0.1 {
        Action::Rollback
    } else {
        Action::None
    }
}

/// Fixed seed ε-bandit scores in the order retrain, rollback, fallback, none.
pub fn seed_scores(s: &Signals) -> [f64; 4] {
    let (d, a, r) = (s.drift, s.accuracy_drop, s.anomaly_rate);
    [0.3 + 0.7 * d, 0.4 + 0.5 * a, 0.6 - 3.0 * r, 0.5 - 2.0 * a]
}

/// Index of the maximum; ties go to the first (lowest index).
pub fn argmax_first(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in scores.iter().enumerate() {
        if *v > scores[best] {
            best = i;
        }
    }
    best
}

/// Deterministic part of the seed ε-bandit: argmax of [`seed_scores`],
/// ties to the first of retrain, rollback, fallback, none.
pub fn bandit_greedy(s: &Signals) -> Action {
    SEED_ACTIONS[argmax_first(&seed_scores(s))]
}

/// Seed ε-bandit: with probability `epsilon` a uniform action among the four,
/// otherwise [`bandit_greedy`]. Always consumes exactly one uniform draw, plus
/// one index draw when exploring.
pub fn epsilon_bandit_policy<R: Rng + ?Sized>(s: &Signals, epsilon: f64, rng: &mut R) -> Action {
    if rng.gen_bool(epsilon.clamp(0.0, 1.0)) {
        SEED_ACTIONS[rng.gen_range(0..SEED_ACTIONS.len())]
    } else {
        bandit_greedy(s)
    }
}

/// Exact `Beta(α, β)` draw for integer shapes via `X/(X+Y)` with
/// `X ~ Gamma(α, 1)`, `Y ~ Gamma(β, 1)`, each a sum of unit exponentials.
pub fn beta_int<R: Rng + ?Sized>(alpha: u32, beta: u32, rng: &mut R) -> f64 {
    let mut gamma = |k: u32| -> f64 {
        // 1 − U ∈ (0, 1], so ln never sees 0.
        (0..k).map(|_| -(1.0 - rng.r#gen::<f64>()).ln()).sum()
    };
    let x = gamma(alpha);
    let y = gamma(beta);
    if x + y > 0.0 {
        x / (x + y)
    } else {
        0.5
    }
}

/// Seed hybrid: `c ~ Beta(5, 2)`; the ε-bandit's action if `c > 0.8`, else the
/// rules' action. The ε-bandit draw is always made so the RNG use is fixed.
pub fn hybrid_policy<R: Rng + ?Sized>(s: &Signals, epsilon: f64, rng: &mut R) -> Action {
    let c = beta_int(5, 2, rng);
    let bandit = epsilon_bandit_policy(s, epsilon, rng);
    if c > 0.8 {
        bandit
    } else {
        rules_policy(s)
    }
}

/// Oracle: the cheapest appropriate action; if none is appropriate, the
/// cheapest action overall (`None`, cost 0), which then fails.
pub fn oracle_policy(s: &Signals) -> Action {
    SEED_ACTIONS
        .iter()
        .copied()
        .filter(|&act| is_appropriate(s, act))
        .min_by(|x, y| action_cost(*x).total_cmp(&action_cost(*y)))
        .unwrap_or(Action::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(d: f64, a: f64, r: f64) -> Signals {
        Signals {
            drift: d,
            accuracy_drop: a,
            anomaly_rate: r,
        }
    }

    #[test]
    fn appropriateness_edges() {
        // Thresholds are strict.
        assert!(!is_appropriate(&sig(0.3, 0.0, 0.0), Action::Retrain));
        assert!(is_appropriate(&sig(0.300001, 0.0, 0.0), Action::Retrain));
        assert!(!is_appropriate(&sig(0.0, 0.0, 0.08), Action::Fallback));
        assert!(is_appropriate(&sig(0.0, 0.0, 0.0801), Action::Fallback));
        assert!(!is_appropriate(&sig(0.0, 0.2, 0.0), Action::Rollback));
        assert!(is_appropriate(&sig(0.0, 0.2001, 0.0), Action::Rollback));
        assert!(is_appropriate(&sig(0.0, 0.2001, 0.0), Action::Retrain));
        assert!(!is_appropriate(&sig(0.1, 0.0, 0.0), Action::None));
        assert!(is_appropriate(&sig(0.0999, 0.0999, 0.0999), Action::None));
        // Gap region: nothing is appropriate.
        let gap = sig(0.25, 0.15, 0.05);
        assert!(SEED_ACTIONS.iter().all(|&a| !is_appropriate(&gap, a)));
        // Several can be appropriate at once.
        let multi = sig(0.4, 0.3, 0.1);
        for a in [Action::Retrain, Action::Rollback, Action::Fallback] {
            assert!(is_appropriate(&multi, a));
        }
        assert!(!is_appropriate(&multi, Action::None));
        assert!(!is_appropriate(&multi, Action::Hold));
    }

    #[test]
    fn outcome_costs() {
        let s = Scenario {
            signals: sig(0.25, 0.15, 0.05),
            penalty_multiplier: 0.7,
        };
        let o = s.outcome(Action::Retrain);
        assert!(o.failed);
        assert!((o.cost - 800.0).abs() < 1e-9);
        let ok = Scenario {
            signals: sig(0.4, 0.0, 0.0),
            penalty_multiplier: 1.2,
        };
        assert_eq!(
            ok.outcome(Action::Retrain),
            Outcome {
                failed: false,
                cost: 100.0
            }
        );
    }

    #[test]
    fn rules_first_match() {
        assert_eq!(rules_policy(&sig(0.21, 0.0, 0.2)), Action::Retrain);
        assert_eq!(rules_policy(&sig(0.0, 0.16, 0.2)), Action::Retrain);
        assert_eq!(rules_policy(&sig(0.2, 0.15, 0.06)), Action::Fallback);
        assert_eq!(rules_policy(&sig(0.2, 0.12, 0.05)), Action::Rollback);
        assert_eq!(rules_policy(&sig(0.2, 0.1, 0.05)), Action::None);
    }

    #[test]
    fn bandit_scores_and_ties() {
        // d=0.5: retrain 0.65 > fallback 0.6 (r=0), none 0.5, rollback 0.4.
        assert_eq!(bandit_greedy(&sig(0.5, 0.0, 0.0)), Action::Retrain);
        // d=0: fallback 0.6 beats none 0.5, rollback 0.4, retrain 0.3.
        assert_eq!(bandit_greedy(&sig(0.0, 0.0, 0.0)), Action::Fallback);
        // r=0.1: fallback 0.3; a=0: none 0.5 vs rollback 0.4, retrain 0.3.
        assert_eq!(bandit_greedy(&sig(0.0, 0.0, 0.1)), Action::None);
        // Ties go to the first in the order retrain, rollback, fallback, none.
        assert_eq!(argmax_first(&[0.5, 0.5, 0.1, 0.5]), 0);
        assert_eq!(argmax_first(&[0.1, 0.5, 0.1, 0.5]), 1);
        assert_eq!(argmax_first(&[0.1, 0.2, 0.5, 0.5]), 2);
        assert_eq!(seed_scores(&sig(0.0, 0.0, 0.0)), [0.3, 0.4, 0.6, 0.5]);
    }

    #[test]
    fn epsilon_zero_and_one() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let s = sig(0.5, 0.0, 0.0);
        for _ in 0..100 {
            assert_eq!(epsilon_bandit_policy(&s, 0.0, &mut rng), Action::Retrain);
        }
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.insert(epsilon_bandit_policy(&s, 1.0, &mut rng));
        }
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn beta_5_2_moments() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let n = 40_000;
        let xs: Vec<f64> = (0..n).map(|_| beta_int(5, 2, &mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        // Beta(5,2): mean 5/7, P(c > 0.8) = 1 − I_0.8(5,2) = 0.34464.
        assert!((mean - 5.0 / 7.0).abs() < 0.005);
        let tail = xs.iter().filter(|&&c| c > 0.8).count() as f64 / n as f64;
        assert!((tail - 0.34464).abs() < 0.01);
    }

    #[test]
    fn oracle_choices() {
        assert_eq!(oracle_policy(&sig(0.4, 0.3, 0.1)), Action::Fallback);
        assert_eq!(oracle_policy(&sig(0.4, 0.3, 0.0)), Action::Rollback);
        assert_eq!(oracle_policy(&sig(0.4, 0.0, 0.0)), Action::Retrain);
        assert_eq!(oracle_policy(&sig(0.05, 0.05, 0.05)), Action::None);
        // No appropriate action → None (cheapest overall), which fails.
        let gap = sig(0.25, 0.15, 0.05);
        assert_eq!(oracle_policy(&gap), Action::None);
        assert!(!is_appropriate(&gap, oracle_policy(&gap)));
    }
}
