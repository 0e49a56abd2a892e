//! JSON input with the platform's own field names, produced by Confluent's
//! own Python client (confluent-kafka, librdkafka inside): jidoka reads it
//! through `configs/examples/platform-json.toml` and decides exactly as it
//! does on the same data in its native Avro; malformed JSON, a missing
//! field, a non-finite number and a wrong type each become their own dead
//! letter naming the field, and every good record is processed.
//!
//! Both runs use the same topic names and the same offsets (on two
//! brokers; the bad records come after the good ones), because decision
//! ids, and so the bandit's draws, derive from input positions.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use figment::providers::Format;

use crate::common::*;
use jidoka::config::Config;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::{AuditRecord, DeadLetter, HealCommand, Label, Prediction};
use jidoka::telemetry::Metrics;
use serde_json::{json, Value};

const PREDICTIONS: u64 = 3000;
const SHIFT_AT: u64 = 1500;

/// One label per prediction, right for the first half, wrong afterwards
/// (concept drift), an hour after it.
fn labels(preds: &[Prediction]) -> Vec<Label> {
    preds
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let class = p.predicted_class.clone().unwrap_or_default();
            let label = match (i < preds.len() / 2, class.as_str()) {
                (true, c) => c.to_string(),
                (false, "1") => "0".into(),
                (false, _) => "1".into(),
            };
            Label {
                prediction_id: p.prediction_id.clone(),
                model_id: p.model_id.clone(),
                event_time: p.event_time + 3_600_000,
                label,
            }
        })
        .collect()
}

/// A prediction as the platform writes it.
fn platform_prediction(p: &Prediction) -> Value {
    let mut inputs = serde_json::Map::new();
    for (k, v) in &p.features {
        inputs.insert(k.clone(), json!(v));
    }
    for (k, v) in p.categorical_features.iter().flatten() {
        inputs.insert(k.clone(), json!(v));
    }
    let ts = std::time::UNIX_EPOCH + Duration::from_millis(p.event_time as u64);
    json!({
        "request_id": p.prediction_id,
        "model": {"name": p.model_id, "version": p.model_version},
        "ts": humantime::format_rfc3339_millis(ts).to_string(),
        "inputs": inputs,
        "output": {"score": p.score, "class": p.predicted_class},
        "latency_ms": p.latency_ms,
        "debug_blob": {"trace": "abc", "spans": [1, 2, 3]}
    })
}

/// A label as the platform writes it (class as a number, seconds).
fn platform_label(l: &Label) -> Value {
    let truth: Value = l.label.parse::<i64>().map_or(json!(l.label), |n| json!(n));
    json!({
        "request_id": l.prediction_id,
        "truth": truth,
        "observed_at": l.event_time as f64 / 1000.0,
    })
}

fn write_lines(path: &Path, lines: &[Value]) -> TestResult {
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(path, text.join("\n") + "\n")?;
    Ok(())
}

fn python_produce(cfg: &Config, topic: &str, file: &Path) -> TestResult {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/json_input/produce.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&cfg.kafka.bootstrap_servers)
        .arg(topic)
        .arg(file)
        .output()
        .map_err(|e| {
            format!("cannot run python3 ({e}): this test needs Python 3 with confluent-kafka (pip install confluent-kafka)")
        })?;
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "produce.py failed: {report}");
    Ok(())
}

/// Per model, in order: the commands' (action, reason, evidence, issued
/// at) and the audit records' (sequence, action, proposed action, gate
/// reason, decided at), first versions.
type Decisions = BTreeMap<String, (Vec<String>, Vec<String>)>;

