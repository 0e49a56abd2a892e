//! Valid inputs for `tests/fuzz_inputs.rs` to mutate: one or more encoded
//! records of every Avro schema, and strategies for valid predictions,
//! window plans, numeric and categorical windows (any content, or built by
//! pushes under any plan), model bookkeeping and bandit states. Every seed
//! here decodes without error before it is mutated.

use std::collections::BTreeMap;

use jidoka::config::Config;
use jidoka::decide::bandit::{Action as Arm, LinearThompsonBandit, Prior};
use jidoka::detect::anomaly::ZScoreConfig;
use jidoka::detect::hysteresis::Hysteresis;
use jidoka::detect::window::Entry;
use jidoka::detect::{
    CategoricalWindow, CategoryEntry, ReferenceKind, Tag, WindowEntry, WindowKind, WindowPlan,
    Windows,
};
use jidoka::schema::{
    Action, ArmView, AuditInputs, AuditOutcome, AuditRecord, AuditStatus, BanditView, Codec,
    CooldownCheck, DeadLetter, DriftEvent, FeatureEvidence, GateCheck, HealCommand, HealOutcome,
    Label, OperatorCommand, OperatorKind, OutcomeStatus, Prediction, RuleEvaluation, SchemaKind,
    Superseded, TestKind,
};
use jidoka::state::{Alert, AlertKey, EventClock, LabelCounts, ModelMeta};
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
            test: TestKind::Ks,
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
            hard: with_options,
            priority: 5,
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
        decided_by: "bandit".into(),
        proposed_action: "retrain".into(),
        context: [("drift".to_string(), 0.3)].into_iter().collect(),
        bandit: with_options.then(|| BanditView {
            chosen: "retrain".into(),
            confidence: 0.85,
            threshold: 0.8,
            samples: 200,
            arms: vec![ArmView {
                action: "retrain".into(),
                posterior_mean: 0.4,
                observations: 12,
                deviation: Some(0.05),
            }],
            seed: Some(9),
            against: Some("none".into()),
        }),
        checks: vec![GateCheck {
            name: "cooldown".into(),
            passed: true,
            detail: "not in cooldown".into(),
        }],
        operator_command_id: with_options.then(|| "op-1".into()),
        status: AuditStatus::Completed,
        version: 2,
        outcome: with_options.then(|| AuditOutcome {
            command_id: "cmd-1".into(),
            status: OutcomeStatus::Succeeded,
            recovery: 0.2,
            cost: 10.0,
            reward: 0.1,
            reported_at: 30,
        }),
        supersedes: with_options.then(|| Superseded {
            sequence: 3,
            record_hash: "ee".into(),
        }),
        reward: with_options.then(|| jidoka::schema::AuditReward {
            arm: "retrain".into(),
            parts: "measured+reported".into(),
            learned: true,
            horizon_ms: 1_800_000,
            measured_at: Some(40),
            accuracy_drop_before: 0.1,
            drifted_share_before: 0.5,
            accuracy_drop_after: Some(0.0),
            drifted_share_after: None,
            measured_recovery: Some(0.3),
            reported_recovery: Some(0.2),
            reported_cost: Some(10.0),
            measured_weight: 1.0,
            reported_weight: 1.0,
            benefit_weight: 1.0,
            cost_weight: 0.01,
            recovery: 0.25,
            reward: 0.15,
        }),
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
    for (kind, status, adjusted, correction) in [
        ("covariate", "opened", Some(1e-7), "benjamini-hochberg"),
        ("anomaly", "closed", None, "none"),
    ] {
        out.push((
            SchemaKind::DriftEvent,
            codec.encode(&DriftEvent {
                event_id: "drift-1".into(),
                model_id: "churn-v7".into(),
                feature: "tenure_days".into(),
                test: TestKind::Ks,
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
                kind: kind.into(),
                status: status.into(),
                adjusted_p_value: adjusted,
                correction: correction.into(),
                late_records: 3,
                effect_size: None,
                min_effect: None,
            })?,
        ));
    }
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
                target_command_id: None,
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
            note: None,
        })?,
    ));
    for with in [false, true] {
        out.push((
            SchemaKind::OperatorCommand,
            codec.encode(&OperatorCommand {
                command_id: "op-1".into(),
                kind: if with {
                    OperatorKind::Approve
                } else {
                    OperatorKind::Pause
                },
                model_id: with.then(|| "churn-v7".into()),
                target_command_id: with.then(|| "cmd-1".into()),
                issued_by: "alice".into(),
                issued_at: 11,
                signature: with.then(|| "ff00".into()),
                action: with.then(|| "rollback".into()),
                note: with.then(|| "operator note".into()),
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

/// Any window plan: count or time windows, and every reference kind.
pub fn plan() -> impl Strategy<Value = WindowPlan> {
    let window = prop_oneof![
        (1usize..8).prop_map(|size| WindowKind::Count { size }),
        (1i64..5000, 1i64..5000, 0usize..4).prop_map(|(size_ms, slide_ms, min_values)| {
            WindowKind::Time {
                size_ms,
                slide_ms,
                min_values,
            }
        }),
    ];
    let reference = prop_oneof![
        (0usize..12).prop_map(ReferenceKind::FirstN),
        (0usize..12).prop_map(ReferenceKind::Rolling),
        (-2000i64..4000, 0i64..8000).prop_map(|(start, len)| ReferenceKind::TimeRange {
            start,
            end: start + len,
        }),
        Just(ReferenceKind::Preloaded),
    ];
    (window, reference).prop_map(|(window, reference)| WindowPlan { window, reference })
}

/// Window ends: none yet, extremes, and ordinary times.
pub fn window_end() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(i64::MIN)),
        1 => Just(Some(i64::MAX)),
        3 => (-1000i64..10_000).prop_map(Some),
        1 => any::<i64>().prop_map(Some),
    ]
}

/// Any stored entries of one feature: either tag, any records and times,
/// NaN and infinite values included (entries store bits, not numbers), as a
/// corrupt or foreign store could hold them.
fn entries<V: std::fmt::Debug + Clone>(
    value: impl Strategy<Value = V>,
) -> impl Strategy<Value = Vec<(Tag, Entry<V>)>> {
    let tag = prop_oneof![Just(Tag::Reference), Just(Tag::Window)];
    prop::collection::vec((tag, any::<u64>(), any::<i64>(), value), 0..60).prop_map(|v| {
        v.into_iter()
            .map(|(tag, record, time, value)| {
                (
                    tag,
                    Entry {
                        record,
                        time,
                        value,
                    },
                )
            })
            .collect()
    })
}

/// Numeric windows as the processor builds them: finite values pushed under
/// a plan, with a moving watermark and time windows advanced.
fn pushed_feature_window() -> impl Strategy<Value = Windows<f64>> {
    (
        plan(),
        prop::collection::vec((0i64..3000, finite_value()), 0..60),
        0i64..2000,
    )
        .prop_map(|(plan, values, lateness)| {
            let mut w = Windows::default();
            let mut max_time = i64::MIN;
            for (i, (time, value)) in values.into_iter().enumerate() {
                max_time = max_time.max(time);
                let watermark = max_time - lateness;
                let entry = WindowEntry {
                    record: i as u64 + 1,
                    time,
                    value,
                };
                w.push(entry, watermark, &plan, &mut ());
                if let WindowKind::Time { slide_ms, .. } = plan.window {
                    w.advance(watermark.div_euclid(slide_ms) * slide_ms, &plan, &mut ());
                }
            }
            w
        })
}

/// Any numeric windows: rebuilt from arbitrary entries under any plan, or
/// built by pushes.
pub fn feature_window() -> impl Strategy<Value = Windows<f64>> {
    prop_oneof![
        (plan(), entries(any::<f64>()), window_end()).prop_map(|(plan, e, end)| Windows::rebuild(
            e,
            end,
            &plan,
            &mut ()
        )),
        pushed_feature_window(),
    ]
}

/// Categories: a few common ones, the empty one, and any text.
fn category() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["fr", "de", "us", ""]).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ]
}

