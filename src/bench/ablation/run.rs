//! Reproduction of the published seed ablation plus the jidoka engine.
//!
//! Guarantees:
//! * per seed, all policies are evaluated on the **same** 200 scenarios
//!   (including the same failure penalties), each policy with its own RNG
//!   stream derived from `(base_seed, seed, stream)`; the report is therefore
//!   a deterministic function of `(config, seeds, base_seed)` regardless of
//!   the number of worker threads;
//! * jidoka first learns online on its own warm-up stream (paying its costs,
//!   shown in the learning curve), then is evaluated on the seed's common
//!   scenarios with learning continuing; it never sees counterfactual outcomes;
//! * means and 95% CIs are over seeds (one replicate per seed).

use crate::bench::ablation::engine::{DecisionSource, JidokaConfig, JidokaEngine};
use crate::bench::ablation::scenario::{
    epsilon_bandit_policy, hybrid_policy, oracle_policy, rules_policy, Scenario,
};
use crate::bench::ablation::stats::{mean_ci95, MeanCi};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// Knobs of an ablation run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AblationConfig {
    /// Evaluation scenarios per seed (published: 200).
    pub scenarios_per_seed: usize,
    /// Jidoka warm-up scenarios before evaluation (multiple of `block_size`).
    pub warmup_scenarios: usize,
    /// Learning-curve block size.
    pub block_size: usize,
    /// Exploration rate of the seed ε-bandit.
    pub epsilon: f64,
    /// Jidoka engine settings.
    pub jidoka: JidokaConfig,
    /// Worker threads (results do not depend on it).
    pub threads: usize,
}

impl Default for AblationConfig {
    fn default() -> Self {
        AblationConfig {
            scenarios_per_seed: 200,
            warmup_scenarios: 2000,
            block_size: 200,
            epsilon: 0.1,
            jidoka: JidokaConfig::default(),
            threads: 2,
        }
    }
}

/// Summary for one policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyResult {
    /// Policy name.
    pub name: String,
    /// Mean cost per scenario (averaged over seeds).
    pub mean_cost: f64,
    /// 95% CI of the mean cost over seeds.
    pub cost_ci95: [f64; 2],
    /// Failure rate (fraction of inappropriate actions).
    pub failure_rate: f64,
    /// 95% CI of the failure rate over seeds.
    pub failure_ci95: [f64; 2],
}

/// One learning-curve point (averaged over seeds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Block index (0-based); the last one is the evaluation block.
    pub block: usize,
    /// Mean cost per scenario in the block.
    pub mean_cost: MeanCi,
    /// Failure rate in the block.
    pub failure_rate: MeanCi,
    /// Fraction of decisions in the block taken by the bandit (gate passed).
    pub bandit_share: f64,
}

/// Serde-serialisable ablation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AblationReport {
    /// Seeds (replicates) used.
    pub seeds: usize,
    /// Base seed.
    pub base_seed: u64,
    /// Configuration used.
    pub config: AblationConfig,
    /// rules, bandit, hybrid, oracle, jidoka — in that order.
    pub policies: Vec<PolicyResult>,
    /// Jidoka learning curve: warm-up blocks followed by the evaluation block.
    pub jidoka_learning_curve: Vec<CurvePoint>,
    /// Fraction of jidoka evaluation decisions taken by the bandit.
    pub jidoka_eval_bandit_share: f64,
    /// Bandit updates rejected (non-finite etc.); expected 0.
    pub jidoka_update_errors: u64,
    /// Whether the jidoka engine could be constructed (false ⇒ rules only).
    pub jidoka_engine_ok: bool,
}

/// Per-policy `(cost, failure rate)` of one seed.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    cost: f64,
    failures: usize,
    n: usize,
    bandit: usize,
}

impl Tally {
    fn add(&mut self, cost: f64, failed: bool) {
        self.cost += cost;
        self.failures += usize::from(failed);
        self.n += 1;
    }
    fn mean_cost(&self) -> f64 {
        self.cost / self.n.max(1) as f64
    }
    fn failure_rate(&self) -> f64 {
        self.failures as f64 / self.n.max(1) as f64
    }
}

struct SeedResult {
    /// rules, bandit, hybrid, oracle, jidoka.
    policies: [Tally; 5],
    curve: Vec<Tally>,
    update_errors: u64,
    engine_ok: bool,
}

