//! The canonical JSON of a record whose bandit view was written before
//! version 4 of the audit schema (no `seed`, `against` or arm `deviation`),
//! as versions 2 and 3 sealed it.
//!
//! Guarantees: [`canonical`] answers only for a record with a bandit view
//! in which all three version-4 fields are absent (`None`), and then gives
//! exactly the JSON the record had when it was sealed: the record's own
//! JSON with its bandit view in the version-3 layout (`chosen`,
//! `confidence`, `threshold`, `samples`, `arms` of `action`,
//! `posterior_mean`, `observations`). A record written since always has a
//! `seed` in its bandit view, so it is hashed with its new fields. Never
//! panics.

use serde::Serialize;

use crate::schema::{AuditRecord, BanditView};

/// The bandit view as version 3 serialized it.
#[derive(Serialize)]
struct V3Bandit<'a> {
    chosen: &'a str,
    confidence: f64,
    threshold: f64,
    samples: i32,
    arms: Vec<V3Arm<'a>>,
}

/// An arm as version 3 serialized it.
#[derive(Serialize)]
struct V3Arm<'a> {
    action: &'a str,
    posterior_mean: f64,
    observations: i64,
}

/// Where the bandit view sits in a record's JSON when it is null: the
/// field before it is the `context` map (whose values are numbers or null,
/// never `[`), and no JSON string holds an unescaped `"`, so this occurs
/// once, at the top level.
const NO_BANDIT: &[u8] = b",\"bandit\":null,\"checks\":[";

/// Whether `b` was written before version 4 (none of its fields).
fn is_v3(b: &BanditView) -> bool {
    b.seed.is_none() && b.against.is_none() && b.arms.iter().all(|a| a.deviation.is_none())
}

/// The JSON `record` was sealed with, when its bandit view predates
/// version 4; `None` otherwise (no bandit view, or one with a version-4
/// field: the record's own JSON is canonical).
pub fn canonical(record: &AuditRecord) -> Option<Vec<u8>> {
    let b = record.bandit.as_ref().filter(|b| is_v3(b))?;
    let v3 = V3Bandit {
        chosen: &b.chosen,
        confidence: b.confidence,
        threshold: b.threshold,
        samples: b.samples,
        arms: b
            .arms
            .iter()
            .map(|a| V3Arm {
                action: &a.action,
                posterior_mean: a.posterior_mean,
                observations: a.observations,
            })
            .collect(),
    };
    let bandit = serde_json::to_vec(&v3).ok()?;
    let without = AuditRecord {
        bandit: None,
        ..record.clone()
    };
    let json = serde_json::to_vec(&without).ok()?;
    let at = json.windows(NO_BANDIT.len()).position(|w| w == NO_BANDIT)?;
    let mut out = Vec::with_capacity(json.len() + bandit.len());
    out.extend_from_slice(&json[..at]);
    out.extend_from_slice(b",\"bandit\":");
    out.extend_from_slice(&bandit);
    out.extend_from_slice(b",\"checks\":[");
    out.extend_from_slice(&json[at + NO_BANDIT.len()..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ArmView;

    fn record(seed: Option<i64>, deviation: Option<f64>) -> AuditRecord {
        AuditRecord {
            decision_id: "d".into(),
            model_id: "m".into(),
            context: [("bandit".to_string(), f64::NAN)].into_iter().collect(),
            bandit: Some(BanditView {
                chosen: "retrain".into(),
                confidence: 0.9,
                threshold: 0.8,
                samples: 200,
                arms: vec![ArmView {
                    action: "retrain".into(),
                    posterior_mean: 0.4,
                    observations: 3,
                    deviation,
                }],
                seed,
                against: None,
            }),
            ..AuditRecord::default()
        }
    }

    /// The version-3 JSON is the record's JSON without the three fields
    /// (checked against the JSON value with them removed), also when the
    /// signal map holds a `bandit` key.
    #[test]
    fn a_version_3_bandit_is_hashed_in_its_own_layout() {
        let r = record(None, None);
        let Some(bytes) = canonical(&r) else {
            panic!("a v3-shaped bandit has a v3 canonical JSON");
        };
        let text = String::from_utf8(bytes.clone()).unwrap_or_default();
        assert!(!text.contains("\"seed\""), "{text}");
        assert!(!text.contains("\"deviation\""), "{text}");
        assert!(!text.contains("\"against\""), "{text}");
        let mut expected = serde_json::to_value(&r).unwrap_or_default();
        if let Some(b) = expected.get_mut("bandit").and_then(|b| b.as_object_mut()) {
            b.remove("seed");
            b.remove("against");
            for arm in b
                .get_mut("arms")
                .and_then(|a| a.as_array_mut())
                .into_iter()
                .flatten()
            {
                arm.as_object_mut().map(|a| a.remove("deviation"));
            }
        }
        let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(parsed, expected);
    }

    /// A bandit view with any version-4 field is not version 3; no bandit
    /// view, nothing to rewrite.
    #[test]
    fn a_version_4_bandit_or_none_is_not_rewritten() {
        assert!(canonical(&record(Some(0), None)).is_none());
        assert!(canonical(&record(None, Some(0.0))).is_none());
        let mut against = record(None, None);
        if let Some(b) = against.bandit.as_mut() {
            b.against = Some("retrain".into());
        }
        assert!(canonical(&against).is_none());
        assert!(canonical(&AuditRecord::default()).is_none());
    }
}
