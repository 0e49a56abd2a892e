//! The embedded demo: the whole loop on an in-process broker, no Kafka
//! needed.
//!
//! It starts librdkafka's mock cluster (a test cluster speaking the Kafka
//! protocol on a loopback port; production points at a real Kafka), creates
//! the topics, runs the pipeline, produces a synthetic stream where one
//! feature of one model shifts at a known record plus a few corrupt records,
//! prints the drift events, heal commands and dead letters as they arrive
//! on their topics, answers every command with a simulated executor
//! ([`executor`]), then lets time pass: the models' streams run on past
//! the reward's horizon (`[decide.reward] horizon`) of every command, so
//! each is measured again on its model's own signals and its reward (the
//! measured part and the executor's report) is learned. It writes the HTML
//! report and checks the outcome.
//!
//! Layout: `run.rs` (the in-process loop, start to finish), `watch.rs`
//! (reads the output topics back and prints them), `settle.rs` (waits for
//! the pipeline, the executor and the outcomes), `horizon.rs` (how much
//! stream time must pass for a command to be measured again), `produce.rs`
//! (writes the stream: here, or to a real Kafka with `demo --produce`),
//! `summary.rs` (what the demo saw, and its one line), [`executor`] (the
//! simulated executor) and [`scenario`] (the synthetic streams).

pub mod executor;
mod horizon;
mod produce;
mod run;
pub mod scenario;
mod settle;
mod summary;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

use crate::config::ConfigError;
use crate::pipeline::PipelineError;
use crate::report::ReportError;
use crate::schema::SchemaError;
use crate::state::StateError;

pub use produce::{produce_to, Produced};
pub use run::run;
pub use summary::{summary_line, DemoSummary};

/// Demo settings.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Records per model.
    pub records: u64,
    /// Record at which `churn-v7`'s `tenure_days` shifts.
    pub shift_at: u64,
    /// Corrupt records to add.
    pub corrupt: u64,
    /// Serve `/metrics` and `/health` here while the demo runs
    /// (`telemetry.http-address`).
    pub http_address: Option<String>,
    /// How long the simulated executor takes to answer a command.
    pub executor_delay: Duration,
    /// Write the HTML report here at the end (`None`: no report).
    pub report: Option<PathBuf>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            records: 5_000,
            shift_at: 3_000,
            corrupt: 3,
            http_address: None,
            executor_delay: Duration::from_millis(500),
            report: None,
        }
    }
}

pub(crate) const SHIFTED_MODEL: &str = "churn-v7";
pub(crate) const SHIFTED_FEATURE: &str = "tenure_days";

/// Demo failures.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The embedded defaults are broken (internal).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Kafka (the mock cluster) failed.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Schemas are broken (internal).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The Schema Registry is unreachable or refused the prediction schema.
    #[error(transparent)]
    Registry(#[from] crate::schema::registry::RegistryError),
    /// The pipeline failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A temp dir could not be made.
    #[error("temp dir: {0}")]
    Io(#[from] std::io::Error),
    /// The pipeline did not finish in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The state store could not be read back after the run.
    #[error("reading the bandit back: {0}")]
    State(#[from] StateError),
    /// The report could not be written.
    #[error("writing the report: {0}")]
    Report(#[from] ReportError),
}
