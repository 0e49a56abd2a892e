//! What can go wrong in an export.
//!
//! Guarantees: every write error names the file; reading errors are the
//! audit reader's ([`AuditError`]: Kafka, a missing topic, an idle broker).

use crate::audit::AuditError;

/// Export failures.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the topic failed (external; retrying may help, or the
    /// user's: a wrong topic or cluster).
    #[error(transparent)]
    Read(#[from] AuditError),
    /// The file could not be created, written or renamed into place
    /// (external, or the user's path).
    #[error("writing {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The Parquet encoder failed (the file system under it, or internal).
    #[error("writing {path}: parquet: {source}")]
    Parquet {
        /// File.
        path: String,
        /// Cause.
        source: Box<parquet::errors::ParquetError>,
    },
    /// Building the Arrow arrays failed (internal).
    #[error("writing {path}: arrow: {source}")]
    Arrow {
        /// File.
        path: String,
        /// Cause.
        source: Box<arrow_schema::ArrowError>,
    },
    /// The CSV encoder failed (the file system under it).
    #[error("writing {path}: csv: {source}")]
    Csv {
        /// File.
        path: String,
        /// Cause.
        source: Box<csv::Error>,
    },
}
