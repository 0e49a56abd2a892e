//! The per-feature gauges of `/metrics` on a pipeline running in this
//! process on a real broker, with `telemetry.feature-series-limit = 3`:
//! exactly three series have their own labels, each holding the statistic
//! and p-value of its latest record on the evaluations topic; every other
//! series seen there is counted in `jidoka_feature_series_dropped_total`
//! and shown through the aggregated `_other` series of its test, which
//! holds the most significant latest values among them. And when a second
//! instance joins the group, the series of the models whose partitions
//! moved leave the first instance: after the rebalance each model's series
//! is on exactly one instance's `/metrics`, its owner's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::demo::scenario::{FeatureSpec, ModelSpec, Scenario};
use jidoka::schema::{Codec, EvaluationRecord, Prediction};
use jidoka::telemetry::Metrics;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

const LIMIT: usize = 3;

/// (model, feature, kind, test), as labelled.
type Key = (String, String, String, String);

/// Latest (statistic, p-value) per series.
type Values = BTreeMap<Key, (f64, f64)>;

/// The samples of gauge family `name`, by label set.
fn family(text: &str, name: &str) -> Result<BTreeMap<Key, f64>, BoxError> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name).and_then(|r| r.strip_prefix('{')) else {
            continue;
        };
        let (labels, value) = rest
            .rsplit_once("} ")
            .ok_or_else(|| format!("no value: {line}"))?;
        let labels = parse_labels(labels).ok_or_else(|| format!("bad labels: {line}"))?;
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        let key = (get("model"), get("feature"), get("kind"), get("test"));
        let value: f64 = value.parse()?;
        if out.insert(key, value).is_some() {
            return Err(format!("label set twice: {line}").into());
        }
    }
    Ok(out)
}

/// `k="v",…` with `\"`, `\\` and `\n` escapes.
fn parse_labels(s: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if chars.next() != Some('"') {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                c => value.push(c),
            }
        }
        out.insert(key, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    Some(out)
}

/// The value the exposition shows for a statistic.
fn exported(v: f64) -> f64 {
    if v.is_infinite() {
        f64::MAX.copysign(v)
    } else {
        v
    }
}

