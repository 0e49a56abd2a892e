//! Schema Registry interoperability, on a real broker (tansu) and the
//! tests' registry server (`common/registry.rs`, a stand-in implementing
//! the documented endpoints), with Confluent's own Python client
//! (`confluent-kafka` from PyPI: librdkafka, `SchemaRegistryClient`,
//! `AvroSerializer`, `AvroDeserializer`) on the other side, so the wire
//! bytes are exactly what a Confluent platform writes and reads:
//!
//! - predictions written with an evolved schema (jidoka's fields plus one
//!   of the producer's own), registered by the Python serializer, are
//!   decoded with that writer schema into the same records as the native
//!   stream and give the same decisions as those records processed
//!   directly; the registry answering 503 at first delays the batch
//!   (retried with backoff), loses nothing; each new id costs one
//!   successful registry request;
//! - a record framed with an id the registry does not have is
//!   dead-lettered with the registry's reason;
//! - Python's `AvroDeserializer` decodes every record jidoka wrote to
//!   `actions`, `drift-events` and `audit`, through the registry;
//! - the client against the server: register, look up, latest, by id,
//!   404s; a subject that refuses jidoka's schema (409) and a registry
//!   that does not answer each stop start-up with an error naming them.
//!
//! Without Python 3 and confluent-kafka the interop test fails, saying so.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::registry::{TestRegistry, FIRST_ID};
use crate::common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::pipeline::{Output, Processor, SourcePos};
use jidoka::schema::registry::{
    codec_for, fetch_missing, value_subject, Backoff, RegistryClient, RegistryError, Uses,
};
use jidoka::schema::{
    Codec, DeadLetter, DecodeError, DriftEvent, HealCommand, Prediction, SchemaKind,
};
use jidoka::state::Store;
use jidoka::telemetry::Metrics;

/// An id the registry never hands out.
const UNKNOWN_ID: u32 = 9_999;

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/registry/confluent_io.py")
}

