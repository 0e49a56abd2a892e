//! Property-based fuzzing of every decoder that reads bytes or text jidoka
//! did not write itself (or wrote to disk and reads back): no input makes
//! any of them panic, and each either accepts its input or returns an error
//! of the right class. Targets: the Avro record codec (all eight record
//! types; arbitrary bytes, mutated real encodings, huge length
//! announcements; every truncation of a valid record is rejected), ingest's dead-lettering decode, the processor on every
//! valid prediction shape, the policy language (conditions and TOML files,
//! arbitrary and mutated), and the stored-state decoders (feature and
//! categorical windows, model bookkeeping, through the RocksDB store too,
//! and the bandit state).
//!
//! `JIDOKA_FUZZ_CASES` sets the cases per target (default in
//! `fuzz_inputs/mutate.rs`); run with `--nocapture` to see the executions of
//! each target.

mod common;
#[path = "fuzz_inputs/mutate.rs"]
mod mutate;
#[path = "fuzz_inputs/seeds.rs"]
mod seeds;

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::Arc;

use common::{BoxError, TestResult};
use jidoka::config::Config;
use jidoka::decide::bandit::LinearThompsonBandit;
use jidoka::decide::rules::{Condition, Policy, Signals, SEED_POLICY};
use jidoka::detect::{CategoricalWindow, CategoryEntry, DriftDetector, FeatureWindow, WindowEntry};
use jidoka::ingest::{self, MAX_DEAD_LETTER_PAYLOAD};
use jidoka::pipeline::{Output, Processor, SourcePos};
use jidoka::schema::{
    frame, AuditRecord, AvroRecord, Codec, DeadLetter, DriftEvent, HealCommand, HealOutcome, Label,
    OperatorCommand, Prediction, SchemaKind,
};
use jidoka::state::{ModelMeta, Store};
use mutate::{cases, fail, fuzz, Ran};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::SeedableRng;
use rdkafka::message::OwnedMessage;
use rdkafka::Timestamp;
use sha2::{Digest, Sha256};

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
        [0, a, b, c, d, ..] => {
            (u32::from_be_bytes([*a, *b, *c, *d]) != codec.id(kind)).then_some("unknown-schema")
        }
        _ => Some("framing"),
    }
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
        cases(2),
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

fn small_config() -> Result<Config, BoxError> {
    let mut cfg = Config::defaults()?;
    cfg.detect.reference_size = 6;
    cfg.detect.window_size = 3;
    cfg.detect.evaluate_every = 2;
    Ok(cfg)
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
        cases(10),
        prop::collection::vec(seeds::valid_prediction(), 1..40),
        |preds| {
            let mut slot = processor.borrow_mut();
            // Every 8th case restarts from the store: stored windows decode.
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
            for p in &preds {
                let bytes = codec.encode(p).map_err(fail)?;
                let back = codec.decode::<Prediction>(Some(&bytes)).map_err(fail)?;
                prop_assert_eq!(&back, p);
                let pos = SourcePos {
                    topic: "fuzz".into(),
                    partition: 0,
                    offset: offset.get(),
                };
                offset.set(offset.get() + 1);
                for out in proc.process(&pos, &back).map_err(fail)? {
                    match &out {
                        Output::Drift(e) => codec.encode(e).map(drop),
                        Output::Command(c) => codec.encode(c).map(drop),
                        Output::Audit(a) => codec.encode(a).map(drop),
                    }
                    .map_err(fail)?;
                }
            }
            proc.checkpoint().map_err(fail)?;
            let n = preds.len() as u64;
            Ok(Ran {
                executions: n,
                accepted: n,
            })
        },
    )
}

/// Arbitrary signal values, including NaN and infinities.
fn signals() -> impl Strategy<Value = Signals> {
    let v = prop_oneof![3 => 0.0f64..1.0, 1 => any::<f64>()];
    prop::array::uniform7(v).prop_map(|v| Signals {
        drift: v[0],
        drifted_share: v[1],
        accuracy_drop: v[2],
        anomaly_rate: v[3],
        latency_shift: v[4],
        minutes_since_action: v[5],
        recent_actions: v[6],
    })
}

