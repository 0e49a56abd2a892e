//! Cost of self-measured recovery in the processor: the demo's churn-v7
//! drift episode (3,500 predictions, drift from record 1,500; decisions at
//! every evaluation while degraded, `none` among the arms) processed with
//! `[decide.reward] measured-weight = 0` (no measurement) and `= 1`
//! (every decision measured after a 15-minute horizon, learned, and
//! re-audited). Criterion measures one whole episode; throughput in
//! predictions per second.
//! Usage: `cargo bench --bench recovery`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use jidoka::config::Config;
use jidoka::demo::scenario::Scenario;
use jidoka::pipeline::{Processor, SourcePos};
use jidoka::schema::Prediction;
use jidoka::state::Store;

fn episode() -> Vec<Prediction> {
    let mut s = Scenario::demo(3_500, 1_500);
    s.models.retain(|m| m.model_id == "churn-v7");
    s.predictions()
}

fn config(measured: f64) -> Result<Config, Box<dyn std::error::Error>> {
    let mut c = Config::defaults()?;
    c.detect.reference_size = 500;
    c.detect.window_size = 250;
    c.detect.evaluate_every = 125;
    c.decide.reward.measured_weight = measured;
    c.decide.reward.horizon = Duration::from_secs(15 * 60);
    c.decide.reward.outcome_grace = Duration::from_secs(10 * 60);
    c.decide.bandit.arms.insert(0, "none".into());
    Ok(c)
}

fn run(cfg: &Config, records: &[Prediction]) -> Result<usize, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(cfg, "bench", Store::open(dir.path(), false)?);
    let mut outputs = 0;
    for (i, r) in records.iter().enumerate() {
        let pos = SourcePos {
            topic: "predictions".into(),
            partition: 0,
            offset: i as i64,
        };
        outputs += p.process(&pos, r)?.len();
    }
    p.checkpoint()?;
    Ok(outputs)
}

fn bench(c: &mut Criterion) {
    let records = episode();
    let mut group = c.benchmark_group("recovery");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records.len() as u64));
    for (name, weight) in [("report-only", 0.0), ("measured", 1.0)] {
        let Ok(cfg) = config(weight) else {
            eprintln!("the default config does not load");
            return;
        };
        match run(&cfg, &records) {
            Ok(n) => eprintln!("{name}: {n} outputs per episode"),
            Err(e) => {
                eprintln!("{name}: {e}");
                return;
            }
        }
        group.bench_function(name, |b| {
            b.iter_batched(
                || (),
                |()| black_box(run(&cfg, &records).ok()),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
