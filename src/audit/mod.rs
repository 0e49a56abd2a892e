//! Audit: the per-model hash chain that makes the trail tamper-evident, and
//! reading the trail back (replay, verify) for people and tools.
//!
//! Records are written by the pipeline (one per decision, keyed by decision
//! id on the compacted audit topic, sealed into the model's chain).

pub mod chain;
mod format;
mod replay;

pub use chain::{verify, ChainReport};
pub use format::{format_line, to_json_line};
pub use replay::{read, replay, verify_topic, AuditError, ReplayCounts, ReplayOptions};
