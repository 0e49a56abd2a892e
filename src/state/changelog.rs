//! Changelog topics: every store mirrored entry by entry into a compacted
//! topic, and a partition's state restored from them.
//!
//! Guarantees:
//! - Every key a checkpoint writes or deletes (offsets included) is one
//!   changelog record (a delete is a tombstone), sent to the partition of
//!   its model's input partition; the pipeline has them acknowledged before
//!   the checkpoint is written to RocksDB, so a crash in between replays
//!   the same writes.
//! - [`restore`] reads one partition of every changelog topic with one
//!   consumer, from its start to the end seen when it began (position or
//!   partition EOF), applies the records in order in large RocksDB batches
//!   (the last write of a key wins, a tombstone deletes), and rebuilds the
//!   derived expiry index on the way: after it, the local store holds what
//!   the changelog held for that partition. It waits on progress, not on a
//!   fixed time, and stops within a poll interval (or one broker round
//!   trip while it queries the topics' watermarks) when asked to. The input
//!   offsets are written last, in the batch that ends the restore: a
//!   restore cut short (a crash, a shutdown) leaves the partition without
//!   offsets, so it is done again at the next start instead of passing for
//!   complete.
//! - Restoring is needed when the local store lacks the partition, or holds
//!   offsets behind what the group committed (the partition was processed
//!   elsewhere since).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use rocksdb::WriteBatch;

use super::cf::Cf;
use super::store::{Checkpoint, StateError, Store};
use crate::config::Config;
use crate::kafka::reader_config;

/// Changelog records applied per RocksDB batch during a restore.
const RESTORE_BATCH: usize = 20_000;
/// Longest a restore may go without reading a record before it fails.
const NO_PROGRESS: Duration = Duration::from_secs(60);
/// How long one poll waits (also how soon a stop request is seen).
const POLL: Duration = Duration::from_millis(100);

/// How a partition's restore went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restored {
    /// Changelog records read.
    pub records: u64,
    /// Bytes of keys and values read.
    pub bytes: u64,
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
        source: KafkaError,
    },
    /// The changelog stopped delivering records before its end (external).
    #[error(
        "changelog of partition {partition}: no record for {waited:?} with {left:?} still to read"
    )]
    Stalled {
        /// Partition.
        partition: i32,
        /// (topic, next offset, end) of what was left.
        left: Vec<(String, i64, i64)>,
        /// Time waited without progress.
        waited: Duration,
    },
    /// Shutdown came first: the partition is not restored.
    #[error("restore of partition {0} stopped by shutdown")]
    Stopped(i32),
    /// RocksDB failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// One changelog record: a store key and its value (`None`: tombstone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogRecord {
    /// Changelog topic.
    pub topic: String,
    /// Store key.
    pub key: Vec<u8>,
    /// Value, `None` for a delete.
    pub value: Option<Vec<u8>>,
    /// Partition (that of the key's input partition).
    pub partition: i32,
}

/// The changelog records of a checkpoint, one per key written.
pub fn records(cfg: &Config, cp: &Checkpoint) -> Vec<ChangelogRecord> {
    cp.changelog()
        .map(|w| ChangelogRecord {
            topic: cfg.changelog_topic(w.cf.name()),
            key: w.key,
            value: w.value,
            partition: w.partition,
        })
        .collect()
}

/// Moves `topic`'s next offset past `offset`, or drops the topic from
/// `left` once its end is reached.
fn continue_after(left: &mut BTreeMap<String, (Cf, i64, i64)>, topic: &str, offset: i64, end: i64) {
    let next = offset + 1;
    if next >= end {
        left.remove(topic);
    } else if let Some(entry) = left.get_mut(topic) {
        entry.1 = next;
    }
}

