//! The HMAC-SHA256 signature of an HTTP body, GitHub's webhook convention:
//! header `X-Jidoka-Signature-256: sha256=<hex of HMAC-SHA256(key, body)>`
//! over the raw bytes of the body.
//!
//! Guarantees: [`verify`] accepts a header only if it is exactly what
//! [`header_value`] writes for the same key and body; the comparison of
//! the MAC is constant-time (`Mac::verify_slice`). Pure code.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-jidoka-signature-256";
/// The command id header (receivers de-duplicate on it).
pub const COMMAND_ID_HEADER: &str = "x-jidoka-command-id";
/// The standard idempotency header, the command id.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Prefix of the header's value.
const PREFIX: &str = "sha256=";

/// Why a signature is refused: the sender's (or an attacker's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature header.
    #[error("no {SIGNATURE_HEADER} header")]
    Missing,
    /// Not `sha256=` and 64 hex digits.
    #[error("malformed {SIGNATURE_HEADER} header (expected sha256=<64 hex digits>)")]
    Malformed,
    /// Not the body's MAC under the key.
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(key: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac = crate::operator::keyed(key);
    mac.update(body);
    mac
}

/// The header value signing `body` with `key`.
pub fn header_value(key: &[u8], body: &[u8]) -> String {
    format!(
        "{PREFIX}{}",
        hex::encode(mac(key, body).finalize().into_bytes())
    )
}

/// Checks a header value (if any) against `body` and `key`.
pub fn verify(key: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let value = header.ok_or(SignatureError::Missing)?.trim();
    let digits = value
        .strip_prefix(PREFIX)
        .filter(|d| d.len() == 64)
        .ok_or(SignatureError::Malformed)?;
    let bytes = hex::decode(digits).map_err(|_| SignatureError::Malformed)?;
    mac(key, body)
        .verify_slice(&bytes)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn matches_an_independent_hmac_sha256() {
        // RFC 4231 test case 2.
        let v = header_value(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            v,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verifies_its_own_signature_and_nothing_else() {
        let body = br#"{"command_id":"c1"}"#;
        let good = header_value(KEY, body);
        assert_eq!(verify(KEY, body, Some(&good)), Ok(()));
        assert_eq!(verify(KEY, body, None), Err(SignatureError::Missing));
        assert_eq!(
            verify(KEY, body, Some("sha1=abc")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(KEY, body, Some(&format!("sha256={}", "zz".repeat(32)))),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(KEY, br#"{"command_id":"c2"}"#, Some(&good)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another-key-another-key-another-key", body, Some(&good)),
            Err(SignatureError::Mismatch)
        );
    }
}
