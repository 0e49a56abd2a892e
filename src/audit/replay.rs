//! Reading the audit topic back: replay (print, filtered), verify (hash
//! chains) and the versions of one decision (explain).
//!
//! Guarantees: a replay prints the records passing its [`Filter`], as an
//! aligned table (a header, then one row per record) or as JSON lines, in
//! its [`ReplayOrder`]: by decision time across partitions (by default;
//! following, within each batch that arrived before the read caught up),
//! or as read; with `latest`, after the whole topic is read, the latest
//! version of each decision by decision time. [`collect`] returns what a
//! replay from the beginning prints, in its order, for the exports. Read
//! errors and undecodable records behave as in [`read_topic`].

use std::io::Write;
use std::time::Duration;

use super::chain::{verify, ChainReport};
use super::filter::{select, Filter};
use super::format::{table_header, table_row, to_json_line};
use super::order::{by_time, Ordered, ReplayOrder};
use super::topic::{read_events, read_topic, ReadEvent, ReadMode};
use crate::config::Config;
use crate::schema::{AuditRecord, DriftEvent, SchemaError};

/// What to replay and how to print it.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Which records.
    pub filter: Filter,
    /// Only the latest version of each decision (what compaction keeps);
    /// reads the whole topic first, so it implies `from_beginning` and
    /// excludes `follow`.
    pub latest: bool,
    /// Start at the beginning of the topic and stop at its end (unless
    /// `follow`); without it the replay starts at the end and follows.
    pub from_beginning: bool,
    /// Keep reading new records after reaching the end.
    pub follow: bool,
    /// The order of the output (`latest` is always by time).
    pub order: ReplayOrder,
    /// JSON lines instead of the table.
    pub json: bool,
    /// A progress bar on stderr while reading to the end (terminal only).
    pub progress: bool,
}

/// Audit failures.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Kafka failed (external; retrying may help).
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Nothing arrived for too long before the end was reached (external).
    #[error("no record arrived for {0:?} before the end of the topic was reached")]
    Idle(Duration),
    /// The topic does not exist (the user's: wrong topic or cluster).
    #[error("topic `{0}` not found")]
    NoTopic(String),
    /// Schemas are broken (internal).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Writing the output failed (external).
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
    /// The options contradict each other (the user's).
    #[error("{0}")]
    Usage(String),
    /// No record of the decision is on the topic (the user's).
    #[error("decision `{id}` not found on audit topic `{topic}` ({read} records read)")]
    NotFound {
        /// Decision id or prefix asked for.
        id: String,
        /// Audit topic.
        topic: String,
        /// Records read.
        read: u64,
    },
    /// A decision id prefix names several decisions (the user's).
    #[error("`{id}` names {} decisions ({}); give more of the id", .matches.len(), .matches.join(", "))]
    Ambiguous {
        /// Prefix asked for.
        id: String,
        /// Decision ids it matches (the first few).
        matches: Vec<String>,
    },
}

/// Counts of a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Records read.
    pub read: u64,
    /// Records printed.
    pub printed: u64,
    /// Records read that did not decode.
    pub undecodable: u64,
}

/// Reads the audit topic and prints matching records to `out`.
pub fn replay(
    cfg: &Config,
    opts: &ReplayOptions,
    out: &mut dyn Write,
) -> Result<ReplayCounts, AuditError> {
    if opts.latest && opts.follow {
        return Err(AuditError::Usage(
            "--latest reads the whole topic once; it cannot --follow".into(),
        ));
    }
    if opts.latest && opts.order == ReplayOrder::Offset {
        return Err(AuditError::Usage(
            "--latest prints decisions by time; it cannot use --order offset".into(),
        ));
    }
    let mode = ReadMode {
        from_beginning: opts.from_beginning || opts.latest,
        follow: opts.follow,
        progress: opts.progress,
    };
    let print = |out: &mut dyn Write, r: &AuditRecord| -> Result<(), AuditError> {
        let line = if opts.json {
            to_json_line(r)
        } else {
            table_row(r)
        };
        writeln!(out, "{line}")?;
        Ok(())
    };
    if !opts.json {
        writeln!(out, "{}", table_header())?;
    }
    let mut counts = ReplayCounts::default();
    let topic = cfg.topics.audit.as_str();
    if opts.latest {
        let (kept, read) = collect(cfg, &opts.filter, true, opts.progress)?;
        counts = read;
        for r in &kept {
            print(out, r)?;
        }
    } else {
        let mut ordered = Ordered::new(opts.order);
        counts.undecodable = read_events(cfg, topic, mode, &mut |event| {
            let ready = match event {
                ReadEvent::Record(r) => {
                    counts.read += 1;
                    if !opts.filter.matches(&r) {
                        return Ok(());
                    }
                    ordered.push(r)
                }
                ReadEvent::CaughtUp => ordered.caught_up(),
            };
            for r in &ready {
                print(out, r)?;
            }
            counts.printed += ready.len() as u64;
            if opts.follow && !ready.is_empty() {
                out.flush()?;
            }
            Ok(())
        })?;
    }
    out.flush()?;
    Ok(counts)
}

