//! Broker health as the Kafka clients see it.
//!
//! Guarantees: when librdkafka reports every broker down (on the output
//! producer or the input consumer), `broker_down_total` grows and the
//! `broker_reachable` gauge turns false at once, from librdkafka's own
//! threads, even while the loop is blocked waiting for acknowledgements;
//! the loop turns it true again when records arrive. Other client errors
//! are logged, never fatal: librdkafka retries them.

use std::sync::Arc;

use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use crate::telemetry::Metrics;

/// The output producer, with the health context.
pub type OutputProducer = FutureProducer<Health>;

/// A client context that reports broker outages to the metrics.
#[derive(Debug, Clone, Default)]
pub struct Health {
    metrics: Arc<Metrics>,
}

impl Health {
    /// A context reporting to `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Health { metrics }
    }

    /// Handles a client error: an outage is counted and flips the gauge.
    pub fn report(&self, error: &KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            Metrics::add(&self.metrics.broker_down_total, 1);
            Metrics::set(&self.metrics.broker_reachable, false);
            tracing::warn!(%reason, "no broker reachable; librdkafka retries with backoff");
        } else {
            tracing::error!(error = %error, %reason, "kafka client error");
        }
    }
}

impl ClientContext for Health {
    fn error(&self, error: KafkaError, reason: &str) {
        self.report(&error, reason);
    }
}
