//! The metrics in Prometheus' OpenMetrics text format, encoded by the
//! `prometheus-client` crate from [`Metrics`] at every scrape.
//!
//! Every name starts with `jidoka_` and names its unit where it has one
//! (`_seconds`, `_records`). Counters end in `_total`. What varies (topic,
//! action, model, kind) is a label of one family, never part of a name.
//! Latencies are histograms in seconds (`_bucket{le}`, `_sum`, `_count`,
//! buckets of [`super::latency`]) over every observation since start.
//!
//! Per-model gauges (`model_open_alerts{model,kind}`,
//! `model_commands_last_hour{model}`) are [`super::models`]'.
//!
//! Per-feature gauges (`feature_statistic`, `feature_p_value`) carry
//! `model`, `feature`, `kind` and `test` labels; their cap and the
//! aggregated `_other` series are [`super::features`]'. The encoder writes
//! an infinite value as `inf`, which OpenMetrics does not allow, so an
//! infinite statistic (a Z-score against a constant baseline) is exported
//! as the largest finite float of its sign; NaN stays `NaN`.

use std::sync::Arc;
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::features::{SeriesValue, Snapshot};
use super::latency::Latency;
use super::metrics::Metrics;
use super::models::ModelValues;

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
                "records_in",
                "Input records read from Kafka, per topic.",
                m.records_in_by_topic(),
            ),
            (
                "records_out",
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
            "decisions",
            "Decisions taken (audit records published), per final action and decision source.",
            None,
            MetricType::Counter,
        )?;
        for ((action, source), value) in m.decisions_by_action() {
            let labels = [("action", action), ("source", source)];
            ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
        }

        let mut family = encoder.encode_descriptor(
            "consumer_lag_records",
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

        encode_models(&mut encoder, &m.models.snapshot(Instant::now()))?;
        encode_features(&mut encoder, &m.features.snapshot())?;

        encode_latency(
            &mut encoder,
            "detect_latency",
            "Time to process one input record (windows, and the drift tests when an evaluation is due).",
            m.detect_latency(),
        )?;
        encode_latency(
            &mut encoder,
            "decision_latency",
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

/// The per-model gauge families.
fn encode_models(
    encoder: &mut DescriptorEncoder,
    models: &[ModelValues],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(
        "model_open_alerts",
        "Alerts open per model and kind (covariate: one per drifted feature; anomaly: one per metric; concept: accuracy), as of the latest evaluation this instance acknowledged.",
        None,
        MetricType::Gauge,
    )?;
    for m in models {
        for (kind, open) in &m.open_alerts {
            let labels = [("model", m.model.as_str()), ("kind", kind.as_str())];
            let open = i64::try_from(*open).unwrap_or(i64::MAX);
            ConstGauge::new(open).encode(family.encode_family(&labels)?)?;
        }
    }
    let mut family = encoder.encode_descriptor(
        "model_commands_last_hour",
        "Heal commands published per model in the last hour (wall clock, from their acknowledgement).",
        None,
        MetricType::Gauge,
    )?;
    for m in models {
        let labels = [("model", m.model.as_str())];
        let n = i64::try_from(m.commands_last_hour).unwrap_or(i64::MAX);
        ConstGauge::new(n).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A latency histogram family `<name>_seconds`.
pub(crate) fn encode_latency(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    latency: &Latency,
) -> Result<(), std::fmt::Error> {
    let unit = Unit::Seconds;
    latency.histogram().encode(encoder.encode_descriptor(
        name,
        help,
        Some(&unit),
        MetricType::Histogram,
    )?)
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
            ("jidoka_drift_events_total", 2.0),
            ("jidoka_records_dead_lettered_total", 1.0),
            ("jidoka_records_in_total{topic=\"predictions\"}", 2.0),
            ("jidoka_records_in_total{topic=\"labels\"}", 1.0),
            ("jidoka_records_out_total{topic=\"audit\"}", 1.0),
            (
                "jidoka_decisions_total{action=\"retrain\",source=\"rules\"}",
                1.0,
            ),
            (
                "jidoka_consumer_lag_records{topic=\"predictions\",partition=\"2\"}",
                17.0,
            ),
            ("jidoka_broker_reachable", 0.0),
            ("jidoka_ready", 0.0),
            ("jidoka_detect_latency_seconds_count", 0.0),
            ("jidoka_detect_latency_seconds_sum", 0.0),
        ];
        for (series, want) in checks {
            assert_eq!(sample(&text, series), Some(want), "{series}: {text}");
        }
        // One family per name: the labelled ones have no unlabelled twin.
        for name in ["records_in", "decisions"] {
            assert_eq!(
                sample(&text, &format!("jidoka_{name}_total")),
                None,
                "{text}"
            );
        }
        let mut types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        let n = types.len();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), n, "a family declared twice: {text}");
        assert!(
            !text.contains("_by_topic") && !text.contains("_by_action"),
            "{text}"
        );
        Ok(())
    }

    #[test]
    fn per_model_gauges() -> Result<(), std::fmt::Error> {
        use crate::telemetry::models::AlertState;

        let m = Arc::new(Metrics::default());
        let alert = |model, kind, name, open| AlertState {
            partition: 0,
            model,
            kind,
            name,
            open,
        };
        m.models.set_alerts([
            alert("churn-v7", "covariate", "tenure", true),
            alert("churn-v7", "covariate", "income", true),
            alert("churn-v7", "concept", "accuracy", true),
            alert("fraud-v3", "anomaly", "score_mean", false),
        ]);
        m.models.record_command("churn-v7", 0, Instant::now());
        let text = encode(&registry(m))?;
        assert!(
            text.contains("# TYPE jidoka_model_open_alerts gauge"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE jidoka_model_commands_last_hour gauge"),
            "{text}"
        );
        let checks = [
            (
                "jidoka_model_open_alerts{model=\"churn-v7\",kind=\"covariate\"}",
                2.0,
            ),
            (
                "jidoka_model_open_alerts{model=\"churn-v7\",kind=\"concept\"}",
                1.0,
            ),
            (
                "jidoka_model_open_alerts{model=\"churn-v7\",kind=\"anomaly\"}",
                0.0,
            ),
            (
                "jidoka_model_open_alerts{model=\"fraud-v3\",kind=\"anomaly\"}",
                0.0,
            ),
            ("jidoka_model_commands_last_hour{model=\"churn-v7\"}", 1.0),
            ("jidoka_model_commands_last_hour{model=\"fraud-v3\"}", 0.0),
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
    fn latencies_are_histograms_in_seconds() -> Result<(), std::fmt::Error> {
        let m = Arc::new(Metrics::default());
        for ms in 1..=100u64 {
            m.observe_decision_latency(Duration::from_millis(ms));
        }
        let text = encode(&registry(m))?;
        for name in ["decision", "detect"] {
            let family = format!("jidoka_{name}_latency_seconds");
            assert!(
                text.contains(&format!("# TYPE {family} histogram")),
                "{text}"
            );
            assert!(text.contains(&format!("# UNIT {family} seconds")), "{text}");
        }
        let bucket = |le: &str| {
            sample(
                &text,
                &format!("jidoka_decision_latency_seconds_bucket{{le=\"{le}\"}}"),
            )
        };
        // 10 µs · 2^k: 0.00512 s holds 5 ms, 0.08192 s 81 ms, 0.16384 s all.
        assert_eq!(bucket("0.00512"), Some(5.0), "{text}");
        assert_eq!(bucket("0.08192"), Some(81.0), "{text}");
        assert_eq!(bucket("0.16384"), Some(100.0), "{text}");
        assert_eq!(bucket("+Inf"), Some(100.0), "{text}");
        let buckets = text
            .lines()
            .filter(|l| l.starts_with("jidoka_decision_latency_seconds_bucket{"))
            .count();
        assert_eq!(
            buckets,
            usize::from(crate::telemetry::latency::BUCKET_COUNT) + 1
        );
        assert_eq!(
            sample(&text, "jidoka_decision_latency_seconds_count"),
            Some(100.0)
        );
        let sum = sample(&text, "jidoka_decision_latency_seconds_sum").unwrap_or(f64::NAN);
        assert!((sum - 5.05).abs() < 1e-9, "{sum}");
        assert_eq!(
            sample(&text, "jidoka_detect_latency_seconds_count"),
            Some(0.0)
        );
        Ok(())
    }
}