/// Latest (statistic, p-value) per series on the evaluations topic.
fn latest_evaluations(records: &[EvaluationRecord]) -> Values {
    let mut latest: BTreeMap<Key, (i64, f64, f64)> = BTreeMap::new();
    for e in records {
        let key = (
            e.model_id.clone(),
            e.feature.clone(),
            e.kind.clone(),
            e.test.as_str().to_string(),
        );
        let entry = latest.entry(key).or_insert((i64::MIN, 0.0, 0.0));
        if e.record >= entry.0 {
            *entry = (e.record, e.statistic, e.p_value);
        }
    }
    latest
        .into_iter()
        .map(|(k, (_, statistic, p_value))| (k, (statistic, p_value)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feature_gauges_respect_the_series_limit() -> TestResult {
    let env = TestEnv::start().await?;
    let addr = free_addr()?;
    let mut config = env.cfg().clone();
    config.telemetry.http_address = addr.to_string();
    config.telemetry.feature_series_limit = LIMIT;
    // Metrics scored from the third evaluation on: anomaly series too.
    config.detect.anomaly.min_samples = 2;
    assert!(config.evaluations.enabled);
    let loaded = with_version(config)?;
    let cfg = &loaded.config;

    let running = start_pipeline(&loaded);
    let preds = Scenario::demo(1000, 700).predictions();
    let records = encode_predictions(&env.codec, &preds)?;
    produce_raw(&producer(cfg)?, &cfg.topics.predictions, &records).await?;
    running
        .wait_done(records.len() as u64, Duration::from_secs(120))
        .await?;
    // Records count as done once their telemetry is set.
    let (status, text) = http_get(addr, "/metrics").await?;
    assert_eq!(status, 200);
    running.stop().await?;

    let evaluations: Vec<EvaluationRecord> =
        read_all::<EvaluationRecord>(cfg, &env.codec, &cfg.topics.evaluations)?
            .into_iter()
            .map(|r| r.value)
            .collect();
    let latest = latest_evaluations(&evaluations);
    let kinds: BTreeSet<&str> = latest.keys().map(|k| k.2.as_str()).collect();
    assert!(
        latest.len() > LIMIT + 2 && kinds.len() == 2,
        "features and metrics of three models: {:?}",
        latest.keys()
    );

    let statistics = family(&text, "jidoka_feature_statistic")?;
    let p_values = family(&text, "jidoka_feature_p_value")?;
    assert_eq!(
        statistics.keys().collect::<Vec<_>>(),
        p_values.keys().collect::<Vec<_>>(),
        "{text}"
    );
    let gauges: Values = statistics
        .into_iter()
        .map(|(k, s)| {
            let p = p_values.get(&k).copied().unwrap_or(f64::NAN);
            (k, (s, p))
        })
        .collect();
    let (aggregated, own): (Values, Values) = gauges
        .into_iter()
        .partition(|(k, _)| k.0 == "_other" && k.1 == "_other");

    assert_eq!(own.len(), LIMIT, "{text}");
    for (key, (statistic, p_value)) in &own {
        let want = latest
            .get(key)
            .ok_or_else(|| format!("{key:?} is on /metrics, not on the evaluations topic"))?;
        assert!((0.0..=1.0).contains(p_value), "{key:?}: p = {p_value}");
        assert_eq!(
            (*statistic, *p_value),
            (exported(want.0), want.1),
            "{key:?}: the latest evaluation's values"
        );
    }

    let refused: Vec<(&Key, &(f64, f64))> = latest
        .iter()
        .filter(|(k, _)| !own.contains_key(*k))
        .collect();
    let dropped = text
        .lines()
        .find_map(|l| l.strip_prefix("jidoka_feature_series_dropped_total "))
        .and_then(|v| v.parse::<f64>().ok());
    assert_eq!(dropped, Some(refused.len() as f64), "{text}");

    // One aggregated series per (kind, test) refused: the smallest latest
    // p-value among them, with its statistic (ties: the larger |statistic|,
    // then the first by name, i.e. in key order).
    let mut want: BTreeMap<Key, (f64, f64)> = BTreeMap::new();
    for (key, (statistic, p_value)) in refused {
        let agg = (
            "_other".into(),
            "_other".into(),
            key.2.clone(),
            key.3.clone(),
        );
        let e = want.entry(agg).or_insert((*statistic, *p_value));
        if *p_value < e.1 || (*p_value == e.1 && statistic.abs() > e.0.abs()) {
            *e = (*statistic, *p_value);
        }
    }
    let want: Values = want
        .into_iter()
        .map(|(k, (s, p))| (k, (exported(s), p)))
        .collect();
    assert_eq!(aggregated, want, "{text}");
    Ok(())
}

/// Produces predictions, model `m<i>` to partition `i % partitions`.
async fn produce_spread(
    producer: &FutureProducer,
    codec: &Codec,
    topic: &str,
    partitions: i32,
    preds: &[Prediction],
) -> TestResult {
    for chunk in preds.chunks(1000) {
        let encoded = chunk
            .iter()
            .map(|p| {
                let index: i32 = p.model_id.trim_start_matches('m').parse()?;
                Ok((index % partitions, p.model_id.as_str(), codec.encode(p)?))
            })
            .collect::<Result<Vec<_>, BoxError>>()?;
        let sends = encoded.iter().map(|(partition, key, payload)| {
            let record = FutureRecord::to(topic)
                .key(key.as_bytes())
                .payload(payload)
                .partition(*partition);
            producer.send(record, Timeout::After(Duration::from_secs(30)))
        });
        for res in futures::future::join_all(sends).await {
            res.map_err(|(e, _)| e)?;
        }
    }
    Ok(())
}

/// Models with a series on the `/metrics` of the endpoint at `addr`.
async fn models_on(addr: std::net::SocketAddr) -> Result<BTreeSet<String>, BoxError> {
    let (status, text) = http_get(addr, "/metrics").await?;
    assert_eq!(status, 200);
    Ok(family(&text, "jidoka_feature_p_value")?
        .into_keys()
        .map(|k| k.0)
        .collect())
}

/// Waits until `done()` reaches `n`, failing after `stall` without
/// progress.
async fn wait_for(what: &str, n: u64, stall: Duration, done: impl Fn() -> u64) -> TestResult {
    let (mut last, mut moved) = (done(), Instant::now());
    while done() < n {
        let now = done();
        if now != last {
            (last, moved) = (now, Instant::now());
        } else if moved.elapsed() > stall {
            return Err(format!("{what}: {now} of {n}, no progress for {stall:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feature_series_leave_with_a_revoked_partition() -> TestResult {
    let env = TestEnv::start().await?;
    let cfg = env.cfg();
    let partitions = cfg.topics.partitions;
    let (addr_a, addr_b) = (free_addr()?, free_addr()?);
    let mut config = cfg.clone();
    config.telemetry.http_address = addr_a.to_string();
    let a_loaded = with_version(config.clone())?;
    let dir_b = tempfile::tempdir()?;
    config.state.data_dir = dir_b.path().to_path_buf();
    config.telemetry.http_address = addr_b.to_string();
    let b_loaded = with_version(config)?;

    // Six one-feature models, two per partition.
    let scenario = Scenario {
        models: (0..6)
            .map(|i| ModelSpec {
                model_id: format!("m{i}"),
                features: vec![FeatureSpec {
                    name: "x".into(),
                    mean: 0.0,
                    sd: 1.0,
                    shift: None,
                }],
                records: 1000,
            })
            .collect(),
        ..Scenario::demo(0, 0)
    };
    let preds = scenario.predictions();
    let all: BTreeSet<String> = scenario.models.iter().map(|m| m.model_id.clone()).collect();
    // Records 1..=750 of every model (evaluated at 625 and 750), then the rest.
    let (first, second) = preds.split_at(6 * 750);
    let producer = producer(cfg)?;
    let topic = &cfg.topics.predictions;

    let a = start_pipeline(&a_loaded);
    produce_spread(&producer, &env.codec, topic, partitions, first).await?;
    a.wait_done(first.len() as u64, Duration::from_secs(120))
        .await?;
    assert_eq!(
        models_on(addr_a).await?,
        all,
        "one instance has every model"
    );

    // A second instance joins: wait until the partitions are shared and
    // both have restored theirs.
    let b = start_pipeline(&b_loaded);
    let inputs = 4 * partitions as usize;
    let deadline = Instant::now() + Duration::from_secs(90);
    let settled = |m: &Metrics| m.readiness.owned() > 0 && m.ready().is_ok();
    while !(settled(&a.metrics)
        && settled(&b.metrics)
        && a.metrics.readiness.owned() + b.metrics.readiness.owned() == inputs)
    {
        if Instant::now() > deadline {
            return Err(format!(
                "no shared assignment after 90 s: {} + {} partitions",
                a.metrics.readiness.owned(),
                b.metrics.readiness.owned()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    produce_spread(&producer, &env.codec, topic, partitions, second).await?;
    let processed = || {
        Metrics::get(&a.metrics.records_processed_total)
            + Metrics::get(&b.metrics.records_processed_total)
    };
    wait_for(
        "records processed",
        preds.len() as u64,
        Duration::from_secs(120),
        processed,
    )
    .await?;

    let (on_a, on_b) = (models_on(addr_a).await?, models_on(addr_b).await?);
    a.stop().await?;
    b.stop().await?;
    assert!(!on_b.is_empty(), "some models moved to the second instance");
    assert!(
        on_a.is_disjoint(&on_b),
        "a moved model's series stayed behind: {on_a:?} and {on_b:?}"
    );
    assert_eq!(
        on_a.union(&on_b).cloned().collect::<BTreeSet<_>>(),
        all,
        "every model is on its owner's /metrics"
    );
    Ok(())
}
