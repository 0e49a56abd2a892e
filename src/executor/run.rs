//! The bridge's Kafka loop: read the actions topic in its own consumer
//! group, hand each command to the [`Bridge`], store its offset once the
//! bridge says its result is durable.
//!
//! Guarantees: commands of a partition are handled one at a time in offset
//! order; an offset is stored (and committed within a second) only after
//! the command was delivered, finally refused, found unconfirmed or
//! skipped, with that recorded; a Kafka failure while producing an owed
//! outcome retries the same command after a second; a delivery store
//! failure stops the bridge with an error; on the stop signal the command
//! in flight finishes (or, while waiting to retry, is left for the next
//! run) and the stored offsets are committed.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, TopicPartitionList};
use tokio::sync::watch;

use super::bridge::{Bridge, BridgeError, Shared};
use super::events::CommandSkipped;
use super::http;
use super::metrics::ExecutorMetrics;
use super::store::{DeliveryStore, StoreError};
use crate::config::LoadedConfig;
use crate::kafka::{executor_consumer_config, tool_producer_config};
use crate::schema::registry::{codec_for, CodecError, RegistryClient, RegistryError, Uses};
use crate::schema::{Codec, HealCommand, SchemaError, SchemaKind};

/// Why the bridge stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// `executor.hmac-key` is not set (the user's to fix).
    #[error("executor.hmac-key is not set: the bridge signs what it sends and checks POST /outcomes with it")]
    NoKey,
    /// A Kafka client could not be created or subscribe.
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The delivery store failed (disk).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The schemas did not load.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The Schema Registry is unreachable or refused the outcome schema.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Client(#[from] reqwest::Error),
    /// The endpoint did not start.
    #[error(transparent)]
    Endpoint(#[from] http::EndpointError),
    /// The data directory could not be created.
    #[error("executor.data-dir {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Rebalances and broker outages into the bridge's readiness.
struct Context {
    metrics: Arc<ExecutorMetrics>,
}

fn parts(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.metrics.set_reachable(false);
            tracing::warn!(%reason, "no broker reachable; librdkafka retries with backoff");
        } else {
            tracing::error!(error = %error, %reason, "kafka client error");
        }
    }
}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let r = &self.metrics.readiness;
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let parts = parts(tpl);
                tracing::info!(partitions = ?parts, "actions partitions revoked");
                r.revoke(&parts);
            }
            Rebalance::Assign(tpl) => {
                let parts = parts(tpl);
                tracing::info!(partitions = ?parts, "actions partitions assigned");
                r.assign(&parts);
                // Nothing to restore: the delivery state is local.
                r.restored(r.epoch());
                self.metrics.set_reachable(true);
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }
}

/// Runs the bridge until `stop` turns true.
pub async fn run(
    loaded: &LoadedConfig,
    metrics: Arc<ExecutorMetrics>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ExecutorError> {
    let cfg = &loaded.config;
    let e = &cfg.executor;
    let key = e
        .hmac_key
        .as_ref()
        .ok_or(ExecutorError::NoKey)?
        .expose()
        .as_bytes()
        .to_vec();
    std::fs::create_dir_all(&e.data_dir).map_err(|source| ExecutorError::DataDir {
        path: e.data_dir.display().to_string(),
        source,
    })?;
    let store = DeliveryStore::open(&e.data_dir)?;
    let uses = Uses::writing(SchemaKind::HealOutcome, &cfg.topics.outcomes)
        .and_reading(SchemaKind::HealCommand, &cfg.topics.actions);
    let (codec, registry) = codec_for(cfg, &uses).await.map_err(|e| match e {
        CodecError::Schema(e) => ExecutorError::Schema(e),
        CodecError::Registry(e) => ExecutorError::Registry(e),
    })?;
    let shared = Arc::new(Shared {
        codec: codec.clone(),
        cfg: cfg.clone(),
        key,
        store,
        producer: tool_producer_config(cfg, "executor").create()?,
        metrics: metrics.clone(),
    });
    let _endpoint = match e.http_address() {
        Some(address) => Some(http::start(address, shared.clone()).await?),
        None => None,
    };
    let bridge = Bridge::new(shared.clone())?;
    let consumer: StreamConsumer<Context> =
        executor_consumer_config(cfg).create_with_context(Context {
            metrics: metrics.clone(),
        })?;
    consumer.subscribe(&[cfg.topics.actions.as_str()])?;
    tracing::info!(
        topic = %cfg.topics.actions,
        group = %e.group_id,
        "executor bridge started"
    );
    let result = consume(
        &consumer,
        (&codec, registry.as_ref()),
        &bridge,
        &metrics,
        &mut stop,
    )
    .await;
    if let Err(err) = consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing stored since the last commit is the usual reason.
        tracing::debug!(error = %err, "final offset commit");
    }
    tracing::info!("executor bridge stopped");
    result
}

async fn consume(
    consumer: &StreamConsumer<Context>,
    (codec, registry): (&Codec, Option<&RegistryClient>),
    bridge: &Bridge,
    metrics: &ExecutorMetrics,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), ExecutorError> {
    loop {
        let message = tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ok(()),
            m = consumer.recv() => m,
        };
        let message = match message {
            Ok(m) => m,
            Err(err) => {
                tracing::warn!(error = %err, "reading the actions topic");
                continue;
            }
        };
        metrics.set_reachable(true);
        ExecutorMetrics::add(&metrics.commands_total);
        let (topic, partition, offset) = (
            message.topic().to_string(),
            message.partition(),
            message.offset(),
        );
        let record_ms = message.timestamp().to_millis();
        if let (Some(client), Some(cache)) = (registry, codec.writers()) {
            let missing = cache.missing([message.payload()]);
            let retry = |id, error: &RegistryError, wait| {
                tracing::warn!(schema_id = id, %error, retry_in = ?wait, "schema registry request failed, retrying");
            };
            let fetched = crate::schema::registry::fetch_missing(
                codec,
                client,
                missing,
                crate::schema::registry::Backoff::default(),
                stop,
                retry,
            );
            if fetched.await.is_err() {
                return Ok(());
            }
        }
        match codec.decode::<HealCommand>(message.payload()) {
            Err(err) => {
                tracing::warn!(%topic, partition, offset, error = %err, "undecodable record on the actions topic");
                CommandSkipped {
                    command_id: "",
                    action: "",
                    reason: "undecodable",
                }
                .emit(metrics);
            }
            Ok(command) => loop {
                match bridge.handle(&command, record_ms, stop).await {
                    Ok(()) => break,
                    Err(BridgeError::Stopped) => return Ok(()),
                    Err(BridgeError::Store(e)) => return Err(e.into()),
                    Err(err @ BridgeError::Outcome(_)) => {
                        tracing::warn!(command = %command.command_id, error = %err, "retrying in 1 s");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = stop.wait_for(|s| *s) => return Ok(()),
                        }
                    }
                }
            },
        }
        consumer.store_offset(&topic, partition, offset)?;
    }
}
