//! The Kafka loop around the [`Processor`].
//!
//! Guarantees (at-least-once, with deterministic output ids):
//! 1. a batch's outputs, dead letters included, are all acknowledged before
//!    its state is checkpointed;
//! 2. the checkpoint (state + next offsets) is durable before the offsets
//!    are committed to Kafka;
//! 3. a record already reflected in the checkpoint is skipped, so a restart
//!    between 2 and the commit does not repeat its effects;
//! 4. a bad record never stops the loop: it goes to the dead-letter topic.
//!
//! Stopping: when the shutdown signal fires the loop finishes nothing new;
//! the batch in flight is either fully committed or, if it could not be
//! acknowledged, left uncommitted to be processed again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::time::Instant;

use super::changelog::{self, RestoreError};
use super::health::{Health, OutputProducer};
use super::processor::{Output, Processor, SourcePos};
use super::rebalance::RebalanceLog;
use super::reference::{ReferenceData, ReferenceError};
use super::sink::{Encoded, NotAcknowledged, Sink};
use crate::config::{Config, LoadedConfig, PipelineConfig, ReferenceMode};
use crate::ingest;
use crate::kafka::{consumer_config, producer_config, KafkaError};
use crate::schema::{Codec, HealOutcome, Label, OperatorCommand, Prediction, SchemaError};
use crate::state::{StateError, Store};
use crate::telemetry::{
    BatchCommitted, DecisionTaken, DriftDetected, HealCommandPublished, HttpEndpoint, HttpError,
    Metrics, OffsetCommitFailed, RecordDeadLettered, RecordSkipped, StateRestored,
};