/// Whether `partition`'s local state must be restored: the store has no
/// offsets for it, or its offsets are behind the group's committed ones.
pub fn needs_restore(cfg: &Config, store: &Store, partition: i32) -> Result<bool, RestoreError> {
    let inputs = cfg.input_topics();
    let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
    if !store.has_partition(&names, partition)? {
        return Ok(true);
    }
    let kafka = |source| RestoreError::Kafka {
        topic: cfg.topics.predictions.clone(),
        partition,
        source,
    };
    let mut c = reader_config(cfg);
    c.set("group.id", &cfg.kafka.group_id);
    let consumer: BaseConsumer = c.create().map_err(kafka)?;
    let mut tpl = TopicPartitionList::new();
    for topic in &inputs {
        tpl.add_partition(topic, partition);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .map_err(kafka)?;
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

/// A record derived from a restored one (the expiry index of waiting
/// predictions and labels): given a store, key and value, the derived
/// store and key, stored with an empty value.
pub type Derive<'a> = &'a dyn Fn(Cf, &[u8], &[u8]) -> Option<(Cf, Vec<u8>)>;

/// Restores `partition` of every store from its changelog; `stop` turning
/// true ends it with [`RestoreError::Stopped`].
pub fn restore(
    cfg: &Config,
    store: &Store,
    partition: i32,
    derive: Derive<'_>,
    stop: &AtomicBool,
) -> Result<Restored, RestoreError> {
    let started = Instant::now();
    let kafka = |topic: &str| {
        let topic = topic.to_string();
        move |source| RestoreError::Kafka {
            topic: topic.clone(),
            partition,
            source,
        }
    };
    let mut c = reader_config(cfg);
    c.set("enable.partition.eof", "true")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "10485760")
        .set("queued.max.messages.kbytes", "262144");
    let consumer: BaseConsumer = c.create().map_err(kafka("changelog"))?;
    // Topic → (store, next offset to read, end).
    let mut left: BTreeMap<String, (Cf, i64, i64)> = BTreeMap::new();
    let mut tpl = TopicPartitionList::new();
    for cf in Cf::ALL.into_iter().filter(|cf| cf.changelogged()) {
        // Each query is a broker round trip: a slow broker must not hold
        // a stop back until every topic is queried.
        if stop.load(Ordering::Relaxed) {
            return Err(RestoreError::Stopped(partition));
        }
        let topic = cfg.changelog_topic(cf.name());
        let (low, high) = consumer
            .fetch_watermarks(&topic, partition, Duration::from_secs(10))
            .map_err(kafka(&topic))?;
        if high > low {
            tpl.add_partition_offset(&topic, partition, Offset::Offset(low))
                .map_err(kafka(&topic))?;
            left.insert(topic, (cf, low, high));
        }
    }
    let mut done = Restored::default();
    if left.is_empty() {
        done.elapsed = started.elapsed();
        return Ok(done);
    }
    consumer.assign(&tpl).map_err(kafka("changelog"))?;
    let mut batch = WriteBatch::default();
    // The offsets, last write of each key, held back for the final batch.
    let mut offsets: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    let mut last_progress = Instant::now();
    while !left.is_empty() {
        if stop.load(Ordering::Relaxed) {
            return Err(RestoreError::Stopped(partition));
        }
        let Some(msg) = consumer.poll(POLL) else {
            if last_progress.elapsed() > NO_PROGRESS {
                return Err(RestoreError::Stalled {
                    partition,
                    left: left
                        .iter()
                        .map(|(t, (_, at, end))| (t.clone(), *at, *end))
                        .collect(),
                    waited: NO_PROGRESS,
                });
            }
            continue;
        };
        let msg = match msg {
            Ok(m) => m,
            Err(KafkaError::PartitionEOF(p)) if p == partition => {
                // The end of some topic: the ones whose position reached
                // their end are done.
                let positions = consumer.position().map_err(kafka("changelog"))?;
                for e in positions.elements() {
                    if let (Offset::Offset(at), Some(entry)) = (e.offset(), left.get_mut(e.topic()))
                    {
                        entry.1 = entry.1.max(at);
                    }
                }
                left.retain(|_, (_, at, end)| at < end);
                continue;
            }
            Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF) => continue,
            Err(e) => return Err(kafka("changelog")(e)),
        };
        last_progress = Instant::now();
        let topic = msg.topic();
        let Some(&(cf, _, end)) = left.get(topic) else {
            continue;
        };
        done.records += 1;
        let handle = store.handle(cf)?;
        if let Some(key) = msg.key() {
            done.bytes += key.len() as u64;
            if cf == Cf::Offsets {
                done.bytes += msg.payload().map_or(0, |v| v.len() as u64);
                offsets.insert(key.to_vec(), msg.payload().map(<[u8]>::to_vec));
                continue_after(&mut left, topic, msg.offset(), end);
                continue;
            }
            match msg.payload() {
                Some(value) => {
                    done.bytes += value.len() as u64;
                    batch.put_cf(handle, key, value);
                    if let Some((dcf, dkey)) = derive(cf, key, value) {
                        batch.put_cf(store.handle(dcf)?, dkey, []);
                    }
                }
                None => batch.delete_cf(handle, key),
            }
        }
        continue_after(&mut left, topic, msg.offset(), end);
        if batch.len() >= RESTORE_BATCH {
            store.apply(std::mem::take(&mut batch), false)?;
        }
    }
    let handle = store.handle(Cf::Offsets)?;
    for (key, value) in offsets {
        match value {
            Some(value) => batch.put_cf(handle, key, value),
            None => batch.delete_cf(handle, key),
        }
    }
    store.apply(batch, true)?;
    done.elapsed = started.elapsed();
    Ok(done)
}
