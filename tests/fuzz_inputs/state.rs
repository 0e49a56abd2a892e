//! Fuzz targets of `tests/fuzz_inputs.rs` for stored state: feature and
//! categorical windows, model bookkeeping, the same values written raw into
//! RocksDB and read through the store and the processor, and the bandit's
//! byte format. No panic; what decodes re-encodes exactly (or round-trips)
//! and keeps working.

use std::path::Path;

use jidoka::decide::bandit::LinearThompsonBandit;
use jidoka::detect::{CategoricalWindow, CategoryEntry, DriftDetector, FeatureWindow, WindowEntry};
use jidoka::pipeline::{Output, Processor, SourcePos};
use jidoka::state::{ModelMeta, Store};
use proptest::prelude::*;
use rand::SeedableRng;

use crate::common::{BoxError, TestResult};
use crate::mutate::{self, cases, fail, fuzz, Ran};
use crate::{codec, seeds, small_config};

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
        cases(100),
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
