//! The bridge's counters and its delivery latency, and their OpenMetrics
//! exposition (every name starts with `jidoka_executor_`).
//!
//! Label sets are small and fixed: the targets (`webhook`, `github`,
//! `command`), the results (`accepted`, `refused`, `unknown`), the skip
//! reasons, the outcome sources and the HTTP status codes of
//! `POST /outcomes`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::telemetry::exposition::{encode_latency, PREFIX};
use crate::telemetry::latency::Latency;
use crate::telemetry::readiness::{NotReady, Readiness};

/// Counters of one bridge instance.
#[derive(Debug, Default)]
pub struct ExecutorMetrics {
    /// Commands read from the actions topic.
    pub commands_total: AtomicU64,
    /// Commands read again that were already delivered or refused.
    pub duplicates_total: AtomicU64,
    /// Commands whose earlier attempt's result is unknown (a crash or a
    /// timeout after sending): never sent again.
    pub unconfirmed_total: AtomicU64,
    /// Attempts retried after a 5xx answer or a connection error.
    pub retries_total: AtomicU64,
    /// Gauge: a broker is reachable.
    pub broker_reachable: AtomicBool,
    /// Assigned partitions (`/health`).
    pub readiness: Readiness,
    /// Deliveries per (target, result).
    deliveries: Labelled,
    /// Commands not sent, per reason.
    skipped: Labelled,
    /// Outcomes produced, per source (`rejected`, `command`, `http`).
    outcomes: Labelled,
    /// `POST /outcomes` answers per status code.
    requests: Labelled,
    /// Record timestamp of a command to the 2xx of its delivery.
    delivery_latency: Latency,
}

/// Counters per label value (a tuple joined by `\0`).
#[derive(Debug, Default)]
struct Labelled(Mutex<BTreeMap<Vec<String>, u64>>);

impl Labelled {
    fn add(&self, labels: &[&str]) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let v = map
            .entry(labels.iter().map(|s| s.to_string()).collect())
            .or_insert(0);
        *v = v.saturating_add(1);
    }

    fn get(&self, labels: &[&str]) -> u64 {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        map.get(&key).copied().unwrap_or(0)
    }

    fn snapshot(&self) -> Vec<(Vec<String>, u64)> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

impl ExecutorMetrics {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub(crate) fn set_reachable(&self, reachable: bool) {
        self.broker_reachable.store(reachable, Ordering::Relaxed);
    }

    /// Ready (`/health`): a broker reachable and partitions assigned.
    pub fn ready(&self) -> Result<(), NotReady> {
        self.readiness
            .check(self.broker_reachable.load(Ordering::Relaxed))
    }

    pub(crate) fn delivered(&self, target: &str, result: &str) {
        self.deliveries.add(&[target, result]);
    }

    /// Deliveries to `target` that ended `result`.
    pub fn deliveries(&self, target: &str, result: &str) -> u64 {
        self.deliveries.get(&[target, result])
    }

    pub(crate) fn skip(&self, reason: &str) {
        self.skipped.add(&[reason]);
    }

    /// Commands not sent for `reason`.
    pub fn skipped(&self, reason: &str) -> u64 {
        self.skipped.get(&[reason])
    }

    pub(crate) fn outcome(&self, source: &str) {
        self.outcomes.add(&[source]);
    }

    /// Outcomes produced from `source`.
    pub fn outcomes(&self, source: &str) -> u64 {
        self.outcomes.get(&[source])
    }

    pub(crate) fn request(&self, code: u16) {
        self.requests.add(&[&code.to_string()]);
    }

    pub(crate) fn observe_delivery(&self, latency: Duration) {
        self.delivery_latency.observe(latency);
    }

    /// The delivery latency histogram.
    pub fn delivery_latency(&self) -> &Latency {
        &self.delivery_latency
    }
}

/// A registry exporting `metrics`.
pub fn registry(metrics: Arc<ExecutorMetrics>) -> Registry {
    let mut registry = Registry::with_prefix(PREFIX);
    registry.register_collector(Box::new(Exporter(metrics)));
    registry
}

