//! The typed configuration tree. Every field is documented here and mirrored
//! in `docs/configuration.md`; defaults live in `defaults.toml` beside this file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::bandit::BanditConfig;
pub use super::kafka::{AutoOffsetReset, KafkaConfig, Partitioner};
use super::secret::Secret;
pub use crate::detect::anomaly::BaselineKind;
pub use crate::detect::multiple::Correction;

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
    /// Joining labels to predictions, and concept drift.
    pub labels: LabelsConfig,
    /// Decision rules and safety limits.
    pub decide: DecideConfig,
    /// Batching of the processing loop.
    pub pipeline: PipelineConfig,
    /// Avro schemas on the wire.
    pub schemas: SchemasConfig,
    /// Formats of the input topics (Avro or JSON) and the mapping of the
    /// producers' own field names (`docs/ingest.md`).
    #[serde(default)]
    pub input: crate::ingest::InputConfig,
    /// Logging, metrics and the operators' HTTP endpoint.
    pub telemetry: TelemetryConfig,
    /// Signed operator commands (`jidoka operator …`).
    #[serde(default)]
    pub operator: OperatorConfig,
    /// The evaluations stream: every test's result, drifted or not.
    pub evaluations: EvaluationsConfig,
    /// The executor bridge (`jidoka executor`): delivery of heal commands
    /// to webhooks, GitHub and local programs.
    pub executor: super::executor::ExecutorConfig,
    /// Per-model settings: `[models."<glob>"]` tables, keyed by a glob
    /// over model ids, each overriding `[detect]` keys, the features
    /// monitored and the policy file for the models it matches (the most
    /// specific table wins; see [`super::models`]).
    #[serde(default)]
    pub models: BTreeMap<String, super::models::ModelOverrides>,
}

/// The evaluations topic (`topics.evaluations`): one record per feature
/// and per metric at every evaluation, the history the report draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EvaluationsConfig {
    /// Publish the evaluations (off: the topic gets nothing; the
    /// per-feature gauges of `/metrics` are kept either way).
    pub enabled: bool,
    /// `retention.ms` of the topic when `jidoka topics create` makes it
    /// (humantime, e.g. `"7d"`; delete retention, not compaction: every
    /// evaluation has its own id and none replaces another).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

/// Operator commands and their signatures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OperatorConfig {
    /// Key of the HMAC-SHA256 signature of operator commands (its UTF-8
    /// bytes), shared by whoever issues commands (`jidoka operator`) and
    /// whoever checks them; at least 32 bytes. A [`Secret`]: a literal,
    /// `env:NAME` or `file:/path`. No default: without a key
    /// `jidoka operator` refuses to issue commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_key: Option<Secret>,
}

/// Topic names (all configurable) and how `jidoka topics create` makes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TopicsConfig {
    /// Put in front of every topic name of this deployment (the names
    /// below, the changelog and the repartition topics), so deployments
    /// share a cluster without sharing topics, e.g. `"team-a."`. Applied at
    /// load; a name that already starts with it is kept. Empty by default.
    #[serde(default)]
    pub prefix: String,
    /// Input: predictions, keyed by model id (or not: `input.predictions.key`).
    pub predictions: String,
    /// Input: ground-truth labels, keyed by model id (or not: `input.labels.key`).
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
    /// Output: every test of every feature and metric at every evaluation
    /// (`evaluations.enabled`), keyed by model id, delete retention.
    pub evaluations: String,
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
    /// Mirror every store into a compacted changelog topic
    /// (`<group-id>-<store>-changelog`, one partition per input partition)
    /// and restore a partition's state from it when the local store lacks
    /// it or is behind the group's committed offset.
    pub changelog: bool,
    /// How often state, changelog and input offsets are committed (like
    /// Kafka Streams' `commit.interval.ms`); batches in between only update
    /// memory (humantime; `0s` commits after every batch).
    #[serde(with = "humantime_serde", default = "default_commit_interval")]
    pub commit_interval: Duration,
}

/// One second: a crash replays at most about a second of input.
fn default_commit_interval() -> Duration {
    Duration::from_secs(1)
}

