//! Unit tests of `chain.rs`.

use super::*;
use crate::schema::{AuditInputs, AuditOutcome, AuditStatus, OutcomeStatus, Superseded, TestKind};

fn record(model: &str, decision: &str, at: i64) -> AuditRecord {
    AuditRecord {
        decision_id: decision.into(),
        model_id: model.into(),
        model_version: "1".into(),
        decided_at: at,
        inputs: AuditInputs {
            source_topic: "p".into(),
            source_partition: 0,
            source_offset: at,
            records_seen: at,
        },
        action: "none".into(),
        gate_reason: "r".into(),
        config_version: "v".into(),
        ..AuditRecord::default()
    }
}

/// A model's chain as the processor writes it.
#[derive(Default)]
struct Writer {
    out: Vec<AuditRecord>,
}

impl Writer {
    fn push(&mut self, mut r: AuditRecord) -> AuditRecord {
        let previous = self.out.last().map(|p| p.record_hash.clone());
        seal(&mut r, self.out.len() as u64 + 1, previous);
        self.out.push(r.clone());
        r
    }

    /// A new version of `previous`, edited by `change`.
    fn next(
        &mut self,
        previous: &AuditRecord,
        change: impl FnOnce(&mut AuditRecord),
    ) -> AuditRecord {
        let mut r = previous.clone();
        r.version += 1;
        r.supersedes = Some(Superseded {
            sequence: previous.sequence,
            record_hash: previous.record_hash.clone(),
        });
        change(&mut r);
        self.push(r)
    }
}

fn chain(model: &str, n: u64) -> Vec<AuditRecord> {
    let mut w = Writer::default();
    for i in 1..=n {
        w.push(record(model, &format!("{model}-d{i}"), i as i64));
    }
    w.out
}

/// What compaction keeps: the last record of each key.
fn compact(records: &[AuditRecord]) -> Vec<AuditRecord> {
    let mut last: BTreeMap<&str, &AuditRecord> = BTreeMap::new();
    for r in records {
        last.insert(&r.decision_id, r);
    }
    let mut kept: Vec<AuditRecord> = last.into_values().cloned().collect();
    kept.sort_by_key(|r| r.sequence);
    kept
}

/// d1 dispatched then completed; d2 escalated, approved, completed;
/// d3 decided; d4 vetoed; d5 decided (the head).
fn versioned() -> Vec<AuditRecord> {
    let mut w = Writer::default();
    let d1 = w.push(AuditRecord {
        status: AuditStatus::Dispatched,
        ..record("m", "d1", 1)
    });
    let d2 = w.push(AuditRecord {
        status: AuditStatus::AwaitingApproval,
        action: "escalate".into(),
        ..record("m", "d2", 2)
    });
    w.next(&d1, |r| {
        r.status = AuditStatus::Completed;
        r.outcome = Some(AuditOutcome {
            command_id: "c1".into(),
            status: OutcomeStatus::Succeeded,
            recovery: 0.2,
            cost: 10.0,
            reward: 0.1,
            reported_at: 5,
        });
    });
    w.push(record("m", "d3", 3));
    let d2b = w.next(&d2, |r| {
        r.status = AuditStatus::Dispatched;
        r.decided_by = "human".into();
        r.action = "rollback".into();
    });
    let d4 = w.push(AuditRecord {
        status: AuditStatus::Dispatched,
        ..record("m", "d4", 4)
    });
    w.next(&d2b, |r| r.status = AuditStatus::Completed);
    w.next(&d4, |r| r.status = AuditStatus::Vetoed);
    w.push(record("m", "d5", 5));
    w.out
}

#[test]
fn intact_chains_verify_in_any_order() {
    let mut all = chain("a", 5);
    all.extend(chain("b", 3));
    all.reverse();
    all.push(all[0].clone()); // an identical re-delivery
    let reports = verify(all);
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(ChainReport::is_intact), "{reports:?}");
    assert_eq!((reports[0].records, reports[0].redelivered), (5, 0));
    assert_eq!((reports[1].records, reports[1].redelivered), (4, 1));
}

#[test]
fn altered_content_is_caught() {
    let mut c = chain("a", 5);
    c[2].action = "retrain".into();
    let r = &verify(c)[0];
    assert_eq!(r.bad_hash.len(), 1);
    assert_eq!(
        (r.bad_hash[0].sequence, r.bad_hash[0].decision_id.as_str()),
        (3, "a-d3")
    );
}

#[test]
fn resealed_alteration_breaks_the_next_link() {
    let mut c = chain("a", 5);
    c[2].action = "retrain".into();
    c[2].record_hash = record_hash(&c[2]);
    let r = &verify(c)[0];
    assert!(r.bad_hash.is_empty());
    assert_eq!(r.bad_link.len(), 1);
    assert_eq!(r.bad_link[0].decision_id, "a-d4");
}

