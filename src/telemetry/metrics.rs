//! Counters of one pipeline instance. Cheap to share (`Arc<Metrics>`);
//! every counter (`*_total`) only grows; `broker_reachable` is a gauge. Exposed to the demo, tests and (later) the
//! Prometheus endpoint.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters of one pipeline instance.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Input records read from Kafka.
    pub records_in_total: AtomicU64,
    /// Input records processed into state.
    pub records_processed_total: AtomicU64,
    /// Input records sent to the dead-letter topic.
    pub records_dead_lettered_total: AtomicU64,
    /// Input records skipped because the state already reflected them.
    pub records_skipped_total: AtomicU64,
    /// Drift events published.
    pub drift_events_total: AtomicU64,
    /// Decisions taken (audit records published).
    pub decisions_total: AtomicU64,
    /// Heal commands published.
    pub heal_commands_total: AtomicU64,
    /// Batches fully acknowledged, checkpointed and committed.
    pub batches_total: AtomicU64,
    /// Offset commits that failed.
    pub offset_commit_failures_total: AtomicU64,
    /// Produce attempts that had to be retried.
    pub produce_retries_total: AtomicU64,
    /// Times librdkafka reported every broker down.
    pub broker_down_total: AtomicU64,
    /// Gauge: true once records arrive; false from an all-brokers-down
    /// report until records arrive again (the health signal of broker
    /// trouble).
    pub broker_reachable: AtomicBool,
    /// Output producers replaced after a fatal error.
    pub producers_replaced_total: AtomicU64,
    /// Kafka transactions committed (`kafka.transactions`).
    pub transactions_committed_total: AtomicU64,
    /// Changelog records published.
    pub changelog_records_total: AtomicU64,
    /// Partitions whose state was restored from the changelog.
    pub partitions_restored_total: AtomicU64,
    /// Changelog records read while restoring.
    pub restored_records_total: AtomicU64,
}

impl Metrics {
    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Reads a gauge.
    pub fn is(gauge: &AtomicBool) -> bool {
        gauge.load(Ordering::Relaxed)
    }

    pub(crate) fn set(gauge: &AtomicBool, value: bool) {
        gauge.store(value, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
