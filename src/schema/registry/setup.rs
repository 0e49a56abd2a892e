//! The codec a process starts with: fixed ids without a registry; with
//! one, the ids of jidoka's schemas registered (or looked up) under the
//! TopicNameStrategy subjects `<topic>-value` of the topics it uses.
//!
//! Guarantees: with a registry, every schema a process writes is
//! registered before it writes anything, and the id returned is the id
//! written; a refusal (409 incompatible, 422 invalid) stops start-up with
//! an error naming the subject; a registry that does not answer stops
//! start-up with an error naming its URL. Without a registry the codec is
//! exactly `Codec::new(cfg.schemas.ids)`.

use std::borrow::Cow;

use super::client::RegistryClient;
use super::error::RegistryError;
use crate::config::{Config, InputKind};
use crate::schema::{Codec, SchemaError, SchemaKind};

/// Why a process could not get its codec.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// A schema file is broken (internal).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The registry is unreachable or refused a schema.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// The subject of a topic's values (TopicNameStrategy).
pub fn value_subject(topic: &str) -> String {
    format!("{topic}-value")
}

/// Which of jidoka's schemas a process writes (registered) and reads
/// (looked up) on which topics.
#[derive(Debug, Clone, Default)]
pub struct Uses<'a> {
    /// Written: registered under `<topic>-value`.
    pub writes: Vec<(SchemaKind, Cow<'a, str>)>,
    /// Read: looked up under `<topic>-value`, so records written with the
    /// current schema decode without a registry request; other ids are
    /// fetched when seen.
    pub reads: Vec<(SchemaKind, Cow<'a, str>)>,
}

impl<'a> Uses<'a> {
    /// What `jidoka run` writes and reads.
    pub fn pipeline(cfg: &'a Config) -> Uses<'a> {
        let t = &cfg.topics;
        let mut writes = vec![
            (SchemaKind::DriftEvent, Cow::from(t.drift_events.as_str())),
            (SchemaKind::HealCommand, Cow::from(t.actions.as_str())),
            (SchemaKind::AuditRecord, Cow::from(t.audit.as_str())),
            (SchemaKind::DeadLetter, Cow::from(t.dead_letter.as_str())),
        ];
        if cfg.evaluations.enabled {
            writes.push((SchemaKind::Evaluation, Cow::from(t.evaluations.as_str())));
        }
        // Records re-keyed by model id go to the repartition topics in
        // jidoka's own schema, and are read back from there.
        for r in cfg.repartitions() {
            let kind = match r.kind {
                InputKind::Predictions => SchemaKind::Prediction,
                InputKind::Labels => SchemaKind::Label,
            };
            writes.push((kind, Cow::Owned(r.topic)));
        }
        Uses {
            writes,
            reads: vec![
                (SchemaKind::Prediction, Cow::from(t.predictions.as_str())),
                (SchemaKind::Label, Cow::from(t.labels.as_str())),
                (SchemaKind::HealOutcome, Cow::from(t.outcomes.as_str())),
                (SchemaKind::OperatorCommand, Cow::from(t.operator.as_str())),
            ],
        }
    }

    /// Writes one kind to one topic.
    pub fn writing(kind: SchemaKind, topic: &'a str) -> Uses<'a> {
        Uses {
            writes: vec![(kind, Cow::from(topic))],
            reads: Vec::new(),
        }
    }

    /// Also reads a kind from a topic.
    pub fn and_reading(mut self, kind: SchemaKind, topic: &'a str) -> Uses<'a> {
        self.reads.push((kind, Cow::from(topic)));
        self
    }
}

/// The codec of a process that uses the topics in `uses`, and the
/// registry client when one is configured.
pub async fn codec_for(
    cfg: &Config,
    uses: &Uses<'_>,
) -> Result<(Codec, Option<RegistryClient>), CodecError> {
    let codec = Codec::new(cfg.schemas.ids)?;
    let Some(client) = RegistryClient::from_config(&cfg.schemas)? else {
        return Ok((codec, None));
    };
    let mut ids = Vec::new();
    for (kind, topic) in &uses.writes {
        let subject = value_subject(topic);
        let id = client
            .register(&subject, kind.source())
            .await
            .map_err(|e| refused(e, &subject, *kind))?;
        tracing::info!(subject = %subject, schema = kind.file_name(), id, "schema registered");
        ids.push((*kind, id));
    }
    for (kind, topic) in &uses.reads {
        if ids.iter().any(|(k, _)| k == kind) {
            continue;
        }
        let subject = value_subject(topic);
        if let Some(id) = client.lookup(&subject, kind.source()).await? {
            ids.push((*kind, id));
        }
    }
    Ok((codec.with_registry(&ids), Some(client)))
}

/// The codec of a reader that does not register anything (the audit,
/// export and report commands): with a registry, every id is fetched when
/// first seen ([`super::fetch_blocking`]).
pub fn reader_codec(cfg: &Config) -> Result<Codec, SchemaError> {
    let codec = Codec::new(cfg.schemas.ids)?;
    Ok(match cfg.schemas.registry_url {
        Some(_) => codec.with_registry(&[]),
        None => codec,
    })
}

/// A 409 or 422 answer to a registration is the registry refusing the
/// schema under that subject.
fn refused(e: RegistryError, subject: &str, kind: SchemaKind) -> RegistryError {
    match e {
        RegistryError::Status {
            url,
            status: status @ (409 | 422),
            code,
            message,
            ..
        } => RegistryError::Refused {
            url,
            subject: subject.to_string(),
            schema: kind.file_name(),
            status,
            code,
            message,
        },
        other => other,
    }
}
