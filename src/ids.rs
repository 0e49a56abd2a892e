//! Deterministic ids for everything jidoka writes.
//!
//! Guarantees: an id depends only on its inputs (model, the input record's
//! topic, partition and offset, feature, action), never on time, randomness
//! or a counter local to one instance, so processing the same input record
//! again (after a crash, or on another instance after a rebalance) yields
//! the same ids and keys, and downstream consumers can de-duplicate on them.
//! Inputs are length-prefixed before hashing, so ("ab", "c") and ("a", "bc")
//! never collide.

use sha2::{Digest, Sha256};

fn hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(&h.finalize()[..12])
}

/// Where an input record is in Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputRef<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// Id of the decision triggered by the input record `at` of `model`.
pub fn decision_id(model: &str, at: InputRef<'_>) -> String {
    format!(
        "dec-{}",
        hash(&[
            b"decision",
            model.as_bytes(),
            at.topic.as_bytes(),
            &at.partition.to_be_bytes(),
            &at.offset.to_be_bytes(),
        ])
    )
}

/// Id of the drift event for `feature` found at the input record `at`.
pub fn drift_event_id(model: &str, feature: &str, at: InputRef<'_>) -> String {
    format!(
        "drift-{}",
        hash(&[
            b"drift",
            model.as_bytes(),
            feature.as_bytes(),
            at.topic.as_bytes(),
            &at.partition.to_be_bytes(),
            &at.offset.to_be_bytes(),
        ])
    )
}

/// Id of the evaluation record of `key` (an alert key: a feature or a
/// metric) at the evaluation the input record `at` triggered.
pub fn evaluation_id(model: &str, key: &str, at: InputRef<'_>) -> String {
    format!(
        "eval-{}",
        hash(&[
            b"evaluation",
            model.as_bytes(),
            key.as_bytes(),
            at.topic.as_bytes(),
            &at.partition.to_be_bytes(),
            &at.offset.to_be_bytes(),
        ])
    )
}

/// Id of the command a decision issues.
pub fn command_id(decision_id: &str, action: &str) -> String {
    format!(
        "cmd-{}",
        hash(&[b"command", decision_id.as_bytes(), action.as_bytes()])
    )
}

/// Id of the audit record of an operator command read from `partition` of
/// the operator topic (a command for every model is read on each
/// partition, and audited once per partition).
pub fn operator_record_id(command_id: &str, partition: i32) -> String {
    format!(
        "op-{}",
        hash(&[b"operator", command_id.as_bytes(), &partition.to_be_bytes()])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64) -> InputRef<'static> {
        InputRef {
            topic: "predictions",
            partition: 1,
            offset,
        }
    }

    #[test]
    fn stable_and_distinct() {
        assert_eq!(decision_id("m", at(5)), decision_id("m", at(5)));
        assert_ne!(decision_id("m", at(5)), decision_id("m", at(6)));
        let other_partition = InputRef {
            partition: 2,
            ..at(5)
        };
        assert_ne!(decision_id("m", at(5)), decision_id("m", other_partition));
        assert_ne!(
            drift_event_id("m", "a", at(5)),
            drift_event_id("m", "b", at(5))
        );
        assert_eq!(command_id("d", "retrain").len(), 4 + 24);
        // Length-prefixing keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(
            drift_event_id("ab", "c", at(1)),
            drift_event_id("a", "bc", at(1))
        );
    }
}