/// SplitMix64-style derivation of an independent stream seed.
pub(crate) fn stream_seed(base: u64, seed: u64, stream: u64) -> u64 {
    let mut z = base
        ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn run_seed(cfg: &AblationConfig, base_seed: u64, seed: u64) -> SeedResult {
    let rng_for = |stream| StdRng::seed_from_u64(stream_seed(base_seed, seed, stream));
    let mut scen_rng = rng_for(0);
    let scenarios: Vec<Scenario> = (0..cfg.scenarios_per_seed)
        .map(|_| Scenario::sample(&mut scen_rng))
        .collect();
    let (mut bandit_rng, mut hybrid_rng) = (rng_for(1), rng_for(2));
    let mut tallies = [Tally::default(); 5];
    for sc in &scenarios {
        let s = &sc.signals;
        let actions = [
            rules_policy(s),
            epsilon_bandit_policy(s, cfg.epsilon, &mut bandit_rng),
            hybrid_policy(s, cfg.epsilon, &mut hybrid_rng),
            oracle_policy(s),
        ];
        for (t, act) in tallies.iter_mut().zip(actions) {
            let o = sc.outcome(act);
            t.add(o.cost, o.failed);
        }
    }

    let mut update_errors = 0u64;
    let mut curve = Vec::new();
    let engine = JidokaEngine::new(cfg.jidoka);
    let engine_ok = engine.is_ok();
    let (mut warm_rng, mut decide_rng) = (rng_for(3), rng_for(4));
    let mut step = |engine: &mut Option<JidokaEngine>, sc: &Scenario, t: &mut Tally| {
        let (act, from_bandit) = match engine.as_ref() {
            Some(e) => {
                let d = e.decide(&sc.signals, &mut decide_rng);
                (d.action, d.source == DecisionSource::Bandit)
            }
            None => (rules_policy(&sc.signals), false),
        };
        let o = sc.outcome(act);
        t.add(o.cost, o.failed);
        t.bandit += usize::from(from_bandit);
        if let Some(e) = engine.as_mut() {
            if e.learn(&sc.signals, act, o.cost).is_err() {
                update_errors += 1;
            }
        }
    };
    let mut engine = engine.ok();
    let block = cfg.block_size.max(1);
    let mut current = Tally::default();
    for i in 0..cfg.warmup_scenarios {
        let sc = Scenario::sample(&mut warm_rng);
        step(&mut engine, &sc, &mut current);
        if (i + 1) % block == 0 {
            curve.push(std::mem::take(&mut current));
        }
    }
    if current.n > 0 {
        curve.push(std::mem::take(&mut current));
    }
    let mut eval = Tally::default();
    for sc in &scenarios {
        step(&mut engine, sc, &mut eval);
    }
    curve.push(eval);
    tallies[4] = eval;
    SeedResult {
        policies: tallies,
        curve,
        update_errors,
        engine_ok,
    }
}

/// Run the ablation with [`AblationConfig::default`] (200 scenarios per seed,
/// 2,000 warm-up scenarios for jidoka, ε = 0.1, gate 0.8, 200 draws).
pub fn run_ablation(seeds: usize, base_seed: u64) -> AblationReport {
    run_ablation_with(&AblationConfig::default(), seeds, base_seed)
}

/// Run the ablation with an explicit configuration.
pub fn run_ablation_with(cfg: &AblationConfig, seeds: usize, base_seed: u64) -> AblationReport {
    let threads = cfg.threads.clamp(1, 64);
    let mut results: Vec<Option<SeedResult>> = (0..seeds).map(|_| None).collect();
    std::thread::scope(|scope| {
        let chunks: Vec<_> = results
            .chunks_mut(seeds.div_ceil(threads).max(1))
            .enumerate()
            .collect();
        let chunk_len = seeds.div_ceil(threads).max(1);
        for (ci, chunk) in chunks {
            scope.spawn(move || {
                for (j, slot) in chunk.iter_mut().enumerate() {
                    let seed = (ci * chunk_len + j) as u64;
                    *slot = Some(run_seed(cfg, base_seed, seed));
                }
            });
        }
    });
    let results: Vec<SeedResult> = results.into_iter().flatten().collect();

    let names = ["rules", "bandit", "hybrid", "oracle", "jidoka"];
    let policies = names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let costs: Vec<f64> = results.iter().map(|r| r.policies[k].mean_cost()).collect();
            let fails: Vec<f64> = results
                .iter()
                .map(|r| r.policies[k].failure_rate())
                .collect();
            let (c, f) = (mean_ci95(&costs), mean_ci95(&fails));
            PolicyResult {
                name: (*name).to_string(),
                mean_cost: c.mean,
                cost_ci95: c.ci95,
                failure_rate: f.mean,
                failure_ci95: f.ci95,
            }
        })
        .collect();

    let n_blocks = results.iter().map(|r| r.curve.len()).min().unwrap_or(0);
    let jidoka_learning_curve = (0..n_blocks)
        .map(|b| {
            let blocks: Vec<&Tally> = results.iter().map(|r| &r.curve[b]).collect();
            let costs: Vec<f64> = blocks.iter().map(|t| t.mean_cost()).collect();
            let fails: Vec<f64> = blocks.iter().map(|t| t.failure_rate()).collect();
            let (bandit, n) = blocks
                .iter()
                .fold((0usize, 0usize), |(b, n), t| (b + t.bandit, n + t.n));
            CurvePoint {
                block: b,
                mean_cost: mean_ci95(&costs),
                failure_rate: mean_ci95(&fails),
                bandit_share: bandit as f64 / n.max(1) as f64,
            }
        })
        .collect();
    let (eb, en) = results.iter().fold((0usize, 0usize), |(b, n), r| {
        (b + r.policies[4].bandit, n + r.policies[4].n)
    });
    AblationReport {
        seeds: results.len(),
        base_seed,
        config: *cfg,
        policies,
        jidoka_learning_curve,
        jidoka_eval_bandit_share: eb as f64 / en.max(1) as f64,
        jidoka_update_errors: results.iter().map(|r| r.update_errors).sum(),
        jidoka_engine_ok: results.iter().all(|r| r.engine_ok),
    }
}
