//! Encoding and decoding of jidoka's records with their Avro schemas.
//!
//! Guarantees: schemas are parsed and checked once, in [`Codec::new`];
//! [`Codec::decode`] never panics on any input and returns a [`DecodeError`]
//! that says what was wrong (framing, unknown schema id, bad Avro, a datum
//! cut short or followed by trailing bytes, or a value outside the record's
//! contract such as a NaN feature).

use apache_avro::types::Value;
use apache_avro::Schema;

pub use super::contract::AvroRecord;
use super::registry::{FetchedSchema, Writer, WriterCache, WriterSchema};
use super::wire::{frame, unframe, FramingError};
use crate::config::SchemaIds;
use std::sync::Arc;

/// The schemas jidoka knows, one per record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// `prediction.avsc`
    Prediction,
    /// `label.avsc`
    Label,
    /// `drift_event.avsc`
    DriftEvent,
    /// `heal_command.avsc`
    HealCommand,
    /// `heal_outcome.avsc`
    HealOutcome,
    /// `operator_command.avsc`
    OperatorCommand,
    /// `audit_record.avsc`
    AuditRecord,
    /// `dead_letter.avsc`
    DeadLetter,
    /// `evaluation.avsc`
    Evaluation,
}

impl SchemaKind {
    /// Every kind, in a fixed order.
    pub const ALL: [SchemaKind; 9] = [
        SchemaKind::Prediction,
        SchemaKind::Label,
        SchemaKind::DriftEvent,
        SchemaKind::HealCommand,
        SchemaKind::HealOutcome,
        SchemaKind::OperatorCommand,
        SchemaKind::AuditRecord,
        SchemaKind::DeadLetter,
        SchemaKind::Evaluation,
    ];

    /// File name in `schemas/`.
    pub fn file_name(self) -> &'static str {
        match self {
            SchemaKind::Prediction => "prediction.avsc",
            SchemaKind::Label => "label.avsc",
            SchemaKind::DriftEvent => "drift_event.avsc",
            SchemaKind::HealCommand => "heal_command.avsc",
            SchemaKind::HealOutcome => "heal_outcome.avsc",
            SchemaKind::OperatorCommand => "operator_command.avsc",
            SchemaKind::AuditRecord => "audit_record.avsc",
            SchemaKind::DeadLetter => "dead_letter.avsc",
            SchemaKind::Evaluation => "evaluation.avsc",
        }
    }

    /// Full name the schema must declare.
    pub fn full_name(self) -> &'static str {
        match self {
            SchemaKind::Prediction => "dev.jidoka.Prediction",
            SchemaKind::Label => "dev.jidoka.Label",
            SchemaKind::DriftEvent => "dev.jidoka.DriftEvent",
            SchemaKind::HealCommand => "dev.jidoka.HealCommand",
            SchemaKind::HealOutcome => "dev.jidoka.HealOutcome",
            SchemaKind::OperatorCommand => "dev.jidoka.OperatorCommand",
            SchemaKind::AuditRecord => "dev.jidoka.AuditRecord",
            SchemaKind::DeadLetter => "dev.jidoka.DeadLetter",
            SchemaKind::Evaluation => "dev.jidoka.Evaluation",
        }
    }

    /// The schema's text, as embedded from `schemas/`.
    pub fn source(self) -> &'static str {
        match self {
            SchemaKind::Prediction => include_str!("../../schemas/prediction.avsc"),
            SchemaKind::Label => include_str!("../../schemas/label.avsc"),
            SchemaKind::DriftEvent => include_str!("../../schemas/drift_event.avsc"),
            SchemaKind::HealCommand => include_str!("../../schemas/heal_command.avsc"),
            SchemaKind::HealOutcome => include_str!("../../schemas/heal_outcome.avsc"),
            SchemaKind::OperatorCommand => include_str!("../../schemas/operator_command.avsc"),
            SchemaKind::AuditRecord => include_str!("../../schemas/audit_record.avsc"),
            SchemaKind::DeadLetter => include_str!("../../schemas/dead_letter.avsc"),
            SchemaKind::Evaluation => include_str!("../../schemas/evaluation.avsc"),
        }
    }

    fn id(self, ids: &SchemaIds) -> u32 {
        match self {
            SchemaKind::Prediction => ids.prediction,
            SchemaKind::Label => ids.label,
            SchemaKind::DriftEvent => ids.drift_event,
            SchemaKind::HealCommand => ids.heal_command,
            SchemaKind::HealOutcome => ids.heal_outcome,
            SchemaKind::OperatorCommand => ids.operator_command,
            SchemaKind::AuditRecord => ids.audit_record,
            SchemaKind::DeadLetter => ids.dead_letter,
            SchemaKind::Evaluation => ids.evaluation,
        }
    }
}

