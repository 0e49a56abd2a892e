//! Forwarding the records of an input topic not keyed by model id (e.g.
//! keyed by request id) to its repartition topic, keyed by model id, the
//! way Kafka Streams repartitions before a stateful step.
//!
//! Guarantees: a record of such a topic is decoded as the platform writes
//! it ([`ingest::Inputs`], the same reader as for a topic processed where
//! it is: its format and mapping) and
//! becomes exactly one of: a record of the repartition topic in jidoka's
//! own Avro, keyed by its model id (so the producer's partitioner,
//! `kafka.partitioner`, puts it on the model's partition, where the
//! model's other inputs are), whose `jidoka-id` is the source record's
//! position; or a dead letter naming the source topic, partition and
//! offset. The forwarded record is published with the batch's outputs, so
//! it is in the interval's transaction with the source offsets when
//! transactions are on (exactly once), and acknowledged before the source
//! offsets are committed otherwise (at least once: a crash in between
//! forwards it again, with the same id).

use rdkafka::message::{Message, OwnedMessage};

use super::sink::Encoded;
use crate::config::{InputKind, Repartition};
use crate::ingest;
use crate::schema::{Codec, DeadLetter, SchemaError};

/// The repartition record of `msg`, a record of `rp.source`: the outer
/// error is a dead letter (the record is unusable), the inner one an
/// internal failure to encode.
pub fn forward(
    codec: &Codec,
    inputs: &ingest::Inputs,
    rp: &Repartition,
    msg: &OwnedMessage,
) -> Result<Result<Encoded, SchemaError>, Box<DeadLetter>> {
    let (model, payload) = match rp.kind {
        InputKind::Predictions => {
            let p = inputs.prediction(codec, msg)?;
            (p.model_id.clone(), codec.encode(&p))
        }
        InputKind::Labels => {
            let l = inputs.label(codec, msg)?;
            (l.model_id.clone(), codec.encode(&l))
        }
    };
    Ok(payload.map(|payload| Encoded {
        topic: rp.topic.clone(),
        key: Some(model.into_bytes()),
        payload: Some(payload),
        id: format!("{}/{}/{}", msg.topic(), msg.partition(), msg.offset()),
        partition: None,
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rdkafka::Timestamp;

    use super::*;
    use crate::config::Config;
    use crate::schema::{Label, Prediction};

    fn record(topic: &str, key: &str, payload: Vec<u8>) -> OwnedMessage {
        OwnedMessage::new(
            Some(payload),
            Some(key.as_bytes().to_vec()),
            topic.into(),
            Timestamp::CreateTime(1_000),
            2,
            41,
            None,
        )
    }

    fn prediction() -> Prediction {
        Prediction {
            prediction_id: "req-7".into(),
            model_id: "churn-v7".into(),
            model_version: "7".into(),
            event_time: 1_000,
            features: BTreeMap::from([("age".to_string(), 41.0)]),
            categorical_features: None,
            score: 0.3,
            predicted_class: Some("stay".into()),
            latency_ms: None,
        }
    }

    #[test]
    fn a_record_keyed_by_request_id_is_forwarded_keyed_by_its_model(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults_with(&["input.predictions.key = \"other\""])?;
        let codec = Codec::new(cfg.schemas.ids)?;
        let rp = cfg
            .repartition_of(&cfg.topics.predictions)
            .ok_or("predictions are not repartitioned")?;
        let p = prediction();
        let msg = record("predictions", "req-7", codec.encode(&p)?);
        let out = match forward(&codec, &ingest::Inputs::default(), &rp, &msg) {
            Ok(out) => out?,
            Err(dl) => return Err(dl.reason.into()),
        };
        assert_eq!(out.topic, "jidoka-predictions-repartition");
        assert_eq!(out.key.as_deref(), Some(&b"churn-v7"[..]));
        assert_eq!(out.partition, None);
        assert_eq!(out.id, "predictions/2/41");
        let payload = out.payload.ok_or("no payload")?;
        assert_eq!(codec.decode::<Prediction>(Some(&payload))?, p);
        Ok(())
    }

    #[test]
    fn labels_are_forwarded_and_bad_records_dead_lettered_at_the_source(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults_with(&["input.labels.key = \"other\""])?;
        let codec = Codec::new(cfg.schemas.ids)?;
        let rp = cfg
            .repartition_of(&cfg.topics.labels)
            .ok_or("labels are not repartitioned")?;
        assert_eq!(rp.kind, InputKind::Labels);
        let label = Label {
            prediction_id: "req-7".into(),
            model_id: "fraud-v2".into(),
            event_time: 5,
            label: "fraud".into(),
        };
        let msg = record("labels", "req-7", codec.encode(&label)?);
        let out = match forward(&codec, &ingest::Inputs::default(), &rp, &msg) {
            Ok(out) => out?,
            Err(dl) => return Err(dl.reason.into()),
        };
        assert_eq!(out.key.as_deref(), Some(&b"fraud-v2"[..]));
        // A prediction on the labels topic is not a label.
        let bad = record("labels", "req-8", codec.encode(&prediction())?);
        let dl = match forward(&codec, &ingest::Inputs::default(), &rp, &bad) {
            Err(dl) => dl,
            Ok(_) => return Err("a prediction was forwarded as a label".into()),
        };
        assert_eq!(
            (
                dl.source_topic.as_str(),
                dl.source_partition,
                dl.source_offset
            ),
            ("labels", 2, 41)
        );
        assert_eq!(dl.source_key.as_deref(), Some(&b"req-8"[..]));
        Ok(())
    }
}
