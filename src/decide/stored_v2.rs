//! The decisions table's command records as version 2 stored them (before
//! audit records had a `reward`), still read.
//!
//! Guarantees: a version-2 record decodes to the current
//! [`CommandRecord`] with its audit record's `reward` absent (and its
//! bandit view's version-4 fields, as [`super::stored_v3`] reads them). The
//! audit record is a command record's last field and `reward` its own last
//! one, so version 2's bytes followed by postcard's `None` (one zero byte)
//! are exactly version 3's encoding of the same record. The record is
//! written back in the current version with its next change.

use super::operator::CommandRecord;

/// Version 2's bytes (after the version byte) as version 3's.
pub fn with_no_reward(bytes: &[u8]) -> Vec<u8> {
    let mut current = Vec::with_capacity(bytes.len() + 1);
    current.extend_from_slice(bytes);
    current.push(0);
    current
}

/// Decodes a version-2 command record (postcard bytes after the version
/// byte).
pub fn decode(bytes: &[u8]) -> Result<CommandRecord, postcard::Error> {
    super::stored_v3::decode(&with_no_reward(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AuditOutcome, AuditRecord, AuditStatus, HealCommand, OutcomeStatus};

    #[test]
    fn version_2_records_decode_without_a_reward() -> Result<(), postcard::Error> {
        let record = CommandRecord {
            command: HealCommand {
                command_id: "c1".into(),
                decision_id: "d1".into(),
                model_id: "m".into(),
                model_version: "v".into(),
                action: crate::schema::Action::Escalate,
                reason: "r".into(),
                evidence: vec!["e".into()],
                issued_at: 7,
                config_version: "cfg".into(),
                target_command_id: None,
            },
            features: vec![0.5, 1.0],
            status: AuditStatus::AwaitingApproval,
            suggestion: None,
            audit: AuditRecord {
                decision_id: "d1".into(),
                outcome: Some(AuditOutcome {
                    command_id: "c1".into(),
                    status: OutcomeStatus::Succeeded,
                    recovery: 0.5,
                    cost: 1.0,
                    reward: 0.49,
                    reported_at: 3,
                }),
                ..AuditRecord::default()
            },
        };
        let current = postcard::to_allocvec(&record)?;
        // Version 2 wrote everything but the trailing `reward: None`.
        assert_eq!(current.last(), Some(&0));
        let v2 = &current[..current.len() - 1];
        assert_eq!(decode(v2)?, record);
        Ok(())
    }
}
