//! The HTML report (`jidoka report`): one self-contained page per run,
//! built from the drift-events, audit and evaluations topics, that shows
//! per model how drift developed (every evaluation, baseline included),
//! what was decided, by whom, how sure the bandit was and what the actions
//! achieved, over a selected time range.
//!
//! - `select`: which model and time range a report covers.
//! - `history`: evaluation records folded into compact per-series points.
//! - `data`: gathering and shaping the records (pure, but for [`gather`]).
//! - `envelope`: downsampling a series to pixel columns (min/max envelope).
//! - `svg`: a small chart kit (scales, axes, lines, envelopes, markers, bars).
//! - `drift`: the drift charts of one series.
//! - `html`: the page.
//!
//! Guarantees: the file written is complete or not written at all (a
//! temporary file renamed into place); it references nothing outside
//! itself.

mod data;
mod drift;
pub mod envelope;
mod history;
mod html;
mod scale;
mod select;
pub mod svg;

use std::path::Path;

pub use data::{
    gather, DecisionPoint, DriftPoint, DriftSeries, Evaluation, ModelReport, OperatorRow,
    OutcomePoint, ReportData,
};
pub use history::{alert_spans, EvaluationHistory, HistoryPoint, SeriesHistory, Transition};
pub use html::{action_color, render, source_color};
pub use select::{RangeError, Selection};

use crate::audit::AuditError;
use crate::config::Config;

/// Report failures.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading the topics failed.
    #[error(transparent)]
    Read(#[from] AuditError),
    /// Writing the file failed (external, or the user's path).
    #[error("writing {path}: {source}")]
    Write {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Writes `html` to `out` atomically (a temporary file in the same
/// directory, renamed into place).
pub fn write_atomically(out: &Path, html: &str) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: out.display().to_string(),
        source,
    };
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(err)?;
    std::io::Write::write_all(&mut tmp, html.as_bytes()).map_err(err)?;
    // A report is for sharing: readable by all, like a file the user
    // creates (the temporary file is private until now).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(err)?;
    }
    tmp.persist(out).map_err(|e| err(e.error))?;
    Ok(())
}

/// Reads the topics, renders the report of what `selection` wants as of
/// `generated_at` (ms) and writes it to `out`.
pub fn write_report(
    cfg: &Config,
    out: &Path,
    selection: &Selection,
    generated_at: i64,
) -> Result<ReportData, ReportError> {
    let data = gather(cfg, selection, generated_at)?;
    write_atomically(out, &render(&data))?;
    Ok(data)
}
