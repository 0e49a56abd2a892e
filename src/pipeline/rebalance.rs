//! Rebalance notifications from the consumer to the processing loop.
//!
//! Guarantees: every partition revoked from this instance is reported once
//! to the loop, which drops the cached state of its models between batches
//! (after the last batch was checkpointed), so a partition that moves away
//! and later comes back is served from RocksDB, never from stale memory;
//! every partition assigned is reported once, so the loop can restore its
//! state before processing its records. Assignments and revokes also go to
//! the readiness of `/health` at once (an assignment proves a broker
//! reachable), and librdkafka's statistics update the consumer-lag metric.

use std::sync::Mutex;

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use std::sync::Arc;

use rdkafka::error::KafkaError;
use rdkafka::ClientContext;

use super::health::Health;
use crate::telemetry::{kafka_stats, Metrics};

/// Consumer context that records revoked partitions.
#[derive(Debug, Default)]
pub struct RebalanceLog {
    revoked: Mutex<Vec<(String, i32)>>,
    assigned: Mutex<Vec<(String, i32)>>,
    health: Health,
    metrics: Arc<Metrics>,
}

fn take(list: &Mutex<Vec<(String, i32)>>) -> Vec<(String, i32)> {
    match list.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    }
}

fn extend(list: &Mutex<Vec<(String, i32)>>, parts: Vec<(String, i32)>) {
    match list.lock() {
        Ok(mut v) => v.extend(parts),
        Err(poisoned) => poisoned.into_inner().extend(parts),
    }
}

fn parts(tpl: &rdkafka::TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

impl RebalanceLog {
    /// A context that also reports broker trouble to `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        RebalanceLog {
            health: Health::new(metrics.clone()),
            metrics,
            ..RebalanceLog::default()
        }
    }

    /// Takes the partitions assigned since the last call.
    pub fn take_assigned(&self) -> Vec<(String, i32)> {
        take(&self.assigned)
    }

    /// Takes the partitions revoked since the last call.
    pub fn take_revoked(&self) -> Vec<(String, i32)> {
        take(&self.revoked)
    }
}

impl ClientContext for RebalanceLog {
    fn error(&self, error: KafkaError, reason: &str) {
        self.health.report(&error, reason);
    }

    fn stats_raw(&self, statistics: &[u8]) {
        match kafka_stats::consumer_lags(statistics) {
            Ok(lags) => self.metrics.set_consumer_lags(lags),
            Err(e) => tracing::debug!(error = %e, "librdkafka statistics not understood"),
        }
    }
}

impl ConsumerContext for RebalanceLog {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let parts = parts(tpl);
                tracing::info!(partitions = ?parts, "partitions revoked");
                self.metrics.readiness.revoke(&parts);
                extend(&self.revoked, parts);
            }
            Rebalance::Assign(tpl) => {
                let parts = parts(tpl);
                tracing::info!(partitions = ?parts, "partitions assigned");
                // Listed for the loop before the readiness epoch moves, so
                // the loop never marks an epoch restored without its parts.
                extend(&self.assigned, parts.clone());
                self.metrics.readiness.assign(&parts);
                Metrics::set(&self.metrics.broker_reachable, true);
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }
}
