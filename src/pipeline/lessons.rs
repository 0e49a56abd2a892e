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
//!   skipped, never a reason to stop.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::Config;
use crate::decide::lesson::Lesson;
use crate::kafka::reader_config;

/// What one read returned.
#[derive(Debug, Default)]
pub struct Read {
    /// Lessons, in the order read.
    pub lessons: Vec<Lesson>,
    /// Records that are not lessons: (partition, offset, why).
    pub bad: Vec<(i32, i64, String)>,
}

/// Reads the lessons topic.
pub struct LessonsReader {
    consumer: BaseConsumer,
    topic: String,
}

impl LessonsReader {
    /// A reader of every partition of `cfg`'s lessons topic, from the
    /// start.
    pub fn new(cfg: &Config) -> Result<LessonsReader, KafkaError> {
        let topic = cfg.lessons_topic();
        let mut c = reader_config(cfg);
        c.set("group.id", format!("{}-lessons-reader", cfg.kafka.group_id));
        let consumer: BaseConsumer = c.create()?;
        let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
        let mut tpl = TopicPartitionList::new();
        for t in metadata.topics().iter().filter(|t| t.name() == topic) {
            for p in t.partitions() {
                tpl.add_partition_offset(&topic, p.id(), Offset::Beginning)?;
            }
        }
        consumer.assign(&tpl)?;
        Ok(LessonsReader { consumer, topic })
    }

    /// Reads until every partition reached the end it had when this began,
    /// or `limit` passed.
    pub fn catch_up(&self, limit: Duration) -> Result<Read, KafkaError> {
        let started = Instant::now();
        let mut end: BTreeMap<i32, i64> = BTreeMap::new();
        for e in self.consumer.assignment()?.elements() {
            let (low, high) = self.consumer.fetch_watermarks(
                &self.topic,
                e.partition(),
                Duration::from_secs(10),
            )?;
            if high > low {
                end.insert(e.partition(), high);
            }
        }
        let mut read = Read::default();
        while !end.is_empty() && started.elapsed() < limit {
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(msg)) => {
                    let (p, o) = (msg.partition(), msg.offset());
                    take(&mut read, p, o, msg.payload());
                    if end.get(&p).is_some_and(|e| o + 1 >= *e) {
                        end.remove(&p);
                    }
                }
                Some(Err(e)) => return Err(e),
                None => {
                    // The last offsets may hold no record (transaction
                    // markers, compaction): the position tells.
                    for e in self.consumer.position()?.elements() {
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
        Ok(read)
    }

    /// Takes the lessons that have arrived, without waiting.
    pub fn drain(&self) -> Result<Read, KafkaError> {
        let mut read = Read::default();
        while let Some(msg) = self.consumer.poll(Duration::ZERO) {
            let msg = msg?;
            take(&mut read, msg.partition(), msg.offset(), msg.payload());
        }
        Ok(read)
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