#[test]
fn missing_and_conflicting_records_are_reported() {
    let mut c = chain("a", 6);
    c.remove(3);
    c.remove(0);
    let mut forged = c[1].clone();
    forged.gate_reason = "forged".into();
    forged.record_hash = record_hash(&forged);
    c.push(forged);
    let r = &verify(c)[0];
    assert_eq!(r.gaps, vec![(1, 1), (4, 4)]);
    assert_eq!(r.conflicts, vec![3]);
    assert!(!r.is_intact());
    assert_eq!(r.missing(), 2);
}

#[test]
fn every_version_present_is_intact() {
    let all = versioned();
    let r = &verify(all.clone())[0];
    assert!(r.is_intact(), "{r}");
    assert_eq!((r.records, r.compacted, r.compacted_unnamed), (9, 0, 0));
}

#[test]
fn a_compacted_chain_is_intact_and_accounts_for_every_version() {
    let all = versioned();
    let kept = compact(&all);
    assert_eq!(kept.len(), 5);
    let r = &verify(kept)[0];
    assert!(r.is_intact(), "{r}");
    // d1 v1 (seq 1), d2 v2 (seq 5) and d4 v1 (seq 6) are named by a
    // kept version; d2 v1 (seq 2) only by d2's version number.
    assert_eq!((r.records, r.compacted, r.compacted_unnamed), (5, 3, 1));
    assert!(r.gaps.is_empty() && r.bad_link.is_empty(), "{r}");
}

#[test]
fn compacted_alteration_is_a_bad_hash() {
    let mut kept = compact(&versioned());
    let d3 = kept.iter_mut().find(|r| r.decision_id == "d3");
    if let Some(d3) = d3 {
        d3.action = "retrain".into();
    }
    let r = &verify(kept)[0];
    assert_eq!(r.bad_hash.len(), 1, "{r}");
    assert_eq!(r.bad_hash[0].decision_id, "d3");
    assert!(!r.is_intact());
}

#[test]
fn a_forged_supersedes_hash_is_a_bad_link() {
    // The head of the compacted chain names a wrong hash for the
    // version it replaced (and is resealed, so its own hash is fine):
    // the record after the compacted sequence does not link to it.
    let mut kept = compact(&versioned());
    let d4 = kept.iter_mut().find(|r| r.decision_id == "d4");
    let Some(d4) = d4 else { panic!("d4 kept") };
    let Some(sup) = d4.supersedes.as_mut() else {
        panic!("d4 v2 supersedes")
    };
    sup.record_hash = "0".repeat(64);
    let (seq, previous) = (d4.sequence as u64, d4.previous_hash.clone());
    seal(d4, seq, previous);
    let r = &verify(kept.clone())[0];
    assert!(r.bad_hash.is_empty(), "{r}");
    // d4 v2 is at 8 and links to 7 (d2 v3, kept), so the resealed
    // record breaks the link of the head, d5 at 9 ...
    let blamed: Vec<(i64, &str)> = r
        .bad_link
        .iter()
        .map(|x| (x.sequence, x.decision_id.as_str()))
        .collect();
    // ... and the record after the compacted sequence 6 (d4 v1), which
    // is d2 v3 at 7, does not match the forged name.
    assert_eq!(blamed, vec![(7, "d2"), (9, "d5")], "{r}");
    assert!(!r.is_intact());
}

#[test]
fn a_supersedes_naming_a_present_record_wrongly_is_a_bad_link() {
    let mut all = versioned();
    let i = all
        .iter()
        .position(|r| r.decision_id == "d1" && r.version == 2)
        .unwrap_or(0);
    if let Some(sup) = all[i].supersedes.as_mut() {
        sup.record_hash = "f".repeat(64);
    }
    let (seq, previous) = (all[i].sequence as u64, all[i].previous_hash.clone());
    seal(&mut all[i], seq, previous);
    let r = &verify(all)[0];
    assert!(
        r.bad_link
            .iter()
            .any(|x| x.decision_id == "d1" && x.detail.contains("supersedes")),
        "{r}"
    );
}

#[test]
fn a_deleted_record_that_nothing_supersedes_is_a_gap() {
    let mut kept = compact(&versioned());
    kept.retain(|r| r.decision_id != "d3");
    let r = &verify(kept)[0];
    assert_eq!(r.gaps, vec![(4, 4)], "{r}");
}

#[test]
fn unchained_records_are_counted_not_checked() {
    let mut c = chain("a", 2);
    c.push(record("a", "old", 0));
    let r = &verify(c)[0];
    assert!(r.is_intact(), "{r}");
    assert_eq!((r.records, r.unchained), (3, 1));
}

#[test]
fn extreme_sequences_do_not_panic() {
    let mut c = chain("a", 3);
    c[0].sequence = i64::MAX;
    c[1].sequence = i64::MIN;
    c[2].supersedes = Some(Superseded {
        sequence: i64::MAX,
        record_hash: String::new(),
    });
    c[2].version = i32::MAX;
    let r = &verify(c)[0];
    assert!(!r.is_intact());
    assert!(!r.to_string().is_empty());
}

