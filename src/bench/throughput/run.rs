//! One benchmark run, start to end: broker, topic, ceiling, every case,
//! the restore, the report.
//!
//! Guarantees: every case reads the same predictions topic with a fresh
//! group, fresh output and changelog topics and a fresh state directory
//! (removed when the case ends); every topic is created on the mock broker
//! before the child that uses it starts; a case that did not process every
//! record, or a topic that lost records, fails the run instead of giving a
//! number.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use super::case::{Case, CaseSettings};
use super::error::BenchError;
use super::report::{tracked_values, CaseReport, Rate, RestoreReport, ThroughputReport};
use super::workload::Workload;
use super::{broker, ceiling, changelog_bytes, child, fill, restore};
use crate::config::Config;
use crate::schema::Codec;
use crate::state::{Cf, Store};

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThroughputOptions {
    /// Predictions.
    pub records: u64,
    /// Models.
    pub models: u32,
    /// Numeric features per prediction.
    pub features: u32,
    /// Partitions of every topic; `None`: sized for the mock broker.
    pub partitions: Option<i32>,
    /// `detect.window-size`.
    pub window: usize,
    /// Cases to run.
    pub cases: Vec<Case>,
    /// Seed of the generated records.
    pub seed: u64,
}

impl Default for ThroughputOptions {
    fn default() -> Self {
        ThroughputOptions {
            records: 1_000_000,
            models: 1_000,
            features: 10,
            partitions: None,
            window: 500,
            cases: Case::ALL.to_vec(),
            seed: 7,
        }
    }
}

