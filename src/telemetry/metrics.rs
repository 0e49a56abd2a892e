//! Counters, gauges and latency histograms of one pipeline instance. Cheap
//! to share (`Arc<Metrics>`); every counter (`*_total`) only grows;
//! `broker_reachable` is a gauge. Read by the demo and the tests, and
//! exported in Prometheus (OpenMetrics) text by the HTTP endpoint
//! ([`super::http`]).
//!
//! Labelled counters (per topic, per decision action and source) and the
//! consumer lag per partition have small fixed label sets: the configured
//! topics, the five actions plus `none`, the decision sources, the
//! assigned partitions. The per-model gauges ([`ModelGauges`]) grow with
//! the models this instance holds (a few series each); the per-feature
//! gauges ([`FeatureGauges`]) with the models and features, up to
//! `telemetry.feature-series-limit`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::features::FeatureGauges;
use super::kafka_stats::PartitionLag;
use super::latency::Latency;
use super::models::ModelGauges;
use super::readiness::{NotReady, Readiness};

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
    /// Records of an input topic not keyed by model id forwarded, keyed by
    /// model id, to its repartition topic.
    pub records_repartitioned_total: AtomicU64,
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
    /// Gauge: true once partitions are assigned or records arrive; false
    /// from an all-brokers-down report until either happens again (the
    /// health signal of broker trouble).
    pub broker_reachable: AtomicBool,
    /// Output producers replaced after a fatal error.
    pub producers_replaced_total: AtomicU64,
    /// Schema Registry requests for writer schemas that failed and were
    /// retried (unreachable or failing registry).
    pub schema_registry_retries_total: AtomicU64,
    /// Kafka transactions committed (`kafka.transactions`).
    pub transactions_committed_total: AtomicU64,
    /// Changelog records published.
    pub changelog_records_total: AtomicU64,
    /// Partitions whose state was restored from the changelog.
    pub partitions_restored_total: AtomicU64,
    /// Changelog records read while restoring.
    pub restored_records_total: AtomicU64,
    /// Categorical values counted in their feature's `"other"` category
    /// (beyond `max-categories`).
    pub categories_capped_total: AtomicU64,
    /// Assignment and restore progress (the `/health` answer).
    pub readiness: Readiness,
    /// Latest statistic and p-value per model and feature (capped).
    pub features: FeatureGauges,
    /// Open alerts per kind and commands of the last hour, per model.
    pub models: ModelGauges,
    /// Input records read, per topic.
    records_in_by_topic: Labelled<String>,
    /// Output records acknowledged (outputs, dead letters, changelog), per topic.
    records_out_by_topic: Labelled<String>,
    /// Decisions per (action, source).
    decisions_by_action: Labelled<(String, String)>,
    /// Consumer lag per (topic, partition), from the latest statistics.
    consumer_lag: Mutex<BTreeMap<(String, i32), i64>>,
    /// Time to process one input record (windows, evaluation when due).
    detect_latency: Latency,
    /// Time to process an input record that led to a decision.
    decision_latency: Latency,
}

/// A counter per label value.
#[derive(Debug)]
struct Labelled<K>(Mutex<BTreeMap<K, u64>>);

impl<K> Default for Labelled<K> {
    fn default() -> Self {
        Labelled(Mutex::new(BTreeMap::new()))
    }
}

