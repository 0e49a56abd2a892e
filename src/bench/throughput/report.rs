//! The benchmark's report: its numbers, the readable table printed by
//! default and the JSON object printed with `--json`.
//!
//! Guarantees: rendering is pure; the JSON has one key per field below
//! (snake case), `cases` in run order, and `restore` null when no case
//! had a changelog; a rate over no time is 0, never infinite or NaN.

use std::fmt::Write;
use std::time::Duration;

use serde::Serialize;

/// Records over a span of time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Records counted.
    pub records: u64,
    /// Span, seconds.
    pub seconds: f64,
    /// `records / seconds` (0 when the span is 0).
    pub records_per_sec: f64,
}

impl Rate {
    /// The rate of `records` over `elapsed`.
    pub fn new(records: u64, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64();
        Rate {
            records,
            seconds,
            records_per_sec: if seconds > 0.0 {
                records as f64 / seconds
            } else {
                0.0
            },
        }
    }
}

/// One pipeline case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseReport {
    /// `changelog`, `no-changelog` or `transactions`.
    pub name: String,
    /// Changelog on.
    pub changelog: bool,
    /// Kafka transactions on.
    pub transactions: bool,
    /// `records_processed_total` at the end.
    pub records_processed: u64,
    /// `records_dead_lettered_total` at the end.
    pub dead_lettered: u64,
    /// `drift_events_total` at the end.
    pub drift_events: u64,
    /// From process start to the first processed record, seconds.
    pub startup_seconds: f64,
    /// Records processed from the first to the last, over that span.
    pub rate: Rate,
    /// `rate` over the plain consumer's rate.
    pub ratio_to_ceiling: f64,
    /// Peak resident set of the process (VmHWM), bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Growth of the RocksDB directory, bytes.
    pub state_dir_bytes: u64,
    /// Changelog records written.
    pub changelog_records: u64,
    /// Changelog key and value bytes written.
    pub changelog_bytes: u64,
    /// Changelog records whose size was estimated (dropped by the mock).
    pub changelog_records_estimated: u64,
    /// (RocksDB growth + changelog bytes) per processed record.
    pub state_bytes_per_record: f64,
    /// Peak RSS per value the detectors hold at the end (see [`tracked_values`]).
    pub rss_bytes_per_tracked_value: Option<f64>,
    /// The process exited 0 after SIGTERM.
    pub clean_exit: bool,
}

/// The restore of one partition from a case's changelog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreReport {
    /// Case whose changelog was read.
    pub case: String,
    /// Partition restored.
    pub partition: i32,
    /// Bytes of changelog keys and values read.
    pub bytes: u64,
    /// Changelog records read, over the restore's wall time.
    pub rate: Rate,
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThroughputReport {
    /// Predictions on the topic.
    pub records: u64,
    /// Models.
    pub models: u32,
    /// Numeric features per prediction.
    pub features: u32,
    /// Models with planted drift.
    pub drifted_models: u32,
    /// Partitions of every topic.
    pub partitions: i32,
    /// `detect.window-size`.
    pub window: usize,
    /// `detect.reference-size`.
    pub reference: usize,
    /// `detect.evaluate-every`.
    pub evaluate_every: u64,
    /// Mean key + value bytes of a prediction.
    pub record_bytes: u64,
    /// Encoding and producing the topic.
    pub produce: Rate,
    /// The plain consumer (the ceiling).
    pub ceiling: Rate,
    /// The pipeline cases, in run order.
    pub cases: Vec<CaseReport>,
    /// The restore, if a case had a changelog.
    pub restore: Option<RestoreReport>,
}

/// Values the detectors hold after `records` predictions spread evenly over
/// `models`: models × features × min(records per model, window + reference).
pub fn tracked_values(
    records: u64,
    models: u32,
    features: u32,
    window: usize,
    reference: usize,
) -> u64 {
    let per_model = records / u64::from(models.max(1));
    u64::from(models) * u64::from(features) * per_model.min(window as u64 + reference as u64)
}

/// The JSON object of `--json`.
pub fn to_json(report: &ThroughputReport) -> serde_json::Value {
    serde_json::to_value(report).unwrap_or(serde_json::Value::Null)
}

fn thousands(v: f64) -> String {
    let n = v.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("-".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0))
}

