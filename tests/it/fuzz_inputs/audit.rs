//! Fuzz target of `tests/fuzz_inputs.rs` for the audit trail as read back
//! from its topic: sealed chains of up to three models, tampered (sequence
//! numbers at the limits, records dropped or repeated, times past year
//! 9999, NaN statistics, broken links), through the codec, `audit
//! replay`'s renderings and `audit verify`. No panic; an untouched chain
//! verifies.

use jidoka::audit::{self, chain};
use jidoka::schema::AuditRecord;
use proptest::prelude::*;

use super::mutate::{self, cases, fail, fuzz, Ran};
use super::{codec, seeds};
use crate::common::TestResult;

/// One edit of an audit chain, as a tampered or corrupt audit topic holds.
#[derive(Debug, Clone)]
enum AuditEdit {
    Sequence(usize, i64),
    Drop(usize),
    Duplicate(usize),
    DecidedAt(usize, i64),
    Statistic(usize, f64),
    PreviousHash(usize, Option<String>),
    Model(usize, String),
}

fn audit_edit() -> impl Strategy<Value = AuditEdit> {
    let i = any::<usize>();
    let edge = prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(-1i64),
        Just(0i64),
        Just(253_402_300_800_000i64),
        any::<i64>()
    ];
    prop_oneof![
        (i, edge.clone()).prop_map(|(i, v)| AuditEdit::Sequence(i, v)),
        i.prop_map(AuditEdit::Drop),
        i.prop_map(AuditEdit::Duplicate),
        (i, edge).prop_map(|(i, v)| AuditEdit::DecidedAt(i, v)),
        (i, any::<f64>()).prop_map(|(i, v)| AuditEdit::Statistic(i, v)),
        (i, prop::option::of("[0-9a-f]{0,64}")).prop_map(|(i, h)| AuditEdit::PreviousHash(i, h)),
        (i, mutate::text(6)).prop_map(|(i, m)| AuditEdit::Model(i, m)),
    ]
}

#[test]
fn audit_verify_and_rendering_never_panic() -> TestResult {
    let codec = codec()?;
    let input = (
        prop::collection::vec((0usize..3, any::<bool>()), 0..12),
        prop::collection::vec(audit_edit(), 0..6),
    );
    fuzz(
        "audit/verify-and-render",
        cases(4),
        input,
        |(plan, edits)| {
            // Sealed chains of up to three models, then tampering.
            let mut sequences = [0u64; 3];
            let mut last: [Option<String>; 3] = [None, None, None];
            let mut records = Vec::new();
            for (i, (model, options)) in plan.iter().enumerate() {
                let mut r = seeds::audit(*options);
                // The seed's `supersedes` names a record of no chain here;
                // verify checks it (a tampering edit, not an untouched chain).
                r.supersedes = None;
                r.model_id = format!("m{model}");
                r.decision_id = format!("dec-{i}");
                sequences[*model] += 1;
                chain::seal(&mut r, sequences[*model], last[*model].take());
                last[*model] = Some(r.record_hash.clone());
                records.push(r);
            }
            if edits.is_empty() {
                let reports = audit::verify(records.clone());
                prop_assert!(reports.iter().all(|r| r.is_intact()), "{reports:?}");
            }
            for edit in &edits {
                let n = records.len();
                if n == 0 {
                    break;
                }
                match edit {
                    AuditEdit::Sequence(i, v) => records[i % n].sequence = *v,
                    AuditEdit::Drop(i) => {
                        records.remove(i % n);
                    }
                    AuditEdit::Duplicate(i) => records.push(records[i % n].clone()),
                    AuditEdit::DecidedAt(i, v) => records[i % n].decided_at = *v,
                    AuditEdit::Statistic(i, v) => {
                        if let Some(e) = records[i % n].evidence.first_mut() {
                            e.statistic = *v;
                        }
                    }
                    AuditEdit::PreviousHash(i, h) => records[i % n].previous_hash = h.clone(),
                    AuditEdit::Model(i, m) => records[i % n].model_id = m.clone(),
                }
            }
            // What `audit replay` and `audit verify` do with records read from
            // the topic.
            let mut ran = Ran::default();
            for r in &records {
                let bytes = codec.encode(r).map_err(fail)?;
                let back = codec.decode::<AuditRecord>(Some(&bytes)).map_err(fail)?;
                prop_assert!(!audit::format_line(&back).is_empty());
                prop_assert!(!audit::to_json_line(&back).is_empty());
                ran += Ran::one(true);
            }
            let reports = audit::verify(records.clone());
            let counted: u64 = reports.iter().map(|r| r.records).sum();
            prop_assert_eq!(counted, records.len() as u64);
            ran += Ran::one(reports.iter().all(|r| r.is_intact()));
            Ok(ran)
        },
    )
}
