//! Ablation scenarios users define in TOML (`jidoka bench ablation
//! --scenario FILE`): signal distributions, which action is appropriate
//! when (conditions in the policy language), action costs, the failure
//! penalty, models × decisions, and an optional change at decision K (for
//! every group of models, or only the listed ones).
//!
//! Guarantees:
//! * a [`ScenarioSpec`] only exists if every key is known, every signal is a
//!   policy-language signal with a finite range `lo < hi`, every condition
//!   parses, every action is one of the seed's four (`none`, `retrain`,
//!   `rollback`, `fallback`) with a finite cost ≥ 0, the counts are ≥ 1,
//!   and every group a change lists exists;
//!   an error names the file and the key;
//! * [`ScenarioSpec::seed`] is the published seed scenario, and
//!   `benches/scenarios/seed.toml` parses to exactly it (tested); sampling
//!   draws the listed signals in [`Signal::ALL`] order, then the penalty
//!   multiplier, which for the seed is the draw order of
//!   [`super::scenario::Scenario::sample`];
//! * the oracle takes the cheapest appropriate action (ties: the seed's
//!   order retrain, rollback, fallback, none), or the cheapest action when
//!   none is appropriate.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use rand::Rng;
use serde::Deserialize;

use super::scenario::SEED_ACTIONS;
use crate::decide::context::NEVER_MINUTES;
use crate::decide::rules::{Condition, Signal, Signals};
use crate::schema::Action;

/// A scenario file that could not be used: the file, the key, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    /// The scenario file.
    pub file: String,
    /// The offending key (dotted path), or empty for a syntax error.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.file, self.key, self.message)
        }
    }
}

impl std::error::Error for SpecError {}

/// Costs and appropriateness in force (before or after the change).
#[derive(Debug, Clone, PartialEq)]
pub struct Regime {
    /// Direct cost of each action, in [`SEED_ACTIONS`] order.
    pub costs: [f64; 4],
    /// When each action is appropriate, in [`SEED_ACTIONS`] order
    /// (`false` when the file gives no condition).
    pub appropriate: [Condition; 4],
}

impl Regime {
    fn index(action: Action) -> Option<usize> {
        SEED_ACTIONS.iter().position(|a| *a == action)
    }

    /// Direct cost of `action` (0 for an action outside the four).
    pub fn cost(&self, action: Action) -> f64 {
        Self::index(action).map_or(0.0, |i| self.costs[i])
    }

    /// Whether `action` is appropriate at `s`.
    pub fn is_appropriate(&self, s: &Signals, action: Action) -> bool {
        Self::index(action).is_some_and(|i| self.appropriate[i].eval(s))
    }

    /// The cheapest appropriate action, or the cheapest action overall.
    pub fn oracle(&self, s: &Signals) -> Action {
        let cheapest = |only_appropriate: bool| {
            SEED_ACTIONS
                .iter()
                .copied()
                .filter(|a| !only_appropriate || self.is_appropriate(s, *a))
                .min_by(|x, y| self.cost(*x).total_cmp(&self.cost(*y)))
        };
        cheapest(true)
            .or_else(|| cheapest(false))
            .unwrap_or(Action::None)
    }
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSpec {
    /// Name shown in reports.
    pub name: String,
    /// Models; decisions interleave them round-robin.
    pub models: usize,
    /// Groups: model `i` is in group `i mod groups`.
    pub groups: usize,
    /// Decisions per model.
    pub decisions_per_model: usize,
    /// `U(lo, hi)` of each listed signal, in [`Signal::ALL`] order.
    pub signals: Vec<(Signal, f64, f64)>,
    /// Costs and appropriateness at the start.
    pub regime: Regime,
    /// Failure penalty base (dollars).
    pub penalty: f64,
    /// The penalty is `penalty × U(lo, hi)`.
    pub multiplier: (f64, f64),
    /// From decision `K` (0-based, over all models) on, this regime.
    pub change: Option<(usize, Regime)>,
    /// The groups the change applies to (`None`: every group). With
    /// `K = 0` it makes a fleet whose groups differ from the start.
    pub change_groups: Option<Vec<usize>>,
}

/// One drawn situation: its signals and the failure penalty it would cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// The signals (unlisted ones 0, no earlier action).
    pub signals: Signals,
    /// Penalty if the action taken is not appropriate.
    pub penalty: f64,
}

