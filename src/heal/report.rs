//! `jidoka outcome report`: the last step of an executor's job reports how
//! a heal command ended. The command is looked up on the actions topic
//! (read from its beginning to its end), so the outcome names the model
//! the command was for and lands on that model's partition of the outcomes
//! topic: keyed by the model id and placed by the producer's partitioner,
//! like the model's predictions (the instance that owns the model's state
//! reads it there; `kafka.partitioner`, which the platform's producers must
//! match).
//!
//! Guarantees: nothing is produced for a command id that is not on the
//! actions topic (the error names it and the topic), nor for a recovery or
//! cost that is not finite, nor for a note over [`MAX_NOTE_BYTES`]; the outcome is produced idempotently,
//! acknowledged by all in-sync replicas, never transactionally (the
//! processor's transactional id would fence the running instance), and
//! never to a topic the broker would create on the fly.
//!
//! The executor bridge (`jidoka executor`) shares the pieces: [`check`],
//! [`outcome`] (the one place an outcome is built from a report),
//! [`produce`] and [`lookup_model`].

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::ClientContext;

use crate::audit::{read_topic, AuditError, ReadMode};
use crate::config::Config;
use crate::kafka::tool_producer_config;
use crate::schema::registry::{codec_for, CodecError, RegistryError, Uses};
use crate::schema::{Codec, HealCommand, HealOutcome, OutcomeStatus, SchemaError, SchemaKind};

/// What an executor reports about one command.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeReport {
    /// The command answered (its `command_id`).
    pub command_id: String,
    /// How it ended.
    pub status: OutcomeStatus,
    /// Measured improvement (the bandit's benefit), finite.
    pub recovery: f64,
    /// What the action cost, finite.
    pub cost: f64,
    /// When reported (ms since the epoch).
    pub reported_at: i64,
    /// Free text for people (a CI run's URL), at most [`MAX_NOTE_BYTES`].
    pub note: Option<String>,
}

/// Longest note an outcome carries (UTF-8 bytes): a link and a sentence,
/// not a build log.
pub const MAX_NOTE_BYTES: usize = 4096;

/// An outcome written.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    /// The record produced.
    pub outcome: HealOutcome,
    /// Its partition of the outcomes topic.
    pub partition: i32,
    /// Its offset there.
    pub offset: i64,
}

/// Why no outcome was written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The command id is not on the actions topic.
    #[error("unknown command `{command_id}`: no heal command with that id on topic `{topic}` ({scanned} commands read); nothing was written")]
    UnknownCommand {
        /// The id asked for.
        command_id: String,
        /// The actions topic read.
        topic: String,
        /// Commands read there.
        scanned: u64,
    },
    /// A value the outcome cannot carry.
    #[error("{0}")]
    Invalid(String),
    /// Reading the actions topic failed.
    #[error("reading the actions topic: {0}")]
    Read(#[from] AuditError),
    /// Producing the outcome failed.
    #[error("producing the outcome: {0}")]
    Kafka(#[from] KafkaError),
    /// The outcome did not encode.
    #[error("encoding the outcome: {0}")]
    Schema(#[from] SchemaError),
    /// The Schema Registry is unreachable or refused the outcome schema.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The read of the actions topic did not finish.
    #[error("reading the actions topic did not finish: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl ReportError {
    /// Whether the caller asked for something that cannot be (an unknown
    /// command, a bad value), as opposed to a failure of Kafka.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ReportError::UnknownCommand { .. } | ReportError::Invalid(_)
        )
    }
}

/// The command with id `command_id` on the actions topic (its last copy:
/// a command resent after a timeout is on the topic twice, identical), and
/// how many commands were read.
pub fn find_command(
    cfg: &Config,
    command_id: &str,
    progress: bool,
) -> Result<(Option<HealCommand>, u64), AuditError> {
    let mut found = None;
    let mut scanned = 0u64;
    let mode = ReadMode {
        from_beginning: true,
        follow: false,
        progress,
    };
    read_topic(cfg, &cfg.topics.actions, mode, &mut |c: HealCommand| {
        scanned += 1;
        if c.command_id == command_id {
            found = Some(c);
        }
        Ok(())
    })?;
    Ok((found, scanned))
}

