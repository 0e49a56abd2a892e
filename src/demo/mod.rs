//! The embedded demo: the whole loop on an in-process broker, no Kafka
//! needed.
//!
//! It starts librdkafka's mock cluster (a test cluster speaking the Kafka
//! protocol on a loopback port; production points at a real Kafka), creates
//! the topics, runs the pipeline, produces a synthetic stream where one
//! feature of one model shifts at a known record plus a few corrupt records,
//! prints the drift events, heal commands and dead letters as they arrive
//! on their topics, answers every command with a simulated executor
//! ([`executor`]), then lets time pass: the models' streams run on past
//! the reward's horizon (`[decide.reward] horizon`) of every command, so
//! each is measured again on its model's own signals and its reward (the
//! measured part and the executor's report) is learned. It writes the HTML
//! report and checks the outcome.

pub mod executor;
pub mod scenario;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tokio::sync::watch;

use crate::config::{Config, ConfigError, LoadedConfig};
use crate::decide::operator::Decisions;
use crate::decide::rules::Signals;
use crate::decide::Engine;
use crate::kafka::producer_config;
use crate::pipeline::{self, PipelineError};
use crate::report::{ReportError, Selection};
use crate::schema::registry::{codec_for, CodecError, Uses};
use crate::schema::{
    ArmView, AuditRecord, AuditStatus, Codec, DeadLetter, DriftEvent, HealCommand, Prediction,
    SchemaError, SchemaKind,
};
use crate::state::{StateError, Store};
use crate::telemetry::Metrics;
use scenario::Scenario;

/// Demo settings.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Records per model.
    pub records: u64,
    /// Record at which `churn-v7`'s `tenure_days` shifts.
    pub shift_at: u64,
    /// Corrupt records to add.
    pub corrupt: u64,
    /// Serve `/metrics` and `/health` here while the demo runs
    /// (`telemetry.http-address`).
    pub http_address: Option<String>,
    /// How long the simulated executor takes to answer a command.
    pub executor_delay: Duration,
    /// Write the HTML report here at the end (`None`: no report).
    pub report: Option<PathBuf>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            records: 5_000,
            shift_at: 3_000,
            corrupt: 3,
            http_address: None,
            executor_delay: Duration::from_millis(500),
            report: None,
        }
    }
}

/// What the demo saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoSummary {
    /// Predictions produced.
    pub produced: u64,
    /// Records processed by the pipeline.
    pub processed: u64,
    /// Records dead-lettered.
    pub dead_lettered: u64,
    /// Decisions audited.
    pub decisions: u64,
    /// Evaluation records published (one per feature and metric tested).
    pub evaluations: u64,
    /// Model record of the first drift event of the shifted feature.
    pub first_drift_record: Option<i64>,
    /// Commands per model (every demo model listed).
    pub commands: BTreeMap<String, Vec<String>>,
    /// Drift events per (model, feature).
    pub drift_events: BTreeMap<String, u64>,
    /// Outcomes the simulated executor reported.
    pub outcomes: u64,
    /// Decisions whose reward is complete (their `completed` versions).
    pub completed: u64,
    /// Commands issued while time passed (after the scenario's stream),
    /// whose horizon the stream did not reach: answered, not completed.
    pub waiting: u64,
    /// Predictions produced while time passed (included in `produced`).
    pub later: u64,
    /// What the shifted model's bandit learned: every arm's posterior mean
    /// reward at the context of the model's last decision, and the
    /// outcomes it learned from.
    pub learned: Vec<ArmView>,
    /// The HTML report written, if any.
    pub report: Option<PathBuf>,
}

impl DemoSummary {
    /// True if the loop did what the scenario expects: a retrain for the
    /// shifted model, no command for the others, every command answered
    /// and, unless issued while time passed, completed and learned from,
    /// every corrupt record dead-lettered.
    pub fn is_expected(&self, opts: &DemoOptions) -> bool {
        let shifted_ok = self
            .commands
            .get(SHIFTED_MODEL)
            .is_some_and(|c| c.first().map(String::as_str) == Some("retrain"));
        let healthy_ok = self
            .commands
            .iter()
            .filter(|(m, _)| m.as_str() != SHIFTED_MODEL)
            .all(|(_, c)| c.is_empty());
        let drift_ok = self
            .first_drift_record
            .is_some_and(|r| r >= opts.shift_at as i64);
        let commands: u64 = self.commands.values().map(|c| c.len() as u64).sum();
        let loop_ok = self.outcomes == commands
            && self.completed + self.waiting == commands
            && self.completed > 0
            && self.learned.iter().any(|a| a.observations > 0);
        shifted_ok && healthy_ok && drift_ok && loop_ok && self.dead_lettered == opts.corrupt
    }
}

