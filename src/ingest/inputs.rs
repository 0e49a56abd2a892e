//! Reading the input topics in their configured formats.
//!
//! Guarantees: a topic in `avro` format without a mapping is decoded
//! exactly as before ([`super::decode`]: the writer schema, jidoka's own or
//! one from the Schema Registry, resolved against jidoka's); a topic in
//! `avro` format with a mapping (a producer's own schema, through the
//! registry) is decoded with its writer schema into a generic value
//! ([`Codec::decode_generic`]) and mapped; a topic in `json` format is
//! parsed ([`super::json`]) and mapped ([`super::mapping`]); either way a
//! record yields its typed value or one dead letter whose `error_kind` is
//! the error's class and whose reason names the field.

use rdkafka::message::{Message, OwnedMessage};

use super::config::{InputConfig, InputFormat, LabelMapping, PredictionMapping};
use super::json;
use super::{dead_letter_because, decode};
use crate::schema::{Codec, DeadLetter, Label, Prediction};

/// How one input topic's records are read.
#[derive(Debug, Clone, Default)]
enum Reader<M> {
    /// jidoka's own Avro schema (or a registry writer schema resolved
    /// against it).
    #[default]
    Native,
    /// Avro with the producer's own schema (from the registry), mapped.
    AvroMapped(M),
    /// JSON, mapped (jidoka's field names when no mapping is given).
    Json(M),
}

impl<M: Clone + Default> Reader<M> {
    fn new(format: InputFormat, mapping: &Option<M>) -> Reader<M> {
        match (format, mapping) {
            (InputFormat::Json, m) => Reader::Json(m.clone().unwrap_or_default()),
            (InputFormat::Avro, Some(m)) => Reader::AvroMapped(m.clone()),
            (InputFormat::Avro, None) => Reader::Native,
        }
    }
}

/// How each input topic is read, built once from `[input]`.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    predictions: Reader<PredictionMapping>,
    labels: Reader<LabelMapping>,
}

impl Inputs {
    /// The readers of `[input]`.
    pub fn new(cfg: &InputConfig) -> Inputs {
        let p = &cfg.predictions;
        let l = &cfg.labels;
        Inputs {
            predictions: Reader::new(p.format, &p.mapping),
            labels: Reader::new(l.format, &l.mapping),
        }
    }

    /// A prediction from a consumed record, or its dead letter.
    pub fn prediction(
        &self,
        codec: &Codec,
        msg: &OwnedMessage,
    ) -> Result<Prediction, Box<DeadLetter>> {
        match &self.predictions {
            Reader::Native => decode::<Prediction>(codec, msg),
            Reader::AvroMapped(m) => from_avro(codec, msg, |v, key, ts| m.apply(v, key, ts)),
            Reader::Json(m) => from_json(msg, |v, key, ts| m.apply(v, key, ts)),
        }
    }

    /// A label from a consumed record, or its dead letter.
    pub fn label(&self, codec: &Codec, msg: &OwnedMessage) -> Result<Label, Box<DeadLetter>> {
        match &self.labels {
            Reader::Native => decode::<Label>(codec, msg),
            Reader::AvroMapped(m) => from_avro(codec, msg, |v, key, ts| m.apply(v, key, ts)),
            Reader::Json(m) => from_json(msg, |v, key, ts| m.apply(v, key, ts)),
        }
    }
}

/// Decodes a record with its writer schema into a generic value and maps
/// it.
fn from_avro<T>(
    codec: &Codec,
    msg: &OwnedMessage,
    map: impl FnOnce(&serde_json::Value, Option<&[u8]>, Option<i64>) -> Result<T, super::MappingError>,
) -> Result<T, Box<DeadLetter>> {
    let value = codec
        .decode_generic(msg.payload())
        .map_err(|e| Box::new(super::dead_letter(msg, &e)))?;
    map(&value, msg.key(), msg.timestamp().to_millis())
        .map_err(|e| Box::new(dead_letter_because(msg, e.kind(), e.to_string())))
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
