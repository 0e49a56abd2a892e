//! Audit: reading the audit trail back and printing it for people and tools.
//!
//! Records are written by the pipeline (one per decision, keyed by decision
//! id on the compacted audit topic); this module only reads them.

mod format;
mod replay;

pub use format::{format_line, to_json_line};
pub use replay::{replay, AuditError, ReplayCounts, ReplayOptions};
