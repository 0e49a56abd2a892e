//! The operators' HTTP endpoint of a pipeline running in this process on a
//! real broker: `/health` is 503 before the consumer is assigned and 200
//! once every partition is assigned and restored; `/metrics` counts what
//! was produced per topic, the decisions by action and source, latency
//! histograms, the consumer lag per partition and the per-model gauges,
//! and has every metric the shipped dashboard and alert rules query; the
//! endpoint stops with the pipeline. Without a broker, `/health` stays 503
//! and liveness 200.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::config::Config;
use jidoka::demo::scenario::Scenario;
use jidoka::telemetry::Metrics;

/// The first answer to `GET path` once the endpoint listens.
async fn first_answer(addr: SocketAddr, path: &str) -> Result<(u16, String), BoxError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match http_get(addr, path).await {
            Ok(answer) => return Ok(answer),
            Err(e) if Instant::now() > deadline => {
                return Err(format!("endpoint not answering: {e}").into())
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The value of `series` (name and labels as exposed) in an exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Series of `name` (with labels), e.g. every partition's lag.
fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .collect()
}

/// The sum of the values of `name`'s series whose line contains `filter`.
fn sum(text: &str, name: &str, filter: &str) -> f64 {
    series(text, name)
        .iter()
        .filter(|l| l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Every `jidoka_…` metric name in a file of the repository.
fn names_in(file: &str) -> Result<std::collections::BTreeSet<String>, BoxError> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("jidoka_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.insert(name);
    }
    Ok(names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_of_a_running_pipeline() -> TestResult {
    let env = TestEnv::start().await?;
    let addr = free_addr()?;
    let mut config = env.cfg().clone();
    config.telemetry.http_address = addr.to_string();
    config.telemetry.statistics_interval = Duration::from_millis(200);
    let loaded = with_version(config)?;
    let cfg = &loaded.config;
    let t = &cfg.topics;

    let running = start_pipeline(&loaded);
    let (status, reason) = first_answer(addr, "/health").await?;
    assert_eq!(status, 503, "ready before any assignment: {reason}");
    assert!(
        [
            "no broker reachable\n",
            "no partitions assigned\n",
            "restoring the state of assigned partitions\n"
        ]
        .contains(&reason.as_str()),
        "{reason:?}"
    );
    assert_eq!(
        http_get(addr, "/health/live").await?,
        (200, "live\n".into())
    );

    let preds = Scenario::demo(3000, 1500).predictions();
    let mut records = encode_predictions(&env.codec, &preds)?;
    let corrupt = 2;
    for i in 0..corrupt {
        records.insert(1000 * (i + 1), ("churn-v7".into(), Some(vec![7, 1, 2, 3])));
    }
    produce_raw(&producer(cfg)?, &t.predictions, &records).await?;
    running
        .wait_done(records.len() as u64, Duration::from_secs(120))
        .await?;

    // Ready once assigned and restored (polled: the loop marks it between batches).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = http_get(addr, "/health").await?;
        if status == 200 {
            assert_eq!(body, "ready\n");
            break;
        }
        assert_eq!(status, 503);
        if Instant::now() > deadline {
            return Err(format!("not ready after 30 s: {body}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The lag appears with the first statistics after the assignment.
    let lag_name = "jidoka_consumer_lag_records";
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let (status, text) = http_get(addr, "/metrics").await?;
        assert_eq!(status, 200);
        if !series(&text, lag_name).is_empty() {
            break text;
        }
        if Instant::now() > deadline {
            return Err(format!("no consumer lag after 20 s:\n{text}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(text.ends_with("# EOF\n"));

    let m = &running.metrics;
    let produced = records.len() as f64;
    let in_topic = |topic: &str| format!("jidoka_records_in_total{{topic=\"{topic}\"}}");
    let out_topic = |topic: &str| format!("jidoka_records_out_total{{topic=\"{topic}\"}}");
    assert_eq!(sample(&text, &in_topic(&t.predictions)), Some(produced));
    assert_eq!(
        sample(&text, &in_topic(&t.labels)),
        None,
        "no labels produced"
    );
    assert_eq!(sum(&text, "jidoka_records_in_total", ""), produced);
    assert_eq!(
        sample(&text, "jidoka_records_dead_lettered_total"),
        Some(corrupt as f64)
    );
    assert_eq!(
        sample(&text, &out_topic(&t.dead_letter)),
        Some(corrupt as f64)
    );
    let decisions = Metrics::get(&m.decisions_total);
    assert!(decisions >= 1, "the shifted stream gives decisions");
    assert_eq!(
        sample(&text, "jidoka_decisions_total"),
        None,
        "labelled only"
    );
    assert_eq!(sum(&text, "jidoka_decisions_total", ""), decisions as f64);
    assert_eq!(sample(&text, &out_topic(&t.audit)), Some(decisions as f64));
    let by_rules = sum(&text, "jidoka_decisions_total", "source=\"rules\"");
    assert_eq!(by_rules, decisions as f64, "{text}");
    assert!(
        sample(
            &text,
            "jidoka_decisions_total{action=\"retrain\",source=\"rules\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "jidoka_drift_events_total"),
        Some(Metrics::get(&m.drift_events_total) as f64)
    );
    assert!(Metrics::get(&m.drift_events_total) >= 1);

    // Every good record is observed; a record leading to decisions once.
    for (histogram, observations) in [
        ("detect", preds.len() as f64..=preds.len() as f64),
        ("decision", 1.0..=decisions as f64),
    ] {
        let name = format!("jidoka_{histogram}_latency_seconds");
        let n = sample(&text, &format!("{name}_count")).unwrap_or(-1.0);
        assert!(
            observations.contains(&n),
            "{name}_count = {n}, want {observations:?}"
        );
        let total = sample(&text, &format!("{name}_sum")).unwrap_or(f64::NAN);
        assert!(total.is_finite() && total > 0.0, "{name}_sum = {total}");
        let buckets: Vec<f64> = series(&text, &format!("{name}_bucket"))
            .iter()
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        assert!(
            buckets.windows(2).all(|w| w[0] <= w[1]),
            "{name}: {buckets:?}"
        );
        assert_eq!(
            buckets.last(),
            Some(&n),
            "{name}: +Inf holds every observation"
        );
    }

    // Per-model gauges: the drifting model's alerts and commands.
    let commands = Metrics::get(&m.heal_commands_total) as f64;
    assert!(commands >= 1.0, "a retrain decision publishes a command");
    assert_eq!(
        sum(&text, "jidoka_model_commands_last_hour", ""),
        commands,
        "{text}"
    );
    assert!(
        sum(&text, "jidoka_model_open_alerts", "model=\"churn-v7\"") >= 1.0,
        "the shifted model keeps an alert open: {text}"
    );
    assert_eq!(
        series(&text, "jidoka_model_open_alerts")
            .iter()
            .filter(|l| l.contains("model=\"churn-v7\""))
            .count(),
        3,
        "one series per kind: {text}"
    );

    // The dashboard and the alert rules query only what is exposed.
    let exposed: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for file in ["deploy/grafana/jidoka.json", "deploy/prometheus/alerts.yml"] {
        let names = names_in(file)?;
        assert!(names.len() >= 5, "{file}: {names:?}");
        for name in names {
            assert!(
                exposed.contains(name.as_str()),
                "{file} queries {name}, not exposed:\n{text}"
            );
        }
    }

    let lags = series(&text, lag_name);
    assert!(
        lags.iter().all(|l| cfg
            .input_topics()
            .iter()
            .any(|topic| l.contains(&format!("topic=\"{topic}\"")))),
        "{lags:?}"
    );
    assert!(lags
        .iter()
        .all(|l| l.rsplit(' ').next().and_then(|v| v.parse::<i64>().ok()) >= Some(0)));
    assert_eq!(sample(&text, "jidoka_ready"), Some(1.0));
    assert_eq!(sample(&text, "jidoka_broker_reachable"), Some(1.0));
    // Predictions, labels, outcomes and operator: four input topics.
    let partitions = 4.0 * f64::from(t.partitions);
    assert_eq!(
        sample(&text, "jidoka_partitions_assigned"),
        Some(partitions)
    );

    running.stop().await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the endpoint outlived the pipeline"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_without_a_broker() -> TestResult {
    let dir = tempfile::tempdir()?;
    let addr = free_addr()?;
    let mut config = Config::defaults()?;
    config.kafka.bootstrap_servers = free_addr()?.to_string(); // nothing listens
    config.kafka.group_id = unique("group");
    config.state.data_dir = dir.path().to_path_buf();
    config.telemetry.http_address = addr.to_string();
    let loaded = with_version(config)?;
    let running = start_pipeline(&loaded);
    let (status, reason) = first_answer(addr, "/health").await?;
    assert_eq!((status, reason.as_str()), (503, "no broker reachable\n"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, reason) = http_get(addr, "/health").await?;
    assert_eq!(status, 503, "{reason}");
    assert_eq!(
        http_get(addr, "/health/live").await?,
        (200, "live\n".into())
    );
    let (status, text) = http_get(addr, "/metrics").await?;
    assert_eq!(status, 200);
    assert_eq!(sample(&text, "jidoka_ready"), Some(0.0));
    assert_eq!(sample(&text, "jidoka_partitions_assigned"), Some(0.0));
    assert!(series(&text, "jidoka_consumer_lag_records").is_empty());
    assert!(!running.is_finished());
    running.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_address_stops_the_pipeline_at_start() -> TestResult {
    let dir = tempfile::tempdir()?;
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut config = Config::defaults()?;
    config.state.data_dir = dir.path().to_path_buf();
    config.telemetry.http_address = taken.local_addr()?.to_string();
    let loaded = with_version(config)?;
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        jidoka::pipeline::run(&loaded, std::sync::Arc::new(Metrics::default()), rx),
    )
    .await?;
    let err = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("telemetry.http-address"), "{err}");
    Ok(())
}
