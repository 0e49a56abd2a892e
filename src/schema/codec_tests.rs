//! Codec tests: every record type round-trips through its schema, and every
//! kind of bad input is reported with the right error.

use std::collections::BTreeMap;

use apache_avro::types::Value;
use proptest::prelude::*;

use super::*;
use crate::schema::records::*;
use crate::schema::wire::frame;

pub(super) fn ids() -> SchemaIds {
    SchemaIds {
        prediction: 1,
        label: 2,
        drift_event: 11,
        drift_event_v1: 3,
        heal_command: 12,
        heal_command_v1: 4,
        heal_outcome: 13,
        heal_outcome_v1: 5,
        operator_command: 6,
        audit_record: 15,
        audit_record_v3: 14,
        audit_record_v2: 9,
        audit_record_v1: 7,
        dead_letter: 8,
        evaluation: 10,
    }
}

/// The Avro datum of `value` (JSON) written with the writer schema
/// `schema`, as a producer built against it writes it.
pub(super) fn datum_with(schema: &apache_avro::Schema, value: serde_json::Value) -> Vec<u8> {
    let value = match apache_avro::to_value(value).and_then(|v| v.resolve(schema)) {
        Ok(v) => v,
        Err(e) => panic!("value for the writer schema: {e}"),
    };
    match apache_avro::to_avro_datum(schema, value) {
        Ok(d) => d,
        Err(e) => panic!("datum of the writer schema: {e}"),
    }
}

pub(super) fn codec() -> Codec {
    match Codec::new(ids()) {
        Ok(c) => c,
        Err(e) => panic!("schemas must parse: {e}"),
    }
}

fn prediction() -> Prediction {
    Prediction {
        prediction_id: "p-1".into(),
        model_id: "fraud".into(),
        model_version: "3".into(),
        event_time: 1_700_000_000_000,
        features: BTreeMap::from([("amount".into(), 12.5), ("age".into(), -3.0)]),
        categorical_features: Some(BTreeMap::from([("country".into(), "fr".into())])),
        score: 0.75,
        predicted_class: Some("1".into()),
        latency_ms: None,
    }
}

fn round_trip<T: AvroRecord + PartialEq + std::fmt::Debug>(record: T) {
    let c = codec();
    let bytes = match c.encode(&record) {
        Ok(b) => b,
        Err(e) => panic!("encode {:?}: {e}", T::KIND),
    };
    assert_eq!(bytes[0], 0);
    assert_eq!(
        u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]),
        c.id(T::KIND)
    );
    match c.decode::<T>(Some(&bytes)) {
        Ok(back) => assert_eq!(back, record),
        Err(e) => panic!("decode {:?}: {e}", T::KIND),
    }
}