/// A schema file is broken: an internal error, found at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file is not a valid Avro schema.
    #[error("schemas/{file}: {source}")]
    Parse {
        /// File name.
        file: &'static str,
        /// Parser error.
        source: Box<apache_avro::Error>,
    },
    /// The file declares another record than expected.
    #[error("schemas/{file}: declares `{found}`, expected `{expected}`")]
    WrongName {
        /// File name.
        file: &'static str,
        /// Name found.
        found: String,
        /// Name expected.
        expected: &'static str,
    },
    /// With a Schema Registry, a record type was written without being
    /// registered for its topic at start-up (internal).
    #[error("{kind:?} records are written but their schema was not registered at start-up")]
    NotRegistered {
        /// Schema.
        kind: SchemaKind,
    },
    /// Encoding a record failed: its type and schema disagree.
    #[error("cannot encode {kind:?} with its schema: {source}")]
    Encode {
        /// Schema.
        kind: SchemaKind,
        /// Encoder error.
        source: Box<apache_avro::Error>,
    },
    /// A lesson (not Avro: the lessons topic is internal) did not encode.
    #[error("cannot encode a lesson: {0}")]
    Lesson(String),
}

/// Why bytes could not be decoded into a record: always the record's fault
/// (the producer's), never retryable; the record goes to the dead-letter topic.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// No value (a tombstone).
    #[error("record has no value")]
    MissingValue,
    /// Not in Confluent's wire format.
    #[error(transparent)]
    Framing(#[from] FramingError),
    /// The header names a schema id jidoka does not map to this record type.
    #[error("unknown schema id {found} (expected {expected} for {kind:?})")]
    UnknownSchema {
        /// Id in the header.
        found: u32,
        /// Id configured.
        expected: u32,
        /// Record type expected.
        kind: SchemaKind,
    },
    /// The Schema Registry has no schema with the header's id, or one
    /// jidoka cannot read (not Avro, with references, unparsable).
    #[error("{reason}")]
    Registry {
        /// Id in the header.
        id: u32,
        /// Why (the registry's answer).
        reason: String,
    },
    /// With a Schema Registry, the header's id was not fetched before
    /// decoding (a reader that does not ask the registry).
    #[error("schema id {0} was not fetched from the schema registry")]
    NotFetched(u32),
    /// Without a Schema Registry, the header's id is none of `[schemas.ids]`.
    #[error("schema id {0} is none of the ids in [schemas.ids]")]
    UnknownId(u32),
    /// The Avro datum does not decode with the schema.
    #[error("avro datum does not match schema: {0}")]
    Avro(Box<apache_avro::Error>),
    /// Bytes left after the datum.
    #[error("{0} unexpected bytes after the avro datum")]
    TrailingBytes(usize),
    /// The datum ends before the record does.
    #[error("avro datum ends before the end of the record (truncated)")]
    Truncated,
    /// A value breaks the record's contract.
    #[error("invalid value: {0}")]
    InvalidValue(String),
}

impl DecodeError {
    /// Short class name, written as `error_kind` in dead-letter records.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::MissingValue => "missing-value",
            DecodeError::Framing(_) => "framing",
            DecodeError::UnknownSchema { .. }
            | DecodeError::Registry { .. }
            | DecodeError::NotFetched(_)
            | DecodeError::UnknownId(_) => "unknown-schema",
            DecodeError::Avro(_) | DecodeError::TrailingBytes(_) | DecodeError::Truncated => "avro",
            DecodeError::InvalidValue(_) => "invalid-value",
        }
    }
}

/// Parsed schemas and the id mapping; cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Codec {
    schemas: Vec<Schema>,
    /// Older writer schemas still read: (wire id, kind, schema).
    history: Vec<(u32, SchemaKind, Schema)>,
    ids: SchemaIds,
    /// With a Schema Registry: the registered ids and the writer schemas.
    registry: Option<Registered>,
}