#[test]
fn the_summary_names_counts_and_problems() {
    let r = &verify(compact(&versioned()))[0];
    let text = r.to_string();
    assert!(
        text.starts_with("m: intact: 5 records checked, 4 compacted versions accounted for (1 by version number only, link not checkable), 0 gaps, 0 bad hashes, 0 bad links, 0 conflicts"),
        "{text}"
    );
    let mut c = chain("a", 6);
    c.remove(3);
    c[2].action = "retrain".into();
    let text = verify(c)[0].to_string();
    assert!(text.contains("a: BROKEN"), "{text}");
    assert!(text.contains("\n  gap: sequence 4 is missing"), "{text}");
    assert!(
        text.contains("\n  bad hash: sequence 3 (decision a-d3)"),
        "{text}"
    );
}

/// The audit record as the code of schema version 1 defined it (copied
/// from that version), to seal records as it did.
#[derive(serde::Serialize)]
struct OldRecord {
    decision_id: String,
    model_id: String,
    model_version: String,
    decided_at: i64,
    inputs: AuditInputs,
    evidence: Vec<crate::schema::FeatureEvidence>,
    rules: Vec<OldRule>,
    cooldown: crate::schema::CooldownCheck,
    action: String,
    gate_reason: String,
    command_id: Option<String>,
    config_version: String,
    sequence: i64,
    previous_hash: Option<String>,
    record_hash: String,
}

#[derive(serde::Serialize)]
struct OldRule {
    name: String,
    condition: String,
    matched: bool,
    action: String,
}

/// A v1 record sealed as v1 did, written in the v1 wire format and read
/// back by today's codec (schema resolution).
fn old_sealed(n: i64, previous: Option<String>) -> Result<AuditRecord, Box<dyn std::error::Error>> {
    let mut old = OldRecord {
        decision_id: format!("old-{n}"),
        model_id: "m".into(),
        model_version: "1".into(),
        decided_at: n,
        inputs: AuditInputs {
            source_topic: "predictions".into(),
            source_partition: 0,
            source_offset: n,
            records_seen: n,
        },
        evidence: vec![crate::schema::FeatureEvidence {
            feature: "f".into(),
            test: TestKind::Ks,
            statistic: 0.25,
            p_value: 1e-6,
            drifted: true,
            drift_event_id: None,
        }],
        rules: vec![OldRule {
            name: "drift-retrain".into(),
            condition: "drifted".into(),
            matched: true,
            action: "retrain".into(),
        }],
        cooldown: crate::schema::CooldownCheck::default(),
        action: "retrain".into(),
        gate_reason: "drift".into(),
        command_id: Some(format!("cmd-{n}")),
        config_version: "c".into(),
        sequence: n,
        previous_hash: previous,
        record_hash: String::new(),
    };
    old.record_hash = hex::encode(Sha256::digest(serde_json::to_vec(&old)?));
    let schema =
        apache_avro::Schema::parse_str(include_str!("../../schemas/history/audit_record.v1.avsc"))?;
    let value = apache_avro::to_value(&old)?.resolve(&schema)?;
    let datum = apache_avro::to_avro_datum(&schema, value)?;
    let codec = crate::schema::Codec::new(crate::config::Config::defaults()?.schemas.ids)?;
    let id = crate::config::Config::defaults()?
        .schemas
        .ids
        .audit_record_v1;
    Ok(codec.decode::<AuditRecord>(Some(&crate::schema::frame(id, &datum)))?)
}

#[test]
fn records_sealed_under_schema_v1_still_verify() -> Result<(), Box<dyn std::error::Error>> {
    let first = old_sealed(1, None)?;
    let second = old_sealed(2, Some(first.record_hash.clone()))?;
    // Read today, they carry the later fields at their defaults, so their
    // canonical JSON is not the one they were sealed with.
    assert_ne!(record_hash(&second), second.record_hash);
    assert_eq!(v1_record_hash(&second), Some(second.record_hash.clone()));
    // Today's records continue the chain.
    let mut w = Writer {
        out: vec![first.clone(), second.clone()],
    };
    let d3 = w.push(record("m", "d3", 3));
    w.next(&d3, |r| r.status = AuditStatus::Completed);
    let r = &verify(w.out.clone())[0];
    assert!(r.is_intact(), "{r}");
    assert_eq!((r.records, r.sealed_v1), (4, 2), "{r}");
    assert!(r.to_string().contains("(2 sealed under schema v1)"), "{r}");
    // A v1 record altered is still caught.
    let mut altered = w.out.clone();
    altered[1].gate_reason = "no drift".into();
    let r = &verify(altered)[0];
    assert_eq!(r.bad_hash.len(), 1, "{r}");
    assert_eq!(r.sealed_v1, 1);
    Ok(())
}
