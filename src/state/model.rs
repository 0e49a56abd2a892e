//! Per-model bookkeeping kept beside the feature windows.

use serde::{Deserialize, Serialize};

/// What jidoka remembers about one model besides its windows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Records of this model processed so far (drives the evaluation cadence
    /// and the deterministic ids).
    pub records_seen: u64,
    /// Last model version seen.
    pub model_version: String,
    /// Event time (ms) of the last heal command, for the cooldown.
    pub last_action_at: Option<i64>,
    /// Decisions taken so far.
    pub decisions: u64,
    /// Heal commands issued so far.
    pub commands: u64,
    /// Sequence number of the model's last audit record.
    #[serde(default)]
    pub audit_sequence: u64,
    /// `record_hash` of the model's last audit record.
    #[serde(default)]
    pub last_audit_hash: Option<String>,
}
