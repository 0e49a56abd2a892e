//! Why the pipeline stopped: one error type for everything `jidoka run`
//! can fail on, each variant saying whether the cause is external (Kafka,
//! the registry, the disk) or internal, so the CLI can name it.

use super::sink::NotAcknowledged;
use crate::detect::reference::ReferenceError;
use crate::kafka::KafkaError;
use crate::schema::registry::{CodecError, RegistryError};
use crate::schema::SchemaError;
use crate::state::changelog::RestoreError;
use crate::state::StateError;
use crate::telemetry::HttpError;

/// Why the pipeline stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A schema is broken or an output does not encode (internal).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The Schema Registry is unreachable or refused one of jidoka's
    /// schemas at start-up.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A mapping names a field the producer's registered schema does not
    /// have (the user's: fix the mapping or the schema).
    #[error("input.{table}.mapping.{key}: `{path}` does not fit the schema registered under `{subject}`: {reason}")]
    MappingMismatch {
        /// `predictions` or `labels`.
        table: &'static str,
        /// The mapping key.
        key: String,
        /// The path it reads.
        path: String,
        /// The registry subject whose latest schema was checked.
        subject: String,
        /// What does not fit.
        reason: String,
    },
    /// Local state failed (external: disk) or is corrupt.
    #[error(transparent)]
    State(#[from] StateError),
    /// Kafka clients could not be created or subscribed (external).
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// The data directory could not be created (external).
    #[error("data dir {path}: {source}")]
    DataDir {
        /// Directory.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
    /// A partition's state could not be restored from its changelog.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// The reference file cannot be used.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// Shutdown came while a batch's outputs were still unacknowledged; the
    /// batch was not committed and will be processed again.
    #[error(transparent)]
    NotAcknowledged(#[from] NotAcknowledged),
    /// The telemetry endpoint could not listen (bad or busy address).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A blocking task (restore, RocksDB write) panicked or was cancelled
    /// (internal).
    #[error("blocking task failed: {0}")]
    Blocking(String),
}

impl From<CodecError> for PipelineError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Schema(e) => PipelineError::Schema(e),
            CodecError::Registry(e) => PipelineError::Registry(e),
        }
    }
}

impl From<rdkafka::error::KafkaError> for PipelineError {
    fn from(e: rdkafka::error::KafkaError) -> Self {
        PipelineError::Kafka(KafkaError::Client(e))
    }
}
