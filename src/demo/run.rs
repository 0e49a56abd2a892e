//! The in-process demo, start to finish: the mock cluster and its topics,
//! the pipeline, the watcher and the simulated executor, the scenario's
//! stream, time passing past every command's horizon, the report, the
//! shutdown and what the shifted model's bandit learned.
//!
//! Guarantees: the demo's config is the embedded defaults pointed at the
//! mock cluster and a temporary state directory; each phase waits on
//! progress and fails with a [`DemoError`] naming what it waited for,
//! never a panic; time passes only after every outcome so far is in, by
//! exactly as many records per model as the last command's horizon needs
//! ([`super::horizon`]); the pipeline is stopped before its store is read
//! back.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::mocking::MockCluster;
use tokio::sync::watch;

use super::executor;
use super::horizon::time_to_pass;
use super::produce::produce;
use super::scenario::Scenario;
use super::settle::{settle, wait_for};
use super::watch::{spawn_watcher, watch_rx, Seen};
use super::{DemoError, DemoOptions, DemoSummary, SHIFTED_FEATURE, SHIFTED_MODEL};
use crate::config::{Config, LoadedConfig};
use crate::decide::operator::Decisions;
use crate::decide::rules::Signals;
use crate::decide::Engine;
use crate::pipeline;
use crate::report::Selection;
use crate::schema::{ArmView, Codec};
use crate::state::Store;
use crate::telemetry::Metrics;

