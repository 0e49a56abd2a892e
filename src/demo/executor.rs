//! The demo's simulated executor: it answers every heal command on the
//! actions topic with an outcome after a delay, as a CI/CD system would
//! (`docs/executors.md`), so the demo shows the whole learning loop.
//!
//! Guarantees: one outcome per command id (a command read twice is
//! answered once), produced to the outcomes topic keyed by the command's
//! model, so it lands on the model's partition; status `succeeded`, with
//! the recovery and cost of [`simulated`]: fixed per action, with a spread
//! derived from the command id, so a run is reproducible. Its producer is
//! idempotent and never transactional (it must not fence the pipeline).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::kafka::{reader_config, tool_producer_config};
use crate::schema::{Action, Codec, HealCommand, HealOutcome, OutcomeStatus};

/// What the simulated run of `action` recovers and costs, for the command
/// `command_id`: a base per action (retraining recovers most and costs
/// most; hold and escalate change nothing and cost little), times a factor
/// in `[0.8, 1.2]` derived from the id.
pub fn simulated(action: Action, command_id: &str) -> (f64, f64) {
    let (recovery, cost) = match action {
        Action::Retrain => (0.15, 4.0),
        Action::Rollback => (0.10, 1.0),
        Action::Fallback => (0.05, 0.5),
        Action::Hold | Action::None => (0.0, 0.0),
        Action::Escalate => (0.0, 0.2),
    };
    let digest = Sha256::digest(command_id.as_bytes());
    let spread = 0.8 + 0.4 * f64::from(digest[0]) / 255.0;
    (recovery * spread, cost * spread)
}

/// The running executor.
#[derive(Debug)]
pub struct SimulatedExecutor {
    /// Outcomes produced (acknowledged by the broker).
    pub answered: Arc<AtomicU64>,
    /// The task; it ends when the stop signal is sent.
    pub task: JoinHandle<()>,
}

/// Starts the executor: its own consumer group on the actions topic (read
/// committed, from the beginning), answering each command after `delay`.
pub fn spawn(
    cfg: &Config,
    codec: Codec,
    delay: Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<SimulatedExecutor, rdkafka::error::KafkaError> {
    let mut client = reader_config(cfg);
    client
        .set("group.id", "jidoka-demo-executor")
        .set("auto.offset.reset", "earliest");
    let consumer: StreamConsumer = client.create()?;
    consumer.subscribe(&[cfg.topics.actions.as_str()])?;
    let producer: FutureProducer = tool_producer_config(cfg, "demo-executor").create()?;
    let outcomes = cfg.topics.outcomes.clone();
    let timeout = Timeout::After(cfg.kafka.produce_timeout.max(Duration::from_millis(1)));
    let answered = Arc::new(AtomicU64::new(0));
    let count = answered.clone();
    let task = tokio::spawn(async move {
        let mut done = HashSet::new();
        loop {
            let msg = tokio::select! {
                _ = stop.changed() => break,
                m = consumer.recv() => m,
            };
            let Ok(msg) = msg else { continue };
            let Ok(command) = codec.decode::<HealCommand>(msg.payload()) else {
                continue;
            };
            if !done.insert(command.command_id.clone()) {
                continue;
            }
            tokio::select! {
                _ = stop.changed() => break,
                () = tokio::time::sleep(delay) => {}
            }
            let (recovery, cost) = simulated(command.action, &command.command_id);
            let outcome = HealOutcome {
                command_id: command.command_id.clone(),
                model_id: command.model_id.clone(),
                status: OutcomeStatus::Succeeded,
                recovery,
                cost,
                reported_at: command.issued_at + delay.as_millis() as i64,
                note: Some("jidoka demo: simulated executor".into()),
            };
            let Ok(payload) = codec.encode(&outcome) else {
                continue;
            };
            let record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&outcomes)
                .key(outcome.model_id.as_str())
                .payload(&payload[..]);
            match producer.send(record, timeout).await {
                Ok(_) => {
                    println!(
                        "[outcome]     {} {} {} ({}): recovery {:.3}, cost {:.2}",
                        outcome.status,
                        command.action,
                        outcome.model_id,
                        outcome.command_id,
                        recovery,
                        cost
                    );
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Err((e, _)) => eprintln!(
                    "jidoka demo: the simulated executor could not report {}: {e}",
                    outcome.command_id
                ),
            }
        }
    });
    Ok(SimulatedExecutor { answered, task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_reproducible_and_ordered_by_action() {
        for id in ["a", "b", "cmd-123"] {
            assert_eq!(
                simulated(Action::Retrain, id),
                simulated(Action::Retrain, id)
            );
            let (r, c) = simulated(Action::Retrain, id);
            assert!(
                (0.12..=0.18).contains(&r) && (3.2..=4.8).contains(&c),
                "{r} {c}"
            );
            let (rb, _) = simulated(Action::Rollback, id);
            let (fb, _) = simulated(Action::Fallback, id);
            assert!(r > rb && rb > fb, "retrain recovers most");
            assert_eq!(simulated(Action::Hold, id), (0.0, 0.0));
        }
        assert_ne!(
            simulated(Action::Retrain, "a"),
            simulated(Action::Retrain, "cmd-123")
        );
    }
}
