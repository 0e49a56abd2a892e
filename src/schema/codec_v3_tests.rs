//! Audit schema version 4: a record written with version 3 (before the
//! bandit view's `seed`, `against` and arm `deviation`) still decodes, with
//! the new fields absent, and its hash, sealed under version 3, still
//! verifies; a version-4 record round-trips with them.

use apache_avro::Schema;

use crate::audit::chain::{record_hash, seal};
use crate::schema::records::*;
use crate::schema::wire::frame;

use super::tests::{codec, datum_with};

/// A decision the bandit took, as version 3 wrote it.
fn v3_record() -> AuditRecord {
    AuditRecord {
        decision_id: "d-3".into(),
        model_id: "m".into(),
        model_version: "7".into(),
        decided_at: 1_717_200_000_000,
        action: "fallback".into(),
        gate_reason: "bandit confident (0.912 ≥ 0.8)".into(),
        decided_by: "bandit".into(),
        proposed_action: "fallback".into(),
        context: [("drift".to_string(), 0.5)].into_iter().collect(),
        bandit: Some(BanditView {
            chosen: "fallback".into(),
            confidence: 0.912,
            threshold: 0.8,
            samples: 200,
            arms: vec![
                ArmView {
                    action: "retrain".into(),
                    posterior_mean: 0.25,
                    observations: 4,
                    deviation: None,
                },
                ArmView {
                    action: "fallback".into(),
                    posterior_mean: 0.5,
                    observations: 9,
                    deviation: None,
                },
            ],
            seed: None,
            against: None,
        }),
        status: AuditStatus::Dispatched,
        command_id: Some("c-3".into()),
        ..AuditRecord::default()
    }
}

/// The JSON version 3 hashed `v3_record()` sealed at sequence 4 after
/// `prev` with (its bandit view without the three fields, and no `reward`
/// since it had none), written out here rather than derived by the code
/// under test.
const V3_JSON: &str = r#"{"decision_id":"d-3","model_id":"m","model_version":"7","decided_at":1717200000000,"inputs":{"source_topic":"","source_partition":0,"source_offset":0,"records_seen":0},"evidence":[],"rules":[],"cooldown":{"active":false,"last_action_at":null,"remaining_ms":0},"action":"fallback","gate_reason":"bandit confident (0.912 ≥ 0.8)","command_id":"c-3","config_version":"","sequence":4,"previous_hash":"prev","record_hash":"","decided_by":"bandit","proposed_action":"fallback","context":{"drift":0.5},"bandit":{"chosen":"fallback","confidence":0.912,"threshold":0.8,"samples":200,"arms":[{"action":"retrain","posterior_mean":0.25,"observations":4},{"action":"fallback","posterior_mean":0.5,"observations":9}]},"checks":[],"operator_command_id":null,"status":"dispatched","version":1,"outcome":null,"supersedes":null}"#;

/// Hex SHA-256 of [`V3_JSON`].
fn v3_hash() -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(V3_JSON.as_bytes()))
}

#[test]
fn audit_record_v3_is_read_and_its_hash_still_verifies() {
    let c = codec();
    let v3 = match Schema::parse_str(include_str!("../../schemas/history/audit_record.v3.avsc")) {
        Ok(s) => s,
        Err(e) => panic!("v3 schema: {e}"),
    };
    let mut record = v3_record();
    seal(&mut record, 4, Some("prev".into()));
    assert_eq!(record.record_hash, v3_hash());
    // Written with version 3: the JSON without the version-4 fields.
    let mut json = match serde_json::to_value(&record) {
        Ok(serde_json::Value::Object(m)) => m,
        other => panic!("record as JSON: {other:?}"),
    };
    if let Some(serde_json::Value::Object(b)) = json.get_mut("bandit") {
        b.remove("seed");
        b.remove("against");
        if let Some(serde_json::Value::Array(arms)) = b.get_mut("arms") {
            for arm in arms {
                if let serde_json::Value::Object(a) = arm {
                    a.remove("deviation");
                }
            }
        }
    }
    let datum = datum_with(&v3, serde_json::Value::Object(json));
    let back: AuditRecord = match c.decode(Some(&frame(14, &datum))) {
        Ok(r) => r,
        Err(e) => panic!("v3 record must decode: {e}"),
    };
    assert_eq!(back, record);
    let Some(b) = &back.bandit else {
        panic!("the bandit view decodes");
    };
    assert_eq!((b.seed, b.against.as_deref()), (None, None));
    assert!(b.arms.iter().all(|a| a.deviation.is_none()));
    assert_eq!(record_hash(&back), back.record_hash);
    // Tampering is still seen.
    let mut tampered = back.clone();
    if let Some(b) = tampered.bandit.as_mut() {
        b.confidence = 0.95;
    }
    assert_ne!(record_hash(&tampered), back.record_hash);
}

#[test]
fn audit_record_v4_carries_seed_reference_and_deviations() {
    let c = codec();
    let mut record = v3_record();
    if let Some(b) = record.bandit.as_mut() {
        b.seed = Some(0);
        b.against = Some("retrain".into());
        b.arms[0].deviation = Some(0.0);
        b.arms[1].deviation = Some(0.125);
    }
    seal(&mut record, 4, Some("prev".into()));
    // The new fields are sealed: the hash is not version 3's.
    assert_ne!(record.record_hash, v3_hash());
    let bytes = match c.encode(&record) {
        Ok(b) => b,
        Err(e) => panic!("encode: {e}"),
    };
    assert_eq!(
        crate::schema::unframe(&bytes).map(|(id, _)| id).ok(),
        Some(15)
    );
    let again: AuditRecord = match c.decode(Some(&bytes)) {
        Ok(r) => r,
        Err(e) => panic!("v4 record must decode: {e}"),
    };
    assert_eq!(again, record);
    assert_eq!(record_hash(&again), again.record_hash);
    // Dropping a new field is tampering: seed 0 is not "unknown".
    let mut dropped = again.clone();
    if let Some(b) = dropped.bandit.as_mut() {
        b.seed = None;
    }
    assert_ne!(record_hash(&dropped), again.record_hash);
    // Best of all arms: null `against` in a version-4 record.
    let mut best = record.clone();
    if let Some(b) = best.bandit.as_mut() {
        b.against = None;
    }
    seal(&mut best, 4, Some("prev".into()));
    let bytes = match c.encode(&best) {
        Ok(b) => b,
        Err(e) => panic!("encode: {e}"),
    };
    let again: AuditRecord = match c.decode(Some(&bytes)) {
        Ok(r) => r,
        Err(e) => panic!("v4 record must decode: {e}"),
    };
    assert_eq!(again, best);
    assert_eq!(record_hash(&again), again.record_hash);
}
