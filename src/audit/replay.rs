//! Reading the audit topic: replay (print) and verify (hash chains).
//!
//! Guarantees: with `from_beginning` and without `follow`, every record
//! present on the topic when the replay starts is read once and the replay
//! ends when every partition reached its end (end-of-partition events, so
//! transaction markers or aborted records at the end cannot stall it; an
//! idle limit bounds it if the broker goes away); records that do not decode
//! are reported on stderr and counted, never fatal.

use std::io::Write;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::chain::{verify, ChainReport};
use super::format::{format_line, to_json_line};
use crate::config::Config;
use crate::kafka::reader_config;
use crate::schema::{AuditRecord, Codec, SchemaError};

/// What to replay and how to print it.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Only this model's decisions.
    pub model: Option<String>,
    /// Start at the beginning of the topic and stop at its end (unless
    /// `follow`); without it the replay starts at the end and follows.
    pub from_beginning: bool,
    /// Keep reading new records after reaching the end.
    pub follow: bool,
    /// JSON lines instead of readable lines.
    pub json: bool,
}

/// Replay failures.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Kafka failed (external; retrying may help).
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Nothing arrived for too long before the end was reached.
    #[error("no audit record arrived for {0:?} before the end of the topic was reached")]
    Idle(Duration),
    /// The topic does not exist.
    #[error("audit topic `{0}` not found")]
    NoTopic(String),
    /// Schemas are broken (internal).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Writing the output failed.
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

/// Counts of a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Records printed.
    pub printed: u64,
    /// Records read that did not decode.
    pub undecodable: u64,
}

const TIMEOUT: Duration = Duration::from_secs(10);
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// Reads the audit topic and prints matching records to `out`.
pub fn replay(
    cfg: &Config,
    opts: &ReplayOptions,
    out: &mut dyn Write,
) -> Result<ReplayCounts, AuditError> {
    let mut printed = 0;
    let undecodable = read(cfg, opts.from_beginning, opts.follow, &mut |record| {
        if opts.model.as_deref().is_some_and(|m| m != record.model_id) {
            return Ok(());
        }
        let line = if opts.json {
            to_json_line(&record)
        } else {
            format_line(&record)
        };
        writeln!(out, "{line}")?;
        printed += 1;
        Ok(())
    })?;
    out.flush()?;
    Ok(ReplayCounts {
        printed,
        undecodable,
    })
}

/// Reads the whole audit topic and verifies every model's hash chain.
pub fn verify_topic(cfg: &Config) -> Result<(Vec<ChainReport>, u64), AuditError> {
    let mut records = Vec::new();
    let undecodable = read(cfg, true, false, &mut |r| {
        records.push(r);
        Ok(())
    })?;
    Ok((verify(records), undecodable))
}

/// Reads the audit topic (from its beginning to its end, or following new
/// records) and hands every decodable record to `on_record`; returns how
/// many records did not decode.
pub fn read(
    cfg: &Config,
    from_beginning: bool,
    follow: bool,
    on_record: &mut dyn FnMut(AuditRecord) -> Result<(), AuditError>,
) -> Result<u64, AuditError> {
    let codec = Codec::new(cfg.schemas.ids)?;
    let topic = cfg.topics.audit.as_str();
    let follow = follow || !from_beginning;
    let mut client = reader_config(cfg);
    client.set("enable.partition.eof", "true");
    let consumer: BaseConsumer = client.create()?;
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(AuditError::NoTopic(topic.to_string()));
    }
    let mut tpl = TopicPartitionList::new();
    // Partitions still to read up to their end: (partition, end offset).
    let mut remaining: Vec<(i32, i64)> = Vec::new();
    for p in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, *p, TIMEOUT)?;
        let start = if from_beginning {
            Offset::Beginning
        } else {
            Offset::End
        };
        tpl.add_partition_offset(topic, *p, start)?;
        if from_beginning && high > low {
            remaining.push((*p, high));
        }
    }
    consumer.assign(&tpl)?;
    let mut undecodable = 0;
    let mut last_progress = std::time::Instant::now();
    while follow || !remaining.is_empty() {
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            if !follow && last_progress.elapsed() > IDLE_LIMIT {
                return Err(AuditError::Idle(IDLE_LIMIT));
            }
            continue;
        };
        last_progress = std::time::Instant::now();
        let msg = match result {
            Ok(msg) => msg,
            Err(KafkaError::PartitionEOF(partition)) => {
                remaining.retain(|(p, _)| *p != partition);
                continue;
            }
            Err(e) => {
                eprintln!("audit {topic}: {e}; retrying");
                continue;
            }
        };
        let (partition, offset) = (msg.partition(), msg.offset());
        remaining.retain(|(p, end)| !(*p == partition && offset + 1 >= *end));
        let record = match codec.decode::<AuditRecord>(msg.payload()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("audit {topic}/{partition}@{offset}: undecodable record: {e}");
                undecodable += 1;
                continue;
            }
        };
        on_record(record)?;
    }
    Ok(undecodable)
}
