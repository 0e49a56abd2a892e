//! Ingest: turn consumed Kafka records into typed inputs, or into
//! dead-letter records that say why not.
//!
//! Guarantees: every consumed record yields exactly one of the two; a
//! dead-letter record carries the source topic, partition, offset, key,
//! timestamp and the original bytes unchanged, plus the error's class and
//! reason.

use rdkafka::message::{Message, OwnedMessage};

use crate::schema::{AvroRecord, Codec, DeadLetter, DecodeError};

/// Decodes a consumed record, or explains why it cannot be used.
pub fn decode<T: AvroRecord>(codec: &Codec, msg: &OwnedMessage) -> Result<T, Box<DeadLetter>> {
    codec
        .decode::<T>(msg.payload())
        .map_err(|err| Box::new(dead_letter(msg, &err)))
}

/// The dead-letter record for a record that failed with `err`.
pub fn dead_letter(msg: &OwnedMessage, err: &DecodeError) -> DeadLetter {
    DeadLetter {
        source_topic: msg.topic().to_string(),
        source_partition: msg.partition(),
        source_offset: msg.offset(),
        source_key: msg.key().map(<[u8]>::to_vec),
        payload: msg.payload().map(<[u8]>::to_vec),
        error_kind: err.kind().to_string(),
        reason: err.to_string(),
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
        assert!(dl.reason.contains("magic"), "{}", dl.reason);
        Ok(())
    }
}