#[test]
fn every_record_round_trips() {
    round_trip(prediction());
    round_trip(Prediction {
        categorical_features: None,
        predicted_class: None,
        latency_ms: Some(4.5),
        ..prediction()
    });
    round_trip(Label {
        prediction_id: "p-1".into(),
        model_id: "fraud".into(),
        event_time: 5,
        label: "1".into(),
    });
    round_trip(DriftEvent {
        event_id: "e".into(),
        model_id: "m".into(),
        feature: "f".into(),
        test: TestKind::Ks,
        statistic: 0.4,
        p_value: 1e-9,
        alpha: 0.001,
        reference_size: 100,
        reference_start_time: 1,
        reference_end_time: 2,
        window_size: 50,
        window_start_record: 151,
        window_end_record: 200,
        window_start_time: 3,
        window_end_time: 4,
        event_time: 4,
        kind: "covariate".into(),
        status: "opened".into(),
        adjusted_p_value: Some(3e-9),
        correction: "benjamini-hochberg".into(),
        late_records: 2,
        effect_size: None,
        min_effect: None,
    });
    round_trip(EvaluationRecord {
        evaluation_id: "eval-1".into(),
        model_id: "m".into(),
        model_version: "3".into(),
        kind: "anomaly".into(),
        feature: "latency_mean".into(),
        test: TestKind::ZScore,
        statistic: f64::INFINITY,
        p_value: 0.0,
        adjusted_p_value: None,
        threshold: 0.0027,
        correction: "none".into(),
        effect_size: Some(f64::INFINITY),
        min_effect: 0.0,
        significant: true,
        drifted: true,
        alert_open: false,
        transition: "none".into(),
        reference_size: 30,
        reference_start_time: 0,
        reference_end_time: 0,
        window_size: 250,
        window_start_record: 751,
        window_end_record: 1000,
        window_start_time: 9,
        window_end_time: 9,
        record: 1000,
        event_time: 9,
    });
    round_trip(HealCommand {
        command_id: "c".into(),
        decision_id: "d".into(),
        model_id: "m".into(),
        model_version: "1".into(),
        action: Action::Retrain,
        reason: "drift".into(),
        evidence: vec!["e1".into(), "e2".into()],
        issued_at: 9,
        config_version: "abc".into(),
        target_command_id: None,
    });
    round_trip(HealOutcome {
        command_id: "c".into(),
        model_id: "m".into(),
        status: OutcomeStatus::Failed,
        recovery: 0.1,
        cost: 100.0,
        reported_at: 10,
        note: None,
    });
    round_trip(OperatorCommand {
        command_id: "o".into(),
        kind: OperatorKind::Pause,
        model_id: None,
        target_command_id: Some("c".into()),
        issued_by: "alice".into(),
        issued_at: 11,
        signature: Some("ff".into()),
        action: None,
        note: Some("maintenance window".into()),
    });
    round_trip(OperatorCommand {
        command_id: "o2".into(),
        kind: OperatorKind::Approve,
        model_id: Some("m".into()),
        target_command_id: Some("c".into()),
        issued_by: "alice".into(),
        issued_at: 12,
        signature: None,
        action: Some("rollback".into()),
        note: None,
    });
    round_trip(AuditRecord {
        reward: None,
        decision_id: "d".into(),
        model_id: "m".into(),
        model_version: "1".into(),
        decided_at: 12,
        inputs: AuditInputs {
            source_topic: "predictions".into(),
            source_partition: 2,
            source_offset: 99,
            records_seen: 1500,
        },
        evidence: vec![FeatureEvidence {
            feature: "f".into(),
            test: TestKind::Ks,
            statistic: 0.3,
            p_value: 0.5,
            drifted: false,
            drift_event_id: None,
        }],
        rules: vec![RuleEvaluation {
            name: "r".into(),
            condition: "p < alpha".into(),
            matched: true,
            action: "retrain".into(),
            hard: true,
            priority: 7,
        }],
        cooldown: CooldownCheck {
            active: false,
            last_action_at: Some(3),
            remaining_ms: 0,
        },
        action: "retrain".into(),
        gate_reason: "rule".into(),
        command_id: Some("c".into()),
        config_version: "abc".into(),
        sequence: 4,
        previous_hash: Some("ab".into()),
        record_hash: "cd".into(),
        decided_by: "bandit".into(),
        proposed_action: "fallback".into(),
        context: BTreeMap::from([("drift".into(), 0.25), ("anomaly_rate".into(), 0.0)]),
        bandit: Some(BanditView {
            chosen: "fallback".into(),
            confidence: 0.9,
            threshold: 0.8,
            samples: 200,
            arms: vec![ArmView {
                action: "none".into(),
                posterior_mean: -0.5,
                observations: 3,
                deviation: Some(0.25),
            }],
            seed: Some(-7),
            against: Some("retrain".into()),
        }),
        checks: vec![GateCheck {
            name: "cooldown".into(),
            passed: true,
            detail: "no earlier command".into(),
        }],
        operator_command_id: Some("op".into()),
        status: AuditStatus::Completed,
        version: 2,
        outcome: Some(AuditOutcome {
            command_id: "c".into(),
            status: OutcomeStatus::Succeeded,
            recovery: 0.1,
            cost: 3.0,
            reward: 0.07,
            reported_at: 20,
        }),
        supersedes: Some(Superseded {
            sequence: 3,
            record_hash: "ee".into(),
        }),
    });
    round_trip(DeadLetter {
        source_topic: "predictions".into(),
        source_partition: 0,
        source_offset: 7,
        source_key: Some(b"fraud".to_vec()),
        payload: Some(vec![1, 2, 3, 0, 255]),
        payload_size: 5,
        payload_truncated: false,
        payload_sha256: Some("ab".into()),
        error_kind: "framing".into(),
        reason: "wrong magic".into(),
        source_timestamp: None,
    });
}

