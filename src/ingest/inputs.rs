//! Reading the input topics in their configured formats.
//!
//! Guarantees: a topic in `avro` format is decoded exactly as before
//! ([`super::decode`], jidoka's own schema); a topic in `json` format is
//! parsed ([`super::json`]) and mapped ([`super::mapping`]); either way a
//! record yields its typed value or one dead letter whose `error_kind` is
//! the error's class and whose reason names the field.

use rdkafka::message::{Message, OwnedMessage};

use super::config::{InputConfig, InputFormat, LabelMapping, PredictionMapping};
use super::json;
use super::{dead_letter_because, decode};
use crate::schema::{Codec, DeadLetter, Label, Prediction};

/// How each input topic is read, built once from `[input]`.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `None`: jidoka's Avro.
    predictions: Option<PredictionMapping>,
    /// `None`: jidoka's Avro.
    labels: Option<LabelMapping>,
}

impl Inputs {
    /// The readers of `[input]`.
    pub fn new(cfg: &InputConfig) -> Inputs {
        let p = &cfg.predictions;
        let l = &cfg.labels;
        Inputs {
            predictions: (p.format == InputFormat::Json)
                .then(|| p.mapping.clone().unwrap_or_default()),
            labels: (l.format == InputFormat::Json).then(|| l.mapping.clone().unwrap_or_default()),
        }
    }

    /// A prediction from a consumed record, or its dead letter.
    pub fn prediction(
        &self,
        codec: &Codec,
        msg: &OwnedMessage,
    ) -> Result<Prediction, Box<DeadLetter>> {
        match &self.predictions {
            None => decode::<Prediction>(codec, msg),
            Some(mapping) => from_json(msg, |v, key, ts| mapping.apply(v, key, ts)),
        }
    }

    /// A label from a consumed record, or its dead letter.
    pub fn label(&self, codec: &Codec, msg: &OwnedMessage) -> Result<Label, Box<DeadLetter>> {
        match &self.labels {
            None => decode::<Label>(codec, msg),
            Some(mapping) => from_json(msg, |v, key, ts| mapping.apply(v, key, ts)),
        }
    }
}

/// Parses a record's value as JSON and maps it.
fn from_json<T>(
    msg: &OwnedMessage,
    map: impl FnOnce(&serde_json::Value, Option<&[u8]>, Option<i64>) -> Result<T, super::MappingError>,
) -> Result<T, Box<DeadLetter>> {
    let record = json::parse(msg.payload())
        .map_err(|e| Box::new(dead_letter_because(msg, e.kind(), e.to_string())))?;
    map(&record.value, msg.key(), msg.timestamp().to_millis())
        .map_err(|e| Box::new(dead_letter_because(msg, e.kind(), e.to_string())))
}
