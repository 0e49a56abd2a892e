//! Broker trouble: the broker process is stopped mid-stream and started
//! again on the same storage. The pipeline does not crash: it reports the
//! outage (`broker_down_total`, `broker_reachable` false), backs off,
//! retries, and resumes (`broker_reachable` true again); when the stream
//! ends, the commands and audit records, de-duplicated by id, equal an
//! uninterrupted run's.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::{AuditRecord, HealCommand};
use jidoka::telemetry::Metrics;

// Not in the default run: after a restart, tansu sometimes answers every
// produce request with "Unknown broker error" or never acknowledges it,
// even for a new producer (2 of 3 runs at the time of writing), so the
// pipeline cannot resume and the test would fail for the broker's sake.
// Run it by hand: `cargo test --test broker_restart -- --ignored`.
#[ignore = "tansu does not reliably accept produce requests after a restart"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_rides_out_a_broker_restart() -> TestResult {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("JIDOKA_TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let mut env = TestEnv::start().await?;
    // Small batches: the stream is still being worked through when the
    // broker goes away.
    let mut config = env.loaded.config.clone();
    config.pipeline.batch_size = 10;
    env.loaded = with_version(config)?;
    let preds = Scenario::demo(3000, 1500).predictions();
    let encoded = encode_predictions(&env.codec, &preds)?;
    let split = preds.len() / 2;
    let running = start_pipeline(&env.loaded);
    produce_raw(
        &producer(env.cfg())?,
        &env.cfg().topics.predictions,
        &encoded[..split],
    )
    .await?;
    running
        .wait_done(split as u64 / 2, Duration::from_secs(120))
        .await?;

    // The broker goes away while the pipeline is mid-stream.
    env.broker.stop();
    let done_at_stop = running.done();
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("broker restart: broker stopped after {done_at_stop} of {split} records");
    assert!(
        done_at_stop < split as u64,
        "the broker went away after the work, not during it"
    );
    assert!(
        !running.is_finished(),
        "the pipeline stopped when the broker went away"
    );
    assert!(
        Metrics::get(&running.metrics.broker_down_total) > 0,
        "the outage was reported"
    );
    assert!(
        !Metrics::is(&running.metrics.broker_reachable),
        "reported unhealthy"
    );
    env.broker.restart()?;

    produce_raw(
        &producer(env.cfg())?,
        &env.cfg().topics.predictions,
        &encoded[split..],
    )
    .await?;
    running
        .wait_done(preds.len() as u64, Duration::from_secs(180))
        .await?;
    let metrics = running.stop().await?;
    assert!(Metrics::is(&metrics.broker_reachable), "healthy again");
    println!(
        "broker restart: {} records in (replays included), {} produce retries, {} skipped as already applied",
        Metrics::get(&metrics.records_in_total),
        Metrics::get(&metrics.produce_retries_total),
        Metrics::get(&metrics.records_skipped_total)
    );

    let cfg = env.cfg();
    let (expected_commands, expected_audits) = reference_run(&env.loaded, &env.codec)?;
    let commands: BTreeSet<String> = read_all::<HealCommand>(cfg, &env.codec, &cfg.topics.actions)?
        .into_iter()
        .map(|r| r.value.command_id)
        .collect();
    let audits: BTreeSet<String> = read_all::<AuditRecord>(cfg, &env.codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value.decision_id)
        .collect();
    let expected: BTreeSet<String> = expected_commands
        .into_iter()
        .map(|c| c.command_id)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(commands, expected, "heal commands by id");
    assert_eq!(audits, expected_audits.into_iter().collect::<BTreeSet<_>>());
    Ok(())
}
