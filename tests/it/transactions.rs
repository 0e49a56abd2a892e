//! The transactional path (`kafka.transactions = true`) on librdkafka's
//! MockCluster, which accepts the transaction calls (tansu, the test broker
//! of the other tests, rejects transaction commits): with
//! `state.commit-interval = 0s` every batch's outputs, changelog records and
//! consumed offsets go out in one transaction (with a longer interval, one
//! transaction spans the interval's batches), and
//! the decisions equal those of the processor run directly. The mock
//! cluster does not isolate aborted records, so this shows the calls work
//! end to end, not exactly-once; that needs a real Kafka.

use std::time::Duration;

use crate::common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::telemetry::Metrics;
use rdkafka::mocking::MockCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_batches_publish_every_output() -> TestResult {
    let cluster = MockCluster::new(1)?;
    let dir = tempfile::tempdir()?;
    let mut c = jidoka::config::Config::defaults()?;
    c.kafka.bootstrap_servers = cluster.bootstrap_servers();
    c.kafka.group_id = unique("group");
    c.kafka.transactions = true;
    c.kafka.produce_timeout = Duration::from_secs(10);
    c.state.data_dir = dir.path().to_path_buf();
    c.state.sync_writes = false;
    c.state.commit_interval = Duration::ZERO;
    c.detect.reference_size = 500;
    c.detect.window_size = 250;
    c.detect.evaluate_every = 125;
    let loaded = with_version(c)?;
    let cfg = &loaded.config;
    for spec in jidoka::kafka::topic_specs(cfg) {
        cluster.create_topic(&spec.name, spec.partitions, 1)?;
    }
    let codec = jidoka::schema::Codec::new(cfg.schemas.ids)?;
    let preds = Scenario::demo(3000, 1500).predictions();

    let running = start_pipeline(&loaded);
    produce_raw(
        &producer(cfg)?,
        &cfg.topics.predictions,
        &encode_predictions(&codec, &preds)?,
    )
    .await?;
    running
        .wait_done(preds.len() as u64, Duration::from_secs(120))
        .await?;
    let metrics = running.stop().await?;
    assert_eq!(Metrics::get(&metrics.heal_commands_total), 1);
    assert_eq!(
        Metrics::get(&metrics.transactions_committed_total),
        Metrics::get(&metrics.batches_total),
        "every batch committed in a transaction"
    );
    assert!(Metrics::get(&metrics.batches_total) > 0);
    assert!(Metrics::get(&metrics.changelog_records_total) > 0);
    assert_eq!(
        published(&loaded, &codec)?,
        reference_run(&loaded, &codec)?,
        "the transactions published exactly the reference decisions"
    );
    Ok(())
}
