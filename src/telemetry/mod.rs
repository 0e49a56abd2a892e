//! Telemetry: logging set-up, metrics, the notable events that update
//! them, and the operators' HTTP endpoint.
//!
//! Each event is a small struct whose `emit` logs through `tracing` and
//! updates its metric, so call sites stay one line.
//!
//! - `events.rs`: the notable events.
//! - `metrics.rs`: counters, gauges, labelled counters, latencies, lag.
//! - `features.rs`: per-feature gauges (latest statistic and p-value) under
//!   a cardinality cap.
//! - `models.rs`: per-model gauges (open alerts per kind, heal commands in
//!   the last hour).
//! - `latency.rs`: latency histograms in seconds (fixed exponential buckets).
//! - `readiness.rs`: assignment and restore progress (`/health`).
//! - `kafka_stats.rs`: consumer lag from librdkafka statistics.
//! - `exposition.rs`: the metrics in OpenMetrics text (`prometheus-client`).
//! - `http.rs`: the endpoint (`/metrics`, `/health`, `/health/live`, axum).

mod events;
pub mod exposition;
pub mod features;
pub mod http;
pub mod kafka_stats;
pub mod latency;
mod metrics;
pub mod models;
pub mod readiness;

pub use events::{
    BatchCommitted, CategoriesCapped, DecisionTaken, DriftDetected, FeatureSeriesRevoked,
    FeaturesEvaluated, HealCommandPublished, OffsetCommitFailed, ProduceRetried,
    RecordDeadLettered, RecordSkipped, RecordsRepartitioned, SchemaRegistryRetry, StateRestored,
};
pub use http::{HttpEndpoint, HttpError};
pub use metrics::Metrics;

use std::io::IsTerminal;

use crate::config::{LogFormat, TelemetryConfig};
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber on stderr (once; later calls are
/// ignored). `RUST_LOG` overrides `telemetry.log-filter`. Text lines are
/// coloured only when stderr is a terminal.
pub fn init(cfg: &TelemetryConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.log_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    let _ = subscriber(cfg.log_format, filter, ansi, std::io::stderr).try_init();
}

/// The subscriber of `format` (`text`: human-readable lines, with ANSI
/// colours if `ansi`; `json`: one JSON object per line), writing to
/// `writer`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    ansi: bool,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi && format == LogFormat::Text)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(builder.json().finish()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut b) = self.0.lock() {
                b.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            self.0
                .lock()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        }
    }

    fn log_with(format: LogFormat) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let sub = subscriber(format, EnvFilter::new("info"), false, move || {
            writer.clone()
        });
        tracing::subscriber::with_default(sub, || {
            tracing::info!(model = "churn-v7", p_value = 0.001, "drift \"detected\"");
            tracing::debug!("filtered out");
            RecordDeadLettered {
                topic: "predictions",
                partition: 1,
                offset: 42,
                kind: "bad-magic",
                reason: "first byte 7\nnot 0",
            }
            .emit(&Metrics::default());
        });
        buffer.text()
    }

    #[test]
    fn json_format_writes_one_json_object_per_line() -> Result<(), serde_json::Error> {
        let out = log_with(LogFormat::Json);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["fields"]["message"], "drift \"detected\"");
        assert_eq!(lines[0]["fields"]["model"], "churn-v7");
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["fields"]["reason"], "first byte 7\nnot 0");
        assert_eq!(lines[1]["fields"]["offset"], 42);
        assert!(lines.iter().all(|l| l["timestamp"].is_string()));
        Ok(())
    }

    #[test]
    fn text_format_is_not_json() {
        let out = log_with(LogFormat::Text);
        assert!(out.contains("drift \"detected\""), "{out}");
        assert!(out.contains("model=\"churn-v7\""), "{out}");
        assert!(!out.contains("filtered out"), "{out}");
        assert!(out
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_err()));
    }
}
