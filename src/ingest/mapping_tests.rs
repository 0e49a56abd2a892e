use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;

fn mapping(toml_text: &str) -> PredictionMapping {
    match toml::from_str(toml_text) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

/// A platform's mapping: its own names, model id in a nested field,
/// features in a map, RFC 3339 event time.
const PLATFORM: &str = r#"
    model-id = "$.model.name"
    model-version = "$.model.version"
    prediction-id = "$.request_id"
    score = "$.output.score"
    predicted-class = "$.output.class"
    latency-ms = "$.latency_ms"
    event-time = "$.ts"
    features-from = "$.inputs"
    exclude = ["debug"]
"#;

fn platform_record() -> Value {
    json!({
        "request_id": "r-1",
        "model": {"name": "churn", "version": "7"},
        "ts": "2023-11-14T22:13:20.250Z",
        "inputs": {"age": 41, "income": 5.5e4, "plan": "gold", "vip": true, "debug": [1], "gone": null},
        "output": {"score": 0.25, "class": 1},
        "latency_ms": 3.5,
        "debug_blob": {"anything": [1, 2, 3]}
    })
}

#[test]
fn a_platform_record_maps_to_a_prediction() -> Result<(), MappingError> {
    let p = mapping(PLATFORM).apply(&platform_record(), Some(b"r-1"), Some(5))?;
    assert_eq!(p.prediction_id, "r-1");
    assert_eq!(
        (p.model_id.as_str(), p.model_version.as_str()),
        ("churn", "7")
    );
    assert_eq!(p.event_time, 1_700_000_000_250);
    assert_eq!(
        p.features,
        BTreeMap::from([("age".to_string(), 41.0), ("income".to_string(), 55_000.0)])
    );
    assert_eq!(
        p.categorical_features,
        Some(BTreeMap::from([
            ("plan".to_string(), "gold".to_string()),
            ("vip".to_string(), "true".to_string())
        ]))
    );
    assert_eq!(p.score, 0.25);
    assert_eq!(p.predicted_class.as_deref(), Some("1"));
    assert_eq!(p.latency_ms, Some(3.5));
    Ok(())
}

#[test]
fn key_timestamp_constant_and_units() -> Result<(), MappingError> {
    let m = mapping(
        r#"
        model-id = "$key"
        model-version = "v3"
        prediction-id = "$.id"
        score = "$.p"
        event-time = "$timestamp"
        features = ["age"]
        categorical = ["plan"]
    "#,
    );
    let v = json!({"id": 17, "p": 0.5, "age": 30, "plan": 2});
    let p = m.apply(&v, Some(b"fraud"), Some(1_700_000_000_000))?;
    assert_eq!(
        (p.model_id.as_str(), p.model_version.as_str()),
        ("fraud", "v3")
    );
    assert_eq!(p.prediction_id, "17");
    assert_eq!(p.event_time, 1_700_000_000_000);
    assert_eq!(p.predicted_class, None);
    assert_eq!(p.latency_ms, None);
    assert_eq!(
        p.categorical_features,
        Some(BTreeMap::from([("plan".to_string(), "2".to_string())]))
    );
    assert_eq!(
        m.apply(&v, None, Some(1)).err(),
        Some(MappingError::Missing {
            path: "$key".into()
        })
    );
    assert_eq!(
        m.apply(&v, Some(b"m"), None).err(),
        Some(MappingError::Missing {
            path: "$timestamp".into()
        })
    );
    assert_eq!(
        m.apply(&v, Some(&[0xff, 0xfe]), Some(1))
            .map_err(|e| e.kind())
            .err(),
        Some("invalid-value")
    );
    let secs = mapping("event-time-unit = \"s\"\nevent-time = \"$.t\"");
    let native = json!({"prediction_id": "a", "model_id": "m", "model_version": "1",
        "t": 1_700_000_000.5, "features": {}, "score": 1});
    assert_eq!(
        secs.apply(&native, None, None)?.event_time,
        1_700_000_000_500
    );
    let offset = json!({"prediction_id": "a", "model_id": "m", "model_version": "1",
        "t": "2023-11-15T00:13:20+01:00", "features": {}, "score": 1});
    // 00:13:20 at +01:00 is 23:13:20Z, an hour after 1_700_000_000_000.
    assert_eq!(
        secs.apply(&offset, None, None)?.event_time,
        1_700_003_600_000
    );
    Ok(())
}

fn err(m: &PredictionMapping, v: &Value) -> Option<(String, &'static str)> {
    m.apply(v, Some(b"k"), Some(1))
        .err()
        .map(|e| (e.to_string(), e.kind()))
}

#[test]
fn every_bad_field_is_named_with_its_class() {
    let m = mapping(PLATFORM);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = platform_record();
        f(&mut v);
        v
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&|v| v["output"] = json!({"class": 1})),
            "missing field `$.output.score`",
            "missing-field",
        ),
        (
            with(&|v| v["output"]["score"] = json!("high")),
            "`$.output.score` is a string, expected a number",
            "wrong-type",
        ),
        (
            with(&|v| v["output"] = json!(3)),
            "`$.output` is a number, expected an object",
            "wrong-type",
        ),
        (
            with(&|v| v["inputs"]["age"] = json!([1])),
            "`$.inputs.age` is an array",
            "wrong-type",
        ),
        (
            with(&|v| v["inputs"]["age"] = json!("\u{0}jidoka-non-finite:NaN")),
            "`$.inputs.age` is NaN, not a finite number",
            "non-finite",
        ),
        (
            with(&|v| v["output"]["score"] = json!("\u{0}jidoka-non-finite:-Infinity")),
            "`$.output.score` is -Infinity",
            "non-finite",
        ),
        (
            with(&|v| v["ts"] = json!("yesterday")),
            "`$.ts`: `yesterday` is not an RFC 3339 time",
            "invalid-value",
        ),
        (
            with(&|v| v["ts"] = json!(true)),
            "`$.ts` is a boolean, expected a number or an RFC 3339 string",
            "wrong-type",
        ),
        (
            with(&|v| v["model"]["name"] = json!("")),
            "model_id is empty",
            "invalid-value",
        ),
        (
            with(&|v| v["model"] = Value::Null),
            "missing field `$.model.name`",
            "missing-field",
        ),
        (
            with(&|v| v["inputs"] = json!([])),
            "`$.inputs` is an array, expected an object",
            "wrong-type",
        ),
        (
            json!([1, 2]),
            "`$` is an array, expected an object",
            "wrong-type",
        ),
    ];
    for (v, message, kind) in cases {
        match err(&m, &v) {
            Some((got, got_kind)) => {
                assert!(got.contains(message), "{got} does not contain {message}");
                assert_eq!(got_kind, kind, "{got}");
            }
            None => panic!("{v} mapped"),
        }
    }
    let explicit = mapping("features-from = \"$.inputs\"\nfeatures = [\"age\", \"height\"]");
    let mut v = platform_record();
    v["prediction_id"] = json!("p");
    assert_eq!(
        err(&explicit, &v).map(|e| e.0),
        Some("missing field `$.inputs.height`".to_string())
    );
}

