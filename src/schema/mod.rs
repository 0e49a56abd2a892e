//! Avro schemas, record types and the Confluent wire format.
//!
//! The `.avsc` files in the repository's `schemas/` folder are the source of
//! truth; they are embedded in the binary, parsed and checked when a
//! [`Codec`] is built, and every record jidoka reads or writes goes through it.
//! With a Schema Registry ([`registry`]), records are read with the writer
//! schema their id names and written with the ids the registry gave
//! jidoka's schemas; [`Codec::decode_generic`] reads any record with its
//! writer schema into JSON.

mod action;
mod codec;
mod contract;
mod generic;
mod records;
pub mod registry;
mod reward;
mod status;
mod test_kind;
mod wire;
mod wire_enum;

pub use codec::{AvroRecord, Codec, DecodeError, SchemaError, SchemaKind, MAX_AVRO_ALLOCATION};
pub use generic::to_json;
pub use records::{
    Action, ArmView, AuditInputs, AuditOutcome, AuditRecord, AuditStatus, BanditView,
    CooldownCheck, DeadLetter, DriftEvent, EvaluationRecord, FeatureEvidence, GateCheck,
    HealCommand, HealOutcome, Label, OperatorCommand, OperatorKind, OutcomeStatus, Prediction,
    RuleEvaluation, Superseded, TestKind,
};
pub use reward::AuditReward;
pub use wire::{frame, unframe, FramingError, MAGIC_BYTE};
