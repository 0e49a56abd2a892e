//! The typed config of the input topics (`[input.predictions]`,
//! `[input.labels]`): their format and, for records that are not in
//! jidoka's own layout, the mapping from the producer's fields.
//!
//! Every key has a default: without an `[input]` table nothing changes
//! (jidoka's Avro records); a mapping table names only the fields that
//! differ from jidoka's own names (`prediction_id`, `model_id`, ...).

use serde::{Deserialize, Serialize};

use super::path::{FieldPath, Source};

/// The input topics' formats and mappings (`[input]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InputConfig {
    /// The predictions topic (`topics.predictions`).
    #[serde(default)]
    pub predictions: PredictionsInput,
    /// The labels topic (`topics.labels`).
    #[serde(default)]
    pub labels: LabelsInput,
}

/// How records on the predictions topic are read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PredictionsInput {
    /// `avro` (jidoka's `schemas/prediction.avsc` in the Confluent frame)
    /// or `json` (a JSON object per record, plain or in the Confluent
    /// JSON-Schema frame).
    #[serde(default)]
    pub format: InputFormat,
    /// What the topic's records are keyed by: `model-id` (the default; a
    /// model's records are on one partition, chosen by `kafka.partitioner`
    /// from the model id) or `other` (e.g. a request id: jidoka forwards
    /// every record, keyed by its model id, to the repartition topic
    /// `<group-id>-<topic>-repartition` and processes it from there).
    #[serde(default)]
    pub key: crate::config::InputKey,
    /// Where each field of a prediction comes from (`format = "json"`).
    /// Absent: jidoka's own field names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<PredictionMapping>,
}

/// How records on the labels topic are read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LabelsInput {
    /// `avro` (`schemas/label.avsc`) or `json`.
    #[serde(default)]
    pub format: InputFormat,
    /// What the topic's records are keyed by: `model-id` (the default; a
    /// model's records are on one partition, chosen by `kafka.partitioner`
    /// from the model id) or `other` (e.g. a request id: jidoka forwards
    /// every record, keyed by its model id, to the repartition topic
    /// `<group-id>-<topic>-repartition` and processes it from there).
    #[serde(default)]
    pub key: crate::config::InputKey,
    /// Where each field of a label comes from (`format = "json"`).
    /// Absent: jidoka's own field names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<LabelMapping>,
}

/// Format of an input topic's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// Avro with jidoka's schema, in the Confluent wire frame.
    #[default]
    Avro,
    /// A JSON object; a leading Confluent frame (byte 0 and a 4-byte
    /// schema id) is recognised and skipped.
    Json,
}

/// Unit of a numeric event time (an RFC 3339 string needs none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeUnit {
    /// Milliseconds since the epoch.
    #[default]
    Ms,
    /// Seconds since the epoch (fractions allowed).
    S,
}

/// Where each field of a [`crate::schema::Prediction`] comes from
/// (`[input.predictions.mapping]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PredictionMapping {
    /// Model id: `"$key"` (the record key, UTF-8) or a field path.
    #[serde(default = "default_model_id")]
    pub model_id: Source,
    /// Model version: a field path, or a constant (text not starting
    /// with `$`).
    #[serde(default = "default_model_version")]
    pub model_version: Source,
    /// Prediction id (labels refer to it): a field path or `"$key"`; a
    /// number is read as its decimal text.
    #[serde(default = "default_prediction_id")]
    pub prediction_id: Source,
    /// Model score: a field path to a number.
    #[serde(default = "default_score")]
    pub score: Source,
    /// Predicted class (optional in the record): a field path to a string,
    /// number or boolean, read as text.
    #[serde(default = "default_predicted_class")]
    pub predicted_class: Source,
    /// Serving latency in ms (optional in the record): a field path to a
    /// number.
    #[serde(default = "default_latency_ms")]
    pub latency_ms: Source,
    /// Event time: `"$timestamp"` (the Kafka record's timestamp) or a
    /// field path to a number (in `event-time-unit`) or an RFC 3339 string.
    #[serde(default = "default_event_time")]
    pub event_time: Source,
    /// Unit of a numeric event time: `ms` or `s`.
    #[serde(default)]
    pub event_time_unit: TimeUnit,
    /// An object whose entries are the features. With `features` and
    /// `categorical` empty, every entry but those in `exclude` is a
    /// feature: a number is numeric, a string or boolean categorical.
    /// Absent (and both lists empty): jidoka's own layout (numbers in
    /// `$.features`, strings in `$.categorical_features`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features_from: Option<FieldPath>,
    /// Numeric features, by name: fields of `features-from` or, without
    /// it, of the record itself. Each must be present and a number.
    #[serde(default)]
    pub features: Vec<String>,
    /// Categorical features, by name, like `features`; a string, number or
    /// boolean, read as text.
    #[serde(default)]
    pub categorical: Vec<String>,
    /// Entries of `features-from` that are not features (when `features`
    /// and `categorical` are empty).
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// Where each field of a [`crate::schema::Label`] comes from
/// (`[input.labels.mapping]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LabelMapping {
    /// Id of the prediction the label belongs to: a field path or `"$key"`.
    #[serde(default = "default_prediction_id")]
    pub prediction_id: Source,
    /// Model id: `"$key"` or a field path.
    #[serde(default = "default_model_id")]
    pub model_id: Source,
    /// The true value: a field path to a string, number or boolean, read
    /// as text (`1` and `1.0` both as `1`, `true` as `true`).
    #[serde(default = "default_label")]
    pub label: Source,
    /// When the truth became known: `"$timestamp"` or a field path.
    #[serde(default = "default_event_time")]
    pub event_time: Source,
    /// Unit of a numeric event time: `ms` or `s`.
    #[serde(default)]
    pub event_time_unit: TimeUnit,
}

