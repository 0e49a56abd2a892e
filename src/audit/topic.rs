//! Reading one of jidoka's output topics (audit, drift events) back, with
//! a progress bar for long reads.
//!
//! Guarantees: with `from_beginning` and without `follow`, every record
//! present on the topic when the read starts is read once and the read ends
//! when every partition reached its end (end-of-partition events, so
//! transaction markers or aborted records at the end cannot stall it; an
//! idle limit bounds it if the broker goes away); records that do not decode
//! are reported on stderr and counted, never fatal. [`read_events`] also
//! says when the read caught up: once every record present at the start
//! was handed over, then (following) each time new records stopped coming
//! for a moment; every record is handed over before the next such event,
//! and a read that ends ends with one. The progress bar goes
//! to stderr, measures offsets read against the partitions' high watermarks
//! taken at the start, and is drawn only when stderr is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::replay::AuditError;
use crate::config::Config;
use crate::kafka::reader_config;
use crate::schema::{registry, AvroRecord};

const TIMEOUT: Duration = Duration::from_secs(10);
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// The reader's client context: the end of a partition is how a read
/// knows it is done, not an error worth a log line (librdkafka also
/// reports it as a global error).
struct Reader;

impl ClientContext for Reader {
    fn error(&self, error: KafkaError, reason: &str) {
        let eof = matches!(error, KafkaError::PartitionEOF(_))
            || error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF);
        if !eof {
            tracing::error!("librdkafka: {error}: {reason}");
        }
    }
}

impl ConsumerContext for Reader {}

/// How to read a topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadMode {
    /// Start at the beginning and stop at the end (unless `follow`);
    /// without it, start at the end and follow.
    pub from_beginning: bool,
    /// Keep reading new records after the end.
    pub follow: bool,
    /// Show a progress bar on stderr (only drawn on a terminal).
    pub progress: bool,
}

impl ReadMode {
    /// The whole topic as it is now, with a progress bar on a terminal.
    pub fn to_end() -> Self {
        ReadMode {
            from_beginning: true,
            follow: false,
            progress: true,
        }
    }
}

/// Progress of a read, against the high watermarks at its start.
struct Progress {
    bar: ProgressBar,
    /// (partition, low watermark, high watermark, records read so far).
    partitions: Vec<(i32, i64, i64, u64)>,
}

impl Progress {
    fn new(topic: &str, partitions: Vec<(i32, i64, i64, u64)>, shown: bool) -> Self {
        let total: u64 = partitions
            .iter()
            .map(|(_, low, high, _)| high.saturating_sub(*low).max(0) as u64)
            .sum();
        let target = if shown && std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let style =
            ProgressStyle::with_template("{msg} [{wide_bar}] {pos}/{len} records, eta {eta}")
                .map(|s| s.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(format!("reading {topic}"));
        Progress { bar, partitions }
    }

    /// Records up to `offset` of `partition` are read.
    fn at(&mut self, partition: i32, offset: i64) {
        if let Some(p) = self.partitions.iter_mut().find(|p| p.0 == partition) {
            let done = offset.saturating_add(1).min(p.2).saturating_sub(p.1).max(0) as u64;
            p.3 = p.3.max(done);
        }
        self.bar
            .set_position(self.partitions.iter().map(|p| p.3).sum());
    }

    /// `partition` is read to its end.
    fn done(&mut self, partition: i32) {
        if let Some(p) = self.partitions.iter_mut().find(|p| p.0 == partition) {
            p.3 = p.2.saturating_sub(p.1).max(0) as u64;
        }
        self.bar
            .set_position(self.partitions.iter().map(|p| p.3).sum());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// What a read hands to its caller.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadEvent<T> {
    /// A record that decoded.
    Record(T),
    /// Every record that arrived so far was handed over: the read reached
    /// the end of every partition (when it started from the beginning), or,
    /// following, no new record came for a moment after some did.
    CaughtUp,
}

/// Reads `topic` and hands every record that decodes as `T` to
/// `on_record`; returns how many records did not decode.
pub fn read_topic<T: AvroRecord>(
    cfg: &Config,
    topic: &str,
    mode: ReadMode,
    on_record: &mut dyn FnMut(T) -> Result<(), AuditError>,
) -> Result<u64, AuditError> {
    read_events(cfg, topic, mode, &mut |event| match event {
        ReadEvent::Record(r) => on_record(r),
        ReadEvent::CaughtUp => Ok(()),
    })
}

/// As [`read_topic`], also telling when the read caught up (see
/// [`ReadEvent::CaughtUp`]); a read that ends ends caught up.
pub fn read_events<T: AvroRecord>(
    cfg: &Config,
    topic: &str,
    mode: ReadMode,
    on_event: &mut dyn FnMut(ReadEvent<T>) -> Result<(), AuditError>,
) -> Result<u64, AuditError> {
    let codec = registry::reader_codec(cfg)?;
    let from_beginning = mode.from_beginning;
    let follow = mode.follow || !from_beginning;
    let mut client = reader_config(cfg);
    client.set("enable.partition.eof", "true");
    let consumer: BaseConsumer<Reader> = client.create_with_context(Reader)?;
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
    let mut marks = Vec::new();
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
            marks.push((*p, low, high, 0));
        }
    }
    let mut progress = Progress::new(topic, marks, mode.progress && from_beginning);
    consumer.assign(&tpl)?;
    let mut undecodable = 0;
    let mut last_progress = std::time::Instant::now();
    // Whether the last event was `CaughtUp`, and whether the backlog (the
    // records there when the read started) is read.
    let (mut settled, mut backlog_read) = (false, remaining.is_empty());
    while follow || !remaining.is_empty() {
        if remaining.is_empty() {
            progress.bar.finish_and_clear();
            if !backlog_read {
                backlog_read = true;
                settled = true;
                on_event(ReadEvent::CaughtUp)?;
            }
        }
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            if !follow && last_progress.elapsed() > IDLE_LIMIT {
                return Err(AuditError::Idle(IDLE_LIMIT));
            }
            if backlog_read && !settled {
                settled = true;
                on_event(ReadEvent::CaughtUp)?;
            }
            continue;
        };
        last_progress = std::time::Instant::now();
        let msg = match result {
            Ok(msg) => msg,
            Err(KafkaError::PartitionEOF(partition)) => {
                remaining.retain(|(p, _)| *p != partition);
                progress.done(partition);
                continue;
            }
            Err(e) => {
                progress.bar.suspend(|| eprintln!("{topic}: {e}; retrying"));
                continue;
            }
        };
        let (partition, offset) = (msg.partition(), msg.offset());
        remaining.retain(|(p, end)| !(*p == partition && offset + 1 >= *end));
        progress.at(partition, offset);
        if let Some(cache) = codec.writers() {
            let missing = cache.missing([msg.payload()]);
            if let Err(e) = registry::fetch_blocking(&codec, &cfg.schemas, missing) {
                tracing::warn!(%topic, error = %e, "schema registry: writer schema not fetched");
            }
        }
        let record = match codec.decode::<T>(msg.payload()) {
            Ok(r) => r,
            Err(e) => {
                progress
                    .bar
                    .suspend(|| eprintln!("{topic}/{partition}@{offset}: undecodable record: {e}"));
                undecodable += 1;
                continue;
            }
        };
        settled = false;
        on_event(ReadEvent::Record(record))?;
    }
    if !settled {
        on_event(ReadEvent::CaughtUp)?;
    }
    Ok(undecodable)
}
