//! The per-model hash chain of audit records, and its verification, also
//! across log compaction.
//!
//! Guarantees: [`seal`] gives a record its sequence number, the previous
//! record's hash and its own hash (SHA-256 of its canonical JSON with
//! `record_hash` empty, so the hash covers the link); [`verify`] recomputes
//! every hash and link and reports, per model: records checked, identical
//! re-deliveries (counted, not flagged), superseded versions that compaction
//! removed (accounted for, not flagged), missing sequence numbers, records
//! whose content does not match their hash, links that do not match the
//! previous record, and sequence numbers held by different records.
//!
//! Compaction: a decision's later stage is a new version of its key whose
//! `supersedes` names the replaced version's sequence and hash. The
//! compacted topic keeps only the last version, so the replaced one leaves a
//! hole in the chain. A hole at sequence `s` is no gap when a record
//! supersedes `s`, and the record at `s + 1` is then link-checked against the
//! named hash. A decision at version `v` also implies `v - 1` earlier
//! versions; one it names, the others (a third version's first) are named
//! only by versions compaction removed too. Such holes are accounted for by
//! the version numbers, within the order the versions must have had, and
//! reported apart: the link over them cannot be checked.
//! Records with sequence 0 and no hash predate the chain and are counted as
//! unchained. Records sealed under version 1 of the audit schema (decoded
//! now with the later fields at their defaults) are checked against the
//! canonical JSON they were sealed with, and counted; a record without a
//! `reward` (schema version 3) hashes as version 2 sealed it, and one whose
//! bandit view has none of version 4's fields (`seed`, `against`, arm
//! `deviation`) as version 3 sealed it ([`super::sealed_v3`]). Nothing
//! here panics on any input (sequence numbers at the limits, huge version
//! numbers, NaN statistics).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use sha2::{Digest, Sha256};

use serde::Serialize;

use crate::schema::{AuditInputs, AuditRecord, CooldownCheck, FeatureEvidence};

/// Most earlier versions one decision can account for by its version
/// number alone (real decisions have at most a few).
const MAX_IMPLIED_VERSIONS: i64 = 64;

/// The JSON a record without a reward ends with: such a record is hashed
/// without it, as version 2 of the audit schema (which had no `reward`)
/// hashed it, so records sealed before version 3 still verify.
const NO_REWARD: &[u8] = b",\"reward\":null}";

/// The hash a record must carry.
pub fn record_hash(record: &AuditRecord) -> String {
    let mut unsealed = record.clone();
    unsealed.record_hash.clear();
    let mut canonical = super::sealed_v3::canonical(&unsealed)
        .unwrap_or_else(|| serde_json::to_vec(&unsealed).unwrap_or_default());
    if canonical.ends_with(NO_REWARD) {
        canonical.truncate(canonical.len() - NO_REWARD.len());
        canonical.push(b'}');
    }
    hex::encode(Sha256::digest(&canonical))
}

/// A record as version 1 of the audit schema serialized it: its fields, in
/// its order, and rules without `hard` and `priority`.
#[derive(Serialize)]
struct V1<'a> {
    decision_id: &'a str,
    model_id: &'a str,
    model_version: &'a str,
    decided_at: i64,
    inputs: &'a AuditInputs,
    evidence: &'a [FeatureEvidence],
    rules: Vec<V1Rule<'a>>,
    cooldown: &'a CooldownCheck,
    action: &'a str,
    gate_reason: &'a str,
    command_id: &'a Option<String>,
    config_version: &'a str,
    sequence: i64,
    previous_hash: &'a Option<String>,
    record_hash: &'a str,
}

#[derive(Serialize)]
struct V1Rule<'a> {
    name: &'a str,
    condition: &'a str,
    matched: bool,
    action: &'a str,
}

/// The hash `record` had when it was sealed under schema version 1, if it
/// can be such a record: every field added later at its default.
pub fn v1_record_hash(record: &AuditRecord) -> Option<String> {
    let defaults = AuditRecord::default();
    let r = record;
    let v1_shaped = r.decided_by == defaults.decided_by
        && r.proposed_action.is_empty()
        && r.context.is_empty()
        && r.bandit.is_none()
        && r.checks.is_empty()
        && r.operator_command_id.is_none()
        && r.status == defaults.status
        && r.version == defaults.version
        && r.outcome.is_none()
        && r.supersedes.is_none()
        && r.reward.is_none()
        && r.rules.iter().all(|x| !x.hard && x.priority == 0);
    if !v1_shaped {
        return None;
    }
    let v1 = V1 {
        decision_id: &r.decision_id,
        model_id: &r.model_id,
        model_version: &r.model_version,
        decided_at: r.decided_at,
        inputs: &r.inputs,
        evidence: &r.evidence,
        rules: r
            .rules
            .iter()
            .map(|x| V1Rule {
                name: &x.name,
                condition: &x.condition,
                matched: x.matched,
                action: &x.action,
            })
            .collect(),
        cooldown: &r.cooldown,
        action: &r.action,
        gate_reason: &r.gate_reason,
        command_id: &r.command_id,
        config_version: &r.config_version,
        sequence: r.sequence,
        previous_hash: &r.previous_hash,
        record_hash: "",
    };
    let canonical = serde_json::to_vec(&v1).ok()?;
    Some(hex::encode(Sha256::digest(&canonical)))
}

