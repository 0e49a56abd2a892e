//! Broker trouble: the broker goes away mid-stream and comes back. The
//! pipeline does not crash: it reports the outage (`broker_down_total`,
//! `broker_reachable` false, `/health` 503), backs off, retries, and
//! resumes (`broker_reachable` true, `/health` 200); when the stream ends,
//! every record is processed and committed, and the commands and audit
//! records, de-duplicated by id, equal an uninterrupted run's.
//!
//! The default test runs on the mock broker (`jidoka-test-broker`,
//! librdkafka's mock cluster in its own process), which refuses every
//! connection while down and keeps its data. The same story on tansu, by
//! stopping and restarting the broker process, is kept for manual runs
//! (ignored): tansu often refuses every produce request after a restart.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::telemetry::Metrics;

/// How long the broker stays away.
const OUTAGE: Duration = Duration::from_secs(8);

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("JIDOKA_TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_rides_out_a_broker_outage() -> TestResult {
    init_logs();
    let mut env = TestEnv::start_mock().await?;
    let addr = free_addr()?;
    // Changed in place: the mock env's client options are secrets, which
    // `with_version` would see redacted.
    let config = &mut env.loaded.config;
    // Small batches: the stream is still being worked through when the
    // broker goes away.
    config.pipeline.batch_size = 10;
    // Outputs in flight time out during the outage (librdkafka would
    // otherwise hold them until the broker is back), so the sink's retries
    // with backoff are exercised too.
    config.kafka.produce_timeout = Duration::from_secs(3);
    config.telemetry.http_address = addr.to_string();
    let cfg = env.cfg();
    let preds = Scenario::demo(3000, 1500).predictions();
    let encoded = encode_predictions(&env.codec, &preds)?;
    let split = preds.len() * 2 / 3;
    let running = start_pipeline(&env.loaded);
    produce_raw(&producer(cfg)?, &cfg.topics.predictions, &encoded[..split]).await?;
    running
        .wait_done(split as u64 / 10, Duration::from_secs(120))
        .await?;
    assert_eq!(http_get(addr, "/health").await?.0, 200, "healthy before");

    // The broker goes away while the pipeline is mid-stream.
    env.broker.down()?;
    let down = Instant::now();
    let done_at_down = running.done();
    let mut unreachable_after = None;
    let mut health_during = BTreeSet::new();
    let mut done_after_1s = None;
    while down.elapsed() < OUTAGE {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if unreachable_after.is_none() && !Metrics::is(&running.metrics.broker_reachable) {
            unreachable_after = Some(down.elapsed());
        }
        if done_after_1s.is_none() && down.elapsed() > Duration::from_secs(1) {
            done_after_1s = Some(running.done());
        }
        health_during.insert(http_get(addr, "/health").await?.0);
    }
    let done_at_up = running.done();
    let (health_status, health_reason) = http_get(addr, "/health").await?;
    let metrics = &running.metrics;
    println!(
        "broker outage: down after {done_at_down} of {split} records; broker_reachable false {unreachable_after:?} after; \
         at the end of the {OUTAGE:?} outage: broker_down_total {}, broker_reachable {}, /health {health_status} {:?} \
         (statuses seen {health_during:?}), {} records done, {} produce retries, {} commit failures",
        Metrics::get(&metrics.broker_down_total),
        Metrics::is(&metrics.broker_reachable),
        health_reason.trim(),
        done_at_up,
        Metrics::get(&metrics.produce_retries_total),
        Metrics::get(&metrics.offset_commit_failures_total),
    );
    assert!(
        done_at_down < split as u64,
        "the broker went away after the work, not during it"
    );
    assert!(
        !running.is_finished(),
        "the pipeline stopped when the broker went away"
    );
    assert!(
        Metrics::get(&metrics.broker_down_total) > 0,
        "the outage was reported"
    );
    assert!(
        !Metrics::is(&metrics.broker_reachable),
        "reported unhealthy"
    );
    assert_eq!(
        (health_status, health_reason.as_str()),
        (503, "no broker reachable\n"),
        "/health at the end of the outage"
    );
    assert_eq!(
        done_after_1s,
        Some(done_at_up),
        "nothing is acknowledged while the broker is down"
    );
    assert!(
        Metrics::get(&metrics.produce_retries_total) > 0,
        "unacknowledged outputs were retried"
    );

    env.broker.up()?;
    let up = Instant::now();
    while running.done() == done_at_up && up.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "broker outage: processing resumed {:?} after the broker came back",
        up.elapsed()
    );
    produce_raw(&producer(cfg)?, &cfg.topics.predictions, &encoded[split..]).await?;
    running
        .wait_done(preds.len() as u64, Duration::from_secs(180))
        .await?;
    // Healthy again (the loop marks readiness between batches).
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        let answer = http_get(addr, "/health").await?;
        if answer.0 == 200 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health, (200, "ready\n".to_string()), "/health after");
    assert!(
        Metrics::is(&running.metrics.broker_reachable),
        "healthy again"
    );
    let metrics = running.stop().await?;
    println!(
        "broker outage: {} records in (replays included), {} processed, {} skipped as already applied, \
         {} produce retries, {} producers replaced, {} commit failures, broker_down_total {}",
        Metrics::get(&metrics.records_in_total),
        Metrics::get(&metrics.records_processed_total),
        Metrics::get(&metrics.records_skipped_total),
        Metrics::get(&metrics.produce_retries_total),
        Metrics::get(&metrics.producers_replaced_total),
        Metrics::get(&metrics.offset_commit_failures_total),
        Metrics::get(&metrics.broker_down_total),
    );
    let committed = committed_total(
        cfg,
        &cfg.kafka.group_id,
        &cfg.topics.predictions,
        cfg.topics.partitions,
    )?;
    assert_eq!(committed, preds.len() as i64, "every record committed");
    outputs_match_reference(&env, "broker outage")
}

// Not in the default run: after a restart, tansu sometimes answers every
// produce request with "Unknown broker error" or never acknowledges it,
// even for a new producer (2 of 3 runs at the time of writing), so the
// pipeline cannot resume and the test would fail for the broker's sake.
// Run it by hand: `cargo test --test broker_restart -- --ignored`.
#[ignore = "manual: tansu does not reliably accept produce requests after a restart"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_tansu_process_restart() -> TestResult {
    init_logs();
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
    outputs_match_reference(&env, "broker restart")
}
