//! Ingest: turn consumed Kafka records into typed inputs, or into
//! dead-letter records that say why not.
//!
//! Guarantees: every consumed record yields exactly one of the two; a
//! dead-letter record carries the source topic, partition, offset, key,
//! timestamp, the original value's size and SHA-256, and its bytes unchanged
//! (the first [`MAX_DEAD_LETTER_PAYLOAD`] bytes of a larger one, flagged, so
//! a dead letter always fits in a Kafka message), plus the error's class and
//! reason.
//!
//! Formats (`[input.*]`, see `docs/ingest.md`): jidoka's own Avro (the fast
//! path, [`decode`]), or JSON ([`json`]) mapped to jidoka's records by a
//! field mapping ([`mapping`]) that registry-Avro input shares.

mod config;
mod fields;
mod inputs;
pub mod json;
pub mod mapping;
pub mod path;

pub use config::{
    InputConfig, InputFormat, LabelMapping, LabelsInput, PredictionMapping, PredictionsInput,
    TimeUnit,
};
pub use fields::{FieldTree, SchemaMismatch};
pub use inputs::Inputs;
pub use mapping::MappingError;

use rdkafka::message::{Message, OwnedMessage};

use sha2::{Digest, Sha256};

use crate::schema::{AvroRecord, Codec, DeadLetter, DecodeError};

/// Most bytes of an original value kept in a dead-letter record.
pub const MAX_DEAD_LETTER_PAYLOAD: usize = 256 * 1024;

/// Decodes a consumed record, or explains why it cannot be used.
pub fn decode<T: AvroRecord>(codec: &Codec, msg: &OwnedMessage) -> Result<T, Box<DeadLetter>> {
    codec
        .decode::<T>(msg.payload())
        .map_err(|err| Box::new(dead_letter(msg, &err)))
}

/// The dead-letter record for a record that failed with `err`.
pub fn dead_letter(msg: &OwnedMessage, err: &DecodeError) -> DeadLetter {
    dead_letter_because(msg, err.kind(), err.to_string())
}

/// The dead-letter record for a record that failed with an error of class
/// `kind` (written as `error_kind`) for `reason`.
pub fn dead_letter_because(msg: &OwnedMessage, kind: &str, reason: String) -> DeadLetter {
    DeadLetter {
        source_topic: msg.topic().to_string(),
        source_partition: msg.partition(),
        source_offset: msg.offset(),
        source_key: msg
            .key()
            .map(|k| k[..k.len().min(MAX_DEAD_LETTER_PAYLOAD)].to_vec()),
        payload: msg
            .payload()
            .map(|p| p[..p.len().min(MAX_DEAD_LETTER_PAYLOAD)].to_vec()),
        payload_size: msg.payload().map_or(0, |p| p.len() as i64),
        payload_truncated: msg
            .payload()
            .is_some_and(|p| p.len() > MAX_DEAD_LETTER_PAYLOAD),
        payload_sha256: msg.payload().map(|p| hex::encode(Sha256::digest(p))),
        error_kind: kind.to_string(),
        reason,
        source_timestamp: msg.timestamp().to_millis(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::schema::Prediction;
    use rdkafka::Timestamp;

    #[test]
    fn bad_record_becomes_dead_letter_with_original_bytes() -> Result<(), Box<dyn std::error::Error>>
    {
        let codec = Codec::new(Config::defaults()?.schemas.ids)?;
        let payload = vec![9u8, 1, 2, 3, 4, 5];
        let msg = OwnedMessage::new(
            Some(payload.clone()),
            Some(b"fraud".to_vec()),
            "predictions".into(),
            Timestamp::CreateTime(1234),
            2,
            77,
            None,
        );
        let dl = match decode::<Prediction>(&codec, &msg) {
            Err(dl) => dl,
            Ok(p) => panic!("decoded garbage: {p:?}"),
        };
        assert_eq!(dl.source_topic, "predictions");
        assert_eq!((dl.source_partition, dl.source_offset), (2, 77));
        assert_eq!(dl.payload, Some(payload));
        assert_eq!(dl.source_key.as_deref(), Some(&b"fraud"[..]));
        assert_eq!(dl.source_timestamp, Some(1234));
        assert_eq!(dl.error_kind, "framing");
        assert_eq!((dl.payload_size, dl.payload_truncated), (6, false));
        assert!(dl.reason.contains("magic"), "{}", dl.reason);
        Ok(())
    }

    #[test]
    fn huge_bad_record_is_truncated_in_its_dead_letter() -> Result<(), Box<dyn std::error::Error>> {
        let codec = Codec::new(Config::defaults()?.schemas.ids)?;
        let payload = vec![9u8; MAX_DEAD_LETTER_PAYLOAD * 4];
        let msg = OwnedMessage::new(
            Some(payload.clone()),
            None,
            "predictions".into(),
            Timestamp::NotAvailable,
            0,
            1,
            None,
        );
        let dl = match decode::<Prediction>(&codec, &msg) {
            Err(dl) => dl,
            Ok(p) => panic!("decoded garbage: {p:?}"),
        };
        assert_eq!(
            dl.payload.as_deref(),
            Some(&payload[..MAX_DEAD_LETTER_PAYLOAD])
        );
        assert!(dl.payload_truncated);
        assert_eq!(dl.payload_size, payload.len() as i64);
        assert_eq!(
            dl.payload_sha256,
            Some(hex::encode(Sha256::digest(&payload)))
        );
        // And it encodes within the size of one Kafka message.
        assert!(codec.encode(dl.as_ref())?.len() < 1024 * 1024);
        Ok(())
    }
}
