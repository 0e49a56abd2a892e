//! The per-model hash chain of audit records, and its verification.
//!
//! Guarantees: [`seal`] gives a record its sequence number, the previous
//! record's hash and its own hash (SHA-256 of its canonical JSON with
//! `record_hash` empty, so the hash covers the link); [`verify`] recomputes
//! every hash and link and reports, per model, records checked, missing
//! sequence numbers, records whose content does not match their hash, links
//! that do not match the previous record, and conflicting records with the
//! same sequence number. Identical re-deliveries (the same record twice,
//! as an at-least-once replay writes) are counted, not flagged.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::schema::AuditRecord;

/// The hash a record must carry.
pub fn record_hash(record: &AuditRecord) -> String {
    let mut unsealed = record.clone();
    unsealed.record_hash.clear();
    let canonical = serde_json::to_vec(&unsealed).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))
}

/// Chains `record` after the record whose hash is `previous`.
pub fn seal(record: &mut AuditRecord, sequence: u64, previous: Option<String>) {
    record.sequence = i64::try_from(sequence).unwrap_or(i64::MAX);
    record.previous_hash = previous;
    record.record_hash = record_hash(record);
}

/// What [`verify`] found for one model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// Model.
    pub model_id: String,
    /// Records read.
    pub records: u64,
    /// Identical records read more than once.
    pub redelivered: u64,
    /// Missing sequence ranges (first, last), inclusive.
    pub gaps: Vec<(i64, i64)>,
    /// Decision ids whose content does not match their hash.
    pub bad_hash: Vec<String>,
    /// Decision ids whose `previous_hash` does not match the previous record.
    pub bad_link: Vec<String>,
    /// Sequence numbers held by different records.
    pub conflicts: Vec<i64>,
}

impl ChainReport {
    /// True when nothing is missing or altered.
    pub fn is_intact(&self) -> bool {
        self.gaps.is_empty()
            && self.bad_hash.is_empty()
            && self.bad_link.is_empty()
            && self.conflicts.is_empty()
    }
}

/// Verifies every model's chain in `records` (any order).
pub fn verify(records: impl IntoIterator<Item = AuditRecord>) -> Vec<ChainReport> {
    let mut by_model: BTreeMap<String, Vec<AuditRecord>> = BTreeMap::new();
    for r in records {
        by_model.entry(r.model_id.clone()).or_default().push(r);
    }
    by_model
        .into_iter()
        .map(|(model_id, mut chain)| {
            chain.sort_by(|a, b| {
                a.sequence
                    .cmp(&b.sequence)
                    .then_with(|| a.record_hash.cmp(&b.record_hash))
            });
            let mut report = ChainReport {
                model_id,
                records: chain.len() as u64,
                ..ChainReport::default()
            };
            let mut previous: Option<&AuditRecord> = None;
            for r in &chain {
                if record_hash(r) != r.record_hash {
                    report.bad_hash.push(r.decision_id.clone());
                }
                match previous {
                    Some(p) if p.sequence == r.sequence => {
                        if p == r {
                            report.redelivered += 1;
                        } else if report.conflicts.last() != Some(&r.sequence) {
                            report.conflicts.push(r.sequence);
                        }
                        continue;
                    }
                    Some(p) => {
                        if r.sequence > p.sequence + 1 {
                            report.gaps.push((p.sequence + 1, r.sequence - 1));
                        } else if r.previous_hash.as_deref() != Some(p.record_hash.as_str()) {
                            report.bad_link.push(r.decision_id.clone());
                        }
                    }
                    None => {
                        if r.sequence > 1 {
                            report.gaps.push((1, r.sequence - 1));
                        } else if r.previous_hash.is_some() {
                            report.bad_link.push(r.decision_id.clone());
                        }
                    }
                }
                previous = Some(r);
            }
            report
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AuditInputs, CooldownCheck};

    fn chain(model: &str, n: u64) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for i in 1..=n {
            let mut r = AuditRecord {
                decision_id: format!("{model}-d{i}"),
                model_id: model.into(),
                model_version: "1".into(),
                decided_at: i as i64,
                inputs: AuditInputs {
                    source_topic: "p".into(),
                    source_partition: 0,
                    source_offset: i as i64,
                    records_seen: i as i64,
                },
                evidence: vec![],
                rules: vec![],
                cooldown: CooldownCheck {
                    active: false,
                    last_action_at: None,
                    remaining_ms: 0,
                },
                action: "none".into(),
                gate_reason: "r".into(),
                command_id: None,
                config_version: "v".into(),
                sequence: 0,
                previous_hash: None,
                record_hash: String::new(),
                ..AuditRecord::default()
            };
            let previous = out.last().map(|p| p.record_hash.clone());
            seal(&mut r, i, previous);
            out.push(r);
        }
        out
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
        assert_eq!(r.bad_hash, vec!["a-d3".to_string()]);
    }

    #[test]
    fn resealed_alteration_breaks_the_next_link() {
        let mut c = chain("a", 5);
        c[2].action = "retrain".into();
        c[2].record_hash = record_hash(&c[2]);
        let r = &verify(c)[0];
        assert!(r.bad_hash.is_empty());
        assert_eq!(r.bad_link, vec!["a-d4".to_string()]);
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
    }
}