#[derive(Debug)]
struct Exporter(Arc<ExecutorMetrics>);

impl Collector for Exporter {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        for (name, help, counter) in [
            (
                "executor_commands",
                "Heal commands read from the actions topic.",
                &m.commands_total,
            ),
            (
                "executor_duplicates",
                "Commands read again after they were delivered or refused (not sent again).",
                &m.duplicates_total,
            ),
            (
                "executor_unconfirmed",
                "Commands whose earlier attempt may have reached the target with no recorded result (a crash or timeout after sending): never sent again.",
                &m.unconfirmed_total,
            ),
            (
                "executor_retries",
                "Attempts retried after a 5xx answer or a connection error.",
                &m.retries_total,
            ),
        ] {
            ConstCounter::new(ExecutorMetrics::get(counter)).encode(
                encoder.encode_descriptor(name, help, None, MetricType::Counter)?,
            )?;
        }
        for (name, help, value) in [
            (
                "executor_broker_reachable",
                "1 while a broker is reachable.",
                i64::from(m.broker_reachable.load(Ordering::Relaxed)),
            ),
            (
                "executor_ready",
                "1 when partitions of the actions topic are assigned and a broker is reachable (GET /health).",
                i64::from(m.ready().is_ok()),
            ),
        ] {
            ConstGauge::new(value)
                .encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)?;
        }
        let families: [(&str, &str, &[&str], &Labelled); 4] = [
            (
                "executor_deliveries",
                "Commands handed to a target, per target and result (accepted, refused, unknown).",
                &["target", "result"],
                &m.deliveries,
            ),
            (
                "executor_skipped",
                "Commands not sent, per reason (no-target, not-opted-in, stale, undecodable).",
                &["reason"],
                &m.skipped,
            ),
            (
                "executor_outcomes",
                "Outcomes produced by the bridge, per source (rejected: a final refusal; command: a program's result; http: POST /outcomes).",
                &["source"],
                &m.outcomes,
            ),
            (
                "executor_outcome_requests",
                "POST /outcomes requests per answer code.",
                &["code"],
                &m.requests,
            ),
        ];
        for (name, help, labels, counter) in families {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (values, n) in counter.snapshot() {
                let pairs: Vec<(&str, String)> = labels.iter().copied().zip(values).collect();
                ConstCounter::new(n).encode(family.encode_family(&pairs)?)?;
            }
        }
        encode_latency(
            &mut encoder,
            "executor_delivery_latency",
            "From a command's record timestamp on the actions topic to its target's 2xx answer.",
            &m.delivery_latency,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::exposition::encode;

    #[test]
    fn every_family_is_exported_with_its_labels() -> Result<(), std::fmt::Error> {
        let m = Arc::new(ExecutorMetrics::default());
        ExecutorMetrics::add(&m.commands_total);
        ExecutorMetrics::add(&m.unconfirmed_total);
        m.delivered("webhook", "accepted");
        m.skip("not-opted-in");
        m.outcome("rejected");
        m.request(401);
        m.observe_delivery(Duration::from_millis(20));
        let text = encode(&registry(m.clone()))?;
        for line in [
            "jidoka_executor_commands_total 1",
            "jidoka_executor_unconfirmed_total 1",
            "jidoka_executor_deliveries_total{target=\"webhook\",result=\"accepted\"} 1",
            "jidoka_executor_skipped_total{reason=\"not-opted-in\"} 1",
            "jidoka_executor_outcomes_total{source=\"rejected\"} 1",
            "jidoka_executor_outcome_requests_total{code=\"401\"} 1",
            "jidoka_executor_delivery_latency_seconds_count 1",
            "jidoka_executor_delivery_latency_seconds_sum 0.02",
            "jidoka_executor_ready 0",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
        assert_eq!(m.deliveries("webhook", "accepted"), 1);
        assert_eq!(m.skipped("stale"), 0);
        Ok(())
    }
}