/// Longest a partition's restore from the changelog may take.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest wait for a record before the loop looks at new assignments
/// anyway (an idle instance restores, and turns ready, without data).
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// Why the pipeline stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A schema is broken or an output does not encode (internal).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Local state failed (external: disk) or is corrupt.
    #[error(transparent)]
    State(#[from] StateError),
    /// Kafka clients could not be created or subscribed (external).
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// The data directory could not be created (external).
    #[error("data dir {path}: {source}")]
    DataDir {
        /// Directory.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
    /// A partition's state could not be restored from its changelog.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// The reference file cannot be used.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// Shutdown came while a batch's outputs were still unacknowledged; the
    /// batch was not committed and will be processed again.
    #[error(transparent)]
    NotAcknowledged(#[from] NotAcknowledged),
    /// The telemetry endpoint could not listen (bad or busy address).
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl From<rdkafka::error::KafkaError> for PipelineError {
    fn from(e: rdkafka::error::KafkaError) -> Self {
        PipelineError::Kafka(KafkaError::Client(e))
    }
}

/// Runs the pipeline until `shutdown` turns true (or its sender is dropped).
pub async fn run(
    loaded: &LoadedConfig,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), PipelineError> {
    let cfg: &Config = &loaded.config;
    // Served until this function returns.
    let _http = HttpEndpoint::start_if(&cfg.telemetry.http_address, metrics.clone()).await?;
    let codec = Codec::new(cfg.schemas.ids)?;
    std::fs::create_dir_all(&cfg.state.data_dir).map_err(|source| PipelineError::DataDir {
        path: cfg.state.data_dir.display().to_string(),
        source,
    })?;
    let store = Store::open(&cfg.state.data_dir, cfg.state.sync_writes)?;
    let mut processor = Processor::new(cfg, &loaded.version, store);
    if cfg.detect.reference_mode == ReferenceMode::File {
        if let Some(path) = &cfg.detect.reference_file {
            processor = processor.with_reference(Arc::new(ReferenceData::from_file(path)?));
        }
    }
    let consumer: StreamConsumer<RebalanceLog> =
        consumer_config(cfg).create_with_context(RebalanceLog::new(metrics.clone()))?;
    consumer.subscribe(&cfg.input_topics())?;
    let producer: OutputProducer =
        producer_config(cfg).create_with_context(Health::new(metrics.clone()))?;
    if cfg.kafka.transactions {
        producer.init_transactions(cfg.kafka.produce_timeout)?;
        tracing::info!(transactional_id = %cfg.transactional_id(), "transactions on");
    }
    let mut sink = Sink::new(
        producer,
        codec.clone(),
        cfg.topics.clone(),
        cfg.kafka.produce_timeout,
    );
    tracing::info!(
        topic = %cfg.topics.predictions,
        group = %cfg.kafka.group_id,
        config_version = %loaded.version,
        "pipeline started"
    );

    while let Some(batch) = next_batch(&consumer, &cfg.pipeline, &mut shutdown).await {
        let epoch = metrics.readiness.epoch();
        let revoked = consumer.context().take_revoked();
        for (topic, partition) in &revoked {
            processor.forget_partition(topic, *partition);
        }
        // Records fetched before a revoke belong to the partition's new
        // owner now: it restores the state this instance flushed with its
        // last batch and processes them itself.
        let batch = if revoked.is_empty() {
            batch
        } else {
            owned_only(&consumer, batch)
        };
        let assigned: BTreeSet<i32> = consumer
            .context()
            .take_assigned()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        if cfg.state.changelog {
            for partition in assigned {
                restore_partition(cfg, &mut processor, partition, &metrics)?;
            }
        }
        metrics.readiness.restored(epoch);
        if batch.is_empty() {
            continue;
        }
        Metrics::set(&metrics.broker_reachable, true);
        metrics.count_in(batch.iter().map(|m| m.topic()));
        let mut outputs: Vec<Output> = Vec::new();
        let mut encoded: Vec<Encoded> = Vec::new();
        let mut processed = 0u64;
        for msg in &batch {
            let pos = SourcePos {
                topic: msg.topic().to_string(),
                partition: msg.partition(),
                offset: msg.offset(),
            };
            if processor.already_applied(&pos)? {
                RecordSkipped {
                    topic: &pos.topic,
                    partition: pos.partition,
                    offset: pos.offset,
                }
                .emit(&metrics);
                continue;
            }
            let started = std::time::Instant::now();
            let result = if pos.topic == cfg.topics.labels {
                ingest::decode::<Label>(&codec, msg)
                    .map(|label| processor.process_label(&pos, &label))
            } else if pos.topic == cfg.topics.outcomes {
                ingest::decode::<HealOutcome>(&codec, msg)
                    .map(|o| processor.process_outcome(&pos, &o))
            } else if pos.topic == cfg.topics.operator {
                ingest::decode::<OperatorCommand>(&codec, msg).map(|c| {
                    let verified = crate::operator::check(cfg, &c);
                    processor.process_operator(&pos, &c, verified)
                })
            } else {
                ingest::decode::<Prediction>(&codec, msg).map(|p| processor.process(&pos, &p))
            };
            match result {
                Ok(outs) => {
                    let outs = outs?;
                    observe_latency(&metrics, started.elapsed(), &outs);
                    for out in outs {
                        encoded.push(sink.encode(&out)?);
                        outputs.push(out);
                    }
                    processed += 1;
                }
                Err(dead) => {
                    RecordDeadLettered {
                        topic: &pos.topic,
                        partition: pos.partition,
                        offset: pos.offset,
                        kind: &dead.error_kind,
                        reason: &dead.reason,
                    }
                    .emit(&metrics);
                    encoded.push(sink.encode_dead_letter(&dead)?);
                    processor.mark_done(&pos);
                }
            }
        }
        let checkpoint = processor.pending_checkpoint();
        let changelog_records = if cfg.state.changelog {
            changelog::records(cfg, &checkpoint)
        } else {
            Vec::new()
        };
        if cfg.kafka.transactions {
            // Outputs, changelog and offsets commit together; RocksDB
            // follows (a crash in between is repaired from the changelog,
            // which is ahead of the local offsets).
            let offsets = next_offsets(&batch)?;
            publish_in_transaction(
                &sink,
                &consumer,
                [&encoded, &changelog_records],
                &offsets,
                cfg,
                &metrics,
                &mut shutdown,
            )
            .await?;
            Metrics::add(&metrics.transactions_committed_total, 1);
            processor.commit_checkpoint(&checkpoint)?;
        } else {
            for records in [&encoded, &changelog_records] {
                publish_or_replace(&mut sink, records, cfg, &metrics, &mut shutdown).await?;
            }
            processor.commit_checkpoint(&checkpoint)?;
            commit(&consumer, &batch, &metrics);
        }
        Metrics::add(
            &metrics.changelog_records_total,
            changelog_records.len() as u64,
        );
        Metrics::add(&metrics.records_processed_total, processed);
        metrics.count_out(
            encoded
                .iter()
                .chain(&changelog_records)
                .map(|e| e.topic.as_str()),
        );
        for out in &outputs {
            emit_output(out, &metrics);
        }
        BatchCommitted {
            records: batch.len(),
            outputs: encoded.len(),
        }
        .emit(&metrics);
    }
    tracing::info!("pipeline stopped");
    Ok(())
}

/// Publishes `records`; a producer that failed fatally (its idempotence
/// state lost, e.g. in a broker restart) is replaced by a new one and the
/// records are sent again (same ids and keys).
async fn publish_or_replace(
    sink: &mut Sink,
    records: &[Encoded],
    cfg: &Config,
    metrics: &Arc<Metrics>,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), PipelineError> {
    loop {
        match sink.publish_all(records, metrics, shutdown).await {
            Ok(()) => return Ok(()),
            Err(e) if e.fatal => {
                tracing::warn!(error = %e, "replacing the output producer");
                Metrics::add(&metrics.producers_replaced_total, 1);
                sink.replace_producer(
                    producer_config(cfg).create_with_context(Health::new(metrics.clone()))?,
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Restores a newly assigned partition's state from the changelog when the
/// local store lacks it or is behind the group.
fn restore_partition(
    cfg: &Config,
    processor: &mut Processor,
    partition: i32,
    metrics: &Metrics,
) -> Result<(), PipelineError> {
    if !changelog::needs_restore(cfg, processor.store(), partition)? {
        return Ok(());
    }
    let done = changelog::restore(cfg, processor.store(), partition, RESTORE_TIMEOUT)?;
    processor.forget_partition(&cfg.topics.predictions, partition);
    StateRestored {
        partition,
        records: done.records,
        keys: done.keys,
        elapsed: done.elapsed,
    }
    .emit(metrics);
    Ok(())
}

fn emit_output(out: &Output, metrics: &Metrics) {
    match out {
        Output::Drift(e) => DriftDetected {
            model_id: &e.model_id,
            feature: &e.feature,
            statistic: e.statistic,
            p_value: e.p_value,
            record: e.window_end_record,
        }
        .emit(metrics),
        Output::Command(c) => HealCommandPublished {
            model_id: &c.model_id,
            command_id: &c.command_id,
            action: c.action.as_str(),
        }
        .emit(metrics),
        // Later versions of a decision (outcome, approval, veto) and the
        // records of operator commands are not new decisions.
        Output::Audit(a) if a.version == 1 && a.operator_command_id.is_none() => DecisionTaken {
            model_id: &a.model_id,
            decision_id: &a.decision_id,
            action: &a.action,
            reason: &a.gate_reason,
            source: &a.decided_by,
        }
        .emit(metrics),
        Output::Audit(_) => {}
    }
}

/// Processing time of one record: detection always, decision when the
/// record led to one (an audit record).
fn observe_latency(metrics: &Metrics, elapsed: Duration, outs: &[Output]) {
    metrics.observe_detect_latency(elapsed);
    if outs.iter().any(|o| matches!(o, Output::Audit(_))) {
        metrics.observe_decision_latency(elapsed);
    }
}

/// Waits for the first record (or shutdown), then gathers more until the
/// batch is full or the batch timeout passes. `None` means stop; an empty
/// batch comes after `IDLE_WAKE` without records.
async fn next_batch(
    consumer: &StreamConsumer<RebalanceLog>,
    cfg: &PipelineConfig,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Vec<OwnedMessage>> {
    if *shutdown.borrow() {
        return None;
    }
    let first = tokio::select! {
        biased;
        _ = shutdown.changed() => return None,
        m = consumer.recv() => m,
        _ = tokio::time::sleep(IDLE_WAKE) => return Some(Vec::new()),
    };
    let mut batch = Vec::with_capacity(cfg.batch_size);
    match first {
        Ok(m) => batch.push(m.detach()),
        Err(e) => {
            tracing::warn!(error = %e, "consumer error; backing off");
            tokio::select! {
                _ = shutdown.changed() => return None,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            return Some(batch);
        }
    }
    let deadline = Instant::now() + cfg.batch_timeout;
    while batch.len() < cfg.batch_size {
        tokio::select! {
            m = consumer.recv() => match m {
                Ok(m) => batch.push(m.detach()),
                Err(e) => {
                    tracing::warn!(error = %e, "consumer error");
                    break;
                }
            },
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    Some(batch)
}

/// The records of partitions this consumer is still assigned.
fn owned_only(
    consumer: &StreamConsumer<RebalanceLog>,
    batch: Vec<OwnedMessage>,
) -> Vec<OwnedMessage> {
    let Ok(assignment) = consumer.assignment() else {
        // Unknown: keep them; a partition lost since is re-read by its new
        // owner from the committed offset, and the ids repeat.
        return batch;
    };
    let owned: BTreeSet<(String, i32)> = assignment
        .elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect();
    let before = batch.len();
    let kept: Vec<OwnedMessage> = batch
        .into_iter()
        .filter(|m| owned.contains(&(m.topic().to_string(), m.partition())))
        .collect();
    if kept.len() < before {
        tracing::info!(
            dropped = before - kept.len(),
            "records of revoked partitions left to their new owner"
        );
    }
    kept
}

/// Per partition, the offset after the batch's last record.
fn next_offsets(batch: &[OwnedMessage]) -> Result<TopicPartitionList, rdkafka::error::KafkaError> {
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for m in batch {
        let e = next.entry((m.topic(), m.partition())).or_insert(0);
        *e = (*e).max(m.offset() + 1);
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    }
    Ok(tpl)
}

/// Commits, per partition, the offset after the batch's last record.
fn commit(consumer: &StreamConsumer<RebalanceLog>, batch: &[OwnedMessage], metrics: &Metrics) {
    let result = next_offsets(batch).and_then(|tpl| consumer.commit(&tpl, CommitMode::Sync));
    if let Err(e) = result {
        OffsetCommitFailed { error: &e }.emit(metrics);
    }
}

/// One Kafka transaction: every record, then the consumed offsets, then
/// the commit. Any failure aborts the transaction and stops the loop: the
/// batch was not committed anywhere and is processed again after the
/// restart (same ids and keys).
async fn publish_in_transaction(
    sink: &Sink,
    consumer: &StreamConsumer<RebalanceLog>,
    records: [&[Encoded]; 2],
    offsets: &TopicPartitionList,
    cfg: &Config,
    metrics: &Metrics,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), PipelineError> {
    let producer = sink.producer();
    let timeout = cfg.kafka.produce_timeout;
    producer.begin_transaction()?;
    let result = async {
        for part in records {
            sink.publish_all(part, metrics, shutdown).await?;
        }
        let group = consumer
            .group_metadata()
            .ok_or(KafkaError::NoGroupMetadata)?;
        producer.send_offsets_to_transaction(offsets, &group, timeout)?;
        producer.commit_transaction(timeout)?;
        Ok::<(), PipelineError>(())
    }
    .await;
    if let Err(e) = result {
        if let Err(abort) = producer.abort_transaction(timeout) {
            tracing::warn!(error = %abort, "aborting the transaction failed");
        }
        return Err(e);
    }
    Ok(())
}