impl<K: Ord + Clone> Labelled<K> {
    fn add(&self, key: K, n: u64) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let v = map.entry(key).or_insert(0);
        *v = v.saturating_add(n);
    }

    fn get<Q: Ord + ?Sized>(&self, key: &Q) -> u64
    where
        K: std::borrow::Borrow<Q>,
    {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key).copied().unwrap_or(0)
    }

    fn snapshot(&self) -> Vec<(K, u64)> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
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

    /// Counts input records read, one topic name per record
    /// (`records_in_total` and the per-topic counter).
    pub fn count_in<'a>(&self, topics: impl IntoIterator<Item = &'a str>) {
        let n = count_by(&self.records_in_by_topic, topics);
        Metrics::add(&self.records_in_total, n);
    }

    /// Counts output records acknowledged, one topic name per record.
    pub fn count_out<'a>(&self, topics: impl IntoIterator<Item = &'a str>) {
        count_by(&self.records_out_by_topic, topics);
    }

    /// Input records read from `topic`.
    pub fn records_in(&self, topic: &str) -> u64 {
        self.records_in_by_topic.get(topic)
    }

    /// Output records acknowledged on `topic`.
    pub fn records_out(&self, topic: &str) -> u64 {
        self.records_out_by_topic.get(topic)
    }

    /// Counts one audited decision by its final action (`retrain`, …,
    /// `none`) and the part of the engine that made it (`rules`, …). Called
    /// once per audit record, by [`super::DecisionTaken::emit`].
    pub fn record_decision(&self, action: &str, source: &str) {
        self.decisions_by_action
            .add((action.to_string(), source.to_string()), 1);
    }

    /// Decisions with `action` made by `source`.
    pub fn decisions(&self, action: &str, source: &str) -> u64 {
        self.decisions_by_action
            .get(&(action.to_string(), source.to_string()))
    }

    /// Records the time to process one input record (detection).
    pub fn observe_detect_latency(&self, elapsed: Duration) {
        self.detect_latency.observe(elapsed);
    }

    /// Records the time to reach one decision.
    pub fn observe_decision_latency(&self, elapsed: Duration) {
        self.decision_latency.observe(elapsed);
    }

    /// Detection latency histogram.
    pub fn detect_latency(&self) -> &Latency {
        &self.detect_latency
    }

    /// Decision latency histogram.
    pub fn decision_latency(&self) -> &Latency {
        &self.decision_latency
    }

    /// Replaces the consumer lags with the latest statistics' (partitions
    /// no longer listed disappear).
    pub fn set_consumer_lags(&self, lags: Vec<PartitionLag>) {
        let mut map = self
            .consumer_lag
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *map = lags
            .into_iter()
            .map(|l| ((l.topic, l.partition), l.lag))
            .collect();
    }

    /// Consumer lag per (topic, partition), from the latest statistics.
    pub fn consumer_lags(&self) -> Vec<PartitionLag> {
        let map = self
            .consumer_lag
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.iter()
            .map(|((topic, partition), lag)| PartitionLag {
                topic: topic.clone(),
                partition: *partition,
                lag: *lag,
            })
            .collect()
    }

    /// Ready to serve (`/health`), or why not: partitions assigned, their
    /// state restored, a broker reachable.
    pub fn ready(&self) -> Result<(), NotReady> {
        self.readiness.check(Metrics::is(&self.broker_reachable))
    }

    /// Every unlabelled counter as (name without `_total`, help, value), in
    /// a fixed order. `records_in_total` and `decisions_total` are exported
    /// with labels instead (per topic; per action and source), their sums.
    pub fn counters(&self) -> [(&'static str, &'static str, u64); 17] {
        let c = |name, help, counter: &AtomicU64| (name, help, Metrics::get(counter));
        [
            c(
                "records_processed",
                "Input records processed into state.",
                &self.records_processed_total,
            ),
            c(
                "records_dead_lettered",
                "Input records sent to the dead-letter topic.",
                &self.records_dead_lettered_total,
            ),
            c(
                "records_skipped",
                "Input records skipped because the state already reflected them.",
                &self.records_skipped_total,
            ),
            c(
                "records_repartitioned",
                "Input records forwarded, keyed by model id, to their repartition topic.",
                &self.records_repartitioned_total,
            ),
            c(
                "drift_events",
                "Drift events published.",
                &self.drift_events_total,
            ),
            c(
                "heal_commands",
                "Heal commands published.",
                &self.heal_commands_total,
            ),
            c(
                "batches",
                "Batches fully acknowledged, checkpointed and committed.",
                &self.batches_total,
            ),
            c(
                "offset_commit_failures",
                "Offset commits that failed.",
                &self.offset_commit_failures_total,
            ),
            c(
                "produce_retries",
                "Produce attempts that had to be retried.",
                &self.produce_retries_total,
            ),
            c(
                "broker_down",
                "Times librdkafka reported every broker down.",
                &self.broker_down_total,
            ),
            c(
                "producers_replaced",
                "Output producers replaced after a fatal error.",
                &self.producers_replaced_total,
            ),
            c(
                "schema_registry_retries",
                "Schema Registry requests for writer schemas retried after a failure.",
                &self.schema_registry_retries_total,
            ),
            c(
                "transactions_committed",
                "Kafka transactions committed.",
                &self.transactions_committed_total,
            ),
            c(
                "changelog_records",
                "Changelog records published.",
                &self.changelog_records_total,
            ),
            c(
                "partitions_restored",
                "Partitions whose state was restored from the changelog.",
                &self.partitions_restored_total,
            ),
            c(
                "restored_records",
                "Changelog records read while restoring.",
                &self.restored_records_total,
            ),
            c(
                "categories_capped",
                "Categorical values counted in their feature's \"other\" category (beyond max-categories).",
                &self.categories_capped_total,
            ),
        ]
    }

    /// Input records per topic.
    pub fn records_in_by_topic(&self) -> Vec<(String, u64)> {
        self.records_in_by_topic.snapshot()
    }

    /// Output records per topic.
    pub fn records_out_by_topic(&self) -> Vec<(String, u64)> {
        self.records_out_by_topic.snapshot()
    }

    /// Decisions per (action, source).
    pub fn decisions_by_action(&self) -> Vec<((String, String), u64)> {
        self.decisions_by_action.snapshot()
    }
}

