//! Decoding one prediction (10 numeric features, Confluent frame + Avro, as
//! producers write it) into jidoka's record, and encoding it: the per-record
//! cost of ingest before any state is touched. Compare its rate with the
//! plain consumer's in `jidoka bench throughput` to see how much of the
//! consume rate decoding alone leaves.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jidoka::config::Config;
use jidoka::schema::{Codec, Prediction};

fn prediction() -> Prediction {
    let features: BTreeMap<String, f64> = (0..10)
        .map(|f| {
            (
                format!("f{f}"),
                10.0 * f64::from(f + 1) + 0.37 * f64::from(f),
            )
        })
        .collect();
    Prediction {
        prediction_id: "model-0042-1234".into(),
        model_id: "model-0042".into(),
        model_version: "1".into(),
        event_time: 1_700_000_000_000,
        features,
        categorical_features: None,
        score: 0.73,
        predicted_class: Some("1".into()),
        latency_ms: Some(6.2),
    }
}

fn codec(c: &mut Criterion) {
    let codec = match Config::defaults().map(|cfg| Codec::new(cfg.schemas.ids)) {
        Ok(Ok(codec)) => codec,
        Ok(Err(e)) => panic!("schemas must parse: {e}"),
        Err(e) => panic!("defaults must load: {e}"),
    };
    let record = prediction();
    let bytes = match codec.encode(&record) {
        Ok(b) => b,
        Err(e) => panic!("encode: {e}"),
    };
    let mut group = c.benchmark_group("prediction");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode", |b| {
        b.iter(|| black_box(codec.decode::<Prediction>(Some(black_box(&bytes)))))
    });
    group.bench_function("encode", |b| {
        b.iter(|| black_box(codec.encode(black_box(&record))))
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
