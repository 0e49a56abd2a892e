//! Rebalance notifications from the consumer to the processing loop.
//!
//! Guarantees: every partition revoked from this instance is reported once
//! to the loop, which drops the cached state of its models between batches
//! (after the last batch was checkpointed), so a partition that moves away
//! and later comes back is served from RocksDB, never from stale memory.

use std::sync::Mutex;

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;

/// Consumer context that records revoked partitions.
#[derive(Debug, Default)]
pub struct RebalanceLog {
    revoked: Mutex<Vec<(String, i32)>>,
}

impl RebalanceLog {
    /// Takes the partitions revoked since the last call.
    pub fn take_revoked(&self) -> Vec<(String, i32)> {
        match self.revoked.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl ClientContext for RebalanceLog {}

impl ConsumerContext for RebalanceLog {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let parts: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition()))
                    .collect();
                tracing::info!(partitions = ?parts, "partitions revoked");
                match self.revoked.lock() {
                    Ok(mut v) => v.extend(parts),
                    Err(poisoned) => poisoned.into_inner().extend(parts),
                }
            }
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = tpl.count(), "partitions assigned");
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }
}
