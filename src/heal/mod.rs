//! Heal: the commands jidoka publishes for downstream executors.
//!
//! Guarantees: a command's id derives from its decision, so a replayed
//! decision yields the same command; commands are keyed by model id; no
//! command carries [`Action::None`] (the Avro enum has no such symbol).

use crate::ids;
use crate::schema::{Action, HealCommand};

/// What a command is built from.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec<'a> {
    /// Decision that issued it.
    pub decision_id: &'a str,
    /// Model to heal.
    pub model_id: &'a str,
    /// Model version serving.
    pub model_version: &'a str,
    /// Action ([`Action::None`] builds no command).
    pub action: Action,
    /// One-line reason.
    pub reason: &'a str,
    /// Drift event ids behind it.
    pub evidence: &'a [String],
    /// Event time of the decision.
    pub issued_at: i64,
    /// Config hash.
    pub config_version: &'a str,
}

/// Builds the command for a decision: `None` when its action is
/// [`Action::None`].
pub fn command(spec: CommandSpec<'_>) -> Option<HealCommand> {
    let action = spec.action.command()?;
    Some(HealCommand {
        command_id: ids::command_id(spec.decision_id, action.as_str()),
        decision_id: spec.decision_id.to_string(),
        model_id: spec.model_id.to_string(),
        model_version: spec.model_version.to_string(),
        action,
        reason: spec.reason.to_string(),
        evidence: spec.evidence.to_vec(),
        issued_at: spec.issued_at,
        config_version: spec.config_version.to_string(),
    })
}