/// Chains `record` after the record whose hash is `previous`.
pub fn seal(record: &mut AuditRecord, sequence: u64, previous: Option<String>) {
    record.sequence = i64::try_from(sequence).unwrap_or(i64::MAX);
    record.previous_hash = previous;
    record.record_hash = record_hash(record);
}

/// One record [`verify`] found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Its sequence number.
    pub sequence: i64,
    /// Its decision id.
    pub decision_id: String,
    /// What is wrong, in plain words.
    pub detail: String,
}

/// What [`verify`] found for one model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// Model.
    pub model_id: String,
    /// Records read (every one, re-deliveries included).
    pub records: u64,
    /// Identical records read more than once.
    pub redelivered: u64,
    /// Records from before the chain (sequence 0, no hash): not checked.
    pub unchained: u64,
    /// Records sealed under schema version 1, checked against the JSON they
    /// were sealed with.
    pub sealed_v1: u64,
    /// Missing sequences a present record supersedes by name (removed by
    /// compaction); the next record's link is checked against the name.
    pub compacted: u64,
    /// Missing sequences accounted for by a later version's number only
    /// (an intermediate version named only by a version also compacted);
    /// the link from the next record cannot be checked.
    pub compacted_unnamed: u64,
    /// Missing sequence ranges (first, last), inclusive.
    pub gaps: Vec<(i64, i64)>,
    /// Records whose content does not match their hash.
    pub bad_hash: Vec<Fault>,
    /// Records whose `previous_hash` or `supersedes` does not match the
    /// record (present or compacted) it names.
    pub bad_link: Vec<Fault>,
    /// Sequence numbers held by different records (or named with
    /// different hashes).
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

    /// Missing sequence numbers in all gaps (saturating).
    pub fn missing(&self) -> u64 {
        self.gaps.iter().fold(0u64, |n, (a, b)| {
            let len = b.abs_diff(*a).saturating_add(1);
            n.saturating_add(len)
        })
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for ChainReport {
    /// One summary line with the counts, then one indented line per
    /// problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_intact() { "intact" } else { "BROKEN" };
        write!(
            f,
            "{}: {verdict}: {} checked",
            self.model_id,
            plural(self.records, "record", "records")
        )?;
        let mut notes = Vec::new();
        if self.redelivered > 0 {
            notes.push(format!("{} redelivered", self.redelivered));
        }
        if self.unchained > 0 {
            notes.push(format!("{} from before the chain", self.unchained));
        }
        if self.sealed_v1 > 0 {
            notes.push(format!("{} sealed under schema v1", self.sealed_v1));
        }
        if !notes.is_empty() {
            write!(f, " ({})", notes.join(", "))?;
        }
        write!(
            f,
            ", {} accounted for",
            plural(
                self.compacted + self.compacted_unnamed,
                "compacted version",
                "compacted versions"
            )
        )?;
        if self.compacted_unnamed > 0 {
            write!(
                f,
                " ({} by version number only, link not checkable)",
                self.compacted_unnamed
            )?;
        }
        write!(
            f,
            ", {}, {}, {}, {}",
            plural(self.gaps.len() as u64, "gap", "gaps"),
            plural(self.bad_hash.len() as u64, "bad hash", "bad hashes"),
            plural(self.bad_link.len() as u64, "bad link", "bad links"),
            plural(self.conflicts.len() as u64, "conflict", "conflicts"),
        )?;
        for (a, b) in &self.gaps {
            if a == b {
                write!(f, "\n  gap: sequence {a} is missing")?;
            } else {
                write!(f, "\n  gap: sequences {a} to {b} are missing")?;
            }
        }
        for x in &self.bad_hash {
            write!(
                f,
                "\n  bad hash: sequence {} (decision {}): {}",
                x.sequence, x.decision_id, x.detail
            )?;
        }
        for x in &self.bad_link {
            write!(
                f,
                "\n  bad link: sequence {} (decision {}): {}",
                x.sequence, x.decision_id, x.detail
            )?;
        }
        for s in &self.conflicts {
            write!(f, "\n  conflict: sequence {s} is held by different records")?;
        }
        Ok(())
    }
}

