//! Publishing outputs: encode, produce, and wait until every record is
//! acknowledged.
//!
//! Guarantees: [`Sink::publish_all`] returns `Ok` only when every record was
//! acknowledged by the broker; failed records are retried with backoff (a
//! full producer queue is back-pressure, not failure) until they are, or
//! until shutdown, which returns an error so the batch is not committed.
//! Every record carries its deterministic id in the `jidoka-id` header.

use std::time::Duration;

use futures::future::join_all;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;
use tokio::sync::watch;

use super::health::OutputProducer;
use super::processor::Output;
use crate::config::TopicsConfig;
use crate::schema::{Codec, DeadLetter, SchemaError};
use crate::telemetry::{Metrics, ProduceRetried};

/// An output ready to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Destination topic.
    pub topic: String,
    /// Record key.
    pub key: Option<Vec<u8>>,
    /// Framed Avro value (raw bytes for changelog records); `None` is a
    /// tombstone.
    pub payload: Option<Vec<u8>>,
    /// Deterministic id (header `jidoka-id`; empty: no header, as for
    /// changelog records, which are keyed by their state key).
    pub id: String,
    /// Partition, when not chosen by the key (changelog records).
    pub partition: Option<i32>,
}

/// The output side of the pipeline.
pub struct Sink {
    producer: OutputProducer,
    codec: Codec,
    topics: TopicsConfig,
    lessons: String,
    evaluations: bool,
    queue_timeout: Duration,
}

/// Attempts with broker errors after which the producer is replaced.
const REPLACE_AFTER: u32 = 5;

/// Publishing stopped before every record was acknowledged.
#[derive(Debug, thiserror::Error)]
#[error("{} with {pending} output records not acknowledged (last error: {last_error})", if *.fatal { "producer failed fatally" } else { "shutdown" })]
pub struct NotAcknowledged {
    /// Records not acknowledged.
    pub pending: usize,
    /// The last produce error.
    pub last_error: String,
    /// The producer hit a fatal error (e.g. its idempotence state was lost
    /// in a broker restart): it must be replaced before publishing again.
    pub fatal: bool,
}

impl Sink {
    /// A sink over `producer`; evaluation records are published only when
    /// `evaluations` is on; lessons go to the `lessons` topic.
    pub fn new(
        producer: OutputProducer,
        codec: Codec,
        topics: TopicsConfig,
        lessons: String,
        evaluations: bool,
        queue_timeout: Duration,
    ) -> Self {
        Sink {
            producer,
            codec,
            topics,
            lessons,
            evaluations,
            queue_timeout,
        }
    }

    /// Replaces a producer that failed fatally.
    pub fn replace_producer(&mut self, producer: OutputProducer) {
        self.producer = producer;
    }

    /// The producer (for transactions).
    pub fn producer(&self) -> &OutputProducer {
        &self.producer
    }

    /// Encodes a processor output for its topic, keyed as documented;
    /// `None` for an evaluation record when the evaluations topic is off.
    pub fn encode(&self, output: &Output) -> Result<Option<Encoded>, SchemaError> {
        Ok(Some(match output {
            Output::Drift(e) => Encoded {
                topic: self.topics.drift_events.clone(),
                key: Some(e.model_id.as_bytes().to_vec()),
                payload: Some(self.codec.encode(e)?),
                id: e.event_id.clone(),
                partition: None,
            },
            Output::Command(c) => Encoded {
                topic: self.topics.actions.clone(),
                key: Some(c.model_id.as_bytes().to_vec()),
                payload: Some(self.codec.encode(c)?),
                id: c.command_id.clone(),
                partition: None,
            },
            Output::Audit(a) => Encoded {
                topic: self.topics.audit.clone(),
                key: Some(a.decision_id.as_bytes().to_vec()),
                payload: Some(self.codec.encode(a)?),
                id: a.decision_id.clone(),
                partition: None,
            },
            Output::Evaluation(_) if !self.evaluations => return Ok(None),
            Output::Evaluation(e) => Encoded {
                topic: self.topics.evaluations.clone(),
                key: Some(e.model_id.as_bytes().to_vec()),
                payload: Some(self.codec.encode(e)?),
                id: e.evaluation_id.clone(),
                partition: None,
            },
            Output::Lesson(l) => Encoded {
                topic: self.lessons.clone(),
                key: Some(l.decision_id.as_bytes().to_vec()),
                payload: Some(l.encode().map_err(|e| SchemaError::Lesson(e.to_string()))?),
                id: l.decision_id.clone(),
                partition: None,
            },
        }))
    }

    /// Encodes a dead-letter record, keyed like the original record.
    pub fn encode_dead_letter(&self, dl: &DeadLetter) -> Result<Encoded, SchemaError> {
        Ok(Encoded {
            topic: self.topics.dead_letter.clone(),
            key: dl.source_key.clone(),
            payload: Some(self.codec.encode(dl)?),
            id: format!(
                "{}/{}/{}",
                dl.source_topic, dl.source_partition, dl.source_offset
            ),
            partition: None,
        })
    }

    /// Produces every record and waits for all acknowledgements.
    pub async fn publish_all(
        &self,
        records: &[Encoded],
        metrics: &Metrics,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), NotAcknowledged> {
        let mut pending: Vec<&Encoded> = records.iter().collect();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let sends = pending.iter().map(|e| {
                let mut record = FutureRecord::<[u8], [u8]>::to(&e.topic);
                if !e.id.is_empty() {
                    record = record.headers(OwnedHeaders::new().insert(Header {
                        key: "jidoka-id",
                        value: Some(e.id.as_str()),
                    }));
                }
                if let Some(payload) = &e.payload {
                    record = record.payload(payload);
                }
                if let Some(key) = &e.key {
                    record = record.key(key);
                }
                if let Some(partition) = e.partition {
                    record = record.partition(partition);
                }
                self.producer
                    .send(record, Timeout::After(self.queue_timeout))
            });
            let results = join_all(sends).await;
            let mut failed = Vec::new();
            let mut last_error = String::new();
            let mut broker_rejected = false;
            for (record, result) in pending.iter().zip(results) {
                if let Err((err, _)) = result {
                    last_error = err.to_string();
                    broker_rejected |= !matches!(
                        err.rdkafka_error_code(),
                        Some(RDKafkaErrorCode::MessageTimedOut | RDKafkaErrorCode::QueueFull)
                    );
                    failed.push(*record);
                }
            }
            if failed.is_empty() {
                return Ok(());
            }
            let fatal = self.producer.client().fatal_error();
            // A producer the broker keeps rejecting (e.g. its idempotence
            // state was lost in a broker restart) is replaced: a new one gets
            // a new producer id; ids and keys make the resend safe.
            if fatal.is_some() || (broker_rejected && attempt + 1 >= REPLACE_AFTER) {
                return Err(NotAcknowledged {
                    pending: failed.len(),
                    last_error: fatal
                        .map_or(last_error, |(code, reason)| format!("{code:?}: {reason}")),
                    fatal: true,
                });
            }
            attempt += 1;
            ProduceRetried {
                failed: failed.len(),
                error: &last_error,
                attempt,
            }
            .emit(metrics);
            let backoff = Duration::from_millis(100 * u64::from(attempt.min(50)));
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => {
                    return Err(NotAcknowledged { pending: failed.len(), last_error, fatal: false });
                }
            }
            pending = failed;
        }
        Ok(())
    }
}
