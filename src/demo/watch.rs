//! The demo's watcher: reads its output topics back (drift events, heal
//! commands, dead letters, audit records) and prints a line for each.
//!
//! Guarantees: a record that does not decode is skipped, never a panic;
//! every decoded record is kept in [`Seen`] before the next is read, so a
//! wait on [`Seen`] sees at least what was printed; a completed decision
//! prints its reward and the parts it was made of; the watcher stops when
//! the demo's stop signal changes (or its `Seen` lock is poisoned).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use tokio::sync::watch;

use super::horizon::measured_by;
use super::scenario::Scenario;
use super::DemoError;
use crate::config::Config;
use crate::schema::{AuditRecord, AuditStatus, Codec, DeadLetter, DriftEvent, HealCommand};

/// What the watcher has read back from the output topics so far.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// Drift events (every kind).
    pub(super) drifts: Vec<DriftEvent>,
    /// Heal commands, as often as they are on the topic.
    pub(super) commands: Vec<HealCommand>,
    /// Dead letters.
    pub(super) dead: Vec<DeadLetter>,
    /// Audit records, every version.
    pub(super) audits: Vec<AuditRecord>,
}

impl Seen {
    /// Distinct commands (a command re-published after a timeout is on the
    /// topic twice).
    pub(super) fn distinct_commands(&self) -> u64 {
        let ids: HashSet<&str> = self
            .commands
            .iter()
            .map(|c| c.command_id.as_str())
            .collect();
        ids.len() as u64
    }

    /// Distinct commands whose horizon the stream, ending at `end`, did
    /// not pass (none when measurement is off).
    pub(super) fn waiting(&self, cfg: &Config, scenario: &Scenario, end: i64) -> u64 {
        let ids: HashSet<&str> = self
            .commands
            .iter()
            .filter(|c| measured_by(cfg, scenario, c.issued_at).is_some_and(|t| t > end))
            .map(|c| c.command_id.as_str())
            .collect();
        ids.len() as u64
    }

    /// Distinct decisions with a `completed` version.
    pub(super) fn completed(&self) -> u64 {
        let ids: HashSet<&str> = self
            .audits
            .iter()
            .filter(|a| a.status == AuditStatus::Completed)
            .map(|a| a.decision_id.as_str())
            .collect();
        ids.len() as u64
    }
}

/// A receiver of the demo's stop signal.
pub(super) fn watch_rx(tx: &watch::Sender<bool>) -> watch::Receiver<bool> {
    tx.subscribe()
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

/// Reads the drift-event, action, dead-letter and audit topics from the
/// beginning until `stop` changes, printing each record it decodes and
/// keeping it in `seen`.
pub(super) fn spawn_watcher(
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
