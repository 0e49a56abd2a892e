//! A user-defined scenario run for five policies: the seed rules, the seed
//! hybrid, the oracle, and the engine learning per model (`scope =
//! model`) and pooled (`scope = global`).
//!
//! Guarantees:
//! * per seed, every policy faces the same stream of situations and
//!   penalties (common random numbers); decisions interleave the models
//!   round-robin (decision `i` is model `i mod models`); the regime in force
//!   at decision `i` prices every action;
//! * the engine learns online from the outcome of the action it took only;
//! * the report is a deterministic function of (scenario, config, seeds,
//!   base seed), whatever the number of threads;
//! * means and 95% CIs are over seeds (one replicate per seed).

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::learner::{Learner, LearnerConfig};
use super::run::stream_seed;
use super::scenario::{self, hybrid_policy};
use super::spec::ScenarioSpec;
use super::stats::{mean_ci95, MeanCi};
use crate::decide::bandit::Scope;
use crate::decide::rules::{Policy, Signals};
use crate::schema::Action;

/// The policies compared, in report order.
pub const POLICIES: [&str; 5] = ["rules", "hybrid", "oracle", "jidoka-model", "jidoka-pooled"];
const ORACLE: usize = 2;
const RULES: usize = 0;

/// Outcomes after which the learning curve is read.
pub const CURVE_AT: [usize; 5] = [40, 100, 200, 500, 2000];

/// Knobs of a scenario run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// The engine's settings (its scope is set per variant: `model`, and
    /// this one's scope for `jidoka-pooled`, `global` if it is `model`).
    pub learner: LearnerConfig,
    /// Exploration rate of the seed ε-bandit inside the seed hybrid.
    pub epsilon: f64,
    /// Decisions per block (learning curve, recovery, block check).
    pub block: usize,
    /// Outcomes of warm-up before the "after warm-up" summary.
    pub warmup: usize,
    /// A block is back when its mean cost is ≤ this × the oracle's.
    pub recovery_ratio: f64,
    /// Worker threads (results do not depend on it).
    pub threads: usize,
}

impl Default for StudyConfig {
    fn default() -> Self {
        StudyConfig {
            learner: LearnerConfig::defaults(Scope::Global),
            epsilon: 0.1,
            block: 50,
            warmup: 200,
            recovery_ratio: 1.2,
            threads: 2,
        }
    }
}

/// What one policy did at each decision of one seed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trace {
    pub cost: Vec<f64>,
    pub failed: Vec<bool>,
    pub bandit: Vec<bool>,
}

impl Trace {
    fn push(&mut self, cost: f64, failed: bool, bandit: bool) {
        self.cost.push(cost);
        self.failed.push(failed);
        self.bandit.push(bandit);
    }

    /// Mean cost, failure rate and bandit share over decisions `range`.
    pub fn window(&self, range: std::ops::Range<usize>) -> (f64, f64, f64) {
        let n = range.len().max(1) as f64;
        let end = range.end.min(self.cost.len());
        let range = range.start.min(end)..end;
        let cost = self.cost[range.clone()].iter().sum::<f64>() / n;
        let fail = self.failed[range.clone()].iter().filter(|f| **f).count() as f64 / n;
        let bandit = self.bandit[range].iter().filter(|f| **f).count() as f64 / n;
        (cost, fail, bandit)
    }
}

/// One seed's traces, in [`POLICIES`] order, and the learners' update errors.
pub(crate) struct SeedTraces {
    pub traces: [Trace; 5],
    pub update_errors: u64,
}

fn legacy(s: &Signals) -> scenario::Signals {
    scenario::Signals {
        drift: s.drift,
        accuracy_drop: s.accuracy_drop,
        anomaly_rate: s.anomaly_rate,
    }
}

