//! Records decoded with their writer schema into a generic JSON value, for
//! inputs with the producer's own field names (mapped to jidoka's records
//! by field paths).
//!
//! Guarantees: [`Codec::decode_generic`] never panics on any input; the
//! value has the writer schema's own field names (no resolution against
//! jidoka's schemas); unions become their branch's value, enums their
//! symbol, bytes and fixed an array of byte values, dates and times their
//! number, decimals their text; a NaN or infinite float is an
//! [`DecodeError::InvalidValue`] naming its path (JSON has no such
//! numbers).

use apache_avro::types::Value;
use serde_json::{Map, Number, Value as Json};

use super::codec::read_datum;
use super::wire::unframe;
use super::{Codec, DecodeError};

impl Codec {
    /// Decodes a framed Avro record with the writer schema its header's id
    /// names (with a registry: fetched beforehand, see
    /// [`crate::schema::registry::fetch_missing`]) into a JSON value.
    pub fn decode_generic(&self, bytes: Option<&[u8]>) -> Result<Json, DecodeError> {
        let bytes = bytes.ok_or(DecodeError::MissingValue)?;
        let (id, datum) = unframe(bytes)?;
        let writer = self.any_writer(id)?;
        let value = read_datum(writer.schema(), datum, None)?;
        to_json(value, &mut String::from("$"))
    }
}

/// An Avro value as JSON; `path` names where it is (`$.features.age`).
pub fn to_json(value: Value, path: &mut String) -> Result<Json, DecodeError> {
    let float = |f: f64, path: &str| {
        Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| DecodeError::InvalidValue(format!("{path} is {f}, not a finite number")))
    };
    Ok(match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Int(i) | Value::Date(i) | Value::TimeMillis(i) => Json::from(i),
        Value::Long(i)
        | Value::TimeMicros(i)
        | Value::TimestampMillis(i)
        | Value::TimestampMicros(i)
        | Value::TimestampNanos(i)
        | Value::LocalTimestampMillis(i)
        | Value::LocalTimestampMicros(i)
        | Value::LocalTimestampNanos(i) => Json::from(i),
        Value::Float(f) => float(f64::from(f), path)?,
        Value::Double(f) => float(f, path)?,
        Value::Bytes(b) | Value::Fixed(_, b) => Json::from(b),
        Value::String(s) | Value::Enum(_, s) => Json::String(s),
        Value::Uuid(u) => Json::String(u.to_string()),
        Value::BigDecimal(d) => Json::String(d.to_string()),
        Value::Decimal(d) => {
            let bytes: Vec<u8> = Vec::<u8>::try_from(d).unwrap_or_default();
            Json::from(bytes)
        }
        Value::Duration(d) => serde_json::json!({
            "months": u32::from(d.months()),
            "days": u32::from(d.days()),
            "millis": u32::from(d.millis()),
        }),
        Value::Union(_, inner) => to_json(*inner, path)?,
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(to_json(item, path)?);
                path.truncate(len);
            }
            Json::Array(out)
        }
        Value::Map(entries) => {
            let mut entries: Vec<_> = entries.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            object(entries, path)?
        }
        Value::Record(fields) => object(fields, path)?,
    })
}

fn object(fields: Vec<(String, Value)>, path: &mut String) -> Result<Json, DecodeError> {
    let mut out = Map::with_capacity(fields.len());
    for (name, value) in fields {
        let len = path.len();
        path.push('.');
        path.push_str(&name);
        let json = to_json(value, path)?;
        path.truncate(len);
        out.insert(name, json);
    }
    Ok(Json::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_native_record_reads_into_json_with_its_field_names(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let codec = Codec::new(Config::defaults()?.schemas.ids)?;
        let record = crate::demo::scenario::Scenario::demo(2, 1)
            .predictions()
            .remove(0);
        let json = codec.decode_generic(Some(&codec.encode(&record)?))?;
        assert_eq!(json["model_id"], record.model_id.as_str());
        assert_eq!(json["event_time"], record.event_time);
        assert_eq!(json["score"], record.score);
        assert_eq!(json["categorical_features"], Json::Null);
        for (name, value) in &record.features {
            assert_eq!(json["features"][name], *value);
        }
        // An id none of the fixed ones is refused, and says so.
        let err = codec
            .decode_generic(Some(&crate::schema::frame(999, b"")))
            .err()
            .ok_or("decoded")?;
        assert_eq!(err.kind(), "unknown-schema");
        Ok(())
    }

    #[test]
    fn non_finite_floats_name_their_path() {
        let value = Value::Record(vec![(
            "inputs".into(),
            Value::Map([("age".to_string(), Value::Double(f64::NAN))].into()),
        )]);
        match to_json(value, &mut String::from("$")) {
            Err(DecodeError::InvalidValue(m)) => assert!(m.contains("$.inputs.age"), "{m}"),
            other => panic!("expected an invalid value, got {other:?}"),
        }
    }
}