/// A distinct record of a chain with its recomputed hash.
struct Entry {
    record: AuditRecord,
    computed: String,
}

/// A missing sequence a present record names in its `supersedes`.
struct Claim<'a> {
    by: &'a AuditRecord,
    hash: &'a str,
}

/// Verifies every model's chain in `records` (any order).
pub fn verify(records: impl IntoIterator<Item = AuditRecord>) -> Vec<ChainReport> {
    let mut by_model: BTreeMap<String, Vec<AuditRecord>> = BTreeMap::new();
    for r in records {
        by_model.entry(r.model_id.clone()).or_default().push(r);
    }
    by_model
        .into_iter()
        .map(|(model_id, chain)| verify_model(model_id, chain))
        .collect()
}

fn fault(r: &AuditRecord, detail: String) -> Fault {
    Fault {
        sequence: r.sequence,
        decision_id: r.decision_id.clone(),
        detail,
    }
}

fn verify_model(model_id: String, chain: Vec<AuditRecord>) -> ChainReport {
    let mut report = ChainReport {
        model_id,
        records: chain.len() as u64,
        ..ChainReport::default()
    };
    // Distinct records by sequence; identical copies are re-deliveries.
    let mut at: BTreeMap<i64, Vec<Entry>> = BTreeMap::new();
    for r in chain {
        if r.sequence == 0 && r.record_hash.is_empty() && r.previous_hash.is_none() {
            report.unchained += 1;
            continue;
        }
        let computed = record_hash(&r);
        let entries = at.entry(r.sequence).or_default();
        if entries
            .iter()
            .any(|e| e.computed == computed && e.record.record_hash == r.record_hash)
        {
            report.redelivered += 1;
            continue;
        }
        entries.push(Entry {
            record: r,
            computed,
        });
    }
    for (seq, entries) in &at {
        if entries.len() > 1 {
            report.conflicts.push(*seq);
        }
        for e in entries {
            if e.computed == e.record.record_hash {
                // Sealed by this version.
            } else if v1_record_hash(&e.record).as_deref() == Some(e.record.record_hash.as_str()) {
                report.sealed_v1 += 1;
            } else {
                report.bad_hash.push(fault(
                    &e.record,
                    "its content does not match its record_hash (altered)".into(),
                ));
            }
            if *seq < 1 {
                report.bad_link.push(fault(
                    &e.record,
                    "a sequence number below 1 has no place in a chain".into(),
                ));
            }
        }
    }
    let claims = check_supersedes(&at, &mut report);
    let implied = implied_versions(&at, &claims);
    report.compacted = claims.len() as u64;
    report.compacted_unnamed = implied.len() as u64;
    check_links(&at, &claims, &implied, &mut report);
    report.gaps = gaps(&at, &claims, &implied);
    report.conflicts.sort_unstable();
    report.conflicts.dedup();
    report.bad_hash.sort_by_key(|x| x.sequence);
    report.bad_link.sort_by_key(|x| x.sequence);
    report
}

/// Checks every `supersedes`: against the named record when it is present,
/// else records the claim on the missing sequence.
fn check_supersedes<'a>(
    at: &'a BTreeMap<i64, Vec<Entry>>,
    report: &mut ChainReport,
) -> BTreeMap<i64, Claim<'a>> {
    let mut claims: BTreeMap<i64, Claim<'a>> = BTreeMap::new();
    for e in at.values().flatten() {
        let r = &e.record;
        let Some(sup) = &r.supersedes else { continue };
        if sup.sequence < 1 || sup.sequence >= r.sequence {
            report.bad_link.push(fault(
                r,
                format!(
                    "it supersedes sequence {}, which is not before it",
                    sup.sequence
                ),
            ));
            continue;
        }
        match at.get(&sup.sequence) {
            Some(named) => {
                let ok = named.iter().any(|n| {
                    n.record.record_hash == sup.record_hash && n.record.decision_id == r.decision_id
                });
                if !ok {
                    report.bad_link.push(fault(
                        r,
                        format!(
                            "it supersedes sequence {}, but no version of this decision there has the hash it names",
                            sup.sequence
                        ),
                    ));
                }
            }
            None => match claims.get(&sup.sequence) {
                Some(other)
                    if other.hash != sup.record_hash || other.by.decision_id != r.decision_id =>
                {
                    report.conflicts.push(sup.sequence);
                }
                Some(_) => {}
                None => {
                    claims.insert(
                        sup.sequence,
                        Claim {
                            by: r,
                            hash: &sup.record_hash,
                        },
                    );
                }
            },
        }
    }
    claims
}

