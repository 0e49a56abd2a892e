//! jidoka: a stream processor on Kafka that keeps production ML models
//! healthy. It reads predictions, detects drift, decides with safety rules,
//! publishes healing commands and explains every decision in an audit trail.
//!
//! # Layout
//!
//! - [`config`]: typed configuration and its layered loading (defaults < file < env), per-model settings (`[models."<glob>"]`) and `config show`.
//! - [`schema`]: Avro schemas, record types, the Confluent wire format and the Schema Registry (writer schemas by id, registration of outputs).
//! - [`kafka`]: Kafka client configurations, topic creation and the topic check at start.
//! - [`ingest`]: decoding consumed records (jidoka's Avro, or JSON mapped from the producer's field names), or dead-lettering them with a reason.
//! - [`state`]: the RocksDB store of windows, model state and applied offsets.
//! - [`stage`]: what the stage operators share: input position, output, the models' bookkeeping, the lifecycle hooks.
//! - [`detect`]: feature windows and the drift tests (pure code), the detection and label-join operators.
//! - [`decide`]: the rule engine and cooldown, the policy-rule language, the Thompson bandit and its learner (outcome statistics with forgetting, pooled across models), the reward (pure code), the decisions operator with self-measured recovery and the pools of lessons.
//! - [`bench`]: in-binary benchmarks (`jidoka bench ablation`, also on scenarios defined in TOML, `jidoka bench alerts`, `jidoka bench report`, `jidoka bench throughput`).
//! - [`heal`]: heal commands for downstream executors (built only here), the feedback operator (outcomes, operator commands).
//! - [`executor`]: the executor bridge (`jidoka executor`): heal commands to webhooks, GitHub and local programs, at most once; `POST /outcomes`.
//! - [`audit`]: the audit hash chain, and reading the trail back: replay with filters, verify across compaction, explain one decision.
//! - [`export`]: analyst exports of the audit trail and the drift events (Parquet, CSV, JSON lines; one flat row per record).
//! - [`report`]: the self-contained HTML report of drift history, decisions and outcomes over a time range (inline SVG, long series downsampled per pixel column).
//! - [`operator`]: signed operator commands (veto, approve, pause, resume) and their publishing.
//! - [`ids`]: deterministic ids of every output.
//! - [`pipeline`]: the only place that wires the stages: the processor routing records to the operators, the repartition of inputs not keyed by model id, and the Kafka loop.
//! - [`telemetry`]: logging set-up, metrics, notable events, the `/metrics` and `/health` endpoint.
//! - [`demo`]: the embedded demo (in-process broker, synthetic scenario).
//! - [`cli`]: the `jidoka` command line.

pub mod audit;
pub mod bench;
pub mod cli;
pub mod config;
pub mod decide;
pub mod demo;
pub mod detect;
pub mod executor;
pub mod export;
pub mod heal;
pub mod ids;
pub mod ingest;
pub mod kafka;
pub mod operator;
pub mod pipeline;
pub mod report;
pub mod schema;
pub mod stage;
pub mod state;
pub mod telemetry;
