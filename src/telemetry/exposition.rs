//! The metrics in Prometheus' OpenMetrics text format, encoded by the
//! `prometheus-client` crate from [`Metrics`] at every scrape.
//!
//! Every name starts with `jidoka_`. Counters end in `_total`. Latencies are
//! summary-style gauge families in seconds with a `quantile` label (0.5,
//! 0.9, 0.99, and 1 for the maximum) over every observation since start,
//! plus an `_observations_total` counter.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::latency::Latency;
use super::metrics::Metrics;

/// Prefix of every metric name.
pub const PREFIX: &str = "jidoka";
/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Reads [`Metrics`] at every scrape.
#[derive(Debug)]
struct MetricsCollector(Arc<Metrics>);

/// A registry exporting `metrics`.
pub fn registry(metrics: Arc<Metrics>) -> Registry {
    let mut registry = Registry::with_prefix(PREFIX);
    registry.register_collector(Box::new(MetricsCollector(metrics)));
    registry
}

/// The whole exposition, `# EOF` included.
pub fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}

impl Collector for MetricsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        for (name, help, value) in m.counters() {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, MetricType::Counter)?)?;
        }
        let gauges = [
            (
                "broker_reachable",
                "1 while a broker is reachable (assignment or records since the last all-brokers-down report).",
                i64::from(Metrics::is(&m.broker_reachable)),
            ),
            (
                "ready",
                "1 when partitions are assigned, their state restored and a broker reachable (GET /health).",
                i64::from(m.ready().is_ok()),
            ),
            (
                "partitions_assigned",
                "Partitions currently assigned to this instance.",
                i64::try_from(m.readiness.owned()).unwrap_or(i64::MAX),
            ),
        ];
        for (name, help, value) in gauges {
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }

        let by_topic = [
            (
                "records_in_by_topic",
                "Input records read, per topic.",
                m.records_in_by_topic(),
            ),
            (
                "records_out_by_topic",
                "Output records acknowledged by the broker (outputs, dead letters, changelog), per topic.",
                m.records_out_by_topic(),
            ),
        ];
        for (name, help, values) in by_topic {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (topic, value) in values {
                let labels = [("topic", topic)];
                ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
            }
        }

        let mut family = encoder.encode_descriptor(
            "decisions_by_action",
            "Decisions taken, per final action and decision source.",
            None,
            MetricType::Counter,
        )?;
        for ((action, source), value) in m.decisions_by_action() {
            let labels = [("action", action), ("source", source)];
            ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
        }

        let mut family = encoder.encode_descriptor(
            "consumer_lag",
            "Records between the high watermark and the committed offset, per assigned partition (librdkafka statistics).",
            None,
            MetricType::Gauge,
        )?;
        for lag in m.consumer_lags() {
            let labels = [
                ("topic", lag.topic),
                ("partition", lag.partition.to_string()),
            ];
            ConstGauge::new(lag.lag).encode(family.encode_family(&labels)?)?;
        }

        encode_latency(
            &mut encoder,
            "detect_latency_seconds",
            "Time to process one input record (windows, and the drift tests when an evaluation is due).",
            m.detect_latency(),
        )?;
        encode_latency(
            &mut encoder,
            "decision_latency_seconds",
            "Time to process an input record that led to a decision (evaluation and decision).",
            m.decision_latency(),
        )?;
        Ok(())
    }
}

/// A quantile gauge family and its observation counter.
fn encode_latency(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    latency: &Latency,
) -> Result<(), std::fmt::Error> {
    let q = latency.quantiles();
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (quantile, seconds) in q.values {
        let labels = [("quantile", quantile.to_string())];
        ConstGauge::new(seconds).encode(family.encode_family(&labels)?)?;
    }
    let count_name = format!("{}_observations", name.trim_end_matches("_seconds"));
    let help = format!("Observations in {PREFIX}_{name}.");
    ConstCounter::new(q.count).encode(encoder.encode_descriptor(
        &count_name,
        &help,
        None,
        MetricType::Counter,
    )?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::telemetry::kafka_stats::PartitionLag;

    /// The value of the sample `series` (name and labels exactly as
    /// written) in an exposition.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    }

    #[test]
    fn every_counter_and_family_is_exported() -> Result<(), std::fmt::Error> {
        let m = Arc::new(Metrics::default());
        m.count_in(["predictions", "predictions", "labels"]);
        m.count_out(["audit"]);
        Metrics::add(&m.drift_events_total, 2);
        Metrics::add(&m.records_dead_lettered_total, 1);
        m.record_decision("retrain", "rules");
        m.set_consumer_lags(vec![PartitionLag {
            topic: "predictions".into(),
            partition: 2,
            lag: 17,
        }]);
        let text = encode(&registry(m.clone()))?;
        assert!(text.ends_with("# EOF\n"), "{text}");
        for (name, _, _) in m.counters() {
            assert!(
                text.contains(&format!("# TYPE jidoka_{name} counter")),
                "{name}: {text}"
            );
        }
        let checks = [
            ("jidoka_records_in_total", 3.0),
            ("jidoka_drift_events_total", 2.0),
            ("jidoka_records_dead_lettered_total", 1.0),
            (
                "jidoka_records_in_by_topic_total{topic=\"predictions\"}",
                2.0,
            ),
            ("jidoka_records_in_by_topic_total{topic=\"labels\"}", 1.0),
            ("jidoka_records_out_by_topic_total{topic=\"audit\"}", 1.0),
            (
                "jidoka_decisions_by_action_total{action=\"retrain\",source=\"rules\"}",
                1.0,
            ),
            (
                "jidoka_consumer_lag{topic=\"predictions\",partition=\"2\"}",
                17.0,
            ),
            ("jidoka_broker_reachable", 0.0),
            ("jidoka_ready", 0.0),
            ("jidoka_detect_latency_observations_total", 0.0),
        ];
        for (series, want) in checks {
            assert_eq!(sample(&text, series), Some(want), "{series}: {text}");
        }
        Ok(())
    }

    #[test]
    fn latency_quantiles_from_hdrhistogram() -> Result<(), std::fmt::Error> {
        let m = Arc::new(Metrics::default());
        for ms in 1..=100u64 {
            m.observe_decision_latency(Duration::from_millis(ms));
        }
        let text = encode(&registry(m))?;
        assert!(text.contains("# TYPE jidoka_decision_latency_seconds gauge"));
        let want = [
            ("0.5", 0.050),
            ("0.9", 0.090),
            ("0.99", 0.099),
            ("1", 0.100),
        ];
        for (q, want) in want {
            let series = format!("jidoka_decision_latency_seconds{{quantile=\"{q}\"}}");
            let got = sample(&text, &series).unwrap_or(f64::NAN);
            assert!(
                (got - want).abs() <= want * 1e-3,
                "{series} = {got}: {text}"
            );
        }
        assert_eq!(
            sample(&text, "jidoka_decision_latency_observations_total"),
            Some(100.0)
        );
        // No detection observed yet: the quantiles are NaN, not zero.
        let nan = sample(&text, "jidoka_detect_latency_seconds{quantile=\"0.5\"}");
        assert!(nan.is_some_and(f64::is_nan), "{text}");
        Ok(())
    }
}
