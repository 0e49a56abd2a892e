//! One command through the bridge: choose its target, consult and record
//! its delivery state, attempt, retry, and produce the outcome the bridge
//! owes (a final refusal's `rejected`, a program's result).
//!
//! Guarantees, per (target, command id):
//! * at most one attempt can reach the target unanswered: `Sending` is
//!   recorded (synced) before each attempt, and a command found `Sending`
//!   is never sent again (it becomes `Unconfirmed`, logged and counted in
//!   `jidoka_executor_unconfirmed_total`); retries follow only answers that
//!   say the target did not take it (5xx, no connection);
//! * a command already taken or refused is not sent again;
//! * an owed outcome is recorded with the result, then produced, then
//!   cleared, so a crash in between produces it when the command is read
//!   again;
//! * [`Bridge::handle`] returns `Ok` only once the result is durable: only
//!   then may the command's offset be committed.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::FutureProducer;
use tokio::sync::watch;

use super::backoff::Backoff;
use super::deliver::{self, Attempt, Immediate};
use super::events::{
    CommandSkipped, DeliveryFinished, DeliveryRetried, DeliveryUnconfirmed, DuplicateSkipped,
    OutcomeProduced,
};
use super::metrics::ExecutorMetrics;
use super::request;
use super::store::{Delivery, DeliveryStore, PendingOutcome, StoreError};
use crate::config::{Config, TargetKind};
use crate::heal::report::{self, OutcomeReport, ReportError};
use crate::schema::{Action, HealCommand, OutcomeStatus};

/// What the bridge and its HTTP endpoint share.
pub struct Shared {
    /// The configuration.
    pub cfg: Config,
    /// `executor.hmac-key`'s bytes.
    pub key: Vec<u8>,
    /// Delivery state.
    pub store: DeliveryStore,
    /// The outcome producer (idempotent, not transactional).
    pub producer: FutureProducer,
    /// Encodes outcomes (with a Schema Registry: the id registered for
    /// the outcomes topic at start-up).
    pub codec: crate::schema::Codec,
    /// Counters.
    pub metrics: Arc<ExecutorMetrics>,
}

/// Why a command is not done.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// Shutdown was asked while waiting to retry: the offset stays
    /// uncommitted and the next run resumes the retries.
    #[error("stopped while retrying")]
    Stopped,
    /// The delivery store failed (disk): the bridge stops.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Producing an owed outcome failed (Kafka): retry the command later.
    #[error("producing an outcome: {0}")]
    Outcome(#[from] ReportError),
}

/// The bridge of one process.
pub struct Bridge {
    shared: Arc<Shared>,
    client: reqwest::Client,
    backoff: Backoff,
}

