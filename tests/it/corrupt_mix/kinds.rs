//! The corrupt records of `tests/corrupt_mix.rs`: sixteen kinds of bad
//! input, each built from a real prediction with a seeded RNG, with the
//! error class and a word of the reason its dead letter must carry. Every
//! kind is corrupt by construction (not by asking the decoder).

use apache_avro::types::Value;
use jidoka::schema::{frame, Codec, Label, Prediction};
use rand::rngs::StdRng;
use rand::Rng;

use crate::common::BoxError;

/// A kind of corrupt record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    BadMagic,
    ShortFrame,
    UnknownSchemaId,
    WrongRecordType,
    TruncatedAvro,
    TrailingBytes,
    MissingFields,
    HugeLength,
    NanFeature,
    InfiniteValue,
    NulInName,
    EmptyModelId,
    EventTimeOutOfRange,
    Tombstone,
    Garbage,
    Json,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 16] = [
        Kind::BadMagic,
        Kind::ShortFrame,
        Kind::UnknownSchemaId,
        Kind::WrongRecordType,
        Kind::TruncatedAvro,
        Kind::TrailingBytes,
        Kind::MissingFields,
        Kind::HugeLength,
        Kind::NanFeature,
        Kind::InfiniteValue,
        Kind::NulInName,
        Kind::EmptyModelId,
        Kind::EventTimeOutOfRange,
        Kind::Tombstone,
        Kind::Garbage,
        Kind::Json,
    ];
}

/// A corrupt record and what its dead letter must say.
#[derive(Debug, Clone)]
pub struct Corrupt {
    /// Its kind.
    pub kind: Kind,
    /// The value produced (None: a tombstone).
    pub payload: Option<Vec<u8>>,
    /// The dead letter's `error_kind`.
    pub class: &'static str,
    /// Text the dead letter's reason must contain (case-insensitive).
    pub word: String,
}