/// Parses a condition: an error points inside the text (or just past it);
/// an accepted condition evaluates and prints to text that parses back to it.
fn check_condition(src: &str, s: &Signals) -> Result<Ran, TestCaseError> {
    match Condition::parse(src) {
        Ok(c) => {
            let _ = c.eval(s);
            let printed = c.to_string();
            let again = Condition::parse(&printed).map_err(|e| fail(format!("{printed}: {e}")))?;
            prop_assert_eq!(again, c);
            Ok(Ran::one(true))
        }
        Err(e) => {
            prop_assert!((1..=src.len() + 1).contains(&e.column), "{e} in {src:?}");
            prop_assert!(!e.to_string().is_empty());
            Ok(Ran::one(false))
        }
    }
}

#[test]
fn condition_parser_never_panics() -> TestResult {
    let text = prop_oneof![
        2 => mutate::text(120),
        3 => mutate::token_soup(),
        3 => mutate::condition_text(),
        3 => (mutate::condition_text(), prop::collection::vec(mutate::text_edit(), 1..3))
            .prop_map(|(c, e)| mutate::edited(&c, &e)),
        2 => mutate::text_edits().prop_map(|e| mutate::edited("drift > 0.2 or accuracy_drop > 0.15", &e)),
        1 => mutate::text_edits().prop_map(|e| {
            mutate::edited("not (anomaly_rate >= 5e-2 && !(0.1 < latency_shift)) || true", &e)
        }),
    ];
    fuzz(
        "policy/condition",
        cases(1),
        (text, signals()),
        |(src, s)| check_condition(&src, &s),
    )
}

/// Loads a policy: accepted rules are unique, sorted by priority, and
/// evaluate; errors say something.
fn check_policy(text: &str, s: &Signals) -> Result<Ran, TestCaseError> {
    match Policy::from_toml_str(text, "fuzz.toml") {
        Ok(policy) => {
            let rules = policy.rules();
            prop_assert!(!rules.is_empty());
            prop_assert!(rules.windows(2).all(|w| w[0].priority >= w[1].priority));
            let mut names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            prop_assert_eq!(names.len(), rules.len());
            let evaluation = policy.evaluate(s);
            prop_assert_eq!(evaluation.results.len(), rules.len());
            Ok(Ran::one(true))
        }
        Err(e) => {
            prop_assert!(e.to_string().starts_with("fuzz.toml: "), "{e}");
            Ok(Ran::one(false))
        }
    }
}

const POLICY_FILE: &str = include_str!("../configs/policy.toml");
const HARD_POLICY: &str = r#"
[[rule]]
name = "page-on-anomalies"
when = "anomaly_rate > 0.2 and not (recent_actions >= 3)"
action = "escalate"
hard = true

[[rule]]
name = "hold"
when = "minutes_since_action < 30 || latency_shift != 0"
action = "hold"
priority = -5
"#;

#[test]
fn policy_loader_never_panics_on_arbitrary_text() -> TestResult {
    let text = prop_oneof![
        1 => mutate::text(300),
        2 => mutate::token_soup(),
    ];
    fuzz(
        "policy/arbitrary-toml",
        cases(1),
        (text, signals()),
        |(text, s)| check_policy(&text, &s),
    )
}

