//! Changelog topics: every store mirrored into a compacted topic, and a
//! partition's state restored from them.
//!
//! Guarantees:
//! - A checkpoint's writes (offsets included) go to the changelog, each to
//!   the partition of its model's input partition, and are acknowledged
//!   before the checkpoint is written to RocksDB; a crash in between
//!   replays the same batch, which writes the same keys again.
//! - [`restore`] reads every store's changelog partition from its start to
//!   the high-water mark seen when it began, keeps the last value per key
//!   (a tombstone deletes), and writes it into RocksDB in one batch: after
//!   it, the local store holds what the changelog held for that partition.
//! - The expiry index is not mirrored: it is rebuilt from the restored
//!   waiting predictions and labels.
//! - Restoring is needed when the local store lacks the partition, or holds
//!   offsets behind what the group committed (the partition was processed
//!   elsewhere since).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::labels::expiry_index;
use super::sink::Encoded;
use crate::config::Config;
use crate::kafka::reader_config;
use crate::state::{Cf, Checkpoint, StateError, Store};

/// How a partition's restore went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restored {
    /// Changelog records read.
    pub records: u64,
    /// Keys written (or deleted) in RocksDB.
    pub keys: u64,
    /// Wall time taken.
    pub elapsed: Duration,
}

/// Why a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// Kafka failed (external).
    #[error("changelog {topic}[{partition}]: {source}")]
    Kafka {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Client error.
        source: rdkafka::error::KafkaError,
    },
    /// The changelog did not reach its high-water mark in time (external).
    #[error("changelog {topic}[{partition}] stopped at offset {at} of {high} within {timeout:?}")]
    Timeout {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Offset reached.
        at: i64,
        /// High-water mark.
        high: i64,
        /// Time allowed.
        timeout: Duration,
    },
    /// RocksDB failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The changelog records of a checkpoint.
pub fn records(cfg: &Config, cp: &Checkpoint) -> Vec<Encoded> {
    cp.changelog()
        .map(|w| Encoded {
            topic: cfg.changelog_topic(w.cf.name()),
            id: String::new(),
            key: Some(w.key),
            payload: w.value,
            partition: Some(w.partition),
        })
        .collect()
}

/// Whether `partition`'s local state must be restored: the store has no
/// offsets for it, or its offsets are behind the group's committed ones.
pub fn needs_restore(cfg: &Config, store: &Store, partition: i32) -> Result<bool, RestoreError> {
    let inputs = cfg.input_topics();
    if !store.has_partition(&inputs, partition)? {
        return Ok(true);
    }
    let consumer: BaseConsumer = group_reader(cfg, &cfg.topics.predictions, partition)?;
    let mut tpl = TopicPartitionList::new();
    for topic in inputs {
        tpl.add_partition(topic, partition);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .map_err(|source| RestoreError::Kafka {
            topic: cfg.topics.predictions.clone(),
            partition,
            source,
        })?;
    for e in committed.elements() {
        if let Offset::Offset(committed) = e.offset() {
            let local = store.applied_offset(e.topic(), partition)?.unwrap_or(-1);
            if local < committed {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn group_reader(cfg: &Config, topic: &str, partition: i32) -> Result<BaseConsumer, RestoreError> {
    let mut c = reader_config(cfg);
    c.set("group.id", &cfg.kafka.group_id);
    c.create().map_err(|source| RestoreError::Kafka {
        topic: topic.to_string(),
        partition,
        source,
    })
}

/// Restores `partition` of every store from its changelog.
pub fn restore(
    cfg: &Config,
    store: &Store,
    partition: i32,
    timeout: Duration,
) -> Result<Restored, RestoreError> {
    let started = Instant::now();
    let mut latest: BTreeMap<(Cf, Vec<u8>), Option<Vec<u8>>> = BTreeMap::new();
    let mut read = 0u64;
    for cf in Cf::ALL.into_iter().filter(|cf| cf.changelogged()) {
        let topic = cfg.changelog_topic(cf.name());
        let kafka = |source| RestoreError::Kafka {
            topic: topic.clone(),
            partition,
            source,
        };
        let consumer: BaseConsumer = reader_config(cfg).create().map_err(kafka)?;
        let (low, high) = consumer
            .fetch_watermarks(&topic, partition, Duration::from_secs(10))
            .map_err(kafka)?;
        if high <= low {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, partition, Offset::Offset(low))
            .map_err(kafka)?;
        consumer.assign(&tpl).map_err(kafka)?;
        let mut at = low;
        while at < high {
            if started.elapsed() > timeout {
                return Err(RestoreError::Timeout {
                    topic,
                    partition,
                    at,
                    high,
                    timeout,
                });
            }
            let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let msg = msg.map_err(kafka)?;
            at = msg.offset() + 1;
            read += 1;
            if let Some(key) = msg.key() {
                latest.insert((cf, key.to_vec()), msg.payload().map(<[u8]>::to_vec));
            }
        }
    }
    let mut records: Vec<(Cf, Vec<u8>, Option<Vec<u8>>)> = Vec::with_capacity(latest.len());
    for ((cf, key), value) in latest {
        // Rebuild the expiry index of what waits for a label.
        if let Some(index) = value.as_deref().and_then(|v| expiry_index(cf, &key, v)) {
            records.push((Cf::Expiry, index, Some(Vec::new())));
        }
        records.push((cf, key, value));
    }
    store.restore(&records)?;
    Ok(Restored {
        records: read,
        keys: records.len() as u64,
        elapsed: started.elapsed(),
    })
}