const SHIFTED_MODEL: &str = "churn-v7";
const SHIFTED_FEATURE: &str = "tenure_days";

/// Demo failures.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The embedded defaults are broken (internal).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Kafka (the mock cluster) failed.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Schemas are broken (internal).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The Schema Registry is unreachable or refused the prediction schema.
    #[error(transparent)]
    Registry(#[from] crate::schema::registry::RegistryError),
    /// The pipeline failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A temp dir could not be made.
    #[error("temp dir: {0}")]
    Io(#[from] std::io::Error),
    /// The pipeline did not finish in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The state store could not be read back after the run.
    #[error("reading the bandit back: {0}")]
    State(#[from] StateError),
    /// The report could not be written.
    #[error("writing the report: {0}")]
    Report(#[from] ReportError),
}

#[derive(Debug, Default)]
struct Seen {
    drifts: Vec<DriftEvent>,
    commands: Vec<HealCommand>,
    dead: Vec<DeadLetter>,
    audits: Vec<AuditRecord>,
}

impl Seen {
    /// Distinct commands (a command re-published after a timeout is on the
    /// topic twice).
    fn distinct_commands(&self) -> u64 {
        let ids: std::collections::HashSet<&str> = self
            .commands
            .iter()
            .map(|c| c.command_id.as_str())
            .collect();
        ids.len() as u64
    }

    /// Distinct commands whose horizon the stream, ending at `end`, did
    /// not pass (none when measurement is off).
    fn waiting(&self, cfg: &Config, scenario: &Scenario, end: i64) -> u64 {
        let ids: std::collections::HashSet<&str> = self
            .commands
            .iter()
            .filter(|c| measured_by(cfg, scenario, c.issued_at).is_some_and(|t| t > end))
            .map(|c| c.command_id.as_str())
            .collect();
        ids.len() as u64
    }

    /// Distinct decisions with a `completed` version.
    fn completed(&self) -> u64 {
        let ids: std::collections::HashSet<&str> = self
            .audits
            .iter()
            .filter(|a| a.status == AuditStatus::Completed)
            .map(|a| a.decision_id.as_str())
            .collect();
        ids.len() as u64
    }
}

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

/// Waits until the pipeline has processed `total` records, the watcher has
/// read its outputs back, the simulated executor has answered every
/// command and the pipeline has read every outcome.
async fn settle(
    cfg: &Config,
    metrics: &Metrics,
    seen: &Mutex<Seen>,
    answered: &impl Fn() -> u64,
    total: u64,
    opts: &DemoOptions,
) -> Result<(), DemoError> {
    wait_for(
        Duration::from_secs(90),
        "the pipeline to process every record",
        || {
            Metrics::get(&metrics.records_processed_total)
                + Metrics::get(&metrics.records_dead_lettered_total)
                >= total
        },
    )
    .await?;
    wait_for(
        Duration::from_secs(20),
        "the outputs to be read back",
        || {
            seen.lock().is_ok_and(|s| {
                s.drifts.len() as u64 >= Metrics::get(&metrics.drift_events_total)
                    && s.commands.len() as u64 >= Metrics::get(&metrics.heal_commands_total)
                    && s.dead.len() as u64 >= Metrics::get(&metrics.records_dead_lettered_total)
            })
        },
    )
    .await?;
    wait_for(
        Duration::from_secs(60) + opts.executor_delay * 4,
        "the simulated executor to answer every command",
        || {
            seen.lock()
                .is_ok_and(|s| answered() >= s.distinct_commands())
        },
    )
    .await?;
    wait_for(
        Duration::from_secs(60),
        "the pipeline to read every outcome",
        || metrics.records_in(&cfg.topics.outcomes) >= answered(),
    )
    .await
}

/// Stream time by which a command issued at `issued_at` has been measured
/// again: its horizon, then at most one evaluation of its model later
/// (`None` when measurement is off).
fn measured_by(cfg: &Config, scenario: &Scenario, issued_at: i64) -> Option<i64> {
    if cfg.decide.reward.measured_weight <= 0.0 {
        return None;
    }
    let horizon = i64::try_from(cfg.decide.reward.horizon.as_millis()).unwrap_or(i64::MAX);
    let evaluation = i64::try_from(cfg.detect.evaluate_every)
        .unwrap_or(i64::MAX)
        .saturating_mul(scenario.interval_ms);
    Some(issued_at.saturating_add(horizon).saturating_add(evaluation))
}

/// Records per model the streams run on so that the last command, issued
/// at `last`, is measured again (0 without a command, or when measurement
/// is off).
fn time_to_pass(cfg: &Config, scenario: &Scenario, last: Option<i64>) -> u64 {
    let Some(by) = last.and_then(|t| measured_by(cfg, scenario, t)) else {
        return 0;
    };
    let gap = by.saturating_sub(scenario.end_time_ms()).max(0);
    u64::try_from(gap.div_euclid(scenario.interval_ms.max(1)) + 1).unwrap_or(0)
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

/// Produces the demo stream (and its corrupt records) to the predictions
/// topic of a real Kafka, as `cfg` configures it, without running anything
/// else; returns the predictions produced. The producer is idempotent and
/// never transactional.
pub async fn produce_to(cfg: &Config, opts: &DemoOptions) -> Result<u64, DemoError> {
    let mut plain = cfg.clone();
    plain.kafka.transactions = false;
    let uses = Uses::writing(SchemaKind::Prediction, &cfg.topics.predictions);
    let (codec, _) = codec_for(cfg, &uses).await.map_err(|e| match e {
        CodecError::Schema(e) => DemoError::Schema(e),
        CodecError::Registry(e) => DemoError::Registry(e),
    })?;
    let scenario = Scenario::demo(opts.records, opts.shift_at);
    produce(&plain, &codec, &scenario.predictions(), opts.corrupt).await
}

/// The one-line summary printed at the end.
pub fn summary_line(s: &DemoSummary, opts: &DemoOptions) -> String {
    let waiting = match s.waiting {
        0 => String::new(),
        n => format!(", {n} waiting for the horizon"),
    };
    let drift = match s.first_drift_record {
        Some(r) => format!(
            "drift detected at record {r} for {SHIFTED_MODEL}/{SHIFTED_FEATURE} (shift at {}, delay {} records)",
            opts.shift_at,
            r - opts.shift_at as i64
        ),
        None => format!("NO drift detected for {SHIFTED_MODEL}/{SHIFTED_FEATURE}"),
    };
    let commands: Vec<String> = s
        .commands
        .iter()
        .map(|(m, c)| {
            if c.is_empty() {
                format!("{m} 0")
            } else {
                format!("{m} {} ({})", c.len(), c.join(", "))
            }
        })
        .collect();
    let learned: Vec<String> = s
        .learned
        .iter()
        .map(|a| {
            format!(
                "{} {:+.3} ({} outcome{})",
                a.action,
                a.posterior_mean,
                a.observations,
                if a.observations == 1 { "" } else { "s" }
            )
        })
        .collect();
    format!(
        "summary: {} records processed, {} dead-lettered, {} evaluations recorded, {} decisions audited; {drift}; commands: {}; outcomes: {} back, decisions completed: {}{waiting}; {SHIFTED_MODEL}'s bandit learned (posterior mean reward at its last decision): {}",
        s.processed,
        s.dead_lettered,
        s.evaluations,
        s.decisions,
        commands.join(", "),
        s.outcomes,
        s.completed,
        if learned.is_empty() { "nothing".to_string() } else { learned.join(", ") }
    )
}

fn watch_rx(tx: &watch::Sender<bool>) -> watch::Receiver<bool> {
    tx.subscribe()
}

async fn wait_for(
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
) -> Result<(), DemoError> {
    let deadline = tokio::time::Instant::now() + limit;
    while !done() {
        if tokio::time::Instant::now() > deadline {
            return Err(DemoError::Timeout(format!("waited {limit:?} for {what}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn produce(
    cfg: &Config,
    codec: &Codec,
    records: &[Prediction],
    corrupt: u64,
) -> Result<u64, DemoError> {
    let producer: FutureProducer = producer_config(cfg).create()?;
    let topic = cfg.topics.predictions.as_str();
    let mut payloads = Vec::with_capacity(records.len());
    for p in records {
        payloads.push((p.model_id.clone(), codec.encode(p)?));
    }
    // Corrupt records spread through the stream: wrong magic byte,
    // unknown schema id, truncated Avro.
    let mut stream: Vec<(String, Vec<u8>)> = Vec::with_capacity(payloads.len() + corrupt as usize);
    let gap = payloads.len() / (corrupt as usize + 1);
    let mut corrupted = 0;
    for (i, (key, good)) in payloads.into_iter().enumerate() {
        if corrupted < corrupt && gap > 0 && i > 0 && i % gap == 0 {
            let bad = match corrupted % 3 {
                0 => [&[7u8][..], &good[1..]].concat(),
                1 => [&[0u8, 0, 0, 0, 99][..], &good[5..]].concat(),
                _ => good[..good.len() / 2].to_vec(),
            };
            stream.push((key.clone(), bad));
            corrupted += 1;
        }
        stream.push((key, good));
    }
    for chunk in stream.chunks(1000) {
        let sends = chunk.iter().map(|(key, payload)| {
            producer.send(
                FutureRecord::to(topic).key(key.as_bytes()).payload(payload),
                Timeout::After(Duration::from_secs(30)),
            )
        });
        for result in futures::future::join_all(sends).await {
            result.map_err(|(e, _)| e)?;
        }
    }
    Ok(records.len() as u64)
}

/// The line printed for a completed decision: its reward and the parts
/// it was made of (measured on the model's own signals, reported by the
/// executor).
fn learned_line(a: &AuditRecord) -> Option<String> {
    let head = format!(
        "[learned]     {} {} (decision {}):",
        a.action, a.model_id, a.decision_id
    );
    match (&a.reward, &a.outcome) {
        (Some(w), _) => {
            let measured = match w.measured_recovery {
                Some(m) => format!("measured recovery {m:+.3}"),
                None => "not measured".to_string(),
            };
            let reported = match (w.reported_recovery, w.reported_cost) {
                (Some(r), Some(c)) => format!("reported recovery {r:.3}, cost {c:.2}"),
                _ => "no report".to_string(),
            };
            Some(format!(
                "{head} reward {:+.3} ({}: {measured}; {reported})",
                w.reward, w.parts
            ))
        }
        (None, Some(o)) => Some(format!(
            "{head} reward {:+.3} (reported: recovery {:.3}, cost {:.2})",
            o.reward, o.recovery, o.cost
        )),
        (None, None) => None,
    }
}

fn spawn_watcher(
    cfg: &Config,
    codec: Codec,
    seen: Arc<Mutex<Seen>>,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, DemoError> {
    let mut client = crate::kafka::reader_config(cfg);
    client
        .set("group.id", "jidoka-demo-watcher")
        .set("auto.offset.reset", "earliest");
    let consumer: StreamConsumer = client.create()?;
    let topics = cfg.topics.clone();
    consumer.subscribe(&[
        topics.drift_events.as_str(),
        topics.actions.as_str(),
        topics.dead_letter.as_str(),
        topics.audit.as_str(),
    ])?;
    Ok(tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                _ = stop.changed() => break,
                m = consumer.recv() => m,
            };
            let Ok(msg) = msg else { continue };
            let payload = msg.payload();
            let Ok(mut seen) = seen.lock() else { break };
            if msg.topic() == topics.drift_events {
                if let Ok(d) = codec.decode::<DriftEvent>(payload) {
                    let (tag, stat) = match d.kind.as_str() {
                        "anomaly" => ("[anomaly]    ", "z"),
                        "concept" => ("[concept]    ", "drop"),
                        _ => ("[drift]      ", "D"),
                    };
                    println!(
                        "{tag} {} {}/{} {stat}={:.3} p={:.2e} (window records {}..{})",
                        d.status,
                        d.model_id,
                        d.feature,
                        d.statistic,
                        d.p_value,
                        d.window_start_record,
                        d.window_end_record
                    );
                    seen.drifts.push(d);
                }
            } else if msg.topic() == topics.actions {
                if let Ok(c) = codec.decode::<HealCommand>(payload) {
                    println!(
                        "[command]     {} {} ({}): {}",
                        c.action, c.model_id, c.command_id, c.reason
                    );
                    seen.commands.push(c);
                }
            } else if msg.topic() == topics.audit {
                if let Ok(a) = codec.decode::<AuditRecord>(payload) {
                    if a.status == AuditStatus::Completed {
                        if let Some(line) = learned_line(&a) {
                            println!("{line}");
                        }
                    }
                    seen.audits.push(a);
                }
            } else if let Ok(d) = codec.decode::<DeadLetter>(payload) {
                println!(
                    "[dead-letter] {}/{}@{} {}: {}",
                    d.source_topic, d.source_partition, d.source_offset, d.error_kind, d.reason
                );
                seen.dead.push(d);
            }
        }
    }))
}
