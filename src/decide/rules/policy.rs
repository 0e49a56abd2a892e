//! Loading and evaluating a policy: named rules sorted by priority.
//!
//! Guarantees: rules are kept sorted by priority (highest first) with ties in
//! file order; [`Policy::evaluate`] evaluates every rule, reports each result
//! in that order, and is pure.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::error::PolicyError;
use super::signals::Signals;
use crate::schema::Action;

/// One validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique rule name.
    pub name: String,
    /// Parsed `when` condition.
    pub condition: Condition,
    /// The `when` string as written in the file.
    pub source: String,
    /// Action when the condition matches.
    pub action: Action,
    /// Higher is evaluated first.
    pub priority: i32,
    /// `true`: hard safety rule (always wins over the learning policy);
    /// `false`: a default the bandit may override when confident.
    pub hard: bool,
}

/// A validated set of rules, sorted by priority descending (stable).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    rules: Vec<Rule>,
}

/// The outcome of one rule for one set of signals (an audit record line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    /// Rule name.
    pub name: String,
    /// Canonical form of the condition.
    pub condition: String,
    /// Whether the condition held.
    pub matched: bool,
    /// The rule's action.
    pub action: Action,
    /// Whether the rule is hard.
    pub hard: bool,
}

/// Results of evaluating every rule of a policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Every rule, in evaluation (priority) order.
    pub results: Vec<RuleResult>,
    /// Index into `results` of the first matching hard rule.
    pub first_hard: Option<usize>,
    /// Index into `results` of the first matching non-hard (default) rule.
    pub first_default: Option<usize>,
}

impl Evaluation {
    /// The first matching hard rule, if any.
    pub fn hard_match(&self) -> Option<&RuleResult> {
        self.first_hard.and_then(|i| self.results.get(i))
    }

    /// The first matching default (non-hard) rule, if any.
    pub fn default_match(&self) -> Option<&RuleResult> {
        self.first_default.and_then(|i| self.results.get(i))
    }
}

/// The seed policy: first match of big drift / accuracy drop → retrain,
/// anomalies → fallback, moderate accuracy drop → rollback, else none.
/// All rules are defaults (`hard = false`).
pub const SEED_POLICY: &str = include_str!("../../../configs/seed-policy.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    when: String,
    action: String,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    hard: bool,
}

impl Policy {
    /// Parses and validates a policy from TOML text; `origin` names the file in errors.
    ///
    /// `priority` defaults to 0 and `hard` to false when omitted.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let file = || origin.to_string();
        let raw: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Toml {
            file: file(),
            message: e.to_string().trim_end().to_string(),
        })?;
        if raw.rule.is_empty() {
            return Err(PolicyError::Empty { file: file() });
        }
        let mut seen = HashSet::new();
        let mut rules = Vec::with_capacity(raw.rule.len());
        for r in raw.rule {
            if !seen.insert(r.name.clone()) {
                return Err(PolicyError::DuplicateRule {
                    file: file(),
                    rule: r.name,
                });
            }
            let condition = Condition::parse(&r.when)
                .map_err(|e| PolicyError::from_parse(origin, &r.name, e))?;
            let action =
                Action::from_name(&r.action).ok_or_else(|| PolicyError::UnknownAction {
                    file: file(),
                    rule: r.name.clone(),
                    action: r.action.clone(),
                })?;
            rules.push(Rule {
                name: r.name,
                condition,
                source: r.when,
                action,
                priority: r.priority,
                hard: r.hard,
            });
        }
        rules.sort_by_key(|r| std::cmp::Reverse(r.priority));
        Ok(Policy { rules })
    }

    /// Reads and parses a policy file; errors name the path.
    pub fn from_file(path: &Path) -> Result<Policy, PolicyError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            file: origin.clone(),
            source,
        })?;
        Policy::from_toml_str(&text, &origin)
    }

    /// The built-in [`SEED_POLICY`].
    pub fn seed() -> Result<Policy, PolicyError> {
        Policy::from_toml_str(SEED_POLICY, "<seed policy>")
    }

    /// Evaluates every rule against `s` (pure).
    pub fn evaluate(&self, s: &Signals) -> Evaluation {
        let mut first_hard = None;
        let mut first_default = None;
        let results = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let matched = r.condition.eval(s);
                if matched {
                    let slot = if r.hard {
                        &mut first_hard
                    } else {
                        &mut first_default
                    };
                    slot.get_or_insert(i);
                }
                RuleResult {
                    name: r.name.clone(),
                    condition: r.condition.to_string(),
                    matched,
                    action: r.action,
                    hard: r.hard,
                }
            })
            .collect();
        Evaluation {
            results,
            first_hard,
            first_default,
        }
    }

    /// The rules in evaluation order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Hex SHA-256 of the rules (name, condition, action, priority, hard in
    /// evaluation order): part of the config version in audit records.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for r in &self.rules {
            for part in [r.name.as_str(), r.source.as_str(), r.action.as_str()] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part.as_bytes());
            }
            h.update(r.priority.to_be_bytes());
            h.update([u8::from(r.hard)]);
        }
        hex::encode(h.finalize())
    }
}
