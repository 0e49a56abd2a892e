//! Operator commands: human instructions (veto, approve, pause, resume)
//! signed with a shared HMAC key and published to the operator topic.
//!
//! Guarantees: [`sign`] and [`verify`] cover every field of a command but its
//! signature, with unambiguous field boundaries ([`canonical`]); [`publish`]
//! writes only signed commands that pass the record's contract, keyed by
//! model id, or, for a command on every model, one copy on every partition
//! of the operator topic, so every instance (each reads only the operator
//! partitions it owns) receives it.

mod publish;
mod sign;

pub use publish::{new_command_id, publish, signing_key, PublishError};
pub use sign::{canonical, sign, verify, SignatureError, ENCODING_TAG, SIGNATURE_BYTES};