impl ScenarioSpec {
    /// The published seed scenario (one model, 2,200 decisions).
    pub fn seed() -> ScenarioSpec {
        let cond = |s: &str| Condition::parse(s).unwrap_or(Condition::Bool(false));
        ScenarioSpec {
            name: "seed".into(),
            models: 1,
            groups: 1,
            decisions_per_model: 2200,
            signals: vec![
                (Signal::Drift, 0.0, 0.5),
                (Signal::AccuracyDrop, 0.0, 0.4),
                (Signal::AnomalyRate, 0.0, 0.2),
            ],
            regime: Regime {
                costs: [100.0, 50.0, 10.0, 0.0],
                appropriate: [
                    cond("drift > 0.3 or accuracy_drop > 0.2"),
                    cond("accuracy_drop > 0.2"),
                    cond("anomaly_rate > 0.08"),
                    cond("drift < 0.1 and accuracy_drop < 0.1 and anomaly_rate < 0.1"),
                ],
            },
            penalty: 1000.0,
            multiplier: (0.5, 1.5),
            change: None,
            change_groups: None,
        }
    }

    /// Total decisions (models × decisions per model).
    pub fn decisions(&self) -> usize {
        self.models.saturating_mul(self.decisions_per_model)
    }

    /// The regime in force at decision `i` for the groups the change
    /// applies to.
    pub fn regime_at(&self, i: usize) -> &Regime {
        match &self.change {
            Some((k, r)) if i >= *k => r,
            _ => &self.regime,
        }
    }

    /// The regime in force at decision `i` for model `model` (in group
    /// `model mod groups`).
    pub fn regime_for(&self, i: usize, model: usize) -> &Regime {
        let group = model % self.groups.max(1);
        match &self.change_groups {
            Some(groups) if !groups.contains(&group) => &self.regime,
            _ => self.regime_at(i),
        }
    }

