//! Older writer schemas still read: a drift event of version 1 and audit
//! records of versions 1 and 2 decode with the current reader through Avro
//! schema resolution, the fields added later at their defaults, and a
//! record's hash sealed under an older version still verifies.

use super::*;
use crate::schema::records::*;
use crate::schema::wire::frame;

use super::tests::{codec, datum_with};

/// A drift event written with version 1 of its schema (id 3) decodes with
/// the current reader: the effect size and its gate are null.
#[test]
fn drift_event_v1_is_read_through_schema_resolution() {
    let c = codec();
    let v1 = match Schema::parse_str(include_str!("../../schemas/history/drift_event.v1.avsc")) {
        Ok(s) => s,
        Err(e) => panic!("v1 schema: {e}"),
    };
    let old = serde_json::json!({
        "event_id": "e", "model_id": "m", "feature": "f", "test": "ks",
        "statistic": 0.4, "p_value": 1e-9, "alpha": 0.001, "reference_size": 100,
        "reference_start_time": 1, "reference_end_time": 2, "window_size": 50,
        "window_start_record": 151, "window_end_record": 200, "window_start_time": 3,
        "window_end_time": 4, "event_time": 4, "kind": "covariate", "status": "opened",
        "adjusted_p_value": 3e-9, "correction": "bonferroni", "late_records": 0
    });
    let datum = datum_with(&v1, old);
    let back: DriftEvent = match c.decode(Some(&frame(3, &datum))) {
        Ok(r) => r,
        Err(e) => panic!("v1 drift event must decode: {e}"),
    };
    assert_eq!((back.event_id.as_str(), back.statistic), ("e", 0.4));
    assert_eq!((back.effect_size, back.min_effect), (None, None));
    // The current schema's datum under the old id is refused as truncated
    // or malformed, never silently misread: the ids differ.
    assert_ne!(c.id(SchemaKind::DriftEvent), 3);
}

/// A record written with version 1 of the audit schema (id 7) decodes with
/// the current reader: the fields added later take their defaults.
#[test]
fn audit_record_v1_is_read_through_schema_resolution() {
    let c = codec();
    let v1 = match Schema::parse_str(include_str!("../../schemas/history/audit_record.v1.avsc")) {
        Ok(s) => s,
        Err(e) => panic!("v1 schema: {e}"),
    };
    let old = serde_json::json!({
        "decision_id": "d-1", "model_id": "m", "model_version": "1", "decided_at": 5,
        "inputs": {"source_topic": "predictions", "source_partition": 0, "source_offset": 3, "records_seen": 4},
        "evidence": [],
        "rules": [{"name": "r", "condition": "true", "matched": true, "action": "retrain"}],
        "cooldown": {"active": false, "last_action_at": null, "remaining_ms": 0},
        "action": "retrain", "gate_reason": "because", "command_id": null,
        "config_version": "c", "sequence": 1, "previous_hash": null, "record_hash": "h"
    });
    let datum = datum_with(&v1, old);
    let back: AuditRecord = match c.decode(Some(&frame(7, &datum))) {
        Ok(r) => r,
        Err(e) => panic!("v1 record must decode: {e}"),
    };
    assert_eq!(back.decision_id, "d-1");
    assert_eq!(back.decided_by, "rules");
    assert_eq!(back.status, "decided");
    assert_eq!(back.version, 1);
    assert!(back.context.is_empty() && back.bandit.is_none() && back.outcome.is_none());
    assert!(!back.rules[0].hard);
    // An id that is neither the current nor a historical one is refused.
    assert!(matches!(
        c.decode::<AuditRecord>(Some(&frame(70, &datum))),
        Err(DecodeError::UnknownSchema { .. })
    ));
}

/// A record written with version 2 of the audit schema (id 9, before the
/// `reward` field) decodes with the current reader, its reward absent, and
/// its hash (sealed under version 2) still verifies; a record with a
/// reward round-trips through the current version.
#[test]
fn audit_record_v2_is_read_and_its_hash_still_verifies() {
    let c = codec();
    let v2 = match Schema::parse_str(include_str!("../../schemas/history/audit_record.v2.avsc")) {
        Ok(s) => s,
        Err(e) => panic!("v2 schema: {e}"),
    };
    let mut record = AuditRecord {
        decision_id: "d-2".into(),
        model_id: "m".into(),
        action: "retrain".into(),
        status: AuditStatus::Completed,
        version: 2,
        ..AuditRecord::default()
    };
    crate::audit::chain::seal(&mut record, 4, Some("prev".into()));
    // The JSON version 2 hashed: every field but `reward`.
    let mut json = match serde_json::to_value(&record) {
        Ok(serde_json::Value::Object(m)) => m,
        other => panic!("record as JSON: {other:?}"),
    };
    json.remove("reward");
    let datum = datum_with(&v2, serde_json::Value::Object(json));
    let back: AuditRecord = match c.decode(Some(&frame(9, &datum))) {
        Ok(r) => r,
        Err(e) => panic!("v2 record must decode: {e}"),
    };
    assert_eq!(back, record);
    assert!(back.reward.is_none());
    assert_eq!(crate::audit::chain::record_hash(&back), back.record_hash);

    let mut rewarded = record.clone();
    rewarded.reward = Some(crate::schema::AuditReward {
        arm: "none".into(),
        parts: "measured".into(),
        learned: true,
        horizon_ms: 1_800_000,
        measured_at: Some(9),
        accuracy_drop_before: 0.2,
        drifted_share_before: 0.5,
        accuracy_drop_after: Some(0.0),
        drifted_share_after: Some(0.25),
        measured_recovery: Some(0.225),
        reported_recovery: None,
        reported_cost: None,
        measured_weight: 1.0,
        reported_weight: 1.0,
        benefit_weight: 1.0,
        cost_weight: 0.01,
        recovery: 0.225,
        reward: 0.225,
    });
    crate::audit::chain::seal(&mut rewarded, 5, Some(record.record_hash.clone()));
    assert_ne!(rewarded.record_hash, record.record_hash);
    let bytes = match c.encode(&rewarded) {
        Ok(b) => b,
        Err(e) => panic!("encode: {e}"),
    };
    assert_eq!(
        crate::schema::unframe(&bytes).map(|(id, _)| id).ok(),
        Some(15)
    );
    let again: AuditRecord = match c.decode(Some(&bytes)) {
        Ok(r) => r,
        Err(e) => panic!("v3 record must decode: {e}"),
    };
    assert_eq!(again, rewarded);
    assert_eq!(crate::audit::chain::record_hash(&again), again.record_hash);
}
