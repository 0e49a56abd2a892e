//! Inputs not keyed by model id, and the topic check at start: predictions
//! keyed by request id are repartitioned by model id and decided exactly as
//! the same records keyed by model id, across a restart; `jidoka run`
//! refuses to start on a missing topic, unequal partition counts and an
//! audit topic that is not compacted; `topics.prefix` names every topic.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::config::{Config, InputKey, LoadedConfig};
use jidoka::demo::scenario::{Scenario, Shift};
use jidoka::schema::{AuditRecord, Codec, DeadLetter, HealCommand, Prediction};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

/// Three models of 1,200 records 100 ms apart (the whole stream inside one
/// cooldown); `churn-v7`'s `tenure_days` moves by 4 standard deviations at
/// record 700.
fn scenario() -> Scenario {
    let mut s = Scenario::demo(1200, 700);
    s.interval_ms = 100;
    for m in &mut s.models {
        for f in &mut m.features {
            if let Some(shift) = &mut f.shift {
                *shift = Shift {
                    at_record: 700,
                    mean_delta_sd: 4.0,
                };
            }
        }
    }
    s
}

/// What a run decided: per model, every first audit version (sequence,
/// decision time, action, who decided, why) and every command (time,
/// action, reason).
type Decisions = (
    Vec<(String, i64, i64, String, String, String)>,
    Vec<(String, i64, String, String)>,
);

fn decisions(cfg: &Config, codec: &Codec) -> Result<Decisions, BoxError> {
    let mut audits: Vec<_> = read_all::<AuditRecord>(cfg, codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value)
        .filter(|a| a.version == 1)
        .map(|a| {
            (
                a.model_id,
                a.sequence,
                a.decided_at,
                a.action,
                a.decided_by,
                a.gate_reason,
            )
        })
        .collect();
    audits.sort();
    let mut commands: Vec<_> = read_all::<HealCommand>(cfg, codec, &cfg.topics.actions)?
        .into_iter()
        .map(|r| r.value)
        .map(|c| {
            (
                c.model_id,
                c.issued_at,
                c.action.as_str().to_string(),
                c.reason,
            )
        })
        .collect();
    commands.sort();
    Ok((audits, commands))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_keyed_predictions_are_repartitioned_and_decided_as_model_keyed_ones() -> TestResult
{
    let env = TestEnv::start().await?;
    let codec = &env.codec;
    // The repartitioned deployment: its own topics, group and state.
    let dir = tempfile::tempdir()?;
    let mut cfg = test_config(&env.broker, dir.path())?.config;
    cfg.input.predictions.key = InputKey::Other;
    let loaded = with_version(cfg)?;
    let cfg = &loaded.config;
    create_topics(cfg).await?;
    let repartition = cfg.repartition_topic(&cfg.topics.predictions);
    assert_eq!(
        repartition,
        format!(
            "{}-{}-repartition",
            cfg.kafka.group_id, cfg.topics.predictions
        )
    );

    // Keyed by request id: random keys, spread over every partition.
    let preds = scenario().predictions();
    let keyed_by_request = |preds: &[Prediction]| -> Result<Vec<RawRecord>, BoxError> {
        preds
            .iter()
            .map(|p| Ok((unique("request"), Some(codec.encode(p)?))))
            .collect()
    };
    let half = preds.len() / 2;
    let mut first = keyed_by_request(&preds[..half])?;
    // Two bad records, dead-lettered on the source topic.
    first.push((unique("request"), Some(b"not avro".to_vec())));
    first.push((unique("request"), None));

    let running = start_pipeline(&loaded);
    produce_raw(&producer(cfg)?, &cfg.topics.predictions, &first).await?;
    running
        .wait_done(first.len() as u64, Duration::from_secs(120))
        .await?;
    let m1 = running.stop().await?;
    assert_eq!(
        jidoka::telemetry::Metrics::get(&m1.records_repartitioned_total),
        half as u64
    );
    // Restarted: the rest, from where the first run stopped.
    let running = start_pipeline(&loaded);
    produce_raw(
        &producer(cfg)?,
        &cfg.topics.predictions,
        &keyed_by_request(&preds[half..])?,
    )
    .await?;
    running
        .wait_done((preds.len() - half) as u64, Duration::from_secs(120))
        .await?;
    running.stop().await?;

    // The source records really were spread over the partitions.
    let source: BTreeSet<i32> = read_raw(cfg, &cfg.topics.predictions)?
        .iter()
        .map(|r| r.partition)
        .collect();
    assert_eq!(
        source.len(),
        3,
        "request keys on partitions {source:?} only"
    );
    let dead: Vec<DeadLetter> = read_all::<DeadLetter>(cfg, codec, &cfg.topics.dead_letter)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead
        .iter()
        .all(|d| d.source_topic == cfg.topics.predictions));

    // Every prediction forwarded once, keyed by its model, each model on
    // one partition.
    let forwarded = read_all::<Prediction>(cfg, codec, &repartition)?;
    assert_eq!(forwarded.len(), preds.len());
    let ids: BTreeSet<&str> = forwarded
        .iter()
        .map(|r| r.value.prediction_id.as_str())
        .collect();
    assert_eq!(ids.len(), preds.len(), "a prediction forwarded twice");
    let mut partition_of: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    for r in &forwarded {
        assert_eq!(r.key.as_deref(), Some(r.value.model_id.as_str()));
        partition_of
            .entry(r.value.model_id.as_str())
            .or_default()
            .insert(r.partition);
    }
    assert!(
        partition_of.values().all(|p| p.len() == 1),
        "{partition_of:?}"
    );

    // The same records keyed by model id, each model's in the order its
    // partition of the repartition topic holds them, into a deployment
    // that reads them directly.
    let mut in_order = forwarded;
    in_order.sort_by_key(|r| (r.partition, r.offset));
    let keyed_by_model: Vec<Prediction> = in_order.into_iter().map(|r| r.value).collect();
    env.run(&encode_predictions(codec, &keyed_by_model)?)
        .await?;

    let repartitioned = decisions(cfg, codec)?;
    let direct = decisions(env.cfg(), codec)?;
    assert!(
        direct.0.len() >= 2,
        "too few decisions to compare: {direct:?}"
    );
    assert!(
        direct.1.iter().any(|c| c.0 == "churn-v7"),
        "the planted drift gave no command: {direct:?}"
    );
    assert_eq!(repartitioned, direct);
    Ok(())
}

