//! A platform plugged in with no adapter job (README "Connect your
//! platform"): Confluent's Python client writes scoring events in Avro with
//! a schema of the platform's own (its own record and field names, nested
//! records, a map of features, an extra field) through a Schema Registry,
//! keyed by request id; jidoka, configured only by
//! `configs/examples/platform-registry-avro.toml` (registry, `key =
//! "other"`, the mapping), repartitions them by model id, decodes each with
//! its writer schema, maps it, and takes the same decisions as the same
//! predictions in its own Avro keyed by model id. A NaN feature and an
//! unknown schema id are dead letters saying so; Confluent's
//! `AvroDeserializer` decodes every record jidoka wrote to `actions`,
//! `drift-events` and `audit`.
//!
//! One partition per topic, so the repartition keeps each model's order
//! and the two runs see the same order (multi-partition repartitioning is
//! `keys.rs`'s); the reference run's predictions topic has the name of the
//! platform run's repartition topic, so input positions, and with them
//! every derived id and the bandit's draws, are the same.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::common::registry::TestRegistry;
use crate::common::*;
use jidoka::config::{Config, InputKey};
use jidoka::demo::scenario::Scenario;
use jidoka::ingest::PredictionsInput;
use jidoka::schema::{AuditRecord, Codec, DeadLetter, HealCommand};
use jidoka::telemetry::Metrics;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `[input.predictions]` of the shipped example.
fn example_input() -> Result<PredictionsInput, BoxError> {
    let text =
        std::fs::read_to_string(repo().join("configs/examples/platform-registry-avro.toml"))?;
    let table: toml::Table = toml::from_str(&text)?;
    let input = table
        .get("input")
        .and_then(|i| i.get("predictions"))
        .cloned()
        .ok_or("the example has no [input.predictions]")?;
    Ok(input.try_into()?)
}

/// What a run decided, per model, without the ids derived from topic
/// names and the config hash: commands (action, reason, time) and first
/// audit versions (sequence, action, proposal, source, reason, time).
type Decisions = BTreeMap<String, (Vec<String>, Vec<String>)>;

