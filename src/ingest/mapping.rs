//! Field mapping: a record with the producer's own field names, as a
//! `serde_json::Value`, into jidoka's [`Prediction`] or [`Label`].
//!
//! Pure code: JSON input and registry-Avro input (decoded with the
//! producer's writer schema, then converted to a `Value`) go through the
//! same functions. Guarantees: [`PredictionMapping::apply`] and
//! [`LabelMapping::apply`] never panic; they return a record that passed
//! the record's own contract (the checks native Avro records pass), or a
//! [`MappingError`] naming the field path and the problem, which the
//! ingest stage writes as a dead letter (`error_kind` from
//! [`MappingError::kind`]).

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::config::{LabelMapping, PredictionMapping, TimeUnit};
use super::json::non_finite_token;
use super::path::{child, json_type, FieldPath, Source};
use crate::schema::{AvroRecord, Label, Prediction};

/// Why a record does not map. The record's fault: retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// A required field is absent or `null`.
    #[error("missing field `{path}`")]
    Missing {
        /// Path of the field (`$key`, `$timestamp` for the record's own).
        path: String,
    },
    /// A field has another JSON type than the mapping needs.
    #[error("`{path}` is {found}, expected {expected}")]
    WrongType {
        /// Path of the field.
        path: String,
        /// What it should be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A number is NaN or infinite.
    #[error("`{path}` is {value}, not a finite number")]
    NonFinite {
        /// Path of the field.
        path: String,
        /// How it was written (`NaN`, `Infinity`, `1e999`).
        value: String,
    },
    /// A field has the right type but an unusable value (a time that does
    /// not parse, a key that is not UTF-8).
    #[error("`{path}`: {reason}")]
    BadValue {
        /// Path of the field.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The mapped record breaks the record's contract (e.g. an empty
    /// model id, an event time before 1970).
    #[error("invalid value: {0}")]
    Contract(String),
}

impl MappingError {
    /// Short class name, written as `error_kind` in dead-letter records.
    pub fn kind(&self) -> &'static str {
        match self {
            MappingError::Missing { .. } => "missing-field",
            MappingError::WrongType { .. } => "wrong-type",
            MappingError::NonFinite { .. } => "non-finite",
            MappingError::BadValue { .. } | MappingError::Contract(_) => "invalid-value",
        }
    }
}

/// One record and its Kafka envelope, as the mapping reads them.
struct Reader<'a> {
    value: &'a Value,
    key: Option<&'a [u8]>,
    timestamp_ms: Option<i64>,
}

/// Latest event time accepted (9999-12-31T23:59:59.999Z), in ms.
const MAX_EVENT_TIME_MS: f64 = 253_402_300_799_999.0;

impl<'a> Reader<'a> {
    fn new(
        value: &'a Value,
        key: Option<&'a [u8]>,
        timestamp_ms: Option<i64>,
    ) -> Result<Self, MappingError> {
        if !value.is_object() {
            return Err(MappingError::WrongType {
                path: "$".into(),
                expected: "an object",
                found: json_type(value),
            });
        }
        Ok(Reader {
            value,
            key,
            timestamp_ms,
        })
    }

    fn at(&self, path: &FieldPath) -> Result<Option<&'a Value>, MappingError> {
        path.get(self.value).map_err(|e| MappingError::WrongType {
            path: e.at,
            expected: e.expected,
            found: e.found,
        })
    }

    /// A text value: strings as they are, numbers and booleans written out.
    fn text(&self, source: &Source) -> Result<Option<String>, MappingError> {
        match source {
            Source::Key => match self.key {
                None => Ok(None),
                Some(bytes) => std::str::from_utf8(bytes)
                    .map(|s| Some(s.to_string()))
                    .map_err(|_| MappingError::BadValue {
                        path: "$key".into(),
                        reason: "the record key is not UTF-8 text".into(),
                    }),
            },
            Source::Constant(c) => Ok(Some(c.clone())),
            Source::Timestamp => Ok(self.timestamp_ms.map(|t| t.to_string())),
            Source::Path(p) => match self.at(p)? {
                None => Ok(None),
                Some(v) => scalar_text(p.as_str(), v).map(Some),
            },
        }
    }

    fn required_text(&self, source: &Source) -> Result<String, MappingError> {
        self.text(source)?.ok_or_else(|| missing(source))
    }

    fn number(&self, source: &Source) -> Result<Option<f64>, MappingError> {
        match source {
            Source::Path(p) => match self.at(p)? {
                None => Ok(None),
                Some(v) => number(p.as_str(), v).map(Some),
            },
            Source::Timestamp => Ok(self.timestamp_ms.map(|t| t as f64)),
            other => Err(MappingError::WrongType {
                path: other.text().to_string(),
                expected: "a number",
                found: "a string",
            }),
        }
    }

    fn event_time(&self, source: &Source, unit: TimeUnit) -> Result<i64, MappingError> {
        let path = source.text();
        match source {
            Source::Timestamp => self.timestamp_ms.ok_or_else(|| missing(source)),
            Source::Path(p) => match self.at(p)?.ok_or_else(|| missing(source))? {
                Value::String(s) if non_finite_token(s).is_none() => {
                    rfc3339_ms(s).map_err(|reason| MappingError::BadValue {
                        path: path.into(),
                        reason,
                    })
                }
                v => {
                    let n = number(path, v).map_err(|e| match e {
                        MappingError::WrongType { path, found, .. } => MappingError::WrongType {
                            path,
                            expected: "a number or an RFC 3339 string",
                            found,
                        },
                        other => other,
                    })?;
                    let ms = match unit {
                        TimeUnit::Ms => n,
                        TimeUnit::S => n * 1000.0,
                    };
                    if !(0.0..=MAX_EVENT_TIME_MS).contains(&ms) {
                        return Err(MappingError::BadValue {
                            path: path.into(),
                            reason: format!("{n} ({unit:?}) is outside 1970-01-01..9999-12-31"),
                        });
                    }
                    Ok(ms.round() as i64)
                }
            },
            other => Err(MappingError::WrongType {
                path: other.text().to_string(),
                expected: "a number or an RFC 3339 string",
                found: "a string",
            }),
        }
    }

    /// The object at `path` (required), with its path.
    fn object(&self, path: &FieldPath) -> Result<&'a Map<String, Value>, MappingError> {
        match self.at(path)? {
            None => Err(MappingError::Missing {
                path: path.as_str().into(),
            }),
            Some(Value::Object(map)) => Ok(map),
            Some(other) => Err(MappingError::WrongType {
                path: path.as_str().into(),
                expected: "an object",
                found: json_type(other),
            }),
        }
    }
}

