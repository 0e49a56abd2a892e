//! Fuzz targets of `tests/fuzz_inputs.rs` for stored state: numeric and
//! categorical windows as the store keeps them (entry segments), model
//! bookkeeping (binary), the same values written raw into
//! every store of RocksDB and read through the store and the processor, and
//! the bandit's byte format. No panic; what decodes re-encodes exactly (or
//! round-trips) and keeps working: restored windows take pushes, advance
//! and test under every plan, and their KS statistic and category counts
//! describe exactly the stored entries.

use jidoka::config::Config;
use jidoka::decide::bandit::LinearThompsonBandit;
use jidoka::detect::anomaly::ZScoreConfig;
use jidoka::detect::ks::{statistic_brute_force, Alternative};
use jidoka::detect::Tag;
use jidoka::detect::{
    CategoricalWindow, CategoryEntry, DriftDetector, Due, FeatureState, WindowEntry, WindowValue,
    Windows,
};
use jidoka::pipeline::{Output, Processor, SourcePos};
use jidoka::schema::Label;
use jidoka::state::segments::{self, encode_segment, segment_key, CATEGORICAL, HEAD, NUMERIC};
use jidoka::state::{offset_key, window_key, Cf, Checkpoint, ModelMeta, Store, Write, MODELS};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::SeedableRng;

use super::mutate::{self, cases, fail, fuzz, Ran};
use super::{codec, seeds, small_config};
use crate::common::{BoxError, TestResult};

/// Detectors of every window and reference kind: count windows with the
/// first N values as reference, sliding time windows with a rolling
/// reference, and count windows with a time-range reference.
fn detectors() -> Result<Vec<DriftDetector>, BoxError> {
    use jidoka::config::{ReferenceMode, WindowKindName};
    use std::time::Duration;
    let count = small_config()?;
    let mut time = small_config()?;
    time.detect.window_kind = WindowKindName::Time;
    time.detect.window_duration = Duration::from_secs(3);
    time.detect.window_slide = Duration::from_secs(1);
    time.detect.min_window_size = 1;
    time.detect.allowed_lateness = Duration::from_millis(500);
    time.detect.reference_mode = ReferenceMode::Rolling;
    let mut range = small_config()?;
    range.detect.reference_mode = ReferenceMode::TimeRange;
    Ok(vec![
        DriftDetector::new(&count.detect, None),
        DriftDetector::new(&time.detect, None),
        DriftDetector::new(&range.detect, Some((0, 2000))),
    ])
}

/// The KS statistic of restored windows is that of their stored entries
/// (when no value is NaN, whose order the brute force leaves unspecified).
fn check_statistic(state: &mut FeatureState) -> Result<(), TestCaseError> {
    let w = state.windows();
    let reference: Vec<f64> = w.reference().iter().map(|e| e.value).collect();
    let current: Vec<f64> = w.current().iter().map(|e| e.value).collect();
    if reference.is_empty() || current.is_empty() {
        return Ok(());
    }
    if reference.iter().chain(&current).any(|v| v.is_nan()) {
        let _ = state.statistic();
        return Ok(());
    }
    let brute = statistic_brute_force(&reference, &current, Alternative::TwoSided);
    let d = state.statistic();
    prop_assert!((d - brute).abs() < 1e-9, "restored D {d}, stored {brute}");
    Ok(())
}

/// Category counts of restored windows are a recount of the stored entries.
fn check_counts(w: &CategoricalWindow) -> Result<(), TestCaseError> {
    let recount = |side: &std::collections::VecDeque<CategoryEntry>| {
        let mut m = std::collections::BTreeMap::<String, u64>::new();
        for e in side {
            *m.entry(e.value.clone()).or_default() += 1;
        }
        m
    };
    prop_assert_eq!(&w.counts().reference, &recount(w.windows().reference()));
    prop_assert_eq!(&w.counts().current, &recount(w.windows().current()));
    Ok(())
}

