//! Audit: the per-model hash chain that makes the trail tamper-evident, and
//! reading the trail back for people and tools: replay (filtered, as a
//! table or JSON lines), verify (across compaction), explain (one decision
//! in plain words).
//!
//! Records are written by the pipeline (one per decision, keyed by decision
//! id on the compacted audit topic, sealed into the model's chain; each
//! later stage of a decision is a new version of its key). This module only
//! reads them.
//!
//! - `chain`: sealing and verifying the hash chain.
//! - `sealed_v3`: the JSON a bandit view written before schema version 4
//!   was sealed with.
//! - `filter`: which records a replay shows (pure).
//! - `format`: one record as a line, a table row or JSON.
//! - `order`: the order a replay prints in (by decision time, or as read).
//! - `explain`: one decision's versions in plain words (pure).
//! - `topic`: reading an output topic to its end, with a progress bar.
//! - `replay`: the Kafka side of replay, verify and explain, and the
//!   filtered, ordered read the exports share with replay.

pub mod chain;
mod explain;
mod explain_reward;
mod filter;
mod format;
mod order;
mod replay;
mod sealed_v3;
mod topic;

pub use chain::{verify, ChainReport, Fault};
pub use explain::{explain, explain_with_events};
pub use filter::{latest, parse_time, select, Filter, TimeError};
pub use format::{format_line, format_time, table_header, table_row, to_json_line, truncate};
pub use order::{by_time, ReplayOrder};
pub use replay::{
    collect, decision_versions, drift_events, read, replay, verify_topic, AuditError, ReplayCounts,
    ReplayOptions,
};
pub use topic::{read_events, read_topic, ReadEvent, ReadMode};
