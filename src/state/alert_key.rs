//! Which alert of a model: the key of its alert table.
//!
//! Guarantees: a key is stored and named as the string it always was
//! (`feature:<name>`, `anomaly:<metric>`, `concept:accuracy`), so the state
//! store's bytes and the drift event ids derived from it do not change; the
//! derived order equals the order of those strings.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One alert of a model. Variants are in the order of their prefixes, so
/// the derived order is the strings' order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKey {
    /// Anomaly alert of a windowed metric (`anomaly:<metric>`).
    Anomaly(String),
    /// The concept-drift alert (`concept:accuracy`).
    Concept,
    /// Covariate-drift alert of a feature (`feature:<name>`).
    Feature(String),
}

const ANOMALY: &str = "anomaly:";
const CONCEPT: &str = "concept:accuracy";
const FEATURE: &str = "feature:";

impl AlertKey {
    /// The key with this name, if it is one.
    pub fn parse(name: &str) -> Option<AlertKey> {
        if name == CONCEPT {
            Some(AlertKey::Concept)
        } else if let Some(metric) = name.strip_prefix(ANOMALY) {
            Some(AlertKey::Anomaly(metric.to_string()))
        } else {
            name.strip_prefix(FEATURE)
                .map(|feature| AlertKey::Feature(feature.to_string()))
        }
    }
}

impl fmt::Display for AlertKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertKey::Anomaly(metric) => write!(f, "{ANOMALY}{metric}"),
            AlertKey::Concept => f.write_str(CONCEPT),
            AlertKey::Feature(feature) => write!(f, "{FEATURE}{feature}"),
        }
    }
}

impl Serialize for AlertKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AlertKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key;
        impl Visitor<'_> for Key {
            type Value = AlertKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an alert key (feature:<name>, anomaly:<metric> or concept:accuracy)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AlertKey, E> {
                AlertKey::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_string(Key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<AlertKey> {
        vec![
            AlertKey::Feature("tenure_days".into()),
            AlertKey::Anomaly("score_mean".into()),
            AlertKey::Concept,
            AlertKey::Feature(String::new()),
            AlertKey::Anomaly("latency_mean".into()),
            AlertKey::Feature("a:b".into()),
        ]
    }

    #[test]
    fn stored_as_the_string_it_was() -> Result<(), postcard::Error> {
        for k in keys() {
            let name = k.to_string();
            assert_eq!(AlertKey::parse(&name), Some(k.clone()));
            let bytes = postcard::to_allocvec(&k)?;
            assert_eq!(bytes, postcard::to_allocvec(&name)?);
            assert_eq!(postcard::from_bytes::<AlertKey>(&bytes)?, k);
        }
        assert_eq!(AlertKey::Concept.to_string(), "concept:accuracy");
        assert_eq!(AlertKey::parse("concept:other"), None);
        assert_eq!(AlertKey::parse("drift:x"), None);
        assert!(postcard::from_bytes::<AlertKey>(&postcard::to_allocvec("x:y")?).is_err());
        Ok(())
    }

    #[test]
    fn order_is_the_strings_order() {
        let mut by_key = keys();
        by_key.sort();
        let mut by_name: Vec<String> = keys().iter().map(ToString::to_string).collect();
        by_name.sort();
        let sorted: Vec<String> = by_key.iter().map(ToString::to_string).collect();
        assert_eq!(sorted, by_name);
    }
}