fn missing(source: &Source) -> MappingError {
    MappingError::Missing {
        path: source.text().to_string(),
    }
}

/// A number, or why not (a non-finite token written by a lenient producer
/// arrives as a marked string, see [`super::json`]).
fn number(path: &str, v: &Value) -> Result<f64, MappingError> {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(MappingError::NonFinite {
                path: path.into(),
                value: n.to_string(),
            }),
        },
        Value::String(s) => match non_finite_token(s) {
            Some(token) => Err(MappingError::NonFinite {
                path: path.into(),
                value: token.into(),
            }),
            None => Err(MappingError::WrongType {
                path: path.into(),
                expected: "a number",
                found: "a string",
            }),
        },
        other => Err(MappingError::WrongType {
            path: path.into(),
            expected: "a number",
            found: json_type(other),
        }),
    }
}

/// A string, number or boolean as text.
fn scalar_text(path: &str, v: &Value) -> Result<String, MappingError> {
    match v {
        Value::String(s) => match non_finite_token(s) {
            Some(token) => Err(MappingError::NonFinite {
                path: path.into(),
                value: token.into(),
            }),
            None => Ok(s.clone()),
        },
        Value::Number(n) => number_text(path, n),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(MappingError::WrongType {
            path: path.into(),
            expected: "a string, number or boolean",
            found: json_type(other),
        }),
    }
}

/// Integers as written, other numbers as Rust writes an `f64` (`1.0` is
/// `1`, `0.5` is `0.5`).
fn number_text(path: &str, n: &Number) -> Result<String, MappingError> {
    if let Some(i) = n.as_i64() {
        return Ok(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Ok(u.to_string());
    }
    match n.as_f64() {
        Some(x) if x.is_finite() => Ok(x.to_string()),
        _ => Err(MappingError::NonFinite {
            path: path.into(),
            value: n.to_string(),
        }),
    }
}

/// An RFC 3339 time (`2024-05-01T12:00:00Z`, `...+02:00`, fractions of a
/// second allowed) as ms since the epoch.
pub fn rfc3339_ms(text: &str) -> Result<i64, String> {
    let bad = |e: &dyn std::fmt::Display| format!("`{text}` is not an RFC 3339 time: {e}");
    // humantime reads UTC (`Z`) only: apply a numeric offset here.
    let split = text
        .len()
        .checked_sub(6)
        .filter(|i| text.is_char_boundary(*i));
    let (utc, offset_ms) = match split.map(|i| text.split_at(i)) {
        Some((head, tail))
            if (tail.starts_with('+') || tail.starts_with('-'))
                && tail.as_bytes().get(3) == Some(&b':')
                && head.contains('T') =>
        {
            let hours: i64 = tail[1..3].parse().map_err(|e| bad(&e))?;
            let minutes: i64 = tail[4..6].parse().map_err(|e| bad(&e))?;
            let sign = if tail.starts_with('-') { -1 } else { 1 };
            (format!("{head}Z"), sign * (hours * 60 + minutes) * 60_000)
        }
        _ => (text.to_string(), 0),
    };
    let t = humantime::parse_rfc3339(&utc).map_err(|e| bad(&e))?;
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| format!("`{text}` is before 1970-01-01"))?
        .as_millis();
    i64::try_from(ms)
        .map(|ms| ms - offset_ms)
        .map_err(|e| bad(&e))
}

