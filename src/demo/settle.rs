//! Waiting for the demo's loop to settle: every record processed, every
//! output read back, every command answered and every outcome read.
//!
//! Guarantees: every wait polls progress and ends with
//! [`DemoError::Timeout`] naming what it waited for, never with a panic;
//! the executor's wait grows with its configured delay.

use std::sync::Mutex;
use std::time::Duration;

use super::watch::Seen;
use super::{DemoError, DemoOptions};
use crate::config::Config;
use crate::telemetry::Metrics;

/// Waits until the pipeline has processed `total` records, the watcher has
/// read its outputs back, the simulated executor has answered every
/// command and the pipeline has read every outcome.
pub(super) async fn settle(
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

/// Polls `done` every 100 ms until it holds, or fails after `limit` naming
/// `what` it waited for.
pub(super) async fn wait_for(
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
