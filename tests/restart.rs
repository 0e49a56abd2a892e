//! A stopped and restarted processor resumes from its committed offsets and
//! its RocksDB state: nothing is reprocessed, no command is re-emitted, and
//! the decisions equal those of an uninterrupted run.

mod common;

use std::time::Duration;

use common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::pipeline::{Output, Processor, SourcePos};
use jidoka::schema::{AuditRecord, Codec, HealCommand};
use jidoka::state::Store;
use jidoka::telemetry::Metrics;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_without_reemitting() -> TestResult {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let loaded = test_config(&broker, dir.path())?;
    let cfg = &loaded.config;
    create_topics(cfg).await?;
    let codec = Codec::new(cfg.schemas.ids)?;
    let preds = Scenario::demo(3000, 1500).predictions();
    let encoded = encode_predictions(&codec, &preds)?;
    // Split after the command (near record 1625 of the shifted model) and
    // inside its cooldown: a processor that forgot its state or offsets would
    // emit again.
    let split = 3 * 2000;
    let producer = producer(cfg)?;

    let first = start_pipeline(&loaded);
    produce_raw(&producer, &cfg.topics.predictions, &encoded[..split]).await?;
    first
        .wait_done(split as u64, Duration::from_secs(120))
        .await?;
    let m1 = first.stop().await?;
    assert_eq!(Metrics::get(&m1.heal_commands_total), 1);
    assert_eq!(
        committed_total(
            cfg,
            &cfg.kafka.group_id,
            &cfg.topics.predictions,
            cfg.topics.partitions
        )?,
        split as i64,
        "offsets of every processed record committed"
    );

    let second = start_pipeline(&loaded);
    produce_raw(&producer, &cfg.topics.predictions, &encoded[split..]).await?;
    second
        .wait_done((preds.len() - split) as u64, Duration::from_secs(120))
        .await?;
    let m2 = second.stop().await?;
    assert_eq!(
        Metrics::get(&m2.records_processed_total),
        (preds.len() - split) as u64,
        "no record processed twice"
    );
    assert_eq!(Metrics::get(&m2.records_skipped_total), 0);
    assert_eq!(
        Metrics::get(&m2.heal_commands_total),
        0,
        "no command re-emitted"
    );
    assert!(
        Metrics::get(&m2.decisions_total) > 0,
        "the drift is still seen after the restart"
    );

    // Reference: the same stream through one uninterrupted processor.
    let ref_dir = tempfile::tempdir()?;
    let mut reference = Processor::new(cfg, &loaded.version, Store::open(ref_dir.path(), false)?);
    let mut expected_commands = Vec::new();
    let mut expected_audits = Vec::new();
    for (i, p) in preds.iter().enumerate() {
        let pos = SourcePos {
            topic: cfg.topics.predictions.clone(),
            partition: 0,
            offset: i as i64,
        };
        for out in reference.process(&pos, p)? {
            match out {
                Output::Command(c) => expected_commands.push(c),
                Output::Audit(a) => expected_audits.push(a.decision_id),
                Output::Drift(_) => {}
            }
        }
    }
    let commands: Vec<HealCommand> = read_all::<HealCommand>(cfg, &codec, &cfg.topics.actions)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    assert_eq!(commands, expected_commands);
    let mut audits: Vec<String> = read_all::<AuditRecord>(cfg, &codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value.decision_id)
        .collect();
    audits.sort();
    expected_audits.sort();
    assert_eq!(audits, expected_audits, "same decisions, none doubled");
    Ok(())
}
