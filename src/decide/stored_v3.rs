//! The decisions table's command records as version 3 stored them (before
//! the audit record's bandit view had `seed`, `against` and arm
//! `deviation`), still read.
//!
//! Guarantees: a version-3 record decodes to the current
//! [`CommandRecord`] with the three fields absent (`None`, as an audit
//! record of schema version 3 decodes), everything else as stored. Postcard
//! is not self-describing and the bandit view sits in the middle of the
//! audit record, so version 3's layout is kept here field by field. The
//! record is written back in the current version with its next change.
//! Versions 2 and 1 are read through this one.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::operator::CommandRecord;
use crate::schema::{
    Action, ArmView, AuditInputs, AuditOutcome, AuditRecord, AuditReward, AuditStatus, BanditView,
    CooldownCheck, FeatureEvidence, GateCheck, HealCommand, RuleEvaluation, Superseded,
};

/// `CommandRecord` holding an [`AuditRecordV3`].
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(super) struct CommandRecordV3 {
    pub command: HealCommand,
    pub features: Vec<f64>,
    pub status: AuditStatus,
    pub suggestion: Option<Action>,
    pub audit: AuditRecordV3,
}

/// `AuditRecord` of schema version 3, in its field order.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(super) struct AuditRecordV3 {
    pub decision_id: String,
    pub model_id: String,
    pub model_version: String,
    pub decided_at: i64,
    pub inputs: AuditInputs,
    pub evidence: Vec<FeatureEvidence>,
    pub rules: Vec<RuleEvaluation>,
    pub cooldown: CooldownCheck,
    pub action: String,
    pub gate_reason: String,
    pub command_id: Option<String>,
    pub config_version: String,
    pub sequence: i64,
    pub previous_hash: Option<String>,
    pub record_hash: String,
    pub decided_by: String,
    pub proposed_action: String,
    pub context: BTreeMap<String, f64>,
    pub bandit: Option<BanditViewV3>,
    pub checks: Vec<GateCheck>,
    pub operator_command_id: Option<String>,
    pub status: AuditStatus,
    pub version: i32,
    pub outcome: Option<AuditOutcome>,
    pub supersedes: Option<Superseded>,
    pub reward: Option<AuditReward>,
}

/// `BanditView` of schema version 3.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(super) struct BanditViewV3 {
    pub chosen: String,
    pub confidence: f64,
    pub threshold: f64,
    pub samples: i32,
    pub arms: Vec<ArmViewV3>,
}

/// `ArmView` of schema version 3.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(super) struct ArmViewV3 {
    pub action: String,
    pub posterior_mean: f64,
    pub observations: i64,
}

impl From<BanditViewV3> for BanditView {
    fn from(b: BanditViewV3) -> Self {
        BanditView {
            chosen: b.chosen,
            confidence: b.confidence,
            threshold: b.threshold,
            samples: b.samples,
            arms: b
                .arms
                .into_iter()
                .map(|a| ArmView {
                    action: a.action,
                    posterior_mean: a.posterior_mean,
                    observations: a.observations,
                    deviation: None,
                })
                .collect(),
            seed: None,
            against: None,
        }
    }
}

impl From<AuditRecordV3> for AuditRecord {
    fn from(r: AuditRecordV3) -> Self {
        AuditRecord {
            decision_id: r.decision_id,
            model_id: r.model_id,
            model_version: r.model_version,
            decided_at: r.decided_at,
            inputs: r.inputs,
            evidence: r.evidence,
            rules: r.rules,
            cooldown: r.cooldown,
            action: r.action,
            gate_reason: r.gate_reason,
            command_id: r.command_id,
            config_version: r.config_version,
            sequence: r.sequence,
            previous_hash: r.previous_hash,
            record_hash: r.record_hash,
            decided_by: r.decided_by,
            proposed_action: r.proposed_action,
            context: r.context,
            bandit: r.bandit.map(BanditView::from),
            checks: r.checks,
            operator_command_id: r.operator_command_id,
            status: r.status,
            version: r.version,
            outcome: r.outcome,
            supersedes: r.supersedes,
            reward: r.reward,
        }
    }
}

