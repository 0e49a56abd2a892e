//! Reading whole topics: watermarks, and every record of every partition
//! from its low to its high watermark.
//!
//! Guarantees: [`read_to_end`] returns only once every partition reached
//! the high watermark it had when the read began (by partition EOF or by
//! offset), and fails when no record arrives for [`STALL`]; it never
//! returns after a fixed time with a partial count. Consumers use a unique
//! group id and commit nothing.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::error::BenchError;

/// Longest wait for the next record before a read is declared stuck.
pub const STALL: Duration = Duration::from_secs(60);
const META_TIMEOUT: Duration = Duration::from_secs(10);

/// (low, high) watermark of each partition, by partition id.
pub fn watermarks(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
) -> Result<Vec<(i64, i64)>, BenchError> {
    let consumer = reader(bootstrap, "watermarks")?;
    (0..partitions)
        .map(|p| Ok(consumer.fetch_watermarks(topic, p, META_TIMEOUT)?))
        .collect()
}

/// A group-less-in-effect consumer: unique group id, no commits, EOF
/// events on.
pub fn reader(bootstrap: &str, purpose: &str) -> Result<BaseConsumer, BenchError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Ok(ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("jidoka-bench-{purpose}-{}-{nanos}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .create()?)
}

/// What a read saw.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadStats {
    /// Records read.
    pub records: u64,
    /// Bytes of keys and values read.
    pub bytes: u64,
    /// From the first record to the last.
    pub elapsed: Duration,
}

/// Reads every partition of `topic` from its low watermark to the high
/// watermark in `marks` (as [`watermarks`] returned), calling `each` with
/// (partition, key and value bytes) per record.
pub fn read_to_end(
    consumer: &BaseConsumer,
    topic: &str,
    marks: &[(i64, i64)],
    mut each: impl FnMut(i32, usize),
) -> Result<ReadStats, BenchError> {
    let mut tpl = TopicPartitionList::new();
    let mut done = vec![true; marks.len()];
    for (p, &(low, high)) in marks.iter().enumerate() {
        if high > low {
            tpl.add_partition_offset(topic, p as i32, Offset::Offset(low))?;
            done[p] = false;
        }
    }
    let mut stats = ReadStats::default();
    if tpl.count() == 0 {
        return Ok(stats);
    }
    consumer.assign(&tpl)?;
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    let mut idle_since = Instant::now();
    while done.iter().any(|d| !d) {
        let Some(result) = consumer.poll(Duration::from_millis(100)) else {
            if idle_since.elapsed() > STALL {
                let left = done.iter().filter(|d| !**d).count();
                return Err(BenchError::Lost(format!(
                    "reading {topic}: no record for {STALL:?} with {left} partitions short of their high watermark ({} records read)",
                    stats.records
                )));
            }
            continue;
        };
        idle_since = Instant::now();
        let p = match result {
            Ok(msg) => {
                last = Instant::now();
                first.get_or_insert(last);
                let size = msg.key_len() + msg.payload_len();
                stats.records += 1;
                stats.bytes += size as u64;
                each(msg.partition(), size);
                let p = msg.partition();
                let high = marks.get(p as usize).map_or(0, |m| m.1);
                if msg.offset() + 1 < high {
                    continue;
                }
                p
            }
            Err(KafkaError::PartitionEOF(p)) => p,
            Err(e) => return Err(e.into()),
        };
        if let Some(d) = done.get_mut(p as usize) {
            *d = true;
        }
    }
    consumer.unassign()?;
    stats.elapsed = first.map_or(Duration::ZERO, |f| last - f);
    Ok(stats)
}
