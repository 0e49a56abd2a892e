//! Property-based fuzzing of every decoder that reads bytes or text jidoka
//! did not write itself (or wrote to disk and reads back): no input makes
//! any of them panic, and each either accepts its input or returns an error
//! of the right class. Targets: the Avro record codec (all eight record
//! types; arbitrary bytes, mutated real encodings, huge length
//! announcements; every truncation of a valid record is rejected), ingest's
//! dead-lettering decode, the processor on every valid prediction shape
//! (with labels before and after their predictions, and restarts from its
//! store),
//! the policy language (conditions and TOML files, arbitrary and mutated),
//! the stored-state decoders (numeric and categorical window segments,
//! model bookkeeping, all of them and the label
//! join's values through the RocksDB store too, and the bandit state), and
//! audit verification and rendering of tampered records read back from the
//! audit topic.
//!
//! `JIDOKA_FUZZ_CASES` sets the cases per target (default in
//! `fuzz_inputs/mutate.rs`); run with `--nocapture` to see the executions of
//! each target.

mod audit;
mod mutate;
mod policy;
mod seeds;
mod state;

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::common::{BoxError, TestResult};
use jidoka::config::Config;
use jidoka::ingest::{self, MAX_DEAD_LETTER_PAYLOAD};
use jidoka::pipeline::{Output, Processor, SourcePos};
use jidoka::schema::{
    frame, AuditRecord, AvroRecord, Codec, DeadLetter, DriftEvent, EvaluationRecord, HealCommand,
    HealOutcome, Label, OperatorCommand, Prediction, SchemaKind,
};
use jidoka::state::Store;
use mutate::{cases, fail, fuzz, Ran};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rdkafka::message::OwnedMessage;
use rdkafka::Timestamp;
use sha2::{Digest, Sha256};

/// The codec of the default schema ids.
fn codec() -> Result<Arc<Codec>, BoxError> {
    Ok(Arc::new(Codec::new(Config::defaults()?.schemas.ids)?))
}

/// The class an input must get from its first bytes alone, if any.
fn prefix_class(codec: &Codec, kind: SchemaKind, bytes: Option<&[u8]>) -> Option<&'static str> {
    let b = match bytes {
        None => return Some("missing-value"),
        Some(b) => b,
    };
    match b {
        [0, a, b, c, d, ..] => (!known_ids(codec, kind)
            .contains(&u32::from_be_bytes([*a, *b, *c, *d])))
        .then_some("unknown-schema"),
        _ => Some("framing"),
    }
}

/// The wire ids the codec reads as `kind`: its own, and for audit records,
/// drift events, heal commands and outcomes their first schema's too (read through schema
/// resolution).
fn known_ids(codec: &Codec, kind: SchemaKind) -> Vec<u32> {
    let mut ids = vec![codec.id(kind)];
    if let Ok(cfg) = Config::defaults() {
        match kind {
            SchemaKind::AuditRecord => {
                ids.push(cfg.schemas.ids.audit_record_v1);
                ids.push(cfg.schemas.ids.audit_record_v2);
                ids.push(cfg.schemas.ids.audit_record_v3);
            }
            SchemaKind::DriftEvent => ids.push(cfg.schemas.ids.drift_event_v1),
            SchemaKind::HealCommand => ids.push(cfg.schemas.ids.heal_command_v1),
            SchemaKind::HealOutcome => ids.push(cfg.schemas.ids.heal_outcome_v1),
            _ => {}
        }
    }
    ids
}

/// Decodes `bytes` as `T`: an error must have the class its prefix implies
/// (or a body class) and a reason; an accepted record must re-encode and
/// decode again. Returns whether it was accepted.
fn check<T: AvroRecord>(codec: &Codec, bytes: Option<&[u8]>) -> Result<bool, TestCaseError> {
    let expected = prefix_class(codec, T::KIND, bytes);
    match codec.decode::<T>(bytes) {
        Ok(record) => {
            prop_assert!(expected.is_none(), "accepted but expected {expected:?}");
            let again = codec.encode(&record).map_err(fail)?;
            codec.decode::<T>(Some(&again)).map_err(fail)?;
            Ok(true)
        }
        Err(e) => {
            match expected {
                Some(class) => prop_assert_eq!(e.kind(), class),
                None => prop_assert!(
                    matches!(e.kind(), "avro" | "invalid-value"),
                    "{}: {e}",
                    e.kind()
                ),
            }
            prop_assert!(!e.to_string().is_empty());
            Ok(false)
        }
    }
}