fn zigzag(value: i64) -> Vec<u8> {
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

fn avro_string(s: &str) -> Vec<u8> {
    [zigzag(s.len() as i64), s.as_bytes().to_vec()].concat()
}

/// Builds a corrupt record of `kind` from `base` (a good prediction of the
/// model whose key it will carry).
pub fn build(
    kind: Kind,
    base: &Prediction,
    codec: &Codec,
    rng: &mut StdRng,
) -> Result<Corrupt, BoxError> {
    let sample = codec.encode(base)?;
    let id = codec.id(jidoka::schema::SchemaKind::Prediction);
    let mut p = base.clone();
    let feature = p
        .features
        .keys()
        .nth(rng.gen_range(0..p.features.len().max(1)))
        .cloned()
        .unwrap_or_else(|| "x".into());
    let (payload, class, word): (Option<Vec<u8>>, &str, String) = match kind {
        Kind::BadMagic => {
            let mut b = sample.clone();
            b[0] = rng.gen_range(1..=255);
            (Some(b), "framing", "magic byte".into())
        }
        Kind::ShortFrame => {
            let n = rng.gen_range(0..5);
            (Some(sample[..n].to_vec()), "framing", "shorter than".into())
        }
        Kind::UnknownSchemaId => {
            let other = loop {
                let candidate: u32 = rng.gen();
                if candidate != id {
                    break candidate;
                }
            };
            (
                Some(frame(other, &sample[5..])),
                "unknown-schema",
                format!("unknown schema id {other}"),
            )
        }
        Kind::WrongRecordType => {
            let label = Label {
                prediction_id: p.prediction_id.clone(),
                model_id: p.model_id.clone(),
                event_time: p.event_time,
                label: "1".into(),
            };
            let found = codec.id(jidoka::schema::SchemaKind::Label);
            (
                Some(codec.encode(&label)?),
                "unknown-schema",
                format!("unknown schema id {found}"),
            )
        }
        Kind::TruncatedAvro => {
            // Anywhere, also just before the trailing optional fields (which
            // the Avro library alone would read as null).
            let len = sample.len();
            let cut = if rng.gen_bool(0.25) {
                len - [9, 12][rng.gen_range(0..2)]
            } else {
                rng.gen_range(5..len)
            };
            (Some(sample[..cut].to_vec()), "avro", "avro datum".into())
        }
        Kind::TrailingBytes => {
            let n = rng.gen_range(1..16);
            let mut b = sample.clone();
            b.extend((0..n).map(|_| rng.gen::<u8>()));
            (Some(b), "avro", format!("{n} unexpected bytes"))
        }
        Kind::MissingFields => {
            let partial = apache_avro::Schema::parse_str(
                r#"{"type":"record","name":"Prediction","namespace":"dev.jidoka","fields":[
                    {"name":"prediction_id","type":"string"},{"name":"model_id","type":"string"}]}"#,
            )?;
            let datum = apache_avro::to_avro_datum(
                &partial,
                Value::Record(vec![
                    (
                        "prediction_id".into(),
                        Value::String(p.prediction_id.clone()),
                    ),
                    ("model_id".into(), Value::String(p.model_id.clone())),
                ]),
            )?;
            (Some(frame(id, &datum)), "avro", "avro datum".into())
        }
        Kind::HugeLength => {
            // A string, or the features map, announcing far more than the
            // record holds (or a negative length).
            let huge = [100_000_000i64, 500_000_000, i64::MAX, -7][rng.gen_range(0..4)];
            let datum = if rng.gen_bool(0.5) {
                zigzag(huge)
            } else {
                [
                    avro_string(&p.prediction_id),
                    avro_string(&p.model_id),
                    avro_string(&p.model_version),
                    zigzag(p.event_time),
                    zigzag(huge),
                ]
                .concat()
            };
            (Some(frame(id, &datum)), "avro", "avro datum".into())
        }
        Kind::NanFeature => {
            p.features.insert(feature.clone(), f64::NAN);
            (Some(codec.encode(&p)?), "invalid-value", feature)
        }
        Kind::InfiniteValue => {
            let inf = if rng.gen_bool(0.5) {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            let word = match rng.gen_range(0..3) {
                0 => {
                    p.score = inf;
                    "score".to_string()
                }
                1 => {
                    p.latency_ms = Some(inf);
                    "latency_ms".to_string()
                }
                _ => {
                    p.features.insert(feature.clone(), inf);
                    feature
                }
            };
            (Some(codec.encode(&p)?), "invalid-value", word)
        }
        Kind::NulInName => {
            if rng.gen_bool(0.5) {
                p.model_id = format!("{}\0", p.model_id);
            } else {
                p.features.insert(format!("{feature}\0x"), 1.0);
            }
            (Some(codec.encode(&p)?), "invalid-value", "NUL".into())
        }
        Kind::EmptyModelId => {
            p.model_id.clear();
            (
                Some(codec.encode(&p)?),
                "invalid-value",
                "model_id is empty".into(),
            )
        }
        Kind::EventTimeOutOfRange => {
            p.event_time = if rng.gen_bool(0.5) {
                -rng.gen_range(1..i64::MAX)
            } else {
                rng.gen_range(253_402_300_800_000..i64::MAX)
            };
            (
                Some(codec.encode(&p)?),
                "invalid-value",
                "event_time".into(),
            )
        }
        Kind::Tombstone => (None, "missing-value", "no value".into()),
        Kind::Garbage => {
            let n = rng.gen_range(5..200);
            let mut b: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            b[0] = rng.gen_range(1..=255);
            (Some(b), "framing", "magic byte".into())
        }
        Kind::Json => (
            Some(serde_json::to_vec(&p)?),
            "framing",
            "magic byte 0x7b".into(),
        ),
    };
    Ok(Corrupt {
        kind,
        payload,
        class,
        word,
    })
}