#[test]
fn policy_loader_never_panics_on_mutated_policies() -> TestResult {
    let seeds = [POLICY_FILE, SEED_POLICY, HARD_POLICY];
    fuzz(
        "policy/mutated-toml",
        cases(1),
        (0..seeds.len(), mutate::text_edits(), signals()),
        |(i, edits, s)| check_policy(&mutate::edited(seeds[i], &edits), &s),
    )
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() -> TestResult {
    for depth in [1_000usize, 100_000] {
        let open = |t: &str| t.repeat(depth);
        for when in [open("("), open("not "), open("!"), open("drift > 0 or ")] {
            assert!(Condition::parse(&when).is_err());
            let toml = format!("[[rule]]\nname = \"r\"\nwhen = \"{when}\"\naction = \"none\"\n");
            assert!(Policy::from_toml_str(&toml, "deep.toml").is_err());
        }
        for toml in [
            format!("x = {}", open("[")),
            format!("x = {}", open("{a = ")),
            format!("{}\n", open("[[rule]]\n")),
            format!("{} = 1", open("a.")),
        ] {
            assert!(Policy::from_toml_str(&toml, "deep.toml").is_err());
        }
    }
    Ok(())
}

fn detector() -> Result<DriftDetector, BoxError> {
    Ok(DriftDetector::new(&small_config()?.detect))
}

#[test]
fn feature_window_decode_never_panics() -> TestResult {
    let detector = detector()?;
    let header = (
        prop::sample::select(vec![0u8, 1, 2, 255]),
        prop_oneof![
            Just(u32::MAX),
            Just(1u32 << 29),
            Just(0u32),
            0u32..50,
            any::<u32>()
        ],
        any::<i64>(),
        any::<i64>(),
        mutate::bytes(600),
    )
        .prop_map(|(version, len, start, end, tail)| {
            let mut b = vec![version];
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&start.to_le_bytes());
            b.extend_from_slice(&end.to_le_bytes());
            b.extend_from_slice(&tail);
            b
        });
    let input = prop_oneof![
        1 => mutate::bytes(256),
        3 => (seeds::feature_window(), mutate::mutations())
            .prop_map(|(w, ms)| mutate::mutated(&w.encode(), &ms)),
        1 => header,
        1 => seeds::feature_window().prop_map(|w| w.encode()),
    ];
    fuzz("state/feature-window", cases(1), input, |bytes| {
        let Ok(w) = FeatureWindow::decode(&bytes) else {
            return Ok(Ran::one(false));
        };
        // The format has no slack: what decodes re-encodes to the same bytes.
        prop_assert_eq!(w.encode(), bytes);
        // A restored window of any size or content keeps working.
        let mut state = detector.restore_feature(w);
        for i in 0..4u64 {
            let entry = WindowEntry {
                record: i,
                time: i as i64,
                value: i as f64,
            };
            detector.push(&mut state, entry);
            let _ = detector.evaluate([("f", &state)]);
        }
        Ok(Ran::one(true))
    })
}

#[test]
fn categorical_window_decode_never_panics() -> TestResult {
    let detector = detector()?;
    let json = |w: &CategoricalWindow| w.encode();
    let input = prop_oneof![
        1 => mutate::bytes(256),
        2 => (seeds::categorical_window(), mutate::mutations())
            .prop_map(move |(w, ms)| mutate::mutated(&json(&w), &ms)),
        3 => (seeds::categorical_window(), mutate::number_swaps())
            .prop_map(move |(w, picks)| mutate::swap_json_numbers(&json(&w), &picks)),
        1 => seeds::categorical_window().prop_map(move |w| json(&w)),
    ];
    fuzz("state/categorical-window", cases(1), input, |bytes| {
        let Ok(w) = CategoricalWindow::decode(&bytes) else {
            return Ok(Ran::one(false));
        };
        let again = CategoricalWindow::decode(&w.encode()).map_err(fail)?;
        prop_assert_eq!(&again, &w);
        let mut w = w;
        for (i, value) in ["fr", "de", "fr", "xx"].into_iter().enumerate() {
            let entry = CategoryEntry {
                record: i as u64,
                time: i as i64,
                value: value.into(),
            };
            detector.push_category(&mut w, entry);
            let _ = detector.evaluate_all(std::iter::empty(), [("c", &w)]);
        }
        Ok(Ran::one(true))
    })
}

#[test]
fn model_meta_decode_never_panics() -> TestResult {
    let json = |m: &ModelMeta| serde_json::to_vec(m).unwrap_or_default();
    let input = prop_oneof![
        1 => mutate::bytes(200),
        2 => (seeds::model_meta(), mutate::mutations())
            .prop_map(move |(m, ms)| mutate::mutated(&json(&m), &ms)),
        2 => (seeds::model_meta(), mutate::number_swaps())
            .prop_map(move |(m, picks)| mutate::swap_json_numbers(&json(&m), &picks)),
    ];
    fuzz("state/model-meta", cases(1), input, |bytes| {
        let Ok(meta) = serde_json::from_slice::<ModelMeta>(&bytes) else {
            return Ok(Ran::one(false));
        };
        let again: ModelMeta = serde_json::from_slice(&json(&meta)).map_err(fail)?;
        prop_assert_eq!(again, meta);
        Ok(Ran::one(true))
    })
}

