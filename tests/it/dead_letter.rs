//! Bad records go to the dead-letter topic with the right reason and their
//! original bytes; every good record around them is still processed.

use std::collections::BTreeMap;

use crate::common::*;
use apache_avro::types::Value;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::{frame, DeadLetter, HealCommand};
use jidoka::telemetry::Metrics;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_dead_lettered_and_good_ones_processed() -> TestResult {
    let env = TestEnv::start().await?;
    let (cfg, codec) = (env.cfg(), &env.codec);
    let preds = Scenario::demo(3000, 1500).predictions();
    let good = encode_predictions(codec, &preds)?;

    let sample = codec.encode(&preds[0])?;
    let mut nan = preds[1].clone();
    nan.features.insert("tenure_days".into(), f64::NAN);
    let mut inf = preds[2].clone();
    inf.score = f64::INFINITY;
    let partial_schema = apache_avro::Schema::parse_str(
        r#"{"type":"record","name":"Prediction","namespace":"dev.jidoka","fields":[
            {"name":"prediction_id","type":"string"},{"name":"model_id","type":"string"}]}"#,
    )?;
    let partial = apache_avro::to_avro_datum(
        &partial_schema,
        Value::Record(vec![
            ("prediction_id".into(), Value::String("x".into())),
            ("model_id".into(), Value::String("fraud-v3".into())),
        ]),
    )?;
    // (payload, expected error kind, expected words in the reason)
    let bad: Vec<(Option<Vec<u8>>, &str, &str)> = vec![
        (
            Some([&[1u8][..], &sample[1..]].concat()),
            "framing",
            "magic byte",
        ),
        (Some(vec![0, 0]), "framing", "shorter than"),
        (Some(frame(4242, &sample[5..])), "unknown-schema", "4242"),
        (Some(sample[..sample.len() - 7].to_vec()), "avro", "avro"),
        (Some(frame(1, &partial)), "avro", "avro"),
        (
            Some([&sample[..], &[1, 2, 3][..]].concat()),
            "avro",
            "3 unexpected bytes",
        ),
        (Some(codec.encode(&nan)?), "invalid-value", "tenure_days"),
        (Some(codec.encode(&inf)?), "invalid-value", "score"),
        (None, "missing-value", "no value"),
    ];
    // Interleave the bad records through the good ones, on every model's key.
    let mut stream = Vec::new();
    let step = good.len() / bad.len();
    let mut expected = Vec::new();
    for (i, rec) in good.iter().enumerate() {
        stream.push(rec.clone());
        if i % step == step / 2 && expected.len() < bad.len() {
            let (payload, kind, words) = &bad[expected.len()];
            let key = format!("bad-{}", expected.len());
            stream.push((key.clone(), payload.clone()));
            expected.push((key, payload.clone(), *kind, *words));
        }
    }
    assert_eq!(expected.len(), bad.len());

    let metrics = env.run(&stream).await?;
    assert_eq!(
        Metrics::get(&metrics.records_processed_total),
        good.len() as u64,
        "every good record processed"
    );
    assert_eq!(
        Metrics::get(&metrics.records_dead_lettered_total),
        bad.len() as u64
    );

    let positions: BTreeMap<String, (i32, i64)> = read_raw(cfg, &cfg.topics.predictions)?
        .into_iter()
        .filter_map(|r| r.key.map(|k| (k, (r.partition, r.offset))))
        .filter(|(k, _)| k.starts_with("bad-"))
        .collect();
    let dead: BTreeMap<String, DeadLetter> =
        read_all::<DeadLetter>(cfg, codec, &cfg.topics.dead_letter)?
            .into_iter()
            .map(|r| (r.key.clone().unwrap_or_default(), r.value))
            .collect();
    assert_eq!(dead.len(), bad.len());
    for (key, payload, kind, words) in &expected {
        let d = dead.get(key).ok_or(format!("no dead letter for {key}"))?;
        assert_eq!(&d.error_kind, kind, "{key}: {}", d.reason);
        assert!(
            d.reason.to_lowercase().contains(&words.to_lowercase()),
            "{key}: reason `{}` lacks `{words}`",
            d.reason
        );
        assert_eq!(&d.payload, payload, "{key}: original bytes kept");
        assert_eq!(d.source_key.as_deref(), Some(key.as_bytes()));
        assert_eq!(d.source_topic, cfg.topics.predictions);
        assert_eq!(
            Some(&(d.source_partition, d.source_offset)),
            positions.get(key),
            "{key}: source position"
        );
        assert_eq!(
            d.payload_size,
            payload.as_ref().map_or(0, |p| p.len() as i64)
        );
        assert!(!d.payload_truncated);
        assert!(d.source_timestamp.is_some());
    }
    // The good records still drive detection: the shifted model gets its command.
    let commands = read_all::<HealCommand>(cfg, codec, &cfg.topics.actions)?;
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].value.model_id, "churn-v7");
    Ok(())
}
