//! The typed configuration tree. Every field is documented here and mirrored
//! in `docs/configuration.md`; defaults live in `defaults.toml` beside this file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The whole configuration of one jidoka instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// How to reach Kafka, and raw librdkafka options.
    pub kafka: KafkaConfig,
    /// Names and layout of every topic jidoka reads or writes.
    pub topics: TopicsConfig,
    /// Local state (RocksDB).
    pub state: StateConfig,
    /// Drift detection.
    pub detect: DetectConfig,
    /// Decision rules and safety limits.
    pub decide: DecideConfig,
    /// Batching of the processing loop.
    pub pipeline: PipelineConfig,
    /// Avro schemas on the wire.
    pub schemas: SchemasConfig,
    /// Logging.
    pub telemetry: TelemetryConfig,
}

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
    /// Raw librdkafka properties passed unchanged to every client, e.g.
    /// `"security.protocol" = "SASL_SSL"`. They override jidoka's own settings.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// Topic names (all configurable) and how `jidoka topics create` makes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TopicsConfig {
    /// Input: predictions, keyed by model id.
    pub predictions: String,
    /// Input: ground-truth labels, keyed by model id.
    pub labels: String,
    /// Output: drift events.
    pub drift_events: String,
    /// Output: heal commands for executors.
    pub actions: String,
    /// Input: executor outcomes.
    pub outcomes: String,
    /// Input: signed operator commands.
    pub operator: String,
    /// Output: audit records, compacted, keyed by decision id.
    pub audit: String,
    /// Output: records that could not be processed, with the reason.
    pub dead_letter: String,
    /// Partitions for topics created by `jidoka topics create`.
    pub partitions: i32,
    /// Replication factor for topics created by `jidoka topics create`.
    pub replication_factor: i32,
}

/// Local state settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StateConfig {
    /// Directory of the RocksDB store; created if missing.
    pub data_dir: PathBuf,
    /// fsync RocksDB's write-ahead log at every checkpoint (before offsets are
    /// committed). Turning it off trades crash safety for speed.
    pub sync_writes: bool,
}

/// Drift detection settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DetectConfig {
    /// Number of a feature's first values (per model) kept as the reference window.
    pub reference_size: usize,
    /// Number of most recent values in the sliding current window.
    pub window_size: usize,
    /// Run the tests every this many records of a model.
    pub evaluate_every: u64,
    /// Family-wise significance level of one model evaluation: with k features
    /// tested, a feature drifts when its KS p-value is below `ks-alpha / k`
    /// (Bonferroni).
    pub ks_alpha: f64,
}

/// Decision settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DecideConfig {
    /// Minimum event time between two commands for the same model (humantime).
    #[serde(with = "humantime_serde")]
    pub cooldown: Duration,
}

/// Batching of the processing loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PipelineConfig {
    /// Most input records processed, acknowledged and committed together.
    pub batch_size: usize,
    /// Longest wait to fill a batch before processing what has arrived (humantime).
    #[serde(with = "humantime_serde")]
    pub batch_timeout: Duration,
    /// After SIGINT/SIGTERM, how long the batch in flight may take to finish
    /// before the process exits anyway (humantime).
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
}

/// Avro schema settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SchemasConfig {
    /// Schema ids written in the Confluent wire header (and accepted on read),
    /// used when no Schema Registry is configured.
    pub ids: SchemaIds,
}

/// Local mapping of each jidoka schema to its wire id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SchemaIds {
    /// Id of `schemas/prediction.avsc`.
    pub prediction: u32,
    /// Id of `schemas/label.avsc`.
    pub label: u32,
    /// Id of `schemas/drift_event.avsc`.
    pub drift_event: u32,
    /// Id of `schemas/heal_command.avsc`.
    pub heal_command: u32,
    /// Id of `schemas/heal_outcome.avsc`.
    pub heal_outcome: u32,
    /// Id of `schemas/operator_command.avsc`.
    pub operator_command: u32,
    /// Id of `schemas/audit_record.avsc`.
    pub audit_record: u32,
    /// Id of `schemas/dead_letter.avsc`.
    pub dead_letter: u32,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TelemetryConfig {
    /// `text` for people, `json` for log pipelines.
    pub log_format: LogFormat,
    /// tracing filter directive, e.g. `info` or `jidoka=debug,rdkafka=warn`;
    /// `RUST_LOG` overrides it.
    pub log_filter: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl TopicsConfig {
    /// Every topic with its config key, in a fixed order.
    pub fn named(&self) -> [(&'static str, &str); 8] {
        [
            ("predictions", &self.predictions),
            ("labels", &self.labels),
            ("drift-events", &self.drift_events),
            ("actions", &self.actions),
            ("outcomes", &self.outcomes),
            ("operator", &self.operator),
            ("audit", &self.audit),
            ("dead-letter", &self.dead_letter),
        ]
    }
}

impl SchemaIds {
    /// Every schema id with its config key, in a fixed order.
    pub fn named(&self) -> [(&'static str, u32); 8] {
        [
            ("prediction", self.prediction),
            ("label", self.label),
            ("drift-event", self.drift_event),
            ("heal-command", self.heal_command),
            ("heal-outcome", self.heal_outcome),
            ("operator-command", self.operator_command),
            ("audit-record", self.audit_record),
            ("dead-letter", self.dead_letter),
        ]
    }
}