/// Decodes a version-3 command record (postcard bytes after the version
/// byte).
pub fn decode(bytes: &[u8]) -> Result<CommandRecord, postcard::Error> {
    let old: CommandRecordV3 = postcard::from_bytes(bytes)?;
    Ok(CommandRecord {
        command: old.command,
        features: old.features,
        status: old.status,
        suggestion: old.suggestion,
        audit: old.audit.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v3(bandit: Option<BanditViewV3>) -> CommandRecordV3 {
        CommandRecordV3 {
            command: HealCommand {
                command_id: "c1".into(),
                decision_id: "d1".into(),
                model_id: "m".into(),
                model_version: "v".into(),
                action: Action::Retrain,
                reason: "bandit confident".into(),
                evidence: vec!["e".into()],
                issued_at: 7,
                config_version: "cfg".into(),
                target_command_id: None,
            },
            features: vec![1.0, 0.5],
            status: AuditStatus::Dispatched,
            suggestion: None,
            audit: AuditRecordV3 {
                decision_id: "d1".into(),
                model_id: "m".into(),
                model_version: "v".into(),
                decided_at: 7,
                inputs: AuditInputs::default(),
                evidence: Vec::new(),
                rules: Vec::new(),
                cooldown: CooldownCheck::default(),
                action: "retrain".into(),
                gate_reason: "bandit confident".into(),
                command_id: Some("c1".into()),
                config_version: "cfg".into(),
                sequence: 3,
                previous_hash: Some("ab".into()),
                record_hash: "cd".into(),
                decided_by: "bandit".into(),
                proposed_action: "retrain".into(),
                context: BTreeMap::from([("drift".into(), 0.5)]),
                bandit,
                checks: vec![GateCheck {
                    name: "gate".into(),
                    passed: true,
                    detail: "d".into(),
                }],
                operator_command_id: None,
                status: AuditStatus::Dispatched,
                version: 1,
                outcome: None,
                supersedes: None,
                reward: None,
            },
        }
    }

    /// A version-3 record with a bandit view (whose layout changed) decodes
    /// with the view's new fields absent and every other field as stored,
    /// the bytes after the view (checks, status…) included.
    #[test]
    fn version_3_records_decode_with_the_new_bandit_fields_absent() -> Result<(), postcard::Error> {
        let bandit = BanditViewV3 {
            chosen: "retrain".into(),
            confidence: 0.91,
            threshold: 0.8,
            samples: 200,
            arms: vec![
                ArmViewV3 {
                    action: "retrain".into(),
                    posterior_mean: 0.4,
                    observations: 12,
                },
                ArmViewV3 {
                    action: "none".into(),
                    posterior_mean: -0.1,
                    observations: 2,
                },
            ],
        };
        let bytes = postcard::to_allocvec(&v3(Some(bandit)))?;
        let got = decode(&bytes)?;
        let Some(b) = &got.audit.bandit else {
            panic!("the bandit view survives: {got:?}");
        };
        assert_eq!((b.seed, b.against.as_deref()), (None, None));
        assert_eq!(b.arms.len(), 2);
        assert_eq!(
            (b.arms[1].action.as_str(), b.arms[1].observations),
            ("none", 2)
        );
        assert!(b.arms.iter().all(|a| a.deviation.is_none()));
        assert_eq!(b.confidence, 0.91);
        assert_eq!(got.audit.checks.len(), 1);
        assert_eq!(got.audit.status, AuditStatus::Dispatched);
        assert_eq!(got.audit.record_hash, "cd");
        assert_eq!(got.command.command_id, "c1");
        // The current layout is not version 3's: the same bytes do not
        // decode as a current record to the same thing.
        let current: Result<CommandRecord, _> = postcard::from_bytes(&bytes);
        assert!(current.map_or(true, |c| c != got));
        Ok(())
    }

    /// Without a bandit view version 3's bytes are the current ones.
    #[test]
    fn version_3_records_without_a_bandit_view_decode_unchanged() -> Result<(), postcard::Error> {
        let bytes = postcard::to_allocvec(&v3(None))?;
        let got = decode(&bytes)?;
        assert_eq!(postcard::from_bytes::<CommandRecord>(&bytes)?, got);
        assert!(got.audit.bandit.is_none());
        Ok(())
    }
}