fn run_seed(
    spec: &ScenarioSpec,
    cfg: &StudyConfig,
    policy: &Policy,
    base: u64,
    seed: u64,
) -> SeedTraces {
    let rng_for = |stream| StdRng::seed_from_u64(stream_seed(base, seed, stream));
    let (mut scen_rng, mut hybrid_rng) = (rng_for(10), rng_for(12));
    // The pooled variant learns with the configured scope (`global` unless
    // set to `group`; `model` is the other variant already).
    let pooled = match cfg.learner.learn.scope {
        Scope::Model => Scope::Global,
        s => s,
    };
    let mut learners = [Scope::Model, pooled].map(|scope| {
        let mut c = cfg.learner;
        c.learn.scope = scope;
        Learner::new(c).ok()
    });
    let mut traces: [Trace; 5] = Default::default();
    let mut update_errors = 0u64;
    for i in 0..spec.decisions() {
        let m = i % spec.models;
        let (model, group) = (
            format!("model-{m:03}"),
            format!("group-{}", m % spec.groups),
        );
        let draw = spec.sample(&mut scen_rng);
        let regime = spec.regime_for(i, m);
        let s = &draw.signals;
        let outcome = |a: Action| {
            let failed = !regime.is_appropriate(s, a);
            let penalty = if failed { draw.penalty } else { 0.0 };
            (regime.cost(a) + penalty, failed)
        };
        let rules = policy
            .evaluate(s)
            .default_match()
            .map_or(Action::None, |r| r.action);
        let fixed = [
            rules,
            hybrid_policy(&legacy(s), cfg.epsilon, &mut hybrid_rng),
            regime.oracle(s),
        ];
        for (t, a) in traces.iter_mut().zip(fixed) {
            let (c, f) = outcome(a);
            t.push(c, f, false);
        }
        let id = format!("{}-{seed}-{i}", spec.name);
        for (k, learner) in learners.iter_mut().enumerate() {
            let (a, by_bandit) = match learner.as_ref() {
                Some(l) => l.decide(&model, &group, s, &id),
                None => (rules, false),
            };
            let (c, f) = outcome(a);
            traces[3 + k].push(c, f, by_bandit);
            if let Some(l) = learner.as_mut() {
                if l.learn(&model, &group, s, a, c).is_err() {
                    update_errors += 1;
                }
            }
        }
    }
    SeedTraces {
        traces,
        update_errors,
    }
}

/// Mean, CI and more of one policy over the whole run or a part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Mean cost per decision.
    pub mean_cost: MeanCi,
    /// Failure rate.
    pub failure_rate: MeanCi,
    /// Share of decisions in which the bandit overrode the rules (its arm
    /// differs from the rules' and passed the gate).
    pub bandit_share: MeanCi,
    /// Per-seed ratio of the mean cost to the oracle's over the same decisions.
    pub cost_ratio: MeanCi,
}

/// One policy's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyStudy {
    /// Policy name (see [`POLICIES`]).
    pub name: String,
    /// Every decision.
    pub all: Summary,
    /// Decisions after the first `warmup` outcomes.
    pub after_warmup: Summary,
    /// `(outcomes, summary of the next block of decisions)` at [`CURVE_AT`].
    pub curve: Vec<(usize, Summary)>,
    /// After a change: outcomes until a block's mean cost (over seeds) is
    /// back within `recovery-ratio` × the oracle's; `None` if never or no change.
    pub recovery: Option<usize>,
    /// Blocks in which the policy cost more than the rules by more than the
    /// 95% CI of the difference (the CI's lower end above 0).
    pub worse_than_rules: Vec<usize>,
    /// Largest mean (over seeds) excess cost over the rules in one block.
    pub max_block_excess: f64,
}

/// The report of one scenario run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    /// Scenario name.
    pub scenario: String,
    /// Models × decisions per model.
    pub models: usize,
    /// Decisions per model.
    pub decisions_per_model: usize,
    /// Decision index of the change, if any.
    pub change_at: Option<usize>,
    /// Seeds (replicates).
    pub seeds: usize,
    /// Base seed.
    pub base_seed: u64,
    /// Settings.
    pub config: StudyConfig,
    /// Per policy, in [`POLICIES`] order.
    pub policies: Vec<PolicyStudy>,
    /// Bandit updates rejected (expected 0).
    pub update_errors: u64,
}

