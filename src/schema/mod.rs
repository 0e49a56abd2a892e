//! Avro schemas, record types and the Confluent wire format.
//!
//! The `.avsc` files in the repository's `schemas/` folder are the source of
//! truth; they are embedded in the binary, parsed and checked when a
//! [`Codec`] is built, and every record jidoka reads or writes goes through it.

mod action;
mod codec;
mod records;
mod status;
mod test_kind;
mod wire;
mod wire_enum;

pub use codec::{AvroRecord, Codec, DecodeError, SchemaError, SchemaKind, MAX_AVRO_ALLOCATION};
pub use records::{
    Action, ArmView, AuditInputs, AuditOutcome, AuditRecord, AuditStatus, BanditView,
    CooldownCheck, DeadLetter, DriftEvent, EvaluationRecord, FeatureEvidence, GateCheck,
    HealCommand, HealOutcome, Label, OperatorCommand, OperatorKind, OutcomeStatus, Prediction,
    RuleEvaluation, Superseded, TestKind,
};
pub use wire::{frame, unframe, FramingError, MAGIC_BYTE};