/// Reads the whole audit topic (as it is when the read starts) and
/// returns the records passing `filter` (with `latest`, first the latest
/// version of each decision), by decision time, then decision id, then
/// version: what `audit replay --from-beginning` (with `latest`, `audit
/// replay --latest`) prints, in its order. The counts' `printed` is the
/// number of records returned.
pub fn collect(
    cfg: &Config,
    filter: &Filter,
    latest: bool,
    progress: bool,
) -> Result<(Vec<AuditRecord>, ReplayCounts), AuditError> {
    let mode = ReadMode {
        from_beginning: true,
        follow: false,
        progress,
    };
    let mut all = Vec::new();
    let undecodable = read_topic(cfg, &cfg.topics.audit, mode, &mut |r: AuditRecord| {
        all.push(r);
        Ok(())
    })?;
    let read = all.len() as u64;
    let mut kept = select(all, filter, latest);
    kept.sort_by(by_time);
    let counts = ReplayCounts {
        read,
        printed: kept.len() as u64,
        undecodable,
    };
    Ok((kept, counts))
}

/// Reads the whole audit topic and verifies every model's hash chain;
/// returns the reports and how many records did not decode.
pub fn verify_topic(cfg: &Config) -> Result<(Vec<ChainReport>, u64), AuditError> {
    let mut records = Vec::new();
    let undecodable = read_topic(cfg, &cfg.topics.audit, ReadMode::to_end(), &mut |r| {
        records.push(r);
        Ok(())
    })?;
    Ok((verify(records), undecodable))
}

/// Reads the audit topic (from its beginning to its end, or following new
/// records) and hands every decodable record to `on_record`; returns how
/// many records did not decode.
pub fn read(
    cfg: &Config,
    from_beginning: bool,
    follow: bool,
    on_record: &mut dyn FnMut(AuditRecord) -> Result<(), AuditError>,
) -> Result<u64, AuditError> {
    let mode = ReadMode {
        from_beginning,
        follow,
        progress: false,
    };
    read_topic(cfg, &cfg.topics.audit, mode, on_record)
}

/// Every version of the decision `id` (or of the one decision whose id
/// starts with `id`) on the audit topic, in version order.
pub fn decision_versions(cfg: &Config, id: &str) -> Result<Vec<AuditRecord>, AuditError> {
    let mut exact = Vec::new();
    let mut prefixed: std::collections::BTreeMap<String, Vec<AuditRecord>> = Default::default();
    let mut read = 0u64;
    read_topic(
        cfg,
        &cfg.topics.audit,
        ReadMode::to_end(),
        &mut |r: AuditRecord| {
            read += 1;
            if r.decision_id == id {
                exact.push(r);
            } else if !id.is_empty() && r.decision_id.starts_with(id) {
                prefixed.entry(r.decision_id.clone()).or_default().push(r);
            }
            Ok(())
        },
    )?;
    let mut versions = if !exact.is_empty() {
        exact
    } else if prefixed.len() > 1 {
        return Err(AuditError::Ambiguous {
            id: id.to_string(),
            matches: prefixed.keys().take(5).cloned().collect(),
        });
    } else if let Some((_, v)) = prefixed.pop_first() {
        v
    } else {
        return Err(AuditError::NotFound {
            id: id.to_string(),
            topic: cfg.topics.audit.clone(),
            read,
        });
    };
    versions.sort_by_key(|r| (r.version, r.sequence));
    versions.dedup();
    Ok(versions)
}

/// The drift events with these ids on the drift-events topic.
pub fn drift_events(cfg: &Config, ids: &[String]) -> Result<Vec<DriftEvent>, AuditError> {
    let mut found = Vec::new();
    if ids.is_empty() {
        return Ok(found);
    }
    read_topic(
        cfg,
        &cfg.topics.drift_events,
        ReadMode::to_end(),
        &mut |e: DriftEvent| {
            if ids.contains(&e.event_id) {
                found.push(e);
            }
            Ok(())
        },
    )?;
    Ok(found)
}