type Features = (BTreeMap<String, f64>, Option<BTreeMap<String, String>>);

impl PredictionMapping {
    /// Maps one record (its value, and its Kafka key and timestamp for
    /// `$key` and `$timestamp`) to a prediction.
    pub fn apply(
        &self,
        value: &Value,
        key: Option<&[u8]>,
        timestamp_ms: Option<i64>,
    ) -> Result<Prediction, MappingError> {
        let r = Reader::new(value, key, timestamp_ms)?;
        let (features, categorical_features) = self.features(&r)?;
        let prediction = Prediction {
            prediction_id: r.required_text(&self.prediction_id)?,
            model_id: r.required_text(&self.model_id)?,
            model_version: r.required_text(&self.model_version)?,
            event_time: r.event_time(&self.event_time, self.event_time_unit)?,
            features,
            categorical_features,
            score: r.number(&self.score)?.ok_or_else(|| missing(&self.score))?,
            predicted_class: r.text(&self.predicted_class)?,
            latency_ms: r.number(&self.latency_ms)?,
        };
        prediction.check().map_err(MappingError::Contract)?;
        Ok(prediction)
    }

    fn features(&self, r: &Reader<'_>) -> Result<Features, MappingError> {
        let mut numeric = BTreeMap::new();
        let mut categorical = BTreeMap::new();
        if !(self.features.is_empty() && self.categorical.is_empty()) {
            let (base, base_path) = match &self.features_from {
                Some(p) => (r.object(p)?, p.as_str()),
                None => match r.value {
                    Value::Object(map) => (map, "$"),
                    _ => return Err(MappingError::Contract("not an object".into())),
                },
            };
            let field = |name: &str| {
                let path = child(base_path, name);
                match base.get(name) {
                    None | Some(Value::Null) => Err(MappingError::Missing { path }),
                    Some(v) => Ok((path, v)),
                }
            };
            for name in &self.features {
                let (path, v) = field(name)?;
                numeric.insert(name.clone(), number(&path, v)?);
            }
            for name in &self.categorical {
                let (path, v) = field(name)?;
                categorical.insert(name.clone(), scalar_text(&path, v)?);
            }
            let categorical = (!categorical.is_empty()).then_some(categorical);
            return Ok((numeric, categorical));
        }
        if let Some(p) = &self.features_from {
            for (name, v) in r.object(p)? {
                if self.exclude.iter().any(|e| e == name) {
                    continue;
                }
                match v {
                    Value::Null => {}
                    Value::Number(_) => {
                        numeric.insert(name.clone(), number(&child(p.as_str(), name), v)?);
                    }
                    Value::String(_) | Value::Bool(_) => {
                        categorical.insert(name.clone(), scalar_text(&child(p.as_str(), name), v)?);
                    }
                    other => {
                        return Err(MappingError::WrongType {
                            path: child(p.as_str(), name),
                            expected: "a number, string or boolean (or list it in `exclude`)",
                            found: json_type(other),
                        })
                    }
                }
            }
            let categorical = (!categorical.is_empty()).then_some(categorical);
            return Ok((numeric, categorical));
        }
        // jidoka's own layout.
        let Value::Object(root) = r.value else {
            return Err(MappingError::Contract("not an object".into()));
        };
        match root.get("features") {
            None | Some(Value::Null) => {
                return Err(MappingError::Missing {
                    path: "$.features".into(),
                })
            }
            Some(Value::Object(map)) => {
                for (name, v) in map {
                    numeric.insert(name.clone(), number(&child("$.features", name), v)?);
                }
            }
            Some(other) => {
                return Err(MappingError::WrongType {
                    path: "$.features".into(),
                    expected: "an object",
                    found: json_type(other),
                })
            }
        }
        let categorical = match root.get("categorical_features") {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => {
                for (name, v) in map {
                    let path = child("$.categorical_features", name);
                    categorical.insert(name.clone(), scalar_text(&path, v)?);
                }
                Some(categorical)
            }
            Some(other) => {
                return Err(MappingError::WrongType {
                    path: "$.categorical_features".into(),
                    expected: "an object",
                    found: json_type(other),
                })
            }
        };
        Ok((numeric, categorical))
    }
}

impl LabelMapping {
    /// Maps one record (its value, and its Kafka key and timestamp) to a
    /// label.
    pub fn apply(
        &self,
        value: &Value,
        key: Option<&[u8]>,
        timestamp_ms: Option<i64>,
    ) -> Result<Label, MappingError> {
        let r = Reader::new(value, key, timestamp_ms)?;
        let label = Label {
            prediction_id: r.required_text(&self.prediction_id)?,
            model_id: r.required_text(&self.model_id)?,
            event_time: r.event_time(&self.event_time, self.event_time_unit)?,
            label: r.required_text(&self.label)?,
        };
        label.check().map_err(MappingError::Contract)?;
        Ok(label)
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
