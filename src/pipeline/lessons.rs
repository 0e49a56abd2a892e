//! The lessons reader: every instance reads the whole lessons topic, every
//! partition from its start, into its pools (the way Kafka Streams reads a
//! GlobalKTable), so pooled learning sees the lessons of models processed
//! anywhere in the group.
//!
//! Guarantees:
//! * it belongs to no consumer group: every instance reads every lesson,
//!   whatever partitions of the inputs it owns;
//! * [`LessonsReader::catch_up`] reads up to the end offsets seen when it
//!   starts (or until its time limit), so the pools an instance starts
//!   with hold every lesson published before it started;
//! * [`LessonsReader::drain`] takes what has arrived without waiting;
//! * a record that is not a lesson is reported with its position and
//!   skipped, and a broker that cannot be reached is reported and retried
//!   (the topic's partitions are looked up again every few seconds until
//!   found): neither is ever a reason to stop the pipeline.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::Config;
use crate::decide::lesson::Lesson;
use crate::kafka::reader_config;

/// How often the topic's partitions are looked up while none is known.
const LOOKUP_EVERY: Duration = Duration::from_secs(5);

/// What one read returned.
#[derive(Debug, Default)]
pub struct Read {
    /// Lessons, in the order read.
    pub lessons: Vec<Lesson>,
    /// Records that are not lessons: (partition, offset, why).
    pub bad: Vec<(i32, i64, String)>,
    /// Client errors met (the broker unreachable, …): retried.
    pub errors: Vec<String>,
}

/// Reads the lessons topic.
pub struct LessonsReader {
    consumer: BaseConsumer,
    topic: String,
    /// Whether the topic's partitions are assigned.
    assigned: bool,
    /// When they were last looked up.
    looked_up: Option<Instant>,
}

impl LessonsReader {
    /// A reader of every partition of `cfg`'s lessons topic, from the
    /// start (assigned now if the broker answers within `wait`, else at a
    /// later read).
    pub fn new(cfg: &Config, wait: Duration) -> Result<LessonsReader, KafkaError> {
        let topic = cfg.lessons_topic();
        let mut c = reader_config(cfg);
        c.set("group.id", format!("{}-lessons-reader", cfg.kafka.group_id));
        let mut reader = LessonsReader {
            consumer: c.create()?,
            topic,
            assigned: false,
            looked_up: None,
        };
        if let Err(e) = reader.assign(wait) {
            tracing::warn!(topic = %reader.topic, error = %e, "lessons topic not found yet; looked up again later");
        }
        Ok(reader)
    }

    /// Assigns every partition of the topic from its start.
    fn assign(&mut self, wait: Duration) -> Result<(), KafkaError> {
        self.looked_up = Some(Instant::now());
        let metadata = self.consumer.fetch_metadata(Some(&self.topic), wait)?;
        let mut tpl = TopicPartitionList::new();
        for t in metadata.topics().iter().filter(|t| t.name() == self.topic) {
            for p in t.partitions() {
                tpl.add_partition_offset(&self.topic, p.id(), Offset::Beginning)?;
            }
        }
        if tpl.count() > 0 {
            self.consumer.assign(&tpl)?;
            self.assigned = true;
        }
        Ok(())
    }

    /// Reads until every partition reached the end it had when this began,
    /// or `limit` passed.
    pub fn catch_up(&self, limit: Duration) -> Read {
        let started = Instant::now();
        let mut read = Read::default();
        let mut end: BTreeMap<i32, i64> = BTreeMap::new();
        let assignment = match self.consumer.assignment() {
            Ok(a) => a,
            Err(e) => {
                read.errors.push(e.to_string());
                return read;
            }
        };
        for e in assignment.elements() {
            match self.consumer.fetch_watermarks(
                &self.topic,
                e.partition(),
                Duration::from_secs(10),
            ) {
                Ok((low, high)) if high > low => {
                    end.insert(e.partition(), high);
                }
                Ok(_) => {}
                Err(e) => read.errors.push(e.to_string()),
            }
        }
        while !end.is_empty() && started.elapsed() < limit {
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(msg)) => {
                    let (p, o) = (msg.partition(), msg.offset());
                    take(&mut read, p, o, msg.payload());
                    if end.get(&p).is_some_and(|e| o + 1 >= *e) {
                        end.remove(&p);
                    }
                }
                Some(Err(e)) => read.errors.push(e.to_string()),
                None => {
                    // The last offsets may hold no record (transaction
                    // markers, compaction): the position tells.
                    let Ok(position) = self.consumer.position() else {
                        continue;
                    };
                    for e in position.elements() {
                        if let (Offset::Offset(at), Some(last)) =
                            (e.offset(), end.get(&e.partition()))
                        {
                            if at >= *last {
                                end.remove(&e.partition());
                            }
                        }
                    }
                }
            }
        }
        read
    }

    /// Takes the lessons that have arrived, without waiting (looking the
    /// topic up again, briefly, when its partitions are not known yet).
    pub fn drain(&mut self) -> Read {
        let mut read = Read::default();
        if !self.assigned && self.looked_up.is_none_or(|t| t.elapsed() >= LOOKUP_EVERY) {
            if let Err(e) = self.assign(Duration::from_millis(500)) {
                read.errors.push(e.to_string());
            }
        }
        while let Some(msg) = self.consumer.poll(Duration::ZERO) {
            match msg {
                Ok(msg) => take(&mut read, msg.partition(), msg.offset(), msg.payload()),
                Err(e) => {
                    read.errors.push(e.to_string());
                    break;
                }
            }
        }
        read
    }
}

fn take(read: &mut Read, partition: i32, offset: i64, payload: Option<&[u8]>) {
    match payload.map(Lesson::decode) {
        Some(Ok(lesson)) => read.lessons.push(lesson),
        Some(Err(e)) => read.bad.push((partition, offset, e.to_string())),
        None => read
            .bad
            .push((partition, offset, "record has no value".into())),
    }
}
