//! HMAC-SHA256 signatures of operator commands.
//!
//! Guarantees: [`verify`] accepts a command only if its `signature` is the
//! HMAC-SHA256, under the same key, of the [`canonical`] encoding of every
//! other field, as [`sign`] wrote it; changing any field (including `None`
//! to `Some("")`) or the key makes it fail. The comparison is constant-time
//! (`Mac::verify_slice`). Pure code: no clock, no I/O.
//!
//! The canonical encoding (also in `docs/operator.md` and the schema) is,
//! in this order: the tag `jidoka-operator-command-v1`, `command_id`,
//! `kind` (its symbol), `model_id`, `target_command_id`, `issued_by`,
//! `issued_at`, `action`, `note`, where
//!
//! - a string is its UTF-8 length as 8 bytes big-endian, then its bytes;
//! - an optional string is the byte `0` when absent, else the byte `1` then
//!   the string;
//! - `issued_at` is 8 bytes big-endian two's complement.
//!
//! Every field is length-prefixed or of fixed width, so two different
//! commands never encode to the same bytes.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::schema::OperatorCommand;

/// Domain tag: the first encoded string, so a signature over an operator
/// command can never pass for a signature over anything else.
pub const ENCODING_TAG: &str = "jidoka-operator-command-v1";
/// Bytes of an HMAC-SHA256 signature (64 hex digits).
pub const SIGNATURE_BYTES: usize = 32;
/// SHA-256's block size: HMAC keys are hashed above it, zero-padded below.
const BLOCK_BYTES: usize = 64;

/// Why a command's signature is refused: the sender's fault (or an attack);
/// retrying does not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The command carries no signature.
    #[error("the command is not signed")]
    Missing,
    /// The signature is not 64 hex digits.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// The signature does not match the command and key.
    #[error("signature does not match the command (altered, or signed with another key)")]
    Mismatch,
}

/// The bytes a signature covers: every field but `signature`.
pub fn canonical(cmd: &OperatorCommand) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    put_str(&mut out, ENCODING_TAG);
    put_str(&mut out, &cmd.command_id);
    put_str(&mut out, cmd.kind.as_str());
    put_opt(&mut out, cmd.model_id.as_deref());
    put_opt(&mut out, cmd.target_command_id.as_deref());
    put_str(&mut out, &cmd.issued_by);
    out.extend_from_slice(&cmd.issued_at.to_be_bytes());
    put_opt(&mut out, cmd.action.as_deref());
    put_opt(&mut out, cmd.note.as_deref());
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// HMAC-SHA256 keyed with `key` (any length).
pub(crate) fn keyed(key: &[u8]) -> Hmac<Sha256> {
    // RFC 2104: a key longer than the block is hashed, and every key is
    // zero-padded to the block. Doing it here gives a block-sized key, whose
    // constructor cannot fail (`new_from_slice` returns a Result that is
    // never an error for HMAC, but would need an unwrap).
    let mut block = [0u8; BLOCK_BYTES];
    if key.len() > BLOCK_BYTES {
        block[..SIGNATURE_BYTES].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <Hmac<Sha256> as KeyInit>::new(&block.into())
}

/// The MAC of `cmd` under `key`, before finalization.
fn mac(cmd: &OperatorCommand, key: &[u8]) -> Hmac<Sha256> {
    let mut mac = keyed(key);
    mac.update(&canonical(cmd));
    mac
}

/// Signs `cmd` with `key`: sets `signature` to the lowercase hex
/// HMAC-SHA256 of its canonical encoding (any earlier signature is
/// replaced; it is not part of the encoding).
pub fn sign(cmd: &mut OperatorCommand, key: &[u8]) {
    let tag = mac(cmd, key).finalize().into_bytes();
    cmd.signature = Some(hex::encode(tag));
}

/// Checks `cmd`'s signature against `key`, in constant time.
pub fn verify(cmd: &OperatorCommand, key: &[u8]) -> Result<(), SignatureError> {
    let signature = cmd.signature.as_deref().ok_or(SignatureError::Missing)?;
    let bytes =
        hex::decode(signature).map_err(|e| SignatureError::Malformed(format!("not hex: {e}")))?;
    if bytes.len() != SIGNATURE_BYTES {
        return Err(SignatureError::Malformed(format!(
            "{} bytes, expected {SIGNATURE_BYTES}",
            bytes.len()
        )));
    }
    mac(cmd, key)
        .verify_slice(&bytes)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
