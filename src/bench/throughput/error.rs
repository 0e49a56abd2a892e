//! Why `jidoka bench throughput` failed. Every failure names what it was
//! doing; none is retried (a benchmark that did not measure what it says
//! must fail loudly).

use crate::config::ConfigError;
use crate::schema::SchemaError;
use crate::state::RestoreError;

/// A benchmark failure.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad options (the user's).
    #[error("usage: {0}")]
    Usage(String),
    /// The broker or a client failed (external).
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Encoding a prediction failed (internal).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A generated config did not load (internal).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file, directory or process could not be handled (external).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The broker lost or did not acknowledge records (external): the
    /// measurement would be wrong.
    #[error("records lost: {0}")]
    Lost(String),
    /// A case failed or stopped making progress.
    #[error("case {case}: {reason}")]
    Case {
        /// Case name.
        case: &'static str,
        /// What went wrong (with the tail of the child's log).
        reason: String,
    },
    /// Restoring from the changelog failed.
    #[error(transparent)]
    Restore(#[from] RestoreError),
}

impl BenchError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Io { what, source }
    }
}