fn native(path: &str) -> Source {
    match Source::path(path) {
        Ok(s) => s,
        // The defaults below are constants that parse.
        Err(_) => Source::Constant(path.to_string()),
    }
}

fn default_model_id() -> Source {
    native("$.model_id")
}
fn default_model_version() -> Source {
    native("$.model_version")
}
fn default_prediction_id() -> Source {
    native("$.prediction_id")
}
fn default_score() -> Source {
    native("$.score")
}
fn default_predicted_class() -> Source {
    native("$.predicted_class")
}
fn default_latency_ms() -> Source {
    native("$.latency_ms")
}
fn default_event_time() -> Source {
    native("$.event_time")
}
fn default_label() -> Source {
    native("$.label")
}

impl Default for PredictionMapping {
    /// jidoka's own field names.
    fn default() -> Self {
        PredictionMapping {
            model_id: default_model_id(),
            model_version: default_model_version(),
            prediction_id: default_prediction_id(),
            score: default_score(),
            predicted_class: default_predicted_class(),
            latency_ms: default_latency_ms(),
            event_time: default_event_time(),
            event_time_unit: TimeUnit::Ms,
            features_from: None,
            features: Vec::new(),
            categorical: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

impl Default for LabelMapping {
    /// jidoka's own field names.
    fn default() -> Self {
        LabelMapping {
            prediction_id: default_prediction_id(),
            model_id: default_model_id(),
            label: default_label(),
            event_time: default_event_time(),
            event_time_unit: TimeUnit::Ms,
        }
    }
}

impl PredictionMapping {
    /// Each source with its key, for checks and messages.
    pub fn sources(&self) -> [(&'static str, &Source); 7] {
        [
            ("model-id", &self.model_id),
            ("model-version", &self.model_version),
            ("prediction-id", &self.prediction_id),
            ("score", &self.score),
            ("predicted-class", &self.predicted_class),
            ("latency-ms", &self.latency_ms),
            ("event-time", &self.event_time),
        ]
    }

    /// A rule the keys break together: `(key, message)`.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (key, source) in self.sources() {
            check_source(key, source)?;
        }
        let explicit = !(self.features.is_empty() && self.categorical.is_empty());
        if explicit && !self.exclude.is_empty() {
            return Err((
                "exclude".into(),
                "applies only when `features` and `categorical` are empty (every entry of \
                 `features-from` is then a feature)"
                    .into(),
            ));
        }
        if !explicit && self.features_from.is_none() && !self.exclude.is_empty() {
            return Err(("exclude".into(), "needs `features-from`".into()));
        }
        for name in &self.features {
            if self.categorical.contains(name) {
                return Err((
                    "categorical".into(),
                    format!("`{name}` is also listed in `features`"),
                ));
            }
        }
        for (key, list) in [
            ("features", &self.features),
            ("categorical", &self.categorical),
        ] {
            for (i, name) in list.iter().enumerate() {
                if name.is_empty() || list[..i].contains(name) {
                    return Err((key.into(), format!("`{name}` is empty or listed twice")));
                }
            }
        }
        Ok(())
    }
}

impl LabelMapping {
    /// Each source with its key.
    pub fn sources(&self) -> [(&'static str, &Source); 4] {
        [
            ("prediction-id", &self.prediction_id),
            ("model-id", &self.model_id),
            ("label", &self.label),
            ("event-time", &self.event_time),
        ]
    }

    /// A rule the keys break: `(key, message)`.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (key, source) in self.sources() {
            check_source(key, source)?;
        }
        Ok(())
    }
}

/// Which kinds of source a key accepts.
fn check_source(key: &str, source: &Source) -> Result<(), (String, String)> {
    let ok = match source {
        Source::Path(_) => true,
        Source::Key => matches!(key, "model-id" | "prediction-id"),
        Source::Timestamp => key == "event-time",
        Source::Constant(_) => key == "model-version",
    };
    if ok {
        return Ok(());
    }
    let accepted = match key {
        "model-id" | "prediction-id" => "a field path (`$.a.b`) or `$key`",
        "event-time" => "a field path (`$.a.b`) or `$timestamp`",
        "model-version" => "a field path (`$.a.b`) or a constant",
        _ => "a field path (`$.a.b`)",
    };
    Err((key.into(), format!("`{source}` is not {accepted}")))
}