/// Categorical windows as the processor builds them.
fn pushed_categorical_window() -> impl Strategy<Value = CategoricalWindow> {
    (
        plan(),
        prop::collection::vec((0i64..3000, category()), 0..60),
        0i64..2000,
    )
        .prop_map(|(plan, values, lateness)| {
            let mut w = CategoricalWindow::default();
            let mut max_time = i64::MIN;
            for (i, (time, value)) in values.into_iter().enumerate() {
                max_time = max_time.max(time);
                let watermark = max_time - lateness;
                let entry = CategoryEntry {
                    record: i as u64 + 1,
                    time,
                    value,
                };
                w.push(entry, watermark, &plan);
                if let WindowKind::Time { slide_ms, .. } = plan.window {
                    w.advance(watermark.div_euclid(slide_ms) * slide_ms, &plan);
                }
            }
            w
        })
}

/// Any categorical windows: rebuilt from arbitrary entries under any plan,
/// or built by pushes.
pub fn categorical_window() -> impl Strategy<Value = CategoricalWindow> {
    prop_oneof![
        (plan(), entries(category()), window_end())
            .prop_map(|(plan, e, end)| CategoricalWindow::rebuild(e, end, &plan)),
        pushed_categorical_window(),
    ]
}

/// Any model bookkeeping: counters, clock, alerts in any state, metric
/// windows and baselines and an accuracy state built from observations.
pub fn model_meta(cfg: &Config) -> impl Strategy<Value = ModelMeta> {
    let labels_cfg = cfg.labels.clone();
    let counters = (
        any::<u64>(),
        "\\PC{0,8}",
        prop::option::of(any::<i64>()),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        prop::option::of("[0-9a-f]{0,64}"),
    );
    let clock = (
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
        any::<[u64; 3]>(),
    )
        .prop_map(
            |(max_event_time, window_end, [out_of_order, late, before_reference])| EventClock {
                max_event_time,
                window_end,
                out_of_order,
                late,
                before_reference,
            },
        );
    let alerts = prop::collection::btree_map(
        prop_oneof![
            "[a-z]{1,4}".prop_map(AlertKey::Feature),
            "[a-z_]{1,8}".prop_map(AlertKey::Anomaly),
            Just(AlertKey::Concept),
        ],
        (
            prop::collection::vec(any::<bool>(), 0..8),
            1u32..4,
            prop::option::of("[a-z0-9-]{0,12}"),
        )
            .prop_map(|(signals, persist, opened_by)| {
                let mut state = Hysteresis::default();
                for s in signals {
                    state.observe(s, persist);
                }
                Alert { state, opened_by }
            }),
        0..4,
    );
    let observations = prop::collection::vec(
        (
            finite_value(),
            prop::option::of("[01]"),
            prop::option::of(finite_value()),
            prop::option::of(any::<bool>()),
            prop::option::of(finite_value()),
            0u8..4,
        ),
        0..30,
    );
    let labels = any::<[u64; 6]>().prop_map(|c| LabelCounts {
        joined: c[0],
        early: c[1],
        duplicate: c[2],
        unknown: c[3],
        unlabeled: c[4],
        incomparable: c[5],
    });
    (counters, clock, alerts, observations, labels).prop_map(
        move |(
            (records_seen, model_version, last_action_at, decisions, commands, seq, hash),
            clock,
            alerts,
            observations,
            labels,
        )| {
            let mut meta = ModelMeta {
                records_seen,
                model_version,
                last_action_at,
                decisions,
                commands,
                audit_sequence: seq,
                last_audit_hash: hash,
                clock,
                alerts,
                labels,
                ..ModelMeta::default()
            };
            let zscore = ZScoreConfig::default();
            for (score, class, latency, hit, error, evaluate) in observations {
                meta.metrics
                    .observe_prediction(score, class.as_deref(), latency);
                meta.metrics.observe_outcome(hit, error);
                if let Some(hit) = hit {
                    meta.accuracy.record(hit, &labels_cfg);
                }
                if evaluate == 0 {
                    meta.metrics.evaluate(&zscore);
                }
            }
            meta
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