/// Drift detection settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DetectConfig {
    /// How the current window is delimited: `count` (the last `window-size`
    /// values) or `time` (values in the last `window-duration` of event time).
    pub window_kind: WindowKindName,
    /// Values in the current window (`window-kind = "count"`).
    pub window_size: usize,
    /// Count windows: test every this many records of a model.
    pub evaluate_every: u64,
    /// Time windows: length of the window in event time (humantime).
    #[serde(with = "humantime_serde")]
    pub window_duration: Duration,
    /// Time windows: distance between window ends, one evaluation each;
    /// equal to `window-duration` for tumbling windows (humantime).
    #[serde(with = "humantime_serde")]
    pub window_slide: Duration,
    /// Time windows: fewest values a window needs to be tested.
    pub min_window_size: usize,
    /// How far behind the largest event time seen a record may be and still
    /// enter its time window (the watermark lags by this much). Later records
    /// are counted as late and left out of the windows (humantime).
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// Where the reference comes from: `first-n` (a feature's first
    /// `reference-size` values), `time-range` (values with event time in
    /// [`reference-start`, `reference-end`)), `rolling` (the `reference-size`
    /// values before the current window), `file` (`reference-file`) or
    /// `seasonal` (the values of the same phase one `season` earlier: for
    /// the time window `[end - window-duration, end)`, those with event
    /// time in `[end - window-duration - season, end - season)`; needs
    /// `window-kind = "time"`).
    pub reference_mode: ReferenceMode,
    /// The period of `reference-mode = "seasonal"` in event time
    /// (humantime, e.g. `"1d"`, `"7d"`, `"365d"`), at least
    /// `window-duration`. Each feature keeps about one period of values.
    #[serde(default, with = "humantime_serde")]
    pub season: Option<Duration>,
    /// Values in the reference (`first-n` and `rolling`).
    pub reference_size: usize,
    /// Start of the reference time range, RFC 3339 (`time-range`).
    pub reference_start: Option<String>,
    /// End (exclusive) of the reference time range, RFC 3339 (`time-range`).
    pub reference_end: Option<String>,
    /// CSV file with one column per feature (header row): numeric columns
    /// become KS references, other columns categorical references, for
    /// every model whose settings do not name another (`file`).
    pub reference_file: Option<PathBuf>,
    /// Significance level of one model evaluation across its features.
    pub ks_alpha: f64,
    /// Multiple-testing correction across the features tested together:
    /// `benjamini-hochberg` (false discovery rate `ks-alpha`) or
    /// `bonferroni` (family-wise error rate `ks-alpha`).
    pub correction: Correction,
    /// Consecutive evaluations a feature must drift to open a drift alert,
    /// and must not drift to close it (hysteresis; 1 = no hysteresis).
    pub persistence: u32,
    /// Z-score anomalies of windowed model metrics.
    pub anomaly: AnomalyConfig,
    /// The effect-size gate: a feature's test counts toward its alert only
    /// when its effect size is at least this, however small its p-value.
    pub min_effect: MinEffect,
    /// Where the effect-size gate comes from: `fixed` (`min-effect`
    /// alone) or `reference` (per feature, the larger of `min-effect` and
    /// a threshold learned from the reference: the `reference-quantile` of
    /// the effect sizes of `reference-chunks` window-sized stretches of the
    /// reference against the rest of it; see `detect::null`).
    pub effect_threshold: EffectThreshold,
    /// `effect-threshold = "reference"`: the quantile of the chunks'
    /// effect sizes that is the learned threshold, in (0, 1]; 1 is the
    /// largest, the biggest move seen inside the reference.
    pub reference_quantile: f64,
    /// `effect-threshold = "reference"`: how many window-sized chunks of
    /// the reference (overlapping when the reference is shorter than
    /// chunks × window) give the null distribution, 2 to 1000; the cost of
    /// learning a threshold grows linearly with it.
    pub reference_chunks: usize,
    /// Most distinct categories a categorical feature keeps (those in its
    /// reference and current window); a value of a new category beyond
    /// them is counted in one `"other"` category instead (and in
    /// `jidoka_categories_capped_total`). `0`: no cap.
    #[serde(default)]
    pub max_categories: usize,
}

/// Where a feature's effect-size gate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EffectThreshold {
    /// `detect.min-effect`, the same for every feature.
    Fixed,
    /// The larger of `detect.min-effect` and the threshold learned from
    /// the feature's own reference.
    Reference,
}

/// Least effect size per test kind for a rejection to count toward an
/// alert (0 turns the gate off for that test).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MinEffect {
    /// Numeric features (KS): the Wasserstein-1 distance between window
    /// and reference in reference standard deviations.
    pub ks: f64,
    /// Categorical features (chi-square): the Jensen–Shannon distance
    /// (base 2, in `[0, 1]`) between the category frequencies.
    pub chi2: f64,
}

/// Kind of current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowKindName {
    /// By record count.
    Count,
    /// By event time.
    Time,
}

/// Where a feature's reference comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferenceMode {
    /// The first `reference-size` values.
    FirstN,
    /// An event-time range.
    TimeRange,
    /// The values before the current window.
    Rolling,
    /// A reference file.
    File,
    /// The same phase of the previous `season` (time windows).
    Seasonal,
}