/// Missing sequences accounted for by version numbers: a decision present
/// at version `v` had versions `1..v`; each one neither present nor named
/// lies between the sequences of its known neighbours, and takes the
/// lowest free missing sequence there (earliest upper bound first).
fn implied_versions(
    at: &BTreeMap<i64, Vec<Entry>>,
    claims: &BTreeMap<i64, Claim<'_>>,
) -> BTreeSet<i64> {
    // Known sequence of each version of each decision.
    let mut known: HashMap<&str, BTreeMap<i64, i64>> = HashMap::new();
    for e in at.values().flatten() {
        let r = &e.record;
        known
            .entry(&r.decision_id)
            .or_default()
            .insert(i64::from(r.version), r.sequence);
    }
    for (seq, c) in claims {
        let v = i64::from(c.by.version) - 1;
        known
            .entry(&c.by.decision_id)
            .or_default()
            .entry(v)
            .or_insert(*seq);
    }
    // Slots: (upper bound, lower bound) of each unknown earlier version.
    let mut slots: Vec<(i64, i64)> = Vec::new();
    for versions in known.values() {
        let Some((&top, _)) = versions.last_key_value() else {
            continue;
        };
        let first = top.saturating_sub(MAX_IMPLIED_VERSIONS).max(1);
        for v in first..top {
            if versions.contains_key(&v) {
                continue;
            }
            let lo = versions.range(..v).next_back().map_or(0, |(_, s)| *s);
            let hi = versions.range(v..).next().map_or(i64::MAX, |(_, s)| *s);
            slots.push((hi, lo));
        }
    }
    slots.sort_unstable();
    let mut taken: BTreeSet<i64> = at.keys().copied().chain(claims.keys().copied()).collect();
    let mut implied = BTreeSet::new();
    for (hi, lo) in slots {
        let mut s = lo.saturating_add(1).max(1);
        while s < hi && taken.contains(&s) {
            s = s.saturating_add(1);
        }
        let below_top = at.keys().next_back().is_some_and(|top| s < *top);
        if s < hi && below_top {
            taken.insert(s);
            implied.insert(s);
        }
    }
    implied
}

/// Checks every record's `previous_hash` against the record before it:
/// present, compacted and named, compacted and implied (not checkable), or
/// missing (a gap, reported apart).
fn check_links(
    at: &BTreeMap<i64, Vec<Entry>>,
    claims: &BTreeMap<i64, Claim<'_>>,
    implied: &BTreeSet<i64>,
    report: &mut ChainReport,
) {
    for (seq, entries) in at.range(1..) {
        let prev = seq.saturating_sub(1);
        for e in entries {
            let r = &e.record;
            let link = r.previous_hash.as_deref();
            let detail = if *seq == 1 {
                link.map(|_| "the first record names a previous hash".to_string())
            } else if let Some(before) = at.get(&prev) {
                let ok = link.is_some_and(|h| before.iter().any(|b| b.record.record_hash == h));
                (!ok).then(|| format!("previous_hash does not match sequence {prev}"))
            } else if let Some(c) = claims.get(&prev) {
                (link != Some(c.hash)).then(|| {
                    format!(
                        "previous_hash does not match the hash of compacted sequence {prev} named by decision {} version {}",
                        c.by.decision_id, c.by.version
                    )
                })
            } else if implied.contains(&prev) {
                None
            } else {
                link.is_none()
                    .then(|| "previous_hash is missing after sequence 1".to_string())
            };
            if let Some(detail) = detail {
                report.bad_link.push(fault(r, detail));
            }
        }
    }
}

/// Missing sequence ranges from 1 to the highest present sequence, without
/// the compacted ones accounted for.
fn gaps(
    at: &BTreeMap<i64, Vec<Entry>>,
    claims: &BTreeMap<i64, Claim<'_>>,
    implied: &BTreeSet<i64>,
) -> Vec<(i64, i64)> {
    let held: BTreeSet<i64> = at
        .keys()
        .chain(claims.keys())
        .chain(implied.iter())
        .copied()
        .filter(|s| *s >= 1)
        .collect();
    let mut gaps = Vec::new();
    let mut next = 1i64;
    for s in held {
        if s > next {
            gaps.push((next, s - 1));
        }
        next = s.saturating_add(1);
        if s == i64::MAX {
            break;
        }
    }
    gaps
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