/// Column families of the store (`src/state/store.rs`).
const CFS: [&str; 4] = ["models", "windows", "offsets", "categories"];
const MODELS: [&str; 3] = ["m1", "m2", "m3"];

/// Writes raw values into a store's column families, as disk corruption or
/// a foreign writer would.
fn write_raw(dir: &Path, entries: &[(usize, Vec<u8>, Vec<u8>)]) -> Result<(), BoxError> {
    let mut opts = rocksdb::Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    let db = rocksdb::DB::open_cf(&opts, dir, CFS)?;
    for (cf, key, value) in entries {
        let handle = db.cf_handle(CFS[*cf]).ok_or("missing column family")?;
        db.put_cf(handle, key, value)?;
    }
    Ok(())
}

#[test]
fn store_reads_of_corrupt_values_never_panic() -> TestResult {
    let codec = codec()?;
    let cfg = small_config()?;
    let value = prop_oneof![
        1 => mutate::bytes(128),
        2 => (seeds::feature_window(), mutate::mutations())
            .prop_map(|(w, ms)| mutate::mutated(&w.encode(), &ms)),
        1 => seeds::feature_window().prop_map(|w| w.encode()),
        2 => (seeds::categorical_window(), mutate::number_swaps())
            .prop_map(|(w, picks)| mutate::swap_json_numbers(&w.encode(), &picks)),
        1 => seeds::categorical_window().prop_map(|w| w.encode()),
        2 => (seeds::model_meta(), mutate::number_swaps()).prop_map(|(m, picks)| {
            mutate::swap_json_numbers(&serde_json::to_vec(&m).unwrap_or_default(), &picks)
        }),
        1 => any::<i64>().prop_map(|o| o.to_be_bytes().to_vec()),
    ];
    let entry = (0..CFS.len(), 0..MODELS.len(), 0u8..3, value).prop_map(|(cf, m, f, value)| {
        let key = match CFS[cf] {
            "models" => MODELS[m].as_bytes().to_vec(),
            "offsets" => [&b"fuzz\0"[..], &i32::from(f).to_be_bytes()].concat(),
            _ => [MODELS[m].as_bytes(), &[0], &[b'a' + f]].concat(),
        };
        (cf, key, value)
    });
    fuzz(
        "state/store",
        cases(60),
        prop::collection::vec(entry, 1..24),
        |entries| {
            let dir = tempfile::tempdir().map_err(fail)?;
            write_raw(dir.path(), &entries).map_err(fail)?;
            let store = Store::open(dir.path(), false).map_err(fail)?;
            let mut ran = Ran::default();
            for m in MODELS {
                ran += Ran::one(matches!(store.model(m), Ok(Some(_))));
                ran += Ran::one(matches!(store.windows(m), Ok(w) if !w.is_empty()));
                ran += Ran::one(matches!(store.categorical(m), Ok(w) if !w.is_empty()));
            }
            for p in 0..3 {
                ran += Ran::one(matches!(store.applied_offset("fuzz", p), Ok(Some(_))));
            }
            // The processor loads whatever decodes and keeps going.
            let mut proc = Processor::new(&cfg, "fuzz", store);
            for (i, m) in MODELS.into_iter().enumerate() {
                let mut p = seeds::prediction(i);
                p.model_id = m.into();
                p.features.insert("a".into(), 1.0);
                let pos = SourcePos {
                    topic: "fuzz".into(),
                    partition: i as i32,
                    offset: 7,
                };
                let mut ok = proc.already_applied(&pos).is_ok();
                for _ in 0..3 {
                    match proc.process(&pos, &p) {
                        Ok(outs) => {
                            for out in outs {
                                if let Output::Audit(a) = out {
                                    codec.encode(&a).map_err(fail)?;
                                }
                            }
                        }
                        Err(_) => ok = false,
                    }
                }
                ran += Ran::one(ok);
            }
            let _ = proc.checkpoint();
            Ok(ran)
        },
    )
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
