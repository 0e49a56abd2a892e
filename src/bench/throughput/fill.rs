//! Filling the predictions topic: partition sizing for the mock broker,
//! producing every record as jidoka's producers encode it (Confluent wire
//! format, Avro, keyed by model id, model m on partition m mod P), and
//! checking that all of them are readable.
//!
//! Guarantees: [`fill`] returns only when every record was acknowledged
//! and the sum over partitions of (high − low) watermarks equals the
//! number of records; otherwise it fails, naming the shortfall (the mock
//! drops old records silently when a partition outgrows its log).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};

use super::broker::MOCK_PARTITION_BYTES;
use super::error::BenchError;
use super::topic_io::watermarks;
use super::workload::Workload;
use crate::schema::Codec;

/// Bytes a record takes in a partition's log beyond its key and value
/// (record header, varints, batch share), rounded up.
const RECORD_OVERHEAD: u64 = 24;
/// A partition is sized for this share of the mock's log, leaving room for
/// rounding (a partition holds whole models) and batch overhead.
const FILL_SHARE: f64 = 0.45;

/// Partitions so that `records` of `avg_bytes` (key and value) fit the
/// mock's logs with room to spare: at least 4.
pub fn partitions_for(records: u64, avg_bytes: u64) -> i32 {
    let total = records as f64 * avg_bytes.saturating_add(RECORD_OVERHEAD) as f64;
    let per_partition = MOCK_PARTITION_BYTES as f64 * FILL_SHARE;
    let needed = (total / per_partition).ceil();
    if needed >= f64::from(i32::MAX) {
        i32::MAX
    } else {
        (needed as i32).max(4)
    }
}

/// The mean key + value size of the first (up to) 1,000 records.
pub fn average_record_bytes(workload: &Workload, codec: &Codec) -> Result<u64, BenchError> {
    let n = workload.records.clamp(1, 1_000);
    let mut total = 0u64;
    for i in 0..n {
        let p = workload.prediction(i);
        total += (codec.encode(&p)?.len() + p.model_id.len()) as u64;
    }
    Ok(total / n)
}

/// How filling went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Filled {
    /// Records readable on the topic (checked equal to the records made).
    pub records: u64,
    /// Key and value bytes produced.
    pub bytes: u64,
    /// Encoding and producing, until the last acknowledgement.
    pub elapsed: Duration,
}

/// Counts acknowledgements and keeps the first delivery error.
#[derive(Default)]
struct Acks {
    ok: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

/// Produces the workload to `topic` (already created with `partitions`)
/// and checks that every record is readable.
pub fn fill(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    workload: &Workload,
    codec: &Codec,
) -> Result<Filled, BenchError> {
    let producer: BaseProducer<Acks> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("message.timeout.ms", "300000")
        .create_with_context(Acks::default())?;
    let started = Instant::now();
    let mut bytes = 0u64;
    for i in 0..workload.records {
        let p = workload.prediction(i);
        let payload = codec.encode(&p)?;
        bytes += (payload.len() + p.model_id.len()) as u64;
        // Model m goes to partition m mod P, so that every partition holds
        // the same number of models (a key hash would leave some partitions
        // with twice the mean, past the mock's log).
        let model = i % u64::from(workload.models.max(1));
        let partition = (model % u64::from(partitions.max(1).unsigned_abs())) as i32;
        let mut record = BaseRecord::to(topic)
            .key(p.model_id.as_str())
            .partition(partition)
            .payload(payload.as_slice());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
        if i % 1_000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(300))?;
    let acks = producer.context();
    let (ok, failed) = (
        acks.ok.load(Ordering::Relaxed),
        acks.failed.load(Ordering::Relaxed),
    );
    if ok != workload.records || failed > 0 {
        let first = acks
            .first_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or_default();
        return Err(BenchError::Lost(format!(
            "{ok} of {} records acknowledged, {failed} failed {first}",
            workload.records
        )));
    }
    let elapsed = started.elapsed();
    let marks = watermarks(bootstrap, topic, partitions)?;
    let readable: i64 = marks.iter().map(|(low, high)| high - low).sum();
    if readable != workload.records as i64 {
        let dropped: i64 = marks.iter().map(|(low, _)| low).sum();
        return Err(BenchError::Lost(format!(
            "{readable} of {} records readable on {topic} ({dropped} dropped by the mock broker's 5 MB log per partition): use more --partitions",
            workload.records
        )));
    }
    Ok(Filled {
        records: workload.records,
        bytes,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_leave_room_in_the_mock_logs() {
        assert_eq!(partitions_for(3_000, 200), 4);
        let p = partitions_for(1_000_000, 170);
        assert!((60..=100).contains(&p), "{p}");
        let per_partition = 1_000_000.0 * (170.0 + 24.0) / f64::from(p);
        assert!(per_partition < 0.5 * MOCK_PARTITION_BYTES as f64);
        assert_eq!(partitions_for(u64::MAX, u64::MAX / 2), i32::MAX);
    }
}
