//! Deterministic ids for everything jidoka writes.
//!
//! Guarantees: an id depends only on its inputs (model, record index,
//! feature, action), never on time or randomness, so processing the same
//! input again (after a crash or a rebalance) yields the same ids and keys,
//! and downstream consumers can de-duplicate on them.

use sha2::{Digest, Sha256};

fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(&h.finalize()[..12])
}

/// Id of the decision taken at a model's `record`-th record.
pub fn decision_id(model: &str, record: u64) -> String {
    format!("dec-{}", hash(&["decision", model, &record.to_string()]))
}

/// Id of the drift event for `feature` at a model's `record`-th record.
pub fn drift_event_id(model: &str, feature: &str, record: u64) -> String {
    format!(
        "drift-{}",
        hash(&["drift", model, feature, &record.to_string()])
    )
}

/// Id of the command a decision issues.
pub fn command_id(decision_id: &str, action: &str) -> String {
    format!("cmd-{}", hash(&["command", decision_id, action]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinct() {
        assert_eq!(decision_id("m", 5), decision_id("m", 5));
        assert_ne!(decision_id("m", 5), decision_id("m", 6));
        assert_ne!(decision_id("m1", 5), decision_id("m", 15));
        assert_ne!(drift_event_id("m", "a", 5), drift_event_id("m", "b", 5));
        assert_eq!(command_id("d", "retrain").len(), 4 + 24);
        // Length-prefixing keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(drift_event_id("ab", "c", 1), drift_event_id("a", "bc", 1));
    }
}