/// Z-score anomaly detection on windowed metrics (prediction score mean,
/// predicted-class rates, latency, accuracy and error once labels arrive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AnomalyConfig {
    /// |z| at or above which a window's metric is anomalous.
    pub threshold: f64,
    /// Baseline windows needed before a metric is scored.
    pub min_samples: u64,
    /// `welford` (running mean and variance of normal windows) or `ewma`
    /// (exponentially weighted, adapts to slow change).
    pub baseline: BaselineKind,
    /// EWMA weight of the newest window, in (0, 1].
    pub ewma_alpha: f64,
}

/// Label join and concept drift settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LabelsConfig {
    /// How long a prediction waits for its label, and a label for its
    /// prediction, in event time (humantime). Later ones are counted as
    /// expired.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// First joined predictions of a model whose accuracy is the baseline.
    pub reference_size: usize,
    /// Joined predictions in the sliding accuracy window.
    pub window_size: usize,
    /// Concept drift: the window's accuracy is this much (absolute) below
    /// the baseline accuracy.
    pub accuracy_drop: f64,
}

/// Decision settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DecideConfig {
    /// Minimum event time between two commands for the same model (humantime).
    #[serde(with = "humantime_serde")]
    pub cooldown: Duration,
    /// Policy file (TOML rules, see `configs/policy.toml`). Absent: the
    /// built-in policy, which is the content of `configs/policy.toml`.
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
    /// The bandit's action is taken only when its confidence (posterior
    /// probability that its arm is best) is at least this, in `[0, 1]`.
    pub confidence_gate: f64,
    /// Most commands per model in any hour of event time (≥ 1).
    pub rate_limit_per_hour: u32,
    /// No command on evidence older than this behind the model's stream
    /// time (the largest event time seen), humantime.
    #[serde(with = "humantime_serde")]
    pub max_evidence_age: Duration,
    /// The contextual bandit.
    pub bandit: BanditConfig,
    /// How a decision's reward is made: its measured and reported parts
    /// (`[decide.reward]`; absent from older configs: its defaults).
    #[serde(default)]
    pub reward: super::reward::RewardConfig,
    /// The parsed policy, filled in by [`crate::config::Config::load`]
    /// from `policy-file` (not a config key).
    #[serde(skip)]
    pub policy: Option<std::sync::Arc<crate::decide::rules::Policy>>,
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
    /// Base URL of a Confluent Schema Registry (`https://registry:8081`).
    /// When set, input records are decoded with the writer schema their
    /// header's id names, and jidoka's output schemas are registered under
    /// `<topic>-value` at start-up and written with the ids it returns;
    /// `ids` is then unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_url: Option<String>,
    /// User name for the registry's HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_username: Option<String>,
    /// Password for the registry's basic authentication: a literal,
    /// `env:NAME` or `file:/path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_password: Option<Secret>,
    /// PEM file of the CA certificate(s) that sign the registry's TLS
    /// certificate, added to the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_ca_file: Option<PathBuf>,
    /// Longest wait for one registry request (humantime).
    #[serde(with = "humantime_serde")]
    pub registry_timeout: Duration,
}

/// Local mapping of each jidoka schema to its wire id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SchemaIds {
    /// Id of `schemas/prediction.avsc`.
    pub prediction: u32,
    /// Id of `schemas/label.avsc`.
    pub label: u32,
    /// Id of `schemas/drift_event.avsc` (version 2, written).
    pub drift_event: u32,
    /// Id of `schemas/history/drift_event.v1.avsc`: drift events written
    /// with it are still read, through Avro schema resolution.
    pub drift_event_v1: u32,
    /// Id of `schemas/heal_command.avsc` (version 2, written).
    pub heal_command: u32,
    /// Id of `schemas/history/heal_command.v1.avsc`: commands written with
    /// it are still read, through Avro schema resolution.
    pub heal_command_v1: u32,
    /// Id of `schemas/heal_outcome.avsc` (version 2, written).
    pub heal_outcome: u32,
    /// Id of `schemas/history/heal_outcome.v1.avsc`: outcomes written with
    /// it (by executors built against version 1) are still read.
    pub heal_outcome_v1: u32,
    /// Id of `schemas/operator_command.avsc`.
    pub operator_command: u32,
    /// Id of `schemas/audit_record.avsc` (version 4, written).
    pub audit_record: u32,
    /// Id of `schemas/history/audit_record.v3.avsc`: audit records written
    /// with it (before the bandit view's `seed`, `against` and arm
    /// `deviation`) are still read, through Avro schema resolution.
    pub audit_record_v3: u32,
    /// Id of `schemas/history/audit_record.v2.avsc`: audit records written
    /// with it (before the `reward` field) are still read, through Avro
    /// schema resolution.
    pub audit_record_v2: u32,
    /// Id of `schemas/history/audit_record.v1.avsc`: audit records written
    /// with it are still read, through Avro schema resolution.
    pub audit_record_v1: u32,
    /// Id of `schemas/dead_letter.avsc`.
    pub dead_letter: u32,
    /// Id of `schemas/evaluation.avsc`.
    pub evaluation: u32,
}

