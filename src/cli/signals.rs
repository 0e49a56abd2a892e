//! Process signals for `jidoka run`.
//!
//! Guarantees: the first SIGINT or SIGTERM asks the pipeline to stop after
//! the batch in flight (which is then acknowledged, checkpointed and
//! committed, or left uncommitted); if the pipeline has not stopped within
//! the drain timeout, or a second signal arrives, the process exits at once
//! with code 1 (at-least-once: uncommitted records are processed again, with
//! the same output ids, by the next run).

use std::time::Duration;

use tokio::sync::watch;

/// Waits for a stop signal, tells the pipeline through `stop`, then enforces
/// the drain timeout and the second-signal exit.
pub async fn drain_on_signal(stop: watch::Sender<bool>, drain_timeout: Duration) {
    wait_for_signal().await;
    tracing::info!(
        ?drain_timeout,
        "stop signal received: finishing the batch in flight (a second signal exits at once)"
    );
    let _ = stop.send(true);
    tokio::select! {
        _ = wait_for_signal() => {
            tracing::warn!("second stop signal: exiting without draining");
        }
        _ = tokio::time::sleep(drain_timeout) => {
            tracing::error!(?drain_timeout, "drain timeout passed: exiting without draining");
        }
    }
    std::process::exit(1);
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
