//! A stopped and restarted processor resumes from its committed offsets and
//! its RocksDB state: nothing is reprocessed, no command is re-emitted, and
//! the decisions equal those of an uninterrupted run. A restart that finds
//! its committed offsets behind its checkpoint (a crash between the two)
//! skips what the state already reflects.

use crate::common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::telemetry::Metrics;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_without_reemitting() -> TestResult {
    let env = TestEnv::start().await?;
    let (cfg, codec, loaded) = (env.cfg(), &env.codec, &env.loaded);
    let preds = Scenario::demo(3000, 1500).predictions();
    let encoded = encode_predictions(codec, &preds)?;
    // Split after the command (near record 1625 of the shifted model) and
    // inside its cooldown: a processor that forgot its state or offsets would
    // emit again.
    let split = 3 * 2000;

    let m1 = env.run(&encoded[..split]).await?;
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

    let m2 = env.run(&encoded[split..]).await?;
    assert_eq!(
        Metrics::get(&m2.records_in_total),
        (preds.len() - split) as u64,
        "resumed at the committed offsets"
    );
    assert_eq!(
        Metrics::get(&m2.records_processed_total),
        (preds.len() - split) as u64,
        "no record processed twice"
    );
    assert_eq!(
        Metrics::get(&m2.heal_commands_total),
        0,
        "no command re-emitted"
    );
    assert!(
        Metrics::get(&m2.decisions_total) > 0,
        "the drift is still seen after the restart"
    );

    let expected = reference_run(loaded, codec)?;
    assert_eq!(
        published(loaded, codec)?,
        expected,
        "same commands and decisions, none doubled"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_behind_the_checkpoint_are_skipped() -> TestResult {
    let env = TestEnv::start().await?;
    let (cfg, codec, loaded) = (env.cfg(), &env.codec, &env.loaded);
    let preds = Scenario::demo(3000, 1500).predictions();
    let encoded = encode_predictions(codec, &preds)?;
    let split = 3 * 2000;

    env.run(&encoded[..split]).await?;
    // As if the process died after its RocksDB checkpoint but before the
    // offset commit: the group's offsets go back to the start.
    reset_offsets(
        cfg,
        &cfg.kafka.group_id,
        &cfg.topics.predictions,
        cfg.topics.partitions,
        0,
    )?;
    assert_eq!(
        committed_total(
            cfg,
            &cfg.kafka.group_id,
            &cfg.topics.predictions,
            cfg.topics.partitions
        )?,
        0
    );

    let m2 = env.run(&encoded[split..]).await?;
    assert_eq!(
        Metrics::get(&m2.records_skipped_total),
        split as u64,
        "every already-applied record skipped"
    );
    assert_eq!(
        Metrics::get(&m2.records_processed_total),
        (preds.len() - split) as u64
    );
    assert_eq!(Metrics::get(&m2.heal_commands_total), 0);

    let expected = reference_run(loaded, codec)?;
    assert_eq!(published(loaded, codec)?, expected, "no output repeated");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_data_dir_is_restored_from_the_changelog() -> TestResult {
    let env = TestEnv::start().await?;
    let (cfg, codec, loaded) = (env.cfg(), &env.codec, &env.loaded);
    assert!(cfg.state.changelog);
    let preds = Scenario::demo(3000, 1500).predictions();
    let encoded = encode_predictions(codec, &preds)?;
    // After the command and inside its cooldown, as above: a processor that
    // lost its windows, cooldown or hash chain would decide differently.
    let split = 3 * 2000;
    let m1 = env.run(&encoded[..split]).await?;
    assert_eq!(Metrics::get(&m1.heal_commands_total), 1);
    assert!(Metrics::get(&m1.changelog_records_total) > 0);

    // The instance's disk is gone: every partition must come back from the
    // changelog before its records are processed.
    std::fs::remove_dir_all(env.dir.path())?;
    let m2 = env.run(&encoded[split..]).await?;
    assert_eq!(
        Metrics::get(&m2.partitions_restored_total),
        cfg.topics.partitions as u64,
        "every partition restored"
    );
    assert!(Metrics::get(&m2.restored_records_total) > 0);
    assert_eq!(
        Metrics::get(&m2.records_processed_total),
        (preds.len() - split) as u64,
        "no record processed twice"
    );
    assert_eq!(
        Metrics::get(&m2.heal_commands_total),
        0,
        "cooldown restored"
    );
    let expected = reference_run(loaded, codec)?;
    assert_eq!(
        published(loaded, codec)?,
        expected,
        "identical commands and decisions after the restore"
    );
    // The restored hash chain continues where it stopped: no gap, no fork.
    let audits = read_all::<jidoka::schema::AuditRecord>(cfg, codec, &cfg.topics.audit)?;
    let reports = jidoka::audit::verify(audits.into_iter().map(|r| r.value));
    assert!(!reports.is_empty());
    for r in &reports {
        assert!(r.is_intact(), "{r:?}");
    }
    Ok(())
}

/// A restore cut short (here by a stop request once more than one RocksDB
/// batch of changelog records is read) leaves the partition without input
/// offsets, although thousands of offsets records were read by then:
/// the next start restores it again instead of taking a partial state for
/// complete. The full restore that follows holds the offsets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_cut_short_is_not_taken_for_complete() -> TestResult {
    use jidoka::state::changelog::{needs_restore, restore};
    use jidoka::state::{offset_key, Cf, RestoreError, Store};
    use rdkafka::producer::FutureRecord;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    const RECORDS: usize = 30_000;
    let env = TestEnv::start().await?;
    let cfg = env.cfg();
    let producer = producer(cfg)?;
    let offsets_topic = cfg.changelog_topic(Cf::Offsets.name());
    let bulk_topic = cfg.changelog_topic(Cf::Windows.name());
    // The offsets of the predictions partition, written again and again
    // (the last value, 42, wins), then as many records of another store.
    let key = offset_key(&cfg.topics.predictions, 0);
    for chunk in (0..RECORDS).collect::<Vec<_>>().chunks(1000) {
        let values: Vec<[u8; 8]> = chunk
            .iter()
            .map(|i| (42 + *i as i64 + 1 - RECORDS as i64).to_be_bytes())
            .collect();
        let sends = values.iter().map(|v| {
            producer.send(
                FutureRecord::to(&offsets_topic)
                    .partition(0)
                    .key(&key)
                    .payload(v),
                Duration::from_secs(10),
            )
        });
        for r in futures::future::join_all(sends).await {
            r.map_err(|(e, _)| e)?;
        }
    }
    for chunk in (0..RECORDS).collect::<Vec<_>>().chunks(1000) {
        let keys: Vec<String> = chunk.iter().map(|i| format!("model-{i}")).collect();
        let sends = keys.iter().map(|k| {
            producer.send(
                FutureRecord::to(&bulk_topic)
                    .partition(0)
                    .key(k.as_bytes())
                    .payload(b"state"),
                Duration::from_secs(10),
            )
        });
        for r in futures::future::join_all(sends).await {
            r.map_err(|(e, _)| e)?;
        }
    }

    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), false)?;
    let stop = AtomicBool::new(false);
    let seen = AtomicUsize::new(0);
    let cut = |_: Cf, _: &[u8], _: &[u8]| {
        if seen.fetch_add(1, Ordering::Relaxed) + 1 >= RECORDS - 1000 {
            stop.store(true, Ordering::Relaxed);
        }
        None
    };
    let cut_short = restore(cfg, &store, 0, &cut, &stop);
    assert!(
        matches!(cut_short, Err(RestoreError::Stopped(0))),
        "{cut_short:?}"
    );
    assert!(seen.load(Ordering::Relaxed) >= RECORDS - 1000);
    assert_eq!(store.applied_offset(&cfg.topics.predictions, 0)?, None);
    assert!(needs_restore(cfg, &store, 0)?);

    let done = restore(cfg, &store, 0, &|_, _, _| None, &AtomicBool::new(false))?;
    assert_eq!(done.records, 2 * RECORDS as u64);
    assert_eq!(store.applied_offset(&cfg.topics.predictions, 0)?, Some(42));
    assert!(!needs_restore(cfg, &store, 0)?);
    Ok(())
}
