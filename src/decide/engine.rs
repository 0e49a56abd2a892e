//! The hybrid decision engine: policy rules as the safety net, a contextual
//! bandit behind a confidence gate, then the checks no proposal can skip.
//!
//! Guarantees (property-tested in `engine_tests.rs`):
//! * the proposal is, in this order: the first matching **hard** rule; else
//!   the bandit's arm if it differs from the first matching default rule's
//!   action and its confidence ≥ `confidence-gate` (the bandit overrides the
//!   rules); else the first matching default rule (also when the bandit
//!   proposes that rule's own action: the decision is the rules'); else
//!   `escalate` (a degraded model nobody is sure about goes to a human);
//! * the bandit's confidence is measured against the safety net: the
//!   posterior probability that its arm does at least as well as the first
//!   matching default rule's action (1 when they are the same action); when
//!   no default rule names an arm, the probability that its arm is the best
//!   of all arms. So the bandit overrides the rules only when it is at least
//!   `confidence-gate` sure the override does no worse;
//! * a proposed command is issued only if every check passes: evidence not
//!   older than `max-evidence-age`, no pause, not in cooldown, under the
//!   hourly rate limit, and no standing veto for it (the veto is consulted
//!   last, so it is used up only by a command it actually blocks);
//! * the returned [`Decision`] carries every rule evaluated, the bandit's
//!   per-arm posterior means and deviations τ², its confidence, the arm it
//!   was measured against and the seed, every check and the reason, for the
//!   audit record;
//! * the engine is pure: the bandit's draws come from an RNG seeded with the
//!   configured seed and the decision id, so a replay decides the same.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

use super::bandit::{
    rules_prior_means, BanditChoice, BanditError, LearnConfig, LinearThompsonBandit,
    Pool as StatsPool, Prior,
};
use super::context;
use super::control::{Control, Veto};
use super::cooldown::Cooldown;
use super::rules::{Evaluation, Policy, Signals};
use crate::config::DecideConfig;
use crate::ids;
use crate::schema::{Action, ArmView, BanditView, CooldownCheck, GateCheck, RuleEvaluation};

/// The built-in policy (`configs/policy.toml`, compiled in).
pub const BUILTIN_POLICY: &str = include_str!("../../configs/policy.toml");

static BUILTIN: LazyLock<Arc<Policy>> = LazyLock::new(|| {
    // A compile-time constant, parsed by a unit test: cannot fail at run time.
    #[allow(clippy::expect_used)]
    Arc::new(
        Policy::from_toml_str(BUILTIN_POLICY, "configs/policy.toml (built in)")
            .expect("the built-in policy parses (tested)"),
    )
});

/// The built-in policy, parsed once.
pub fn builtin_policy() -> Arc<Policy> {
    BUILTIN.clone()
}

/// Who chose the proposed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A policy rule (hard or default).
    Rules,
    /// The bandit, past the confidence gate.
    Bandit,
    /// Nobody: no rule matched and the bandit was not confident.
    Escalation,
    /// An operator (approvals).
    Human,
}

impl Source {
    /// Name in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Rules => "rules",
            Source::Bandit => "bandit",
            Source::Escalation => "escalation",
            Source::Human => "human",
        }
    }
}

/// What the engine decides from.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRequest<'a> {
    /// Deterministic id of the decision (seeds the bandit's draws and names
    /// the command).
    pub decision_id: &'a str,
    /// The signals.
    pub signals: Signals,
    /// Event time of the decision (ms).
    pub now: i64,
    /// The model's stream time: the largest event time seen (ms).
    pub stream_time: i64,
    /// Event time of the newest record behind the evidence (ms).
    pub evidence_time: i64,
    /// Event time of the model's last command.
    pub last_action_at: Option<i64>,
    /// Event times of the model's recent commands (any order).
    pub recent_commands: &'a [i64],
    /// Pause and vetoes.
    pub control: Control<'a>,
    /// The model's bandit; `None` before its first decision.
    pub bandit: Option<&'a LinearThompsonBandit>,
}

impl<'a> DecisionRequest<'a> {
    /// A request nothing stands in the way of: all at event time 0, no
    /// earlier command, no pause or veto (the benchmarks' decisions, which
    /// have no stream).
    pub fn unconstrained(
        decision_id: &'a str,
        signals: Signals,
        bandit: Option<&'a LinearThompsonBandit>,
    ) -> Self {
        DecisionRequest {
            decision_id,
            signals,
            now: 0,
            stream_time: 0,
            evidence_time: 0,
            last_action_at: None,
            recent_commands: &[],
            control: Control::default(),
            bandit,
        }
    }
}