/// The time of the `i`-th value pushed into restored windows: near their
/// window end if they have one, else near 0; and the watermark at that time.
fn step(base: Option<i64>, i: u64, detector: &DriftDetector) -> (i64, i64) {
    let time = base
        .unwrap_or(0)
        .saturating_add(i64::try_from(i).unwrap_or(0) * 700 - 500);
    (time, detector.watermark(time))
}

/// Numeric windows restored from stored entries keep working under every
/// plan: pushes, evaluations as the processor runs them, and a statistic
/// that always matches the stored entries.
fn exercise_feature(
    entries: &[(Tag, WindowEntry)],
    end: Option<i64>,
    detectors: &[DriftDetector],
) -> Result<(), TestCaseError> {
    for detector in detectors {
        let plan = *detector.plan();
        let mut state = FeatureState::rebuild(entries.iter().cloned(), end, &plan);
        check_statistic(&mut state)?;
        let mut last_end = state.windows().window_end();
        for i in 0..6u64 {
            let (time, watermark) = step(last_end, i, detector);
            let entry = WindowEntry {
                record: i + 1,
                time,
                value: i as f64 * 0.5,
            };
            let _ = state.push(entry, watermark, &plan);
            match detector.due(i + 1, watermark, last_end) {
                Due::No => continue,
                Due::Now => {}
                Due::AtWindowEnd(end) => {
                    state.advance(end, &plan);
                    last_end = Some(end);
                }
            }
            for t in detector.evaluate_all([("f", &mut state)], [], watermark) {
                prop_assert!((0.0..=1.0).contains(&t.p_value) || t.p_value.is_nan());
            }
            check_statistic(&mut state)?;
        }
    }
    Ok(())
}

/// Categorical windows restored from stored entries keep working under
/// every plan, their counts always matching the stored entries.
fn exercise_categorical(
    entries: &[(Tag, CategoryEntry)],
    end: Option<i64>,
    detectors: &[DriftDetector],
) -> Result<(), TestCaseError> {
    for detector in detectors {
        let plan = *detector.plan();
        let mut w = CategoricalWindow::rebuild(entries.iter().cloned(), end, &plan);
        check_counts(&w)?;
        let mut last_end = w.windows().window_end();
        for (i, value) in ["fr", "de", "fr", "xx", "", "de"].into_iter().enumerate() {
            let i = i as u64;
            let (time, watermark) = step(w.windows().window_end(), i, detector);
            let entry = CategoryEntry {
                record: i + 1,
                time,
                value: value.into(),
            };
            let _ = w.push(entry, watermark, &plan);
            match detector.due(i + 1, watermark, last_end) {
                Due::No => continue,
                Due::Now => {}
                Due::AtWindowEnd(end) => {
                    w.advance(end, &plan);
                    last_end = Some(end);
                }
            }
            let _ = detector.evaluate_all(std::iter::empty(), [("c", &mut w)], watermark);
            check_counts(&w)?;
        }
    }
    Ok(())
}

/// Segment encodings with a forged header: any version and an entry count
/// at the limits, then anything.
fn forged_header() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0u8, 1, 1, 2, 255]),
        prop_oneof![
            Just(u32::MAX),
            Just(1u32 << 29),
            Just(0u32),
            0u32..50,
            any::<u32>()
        ],
        mutate::bytes(600),
    )
        .prop_map(|(version, len, tail)| {
            let mut b = vec![version];
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&tail);
            b
        })
}

#[test]
fn numeric_segment_decode_never_panics() -> TestResult {
    let detectors = detectors()?;
    let input = prop_oneof![
        1 => mutate::bytes(256),
        3 => (seeds::feature_window(), mutate::mutations())
            .prop_map(|(w, ms)| mutate::mutated(&numeric_segment(&w), &ms)),
        1 => forged_header(),
        1 => seeds::feature_window().prop_map(|w| numeric_segment(&w)),
    ];
    fuzz(
        "state/numeric-segment",
        cases(1),
        (input, seeds::window_end()),
        |(bytes, end)| {
            let Ok(entries) = segments::decode_segment::<f64>(&bytes) else {
                return Ok(Ran::one(false));
            };
            // The format has no slack: what decodes re-encodes to the same
            // bytes (compared as bytes: NaN values are not equal to themselves).
            prop_assert_eq!(encode_segment(&entries), bytes);
            exercise_feature(&entries, end, &detectors)?;
            Ok(Ran::one(true))
        },
    )
}