/// The readable table.
pub fn to_table(r: &ThroughputReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "throughput: {} records, {} models x {} features ({} with drift), {} partitions; window {}, reference {}, evaluate every {}",
        thousands(r.records as f64),
        r.models,
        r.features,
        r.drifted_models,
        r.partitions,
        r.window,
        r.reference,
        r.evaluate_every
    );
    let _ = writeln!(
        s,
        "broker: librdkafka mock cluster in this process; {} B per record; produced at {} records/s",
        r.record_bytes,
        thousands(r.produce.records_per_sec)
    );
    let _ = writeln!(
        s,
        "{:<24} {:>10} {:>9} {:>11} {:>8} {:>11} {:>12} {:>9}",
        "case",
        "records/s",
        "ratio",
        "processed",
        "seconds",
        "peak RSS",
        "state B/rec",
        "RSS B/val"
    );
    let _ = writeln!(
        s,
        "{:<24} {:>10} {:>9.4} {:>11} {:>8.2} {:>11} {:>12} {:>9}",
        "plain consumer (ceiling)",
        thousands(r.ceiling.records_per_sec),
        1.0,
        r.ceiling.records,
        r.ceiling.seconds,
        "-",
        "-",
        "-"
    );
    for c in &r.cases {
        let _ = writeln!(
            s,
            "{:<24} {:>10} {:>9.4} {:>11} {:>8.2} {:>11} {:>12.0} {:>9}",
            c.name,
            thousands(c.rate.records_per_sec),
            c.ratio_to_ceiling,
            c.records_processed,
            c.rate.seconds,
            mib(c.peak_rss_bytes),
            c.state_bytes_per_record,
            c.rss_bytes_per_tracked_value
                .map_or("-".into(), |v| format!("{v:.1}")),
        );
    }
    for c in &r.cases {
        let estimated = if c.changelog_records_estimated > 0 {
            format!(
                " ({} dropped by the mock, sized at their partition's mean)",
                c.changelog_records_estimated
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "  {}: RocksDB +{:.1} MiB, changelog {} records / {:.1} MiB{estimated}; {} drift events; start-up {:.1} s{}",
            c.name,
            c.state_dir_bytes as f64 / 1048576.0,
            c.changelog_records,
            c.changelog_bytes as f64 / 1048576.0,
            c.drift_events,
            c.startup_seconds,
            if c.clean_exit { "" } else { "; did NOT exit cleanly on SIGTERM" }
        );
    }
    match &r.restore {
        Some(x) => {
            let _ = writeln!(
                s,
                "restore: partition {} of `{}` into a fresh store: {} changelog records ({} bytes) in {:.2} s = {} records/s",
                x.partition,
                x.case,
                x.rate.records,
                x.bytes,
                x.rate.seconds,
                thousands(x.rate.records_per_sec)
            );
        }
        None => {
            let _ = writeln!(s, "restore: not measured (no case with a changelog)");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ThroughputReport {
        ThroughputReport {
            records: 3_000,
            models: 10,
            features: 3,
            drifted_models: 1,
            partitions: 4,
            window: 500,
            reference: 1_000,
            evaluate_every: 250,
            record_bytes: 140,
            produce: Rate::new(3_000, Duration::from_millis(10)),
            ceiling: Rate::new(3_000, Duration::from_millis(20)),
            cases: vec![CaseReport {
                name: "changelog".into(),
                changelog: true,
                transactions: false,
                records_processed: 3_000,
                dead_lettered: 0,
                drift_events: 2,
                startup_seconds: 3.5,
                rate: Rate::new(2_500, Duration::from_secs(1)),
                ratio_to_ceiling: 2_500.0 / 150_000.0,
                peak_rss_bytes: Some(64 << 20),
                state_dir_bytes: 1 << 20,
                changelog_records: 900,
                changelog_bytes: 2 << 20,
                changelog_records_estimated: 0,
                state_bytes_per_record: 1048.6,
                rss_bytes_per_tracked_value: Some(2236.9),
                clean_exit: true,
            }],
            restore: None,
        }
    }

    #[test]
    fn rates_never_divide_by_zero() {
        assert_eq!(Rate::new(10, Duration::ZERO).records_per_sec, 0.0);
        assert_eq!(Rate::new(10, Duration::from_secs(2)).records_per_sec, 5.0);
        assert_eq!(tracked_values(2_000_000, 1_000, 10, 500, 1_000), 15_000_000);
        assert_eq!(tracked_values(200_000, 1_000, 10, 500, 1_000), 2_000_000);
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }

    #[test]
    fn json_has_the_documented_shape() {
        let v = to_json(&sample());
        assert_eq!(v["records"], 3_000);
        assert_eq!(v["ceiling"]["records_per_sec"], 150_000.0);
        let case = &v["cases"][0];
        assert_eq!(case["name"], "changelog");
        assert_eq!(case["records_processed"], 3_000);
        assert_eq!(case["rate"]["records_per_sec"], 2_500.0);
        assert!(case["ratio_to_ceiling"].as_f64().is_some_and(|r| r > 0.0));
        assert_eq!(case["peak_rss_bytes"], 64 << 20);
        assert!(v["restore"].is_null());
        let mut with_restore = sample();
        with_restore.restore = Some(RestoreReport {
            case: "changelog".into(),
            partition: 2,
            bytes: 40,
            rate: Rate::new(900, Duration::from_millis(300)),
        });
        assert_eq!(to_json(&with_restore)["restore"]["partition"], 2);
    }

    #[test]
    fn the_table_has_one_line_per_case_and_the_restore() {
        let text = to_table(&sample());
        let row = |start: &str| -> Vec<String> {
            text.lines()
                .find(|l| l.starts_with(start))
                .map(|l| {
                    l[start.len()..]
                        .split_whitespace()
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(row("plain consumer (ceiling)")[..2], ["150,000", "1.0000"]);
        assert_eq!(
            row("changelog ")[..7],
            ["2,500", "0.0167", "3000", "1.00", "64", "MiB", "1049"]
        );
        assert!(text.contains("64 MiB"), "{text}");
        assert!(text.contains("restore: not measured"), "{text}");
        assert!(!text.contains("did NOT exit"), "{text}");
    }
}