fn check_kind(
    codec: &Codec,
    kind: SchemaKind,
    bytes: Option<&[u8]>,
) -> Result<bool, TestCaseError> {
    match kind {
        SchemaKind::Prediction => check::<Prediction>(codec, bytes),
        SchemaKind::Label => check::<Label>(codec, bytes),
        SchemaKind::DriftEvent => check::<DriftEvent>(codec, bytes),
        SchemaKind::HealCommand => check::<HealCommand>(codec, bytes),
        SchemaKind::HealOutcome => check::<HealOutcome>(codec, bytes),
        SchemaKind::OperatorCommand => check::<OperatorCommand>(codec, bytes),
        SchemaKind::AuditRecord => check::<AuditRecord>(codec, bytes),
        SchemaKind::DeadLetter => check::<DeadLetter>(codec, bytes),
        SchemaKind::Evaluation => check::<EvaluationRecord>(codec, bytes),
    }
}

/// Decodes `body` framed with every record type's id, as that type; and the
/// raw bytes as every type.
fn decode_everywhere(codec: &Codec, body: &[u8]) -> Result<Ran, TestCaseError> {
    let mut ran = Ran::default();
    for kind in SchemaKind::ALL {
        ran += Ran::one(check_kind(codec, kind, Some(&frame(codec.id(kind), body)))?);
        ran += Ran::one(check_kind(codec, kind, Some(body))?);
    }
    Ok(ran)
}

#[test]
fn codec_never_panics_on_arbitrary_bytes() -> TestResult {
    let codec = codec()?;
    fuzz(
        "codec/arbitrary-bytes",
        cases(1),
        mutate::bytes(512),
        |bytes| decode_everywhere(&codec, &bytes),
    )
}

#[test]
fn codec_never_panics_on_mutated_records() -> TestResult {
    let codec = codec()?;
    let seeds = seeds::encoded_records(&codec)?;
    let n = seeds.len();
    fuzz(
        "codec/mutated-records",
        cases(1),
        (0..n, any::<bool>(), mutate::mutations()),
        |(i, keep_header, ms)| {
            let (kind, seed) = &seeds[i];
            let bytes = if keep_header {
                frame(codec.id(*kind), &mutate::mutated(&seed[5..], &ms))
            } else {
                mutate::mutated(seed, &ms)
            };
            let mut ran = Ran::one(check_kind(&codec, *kind, Some(&bytes))?);
            ran += decode_everywhere(&codec, bytes.get(5..).unwrap_or(&[]))?;
            Ok(ran)
        },
    )
}

#[test]
fn codec_rejects_every_truncation_of_a_valid_record() -> TestResult {
    let codec = codec()?;
    let fixed = prop::sample::select(seeds::encoded_records(&codec)?);
    let c = codec.clone();
    let generated = seeds::valid_prediction()
        .prop_filter_map("encodes", move |p| c.encode(&p).ok())
        .prop_map(|b| (SchemaKind::Prediction, b));
    fuzz(
        "codec/truncations",
        cases(1),
        (prop_oneof![fixed, generated], any::<usize>()),
        |((kind, seed), cut)| {
            let kind = &kind;
            let cut = cut % seed.len();
            let accepted = check_kind(&codec, *kind, Some(&seed[..cut]))?;
            prop_assert!(!accepted, "{kind:?} cut at {cut} of {} decoded", seed.len());
            Ok(Ran::one(accepted))
        },
    )
}