#[test]
fn categorical_segment_decode_never_panics() -> TestResult {
    let detectors = detectors()?;
    let input = prop_oneof![
        1 => mutate::bytes(256),
        3 => (seeds::categorical_window(), mutate::mutations())
            .prop_map(|(w, ms)| mutate::mutated(&categorical_segment(&w), &ms)),
        1 => forged_header(),
        1 => seeds::categorical_window().prop_map(|w| categorical_segment(&w)),
    ];
    fuzz(
        "state/categorical-segment",
        cases(1),
        (input, seeds::window_end()),
        |(bytes, end)| {
            let Ok(entries) = segments::decode_segment::<String>(&bytes) else {
                return Ok(Ran::one(false));
            };
            prop_assert_eq!(encode_segment(&entries), bytes);
            exercise_categorical(&entries, end, &detectors)?;
            Ok(Ran::one(true))
        },
    )
}

/// Bookkeeping as the store writes it (binary, versioned).
fn meta_bytes(m: &ModelMeta) -> Vec<u8> {
    MODELS.encode(m).unwrap_or_default()
}

/// Bookkeeping edited as JSON (numbers swapped for extreme ones), then
/// stored as the store writes it: values no processor would produce.
fn swapped_meta_bytes(m: &ModelMeta, picks: &[(usize, usize)]) -> Vec<u8> {
    let json = serde_json::to_vec(m).unwrap_or_default();
    let swapped = mutate::swap_json_numbers(&json, picks);
    match serde_json::from_slice::<ModelMeta>(&swapped) {
        Ok(edited) => meta_bytes(&edited),
        Err(_) => swapped,
    }
}

#[test]
fn model_meta_decode_never_panics() -> TestResult {
    let cfg = small_config()?;
    let input = prop_oneof![
        1 => mutate::bytes(200).prop_map(|b| (b, false)),
        2 => (seeds::model_meta(&cfg), mutate::mutations())
            .prop_map(|(m, ms)| (mutate::mutated(&meta_bytes(&m), &ms), false)),
        2 => (seeds::model_meta(&cfg), mutate::number_swaps())
            .prop_map(|(m, picks)| (swapped_meta_bytes(&m, &picks), false)),
        1 => seeds::model_meta(&cfg).prop_map(|m| (meta_bytes(&m), true)),
    ];
    fuzz("state/model-meta", cases(1), input, |(bytes, valid)| {
        let meta = match MODELS.decode(b"m", &bytes) {
            Ok(meta) => meta,
            Err(e) => {
                // Bookkeeping jidoka wrote always reads back.
                prop_assert!(!valid, "{e}");
                return Ok(Ran::one(false));
            }
        };
        let again = MODELS
            .decode(b"m", &MODELS.encode(&meta).map_err(fail)?)
            .map_err(fail)?;
        // Compared through their encoding: NaN is not equal to itself.
        prop_assert_eq!(meta_bytes(&again), meta_bytes(&meta));
        exercise_meta(meta, &cfg);
        Ok(Ran::one(true))
    })
}

/// Restored bookkeeping keeps working: predictions and outcomes enter its
/// metric windows and accuracy state, evaluations and alerts run, as the
/// processor does with every record.
fn exercise_meta(mut meta: ModelMeta, cfg: &Config) {
    let zscore = ZScoreConfig::default();
    for i in 0..4 {
        let hit = i % 2 == 0;
        meta.metrics.observe_prediction(0.5, Some("1"), Some(4.0));
        meta.metrics.observe_outcome(Some(hit), Some(0.25));
        meta.accuracy.record(hit, &cfg.labels);
        let _ = meta.accuracy.check(&cfg.labels);
        let _ = meta.metrics.evaluate(&zscore);
        for alert in meta.alerts.values_mut() {
            let _ = alert.state.observe(hit, 2);
        }
    }
}

