//! Publishing operator commands to the operator topic.
//!
//! Guarantees: only a signed command that passes the record's contract is
//! written, in Confluent's wire format, with its `command_id` in the
//! `jidoka-id` header. A command on one model is keyed by the model id and
//! placed by the producer's partitioner, the same way as the model's
//! predictions (`kafka.partitioner`, which the predictions' producers must
//! match); a command on every model (`model_id` absent) is written,
//! with one `command_id`, to every partition of the operator topic, since
//! each instance reads only the operator partitions it owns. [`publish`]
//! returns only after every copy is acknowledged by all in-sync replicas.

use std::time::Duration;

use rand::Rng;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

use crate::config::Config;
use crate::kafka::operator_producer_config;
use crate::schema::registry::{codec_for, CodecError, RegistryError, Uses};
use crate::schema::{AvroRecord, OperatorCommand, SchemaError, SchemaKind};

/// How long the operator topic's metadata may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a command was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// No key to sign with: the user's to configure.
    #[error(
        "no signing key: set `operator.hmac-key` (a literal, `env:NAME` or `file:/path`) \
         in the config file or JIDOKA__OPERATOR__HMAC_KEY"
    )]
    NoKey,
    /// The command is not signed: the caller's (internal) error.
    #[error("operator command {0} is not signed")]
    Unsigned(String),
    /// The command breaks the record's contract: the user's to fix.
    #[error("invalid operator command: {0}")]
    Invalid(String),
    /// The schema cannot encode it: internal.
    #[error(transparent)]
    Schema(Box<SchemaError>),
    /// The Schema Registry is unreachable or refused the command schema.
    #[error(transparent)]
    Registry(Box<RegistryError>),
    /// The operator topic does not exist (or has no partitions): run
    /// `jidoka topics create`.
    #[error("operator topic `{topic}` does not exist or has no partitions ({reason}); run `jidoka topics create`")]
    NoTopic {
        /// Topic.
        topic: String,
        /// What the broker said.
        reason: String,
    },
    /// Kafka failed (client, metadata or delivery): external; retrying may
    /// help. A copy may have been written before the failure: republish the
    /// same command (same `command_id`), consumers de-duplicate on it.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A blocking metadata call did not finish: internal.
    #[error("metadata lookup did not finish: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The configured signing key (`operator.hmac-key`), as bytes.
pub fn signing_key(cfg: &Config) -> Result<&[u8], PublishError> {
    cfg.operator
        .hmac_key
        .as_ref()
        .map(|k| k.expose().as_bytes())
        .ok_or(PublishError::NoKey)
}

/// A new random command id (`op-` and 32 hex digits, 128 random bits).
pub fn new_command_id() -> String {
    format!("op-{:032x}", rand::thread_rng().gen::<u128>())
}

/// Publishes a signed command to the operator topic: keyed by its model,
/// or one copy per partition when it has none. Returns the
/// `(partition, offset)` of every copy, by partition.
pub async fn publish(cfg: &Config, cmd: &OperatorCommand) -> Result<Vec<(i32, i64)>, PublishError> {
    if cmd.signature.is_none() {
        return Err(PublishError::Unsigned(cmd.command_id.clone()));
    }
    cmd.check().map_err(PublishError::Invalid)?;
    let uses = Uses::writing(SchemaKind::OperatorCommand, &cfg.topics.operator);
    let (codec, _) = codec_for(cfg, &uses).await.map_err(|e| match e {
        CodecError::Schema(e) => PublishError::Schema(Box::new(e)),
        CodecError::Registry(e) => PublishError::Registry(Box::new(e)),
    })?;
    let payload = codec
        .encode(cmd)
        .map_err(|e| PublishError::Schema(Box::new(e)))?;
    let topic = cfg.topics.operator.clone();
    let producer: FutureProducer = operator_producer_config(cfg).create()?;
    let partitions = partition_count(&producer, &topic).await?;
    let targets: Vec<Option<i32>> = match cmd.model_id {
        Some(_) => vec![None],
        None => (0..partitions).map(Some).collect(),
    };
    let timeout = Timeout::After(cfg.kafka.produce_timeout);
    let sends = targets.into_iter().map(|partition| {
        let headers = OwnedHeaders::new().insert(Header {
            key: "jidoka-id",
            value: Some(cmd.command_id.as_bytes()),
        });
        let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&topic)
            .payload(&payload[..])
            .headers(headers);
        if let Some(model) = &cmd.model_id {
            record = record.key(model.as_str());
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        producer.send(record, timeout)
    });
    let mut written = Vec::new();
    for result in futures::future::join_all(sends).await {
        let delivery = result.map_err(|(e, _)| e)?;
        written.push((delivery.partition, delivery.offset));
    }
    written.sort_unstable();
    Ok(written)
}

/// Partitions of `topic`, from the broker's metadata.
async fn partition_count(producer: &FutureProducer, topic: &str) -> Result<i32, PublishError> {
    let (producer, name) = (producer.clone(), topic.to_string());
    let metadata = tokio::task::spawn_blocking(move || {
        producer
            .client()
            .fetch_metadata(Some(&name), METADATA_TIMEOUT)
    })
    .await??;
    let no_topic = |reason: String| PublishError::NoTopic {
        topic: topic.to_string(),
        reason,
    };
    let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(no_topic("not in the broker's metadata".into()));
    };
    if let Some(e) = t.error() {
        return Err(no_topic(
            rdkafka::types::RDKafkaErrorCode::from(e).to_string(),
        ));
    }
    match i32::try_from(t.partitions().len()) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(no_topic(format!("{} partitions", t.partitions().len()))),
    }
}