/// Runs the demo, printing as it goes, and returns what it saw.
pub async fn run(opts: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let cluster = MockCluster::new(1)?;
    let bootstrap = cluster.bootstrap_servers();
    let data_dir = tempfile::tempdir()?;
    let mut config = Config::defaults()?;
    config.kafka.bootstrap_servers = bootstrap.clone();
    config.kafka.group_id = "jidoka-demo".into();
    config.state.data_dir = data_dir.path().join("state");
    if let Some(address) = &opts.http_address {
        config.telemetry.http_address = address.clone();
    }
    for spec in crate::kafka::topic_specs(&config) {
        cluster.create_topic(&spec.name, spec.partitions, 1)?;
    }
    let loaded = LoadedConfig {
        version: config.version(),
        config,
    };
    let cfg = &loaded.config;
    println!("jidoka demo: in-process broker at {bootstrap} (librdkafka's mock cluster, a test cluster; production points at a real Kafka)");

    let metrics = Arc::new(Metrics::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let pipeline_task = {
        let loaded = loaded.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move { pipeline::run(&loaded, metrics, stop_rx).await })
    };
    let codec = Codec::new(cfg.schemas.ids)?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let watcher = spawn_watcher(cfg, codec.clone(), seen.clone(), watch_rx(&stop_tx))?;
    let executor = executor::spawn(cfg, codec.clone(), opts.executor_delay, watch_rx(&stop_tx))?;

    let scenario = Scenario::demo(opts.records, opts.shift_at);
    let produced = produce(cfg, &codec, &scenario.predictions(), opts.corrupt).await?;
    println!(
        "produced {produced} predictions for {} models ({SHIFTED_MODEL}/{SHIFTED_FEATURE} shifts by +1 sd at record {}) and {} corrupt records",
        scenario.models.len(),
        opts.shift_at,
        opts.corrupt
    );

    let total = produced + opts.corrupt;
    let answered = || executor.answered.load(Ordering::Relaxed);
    settle(cfg, &metrics, &seen, &answered, total, opts).await?;
    // Time passes: the models' streams run on past the horizon of every
    // command so far, after their outcomes are in; each is then measured
    // again on its model's own signals and its reward is complete.
    let issued = seen
        .lock()
        .map(|s| s.commands.iter().map(|c| c.issued_at).max())
        .unwrap_or_default();
    let extra = time_to_pass(cfg, &scenario, issued);
    let later = produce(cfg, &codec, &scenario.continued(extra), 0).await?;
    let end = scenario.end_time_ms() + extra as i64 * scenario.interval_ms;
    if later > 0 {
        println!(
            "time passes: {later} more predictions, each model's stream runs {} min on, past the {} horizon of every command so far",
            extra as i64 * scenario.interval_ms / 60_000,
            humantime::format_duration(cfg.decide.reward.horizon)
        );
    }
    settle(cfg, &metrics, &seen, &answered, total + later, opts).await?;
    let waiting = seen
        .lock()
        .map(|s| s.waiting(cfg, &scenario, end))
        .unwrap_or_default();
    wait_for(
        Duration::from_secs(60),
        "the rewards to complete their decisions' audit records",
        || {
            seen.lock()
                .is_ok_and(|s| s.completed() + waiting >= answered())
        },
    )
    .await?;
    let report = match &opts.report {
        Some(out) => {
            let selection = Selection::default();
            let cfg = cfg.clone();
            let out = out.clone();
            let written = out.clone();
            tokio::task::spawn_blocking(move || {
                crate::report::write_report(&cfg, &out, &selection, crate::cli::now_ms())
            })
            .await
            .map_err(|e| DemoError::Timeout(format!("report task: {e}")))??;
            println!(
                "report: {} (drift history, decisions, outcomes)",
                written.display()
            );
            Some(written)
        }
        None => None,
    };
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), executor.task).await;
    match tokio::time::timeout(Duration::from_secs(30), pipeline_task).await {
        Ok(joined) => joined.map_err(|e| DemoError::Timeout(format!("pipeline task: {e}")))??,
        Err(_) => {
            return Err(DemoError::Timeout(
                "the pipeline did not stop within 30 s".into(),
            ))
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), watcher).await;

    let mut summary = DemoSummary {
        produced,
        processed: Metrics::get(&metrics.records_processed_total),
        dead_lettered: Metrics::get(&metrics.records_dead_lettered_total),
        decisions: Metrics::get(&metrics.decisions_total),
        evaluations: metrics.records_out(&cfg.topics.evaluations),
        outcomes: answered(),
        waiting,
        later,
        report,
        ..DemoSummary::default()
    };
    for m in &scenario.models {
        summary.commands.insert(m.model_id.clone(), Vec::new());
    }
    if let Ok(s) = seen.lock() {
        for c in &s.commands {
            summary
                .commands
                .entry(c.model_id.clone())
                .or_default()
                .push(c.action.to_string());
        }
        for d in &s.drifts {
            *summary
                .drift_events
                .entry(format!("{}/{}", d.model_id, d.feature))
                .or_default() += 1;
        }
        summary.first_drift_record = s
            .drifts
            .iter()
            .filter(|d| d.model_id == SHIFTED_MODEL && d.feature == SHIFTED_FEATURE)
            .map(|d| d.window_end_record)
            .min();
        summary.completed = s.completed();
        let last = s
            .audits
            .iter()
            .filter(|a| a.model_id == SHIFTED_MODEL && a.operator_command_id.is_none())
            .max_by_key(|a| (a.sequence, a.version));
        if let Some(last) = last {
            summary.learned = learned(&loaded, &Signals::from_context(&last.context))?;
        }
    }
    drop(cluster);
    Ok(summary)
}

/// The shifted model's bandit as the stopped pipeline left it in its
/// store: every arm's posterior mean reward in the situation `signals`
/// describe.
fn learned(loaded: &LoadedConfig, signals: &Signals) -> Result<Vec<ArmView>, DemoError> {
    let cfg = &loaded.config;
    let store = Arc::new(Store::open(&cfg.state.data_dir, false)?);
    let decisions = Decisions::new(cfg, &loaded.version, store);
    let engine = Engine::new(&cfg.decide);
    Ok(match decisions.bandit(SHIFTED_MODEL)? {
        Some(bandit) => engine.arm_means(&bandit, signals),
        None => Vec::new(),
    })
}
