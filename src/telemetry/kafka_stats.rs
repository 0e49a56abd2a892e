//! Consumer lag from librdkafka's statistics JSON (emitted every
//! `telemetry.statistics-interval`).
//!
//! Only what jidoka exports is read (`topics.*.partitions.*`: `partition`,
//! `desired`, `consumer_lag`), so fields added or removed by other
//! librdkafka versions do not matter. Guarantees: the internal "unassigned"
//! partition (-1), partitions this consumer does not want (revoked ones
//! still in librdkafka's cache) and unknown lags (-1: no committed offset or
//! high watermark yet) are left out.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One partition's consumer lag: the high watermark (last stable offset
/// with `read_committed`) minus the committed offset, in records.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartitionLag {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Records behind.
    pub lag: i64,
}

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    topics: BTreeMap<String, TopicStats>,
}

#[derive(Deserialize)]
struct TopicStats {
    #[serde(default)]
    partitions: BTreeMap<String, PartitionStats>,
}

#[derive(Deserialize)]
struct PartitionStats {
    partition: i32,
    #[serde(default)]
    desired: bool,
    #[serde(default = "unknown_lag")]
    consumer_lag: i64,
}

fn unknown_lag() -> i64 {
    -1
}

/// The known lags of the partitions this consumer wants, by topic and
/// partition. An error means the bytes are not librdkafka statistics.
pub fn consumer_lags(json: &[u8]) -> Result<Vec<PartitionLag>, serde_json::Error> {
    let stats: Stats = serde_json::from_slice(json)?;
    Ok(stats
        .topics
        .into_iter()
        .flat_map(|(topic, t)| {
            t.partitions
                .into_values()
                .filter(|p| p.partition >= 0 && p.desired && p.consumer_lag >= 0)
                .map(move |p| PartitionLag {
                    topic: topic.clone(),
                    partition: p.partition,
                    lag: p.consumer_lag,
                })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statistics of jidoka's group consumer (`consumer_config`, librdkafka
    /// 2.12.1) subscribed to three-partition `predictions` and `labels`
    /// topics on a tansu broker, after committing half of the records read
    /// on predictions partitions 0 and 2 and all of the others (indented,
    /// otherwise as librdkafka wrote it).
    const SAMPLE: &str = include_str!("testdata/consumer_stats.json");

    #[test]
    fn lags_of_wanted_partitions_with_known_lag() -> Result<(), serde_json::Error> {
        let mut lags = consumer_lags(SAMPLE.as_bytes())?;
        lags.sort();
        let got: Vec<(&str, i32, i64)> = lags
            .iter()
            .map(|l| (l.topic.as_str(), l.partition, l.lag))
            .collect();
        assert_eq!(
            got,
            vec![
                ("labels", 0, 0),
                ("labels", 1, 0),
                ("labels", 2, 0),
                ("predictions", 0, 21),
                ("predictions", 1, 0),
                ("predictions", 2, 43),
            ]
        );
        Ok(())
    }

    #[test]
    fn producer_statistics_have_no_lag() -> Result<(), serde_json::Error> {
        let json = r#"{"name":"rdkafka#producer-1","type":"producer","topics":{"t":{"topic":"t","partitions":{"0":{"partition":0,"desired":false,"consumer_lag":-1},"-1":{"partition":-1,"desired":false,"consumer_lag":-1}}}}}"#;
        assert!(consumer_lags(json.as_bytes())?.is_empty());
        Ok(())
    }

    #[test]
    fn not_statistics_is_an_error() {
        assert!(consumer_lags(b"not json").is_err());
        assert!(consumer_lags(br#"{"topics":{"t":{"partitions":{"0":{}}}}}"#).is_err());
        assert_eq!(consumer_lags(b"{}").ok(), Some(Vec::new()));
    }
}