/// Logging, metrics and the operators' HTTP endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TelemetryConfig {
    /// `text` for people, `json` for log pipelines.
    pub log_format: LogFormat,
    /// tracing filter directive, e.g. `info` or `jidoka=debug,rdkafka=warn`;
    /// `RUST_LOG` overrides it.
    pub log_filter: String,
    /// `host:port` of the HTTP endpoint serving `/metrics` (Prometheus /
    /// OpenMetrics text), `/health` (200 when partitions are assigned and
    /// restored and a broker is reachable, else 503 with the reason) and
    /// `/health/live`, e.g. `"127.0.0.1:9464"`, or `"0.0.0.0:9464"` in a
    /// container. Empty (the default): no endpoint.
    #[serde(default)]
    pub http_address: String,
    /// How often librdkafka reports the consumer's statistics
    /// (`statistics.interval.ms`), the source of the consumer-lag metric
    /// (humantime, at most 24h); `"0s"` turns them off.
    #[serde(with = "humantime_serde", default = "default_statistics_interval")]
    pub statistics_interval: Duration,
    /// Most per-feature series on `/metrics` (`jidoka_feature_statistic`
    /// and `jidoka_feature_p_value`, one per model, feature or metric, kind
    /// and test; two samples each). Series are admitted first come; the
    /// values of later ones go to the aggregated `_other` series of their
    /// test and `jidoka_feature_series_dropped_total` counts them. `0`:
    /// no per-feature series, only the aggregated ones.
    #[serde(default = "default_feature_series_limit")]
    pub feature_series_limit: usize,
}

/// Default of `telemetry.feature-series-limit`: 10,000 series are 20,000
/// samples (about 2 MB of exposition per scrape), what one Prometheus
/// target carries comfortably, and cover e.g. 100 models of 100 features.
pub const DEFAULT_FEATURE_SERIES_LIMIT: usize = 10_000;

/// Default of `telemetry.feature-series-limit`.
pub fn default_feature_series_limit() -> usize {
    DEFAULT_FEATURE_SERIES_LIMIT
}

/// Default of `telemetry.statistics-interval`.
pub fn default_statistics_interval() -> Duration {
    Duration::from_secs(5)
}

impl TelemetryConfig {
    /// Logging only: text or JSON lines at `log_filter`, no endpoint, the
    /// default statistics interval.
    pub fn logging(log_format: LogFormat, log_filter: &str) -> Self {
        TelemetryConfig {
            log_format,
            log_filter: log_filter.to_string(),
            http_address: String::new(),
            statistics_interval: default_statistics_interval(),
            feature_series_limit: default_feature_series_limit(),
        }
    }

    /// The endpoint's address, `None` when disabled.
    pub fn http_address(&self) -> Option<&str> {
        Some(self.http_address.trim()).filter(|a| !a.is_empty())
    }
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
    pub fn named(&self) -> [(&'static str, &str); 9] {
        [
            ("predictions", &self.predictions),
            ("labels", &self.labels),
            ("drift-events", &self.drift_events),
            ("actions", &self.actions),
            ("outcomes", &self.outcomes),
            ("operator", &self.operator),
            ("audit", &self.audit),
            ("dead-letter", &self.dead_letter),
            ("evaluations", &self.evaluations),
        ]
    }
}

impl Config {
    /// This instance's transactional id.
    pub fn transactional_id(&self) -> String {
        self.kafka
            .transactional_id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.kafka.group_id, self.kafka.client_id))
    }
}

impl SchemaIds {
    /// Every schema id with its config key, in a fixed order.
    pub fn named(&self) -> [(&'static str, u32); 15] {
        [
            ("prediction", self.prediction),
            ("label", self.label),
            ("drift-event", self.drift_event),
            ("drift-event-v1", self.drift_event_v1),
            ("heal-command", self.heal_command),
            ("heal-command-v1", self.heal_command_v1),
            ("heal-outcome", self.heal_outcome),
            ("heal-outcome-v1", self.heal_outcome_v1),
            ("operator-command", self.operator_command),
            ("audit-record", self.audit_record),
            ("audit-record-v3", self.audit_record_v3),
            ("audit-record-v2", self.audit_record_v2),
            ("audit-record-v1", self.audit_record_v1),
            ("dead-letter", self.dead_letter),
            ("evaluation", self.evaluation),
        ]
    }
}
