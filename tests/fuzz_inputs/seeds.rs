//! Valid inputs for `tests/fuzz_inputs.rs` to mutate: one or more encoded
//! records of every Avro schema, and strategies for valid predictions,
//! feature windows, categorical windows, model bookkeeping and bandit
//! states. Every seed here decodes without error before it is mutated.

use std::collections::{BTreeMap, VecDeque};

use jidoka::decide::bandit::{Action as Arm, LinearThompsonBandit, Prior};
use jidoka::detect::{CategoricalWindow, CategoryEntry, FeatureWindow, WindowEntry};
use jidoka::schema::{
    Action, AuditInputs, AuditRecord, Codec, CooldownCheck, DeadLetter, DriftEvent,
    FeatureEvidence, HealCommand, HealOutcome, Label, OperatorCommand, OperatorKind, OutcomeStatus,
    Prediction, RuleEvaluation, SchemaKind,
};
use jidoka::state::ModelMeta;
use proptest::prelude::*;

use crate::common::BoxError;

/// A prediction like the demo's.
pub fn prediction(i: usize) -> Prediction {
    Prediction {
        prediction_id: format!("p-{i}"),
        model_id: "fraud-v3".into(),
        model_version: "3".into(),
        event_time: 1_767_225_600_000 + i as i64,
        features: BTreeMap::from([
            ("amount".into(), 120.5 + i as f64),
            ("hour_of_day".into(), 12.0),
            ("merchant_risk".into(), 0.3),
        ]),
        categorical_features: Some(BTreeMap::from([("country".into(), "fr".into())])),
        score: 0.75,
        predicted_class: Some("1".into()),
        latency_ms: Some(4.5),
    }
}

/// An audit record, optional fields set or not.
pub fn audit(with_options: bool) -> AuditRecord {
    AuditRecord {
        decision_id: "dec-1".into(),
        model_id: "churn-v7".into(),
        model_version: "1".into(),
        decided_at: 12,
        inputs: AuditInputs {
            source_topic: "predictions".into(),
            source_partition: 2,
            source_offset: 99,
            records_seen: 1500,
        },
        evidence: vec![FeatureEvidence {
            feature: "tenure_days".into(),
            test: "ks".into(),
            statistic: 0.3,
            p_value: 1e-9,
            drifted: true,
            drift_event_id: with_options.then(|| "drift-1".into()),
        }],
        rules: vec![RuleEvaluation {
            name: "drift-retrain".into(),
            condition: "p < alpha".into(),
            matched: true,
            action: "retrain".into(),
        }],
        cooldown: CooldownCheck {
            active: false,
            last_action_at: with_options.then_some(3),
            remaining_ms: 0,
        },
        action: "retrain".into(),
        gate_reason: "rule".into(),
        command_id: with_options.then(|| "cmd-1".into()),
        config_version: "abc".into(),
        sequence: 4,
        previous_hash: with_options.then(|| "ab".into()),
        record_hash: "cd".into(),
    }
}

/// Valid encodings of every record type (several per type, optional fields
/// set and unset), with their schema.
pub fn encoded_records(codec: &Codec) -> Result<Vec<(SchemaKind, Vec<u8>)>, BoxError> {
    let mut out = Vec::new();
    for i in 0..3 {
        out.push((SchemaKind::Prediction, codec.encode(&prediction(i))?));
    }
    out.push((
        SchemaKind::Prediction,
        codec.encode(&Prediction {
            categorical_features: None,
            predicted_class: None,
            latency_ms: None,
            features: BTreeMap::new(),
            ..prediction(9)
        })?,
    ));
    out.push((
        SchemaKind::Label,
        codec.encode(&Label {
            prediction_id: "p-1".into(),
            model_id: "fraud-v3".into(),
            event_time: 5,
            label: "1".into(),
        })?,
    ));
    out.push((
        SchemaKind::DriftEvent,
        codec.encode(&DriftEvent {
            event_id: "drift-1".into(),
            model_id: "churn-v7".into(),
            feature: "tenure_days".into(),
            test: "ks".into(),
            statistic: 0.4,
            p_value: 1e-9,
            alpha: 0.001,
            reference_size: 500,
            reference_start_time: 1,
            reference_end_time: 2,
            window_size: 250,
            window_start_record: 751,
            window_end_record: 1000,
            window_start_time: 3,
            window_end_time: 4,
            event_time: 4,
        })?,
    ));
    for (action, evidence) in [
        (
            Action::Retrain,
            vec!["drift-1".to_string(), "drift-2".into()],
        ),
        (Action::Escalate, vec![]),
    ] {
        out.push((
            SchemaKind::HealCommand,
            codec.encode(&HealCommand {
                command_id: "cmd-1".into(),
                decision_id: "dec-1".into(),
                model_id: "churn-v7".into(),
                model_version: "1".into(),
                action,
                reason: "drift".into(),
                evidence,
                issued_at: 9,
                config_version: "abc".into(),
            })?,
        ));
    }
    out.push((
        SchemaKind::HealOutcome,
        codec.encode(&HealOutcome {
            command_id: "cmd-1".into(),
            model_id: "churn-v7".into(),
            status: OutcomeStatus::Failed,
            recovery: 0.1,
            cost: 100.0,
            reported_at: 10,
        })?,
    ));
    for with in [false, true] {
        out.push((
            SchemaKind::OperatorCommand,
            codec.encode(&OperatorCommand {
                command_id: "op-1".into(),
                kind: OperatorKind::Pause,
                model_id: with.then(|| "churn-v7".into()),
                target_command_id: with.then(|| "cmd-1".into()),
                issued_by: "alice".into(),
                issued_at: 11,
                signature: with.then(|| "ff00".into()),
            })?,
        ));
        out.push((SchemaKind::AuditRecord, codec.encode(&audit(with))?));
        out.push((
            SchemaKind::DeadLetter,
            codec.encode(&DeadLetter {
                source_topic: "predictions".into(),
                source_partition: 0,
                source_offset: 7,
                source_key: with.then(|| b"fraud-v3".to_vec()),
                payload: with.then(|| vec![1, 2, 3, 0, 255]),
                payload_size: 5,
                payload_truncated: false,
                payload_sha256: with.then(|| "ab".into()),
                error_kind: "framing".into(),
                reason: "wrong magic byte".into(),
                source_timestamp: with.then_some(1234),
            })?,
        ));
    }
    Ok(out)
}

