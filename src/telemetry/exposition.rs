//! The metrics in Prometheus' OpenMetrics text format, encoded by the
//! `prometheus-client` crate from [`Metrics`] at every scrape.
//!
//! Every name starts with `jidoka_`. Counters end in `_total`. Latencies are
//! summary-style gauge families in seconds with a `quantile` label (0.5,
//! 0.9, 0.99, and 1 for the maximum) over every observation since start,
//! plus an `_observations_total` counter.
//!
//! Per-feature gauges (`feature_statistic`, `feature_p_value`) carry
//! `model`, `feature`, `kind` and `test` labels; their cap and the
//! aggregated `_other` series are [`super::features`]'. The encoder writes
//! an infinite value as `inf`, which OpenMetrics does not allow, so an
//! infinite statistic (a Z-score against a constant baseline) is exported
//! as the largest finite float of its sign; NaN stays `NaN`.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::features::{SeriesValue, Snapshot};
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

        encode_features(&mut encoder, &m.features.snapshot())?;

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

/// What a per-feature gauge family shows of a series.
type Value = fn(&SeriesValue) -> f64;

/// The per-feature gauge families and the dropped-series counter.
fn encode_features(
    encoder: &mut DescriptorEncoder,
    snapshot: &Snapshot,
) -> Result<(), std::fmt::Error> {
    let families: [(&str, &str, Value); 2] = [
        (
            "feature_statistic",
            "Latest test statistic per model and feature or metric (KS D, chi-square, Z-score; infinity as the largest float); model=\"_other\": the most significant series over telemetry.feature-series-limit.",
            |s| finite(s.statistic),
        ),
        (
            "feature_p_value",
            "Latest p-value per model and feature or metric; model=\"_other\": the smallest of the series over telemetry.feature-series-limit.",
            |s| s.p_value,
        ),
    ];
    for (name, help, value) in families {
        let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for s in snapshot.series.iter().chain(&snapshot.aggregated) {
            let labels = [
                ("model", s.model.as_str()),
                ("feature", s.feature.as_str()),
                ("kind", s.kind.as_str()),
                ("test", s.test.as_str()),
            ];
            ConstGauge::new(value(s)).encode(family.encode_family(&labels)?)?;
        }
    }
    ConstCounter::new(snapshot.dropped_total).encode(encoder.encode_descriptor(
        "feature_series_dropped",
        "Per-feature series refused by telemetry.feature-series-limit (shown in the model=\"_other\" series).",
        None,
        MetricType::Counter,
    )?)?;
    Ok(())
}

/// `v`, with ±infinity as the largest finite float of its sign.
fn finite(v: f64) -> f64 {
    if v.is_infinite() {
        f64::MAX.copysign(v)
    } else {
        v
    }
}

/// A quantile gauge family and its observation counter.
pub(crate) fn encode_latency(
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
    fn feature_gauges_under_the_cap() -> Result<(), std::fmt::Error> {
        use crate::schema::TestKind;
        use crate::telemetry::features::Latest;

        let m = Arc::new(Metrics::default());
        m.features.set_limit(2);
        let ks = |model, feature, statistic, p_value| Latest {
            partition: 0,
            model,
            kind: "covariate",
            feature,
            test: TestKind::Ks,
            statistic,
            p_value,
        };
        let z = |model, feature, statistic, p_value| Latest {
            kind: "anomaly",
            test: TestKind::ZScore,
            ..ks(model, feature, statistic, p_value)
        };
        m.features.update([
            ks("churn-v7", "tenure \"days\"", 0.125, 0.0003),
            z("churn-v7", "score_mean", f64::INFINITY, 0.0),
            ks("fraud-v3", "amount", 0.0625, 0.5),
            ks("fraud-v3", "hour", 0.25, f64::NAN),
            z("fraud-v3", "latency", f64::NEG_INFINITY, 0.0),
        ]);
        let text = encode(&registry(m))?;
        assert!(
            text.contains("# TYPE jidoka_feature_statistic gauge"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE jidoka_feature_p_value gauge"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE jidoka_feature_series_dropped counter"),
            "{text}"
        );
        let series = |name: &str, model: &str, feature: &str, kind: &str, test: &str| {
            format!(
                "jidoka_{name}{{model=\"{model}\",feature=\"{feature}\",kind=\"{kind}\",test=\"{test}\"}}"
            )
        };
        let checks = [
            (
                series(
                    "feature_statistic",
                    "churn-v7",
                    "tenure \\\"days\\\"",
                    "covariate",
                    "ks",
                ),
                0.125,
            ),
            (
                series(
                    "feature_p_value",
                    "churn-v7",
                    "tenure \\\"days\\\"",
                    "covariate",
                    "ks",
                ),
                0.0003,
            ),
            (
                series(
                    "feature_statistic",
                    "churn-v7",
                    "score_mean",
                    "anomaly",
                    "zscore",
                ),
                f64::MAX,
            ),
            (
                series(
                    "feature_p_value",
                    "churn-v7",
                    "score_mean",
                    "anomaly",
                    "zscore",
                ),
                0.0,
            ),
            // Over the cap: the most significant refused series per test.
            (
                series("feature_statistic", "_other", "_other", "covariate", "ks"),
                0.0625,
            ),
            (
                series("feature_p_value", "_other", "_other", "covariate", "ks"),
                0.5,
            ),
            (
                series("feature_statistic", "_other", "_other", "anomaly", "zscore"),
                f64::MIN,
            ),
            ("jidoka_feature_series_dropped_total".to_string(), 3.0),
        ];
        for (series, want) in checks {
            assert_eq!(sample(&text, &series), Some(want), "{series}: {text}");
        }
        let samples: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("jidoka_feature_statistic{"))
            .collect();
        assert_eq!(samples.len(), 4, "2 own + 2 aggregated: {text}");
        assert!(!text.contains("fraud-v3"), "{text}");
        // Every sample value is one OpenMetrics accepts.
        for line in text.lines().filter(|l| l.starts_with("jidoka_feature_")) {
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(
                !value.contains("inf") && value.parse::<f64>().is_ok(),
                "{line}"
            );
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
