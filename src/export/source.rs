//! The Kafka side of the exports: read a topic to its end, filter, order,
//! write.
//!
//! Guarantees: an audit export holds exactly the records `audit replay
//! --from-beginning --json` (with `latest`, `audit replay --latest --json`)
//! prints with the same filters, in the same order, one row each (a
//! re-delivered copy is a row too, as it is a line there); a drift export
//! holds every drift event on the topic when the read starts that passes
//! its [`DriftFilter`], ordered by [`by_time`]. Nothing is written when
//! reading fails.

use std::path::Path;

use super::error::ExportError;
use super::filter::{by_time, DriftFilter};
use super::rows::{audit_layout, drift_layout};
use super::write::{write_table, Format};
use crate::audit::{collect, read_topic, Filter, ReadMode};
use crate::config::Config;
use crate::schema::DriftEvent;

/// Where and how to write an export.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// File to write (replaced atomically).
    pub out: &'a Path,
    /// Its format.
    pub format: Format,
    /// A progress bar on stderr while reading (terminal only).
    pub progress: bool,
}

/// What an export did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportCounts {
    /// Records read from the topic.
    pub read: u64,
    /// Rows written.
    pub rows: u64,
    /// Records read that did not decode (reported on stderr, skipped).
    pub undecodable: u64,
}

/// Writes the audit records passing `filter` (with `latest`, the latest
/// version of each decision) as one row each.
pub fn export_audit(
    cfg: &Config,
    filter: &Filter,
    latest: bool,
    target: &Target<'_>,
) -> Result<ExportCounts, ExportError> {
    let (records, counts) = collect(cfg, filter, latest, target.progress)?;
    let layout = audit_layout();
    let rows = write_table(
        target.out,
        target.format,
        &layout.columns(),
        &mut records.iter().map(|r| layout.row(r)),
    )?;
    Ok(ExportCounts {
        read: counts.read,
        rows,
        undecodable: counts.undecodable,
    })
}

/// Writes the drift events passing `filter` as one row each.
pub fn export_drift(
    cfg: &Config,
    filter: &DriftFilter,
    target: &Target<'_>,
) -> Result<ExportCounts, ExportError> {
    let mode = ReadMode {
        from_beginning: true,
        follow: false,
        progress: target.progress,
    };
    let mut events = Vec::new();
    let mut read = 0u64;
    let undecodable = read_topic(cfg, &cfg.topics.drift_events, mode, &mut |e: DriftEvent| {
        read += 1;
        if filter.matches(&e) {
            events.push(e);
        }
        Ok(())
    })?;
    events.sort_by(by_time);
    let layout = drift_layout();
    let rows = write_table(
        target.out,
        target.format,
        &layout.columns(),
        &mut events.iter().map(|e| layout.row(e)),
    )?;
    Ok(ExportCounts {
        read,
        rows,
        undecodable,
    })
}