/// Runs the benchmark; `say` receives progress lines (for stderr).
pub fn run_throughput(
    opts: &ThroughputOptions,
    say: &mut dyn FnMut(&str),
) -> Result<ThroughputReport, BenchError> {
    check(opts)?;
    let defaults = Config::defaults()?;
    let codec = Codec::new(defaults.schemas.ids)?;
    let workload = Workload {
        records: opts.records,
        models: opts.models,
        features: opts.features,
        seed: opts.seed,
    };
    let record_bytes = fill::average_record_bytes(&workload, &codec)?;
    let partitions = opts
        .partitions
        .unwrap_or_else(|| fill::partitions_for(opts.records, record_bytes));
    let per_model = workload.records_of(0) * (record_bytes + 24);
    if per_model > broker::MOCK_PARTITION_BYTES * 9 / 10 {
        return Err(BenchError::Usage(format!(
            "{} records per model ({per_model} B) do not fit one partition of the mock broker: use more --models or fewer --records",
            workload.records_of(0)
        )));
    }

    let broker = broker::Broker::start()?;
    let bootstrap = broker.bootstrap().to_string();
    let run_id = format!(
        "bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let predictions = format!("{run_id}-predictions");
    broker.create_topic(&predictions, partitions)?;
    say(&format!(
        "producing {} predictions ({record_bytes} B each) to {partitions} partitions of the mock broker at {bootstrap}",
        opts.records
    ));
    let filled = fill::fill(&bootstrap, &predictions, partitions, &workload, &codec)?;
    let produce = Rate::new(filled.records, filled.elapsed);
    say(&format!(
        "produced at {:.0} records/s; every record readable",
        produce.records_per_sec
    ));
    let read = ceiling::measure(&bootstrap, &predictions, partitions, opts.records)?;
    let ceiling = Rate::new(read.records, read.elapsed);
    say(&format!(
        "plain consumer: {:.0} records/s",
        ceiling.records_per_sec
    ));

    let empty_store = empty_store_bytes()?;
    let mut cases = Vec::new();
    let mut restore_report = None;
    for &case in &opts.cases {
        say(&format!("case {}: starting jidoka run", case.name()));
        let dir = tempfile::tempdir().map_err(BenchError::io("creating a case directory"))?;
        let data_dir = dir.path().join("state");
        let metrics = free_port()?;
        let http_address = metrics.to_string();
        let settings = CaseSettings {
            case,
            run_id: &run_id,
            bootstrap: &bootstrap,
            predictions: &predictions,
            partitions,
            window: opts.window,
            data_dir: &data_dir,
            http_address: &http_address,
        };
        let config_path = dir.path().join("jidoka.toml");
        std::fs::write(&config_path, settings.to_toml())
            .map_err(BenchError::io("writing a case config"))?;
        let cfg = Config::load(Some(&config_path))?.config;
        for spec in crate::kafka::topic_specs(&cfg) {
            if spec.name != predictions {
                broker.create_topic(&spec.name, spec.partitions)?;
            }
        }
        let ran = child::run_child(&child::ChildSpec {
            case: case.name(),
            config: &config_path,
            metrics,
            data_dir: &data_dir,
            log: dir.path().join("jidoka.log"),
            expected: opts.records,
            startup_limit: std::time::Duration::from_secs(120 + 3 * partitions.max(0) as u64),
        })?;
        if ran.progress.processed != opts.records {
            return Err(BenchError::Case {
                case: case.name(),
                reason: format!(
                    "processed {} records, dead-lettered {}, of {}",
                    ran.progress.processed, ran.progress.dead_lettered, opts.records
                ),
            });
        }
        let volume = if case.changelog() {
            let topics: Vec<String> = Cf::ALL
                .into_iter()
                .filter(|cf| cf.changelogged())
                .map(|cf| cfg.changelog_topic(cf.name()))
                .collect();
            changelog_bytes::measure(&bootstrap, &topics, partitions)?
        } else {
            changelog_bytes::ChangelogVolume::default()
        };
        let rate = Rate::new(ran.timed_records, ran.elapsed);
        let state_dir_bytes = ran.state_dir_bytes.saturating_sub(empty_store);
        let report = CaseReport {
            name: case.name().to_string(),
            changelog: case.changelog(),
            transactions: case.transactions(),
            records_processed: ran.progress.processed,
            dead_lettered: ran.progress.dead_lettered,
            drift_events: ran.progress.drift_events,
            startup_seconds: ran.startup.as_secs_f64(),
            ratio_to_ceiling: ratio(rate.records_per_sec, ceiling.records_per_sec),
            rate,
            peak_rss_bytes: ran.peak_rss_bytes,
            state_dir_bytes,
            changelog_records: volume.records,
            changelog_bytes: volume.bytes,
            changelog_records_estimated: volume.estimated_records,
            state_bytes_per_record: (state_dir_bytes + volume.bytes) as f64
                / opts.records.max(1) as f64,
            rss_bytes_per_tracked_value: ran.peak_rss_bytes.map(|rss| {
                rss as f64
                    / tracked_values(
                        opts.records,
                        opts.models,
                        opts.features,
                        cfg.detect.window_size,
                        cfg.detect.reference_size,
                    )
                    .max(1) as f64
            }),
            clean_exit: ran.clean_exit,
        };
        say(&format!(
            "case {}: {:.0} records/s ({:.4} of the ceiling)",
            case.name(),
            report.rate.records_per_sec,
            report.ratio_to_ceiling
        ));
        cases.push(report);
        if case.changelog() && restore_report.is_none() {
            let partition = busiest(&volume.per_partition);
            say(&format!(
                "restoring partition {partition} of case {} into a fresh store",
                case.name()
            ));
            let done = restore::restore_into_fresh_store(&cfg, partition)?;
            restore_report = Some(RestoreReport {
                case: case.name().to_string(),
                partition: done.partition,
                bytes: done.bytes,
                rate: Rate::new(done.records, done.elapsed),
            });
        }
    }
    Ok(ThroughputReport {
        records: opts.records,
        models: opts.models,
        features: opts.features,
        drifted_models: workload.drifted_models(),
        partitions,
        window: opts.window,
        reference: defaults.detect.reference_size,
        evaluate_every: defaults.detect.evaluate_every,
        record_bytes,
        produce,
        ceiling,
        cases,
        restore: restore_report,
    })
}

fn check(opts: &ThroughputOptions) -> Result<(), BenchError> {
    let bad = |m: &str| Err(BenchError::Usage(m.to_string()));
    if opts.records == 0 || opts.models == 0 || opts.features == 0 {
        return bad("--records, --models and --features must be at least 1");
    }
    if opts.window < 2 {
        return bad("--window must be at least 2");
    }
    if opts.partitions.is_some_and(|p| p < 1) {
        return bad("--partitions must be at least 1");
    }
    if opts.cases.is_empty() {
        return bad("no case to run");
    }
    Ok(())
}

fn ratio(rate: f64, ceiling: f64) -> f64 {
    if ceiling > 0.0 {
        rate / ceiling
    } else {
        0.0
    }
}

/// The partition with the most changelog records (0 if none).
fn busiest(per_partition: &[u64]) -> i32 {
    per_partition
        .iter()
        .enumerate()
        .max_by_key(|(p, n)| (**n, std::cmp::Reverse(*p)))
        .map_or(0, |(p, _)| p as i32)
}

/// Size of a freshly created store, the baseline of a case's growth.
fn empty_store_bytes() -> Result<u64, BenchError> {
    let dir = tempfile::tempdir().map_err(BenchError::io("creating a temp dir"))?;
    let path = dir.path().join("state");
    let store = Store::open(&path, true).map_err(|e| BenchError::Restore(e.into()))?;
    drop(store);
    Ok(child::dir_size(Path::new(&path)))
}

/// A loopback address nobody listens on (now).
fn free_port() -> Result<SocketAddr, BenchError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(BenchError::io("finding a free port"))?;
    listener
        .local_addr()
        .map_err(BenchError::io("finding a free port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_are_usage_errors() {
        let ok = ThroughputOptions::default();
        assert!(check(&ok).is_ok());
        for bad in [
            ThroughputOptions {
                records: 0,
                ..ok.clone()
            },
            ThroughputOptions {
                window: 1,
                ..ok.clone()
            },
            ThroughputOptions {
                partitions: Some(0),
                ..ok.clone()
            },
            ThroughputOptions {
                cases: vec![],
                ..ok.clone()
            },
        ] {
            assert!(matches!(check(&bad), Err(BenchError::Usage(_))), "{bad:?}");
        }
    }

    #[test]
    fn the_busiest_partition_is_restored() {
        assert_eq!(busiest(&[3, 9, 9, 1]), 1);
        assert_eq!(busiest(&[]), 0);
        assert_eq!(ratio(5.0, 0.0), 0.0);
    }
}
