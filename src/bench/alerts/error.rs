//! Why `jidoka bench alerts` failed. Every failure names what it was doing;
//! none is retried (a benchmark that did not measure what it says must fail
//! loudly).

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::state::StateError;

/// A benchmark failure.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    /// Bad options (the user's): unknown setting or stream, sizes too small.
    #[error("usage: {0}")]
    Usage(String),
    /// A setting's configuration, over a stream's window settings, does not
    /// load (the user's when the setting is theirs).
    #[error("setting `{setting}` on stream `{stream}`: {source}")]
    Config {
        /// Setting name.
        setting: String,
        /// Stream name.
        stream: String,
        /// Why (boxed: a figment error is large).
        source: Box<ConfigError>,
    },
    /// The processor's store failed (external: disk).
    #[error(transparent)]
    State(#[from] StateError),
    /// A file, directory or process could not be handled (external).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The real series could not be exported: Python or a package is
    /// missing, or the export script failed (external; the message says
    /// what to install).
    #[error("exporting the real series: {0}")]
    Python(String),
    /// A bug in the benchmark itself.
    #[error("internal: {0}")]
    Internal(String),
    /// An exported series file is malformed (external: a stale or edited
    /// `--data-dir`).
    #[error("{}: {reason}", .file.display())]
    Data {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl AlertsError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> AlertsError {
        let what = what.into();
        move |source| AlertsError::Io { what, source }
    }
}