/// Bookkeeping as the processor wrote it once, then changed (edited as
/// JSON, stored as the store writes it).
fn stored_meta(edit: impl Fn(String) -> String) -> Result<Vec<u8>, BoxError> {
    let mut meta = ModelMeta::default();
    meta.metrics.observe_prediction(0.5, Some("1"), None);
    let edited: ModelMeta = serde_json::from_str(&edit(serde_json::to_string(&meta)?))?;
    Ok(MODELS.encode(&edited)?)
}

/// Found by `state/model-meta`: stored class counts at `u64::MAX` (corrupt
/// state) overflow when the next prediction of that class arrives (a panic
/// in debug builds). A processor must report corrupt state, never panic.
#[test]
fn corrupt_saturated_class_count_is_not_a_panic() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), false)?;
    let meta = stored_meta(|json| {
        let saturated = json.replace(r#""1":1"#, r#""1":18446744073709551615"#);
        saturated.replace(
            r#""class_total":1"#,
            r#""class_total":18446744073709551615"#,
        )
    })?;
    let p = seeds::prediction(0);
    store.write(&Checkpoint {
        writes: vec![raw_write_at(Cf::Models, p.model_id.as_bytes(), meta)],
        offsets: Vec::new(),
    })?;
    let mut proc = Processor::new(&small_config()?, "fuzz", store);
    let pos = SourcePos {
        topic: "fuzz".into(),
        partition: 0,
        offset: 0,
    };
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        proc.process(&pos, &p).map(|outs| outs.len())
    }));
    assert!(
        caught.is_ok(),
        "processing over saturated class counts panicked"
    );
    Ok(())
}

/// Found by `state/model-meta`: two valid (finite) scores near `f64::MAX`
/// in one metric window make its sum infinite, which the model's former
/// JSON bookkeeping stored as `null`; after a restart the model's state no
/// longer loaded. A processor must restart from whatever valid input it was fed.
#[test]
fn processor_restarts_after_huge_finite_scores() -> TestResult {
    let mut cfg = small_config()?;
    cfg.detect.evaluate_every = 1000;
    let dir = tempfile::tempdir()?;
    let pos = |offset| SourcePos {
        topic: "fuzz".into(),
        partition: 0,
        offset,
    };
    {
        let mut proc = Processor::new(&cfg, "fuzz", Store::open(dir.path(), false)?);
        for i in 0..2 {
            let p = jidoka::schema::Prediction {
                score: f64::MAX,
                ..seeds::prediction(i)
            };
            proc.process(&pos(i as i64), &p)?;
        }
        proc.checkpoint()?;
    }
    let mut proc = Processor::new(&cfg, "fuzz", Store::open(dir.path(), false)?);
    proc.process(&pos(2), &seeds::prediction(2))?;
    Ok(())
}

const MODEL_IDS: [&str; 3] = ["m1", "m2", "m3"];
/// Feature names the fuzzed processor's predictions carry (`country` is
/// categorical).
const FEATURES: [&str; 3] = ["a", "amount", "country"];

/// Where a raw value goes.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Model,
    /// A segment of a numeric (`n`) or categorical (`c`) feature starting at
    /// a record, or its head.
    Segment(u8, u64),
    Offset,
    Pending,
    Orphan,
    Expiry,
}

fn slot() -> impl Strategy<Value = Slot> {
    prop::sample::select(vec![
        Slot::Model,
        Slot::Segment(NUMERIC, 0),
        Slot::Segment(NUMERIC, 1),
        Slot::Segment(NUMERIC, HEAD),
        Slot::Segment(CATEGORICAL, 1),
        Slot::Segment(CATEGORICAL, HEAD),
        Slot::Offset,
        Slot::Pending,
        Slot::Orphan,
        Slot::Expiry,
    ])
}