/// Refuses a request the outcome cannot carry: an empty command id, a
/// recovery or cost that is not finite.
pub fn check(request: &OutcomeReport) -> Result<(), ReportError> {
    for (name, value) in [("recovery", request.recovery), ("cost", request.cost)] {
        if !value.is_finite() {
            return Err(ReportError::Invalid(format!(
                "{name} must be a finite number, got {value}"
            )));
        }
    }
    if let Some(note) = &request.note {
        if note.len() > MAX_NOTE_BYTES {
            return Err(ReportError::Invalid(format!(
                "the note is {} bytes, at most {MAX_NOTE_BYTES} are carried",
                note.len()
            )));
        }
    }
    if request.command_id.trim().is_empty() {
        return Err(ReportError::Invalid("the command id is empty".into()));
    }
    Ok(())
}

/// The outcome record of `request` for a command of `model_id`: the one
/// place a [`HealOutcome`] is built from an executor's report.
pub fn outcome(model_id: &str, request: &OutcomeReport) -> HealOutcome {
    HealOutcome {
        command_id: request.command_id.clone(),
        model_id: model_id.to_string(),
        status: request.status,
        recovery: request.recovery,
        cost: request.cost,
        reported_at: request.reported_at,
        note: request.note.clone(),
    }
}

/// Produces `outcome` to the outcomes topic, keyed by its model (so it
/// lands on the model's partition), with the `jidoka-id` header; waits for
/// the acknowledgement. `producer` is one made from
/// [`tool_producer_config`] (idempotent, never transactional).
pub async fn produce<C: ClientContext + 'static>(
    cfg: &Config,
    codec: &Codec,
    producer: &FutureProducer<C>,
    outcome: HealOutcome,
) -> Result<Reported, ReportError> {
    let payload = codec.encode(&outcome)?;
    let headers = OwnedHeaders::new().insert(Header {
        key: "jidoka-id",
        value: Some(outcome.command_id.as_bytes()),
    });
    let record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&cfg.topics.outcomes)
        .key(outcome.model_id.as_str())
        .payload(&payload[..])
        .headers(headers);
    let timeout = Timeout::After(cfg.kafka.produce_timeout.max(Duration::from_millis(1)));
    let delivery = producer.send(record, timeout).await.map_err(|(e, _)| e)?;
    Ok(Reported {
        outcome,
        partition: delivery.partition,
        offset: delivery.offset,
    })
}

/// Looks `command_id` up on the actions topic (off the async workers):
/// its model id, or [`ReportError::UnknownCommand`].
pub async fn lookup_model(
    cfg: &Config,
    command_id: &str,
    progress: bool,
) -> Result<String, ReportError> {
    let (lookup_cfg, id) = (cfg.clone(), command_id.to_string());
    let (found, scanned) =
        tokio::task::spawn_blocking(move || find_command(&lookup_cfg, &id, progress)).await??;
    found
        .map(|c| c.model_id)
        .ok_or_else(|| ReportError::UnknownCommand {
            command_id: command_id.to_string(),
            topic: cfg.topics.actions.clone(),
            scanned,
        })
}

/// Looks the command up and produces its outcome.
pub async fn report(
    cfg: &Config,
    request: &OutcomeReport,
    progress: bool,
) -> Result<Reported, ReportError> {
    check(request)?;
    let model_id = lookup_model(cfg, &request.command_id, progress).await?;
    let (codec, _) = codec_for(
        cfg,
        &Uses::writing(SchemaKind::HealOutcome, &cfg.topics.outcomes),
    )
    .await
    .map_err(|e| match e {
        CodecError::Schema(e) => ReportError::Schema(e),
        CodecError::Registry(e) => ReportError::Registry(e),
    })?;
    let producer: FutureProducer = tool_producer_config(cfg, "outcome").create()?;
    produce(cfg, &codec, &producer, outcome(&model_id, request)).await
}