/// Wall-clock ms since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Bridge {
    /// A bridge over `shared`.
    pub fn new(shared: Arc<Shared>) -> Result<Bridge, reqwest::Error> {
        let e = &shared.cfg.executor;
        let client = deliver::client(e.timeout)?;
        let backoff = Backoff {
            initial: e.backoff_initial,
            max: e.backoff_max,
        };
        Ok(Bridge {
            shared,
            client,
            backoff,
        })
    }

    fn metrics(&self) -> &ExecutorMetrics {
        &self.shared.metrics
    }

    /// Handles one command read at `record_ms` (its record timestamp).
    pub async fn handle(
        &self,
        command: &HealCommand,
        record_ms: Option<i64>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), BridgeError> {
        let e = &self.shared.cfg.executor;
        let id = command.command_id.as_str();
        let Some(kind) = e.target_of(command.action) else {
            let reason = match command.action {
                Action::Hold | Action::Escalate => "not-opted-in",
                _ => "no-target",
            };
            CommandSkipped {
                command_id: id,
                action: command.action.as_str(),
                reason,
            }
            .emit(self.metrics());
            return Ok(());
        };
        let target = kind.as_str();
        let mut attempts = match self.shared.store.get(kind, id)? {
            None => 0,
            Some(Delivery::Retrying { attempts }) => attempts,
            Some(Delivery::Finished { accepted, pending }) => {
                if let Some(p) = pending {
                    self.settle(kind, command, accepted, p, source(accepted))
                        .await?;
                }
                DuplicateSkipped {
                    command_id: id,
                    target,
                }
                .emit(self.metrics());
                return Ok(());
            }
            Some(Delivery::Unconfirmed) => {
                DuplicateSkipped {
                    command_id: id,
                    target,
                }
                .emit(self.metrics());
                return Ok(());
            }
            Some(Delivery::Sending) => {
                self.put(kind, command, &Delivery::Unconfirmed)?;
                DeliveryUnconfirmed {
                    command_id: id,
                    target,
                    detail: "an attempt was under way when the bridge stopped",
                }
                .emit(self.metrics());
                return Ok(());
            }
        };
        if attempts == 0 && is_stale(e.max_age, record_ms, now_ms()) {
            CommandSkipped {
                command_id: id,
                action: command.action.as_str(),
                reason: "stale",
            }
            .emit(self.metrics());
            return Ok(());
        }
        let request = match request::build(e, &self.shared.key, kind, command) {
            Ok(r) => r,
            Err(err) => {
                return self
                    .refused(kind, command, &format!("no request: {err}"))
                    .await
            }
        };
        loop {
            self.put(kind, command, &Delivery::Sending)?;
            let answer = deliver::attempt(&self.client, &request, e.timeout).await;
            attempts = attempts.saturating_add(1);
            match answer {
                Attempt::Accepted { detail, outcome } => {
                    let pending = outcome.map(|o| pending(o, now_ms()));
                    self.put(
                        kind,
                        command,
                        &Delivery::Finished {
                            accepted: true,
                            pending: pending.clone(),
                        },
                    )?;
                    DeliveryFinished {
                        command_id: id,
                        target,
                        accepted: true,
                        detail: &detail,
                        latency: record_ms.map(|t| {
                            Duration::from_millis(u64::try_from(now_ms() - t).unwrap_or(0))
                        }),
                    }
                    .emit(self.metrics());
                    if let Some(p) = pending {
                        self.settle(kind, command, true, p, "command").await?;
                    }
                    return Ok(());
                }
                Attempt::Refused { detail } => return self.refused(kind, command, &detail).await,
                Attempt::Unknown { detail } => {
                    self.put(kind, command, &Delivery::Unconfirmed)?;
                    DeliveryUnconfirmed {
                        command_id: id,
                        target,
                        detail: &detail,
                    }
                    .emit(self.metrics());
                    return Ok(());
                }
                Attempt::Retryable { detail } => {
                    if attempts >= e.max_attempts {
                        let detail = format!("gave up after {attempts} attempts; last: {detail}");
                        return self.refused(kind, command, &detail).await;
                    }
                    self.put(kind, command, &Delivery::Retrying { attempts })?;
                    let delay = self.backoff.delay(attempts, &mut rand::thread_rng());
                    DeliveryRetried {
                        command_id: id,
                        target,
                        attempts,
                        delay,
                        detail: &detail,
                    }
                    .emit(self.metrics());
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.wait_for(|s| *s) => return Err(BridgeError::Stopped),
                    }
                }
            }
        }
    }

    fn put(
        &self,
        kind: TargetKind,
        command: &HealCommand,
        state: &Delivery,
    ) -> Result<(), StoreError> {
        self.shared
            .store
            .put(kind, &command.command_id, &command.model_id, state)
    }

    /// A final refusal: recorded with its `rejected` outcome, which is then
    /// produced.
    async fn refused(
        &self,
        kind: TargetKind,
        command: &HealCommand,
        detail: &str,
    ) -> Result<(), BridgeError> {
        let p = PendingOutcome {
            status: OutcomeStatus::Rejected.as_str().into(),
            recovery: 0.0,
            cost: 0.0,
            reported_at: now_ms(),
            note: Some(detail.to_string()),
        };
        self.put(
            kind,
            command,
            &Delivery::Finished {
                accepted: false,
                pending: Some(p.clone()),
            },
        )?;
        DeliveryFinished {
            command_id: &command.command_id,
            target: kind.as_str(),
            accepted: false,
            detail,
            latency: None,
        }
        .emit(self.metrics());
        self.settle(kind, command, false, p, "rejected").await
    }

    /// Produces an owed outcome, then clears it.
    async fn settle(
        &self,
        kind: TargetKind,
        command: &HealCommand,
        accepted: bool,
        p: PendingOutcome,
        source: &'static str,
    ) -> Result<(), BridgeError> {
        let request = OutcomeReport {
            command_id: command.command_id.clone(),
            status: p.status(),
            recovery: p.recovery,
            cost: p.cost,
            reported_at: p.reported_at,
            note: p.note.clone(),
        };
        let written = report::produce(
            &self.shared.cfg,
            &self.shared.codec,
            &self.shared.producer,
            report::outcome(&command.model_id, &request),
        )
        .await?;
        OutcomeProduced {
            command_id: &command.command_id,
            model_id: &command.model_id,
            status: written.outcome.status.as_str(),
            source,
        }
        .emit(self.metrics());
        self.put(
            kind,
            command,
            &Delivery::Finished {
                accepted,
                pending: None,
            },
        )?;
        Ok(())
    }
}

fn source(accepted: bool) -> &'static str {
    if accepted {
        "command"
    } else {
        "rejected"
    }
}

fn pending(o: Immediate, now: i64) -> PendingOutcome {
    PendingOutcome {
        status: o.status.as_str().into(),
        recovery: o.recovery,
        cost: o.cost,
        reported_at: now,
        note: o.note,
    }
}