#[test]
fn codec_never_panics_on_huge_length_announcements() -> TestResult {
    let codec = codec()?;
    let seeds = seeds::encoded_records(&codec)?;
    let n = seeds.len();
    // A valid prefix of a record, cut anywhere, then a length or count that
    // claims far more than the input holds (or is negative), then a tail.
    let announcement = prop_oneof![
        4 => mutate::huge_length().prop_map(mutate::zigzag),
        1 => (11usize..16).prop_map(|n| vec![0xff; n]), // over-long varint
    ];
    fuzz(
        "codec/huge-lengths",
        cases(1),
        (0..n, any::<usize>(), announcement, mutate::bytes(48)),
        |(i, cut, varint, tail)| {
            let (kind, seed) = &seeds[i];
            let body = &seed[5..];
            let cut = cut % (body.len() + 1);
            let mut datum = body[..cut].to_vec();
            datum.extend_from_slice(&varint);
            datum.extend_from_slice(&tail);
            let mut ran = Ran::one(check_kind(
                &codec,
                *kind,
                Some(&frame(codec.id(*kind), &datum)),
            )?);
            ran += decode_everywhere(&codec, &datum)?;
            Ok(ran)
        },
    )
}

#[test]
fn ingest_dead_letters_every_bad_record_faithfully() -> TestResult {
    let codec = codec()?;
    let seed = codec.encode(&seeds::prediction(0))?;
    let payload = prop_oneof![
        1 => Just(None),
        3 => mutate::bytes(256).prop_map(Some),
        4 => mutate::mutations().prop_map({
            let seed = seed.clone();
            move |ms| Some(mutate::mutated(&seed, &ms))
        }),
        1 => (
            any::<u8>(),
            prop::sample::select(vec![
                0,
                5,
                MAX_DEAD_LETTER_PAYLOAD - 1,
                MAX_DEAD_LETTER_PAYLOAD,
                MAX_DEAD_LETTER_PAYLOAD + 1,
                3 * MAX_DEAD_LETTER_PAYLOAD,
            ]),
        )
            .prop_map(|(b, n)| Some(vec![b; n])),
    ];
    let timestamp = prop_oneof![
        Just(Timestamp::NotAvailable),
        any::<i64>().prop_map(Timestamp::CreateTime),
        any::<i64>().prop_map(Timestamp::LogAppendTime),
    ];
    let input = (
        payload,
        prop::option::of(mutate::bytes(64)),
        mutate::text(24),
        any::<i32>(),
        any::<i64>(),
        timestamp,
    );
    fuzz(
        "ingest/decode",
        cases(4),
        input,
        |(payload, key, topic, partition, offset, ts)| {
            let msg = OwnedMessage::new(
                payload.clone(),
                key.clone(),
                topic.clone(),
                ts,
                partition,
                offset,
                None,
            );
            let dead = match ingest::decode::<Prediction>(&codec, &msg) {
                Ok(_) => return Ok(Ran::one(true)),
                Err(dead) => dead,
            };
            let p = payload.as_deref();
            prop_assert_eq!(&dead.source_topic, &topic);
            prop_assert_eq!(
                (dead.source_partition, dead.source_offset),
                (partition, offset)
            );
            prop_assert_eq!(dead.source_key.as_ref(), key.as_ref());
            prop_assert_eq!(dead.source_timestamp, ts.to_millis());
            prop_assert_eq!(dead.payload_size, p.map_or(0, |p| p.len() as i64));
            prop_assert_eq!(
                dead.payload.as_deref(),
                p.map(|p| &p[..p.len().min(MAX_DEAD_LETTER_PAYLOAD)])
            );
            prop_assert_eq!(
                dead.payload_truncated,
                p.is_some_and(|p| p.len() > MAX_DEAD_LETTER_PAYLOAD)
            );
            prop_assert_eq!(
                dead.payload_sha256.clone(),
                p.map(|p| hex::encode(Sha256::digest(p)))
            );
            prop_assert!(!dead.reason.is_empty());
            prop_assert!(matches!(
                dead.error_kind.as_str(),
                "missing-value" | "framing" | "unknown-schema" | "avro" | "invalid-value"
            ));
            // The dead letter itself always encodes, fits a Kafka message,
            // and reads back unchanged.
            let bytes = codec.encode(dead.as_ref()).map_err(fail)?;
            prop_assert!(bytes.len() < 1024 * 1024);
            let back = codec.decode::<DeadLetter>(Some(&bytes)).map_err(fail)?;
            prop_assert_eq!(&back, dead.as_ref());
            Ok(Ran::one(false))
        },
    )
}