fn encoded_prediction() -> Vec<u8> {
    match codec().encode(&prediction()) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn wrong_magic_byte() {
    let mut bytes = encoded_prediction();
    bytes[0] = 7;
    let err = codec().decode::<Prediction>(Some(&bytes)).err();
    assert!(
        matches!(err, Some(DecodeError::Framing(FramingError::WrongMagic(7)))),
        "{err:?}"
    );
    assert_eq!(err.map(|e| e.kind()), Some("framing"));
}

#[test]
fn unknown_schema_id() {
    let bytes = encoded_prediction();
    let reframed = frame(42, &bytes[5..]);
    let err = codec().decode::<Prediction>(Some(&reframed)).err();
    assert!(
        matches!(
            err,
            Some(DecodeError::UnknownSchema {
                found: 42,
                expected: 1,
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn truncated_avro() {
    // The last field is a double, so every cut falls inside a value (for
    // cuts between fields see `every_cut_of_every_record_is_an_error`).
    let p = Prediction {
        latency_ms: Some(4.5),
        ..prediction()
    };
    let bytes = match codec().encode(&p) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    for cut in [6, bytes.len() / 2, bytes.len() - 1] {
        let err = codec().decode::<Prediction>(Some(&bytes[..cut])).err();
        assert_eq!(
            err.as_ref().map(|e| e.kind()),
            Some("avro"),
            "cut {cut}: {err:?}"
        );
    }
}

#[test]
fn every_cut_of_every_record_is_an_error() {
    // The Avro library reads a union index at the end of its input as
    // branch 0 (null): a datum cut just before trailing optional fields
    // (`predicted_class`, `latency_ms`, a dead letter's timestamp) used to
    // decode, with those fields silently null.
    let c = codec();
    let p = Prediction {
        latency_ms: Some(4.5),
        ..prediction()
    };
    let with_options = |kind, bytes: Result<Vec<u8>, SchemaError>| match bytes {
        Ok(b) => (kind, b),
        Err(e) => panic!("{e}"),
    };
    let records = [
        with_options("prediction", c.encode(&p)),
        with_options(
            "prediction without options",
            c.encode(&Prediction {
                categorical_features: None,
                predicted_class: None,
                ..prediction()
            }),
        ),
        with_options(
            "label",
            c.encode(&Label {
                prediction_id: "p".into(),
                model_id: "m".into(),
                event_time: 5,
                label: "1".into(),
            }),
        ),
        with_options(
            "outcome",
            c.encode(&HealOutcome {
                command_id: "c".into(),
                model_id: "m".into(),
                status: OutcomeStatus::Succeeded,
                recovery: 0.5,
                cost: 1.0,
                reported_at: 0,
                note: None,
            }),
        ),
        with_options(
            "operator",
            c.encode(&OperatorCommand {
                command_id: "o".into(),
                kind: OperatorKind::Resume,
                model_id: Some("m".into()),
                target_command_id: None,
                issued_by: "bob".into(),
                issued_at: 1,
                signature: Some("ab".into()),
                action: None,
                note: Some("n".into()),
            }),
        ),
        with_options(
            "operator approve",
            c.encode(&OperatorCommand {
                command_id: "o".into(),
                kind: OperatorKind::Approve,
                model_id: Some("m".into()),
                target_command_id: Some("c".into()),
                issued_by: "bob".into(),
                issued_at: 1,
                signature: Some("ab".into()),
                action: Some("hold".into()),
                note: None,
            }),
        ),
    ];
    for (name, bytes) in &records {
        for cut in 5..bytes.len() {
            let decoded = match *name {
                "label" => c.decode::<Label>(Some(&bytes[..cut])).err(),
                "outcome" => c.decode::<HealOutcome>(Some(&bytes[..cut])).err(),
                "operator" | "operator approve" => {
                    c.decode::<OperatorCommand>(Some(&bytes[..cut])).err()
                }
                _ => c.decode::<Prediction>(Some(&bytes[..cut])).err(),
            };
            assert_eq!(
                decoded.as_ref().map(|e| e.kind()),
                Some("avro"),
                "{name} cut at {cut} of {}: {decoded:?}",
                bytes.len()
            );
        }
    }
}

#[test]
fn trailing_bytes() {
    let mut bytes = encoded_prediction();
    bytes.extend_from_slice(&[0, 0]);
    let err = codec().decode::<Prediction>(Some(&bytes)).err();
    assert!(
        matches!(err, Some(DecodeError::TrailingBytes(2))),
        "{err:?}"
    );
}

#[test]
fn missing_fields() {
    // A producer wrote only the first two fields of a prediction.
    let partial = apache_avro::Schema::parse_str(
        r#"{"type":"record","name":"Prediction","namespace":"dev.jidoka","fields":[
            {"name":"prediction_id","type":"string"},{"name":"model_id","type":"string"}]}"#,
    );
    let partial = match partial {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let value = Value::Record(vec![
        ("prediction_id".into(), Value::String("p".into())),
        ("model_id".into(), Value::String("m".into())),
    ]);
    let datum = match apache_avro::to_avro_datum(&partial, value) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let err = codec().decode::<Prediction>(Some(&frame(1, &datum))).err();
    assert_eq!(err.as_ref().map(|e| e.kind()), Some("avro"), "{err:?}");
}

#[test]
fn nan_and_infinite_features_are_invalid() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut p = prediction();
        p.features.insert("amount".into(), bad);
        let bytes = match codec().encode(&p) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let err = codec().decode::<Prediction>(Some(&bytes)).err();
        match err {
            Some(DecodeError::InvalidValue(msg)) => assert!(msg.contains("amount"), "{msg}"),
            other => panic!("expected invalid value, got {other:?}"),
        }
    }
}

#[test]
fn huge_length_claims_are_errors_not_allocations() {
    // prediction_id "", model_id "", model_version "", event_time 0, then a
    // map announcing 500,000,000 entries (zig-zag varint).
    let mut datum = vec![0u8, 0, 0, 0];
    let mut n: u64 = 500_000_000 << 1;
    while n >= 0x80 {
        datum.push((n as u8) | 0x80);
        n >>= 7;
    }
    datum.push(n as u8);
    let err = codec().decode::<Prediction>(Some(&frame(1, &datum))).err();
    assert_eq!(err.as_ref().map(|e| e.kind()), Some("avro"), "{err:?}");
    // A string claiming 100 MB.
    let mut datum = Vec::new();
    let mut n: u64 = 100_000_000 << 1;
    while n >= 0x80 {
        datum.push((n as u8) | 0x80);
        n >>= 7;
    }
    datum.push(n as u8);
    let err = codec().decode::<Label>(Some(&frame(2, &datum))).err();
    assert_eq!(err.as_ref().map(|e| e.kind()), Some("avro"), "{err:?}");
}

#[test]
fn nul_in_names_and_bad_event_times_are_invalid() {
    let c = codec();
    let mut bad_model = prediction();
    bad_model.model_id = "a\0b".into();
    let mut bad_feature = prediction();
    bad_feature.features.insert("x\0y".into(), 1.0);
    let mut bad_time = prediction();
    bad_time.event_time = -5;
    for p in [bad_model, bad_feature, bad_time] {
        let bytes = match c.encode(&p) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let err = c.decode::<Prediction>(Some(&bytes)).err();
        assert_eq!(
            err.as_ref().map(|e| e.kind()),
            Some("invalid-value"),
            "{err:?}"
        );
    }
}

#[test]
fn tombstone_is_missing_value() {
    let err = codec().decode::<Prediction>(None).err();
    assert_eq!(err.map(|e| e.kind()), Some("missing-value"));
}

#[test]
fn schema_files_declare_expected_names() {
    let c = codec();
    for kind in SchemaKind::ALL {
        match c.schema(kind) {
            apache_avro::Schema::Record(r) => assert_eq!(r.name.fullname(None), kind.full_name()),
            other => panic!("{kind:?} is not a record: {other:?}"),
        }
    }
}

proptest! {
    #[test]
    fn decode_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
        let c = codec();
        let bytes = frame(1, &tail);
        let _ = c.decode::<Prediction>(Some(&bytes));
        let _ = c.decode::<Label>(Some(&frame(2, &tail)));
        let _ = c.decode::<Prediction>(Some(&tail));
    }

    #[test]
    fn predictions_round_trip(
        values in proptest::collection::btree_map("[a-z]{1,8}", -1e12f64..1e12, 0..10),
        score in 0.0f64..1.0,
        t in 0i64..253_402_300_799_999,
    ) {
        let p = Prediction { features: values, score, event_time: t, ..prediction() };
        let c = codec();
        let bytes = c.encode(&p).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = c.decode::<Prediction>(Some(&bytes)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, p);
    }
}