    /// Draw one situation.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Draw {
        let mut signals = Signals {
            minutes_since_action: NEVER_MINUTES,
            ..Signals::default()
        };
        for (signal, lo, hi) in &self.signals {
            signals.set(*signal, rng.gen_range(*lo..*hi));
        }
        let (lo, hi) = self.multiplier;
        let m = if hi > lo { rng.gen_range(lo..hi) } else { lo };
        Draw {
            signals,
            penalty: self.penalty * m,
        }
    }

    /// Reads and validates a scenario file.
    pub fn from_file(path: &Path) -> Result<ScenarioSpec, SpecError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            file: name.clone(),
            key: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_toml_str(&text, &name)
    }

    /// Parses and validates scenario TOML; `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &str) -> Result<ScenarioSpec, SpecError> {
        let err = |key: &str, message: String| SpecError {
            file: file.to_string(),
            key: key.to_string(),
            message,
        };
        let raw: RawSpec = toml::from_str(text).map_err(|e| {
            err(
                "",
                format!("not a valid scenario: {}", e.to_string().trim_end()),
            )
        })?;
        for (key, v) in [
            ("models", raw.models),
            ("groups", raw.groups),
            ("decisions-per-model", raw.decisions_per_model),
        ] {
            if v == 0 {
                return Err(err(key, "must be at least 1".into()));
            }
        }
        if raw.groups > raw.models {
            return Err(err("groups", "must not exceed `models`".into()));
        }
        let mut signals = Vec::new();
        for (name, dist) in &raw.signals {
            let key = format!("signals.{name}");
            let signal = Signal::from_name(&name.replace('-', "_"))
                .ok_or_else(|| err(&key, "not a signal of the policy language".into()))?;
            let [lo, hi] = dist.uniform;
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(err(
                    &format!("{key}.uniform"),
                    format!("needs finite lo < hi, got [{lo}, {hi}]"),
                ));
            }
            if signals.iter().any(|(s, _, _)| *s == signal) {
                return Err(err(&key, "given twice".into()));
            }
            signals.push((signal, lo, hi));
        }
        signals.sort_by_key(|(s, _, _)| Signal::ALL.iter().position(|a| a == s));
        let mut regime = Regime {
            costs: [0.0; 4],
            appropriate: std::array::from_fn(|_| Condition::Bool(false)),
        };
        for action in SEED_ACTIONS {
            if !raw.costs.contains_key(action.as_str()) {
                return Err(err(
                    &format!("costs.{action}"),
                    "missing: every one of none, retrain, rollback, fallback needs a cost".into(),
                ));
            }
        }
        apply(&mut regime, &raw.costs, &raw.appropriate, "", &err)?;
        let f = &raw.failure;
        if !(f.penalty.is_finite() && f.penalty >= 0.0) {
            return Err(err("failure.penalty", "must be finite and ≥ 0".into()));
        }
        let [lo, hi] = f.multiplier;
        if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi) {
            return Err(err(
                "failure.multiplier",
                format!("needs finite 0 ≤ lo ≤ hi, got [{lo}, {hi}]"),
            ));
        }
        let change = match &raw.change {
            None => None,
            Some(c) => {
                let mut after = regime.clone();
                apply(&mut after, &c.costs, &c.appropriate, "change.", &err)?;
                Some((c.at, after))
            }
        };
        let change_groups = raw.change.as_ref().and_then(|c| c.groups.clone());
        if let Some(g) = change_groups
            .as_ref()
            .and_then(|g| g.iter().find(|g| **g >= raw.groups))
        {
            return Err(err(
                "change.groups",
                format!(
                    "group {g} does not exist: groups are 0 to {}",
                    raw.groups.saturating_sub(1)
                ),
            ));
        }
        Ok(ScenarioSpec {
            name: raw.name.unwrap_or_else(|| file.to_string()),
            models: raw.models,
            groups: raw.groups,
            decisions_per_model: raw.decisions_per_model,
            signals,
            regime,
            penalty: f.penalty,
            multiplier: (lo, hi),
            change,
            change_groups,
        })
    }
}

/// Overrides `regime`'s costs and conditions with the given ones.
fn apply(
    regime: &mut Regime,
    costs: &BTreeMap<String, f64>,
    appropriate: &BTreeMap<String, String>,
    prefix: &str,
    err: &dyn Fn(&str, String) -> SpecError,
) -> Result<(), SpecError> {
    let index = |table: &str, name: &str| {
        let key = format!("{prefix}{table}.{name}");
        let i = Action::from_name(name)
            .and_then(Regime::index)
            .ok_or_else(|| err(&key, "not one of none, retrain, rollback, fallback".into()))?;
        Ok::<_, SpecError>((key, i))
    };
    for (name, cost) in costs {
        let (key, i) = index("costs", name)?;
        if !(cost.is_finite() && *cost >= 0.0) {
            return Err(err(&key, format!("must be finite and ≥ 0, got {cost}")));
        }
        regime.costs[i] = *cost;
    }
    for (name, when) in appropriate {
        let (key, i) = index("appropriate", name)?;
        regime.appropriate[i] =
            Condition::parse(when).map_err(|e| err(&key, format!("`{when}`: {e}")))?;
    }
    Ok(())
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSpec {
    #[serde(default)]
    name: Option<String>,
    #[serde(default = "one")]
    models: usize,
    #[serde(default = "one")]
    groups: usize,
    decisions_per_model: usize,
    signals: BTreeMap<String, RawDist>,
    costs: BTreeMap<String, f64>,
    failure: RawFailure,
    #[serde(default)]
    appropriate: BTreeMap<String, String>,
    #[serde(default)]
    change: Option<RawChange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDist {
    uniform: [f64; 2],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFailure {
    penalty: f64,
    multiplier: [f64; 2],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChange {
    at: usize,
    #[serde(default)]
    groups: Option<Vec<usize>>,
    #[serde(default)]
    costs: BTreeMap<String, f64>,
    #[serde(default)]
    appropriate: BTreeMap<String, String>,
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