/// Runs the Python side; fails unless it exits 0; returns its stdout.
async fn python(args: &[&str]) -> Result<String, BoxError> {
    run_python(&script(), args).await
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> TestResult {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > Duration::from_secs(120) {
            return Err(format!("waited 120 s for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_avro_in_and_out_through_the_registry() -> TestResult {
    let registry = TestRegistry::start().await?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let mut config = test_config(&broker, dir.path())?.config;
    config.schemas.registry_url = Some(registry.url.clone());
    let loaded = with_version(config)?;
    let cfg = &loaded.config;
    create_topics(cfg).await?;

    let native = Scenario::demo(3000, 1500).predictions();
    let input = dir.path().join("predictions.jsonl");
    let mut lines = String::new();
    for p in &native {
        lines.push_str(&serde_json::to_string(p)?);
        lines.push('\n');
    }
    std::fs::write(&input, lines)?;

    // Writer schemas cannot be fetched at first: the batch must wait.
    registry.set_failing(true);
    let running = start_pipeline(&loaded);
    let actions_subject = value_subject(&cfg.topics.actions);
    wait_until("jidoka's schemas registered", || {
        !registry.versions(&actions_subject).is_empty()
    })
    .await?;
    let schema_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/prediction.avsc");
    let produced: serde_json::Value = serde_json::from_str(
        &python(&[
            "produce",
            "--bootstrap",
            &cfg.kafka.bootstrap_servers,
            "--registry",
            &registry.url,
            "--topic",
            &cfg.topics.predictions,
            "--schema",
            &schema_file.to_string_lossy(),
            "--input",
            &input.to_string_lossy(),
            "--unknown-id",
            &UNKNOWN_ID.to_string(),
        ])
        .await?,
    )?;
    assert_eq!(produced["produced"], native.len());
    let writer_id = produced["schema_id"]
        .as_u64()
        .ok_or("no schema id printed")? as u32;
    assert!(writer_id >= FIRST_ID);
    wait_until("a registry retry", || {
        Metrics::get(&running.metrics.schema_registry_retries_total) >= 2
    })
    .await?;
    assert_eq!(
        running.done(),
        0,
        "nothing is processed or dead-lettered while the registry fails"
    );
    registry.set_failing(false);
    running
        .wait_done(native.len() as u64 + 1, Duration::from_secs(120))
        .await?;
    let metrics = running.stop().await?;
    assert_eq!(Metrics::get(&metrics.records_dead_lettered_total), 1);
    assert_eq!(Metrics::get(&metrics.heal_commands_total), 1);
    // One successful request per new id (the evolved schema, the unknown
    // id); every other request was a failure that was retried.
    let retries = Metrics::get(&metrics.schema_registry_retries_total);
    assert_eq!(u64::from(registry.all_fetches()), retries + 2);
    assert!(registry.fetches(writer_id) >= 1 && registry.fetches(UNKNOWN_ID) >= 1);

    // jidoka's ids are the registry's: registering again changes nothing.
    let (codec, client) = codec_for(cfg, &Uses::pipeline(cfg)).await?;
    let client = client.ok_or("no registry client")?;
    assert_eq!(
        registry.versions(&actions_subject),
        vec![codec.id(SchemaKind::HealCommand)]
    );
    assert!(codec.id(SchemaKind::HealCommand) >= FIRST_ID);

    // The records read back with the writer schema are the native ones.
    let (_keep, mut never) = tokio::sync::watch::channel(false);
    fetch_missing(
        &codec,
        &client,
        BTreeSet::from([writer_id, UNKNOWN_ID]),
        Backoff::default(),
        &mut never,
        |_, _, _| {},
    )
    .await?;
    let mut decoded = Vec::new();
    let mut unknown = 0;
    for r in read_raw(cfg, &cfg.topics.predictions)? {
        match codec.decode::<Prediction>(r.value.as_deref()) {
            Ok(p) => decoded.push((r.partition, r.offset, p)),
            Err(e @ DecodeError::Registry { .. }) => {
                assert_eq!(e.kind(), "unknown-schema");
                unknown += 1;
            }
            Err(e) => return Err(format!("undecodable prediction: {e}").into()),
        }
    }
    assert_eq!(unknown, 1);
    let mut got: Vec<&Prediction> = decoded.iter().map(|(_, _, p)| p).collect();
    let mut want: Vec<&Prediction> = native.iter().collect();
    got.sort_by(|a, b| a.prediction_id.cmp(&b.prediction_id));
    want.sort_by(|a, b| a.prediction_id.cmp(&b.prediction_id));
    assert!(
        got == want,
        "decoded predictions differ from the native ones"
    );

    // The same decisions as those records processed directly.
    decoded.sort_by_key(|(p, o, _)| (*p, *o));
    let ref_dir = tempfile::tempdir()?;
    let mut reference = Processor::new(cfg, &loaded.version, Store::open(ref_dir.path(), false)?);
    let (mut want_commands, mut want_audits) = (Vec::new(), Vec::new());
    for (partition, offset, p) in &decoded {
        let pos = SourcePos {
            topic: cfg.topics.predictions.clone(),
            partition: *partition,
            offset: *offset,
        };
        for out in reference.process(&pos, p)? {
            match out {
                Output::Command(c) => want_commands.push(c.command_id),
                Output::Audit(a) => want_audits.push(a.decision_id),
                Output::Drift(_) | Output::Evaluation(_) | Output::Lesson(_) => {}
            }
        }
    }
    want_audits.sort();
    let (commands, audits) = published(&loaded, &codec)?;
    let commands: Vec<String> = commands.into_iter().map(|c| c.command_id).collect();
    assert_eq!(commands, want_commands);
    assert_eq!(audits, want_audits);
    let drifts = read_all::<DriftEvent>(cfg, &codec, &cfg.topics.drift_events)?;
    assert!(drifts
        .iter()
        .any(|d| d.value.model_id == "churn-v7" && d.value.feature == "tenure_days"));

    // The unknown id is dead-lettered with the registry's reason.
    let dead = read_all::<DeadLetter>(cfg, &codec, &cfg.topics.dead_letter)?;
    assert_eq!(dead.len(), 1);
    let dead = &dead[0].value;
    assert_eq!(dead.error_kind, "unknown-schema");
    assert!(
        dead.reason.contains(&UNKNOWN_ID.to_string()) && dead.reason.contains("not found"),
        "{}",
        dead.reason
    );

    // Confluent's deserializer decodes everything jidoka wrote.
    let (t, fields) = (
        &cfg.topics,
        serde_json::json!({
            cfg.topics.actions.clone(): "command_id",
            cfg.topics.drift_events.clone(): "event_id",
            cfg.topics.audit.clone(): "decision_id",
        }),
    );
    let read: serde_json::Value = serde_json::from_str(
        &python(&[
            "consume",
            "--bootstrap",
            &cfg.kafka.bootstrap_servers,
            "--registry",
            &registry.url,
            "--topics",
            &format!("{},{},{}", t.actions, t.drift_events, t.audit),
            "--field",
            &fields.to_string(),
        ])
        .await?,
    )?;
    let ids = |topic: &str| -> BTreeSet<String> {
        read[topic]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let actions = read_all::<HealCommand>(cfg, &codec, &t.actions)?;
    assert_eq!(
        ids(&t.actions),
        actions.iter().map(|r| r.value.command_id.clone()).collect()
    );
    assert_eq!(
        ids(&t.drift_events),
        drifts.iter().map(|r| r.value.event_id.clone()).collect()
    );
    assert_eq!(ids(&t.audit), audits.iter().cloned().collect());
    for topic in [&t.actions, &t.drift_events, &t.audit] {
        let all = read[topic.as_str()].as_array().map_or(0, Vec::len);
        assert_eq!(
            all,
            read_raw(cfg, topic)?.len(),
            "{topic}: every record decoded"
        );
        assert!(all > 0, "{topic} is empty");
    }
    Ok(())
}

#[tokio::test]
async fn client_speaks_the_registry_api_and_caches_one_request_per_id() -> TestResult {
    let registry = TestRegistry::start().await?;
    let client = RegistryClient::new(&registry.url, Duration::from_secs(10), None)?;
    let schema = SchemaKind::HealCommand.source();
    let id = client.register("actions-value", schema).await?;
    assert_eq!(id, FIRST_ID);
    assert_eq!(client.register("actions-value", schema).await?, id);
    assert_eq!(client.lookup("actions-value", schema).await?, Some(id));
    assert_eq!(
        client
            .lookup("actions-value", SchemaKind::Label.source())
            .await?,
        None
    );
    assert_eq!(client.lookup("nothing-value", schema).await?, None);
    assert_eq!(client.latest("actions-value").await?.map(|l| l.0), Some(id));
    assert_eq!(client.latest("nothing-value").await?, None);
    let fetched = client.schema_by_id(id).await?;
    assert_eq!(fetched.schema_type, "AVRO");
    assert_eq!(
        apache_avro::Schema::parse_str(&fetched.schema)?.canonical_form(),
        apache_avro::Schema::parse_str(schema)?.canonical_form()
    );
    match client.schema_by_id(UNKNOWN_ID).await {
        Err(RegistryError::Status {
            status: 404, code, ..
        }) => assert_eq!(code, 40403),
        other => return Err(format!("expected a 404, got {other:?}").into()),
    }
    match client
        .register("bad-value", "{\"type\": \"nonsense\"}")
        .await
    {
        Err(RegistryError::Status { status: 422, .. }) => {}
        other => return Err(format!("expected a 422, got {other:?}").into()),
    }

    // The cache: one request per new id, however often it is seen.
    let cfg = jidoka::config::Config::defaults()?;
    let codec = Codec::new(cfg.schemas.ids)?.with_registry(&[]);
    let evolved = evolved_prediction_schema()?;
    let writer = registry.add("predictions-value", &evolved);
    let record = jidoka::demo::scenario::Scenario::demo(3, 1)
        .predictions()
        .remove(0);
    let datum = apache_avro::to_avro_datum(
        &apache_avro::Schema::parse_str(&evolved)?,
        apache_avro::to_value(&record)?.resolve(&apache_avro::Schema::parse_str(&evolved)?)?,
    )?;
    let framed = jidoka::schema::frame(writer, &datum);
    let unknown = jidoka::schema::frame(UNKNOWN_ID, &datum);
    let cache = codec.writers().ok_or("no cache")?;
    let (_keep, mut never) = tokio::sync::watch::channel(false);
    let asked_before = registry.fetches(UNKNOWN_ID);
    for _ in 0..3 {
        let missing = cache.missing([Some(&framed[..]), Some(&unknown[..]), None]);
        fetch_missing(
            &codec,
            &client,
            missing,
            Backoff::default(),
            &mut never,
            |_, _, _| {},
        )
        .await?;
        assert_eq!(codec.decode::<Prediction>(Some(&framed))?, record);
        assert!(matches!(
            codec.decode::<Prediction>(Some(&unknown)),
            Err(DecodeError::Registry { id: UNKNOWN_ID, .. })
        ));
    }
    assert_eq!(
        (registry.fetches(writer), registry.fetches(UNKNOWN_ID)),
        (1, asked_before + 1)
    );
    assert_eq!(cache.fetches(), 2);
    // The generic view keeps the producer's own field.
    let generic = codec.decode_generic(Some(&framed))?;
    assert_eq!(generic["serving_host"], "unknown");
    assert_eq!(generic["model_id"], record.model_id.as_str());
    Ok(())
}

fn evolved_prediction_schema() -> Result<String, BoxError> {
    let mut schema: serde_json::Value = serde_json::from_str(SchemaKind::Prediction.source())?;
    schema["fields"]
        .as_array_mut()
        .ok_or("no fields")?
        .push(serde_json::json!({"name": "serving_host", "type": "string", "default": "unknown"}));
    Ok(schema.to_string())
}

#[tokio::test]
async fn start_up_stops_on_a_refused_schema_or_an_unreachable_registry() -> TestResult {
    let registry = TestRegistry::start().await?;
    let dir = tempfile::tempdir()?;
    let mut cfg = jidoka::config::Config::defaults()?;
    cfg.kafka.bootstrap_servers = "127.0.0.1:9".into();
    cfg.state.data_dir = dir.path().to_path_buf();
    cfg.topics.audit = unique("audit");
    cfg.schemas.registry_url = Some(registry.url.clone());
    // Another schema owns the audit subject, which refuses new ones.
    let subject = value_subject(&cfg.topics.audit);
    registry.add(&subject, SchemaKind::Label.source());
    registry.make_incompatible(&subject);
    let loaded = with_version(cfg.clone())?;
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let err = jidoka::pipeline::run(&loaded, std::sync::Arc::new(Metrics::default()), rx)
        .await
        .err()
        .ok_or("the pipeline started")?
        .to_string();
    assert!(
        err.contains(&format!("`{subject}`")) && err.contains("409"),
        "{err}"
    );

    let nowhere = format!("http://{}", free_addr()?);
    cfg.schemas.registry_url = Some(nowhere.clone());
    let loaded = with_version(cfg)?;
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let err = jidoka::pipeline::run(&loaded, std::sync::Arc::new(Metrics::default()), rx)
        .await
        .err()
        .ok_or("the pipeline started")?
        .to_string();
    assert!(
        err.contains(&nowhere) && err.contains("unreachable"),
        "{err}"
    );
    Ok(())
}