/// A raw write of `value` to `key` of `cf`.
fn raw_write_at(cf: Cf, key: &[u8], value: Vec<u8>) -> Write {
    Write {
        cf,
        key: key.to_vec(),
        value: Some(value),
        partition: 0,
    }
}

/// A raw write of `value` to a slot of model `m`, feature `f`.
fn raw_write(slot: Slot, m: usize, f: usize, extra: &[u8], value: Vec<u8>) -> Write {
    let (model, feature) = (MODEL_IDS[m], FEATURES[f]);
    let (cf, key) = match slot {
        Slot::Model => (Cf::Models, model.as_bytes().to_vec()),
        Slot::Segment(kind, first) => (Cf::Windows, segment_key(model, kind, feature, first)),
        Slot::Offset => (Cf::Offsets, offset_key("fuzz", f as i32)),
        // The ids of the predictions the processor is fed below.
        Slot::Pending => (Cf::Pending, window_key(model, &format!("p-{f}"))),
        Slot::Orphan => (Cf::Orphans, window_key(model, &format!("p-{f}"))),
        Slot::Expiry => (Cf::Expiry, [model.as_bytes(), &[0], extra].concat()),
    };
    Write {
        cf,
        key,
        value: Some(value),
        partition: m as i32,
    }
}

#[test]
fn store_reads_of_corrupt_values_never_panic() -> TestResult {
    let codec = codec()?;
    let cfg = small_config()?;
    let value = prop_oneof![
        1 => mutate::bytes(128),
        2 => (seeds::feature_window(), mutate::mutations())
            .prop_map(|(w, ms)| mutate::mutated(&numeric_segment(&w), &ms)),
        1 => seeds::feature_window().prop_map(|w| numeric_segment(&w)),
        2 => (seeds::categorical_window(), mutate::mutations())
            .prop_map(|(w, ms)| mutate::mutated(&categorical_segment(&w), &ms)),
        1 => seeds::categorical_window().prop_map(|w| categorical_segment(&w)),
        1 => prop_oneof![Just(i64::MIN), Just(0i64), any::<i64>()].prop_map(|end| {
            // A head: version, window end.
            [&[1u8][..], &end.to_le_bytes()].concat()
        }),
        2 => (seeds::model_meta(&cfg), mutate::number_swaps())
            .prop_map(|(m, picks)| swapped_meta_bytes(&m, &picks)),
        1 => seeds::model_meta(&cfg).prop_map(|m| meta_bytes(&m)),
        1 => Just(Vec::new()),
        1 => any::<i64>().prop_map(|o| o.to_be_bytes().to_vec()),
    ];
    let entry = (
        slot(),
        0..MODEL_IDS.len(),
        0..FEATURES.len(),
        mutate::bytes(12),
        value,
    )
        .prop_map(|(slot, m, f, extra, value)| raw_write(slot, m, f, &extra, value));
    fuzz(
        "state/store",
        cases(100),
        prop::collection::vec(entry, 1..24),
        |writes| {
            let dir = tempfile::tempdir().map_err(fail)?;
            {
                // As disk corruption or a foreign writer would leave them.
                let store = Store::open(dir.path(), false).map_err(fail)?;
                let checkpoint = Checkpoint {
                    writes,
                    offsets: Vec::new(),
                };
                store.write(&checkpoint).map_err(fail)?;
            }
            let store = Store::open(dir.path(), false).map_err(fail)?;
            let mut ran = Ran::default();
            for m in MODEL_IDS {
                let meta = MODELS.get(&Default::default(), &store, m.as_bytes());
                ran += Ran::one(matches!(meta, Ok(Some(_))));
                let windows = segments::load(&store, m);
                ran += Ran::one(matches!(&windows, Ok(w) if !w.numeric.is_empty()));
                ran += Ran::one(matches!(&windows, Ok(w) if !w.categorical.is_empty()));
            }
            for p in 0..3 {
                ran += Ran::one(matches!(store.applied_offset("fuzz", p), Ok(Some(_))));
            }
            // The processor loads whatever decodes and keeps going.
            let mut proc = Processor::new(&cfg, "fuzz", store);
            for (i, m) in MODEL_IDS.into_iter().enumerate() {
                let mut ok = true;
                for r in 0..3 {
                    let mut p = seeds::prediction(r);
                    p.model_id = m.into();
                    p.features.insert("a".into(), 1.0);
                    let pos = SourcePos {
                        topic: "fuzz".into(),
                        partition: i as i32,
                        offset: 7 + r as i64,
                    };
                    ok &= proc.already_applied(&pos).is_ok();
                    let label = Label {
                        prediction_id: p.prediction_id.clone(),
                        model_id: m.into(),
                        event_time: p.event_time,
                        label: "1".into(),
                    };
                    let outs = [proc.process(&pos, &p), proc.process_label(&pos, &label)];
                    for out in outs {
                        match out {
                            Ok(outs) => {
                                for out in outs {
                                    match &out {
                                        Output::Drift(e) => codec.encode(e).map(drop),
                                        Output::Command(c) => codec.encode(c).map(drop),
                                        Output::Audit(a) => codec.encode(a).map(drop),
                                        Output::Evaluation(e) => codec.encode(e).map(drop),
                                        Output::Lesson(l) => l.encode().map(drop).map_err(|e| {
                                            jidoka::schema::SchemaError::Lesson(e.to_string())
                                        }),
                                    }
                                    .map_err(fail)?;
                                }
                            }
                            Err(_) => ok = false,
                        }
                    }
                }
                ran += Ran::one(ok);
            }
            let _ = proc.checkpoint();
            Ok(ran)
        },
    )
}