/// The default config with tiny windows, so evaluations (and accuracy
/// checks of joined labels) run often.
fn small_config() -> Result<Config, BoxError> {
    let mut cfg = Config::defaults()?;
    cfg.detect.reference_size = 6;
    cfg.detect.window_size = 3;
    cfg.detect.evaluate_every = 2;
    cfg.labels.reference_size = 4;
    cfg.labels.window_size = 3;
    Ok(cfg)
}

/// A label for a prediction: its value (the predicted class, another one,
/// or any text) and whether it arrives before the prediction.
fn label_plan() -> impl Strategy<Value = Option<(String, bool)>> {
    prop::option::of((
        prop_oneof![
            3 => prop::sample::select(vec!["0", "1"]).prop_map(str::to_string),
            1 => "\\PC{0,6}",
        ],
        any::<bool>(),
    ))
}

/// Encodes an output as it is published.
fn publish(codec: &Codec, out: &Output) -> Result<(), TestCaseError> {
    match out {
        Output::Drift(e) => codec.encode(e).map(drop),
        Output::Command(c) => codec.encode(c).map(drop),
        Output::Audit(a) => codec.encode(a).map(drop),
        Output::Evaluation(e) => codec.encode(e).map(drop),
        Output::Lesson(l) => l
            .encode()
            .map(drop)
            .map_err(|e| jidoka::schema::SchemaError::Lesson(e.to_string())),
    }
    .map_err(fail)
}

#[test]
fn processor_never_panics_on_valid_predictions() -> TestResult {
    let codec = codec()?;
    let cfg = small_config()?;
    let dir = tempfile::tempdir()?;
    let processor = RefCell::new(Some(Processor::new(
        &cfg,
        "fuzz",
        Store::open(dir.path(), false)?,
    )));
    let offset = Cell::new(0i64);
    let runs = Cell::new(0u64);
    fuzz(
        "processor/valid-predictions",
        cases(20),
        prop::collection::vec((seeds::valid_prediction(), label_plan()), 1..40),
        |preds| {
            let mut slot = processor.borrow_mut();
            // Every 8th case restarts from the store: stored state decodes.
            runs.set(runs.get() + 1);
            if runs.get() % 8 == 0 {
                *slot = None; // closes the store before it is reopened
                *slot = Some(Processor::new(
                    &cfg,
                    "fuzz",
                    Store::open(dir.path(), false).map_err(fail)?,
                ));
            }
            let Some(proc) = slot.as_mut() else {
                return Err(fail("no processor"));
            };
            let mut ran = Ran::default();
            let next = || {
                let pos = SourcePos {
                    topic: "fuzz".into(),
                    partition: 0,
                    offset: offset.get(),
                };
                offset.set(offset.get() + 1);
                pos
            };
            for (p, label) in &preds {
                let bytes = codec.encode(p).map_err(fail)?;
                let back = codec.decode::<Prediction>(Some(&bytes)).map_err(fail)?;
                prop_assert_eq!(&back, p);
                let label = match label {
                    Some((value, before)) => {
                        let l = Label {
                            prediction_id: p.prediction_id.clone(),
                            model_id: p.model_id.clone(),
                            event_time: p.event_time,
                            label: value.clone(),
                        };
                        let bytes = codec.encode(&l).map_err(fail)?;
                        let back = codec.decode::<Label>(Some(&bytes)).map_err(fail)?;
                        prop_assert_eq!(&back, &l);
                        Some((back, *before))
                    }
                    None => None,
                };
                if let Some((l, true)) = &label {
                    for out in proc.process_label(&next(), l).map_err(fail)? {
                        publish(&codec, &out)?;
                    }
                    ran += Ran::one(true);
                }
                for out in proc.process(&next(), &back).map_err(fail)? {
                    publish(&codec, &out)?;
                }
                ran += Ran::one(true);
                if let Some((l, false)) = &label {
                    for out in proc.process_label(&next(), l).map_err(fail)? {
                        publish(&codec, &out)?;
                    }
                    ran += Ran::one(true);
                }
            }
            proc.checkpoint().map_err(fail)?;
            Ok(ran)
        },
    )
}