/// Whether a record written at `record_ms` is older than `max_age` at
/// `now` (`max_age` 0: never; no timestamp: never).
pub fn is_stale(max_age: Duration, record_ms: Option<i64>, now: i64) -> bool {
    let limit = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
    limit > 0 && record_ms.is_some_and(|t| now.saturating_sub(t) > limit)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::kafka::tool_producer_config;

    /// An HTTP server answering each request with the next of `codes`
    /// (the last one repeated); counts requests.
    async fn server(codes: Vec<u16>) -> std::io::Result<(String, Arc<AtomicUsize>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let seen = Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let code = codes.get(n).or(codes.last()).copied().unwrap_or(500);
                let mut buf = vec![0u8; 65536];
                let _ = s.read(&mut buf).await;
                let reply =
                    format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        Ok((url, seen))
    }

    fn bridge(url: &str, dir: &std::path::Path) -> Result<Bridge, Box<dyn std::error::Error>> {
        let cfg = Config::defaults_with(&[&format!(
            "[executor]\ntarget = \"webhook\"\nwebhook.url = \"{url}\"\n\
             backoff-initial = \"10ms\"\nbackoff-max = \"40ms\"\nmax-attempts = 5\n"
        )])?;
        let shared = Shared {
            producer: tool_producer_config(&cfg, "test").create()?,
            codec: crate::schema::Codec::new(cfg.schemas.ids)?,
            cfg,
            key: b"bridge-test-key-0123456789abcdef".to_vec(),
            store: DeliveryStore::open(dir)?,
            metrics: Arc::new(ExecutorMetrics::default()),
        };
        Ok(Bridge::new(Arc::new(shared))?)
    }

    fn command(id: &str, action: Action) -> HealCommand {
        HealCommand {
            command_id: id.into(),
            decision_id: "d".into(),
            model_id: "m".into(),
            model_version: "1".into(),
            action,
            reason: "r".into(),
            evidence: vec![],
            issued_at: 0,
            config_version: "c".into(),
            target_command_id: None,
        }
    }

    #[tokio::test]
    async fn retries_5xx_until_taken_and_never_sends_a_taken_or_unconfirmed_command_again(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let (url, seen) = server(vec![503, 502, 202]).await?;
        let dir = tempfile::tempdir()?;
        let b = bridge(&url, dir.path())?;
        let (_stop_tx, mut stop) = watch::channel(false);
        let c = command("c1", Action::Rollback);
        b.handle(&c, Some(now_ms()), &mut stop).await?;
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        let m = &b.shared.metrics;
        assert_eq!(ExecutorMetrics::get(&m.retries_total), 2);
        assert_eq!(m.deliveries("webhook", "accepted"), 1);
        assert_eq!(
            b.shared.store.get(TargetKind::Webhook, "c1")?,
            Some(Delivery::Finished {
                accepted: true,
                pending: None
            })
        );
        // Read again (a restart before the offset commit): not sent.
        b.handle(&c, Some(now_ms()), &mut stop).await?;
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        assert_eq!(ExecutorMetrics::get(&m.duplicates_total), 1);
        // An attempt under way when the bridge died: never sent again.
        let d = command("c2", Action::Fallback);
        b.put(TargetKind::Webhook, &d, &Delivery::Sending)?;
        b.handle(&d, Some(now_ms()), &mut stop).await?;
        b.handle(&d, Some(now_ms()), &mut stop).await?;
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        assert_eq!(ExecutorMetrics::get(&m.unconfirmed_total), 1);
        // Retries left off (no attempt reached the target): resumed.
        let e = command("c3", Action::Retrain);
        b.put(TargetKind::Webhook, &e, &Delivery::Retrying { attempts: 2 })?;
        b.handle(&e, Some(now_ms()), &mut stop).await?;
        assert_eq!(seen.load(Ordering::SeqCst), 4);
        // Hold and escalate are not sent; a stale command neither.
        b.handle(&command("h", Action::Hold), None, &mut stop)
            .await?;
        b.handle(&command("x", Action::Escalate), None, &mut stop)
            .await?;
        b.handle(&command("old", Action::Rollback), Some(0), &mut stop)
            .await?;
        assert_eq!(seen.load(Ordering::SeqCst), 4);
        assert_eq!(m.skipped("not-opted-in"), 2);
        assert_eq!(m.skipped("stale"), 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_stop_while_waiting_to_retry_leaves_the_command_for_the_next_run(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let (url, seen) = server(vec![503]).await?;
        let dir = tempfile::tempdir()?;
        let b = bridge(&url, dir.path())?;
        let (stop_tx, mut stop) = watch::channel(false);
        stop_tx.send(true)?;
        let c = command("c1", Action::Rollback);
        let got = b.handle(&c, None, &mut stop).await;
        assert!(matches!(got, Err(BridgeError::Stopped)), "{got:?}");
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        assert_eq!(
            b.shared.store.get(TargetKind::Webhook, "c1")?,
            Some(Delivery::Retrying { attempts: 1 })
        );
        Ok(())
    }

    #[test]
    fn staleness_follows_the_record_timestamp() {
        let hour = Duration::from_secs(3600);
        assert!(!is_stale(hour, Some(1_000), 1_000 + 3_600_000));
        assert!(is_stale(hour, Some(1_000), 1_001 + 3_600_000));
        assert!(!is_stale(Duration::ZERO, Some(0), i64::MAX));
        assert!(!is_stale(hour, None, i64::MAX));
    }
}
