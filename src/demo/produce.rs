//! Writing the demo's predictions: into the embedded broker ([`produce`],
//! used by the in-process demo) or, with `demo --produce`, into a real
//! Kafka ([`produce_to`]).
//!
//! Guarantees: every record is acknowledged before a call returns (an
//! error otherwise, never a panic); the corrupt records are spread through
//! the stream at fixed places; `demo --produce` writes the scenario's
//! stream, then its continuation: every model's stream run on, the same
//! records the in-process demo would write as time passes, for the
//! reward's horizon plus one evaluation of stream time after its last
//! record ([`super::horizon`]), so every command issued within the
//! scenario's stream is measured again without anything else being
//! produced (nothing more when measurement is off; a command issued while
//! the stream runs on may wait for more). The output is a pure function
//! of the options and the config.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use super::horizon::after_stream;
use super::scenario::Scenario;
use super::{DemoError, DemoOptions};
use crate::config::Config;
use crate::kafka::producer_config;
use crate::schema::registry::{codec_for, CodecError, Uses};
use crate::schema::{Codec, Prediction, SchemaKind};

/// What `demo --produce` wrote to the predictions topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Produced {
    /// Predictions of the scenario's stream (`records` per model).
    pub predictions: u64,
    /// Corrupt records spread through it.
    pub corrupt: u64,
    /// Predictions of the continuation, written after the stream: every
    /// model's next `later / models` records.
    pub later: u64,
    /// Stream time the continuation runs on after the stream's last
    /// record (ms): at least the reward's horizon plus one evaluation.
    pub later_ms: i64,
}

/// Produces the demo stream (and its corrupt records) to the predictions
/// topic of a real Kafka, as `cfg` configures it, without running anything
/// else, then its continuation: each model's stream runs on for the
/// reward's horizon (`decide.reward.horizon`) plus one evaluation
/// (`detect.evaluate-every` records) of stream time, so every command
/// issued within the stream can be measured again without more input (no
/// continuation when `decide.reward.measured-weight` is 0). The producer
/// is idempotent and never transactional.
pub async fn produce_to(cfg: &Config, opts: &DemoOptions) -> Result<Produced, DemoError> {
    let mut plain = cfg.clone();
    plain.kafka.transactions = false;
    let uses = Uses::writing(SchemaKind::Prediction, &cfg.topics.predictions);
    let (codec, _) = codec_for(cfg, &uses).await.map_err(|e| match e {
        CodecError::Schema(e) => DemoError::Schema(e),
        CodecError::Registry(e) => DemoError::Registry(e),
    })?;
    let scenario = Scenario::demo(opts.records, opts.shift_at);
    let predictions = produce(&plain, &codec, &scenario.predictions(), opts.corrupt).await?;
    let extra = after_stream(cfg, &scenario);
    let later = produce(&plain, &codec, &scenario.continued(extra), 0).await?;
    Ok(Produced {
        predictions,
        corrupt: opts.corrupt,
        later,
        later_ms: i64::try_from(extra)
            .unwrap_or(i64::MAX)
            .saturating_mul(scenario.interval_ms),
    })
}

/// Produces `records` to `cfg`'s predictions topic, keyed by model id,
/// with `corrupt` corrupt records spread through them (wrong magic byte,
/// unknown schema id, truncated Avro, in turn), waiting for every ack;
/// returns the predictions produced.
pub(super) async fn produce(
    cfg: &Config,
    codec: &Codec,
    records: &[Prediction],
    corrupt: u64,
) -> Result<u64, DemoError> {
    let producer: FutureProducer = producer_config(cfg).create()?;
    let topic = cfg.topics.predictions.as_str();
    let mut payloads = Vec::with_capacity(records.len());
    for p in records {
        payloads.push((p.model_id.clone(), codec.encode(p)?));
    }
    // Corrupt records spread through the stream: wrong magic byte,
    // unknown schema id, truncated Avro.
    let mut stream: Vec<(String, Vec<u8>)> = Vec::with_capacity(payloads.len() + corrupt as usize);
    let gap = payloads.len() / (corrupt as usize + 1);
    let mut corrupted = 0;
    for (i, (key, good)) in payloads.into_iter().enumerate() {
        if corrupted < corrupt && gap > 0 && i > 0 && i % gap == 0 {
            let bad = match corrupted % 3 {
                0 => [&[7u8][..], &good[1..]].concat(),
                1 => [&[0u8, 0, 0, 0, 99][..], &good[5..]].concat(),
                _ => good[..good.len() / 2].to_vec(),
            };
            stream.push((key.clone(), bad));
            corrupted += 1;
        }
        stream.push((key, good));
    }
    for chunk in stream.chunks(1000) {
        let sends = chunk.iter().map(|(key, payload)| {
            producer.send(
                FutureRecord::to(topic).key(key.as_bytes()).payload(payload),
                Timeout::After(Duration::from_secs(30)),
            )
        });
        for result in futures::future::join_all(sends).await {
            result.map_err(|(e, _)| e)?;
        }
    }
    Ok(records.len() as u64)
}