/// A codec's Schema Registry state.
#[derive(Debug, Clone)]
struct Registered {
    /// Id of each kind registered or looked up at start-up.
    ids: [Option<u32>; SchemaKind::ALL.len()],
    /// Writer schemas of other ids, fetched when seen.
    writers: Arc<WriterCache>,
}

/// The wire id of one earlier schema version in `[schemas.ids]`.
type HistoryId = fn(&SchemaIds) -> u32;

/// Earlier versions of the schemas, still readable: (kind, file, source,
/// its id).
const HISTORY: [(SchemaKind, &str, &str, HistoryId); 6] = [
    (
        SchemaKind::AuditRecord,
        "history/audit_record.v1.avsc",
        include_str!("../../schemas/history/audit_record.v1.avsc"),
        |ids| ids.audit_record_v1,
    ),
    (
        SchemaKind::AuditRecord,
        "history/audit_record.v2.avsc",
        include_str!("../../schemas/history/audit_record.v2.avsc"),
        |ids| ids.audit_record_v2,
    ),
    (
        SchemaKind::AuditRecord,
        "history/audit_record.v3.avsc",
        include_str!("../../schemas/history/audit_record.v3.avsc"),
        |ids| ids.audit_record_v3,
    ),
    (
        SchemaKind::DriftEvent,
        "history/drift_event.v1.avsc",
        include_str!("../../schemas/history/drift_event.v1.avsc"),
        |ids| ids.drift_event_v1,
    ),
    (
        SchemaKind::HealCommand,
        "history/heal_command.v1.avsc",
        include_str!("../../schemas/history/heal_command.v1.avsc"),
        |ids| ids.heal_command_v1,
    ),
    (
        SchemaKind::HealOutcome,
        "history/heal_outcome.v1.avsc",
        include_str!("../../schemas/history/heal_outcome.v1.avsc"),
        |ids| ids.heal_outcome_v1,
    ),
];

/// Largest single allocation (string, bytes, array or map length) the Avro
/// decoder may make for one value. A record claiming more is a decode error,
/// so a few bytes announcing a huge collection cannot exhaust memory.
pub const MAX_AVRO_ALLOCATION: usize = 1024 * 1024;

/// Read after a datum to detect truncation: zig-zag -1, which is no valid
/// union index, length or count.
const SENTINEL: [u8; 1] = [0x01];

impl Codec {
    /// Parses every embedded schema and checks that it declares the expected
    /// record. Also caps the Avro decoder's allocations (process-wide, once).
    pub fn new(ids: SchemaIds) -> Result<Self, SchemaError> {
        apache_avro::util::max_allocation_bytes(MAX_AVRO_ALLOCATION);
        let mut schemas = Vec::with_capacity(SchemaKind::ALL.len());
        for kind in SchemaKind::ALL {
            let schema = Schema::parse_str(kind.source()).map_err(|e| SchemaError::Parse {
                file: kind.file_name(),
                source: Box::new(e),
            })?;
            let found = match &schema {
                Schema::Record(record) => record.name.fullname(None),
                other => format!("{other:?}"),
            };
            if found != kind.full_name() {
                return Err(SchemaError::WrongName {
                    file: kind.file_name(),
                    found,
                    expected: kind.full_name(),
                });
            }
            schemas.push(schema);
        }
        let mut history = Vec::with_capacity(HISTORY.len());
        for (kind, file, source, id) in HISTORY {
            let schema = Schema::parse_str(source).map_err(|e| SchemaError::Parse {
                file,
                source: Box::new(e),
            })?;
            history.push((id(&ids), kind, schema));
        }
        Ok(Codec {
            schemas,
            history,
            ids,
            registry: None,
        })
    }

    /// The codec with a Schema Registry: `ids` are the ids the registry
    /// gave jidoka's schemas; any other id is decoded with the writer
    /// schema fetched into [`Codec::writers`]. `[schemas.ids]` and the
    /// history ids no longer apply.
    pub fn with_registry(mut self, ids: &[(SchemaKind, u32)]) -> Codec {
        let mut registered = [None; SchemaKind::ALL.len()];
        for (kind, id) in ids {
            registered[*kind as usize] = Some(*id);
        }
        self.registry = Some(Registered {
            ids: registered,
            writers: Arc::new(WriterCache::default()),
        });
        self
    }