/// Creates `topic` with `partitions` and `configs` (the broker's defaults
/// otherwise).
async fn create_topic(
    cfg: &Config,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> TestResult {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.kafka.bootstrap_servers)
        .create()?;
    let new = configs.iter().fold(
        NewTopic::new(topic, partitions, TopicReplication::Fixed(1)),
        |t, (k, v)| t.set(k, v),
    );
    for r in admin.create_topics([&new], &AdminOptions::new()).await? {
        r.map_err(|(t, e)| format!("creating {t}: {e}"))?;
    }
    Ok(())
}

/// `jidoka run` on `cfg`, expected to refuse: its exit code and stderr.
/// Killed (and failed) if it is still running after a minute, which means
/// it started.
fn refused_run(cfg: &Config) -> Result<(i32, String), BoxError> {
    let cwd = tempfile::tempdir()?;
    let mut child = jidoka_command(cfg, cwd.path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("jidoka run started on unfit topics".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_missing_unequal_and_uncompacted_topics() -> TestResult {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;

    // No topic at all: every one is named, with the fix.
    let cfg = test_config(&broker, dir.path())?.config;
    let (code, stderr) = refused_run(&cfg)?;
    assert_eq!(code, 1, "{stderr}");
    for topic in [&cfg.topics.predictions, &cfg.topics.audit] {
        assert!(
            stderr.contains(&format!("topic `{topic}` does not exist")),
            "{stderr}"
        );
    }
    assert!(stderr.contains(&cfg.changelog_topic("windows")), "{stderr}");
    assert!(stderr.contains("jidoka topics create"), "{stderr}");
    // The check created nothing.
    let (code, _) = refused_run(&cfg)?;
    assert_eq!(code, 1);

    // Outcomes with more partitions than the other inputs.
    let cfg = test_config(&broker, dir.path())?.config;
    create_topic(&cfg, &cfg.topics.outcomes, 5, &[]).await?;
    create_topics(&cfg).await?;
    let (code, stderr) = refused_run(&cfg)?;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "topic `{}` has 5 partitions but `{}` has 3",
            cfg.topics.outcomes, cfg.topics.predictions
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("does not exist"), "{stderr}");

    // An audit topic with delete retention.
    let cfg = test_config(&broker, dir.path())?.config;
    create_topic(&cfg, &cfg.topics.audit, 3, &[("cleanup.policy", "delete")]).await?;
    create_topics(&cfg).await?;
    let (code, stderr) = refused_run(&cfg)?;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "topic `{}` has cleanup.policy=delete but must be compacted",
            cfg.topics.audit
        )),
        "{stderr}"
    );
    Ok(())
}

