//! The decisions table's command records as version 1 stored them (before
//! heal commands named the command they act on), still read.
//!
//! Guarantees: a version-1 record decodes to the current
//! [`CommandRecord`] with `target_command_id` recovered from what version
//! 1 wrote instead (see [`crate::heal::hold`] and [`crate::heal::approved`]):
//! a `hold` named the vetoed command as its only evidence id and in its
//! reason (`command <id> vetoed by …`), an approved command named the
//! escalation in its reason (`escalation <id> approved by …`); a
//! decision's own command gets `None`; its audit record no `reward` (and
//! its bandit view none of version 4's fields, see [`super::stored_v3`]).
//! The record is written back in the current version with its next change.

use serde::Deserialize;

use super::operator::CommandRecord;
use super::stored_v3::AuditRecordV3;
use crate::schema::{Action, AuditStatus, HealCommand};

/// `HealCommand` before `target_command_id`.
#[derive(Deserialize)]
struct HealCommandV1 {
    command_id: String,
    decision_id: String,
    model_id: String,
    model_version: String,
    action: Action,
    reason: String,
    evidence: Vec<String>,
    issued_at: i64,
    config_version: String,
}

/// `CommandRecord` holding a [`HealCommandV1`].
#[derive(Deserialize)]
struct CommandRecordV1 {
    command: HealCommandV1,
    features: Vec<f64>,
    status: AuditStatus,
    suggestion: Option<Action>,
    audit: AuditRecordV3,
}

/// Decodes a version-1 command record (postcard bytes after the version
/// byte).
pub fn decode(bytes: &[u8]) -> Result<CommandRecord, postcard::Error> {
    // Version 1's audit record had no `reward` either (see
    // [`super::stored_v2`]).
    let old: CommandRecordV1 = postcard::from_bytes(&super::stored_v2::with_no_reward(bytes))?;
    let c = old.command;
    let target_command_id = match (c.action, c.evidence.as_slice()) {
        (Action::Hold, [target]) if c.reason.starts_with(&format!("command {target} ")) => {
            Some(target.clone())
        }
        _ => c
            .reason
            .strip_prefix("escalation ")
            .and_then(|rest| rest.split_once(" approved by "))
            .map(|(target, _)| target.to_string()),
    };
    Ok(CommandRecord {
        command: HealCommand {
            command_id: c.command_id,
            decision_id: c.decision_id,
            model_id: c.model_id,
            model_version: c.model_version,
            action: c.action,
            reason: c.reason,
            evidence: c.evidence,
            issued_at: c.issued_at,
            config_version: c.config_version,
            target_command_id,
        },
        features: old.features,
        status: old.status,
        suggestion: old.suggestion,
        audit: old.audit.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::AuditRecord;

    /// The version-1 bytes of a record with `command`.
    fn v1_bytes(
        action: Action,
        reason: &str,
        evidence: &[&str],
        audit: &AuditRecord,
    ) -> Result<Vec<u8>, postcard::Error> {
        // Serialised field by field in version 1's order (postcard is not
        // self-describing: the tuple's layout is the struct's).
        let command = (
            "c2", "d1", "m", "v3", action, reason, evidence, 20_i64, "cfg",
        );
        let mut bytes = postcard::to_allocvec(&(
            command,
            vec![0.5_f64],
            AuditStatus::Dispatched,
            Some(Action::Retrain),
            audit,
        ))?;
        // Version 1's audit record ended before `reward` (`None`, one byte).
        bytes.pop();
        Ok(bytes)
    }

    fn audit() -> AuditRecord {
        AuditRecord {
            decision_id: "d1".into(),
            model_id: "m".into(),
            action: "retrain".into(),
            ..AuditRecord::default()
        }
    }

    #[test]
    fn version_1_records_decode_with_the_target_they_named() -> Result<(), postcard::Error> {
        let a = audit();
        let hold = decode(&v1_bytes(
            Action::Hold,
            "command c1 vetoed by alice (operator command op1): stop it and hold",
            &["c1"],
            &a,
        )?)?;
        assert_eq!(hold.command.target_command_id.as_deref(), Some("c1"));
        assert_eq!(hold.command.evidence, vec!["c1".to_string()]);
        assert_eq!(
            (hold.features.as_slice(), hold.audit == a),
            (&[0.5][..], true)
        );
        assert_eq!(hold.suggestion, Some(Action::Retrain));

        let approved = decode(&v1_bytes(
            Action::Rollback,
            "escalation c0 approved by bob (operator command op2)",
            &["e1"],
            &a,
        )?)?;
        assert_eq!(approved.command.target_command_id.as_deref(), Some("c0"));

        let own = decode(&v1_bytes(
            Action::Retrain,
            "rule drift matched",
            &["e1"],
            &a,
        )?)?;
        assert_eq!(own.command.target_command_id, None);
        assert_eq!(own.command.command_id, "c2");
        Ok(())
    }
}
