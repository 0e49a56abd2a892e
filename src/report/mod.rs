//! The HTML report (`jidoka report`): one self-contained page per run,
//! built from the drift-events and audit topics, that shows per model how
//! drift developed, what was decided, by whom, how sure the bandit was and
//! what the actions achieved.
//!
//! - `data`: gathering and shaping the records (pure, but for [`gather`]).
//! - `svg`: a small chart kit (scales, axes, lines, markers, bars).
//! - `html`: the page.
//!
//! Guarantees: the file written is complete or not written at all (a
//! temporary file renamed into place); it references nothing outside
//! itself.

mod data;
mod html;
pub mod svg;

use std::path::Path;

pub use data::{
    gather, DecisionPoint, DriftPoint, DriftSeries, Evaluation, ModelReport, OperatorRow,
    OutcomePoint, ReportData,
};
pub use html::{action_color, render, source_color};

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

/// Reads both topics, renders the report of `model` (every model when
/// `None`) as of `generated_at` (ms) and writes it to `out`.
pub fn write_report(
    cfg: &Config,
    out: &Path,
    model: Option<&str>,
    generated_at: i64,
) -> Result<ReportData, ReportError> {
    let data = gather(cfg, model, generated_at)?;
    write_atomically(out, &render(&data))?;
    Ok(data)
}