/// Feature values from ordinary to extreme (but finite, as a prediction's
/// contract demands).
pub fn finite_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3f64..1e3,
        2 => any::<f64>().prop_filter("finite", |v| v.is_finite()),
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1e308,
            -1e308,
        ]),
        1 => (0u8..4).prop_map(f64::from),
    ]
}

/// Valid predictions of a few models with few feature names (so windows
/// fill and evaluations run) and extreme values, times and categories.
pub fn valid_prediction() -> impl Strategy<Value = Prediction> {
    let names = prop::sample::select(vec!["a", "b", "c", "é", "x y", "\u{1F600}"]);
    let categories = prop_oneof![
        4 => prop::sample::select(vec!["fr", "de", "us", ""]).prop_map(str::to_string),
        1 => "\\PC{0,12}",
    ];
    (
        prop::sample::select(vec!["m1", "m2", "m3"]),
        prop::sample::select(vec!["1", "2"]),
        0i64..=253_402_300_799_999,
        prop::collection::btree_map(names.clone().prop_map(str::to_string), finite_value(), 0..5),
        prop::option::of(prop::collection::btree_map(
            names.prop_map(str::to_string),
            categories,
            0..3,
        )),
        finite_value(),
        prop::option::of("[01]"),
        prop::option::of(finite_value()),
    )
        .prop_map(
            |(model, version, event_time, features, categorical, score, class, latency)| {
                Prediction {
                    prediction_id: format!("{model}-{event_time}"),
                    model_id: model.to_string(),
                    model_version: version.to_string(),
                    event_time,
                    features,
                    categorical_features: categorical,
                    score,
                    predicted_class: class,
                    latency_ms: latency,
                }
            },
        )
}

/// Any feature window (NaN and infinite values included: the codec stores
/// bits, not numbers).
pub fn feature_window() -> impl Strategy<Value = FeatureWindow> {
    (
        prop::collection::vec(any::<f64>(), 0..40),
        any::<i64>(),
        any::<i64>(),
        prop::collection::vec((any::<u64>(), any::<i64>(), any::<f64>()), 0..20),
    )
        .prop_map(|(reference, start, end, current)| FeatureWindow {
            reference,
            reference_start_time: start,
            reference_end_time: end,
            current: current
                .into_iter()
                .map(|(record, time, value)| WindowEntry {
                    record,
                    time,
                    value,
                })
                .collect::<VecDeque<_>>(),
        })
}

/// A categorical window built by pushes, as the processor builds them.
pub fn categorical_window() -> impl Strategy<Value = CategoricalWindow> {
    (
        prop::collection::vec(
            prop_oneof![
                4 => prop::sample::select(vec!["fr", "de", "us"]).prop_map(str::to_string),
                1 => "\\PC{0,8}",
            ],
            0..40,
        ),
        1usize..12,
        1usize..8,
    )
        .prop_map(|(values, reference, window)| {
            let mut w = CategoricalWindow::default();
            for (i, value) in values.into_iter().enumerate() {
                let entry = CategoryEntry {
                    record: i as u64 + 1,
                    time: i as i64 * 1000,
                    value,
                };
                w.push(entry, reference, window);
            }
            w
        })
}

/// Any model bookkeeping.
pub fn model_meta() -> impl Strategy<Value = ModelMeta> {
    (
        any::<u64>(),
        "\\PC{0,8}",
        prop::option::of(any::<i64>()),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        prop::option::of("[0-9a-f]{0,64}"),
    )
        .prop_map(
            |(records_seen, model_version, last_action_at, decisions, commands, seq, hash)| {
                ModelMeta {
                    records_seen,
                    model_version,
                    last_action_at,
                    decisions,
                    commands,
                    audit_sequence: seq,
                    last_audit_hash: hash,
                }
            },
        )
}

/// A bandit over a subset of the arms after a few updates, as bytes.
pub fn bandit_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        1usize..5,
        1u8..64,
        prop::collection::vec(
            (
                0usize..6,
                prop::collection::vec(-10.0f64..10.0, 4),
                -100.0f64..100.0,
            ),
            0..12,
        ),
    )
        .prop_map(|(dim, mask, updates)| {
            let arms: Vec<Arm> = Arm::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, a)| a)
                .collect();
            let Ok(mut bandit) = LinearThompsonBandit::new(dim, &arms, Prior::default()) else {
                return Vec::new();
            };
            for (arm, x, reward) in updates {
                let _ = bandit.update(Arm::ALL[arm], &x[..dim], reward);
            }
            bandit.to_bytes()
        })
}