/// Adds one per topic name (grouped, one lock); returns how many.
fn count_by<'a>(counter: &Labelled<String>, topics: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for t in topics {
        *counts.entry(t).or_insert(0) += 1;
    }
    let mut map = counter.0.lock().unwrap_or_else(PoisonError::into_inner);
    let mut total = 0;
    for (topic, n) in counts {
        total += n;
        match map.get_mut(topic) {
            Some(v) => *v = v.saturating_add(n),
            None => {
                map.insert(topic.to_string(), n);
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_topic_counts_add_up_to_the_total() {
        let m = Metrics::default();
        m.count_in(["a", "b", "a"]);
        m.count_in(["a"]);
        m.count_out(["out", "out"]);
        assert_eq!(Metrics::get(&m.records_in_total), 4);
        assert_eq!(m.records_in("a"), 3);
        assert_eq!(m.records_in("b"), 1);
        assert_eq!(m.records_in("c"), 0);
        assert_eq!(m.records_out("out"), 2);
        assert_eq!(
            m.records_in_by_topic(),
            vec![("a".to_string(), 3), ("b".to_string(), 1)]
        );
    }

    #[test]
    fn decisions_by_action_and_source() {
        let m = Metrics::default();
        m.record_decision("retrain", "rules");
        m.record_decision("retrain", "rules");
        m.record_decision("none", "bandit");
        assert_eq!(m.decisions("retrain", "rules"), 2);
        assert_eq!(m.decisions("none", "bandit"), 1);
        assert_eq!(m.decisions("none", "rules"), 0);
    }

    #[test]
    fn lags_are_replaced_by_the_latest_statistics() {
        let m = Metrics::default();
        let lag = |p, lag| PartitionLag {
            topic: "t".into(),
            partition: p,
            lag,
        };
        m.set_consumer_lags(vec![lag(0, 5), lag(1, 7)]);
        m.set_consumer_lags(vec![lag(1, 2)]);
        assert_eq!(m.consumer_lags(), vec![lag(1, 2)]);
    }
}
