//! Telemetry: logging set-up, counters, and the notable events that update
//! them.
//!
//! Each event is a small struct whose `emit` logs through `tracing` and
//! updates its counter, so call sites stay one line.

mod events;
mod metrics;

pub use events::{
    BatchCommitted, DecisionTaken, DriftDetected, HealCommandPublished, OffsetCommitFailed,
    ProduceRetried, RecordDeadLettered, RecordSkipped, StateRestored,
};
pub use metrics::Metrics;

use crate::config::{LogFormat, TelemetryConfig};
use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber (once; later calls are ignored).
/// `RUST_LOG` overrides `telemetry.log-filter`.
pub fn init(cfg: &TelemetryConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.log_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cfg.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