/// The engine's answer, with everything it looked at.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Proposed action before the checks.
    pub proposed: Action,
    /// Who proposed it.
    pub source: Source,
    /// The command to issue, if every check passed.
    pub action: Option<Action>,
    /// Id the command has (or would have had).
    pub command_id: Option<String>,
    /// Every rule, in evaluation order.
    pub rules: Vec<RuleEvaluation>,
    /// The bandit's view, if it was consulted.
    pub bandit: Option<BanditView>,
    /// The bandit's context vector (kept with the command, to learn from
    /// its outcome).
    pub features: Vec<f64>,
    /// Every check.
    pub checks: Vec<GateCheck>,
    /// The cooldown check.
    pub cooldown: CooldownCheck,
    /// The veto that blocked the command (to be removed).
    pub vetoed_by: Option<Veto>,
    /// One sentence: why the action is what it is.
    pub gate_reason: String,
}

/// Settings of the engine (from `[decide]`).
#[derive(Debug, Clone)]
pub struct Engine {
    policy: Arc<Policy>,
    gate: f64,
    cooldown: Cooldown,
    rate_limit: u32,
    max_evidence_age_ms: i64,
    arms: Vec<Action>,
    samples: usize,
    seed: u64,
    prior: Prior,
    benefit_weight: f64,
    cost_weight: f64,
    /// How a posterior is built from outcome statistics (`[decide.bandit]`
    /// scope, forgetting, pool strength, informative start, noise prior).
    learn: LearnConfig,
    /// The informative start's prior means, one per arm (none when
    /// `rules-prior` is 0).
    means: Option<Vec<Vec<f64>>>,
}

const HOUR_MS: i64 = 3_600_000;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Arm names from config (validated at load; unknown names are skipped).
pub fn parse_arms(names: &[String]) -> Vec<Action> {
    let mut arms = Vec::new();
    for name in names {
        let Some(arm) = Action::from_name(name) else {
            continue;
        };
        if !arms.contains(&arm) {
            arms.push(arm);
        }
    }
    arms
}