#[test]
fn labels_map_the_same_way() -> Result<(), MappingError> {
    let m: LabelMapping = match toml::from_str(
        "prediction-id = \"$.request_id\"\nmodel-id = \"$key\"\nlabel = \"$.truth\"\nevent-time = \"$.ts\"\nevent-time-unit = \"s\"",
    ) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    for (truth, text) in [
        (json!(true), "true"),
        (json!(1.0), "1"),
        (json!(2), "2"),
        (json!("spam"), "spam"),
    ] {
        let v = json!({"request_id": "r", "truth": truth, "ts": 1_700_000_000});
        let l = m.apply(&v, Some(b"churn"), None)?;
        assert_eq!(
            (
                l.prediction_id.as_str(),
                l.model_id.as_str(),
                l.label.as_str(),
                l.event_time
            ),
            ("r", "churn", text, 1_700_000_000_000)
        );
    }
    let v = json!({"request_id": "r", "ts": 1});
    assert_eq!(
        m.apply(&v, Some(b"churn"), None).err(),
        Some(MappingError::Missing {
            path: "$.truth".into()
        })
    );
    Ok(())
}

#[test]
fn config_rules_name_the_key() {
    for (text, key) in [
        ("score = \"$key\"", "score"),
        ("event-time = \"1700000000\"", "event-time"),
        ("model-id = \"$timestamp\"", "model-id"),
        ("features = [\"a\"]\nexclude = [\"b\"]", "exclude"),
        ("exclude = [\"b\"]", "exclude"),
        ("features = [\"a\"]\ncategorical = [\"a\"]", "categorical"),
    ] {
        assert_eq!(
            mapping(text).check().map_err(|e| e.0),
            Err(key.to_string()),
            "{text}"
        );
    }
    assert!(toml::from_str::<PredictionMapping>("score = \"$.a..b\"").is_err());
    assert!(toml::from_str::<PredictionMapping>("scores = \"$.a\"").is_err());
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.]{0,8}"
}