    /// The writer-schema cache, with a Schema Registry.
    pub fn writers(&self) -> Option<&WriterCache> {
        self.registry.as_ref().map(|r| r.writers.as_ref())
    }

    /// What a schema fetched from the registry means to this codec: an
    /// Avro schema (noting the reader schema it equals, if any), or the
    /// reason it cannot be used.
    pub fn writer_from(&self, id: u32, fetched: &FetchedSchema) -> Writer {
        if !fetched.schema_type.eq_ignore_ascii_case("AVRO") {
            return Writer::Refused(
                format!(
                    "schema id {id} is a {} schema in the schema registry, not Avro",
                    fetched.schema_type
                )
                .into(),
            );
        }
        if fetched.references > 0 {
            return Writer::Refused(
                format!("schema id {id} uses schema references, which jidoka does not resolve")
                    .into(),
            );
        }
        match Schema::parse_str(&fetched.schema) {
            Ok(schema) => {
                let canonical = schema.canonical_form();
                let same_as = SchemaKind::ALL
                    .into_iter()
                    .find(|k| self.schema(*k).canonical_form() == canonical);
                Writer::Avro(Arc::new(WriterSchema {
                    id,
                    schema,
                    same_as,
                }))
            }
            Err(e) => Writer::Refused(
                format!("schema id {id} from the schema registry does not parse as Avro: {e}")
                    .into(),
            ),
        }
    }

    /// The parsed schema of a kind.
    pub fn schema(&self, kind: SchemaKind) -> &Schema {
        &self.schemas[kind as usize]
    }

    /// The wire id of a kind: the registry's when it was registered or
    /// looked up at start-up, else the fixed one from `[schemas.ids]`.
    pub fn id(&self, kind: SchemaKind) -> u32 {
        self.registered(kind).unwrap_or_else(|| kind.id(&self.ids))
    }

    fn registered(&self, kind: SchemaKind) -> Option<u32> {
        self.registry.as_ref().and_then(|r| r.ids[kind as usize])
    }

    /// The id written for a kind: with a registry, only a registered one.
    fn write_id(&self, kind: SchemaKind) -> Result<u32, SchemaError> {
        match &self.registry {
            None => Ok(kind.id(&self.ids)),
            Some(r) => r.ids[kind as usize].ok_or(SchemaError::NotRegistered { kind }),
        }
    }

    /// Encodes a record in Confluent's wire format.
    pub fn encode<T: AvroRecord>(&self, record: &T) -> Result<Vec<u8>, SchemaError> {
        let encode_err = |e| SchemaError::Encode {
            kind: T::KIND,
            source: Box::new(e),
        };
        let schema = self.schema(T::KIND);
        let value = apache_avro::to_value(record)
            .and_then(|v| v.resolve(schema))
            .map_err(encode_err)?;
        let datum = apache_avro::to_avro_datum(schema, value).map_err(encode_err)?;
        Ok(frame(self.write_id(T::KIND)?, &datum))
    }

    /// Decodes a record from Confluent's wire format and checks its contract.
    pub fn decode<T: AvroRecord>(&self, bytes: Option<&[u8]>) -> Result<T, DecodeError> {
        let bytes = bytes.ok_or(DecodeError::MissingValue)?;
        let (id, datum) = unframe(bytes)?;
        let reader = self.schema(T::KIND);
        let fetched;
        let writer = match self.writer(T::KIND, id)? {
            Found::Reader => reader,
            Found::Fixed(old) => old,
            Found::Fetched(w) => {
                fetched = w;
                if fetched.same_as == Some(T::KIND) {
                    reader
                } else {
                    &fetched.schema
                }
            }
        };
        let resolve_to = (!std::ptr::eq(writer, reader)).then_some(reader);
        let value = read_datum(writer, datum, resolve_to)?;
        let record: T =
            apache_avro::from_value(&value).map_err(|e| DecodeError::Avro(Box::new(e)))?;
        record.check().map_err(DecodeError::InvalidValue)?;
        Ok(record)
    }