fn decisions(cfg: &Config, codec: &jidoka::schema::Codec) -> Result<Decisions, BoxError> {
    let mut out = Decisions::new();
    let mut commands = read_all::<HealCommand>(cfg, codec, &cfg.topics.actions)?;
    commands.sort_by_key(|r| (r.partition, r.offset));
    for c in commands {
        let c = c.value;
        out.entry(c.model_id.clone()).or_default().0.push(format!(
            "{:?} {} {:?} {}",
            c.action, c.reason, c.evidence, c.issued_at
        ));
    }
    let mut audits: Vec<AuditRecord> = read_all::<AuditRecord>(cfg, codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value)
        .filter(|a| a.version == 1)
        .collect();
    audits.sort_by_key(|a| (a.model_id.clone(), a.sequence));
    audits.dedup_by_key(|a| (a.model_id.clone(), a.sequence));
    for a in audits {
        out.entry(a.model_id.clone()).or_default().1.push(format!(
            "{} {} {} {} {}",
            a.sequence, a.action, a.proposed_action, a.gate_reason, a.decided_at
        ));
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_json_decides_like_native_avro_and_dead_letters_name_the_field() -> TestResult {
    let preds = Scenario::demo(PREDICTIONS, SHIFT_AT).predictions();
    let labels = labels(&preds);

    // Native Avro.
    let native = TestEnv::start().await?;
    let cfg = native.cfg().clone();
    let running = start_pipeline(&native.loaded);
    let producer = producer(&cfg)?;
    produce_raw(
        &producer,
        &cfg.topics.predictions,
        &encode_predictions(&native.codec, &preds)?,
    )
    .await?;
    running
        .wait_done(preds.len() as u64, Duration::from_secs(120))
        .await?;
    let encoded_labels = labels
        .iter()
        .map(|l| Ok((l.model_id.clone(), Some(native.codec.encode(l)?))))
        .collect::<Result<Vec<_>, BoxError>>()?;
    produce_raw(&producer, &cfg.topics.labels, &encoded_labels).await?;
    let inputs = (preds.len() + labels.len()) as u64;
    running.wait_done(inputs, Duration::from_secs(120)).await?;
    running.stop().await?;
    let expected = decisions(&cfg, &native.codec)?;
    let commands: usize = expected.values().map(|(c, _)| c.len()).sum();
    assert!(
        commands > 0,
        "the planted drift gives commands: {expected:?}"
    );

    // The platform's JSON, on a second broker with the same topics.
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let mut base = cfg.clone();
    base.kafka.bootstrap_servers = broker.bootstrap();
    base.state.data_dir = dir.path().to_path_buf();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/examples/platform-json.toml");
    let figment = figment::Figment::from(figment::providers::Serialized::defaults(&base))
        .merge(figment::providers::Toml::file_exact(&example));
    let loaded = Config::from_figment(&figment)?;
    let cfg = loaded.config.clone();
    create_topics(&cfg).await?;

    let model = preds[0].model_id.clone();
    let mut lines: Vec<Value> = preds
        .iter()
        .map(|p| json!({"key": p.model_id, "value": platform_prediction(p)}))
        .collect();
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut v = platform_prediction(&preds[0]);
        f(&mut v);
        json!({"key": model, "value": v})
    };
    let feature = preds[0].features.keys().next().cloned().unwrap_or_default();
    lines.push(json!({"key": model, "raw": "{\"request_id\": \"cut-1\", \"model\": {\"name\""}));
    lines.push(bad(&|v| v["output"] = json!({"class": "1"})));
    let mut nan = bad(&|_| {});
    nan["nan_at"] = json!(["inputs", feature]);
    lines.push(nan);
    lines.push(bad(&|v| v["latency_ms"] = json!("fast")));
    let files = tempfile::tempdir()?;
    let pred_file = files.path().join("predictions.jsonl");
    write_lines(&pred_file, &lines)?;
    let mut label_lines: Vec<Value> = labels
        .iter()
        .map(|l| json!({"key": l.model_id, "value": platform_label(l), "frame": 7}))
        .collect();
    label_lines
        .push(json!({"key": model, "value": {"request_id": "x", "observed_at": 1.0}, "frame": 7}));
    let label_file = files.path().join("labels.jsonl");
    write_lines(&label_file, &label_lines)?;

    let running = start_pipeline(&loaded);
    python_produce(&cfg, &cfg.topics.predictions, &pred_file)?;
    running
        .wait_done(lines.len() as u64, Duration::from_secs(120))
        .await?;
    python_produce(&cfg, &cfg.topics.labels, &label_file)?;
    running
        .wait_done(
            (lines.len() + label_lines.len()) as u64,
            Duration::from_secs(120),
        )
        .await?;
    let metrics = running.stop().await?;
    assert_eq!(
        Metrics::get(&metrics.records_processed_total),
        inputs,
        "every good record processed"
    );
    assert_eq!(Metrics::get(&metrics.records_dead_lettered_total), 5);

    let got = decisions(&cfg, &native.codec)?;
    assert_eq!(got, expected, "the same decisions as native Avro");
    println!(
        "json input: {} predictions, {} labels, {commands} commands in both runs",
        preds.len(),
        labels.len()
    );

    let mut dead: Vec<(String, String, String)> =
        read_all::<DeadLetter>(&cfg, &native.codec, &cfg.topics.dead_letter)?
            .into_iter()
            .map(|r| {
                (
                    r.value.source_topic.clone(),
                    r.value.error_kind.clone(),
                    r.value.reason.clone(),
                )
            })
            .collect();
    dead.sort();
    let want = [
        (
            &cfg.topics.labels,
            "missing-field",
            "missing field `$.truth`".to_string(),
        ),
        (
            &cfg.topics.predictions,
            "json",
            "malformed JSON at line 1".to_string(),
        ),
        (
            &cfg.topics.predictions,
            "missing-field",
            "missing field `$.output.score`".to_string(),
        ),
        (
            &cfg.topics.predictions,
            "non-finite",
            format!("`$.inputs.{feature}` is NaN, not a finite number"),
        ),
        (
            &cfg.topics.predictions,
            "wrong-type",
            "`$.latency_ms` is a string, expected a number".to_string(),
        ),
    ];
    assert_eq!(dead.len(), want.len(), "{dead:?}");
    for (d, (topic, kind, reason)) in dead.iter().zip(want.iter()) {
        assert_eq!((&d.0, d.1.as_str()), (*topic, *kind), "{d:?}");
        assert!(
            d.2.contains(reason.as_str()),
            "{} does not say {reason}",
            d.2
        );
    }
    Ok(())
}