fn prediction() -> impl Strategy<Value = Prediction> {
    (
        prop::collection::btree_map(name(), -1e9f64..1e9, 0..6),
        prop::option::of(prop::collection::btree_map(
            name(),
            "[a-zA-Z0-9 ]{0,6}",
            0..4,
        )),
        0i64..253_402_300_799_999,
        -1e6f64..1e6,
        prop::option::of("[a-z0-9]{1,4}"),
        prop::option::of(0.0f64..1e4),
        "[a-z0-9-]{1,12}",
    )
        .prop_map(
            |(features, mut categorical, event_time, score, class, latency, model)| {
                // One namespace in a platform's record: no name both ways.
                if let Some(c) = categorical.as_mut() {
                    c.retain(|k, _| !features.contains_key(k));
                }
                Prediction {
                    prediction_id: format!("{model}-{event_time}"),
                    model_id: model,
                    model_version: "3".into(),
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

/// The prediction in a platform's layout: `layout` 0 puts every feature in
/// one map (typed by JSON type), 1 lists them as top-level fields, 2 as
/// fields of a nested object; the native layout is the serde form.
fn platform_json(p: &Prediction, layout: u8) -> (Value, PredictionMapping) {
    let mut inputs = Map::new();
    for (k, v) in &p.features {
        inputs.insert(k.clone(), json!(v));
    }
    for (k, v) in p.categorical_features.iter().flatten() {
        inputs.insert(k.clone(), json!(v));
    }
    let mut record = json!({
        "rid": p.prediction_id,
        "meta": {"model": p.model_id, "v": p.model_version},
        "at": p.event_time,
        "out": {"score": p.score, "class": p.predicted_class},
        "lat": p.latency_ms,
        "extra": {"ignored": [1, 2]}
    });
    let mut m = mapping(
        "model-id = \"$.meta.model\"\nmodel-version = \"$.meta.v\"\nprediction-id = \"$.rid\"\nscore = \"$.out.score\"\npredicted-class = \"$.out.class\"\nlatency-ms = \"$.lat\"\nevent-time = \"$.at\"",
    );
    let features: Vec<String> = p.features.keys().cloned().collect();
    let categorical: Vec<String> = p
        .categorical_features
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    match layout {
        0 => {
            record["inputs"] = Value::Object(inputs);
            m.features_from = FieldPath::parse("$.inputs").ok();
        }
        1 => {
            if let Value::Object(map) = &mut record {
                for (k, v) in inputs {
                    map.entry(k).or_insert(v);
                }
            }
            m.features = features;
            m.categorical = categorical;
        }
        _ => {
            record["x"] = json!({"y": Value::Object(inputs)});
            m.features_from = FieldPath::parse("$.x.y").ok();
            m.features = features;
            m.categorical = categorical;
        }
    }
    (record, m)
}

fn normalized(mut p: Prediction) -> Prediction {
    if p.categorical_features
        .as_ref()
        .is_some_and(BTreeMap::is_empty)
    {
        p.categorical_features = None;
    }
    p
}

proptest! {
    #[test]
    fn no_input_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), text in "\\PC{0,40}") {
        let platform = mapping(PLATFORM);
        if let Ok(r) = super::super::json::parse(Some(&bytes)) {
            let _ = platform.apply(&r.value, Some(&bytes), Some(0));
            let _ = PredictionMapping::default().apply(&r.value, None, None);
        }
        let _ = rfc3339_ms(&text);
        let v = json!({"request_id": text, "model": {"name": text, "version": 1}, "ts": text,
            "inputs": {"a": text}, "output": {"score": 1}});
        let _ = platform.apply(&v, Some(text.as_bytes()), None);
    }

    #[test]
    fn native_json_maps_to_the_same_prediction(p in prediction()) {
        let v = serde_json::to_value(&p).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = PredictionMapping::default().apply(&v, None, None);
        prop_assert_eq!(back, Ok(p));
    }

    #[test]
    fn every_feature_layout_maps_to_the_native_prediction(p in prediction(), layout in 0u8..3) {
        // Listed features (layout 1) need a list; top-level ones must not
        // shadow the record's own fields.
        prop_assume!(layout != 1 || !p.features.is_empty() || p.categorical_features.as_ref().is_some_and(|c| !c.is_empty()));
        prop_assume!(layout != 1 || p.features.keys().chain(p.categorical_features.iter().flatten().map(|(k, _)| k))
            .all(|k| !["rid", "meta", "at", "out", "lat", "extra"].contains(&k.as_str())));
        let (v, m) = platform_json(&p, layout);
        prop_assert_eq!(m.check(), Ok(()));
        let back = m.apply(&v, None, None).map(normalized);
        prop_assert_eq!(back, Ok(normalized(p)));
    }

    #[test]
    fn a_removed_or_retyped_field_is_named(p in prediction(), layout in 0u8..3, which in 0usize..5, retype in any::<bool>()) {
        prop_assume!(layout != 1 || !p.features.is_empty());
        let (mut v, m) = platform_json(&p, layout);
        let (parent, field, path) = [
            ("meta", "model", "$.meta.model"),
            ("meta", "v", "$.meta.v"),
            ("out", "score", "$.out.score"),
            ("", "rid", "$.rid"),
            ("", "at", "$.at"),
        ][which];
        let target = if parent.is_empty() { &mut v } else { &mut v[parent] };
        if let Value::Object(map) = target {
            if retype { map.insert(field.into(), json!({"nested": true})); } else { map.remove(field); }
        }
        let e = m.apply(&v, None, None).err();
        let expected_kind = if retype { "wrong-type" } else { "missing-field" };
        prop_assert_eq!(e.as_ref().map(MappingError::kind), Some(expected_kind));
        let message = e.map(|e| e.to_string()).unwrap_or_default();
        prop_assert!(message.contains(path), "{}", message);
    }
}