fn decisions(cfg: &Config, codec: &Codec) -> Result<Decisions, BoxError> {
    let mut out = Decisions::new();
    for r in read_all::<HealCommand>(cfg, codec, &cfg.topics.actions)? {
        let c = r.value;
        out.entry(c.model_id.clone())
            .or_default()
            .0
            .push(format!("{} {} {}", c.action, c.reason, c.issued_at));
    }
    let mut audits: Vec<AuditRecord> = read_all::<AuditRecord>(cfg, codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value)
        .filter(|a| a.version == 1)
        .collect();
    audits.sort_by(|a, b| (&a.model_id, a.sequence).cmp(&(&b.model_id, b.sequence)));
    audits.dedup_by(|a, b| a.record_hash == b.record_hash);
    for a in audits {
        out.entry(a.model_id.clone()).or_default().1.push(format!(
            "{} {} {} {} {} {}",
            a.sequence, a.action, a.proposed_action, a.decided_by, a.gate_reason, a.decided_at
        ));
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platforms_own_avro_through_the_registry_decides_like_native_avro() -> TestResult {
    let preds = Scenario::demo(3000, 1500).predictions();

    // The platform's deployment: registry, request-id keys, the mapping.
    let registry = TestRegistry::start().await?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let mut config = test_config(&broker, dir.path())?.config;
    config.topics.partitions = 1;
    config.schemas.registry_url = Some(registry.url.clone());
    config.input.predictions = example_input()?;
    assert_eq!(config.input.predictions.key, InputKey::Other);
    let loaded = with_version(config)?;
    let cfg = &loaded.config;
    let repartition = cfg
        .repartitions()
        .first()
        .map(|r| r.topic.clone())
        .ok_or("key = \"other\" must repartition the predictions")?;
    create_topics(cfg).await?;

    let input = dir.path().join("predictions.jsonl");
    let mut lines = String::new();
    for p in &preds {
        lines.push_str(&serde_json::to_string(p)?);
        lines.push('\n');
    }
    std::fs::write(&input, lines)?;
    let running = start_pipeline(&loaded);
    let produced: serde_json::Value = serde_json::from_str(
        &run_python(
            &repo().join("tests/it/platform/produce_own.py"),
            &[
                &cfg.kafka.bootstrap_servers,
                &registry.url,
                &cfg.topics.predictions,
                &input.to_string_lossy(),
            ],
        )
        .await?,
    )?;
    assert_eq!(produced["produced"], preds.len());
    // Each good record is forwarded from the source topic and processed
    // from the repartition topic; the two bad ones are dead-lettered on the
    // source topic.
    let bad = 2u64;
    running
        .wait_done(preds.len() as u64 + bad, Duration::from_secs(120))
        .await?;
    let metrics = running.stop().await?;
    assert_eq!(Metrics::get(&metrics.records_dead_lettered_total), bad);
    assert_eq!(
        Metrics::get(&metrics.records_repartitioned_total),
        preds.len() as u64
    );

    let (reader, _) =
        jidoka::schema::registry::codec_for(cfg, &jidoka::schema::registry::Uses::pipeline(cfg))
            .await?;
    let dead: Vec<DeadLetter> = read_all::<DeadLetter>(cfg, &reader, &cfg.topics.dead_letter)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    let mut kinds: Vec<(String, String)> = dead
        .iter()
        .map(|d| (d.error_kind.clone(), d.reason.clone()))
        .collect();
    kinds.sort();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(
        kinds
            .iter()
            .any(|(k, r)| k == "unknown-schema" && r.contains("9999")),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|(_, r)| r.contains("$.inputs.tenure_days")),
        "the NaN feature's dead letter names its field: {kinds:?}"
    );
    assert!(dead
        .iter()
        .all(|d| d.source_topic == cfg.topics.predictions));
    let got = decisions(cfg, &reader)?;

    // The reference: the same predictions in jidoka's Avro, keyed by model
    // id, under the repartition topic's name, on a broker of their own.
    let ref_broker = Broker::start()?;
    let ref_dir = tempfile::tempdir()?;
    let mut ref_config = test_config(&ref_broker, ref_dir.path())?.config;
    ref_config.topics = cfg.topics.clone();
    ref_config.topics.predictions = repartition;
    ref_config.kafka.group_id = cfg.kafka.group_id.clone();
    let ref_loaded = with_version(ref_config)?;
    let ref_cfg = &ref_loaded.config;
    create_topics(ref_cfg).await?;
    let ref_codec = Codec::new(ref_cfg.schemas.ids)?;
    let ref_running = start_pipeline(&ref_loaded);
    let records = encode_predictions(&ref_codec, &preds)?;
    produce_raw(&producer(ref_cfg)?, &ref_cfg.topics.predictions, &records).await?;
    ref_running
        .wait_done(records.len() as u64, Duration::from_secs(180))
        .await?;
    ref_running.stop().await?;
    let want = decisions(ref_cfg, &ref_codec)?;
    assert!(
        want.get("churn-v7").is_some_and(|(c, _)| !c.is_empty()),
        "the planted drift gives a command: {want:?}"
    );
    assert_eq!(
        got, want,
        "the same decisions as native Avro keyed by model id"
    );

    // Confluent's deserializer reads what jidoka wrote, through the registry.
    let t = &cfg.topics;
    let read: serde_json::Value = serde_json::from_str(
        &run_python(
            &repo().join("tests/it/registry/confluent_io.py"),
            &[
                "consume",
                "--bootstrap",
                &cfg.kafka.bootstrap_servers,
                "--registry",
                &registry.url,
                "--topics",
                &format!("{},{},{}", t.actions, t.drift_events, t.audit),
                "--field",
                &serde_json::json!({ t.actions.as_str(): "command_id", t.drift_events.as_str(): "event_id", t.audit.as_str(): "decision_id" }).to_string(),
            ],
        )
        .await?,
    )?;
    for (topic, n) in [
        (
            &t.actions,
            read_all::<HealCommand>(cfg, &reader, &t.actions)?.len(),
        ),
        (
            &t.audit,
            read_all::<AuditRecord>(cfg, &reader, &t.audit)?.len(),
        ),
    ] {
        let decoded = read[topic.as_str()].as_array().map_or(0, Vec::len);
        assert_eq!(
            decoded, n,
            "{topic}: every record decodes with AvroDeserializer"
        );
        assert!(n > 0, "{topic} is not empty");
    }
    assert!(read[t.drift_events.as_str()]
        .as_array()
        .is_some_and(|a| !a.is_empty()));

    // A mapping naming a field the registered schema does not have stops
    // start-up, naming the key, the path and the subject.
    let mut wrong = cfg.clone();
    if let Some(m) = wrong.input.predictions.mapping.as_mut() {
        m.score = jidoka::ingest::path::Source::path("$.output.confidence")
            .map_err(|e| format!("{e:?}"))?;
    }
    let wrong = with_version(wrong)?;
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let err = jidoka::pipeline::run(&wrong, std::sync::Arc::new(Metrics::default()), rx)
        .await
        .err()
        .ok_or("a mapping that does not fit the registered schema must stop start-up")?
        .to_string();
    assert!(
        err.contains("input.predictions.mapping.score")
            && err.contains("$.output.confidence")
            && err.contains(&format!("{}-value", t.predictions)),
        "{err}"
    );
    Ok(())
}