fn summary(runs: &[SeedTraces], k: usize, range: std::ops::Range<usize>) -> Summary {
    let (mut c, mut f, mut b, mut r) = (vec![], vec![], vec![], vec![]);
    for run in runs {
        let (cost, fail, bandit) = run.traces[k].window(range.clone());
        let (oracle, _, _) = run.traces[ORACLE].window(range.clone());
        c.push(cost);
        f.push(fail);
        b.push(bandit);
        if oracle > 0.0 {
            r.push(cost / oracle);
        }
    }
    Summary {
        mean_cost: mean_ci95(&c),
        failure_rate: mean_ci95(&f),
        bandit_share: mean_ci95(&b),
        cost_ratio: mean_ci95(&r),
    }
}

fn blocks(n: usize, from: usize, size: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (from..n)
        .step_by(size.max(1))
        .map(move |s| s..s + size)
        .filter(move |r| r.end <= n)
}

fn mean_over_seeds(runs: &[SeedTraces], k: usize, range: std::ops::Range<usize>) -> f64 {
    runs.iter()
        .map(|r| r.traces[k].window(range.clone()).0)
        .sum::<f64>()
        / runs.len().max(1) as f64
}

fn policy_study(
    spec: &ScenarioSpec,
    cfg: &StudyConfig,
    runs: &[SeedTraces],
    k: usize,
) -> PolicyStudy {
    let n = spec.decisions();
    let size = cfg.block.max(1);
    let curve = CURVE_AT
        .iter()
        .filter(|at| **at + size <= n)
        .map(|at| (*at, summary(runs, k, *at..*at + size)))
        .collect();
    let recovery = spec.change.as_ref().and_then(|(at, _)| {
        blocks(n, *at, size).find_map(|r| {
            let back = mean_over_seeds(runs, k, r.clone())
                <= cfg.recovery_ratio * mean_over_seeds(runs, ORACLE, r.clone());
            back.then_some(r.end - at)
        })
    });
    let mut worse_than_rules = Vec::new();
    let mut max_block_excess = f64::NEG_INFINITY;
    for (b, r) in blocks(n, 0, size).enumerate() {
        let diffs: Vec<f64> = runs
            .iter()
            .map(|run| run.traces[k].window(r.clone()).0 - run.traces[RULES].window(r.clone()).0)
            .collect();
        let d = mean_ci95(&diffs);
        max_block_excess = max_block_excess.max(d.mean);
        if d.ci95[0] > 0.0 {
            worse_than_rules.push(b);
        }
    }
    PolicyStudy {
        name: POLICIES[k].to_string(),
        all: summary(runs, k, 0..n),
        after_warmup: summary(runs, k, cfg.warmup.min(n)..n),
        curve,
        recovery,
        worse_than_rules,
        max_block_excess,
    }
}

/// Runs `spec` for `seeds` replicates.
pub fn run_study(
    spec: &ScenarioSpec,
    cfg: &StudyConfig,
    seeds: usize,
    base_seed: u64,
) -> StudyReport {
    let policy = Policy::seed().ok();
    let threads = cfg.threads.clamp(1, 64);
    let mut results: Vec<Option<SeedTraces>> = (0..seeds).map(|_| None).collect();
    let chunk = seeds.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (ci, slots) in results.chunks_mut(chunk).enumerate() {
            let policy = policy.as_ref();
            scope.spawn(move || {
                let Some(policy) = policy else { return };
                for (j, slot) in slots.iter_mut().enumerate() {
                    let seed = (ci * chunk + j) as u64;
                    *slot = Some(run_seed(spec, cfg, policy, base_seed, seed));
                }
            });
        }
    });
    let runs: Vec<SeedTraces> = results.into_iter().flatten().collect();
    StudyReport {
        scenario: spec.name.clone(),
        models: spec.models,
        decisions_per_model: spec.decisions_per_model,
        change_at: spec.change.as_ref().map(|(k, _)| *k),
        seeds: runs.len(),
        base_seed,
        config: *cfg,
        policies: (0..POLICIES.len())
            .map(|k| policy_study(spec, cfg, &runs, k))
            .collect(),
        update_errors: runs.iter().map(|r| r.update_errors).sum(),
    }
}

#[cfg(test)]
#[path = "study_tests.rs"]
mod tests;
