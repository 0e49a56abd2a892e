//! Gathering batches from the consumer, and the offsets they reach.
//!
//! Guarantees: a batch waits for its first record (or shutdown, or
//! `IDLE_WAKE` so an idle instance still looks at assignments), then takes
//! what arrives until it is full or the batch timeout passes; records of
//! partitions revoked meanwhile can be left to their new owner; offsets are
//! tracked per partition as the next one to read.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::time::Instant;

use super::rebalance::RebalanceLog;
use crate::config::PipelineConfig;

/// Longest wait for a record before the loop looks at new assignments
/// anyway (an idle instance restores, and turns ready, without data).
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// Waits for the first record (or shutdown), then gathers more until the
/// batch is full or the batch timeout passes. `None` means stop; an empty
/// batch comes after `IDLE_WAKE` without records.
pub(super) async fn next_batch(
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
pub(super) fn owned_only(
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

/// Next offset to read per (topic, partition), over the batches of one
/// commit interval.
#[derive(Debug, Default)]
pub(super) struct Positions(BTreeMap<(String, i32), i64>);

impl Positions {
    /// Moves past every record of `batch`.
    pub(super) fn advance(&mut self, batch: &[OwnedMessage]) {
        for m in batch {
            let e = self
                .0
                .entry((m.topic().to_string(), m.partition()))
                .or_insert(0);
            *e = (*e).max(m.offset() + 1);
        }
    }

    /// Forgets a revoked partition (its new owner commits it).
    pub(super) fn forget(&mut self, topic: &str, partition: i32) {
        self.0.remove(&(topic.to_string(), partition));
    }

    /// Nothing consumed since the last commit.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The offsets to commit.
    pub(super) fn list(&self) -> Result<TopicPartitionList, rdkafka::error::KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), offset) in &self.0 {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
        }
        Ok(tpl)
    }

    /// Starts a new interval.
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}
