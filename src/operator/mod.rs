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
pub(crate) use sign::keyed;
pub use sign::{canonical, sign, verify, SignatureError, ENCODING_TAG, SIGNATURE_BYTES};

use crate::config::Config;
use crate::schema::OperatorCommand;

/// The processor's check of a command read from the operator topic: its
/// signature verifies with the configured key. Without a configured key no
/// command is obeyed. The reason never contains the key.
pub fn check(cfg: &Config, cmd: &OperatorCommand) -> Result<(), String> {
    let key = signing_key(cfg)
        .map_err(|_| "no operator.hmac-key is configured, so no command is obeyed".to_string())?;
    verify(cmd, key).map_err(|e| e.to_string())
}
