//! Confluent's wire format: magic byte 0, a 4-byte big-endian schema id, then
//! the Avro binary datum. Framing never panics on any input.

/// First byte of every framed record.
pub const MAGIC_BYTE: u8 = 0;
const HEADER_LEN: usize = 5;

/// Why bytes are not a framed record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// Fewer than the 5 header bytes.
    #[error("record is {0} bytes long, shorter than the 5-byte Confluent header")]
    TooShort(usize),
    /// The first byte is not 0.
    #[error("wrong magic byte {0:#04x}, expected 0x00 (Confluent wire format)")]
    WrongMagic(u8),
}

/// Prepends the header for `schema_id` to an Avro datum.
pub fn frame(schema_id: u32, datum: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + datum.len());
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(datum);
    out
}

/// Splits a framed record into its schema id and Avro datum.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8]), FramingError> {
    if bytes.len() < HEADER_LEN {
        return Err(FramingError::TooShort(bytes.len()));
    }
    if bytes[0] != MAGIC_BYTE {
        return Err(FramingError::WrongMagic(bytes[0]));
    }
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[HEADER_LEN..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let framed = frame(7, b"abc");
        assert_eq!(framed, vec![0, 0, 0, 0, 7, b'a', b'b', b'c']);
        assert_eq!(unframe(&framed), Ok((7, &b"abc"[..])));
    }

    #[test]
    fn rejects_short_and_wrong_magic() {
        assert_eq!(unframe(&[0, 0, 1]), Err(FramingError::TooShort(3)));
        assert_eq!(unframe(&[1, 0, 0, 0, 1]), Err(FramingError::WrongMagic(1)));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = unframe(&bytes);
        }

        #[test]
        fn frame_unframe(id in any::<u32>(), datum in proptest::collection::vec(any::<u8>(), 0..64)) {
            let framed = frame(id, &datum);
            prop_assert_eq!(unframe(&framed), Ok((id, &datum[..])));
        }
    }
}