    /// The writer schema of a record of `kind` whose header carries `id`.
    fn writer(&self, kind: SchemaKind, id: u32) -> Result<Found<'_>, DecodeError> {
        let Some(registry) = &self.registry else {
            let expected = kind.id(&self.ids);
            if id == expected {
                return Ok(Found::Reader);
            }
            return match self.history.iter().find(|(i, k, _)| *i == id && *k == kind) {
                Some((_, _, old)) => Ok(Found::Fixed(old)),
                None => Err(DecodeError::UnknownSchema {
                    found: id,
                    expected,
                    kind,
                }),
            };
        };
        if registry.ids[kind as usize] == Some(id) {
            return Ok(Found::Reader);
        }
        match registry.writers.get(id) {
            Some(Writer::Avro(w)) => Ok(Found::Fetched(w)),
            Some(Writer::Refused(reason)) => Err(DecodeError::Registry {
                id,
                reason: reason.to_string(),
            }),
            None => Err(DecodeError::NotFetched(id)),
        }
    }

    /// The writer schema of any record with `id` in its header.
    pub(super) fn any_writer(&self, id: u32) -> Result<AnyWriter<'_>, DecodeError> {
        let Some(registry) = &self.registry else {
            if let Some(kind) = SchemaKind::ALL.into_iter().find(|k| k.id(&self.ids) == id) {
                return Ok(AnyWriter::Own(self.schema(kind)));
            }
            return match self.history.iter().find(|(i, _, _)| *i == id) {
                Some((_, _, old)) => Ok(AnyWriter::Own(old)),
                None => Err(DecodeError::UnknownId(id)),
            };
        };
        if let Some(kind) = SchemaKind::ALL
            .into_iter()
            .find(|k| registry.ids[*k as usize] == Some(id))
        {
            return Ok(AnyWriter::Own(self.schema(kind)));
        }
        match registry.writers.get(id) {
            Some(Writer::Avro(w)) => Ok(AnyWriter::Fetched(w)),
            Some(Writer::Refused(reason)) => Err(DecodeError::Registry {
                id,
                reason: reason.to_string(),
            }),
            None => Err(DecodeError::NotFetched(id)),
        }
    }
}

/// A writer schema found by id alone.
pub(super) enum AnyWriter<'a> {
    /// One of jidoka's schemas (current or history).
    Own(&'a Schema),
    /// Fetched from the registry.
    Fetched(Arc<WriterSchema>),
}

impl AnyWriter<'_> {
    /// The schema.
    pub(super) fn schema(&self) -> &Schema {
        match self {
            AnyWriter::Own(s) => s,
            AnyWriter::Fetched(w) => &w.schema,
        }
    }
}

/// Where a record's writer schema comes from.
enum Found<'a> {
    /// It is the reader schema.
    Reader,
    /// An older schema of `schemas/history/` (fixed ids).
    Fixed(&'a Schema),
    /// Fetched from the registry.
    Fetched(Arc<WriterSchema>),
}

/// Reads one Avro datum with `writer`, resolved to `reader` when given,
/// rejecting a datum cut short or followed by more bytes.
pub(super) fn read_datum(
    writer: &Schema,
    datum: &[u8],
    reader: Option<&Schema>,
) -> Result<Value, DecodeError> {
    // The Avro library reads a union index at the end of its input as
    // branch 0 (null), so a datum cut just before trailing optional
    // fields would decode with them silently null. Behind the datum
    // comes one sentinel byte: a complete datum leaves it unread, a
    // truncated one reads it (or fails on it).
    let mut datum_reader = std::io::Read::chain(datum, &SENTINEL[..]);
    let value: Value = apache_avro::from_avro_datum(writer, &mut datum_reader, reader)
        .map_err(|e| DecodeError::Avro(Box::new(e)))?;
    let (rest, sentinel) = datum_reader.get_ref();
    if sentinel.is_empty() {
        return Err(DecodeError::Truncated);
    }
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "codec_operator_tests.rs"]
mod operator_tests;

#[cfg(test)]
#[path = "codec_heal_tests.rs"]
mod heal_tests;

#[cfg(test)]
#[path = "codec_v3_tests.rs"]
mod v3_tests;

#[cfg(test)]
#[path = "codec_history_tests.rs"]
mod history_tests;