/// A window's entries as one stored segment (reference entries tagged so).
fn segment_of<V: WindowValue + Clone>(w: &Windows<V>) -> Vec<u8> {
    let r = w.reference().iter().map(|e| (Tag::Reference, e.clone()));
    let c = w
        .current()
        .iter()
        .chain(w.pending())
        .map(|e| (Tag::Window, e.clone()));
    encode_segment(&r.chain(c).collect::<Vec<_>>())
}

/// A numeric window's entries as one stored segment.
fn numeric_segment(w: &Windows<f64>) -> Vec<u8> {
    segment_of(w)
}

/// A categorical window's entries as one stored segment.
fn categorical_segment(w: &CategoricalWindow) -> Vec<u8> {
    segment_of(w.windows())
}

#[test]
fn bandit_decode_never_panics() -> TestResult {
    let header = (
        prop::sample::select(vec![1u8, 0, 2]),
        prop_oneof![
            Just(0u32),
            Just(1),
            Just(64),
            Just(65),
            Just(u32::MAX),
            any::<u32>()
        ],
        prop_oneof![
            Just(0u32),
            Just(1),
            Just(6),
            Just(7),
            Just(u32::MAX),
            any::<u32>()
        ],
        mutate::bytes(1200),
    )
        .prop_map(|(version, dim, count, tail)| {
            let mut b = b"JDKB".to_vec();
            b.push(version);
            b.extend_from_slice(&dim.to_le_bytes());
            b.extend_from_slice(&count.to_le_bytes());
            b.extend_from_slice(&tail);
            b
        });
    let input = prop_oneof![
        1 => mutate::bytes(256),
        3 => (seeds::bandit_bytes(), mutate::mutations())
            .prop_map(|(b, ms)| mutate::mutated(&b, &ms)),
        1 => header,
        1 => seeds::bandit_bytes(),
    ];
    fuzz("state/bandit", cases(1), input, |bytes| {
        let Ok(mut bandit) = LinearThompsonBandit::from_bytes(&bytes) else {
            return Ok(Ran::one(false));
        };
        prop_assert_eq!(bandit.to_bytes(), bytes);
        let x = vec![1.0; bandit.dim()];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let _ = bandit.decide(&x, &mut rng, 8);
        for arm in bandit.actions() {
            let _ = bandit.update(arm, &x, 1.0);
            let _ = bandit.sample_weights(arm, &mut rng);
        }
        Ok(Ran::one(true))
    })
}
