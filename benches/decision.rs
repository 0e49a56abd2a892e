//! Latency of one decision: signals → policy rules → bandit (Thompson draws
//! and confidence) → checks → audit record sealed into the hash chain and
//! Avro-encoded. Criterion measures the mean; a plain loop before it prints
//! p50 / p99 / max of single decisions. Also the pooled posterior a
//! decision is made with: one model's posterior from a pool of 50 models'
//! 2,000 outcomes, with the deviation estimated (the default) and fixed at
//! 0 (complete pooling), the difference being the estimate's cost; and
//! folding those 2,000 outcomes into the pool's statistics, which the
//! pipeline does before each pooled decision.
//! Usage: `cargo bench --bench decision`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use jidoka::audit::chain;
use jidoka::config::Config;
use jidoka::decide::bandit::{Deviation, LinearThompsonBandit, Pool};
use jidoka::decide::context;
use jidoka::decide::rules::Signals;
use jidoka::decide::{Control, DecisionRequest, Engine};
use jidoka::schema::{AuditRecord, Codec};

struct Setup {
    engine: Engine,
    bandit: LinearThompsonBandit,
    codec: Codec,
}

fn setup() -> Result<Setup, Box<dyn std::error::Error>> {
    let cfg = Config::defaults()?;
    let engine = Engine::new(&cfg.decide);
    let mut bandit = engine.new_bandit().map_err(|e| format!("{e:?}"))?;
    // A bandit that has learned from 2,000 outcomes.
    for i in 0..2000u32 {
        let s = signals(i);
        let x = context::features(&s, &engine.policy().evaluate(&s));
        let arm = bandit.actions()[(i as usize) % bandit.actions().len()];
        bandit
            .update(arm, &x, f64::from(i % 7) / 7.0 - 0.3)
            .map_err(|e| format!("{e:?}"))?;
    }
    Ok(Setup {
        engine,
        bandit,
        codec: Codec::new(cfg.schemas.ids)?,
    })
}

fn signals(i: u32) -> Signals {
    let f = |k: u32| f64::from((i.wrapping_mul(2_654_435_761) >> k) % 1000) / 1000.0;
    Signals {
        drift: f(3) * 0.5,
        drifted_share: f(5),
        accuracy_drop: f(7) * 0.4,
        anomaly_rate: f(9) * 0.2,
        latency_shift: f(11) - 0.5,
        minutes_since_action: 90.0,
        recent_actions: 1.0,
        effect: f(13),
        effect_gate: 0.1,
    }
}

/// One full decision, returning the encoded audit record.
fn decide(s: &Setup, i: u32, previous: &mut Option<String>) -> Vec<u8> {
    let id = format!("dec-{i}");
    let now = 1_700_000_000_000 + i64::from(i) * 1000;
    let d = s.engine.decide(&DecisionRequest {
        decision_id: &id,
        signals: signals(i),
        now,
        stream_time: now,
        evidence_time: now,
        last_action_at: None,
        recent_commands: &[],
        control: Control::default(),
        bandit: Some(&s.bandit),
    });
    let mut audit = AuditRecord {
        decision_id: id,
        model_id: "m".into(),
        decided_at: now,
        rules: d.rules,
        cooldown: d.cooldown,
        action: d.action.map_or("none", |a| a.as_str()).into(),
        gate_reason: d.gate_reason,
        command_id: d.command_id,
        decided_by: d.source.as_str().into(),
        proposed_action: d.proposed.as_str().into(),
        bandit: d.bandit,
        checks: d.checks,
        ..AuditRecord::default()
    };
    chain::seal(&mut audit, u64::from(i) + 1, previous.take());
    *previous = Some(audit.record_hash.clone());
    s.codec.encode(&audit).unwrap_or_default()
}

fn quantiles(s: &Setup) {
    let mut previous = None;
    // `cargo bench` passes --bench; under `cargo test` this is a smoke run.
    let runs = if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        50
    };
    let mut times: Vec<Duration> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            black_box(decide(s, i, &mut previous));
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    let q = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    println!(
        "one decision (context → gated action → sealed, encoded audit record), {} runs: \
         p50 {:?}  p99 {:?}  max {:?}",
        times.len(),
        q(0.5),
        q(0.99),
        times[times.len() - 1]
    );
}

fn bench(c: &mut Criterion) {
    let s = match setup() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("setup failed: {e}");
            return;
        }
    };
    quantiles(&s);
    let mut previous = None;
    let mut i = 0u32;
    c.bench_function("decision/one", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(decide(&s, i, &mut previous))
        })
    });
}

/// An engine with `deviation` and a pool of 50 models × 40 outcomes.
fn pooled_setup(deviation: Deviation) -> Result<(Engine, Pool), Box<dyn std::error::Error>> {
    let mut cfg = Config::defaults()?;
    cfg.decide.bandit.deviation = deviation;
    let engine = Engine::new(&cfg.decide);
    let mut pool = engine.statistics().map_err(|e| format!("{e:?}"))?;
    let arms = engine.new_bandit().map_err(|e| format!("{e:?}"))?.actions();
    for i in 0..2000u32 {
        let s = signals(i);
        let x = context::features(&s, &engine.policy().evaluate(&s));
        let model = format!("m{:02}", i % 50);
        let arm = arms[(i as usize / 50) % arms.len()];
        let r = f64::from(i % 7) / 7.0 - 0.3 - if i % 100 < 50 { 0.0 } else { 0.5 };
        pool.observe(&model, "default", arm, &x, r, 0.99)
            .map_err(|e| format!("{e:?}"))?;
    }
    Ok((engine, pool))
}

fn bench_pooled(c: &mut Criterion) {
    for (name, deviation) in [
        ("decision/pooled-posterior/estimated", Deviation::ESTIMATED),
        ("decision/pooled-posterior/complete", Deviation::Fixed(0.0)),
    ] {
        let (engine, pool) = match pooled_setup(deviation) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("setup failed: {e}");
                return;
            }
        };
        c.bench_function(name, |b| {
            b.iter(|| black_box(engine.pooled_bandit(&pool, "m07", "default").is_ok()))
        });
    }
    // What the pipeline does before each pooled decision: fold the pool's
    // lessons (here 2,000) into statistics.
    c.bench_function("decision/pool-fold-2000", |b| {
        b.iter(|| black_box(pooled_setup(Deviation::ESTIMATED).is_ok()))
    });
}

criterion_group!(benches, bench, bench_pooled);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
