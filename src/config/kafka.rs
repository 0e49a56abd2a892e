//! The Kafka connection settings (`[kafka]`): brokers, the consumer
//! group, where a new group starts, how keys are partitioned and the
//! librdkafka options passed through. Every field is documented here and in
//! `docs/configuration.md`; defaults live in `defaults.toml`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::secret::Secret;

/// Kafka connection settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list of brokers (librdkafka `bootstrap.servers`).
    pub bootstrap_servers: String,
    /// Consumer group of the processor; instances of one deployment share it.
    pub group_id: String,
    /// Client id reported to the brokers.
    pub client_id: String,
    /// How long a produced record may wait for its acknowledgement before the
    /// batch is retried (humantime, e.g. `"30s"`).
    #[serde(with = "humantime_serde")]
    pub produce_timeout: Duration,
    /// Publish each batch's outputs, changelog records and consumed offsets
    /// in one Kafka transaction (`send_offsets_to_transaction`), so readers
    /// with `isolation.level=read_committed` see a batch whole or not at
    /// all. Needs a broker with transactions (Apache Kafka, Redpanda); off,
    /// outputs are at-least-once with deterministic ids and keys.
    #[serde(default)]
    pub transactions: bool,
    /// Transactional id of this instance (`transactions = true`): stable
    /// across restarts of the same instance, so a restarted instance fences
    /// its previous incarnation, and different for every instance of the
    /// group. Default: `<group-id>-<client-id>`.
    #[serde(default)]
    pub transactional_id: Option<String>,
    /// Where the processor's group starts on a partition it has no
    /// committed offset for: `earliest` (every record on the topic, so no
    /// prediction is skipped) or `latest` (only records written from then
    /// on).
    #[serde(default)]
    pub auto_offset_reset: AutoOffsetReset,
    /// How every jidoka producer places a keyed record (librdkafka
    /// `partitioner`): `murmur2-random` (the default: murmur2 of the key,
    /// as Java's clients, Kafka Streams, Kafka Connect and ksqlDB place
    /// it), `consistent-random` (librdkafka's default: CRC32 of the key)
    /// or `fnv1a-random` (Sarama's). A model's labels, outcomes and
    /// operator commands must land on its predictions' partition: the
    /// platform's producers of model-keyed topics must use the same one.
    #[serde(default)]
    pub partitioner: Partitioner,
    /// Raw librdkafka properties passed to every client, e.g.
    /// `"security.protocol" = "SASL_SSL"`. They override jidoka's own settings.
    /// Every value is a [`Secret`]: a literal, `env:NAME` (an environment
    /// variable) or `file:/path` (a file's content, trailing newlines
    /// removed), resolved at load, redacted in `Debug` and serialization,
    /// e.g. `"sasl.password" = "env:KAFKA_PASSWORD"`.
    #[serde(default)]
    pub options: BTreeMap<String, Secret>,
}

/// Where a consumer group without a committed offset starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoOffsetReset {
    /// The partition's first record.
    #[default]
    Earliest,
    /// The partition's end: records written from then on.
    Latest,
}

impl AutoOffsetReset {
    /// librdkafka's value of `auto.offset.reset`.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoOffsetReset::Earliest => "earliest",
            AutoOffsetReset::Latest => "latest",
        }
    }
}

/// How a producer picks a keyed record's partition (records without a key
/// go to a random partition with each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Partitioner {
    /// murmur2 of the key, as Java's `DefaultPartitioner` and
    /// `BuiltInPartitioner` place keyed records.
    #[default]
    Murmur2Random,
    /// CRC32 of the key, librdkafka's default (Python `confluent-kafka`,
    /// Go, .NET and C clients unless they set `partitioner`).
    ConsistentRandom,
    /// FNV-1a of the key, as Go's Sarama places it.
    Fnv1aRandom,
}

impl Partitioner {
    /// librdkafka's value of `partitioner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Partitioner::Murmur2Random => "murmur2_random",
            Partitioner::ConsistentRandom => "consistent_random",
            Partitioner::Fnv1aRandom => "fnv1a_random",
        }
    }
}