/// Waits (bounded by progress) until `topic` holds at least `n` records.
fn wait_records(cfg: &Config, topic: &str, n: usize, child: &mut Child) -> TestResult {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(format!("jidoka run exited: {status}").into());
        }
        if read_raw(cfg, topic)?.len() >= n {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err(format!("fewer than {n} records on {topic}").into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_prefix_names_every_topic_of_the_deployment() -> TestResult {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let plain = test_config(&broker, dir.path())?.config;
    let prefix = format!("{}.", unique("team"));
    // What the binary should make of the plain names with the prefix.
    let mut cfg = plain.clone();
    cfg.topics.prefix = prefix.clone();
    cfg.input.predictions.key = InputKey::Other;
    let loaded: LoadedConfig = with_version(cfg)?;
    let cfg = &loaded.config;
    let env = [
        ("JIDOKA__TOPICS__PREFIX", prefix.as_str()),
        ("JIDOKA__INPUT__PREDICTIONS__KEY", "other"),
    ];
    let command = |args: &[&str], cwd: &std::path::Path| -> Command {
        let mut cmd = jidoka_command(&plain, cwd);
        cmd.args(args).envs(env);
        cmd
    };
    let cwd = tempfile::tempdir()?;
    let created = command(&["topics", "create"], cwd.path()).output()?;
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let names: BTreeSet<String> = stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": created"))
        .map(str::to_string)
        .collect();
    let expected: BTreeSet<String> = jidoka::kafka::topic_specs(cfg)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, expected, "{stdout}");
    assert!(names.iter().all(|n| n.starts_with(&prefix)), "{stdout}");
    assert!(names.contains(&format!(
        "{prefix}{}-{}-repartition",
        plain.kafka.group_id, plain.topics.predictions
    )));

    // `run` accepts the prefixed topics and uses them: a prediction keyed
    // by request id reaches the prefixed repartition topic, a bad record
    // the prefixed dead-letter topic.
    let mut child = command(&["run"], cwd.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let codec = Codec::new(cfg.schemas.ids)?;
    let preds = scenario().predictions();
    let mut records: Vec<RawRecord> = preds[..30]
        .iter()
        .map(|p| Ok((unique("request"), Some(codec.encode(p)?))))
        .collect::<Result<_, BoxError>>()?;
    records.push((unique("request"), Some(b"garbage".to_vec())));
    produce_raw(&producer(cfg)?, &cfg.topics.predictions, &records).await?;
    let result = wait_records(cfg, &cfg.topics.dead_letter, 1, &mut child).and_then(|()| {
        wait_records(
            cfg,
            &cfg.repartition_topic(&cfg.topics.predictions),
            30,
            &mut child,
        )
    });
    let _ = child.kill();
    let _ = child.wait();
    result?;
    // Nothing went to the unprefixed names.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.kafka.bootstrap_servers)
        .create()?;
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))?;
    let on_broker: BTreeSet<&str> = metadata.topics().iter().map(|t| t.name()).collect();
    for (_, name) in plain.topics.named() {
        assert!(!on_broker.contains(name), "{name} was created");
    }
    Ok(())
}