impl Engine {
    /// An engine with `cfg`'s settings and its parsed policy (the built-in
    /// policy when none was loaded).
    pub fn new(cfg: &DecideConfig) -> Self {
        let policy = cfg.policy.clone().unwrap_or_else(builtin_policy);
        let arms = parse_arms(&cfg.bandit.arms);
        let b = &cfg.bandit;
        let means = (b.rules_prior > 0.0).then(|| rules_prior_means(&policy, &arms, b.rules_prior));
        Engine {
            learn: LearnConfig {
                scope: b.scope,
                forgetting: b.forgetting,
                pool_strength: b.pool_strength,
                deviation: b.deviation,
                rules_prior: b.rules_prior,
                prior: Prior {
                    precision: b.prior_precision,
                    a0: b.noise_shape,
                    b0: b.noise_scale,
                },
            },
            means,
            policy,
            gate: cfg.confidence_gate,
            cooldown: Cooldown::new(cfg.cooldown),
            rate_limit: cfg.rate_limit_per_hour.max(1),
            max_evidence_age_ms: millis(cfg.max_evidence_age),
            arms,
            samples: cfg.bandit.samples.max(1),
            seed: cfg.bandit.seed,
            prior: Prior {
                precision: cfg.bandit.prior_precision,
                ..Prior::default()
            },
            benefit_weight: cfg.bandit.benefit_weight,
            cost_weight: cfg.bandit.cost_weight,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// How posteriors are built from outcome statistics.
    pub fn learning(&self) -> &LearnConfig {
        &self.learn
    }

    /// Empty outcome statistics for this engine's arms and context.
    pub fn statistics(&self) -> Result<StatsPool, BanditError> {
        StatsPool::new(context::dim(self.policy.rules().len()), &self.arms)
    }

    /// The posterior `model` (in `group`) decides with, from `stats`: the
    /// base prior (centred on the rules' choice), the other models'
    /// outcomes in its scope, shrunk, then its own.
    pub fn pooled_bandit(
        &self,
        stats: &StatsPool,
        model: &str,
        group: &str,
    ) -> Result<LinearThompsonBandit, BanditError> {
        stats.posterior(model, group, &self.learn, self.means.as_deref())
    }

    /// A fresh bandit for a model (context dimension of this policy).
    pub fn new_bandit(&self) -> Result<LinearThompsonBandit, BanditError> {
        LinearThompsonBandit::new(
            context::dim(self.policy.rules().len()),
            &self.arms,
            self.prior,
        )
    }

    /// Whether a stored bandit still fits this engine: the policy's context
    /// dimension and the configured arms, in order.
    pub fn fits(&self, bandit: &LinearThompsonBandit) -> bool {
        bandit.dim() == context::dim(self.policy.rules().len()) && bandit.actions() == self.arms
    }

    /// Reward for an outcome: benefit-weight × recovery − cost-weight × cost.
    pub fn reward(&self, recovery: f64, cost: f64) -> f64 {
        self.benefit_weight * recovery - self.cost_weight * cost
    }

    fn rng(&self, decision_id: &str) -> StdRng {
        let digest = Sha256::new()
            .chain_update(self.seed.to_be_bytes())
            .chain_update(decision_id.as_bytes())
            .finalize();
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&digest);
        StdRng::from_seed(seed)
    }

    /// The bandit's choice at `x`, if it has one for this context.
    fn consult(
        &self,
        bandit: Option<&LinearThompsonBandit>,
        x: &[f64],
        decision_id: &str,
        reference: Option<Action>,
    ) -> Option<(BanditChoice, BanditView)> {
        let b = bandit?;
        let choice = b
            .decide_against(x, &mut self.rng(decision_id), self.samples, reference)
            .ok()?;
        let arms = choice
            .posterior_means
            .iter()
            .map(|(a, mean)| arm_view(b, *a, *mean))
            .collect();
        let view = BanditView {
            chosen: choice.arm.as_str().to_string(),
            confidence: choice.confidence,
            threshold: self.gate,
            samples: i32::try_from(self.samples).unwrap_or(i32::MAX),
            arms,
            seed: Some(i64::from_be_bytes(self.seed.to_be_bytes())),
            against: choice.against.map(|a| a.as_str().to_string()),
        };
        Some((choice, view))
    }

    /// What `bandit` has learned for the situation `signals` describe:
    /// every arm's posterior mean reward at their context vector, with the
    /// outcomes it learned from (no sampling, so no seed).
    pub fn arm_means(&self, bandit: &LinearThompsonBandit, signals: &Signals) -> Vec<ArmView> {
        let x = context::features(signals, &self.policy.evaluate(signals));
        bandit
            .actions()
            .into_iter()
            .filter_map(|a| {
                let mu = bandit.arm(a)?.mean();
                let mean = crate::decide::bandit::linalg::dot(&x, mu).ok()?;
                Some(arm_view(bandit, a, mean))
            })
            .collect()
    }

    /// Decides for a degraded model.
    pub fn decide(&self, req: &DecisionRequest<'_>) -> Decision {
        let evaluation = self.policy.evaluate(&req.signals);
        let rules = rule_evaluations(&self.policy, &evaluation);
        let features = context::features(&req.signals, &evaluation);
        let reference = evaluation.default_match().map(|r| r.action);
        let consulted = self.consult(req.bandit, &features, req.decision_id, reference);
        let mut checks = Vec::new();
        let confident = consulted
            .as_ref()
            .filter(|(c, _)| c.confidence >= self.gate);
        checks.push(GateCheck {
            name: "gate".into(),
            passed: confident.is_some(),
            detail: match &consulted {
                Some((c, _)) => {
                    let against = match c.against {
                        Some(r) if r == c.arm => ": the rules' own choice".to_string(),
                        Some(r) => format!(" that it does no worse than the rules' {r}"),
                        None => " that it is the best arm".to_string(),
                    };
                    format!(
                        "bandit proposes {} with confidence {:.3}{against} (gate {}; {} draws seeded with decide.bandit.seed = {} and the decision id)",
                        c.arm, c.confidence, self.gate, self.samples, self.seed
                    )
                }
                None => "bandit has no view yet".into(),
            },
        });
        let (proposed, source, why) = if let Some(hard) = evaluation.hard_match() {
            (
                hard.action,
                Source::Rules,
                format!("hard rule {} matched", hard.name),
            )
        } else if let Some((c, _)) = confident.filter(|(c, _)| Some(c.arm) != reference) {
            (
                c.arm,
                Source::Bandit,
                format!("bandit confident ({:.3} ≥ {})", c.confidence, self.gate),
            )
        } else if let Some(rule) = evaluation.default_match() {
            // The bandit did not override the rule: it was not confident
            // enough in another arm, or it proposed the rule's own action
            // (which of the two depends on the decision's draws; the gate
            // check records it, the reason does not, so that the reason
            // does not vary with the decision id).
            (
                rule.action,
                Source::Rules,
                format!("rule {} matched, the bandit did not override it", rule.name),
            )
        } else {
            (
                Action::Escalate,
                Source::Escalation,
                "no rule matched and the bandit is not confident: escalate".to_string(),
            )
        };
        let cooldown = self.cooldown.check(req.last_action_at, req.now);
        let command = proposed.command();
        let command_id = command.map(|a| ids::command_id(req.decision_id, a.as_str()));
        let mut blocked: Option<String> = None;
        if command.is_some() {
            self.check_all(req, &cooldown, &mut checks, &mut blocked);
        }
        let mut vetoed_by = None;
        if let (Some(id), None) = (&command_id, &blocked) {
            let veto = req.control.veto_for(id);
            checks.push(GateCheck {
                name: "veto".into(),
                passed: veto.is_none(),
                detail: match veto {
                    Some(v) => format!("vetoed by {} (operator command {})", v.by, v.command_id),
                    None => "no veto".into(),
                },
            });
            if let Some(v) = veto {
                blocked = Some(format!("vetoed by {}", v.by));
                vetoed_by = Some(v.clone());
            }
        }
        let action = if blocked.is_some() { None } else { command };
        let gate_reason = match (&blocked, command) {
            (_, None) => format!("{why}; it proposes no action"),
            (Some(b), Some(a)) => format!("{why}: {a} held back, {b}"),
            (None, Some(a)) => format!("{why}: {a}"),
        };
        Decision {
            proposed,
            source,
            action,
            command_id,
            rules,
            bandit: consulted.map(|(_, v)| v),
            features,
            checks,
            cooldown,
            vetoed_by,
            gate_reason,
        }
    }

    /// Evidence age, pause, cooldown and rate limit, in that order; every
    /// one is recorded, the first failure is the reason.
    fn check_all(
        &self,
        req: &DecisionRequest<'_>,
        cooldown: &CooldownCheck,
        checks: &mut Vec<GateCheck>,
        blocked: &mut Option<String>,
    ) {
        let mut check = |name: &str, passed: bool, detail: String, reason: String| {
            if !passed && blocked.is_none() {
                *blocked = Some(reason);
            }
            checks.push(GateCheck {
                name: name.into(),
                passed,
                detail,
            });
        };
        let age = req.stream_time.saturating_sub(req.evidence_time).max(0);
        check(
            "evidence-age",
            age <= self.max_evidence_age_ms,
            format!(
                "evidence is {} behind the stream (bound {})",
                human(age),
                human(self.max_evidence_age_ms)
            ),
            format!("evidence is stale ({} old)", human(age)),
        );
        let pause = req.control.pause;
        check(
            "pause",
            pause.is_none(),
            match pause {
                Some(p) if p.global => {
                    format!(
                        "every model paused by {} (operator command {})",
                        p.by, p.command_id
                    )
                }
                Some(p) => format!("paused by {} (operator command {})", p.by, p.command_id),
                None => "not paused".into(),
            },
            pause.map_or_else(String::new, |p| format!("paused by {}", p.by)),
        );
        check(
            "cooldown",
            !cooldown.active,
            if cooldown.active {
                format!("{} of cooldown left", human(cooldown.remaining_ms))
            } else {
                "not in cooldown".into()
            },
            format!(
                "the model is in cooldown for {} more",
                human(cooldown.remaining_ms)
            ),
        );
        let in_hour = req
            .recent_commands
            .iter()
            .filter(|t| **t <= req.now && req.now.saturating_sub(**t) < HOUR_MS)
            .count();
        let under = (in_hour as u64) < u64::from(self.rate_limit);
        check(
            "rate-limit",
            under,
            format!(
                "{in_hour} command(s) in the last hour (limit {})",
                self.rate_limit
            ),
            format!("rate limit of {} per hour reached", self.rate_limit),
        );
    }
}

fn human(ms: i64) -> String {
    humantime::format_duration(Duration::from_millis(ms.max(0) as u64)).to_string()
}

fn rule_evaluations(policy: &Policy, evaluation: &Evaluation) -> Vec<RuleEvaluation> {
    evaluation
        .results
        .iter()
        .zip(policy.rules())
        .map(|(r, rule)| RuleEvaluation {
            name: r.name.clone(),
            condition: rule.source.clone(),
            matched: r.matched,
            action: r.action.as_str().to_string(),
            hard: r.hard,
            priority: rule.priority,
        })
        .collect()
}

/// The audit's view of one arm: its posterior mean reward (0 when not
/// finite), the outcomes it learned from and the τ² its prior was widened
/// by (noted when the posterior was built: not computed again).
fn arm_view(b: &LinearThompsonBandit, action: Action, mean: f64) -> ArmView {
    let arm = b.arm(action);
    ArmView {
        action: action.as_str().to_string(),
        posterior_mean: if mean.is_finite() { mean } else { 0.0 },
        observations: arm.map_or(0, |p| i64::try_from(p.observations()).unwrap_or(i64::MAX)),
        deviation: Some(arm.map_or(0.0, |p| p.deviation())),
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
