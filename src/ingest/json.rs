//! JSON input: a record's value as a `serde_json::Value`.
//!
//! Guarantees: a value is read plain or in Confluent's JSON-Schema frame
//! (byte 0, a 4-byte big-endian schema id, then the JSON text; no JSON text
//! starts with byte 0, so the two never mix up), and the frame's id is
//! returned; malformed JSON is an error with its line and column. Tokens
//! that lenient producers write for non-finite numbers (`NaN`, `Infinity`,
//! `-Infinity`, Python's `json.dumps` default) and numbers too large for
//! an `f64` are not malformed: they arrive as marked strings, so the
//! mapping names the field that holds one ([`non_finite_token`]). The
//! rewrite runs only after a strict parse failed, off the fast path.

use serde_json::Value;

/// A record's value read as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonRecord {
    /// Schema id of the Confluent frame, when the value had one.
    pub schema_id: Option<u32>,
    /// The JSON value.
    pub value: Value,
}

/// Why a value is not JSON. The record's fault: retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// No value (a tombstone).
    #[error("record has no value")]
    MissingValue,
    /// A Confluent frame shorter than its header.
    #[error("value starts with the Confluent magic byte 0 but has {0} bytes, fewer than the 5-byte header")]
    ShortFrame(usize),
    /// Not JSON.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Malformed {
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// serde_json's message.
        message: String,
    },
}

impl JsonError {
    /// Short class name, written as `error_kind` in dead-letter records.
    pub fn kind(&self) -> &'static str {
        match self {
            JsonError::MissingValue => "missing-value",
            JsonError::ShortFrame(_) => "framing",
            JsonError::Malformed { .. } => "json",
        }
    }
}

/// Marks a string that stands for a non-finite number token.
const NON_FINITE_MARK: &str = "\u{0}jidoka-non-finite:";

/// The token a marked string stands for (`NaN`, `Infinity`, `1e999`), or
/// `None` for an ordinary string.
pub fn non_finite_token(s: &str) -> Option<&str> {
    s.strip_prefix(NON_FINITE_MARK)
}

/// Reads a record's value as JSON.
pub fn parse(bytes: Option<&[u8]>) -> Result<JsonRecord, JsonError> {
    let bytes = bytes.ok_or(JsonError::MissingValue)?;
    let (schema_id, text) = match bytes.first() {
        Some(0) => {
            let header: [u8; 4] = bytes
                .get(1..5)
                .and_then(|h| h.try_into().ok())
                .ok_or(JsonError::ShortFrame(bytes.len()))?;
            (Some(u32::from_be_bytes(header)), &bytes[5..])
        }
        _ => (None, bytes),
    };
    match serde_json::from_slice::<Value>(text) {
        Ok(value) => Ok(JsonRecord { schema_id, value }),
        Err(strict) => {
            if let Some(marked) = mark_non_finite(text) {
                if let Ok(value) = serde_json::from_slice::<Value>(&marked) {
                    return Ok(JsonRecord { schema_id, value });
                }
            }
            Err(JsonError::Malformed {
                line: strict.line(),
                column: strict.column(),
                message: strict.to_string(),
            })
        }
    }
}

/// The text with every non-finite number token outside strings replaced by
/// a marked string, or `None` when it has none.
fn mark_non_finite(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() + 32);
    let mut changed = false;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'"' {
            // Copy the string through its closing quote.
            let start = i;
            i += 1;
            while i < text.len() && text[i] != b'"' {
                i += if text[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(text.len());
            out.extend_from_slice(&text[start..i]);
            continue;
        }
        let token_len = text[i..]
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
            .unwrap_or(text.len() - i);
        if token_len == 0 {
            out.push(b);
            i += 1;
            continue;
        }
        let token = &text[i..i + token_len];
        let non_finite = match token {
            b"NaN" | b"-NaN" | b"Infinity" | b"-Infinity" | b"+Infinity" => true,
            t if t.first().is_some_and(|c| c.is_ascii_digit() || *c == b'-') => {
                std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .is_some_and(|x| !x.is_finite())
            }
            _ => false,
        };
        if non_finite {
            changed = true;
            out.push(b'"');
            out.extend_from_slice(b"\\u0000");
            out.extend_from_slice(&NON_FINITE_MARK.as_bytes()[1..]);
            out.extend_from_slice(token);
            out.push(b'"');
        } else {
            out.extend_from_slice(token);
        }
        i += token_len;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_plain_and_confluent_framed_json() {
        let plain = parse(Some(br#"{"a": 1}"#));
        assert_eq!(
            plain,
            Ok(JsonRecord {
                schema_id: None,
                value: json!({"a": 1})
            })
        );
        let mut framed = vec![0, 0, 0, 1, 44];
        framed.extend_from_slice(br#"{"a": 1}"#);
        assert_eq!(parse(Some(&framed)).map(|r| r.schema_id), Ok(Some(300)));
        assert_eq!(parse(Some(&[0, 0, 1])), Err(JsonError::ShortFrame(3)));
        assert_eq!(parse(None), Err(JsonError::MissingValue));
    }

    #[test]
    fn malformed_json_says_where() {
        let err = parse(Some(b"{\"a\": 1,\n \"b\": }")).err();
        match err {
            Some(JsonError::Malformed { line, column, .. }) => assert_eq!((line, column), (2, 7)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse(Some(b"{\"a\": NaN")).map_err(|e| e.kind()),
            Err("json")
        );
    }

    #[test]
    fn non_finite_tokens_become_marked_strings() -> Result<(), JsonError> {
        let r = parse(Some(
            br#"{"a": NaN, "b": [-Infinity, 1e999], "s": "NaN \" Infinity", "n": 2.5}"#,
        ))?;
        let marked = |v: &Value| v.as_str().and_then(non_finite_token).map(str::to_string);
        assert_eq!(marked(&r.value["a"]).as_deref(), Some("NaN"));
        assert_eq!(marked(&r.value["b"][0]).as_deref(), Some("-Infinity"));
        assert_eq!(marked(&r.value["b"][1]).as_deref(), Some("1e999"));
        assert_eq!(r.value["s"], json!("NaN \" Infinity"));
        assert_eq!(r.value["n"], json!(2.5));
        Ok(())
    }
}
