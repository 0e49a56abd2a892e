//! Decoding one prediction (10 numeric features, Confluent frame + Avro, as
//! producers write it) into jidoka's record, and encoding it: the per-record
//! cost of ingest before any state is touched. Compare its rate with the
//! plain consumer's in `jidoka bench throughput` to see how much of the
//! consume rate decoding alone leaves.
//!
//! `decode-registry-evolved` decodes the same prediction written by a
//! producer with its own evolved schema (one extra field), whose writer
//! schema is cached from a Schema Registry: resolved against jidoka's
//! reader schema on every record. `decode-registry-same` is a registry id
//! whose writer schema equals jidoka's (no resolution).
//! The same prediction as JSON, read and mapped the way `[input.predictions]
//! format = "json"` does (`decode-json-native`: jidoka's own field names,
//! no mapping table; `decode-json-mapped`: a platform's layout through
//! `configs/examples/platform-json.toml`'s mapping), against `decode`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jidoka::config::Config;
use jidoka::ingest::{json, PredictionMapping};
use jidoka::schema::registry::{FetchedSchema, Writer};
use jidoka::schema::{frame, Codec, Prediction, SchemaKind};

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
    let (evolved, same) = match registry_records(&codec, &record) {
        Ok(r) => r,
        Err(e) => panic!("registry records: {e}"),
    };
    group.bench_function("decode-registry-evolved", |b| {
        b.iter(|| black_box(evolved.0.decode::<Prediction>(Some(black_box(&evolved.1)))))
    });
    group.bench_function("decode-registry-same", |b| {
        b.iter(|| black_box(same.0.decode::<Prediction>(Some(black_box(&same.1)))))
    });
    let native_json = serde_json::to_vec(&record).unwrap_or_default();
    let native_mapping = PredictionMapping::default();
    group.bench_function("decode-json-native", |b| {
        b.iter(|| {
            json::parse(Some(black_box(&native_json)))
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    native_mapping
                        .apply(&r.value, Some(b"model-0042"), Some(0))
                        .map_err(|e| e.to_string())
                })
        })
    });
    let (platform_json, platform_mapping) = platform(&record);
    match json::parse(Some(&platform_json))
        .map_err(|e| e.to_string())
        .and_then(|r| {
            platform_mapping
                .apply(&r.value, None, None)
                .map_err(|e| e.to_string())
        }) {
        Ok(mapped) if mapped == record => {}
        other => panic!("the platform record must map to the native one: {other:?}"),
    }
    group.bench_function("decode-json-mapped", |b| {
        b.iter(|| {
            json::parse(Some(black_box(&platform_json)))
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    platform_mapping
                        .apply(&r.value, Some(b"r-1"), Some(0))
                        .map_err(|e| e.to_string())
                })
        })
    });
    group.bench_function("encode", |b| {
        b.iter(|| black_box(codec.encode(black_box(&record))))
    });
    group.finish();
}

type Case = (Codec, Vec<u8>);

/// Codecs with a registry whose cache holds the writer schema (as after
/// the first record of its id), and the framed record: with an evolved
/// writer schema, and with jidoka's own.
fn registry_records(
    codec: &Codec,
    record: &Prediction,
) -> Result<(Case, Case), Box<dyn std::error::Error>> {
    let mut schema: serde_json::Value = serde_json::from_str(SchemaKind::Prediction.source())?;
    if let Some(fields) = schema["fields"].as_array_mut() {
        fields.push(serde_json::json!({"name": "serving_host", "type": "string", "default": ""}));
    }
    let evolved_text = schema.to_string();
    let evolved = apache_avro::Schema::parse_str(&evolved_text)?;
    let mut value = apache_avro::to_value(record)?.resolve(&evolved)?;
    if let apache_avro::types::Value::Record(fields) = &mut value {
        for (name, v) in fields.iter_mut() {
            if name == "serving_host" {
                *v = apache_avro::types::Value::String("pod-7".into());
            }
        }
    }
    let datum = apache_avro::to_avro_datum(&evolved, value)?;
    let case = |id: u32, text: &str, datum: &[u8]| -> Result<Case, Box<dyn std::error::Error>> {
        let c = codec.clone().with_registry(&[]);
        let fetched = FetchedSchema {
            schema: text.to_string(),
            schema_type: "AVRO".into(),
            references: 0,
        };
        let writer = c.writer_from(id, &fetched);
        if let Writer::Refused(reason) = &writer {
            return Err(reason.to_string().into());
        }
        c.writers().ok_or("no cache")?.insert(id, writer);
        Ok((c, frame(id, datum)))
    };
    let native = codec.encode(record)?;
    Ok((
        case(101, &evolved_text, &datum)?,
        case(102, SchemaKind::Prediction.source(), &native[5..])?,
    ))
}

/// The prediction in a platform's layout (own names, nested model, RFC
/// 3339 time, an extra field) and the example config's mapping.
fn platform(p: &Prediction) -> (Vec<u8>, PredictionMapping) {
    let ts = std::time::UNIX_EPOCH + std::time::Duration::from_millis(p.event_time as u64);
    let value = serde_json::json!({
        "request_id": p.prediction_id,
        "model": {"name": p.model_id, "version": p.model_version},
        "ts": humantime::format_rfc3339_millis(ts).to_string(),
        "inputs": p.features,
        "output": {"score": p.score, "class": p.predicted_class},
        "latency_ms": p.latency_ms,
        "debug_blob": {"trace": "0af7651916cd43dd8448eb211c80319c", "spans": [1, 2, 3]}
    });
    let example = include_str!("../configs/examples/platform-json.toml");
    let mapping = toml::from_str::<toml::Table>(example)
        .ok()
        .and_then(|t| t.get("input")?.get("predictions")?.get("mapping").cloned())
        .and_then(|m| m.try_into::<PredictionMapping>().ok());
    match mapping {
        Some(m) => (serde_json::to_vec(&value).unwrap_or_default(), m),
        None => panic!("configs/examples/platform-json.toml must have [input.predictions.mapping]"),
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
