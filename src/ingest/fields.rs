//! The fields a writer schema declares, and the start-up check that a
//! mapping names only fields it has.
//!
//! Guarantees: [`FieldTree::from_avro`] describes any Avro schema (a union
//! with `null` is its other branch; any other union, or a named reference,
//! is [`FieldTree::Any`], which every path may enter), and
//! [`PredictionMapping::check_against`] / [`LabelMapping::check_against`]
//! fail, naming the mapping key and the path, exactly when a path of the
//! mapping cannot exist in records of that schema. Without a known schema
//! (plain JSON) the same mistake is found per record, as a dead letter.

use std::collections::BTreeMap;

use apache_avro::Schema;

use super::config::{LabelMapping, PredictionMapping};
use super::path::{FieldPath, Source, Step};

/// The shape of a record type: which field paths it can have.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldTree {
    /// Unknown shape: any path may exist.
    Any,
    /// A scalar (string, number, boolean, bytes, enum...).
    Leaf,
    /// A record with these fields.
    Record(BTreeMap<String, FieldTree>),
    /// A map: any key, values of this shape.
    Map(Box<FieldTree>),
    /// An array of elements of this shape.
    Array(Box<FieldTree>),
}

/// A mapping names a field its writer schema does not have: a start-up
/// error, the user's to fix (the mapping or the producer's schema).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mapping key `{key}` reads `{path}`, which the writer schema does not have: {reason}")]
pub struct SchemaMismatch {
    /// Mapping key, e.g. `score` or `features`.
    pub key: String,
    /// Path it reads.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl FieldTree {
    /// The fields of an Avro schema.
    pub fn from_avro(schema: &Schema) -> FieldTree {
        match schema {
            Schema::Record(record) => FieldTree::Record(
                record
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), FieldTree::from_avro(&f.schema)))
                    .collect(),
            ),
            Schema::Map(map) => FieldTree::Map(Box::new(FieldTree::from_avro(&map.types))),
            Schema::Array(array) => FieldTree::Array(Box::new(FieldTree::from_avro(&array.items))),
            Schema::Union(union) => {
                let branches: Vec<&Schema> = union
                    .variants()
                    .iter()
                    .filter(|s| !matches!(s, Schema::Null))
                    .collect();
                match branches.as_slice() {
                    [one] => FieldTree::from_avro(one),
                    _ => FieldTree::Any,
                }
            }
            Schema::Ref { .. } => FieldTree::Any,
            _ => FieldTree::Leaf,
        }
    }

    /// The shape at `path`, or why it cannot exist.
    pub fn at(&self, path: &FieldPath) -> Result<&FieldTree, String> {
        let mut tree = self;
        for (n, step) in path.steps().iter().enumerate() {
            tree = match (tree, step) {
                (FieldTree::Any, _) => return Ok(tree),
                (FieldTree::Record(fields), Step::Field(name)) => match fields.get(name) {
                    Some(t) => t,
                    None => {
                        let known: Vec<&str> = fields.keys().map(String::as_str).collect();
                        return Err(format!(
                            "`{}` has no field `{name}` (it has: {})",
                            path.prefix(n),
                            known.join(", ")
                        ));
                    }
                },
                (FieldTree::Map(values), Step::Field(_)) => values,
                (FieldTree::Array(items), Step::Index(_)) => items,
                (_, step) => {
                    let what = match step {
                        Step::Field(_) => "a record or map",
                        Step::Index(_) => "an array",
                    };
                    return Err(format!("`{}` is not {what}", path.prefix(n)));
                }
            };
        }
        Ok(tree)
    }

    fn check(&self, key: &str, source: &Source) -> Result<(), SchemaMismatch> {
        match source {
            Source::Path(p) => self.at(p).map(|_| ()).map_err(|reason| SchemaMismatch {
                key: key.into(),
                path: p.as_str().into(),
                reason,
            }),
            _ => Ok(()),
        }
    }

    /// The object the features are read from, checked to hold `names`.
    fn check_features(
        &self,
        from: Option<&FieldPath>,
        names: &[&String],
    ) -> Result<(), SchemaMismatch> {
        let base_path = from.map_or("$", FieldPath::as_str);
        let base = match from {
            Some(p) => self.at(p).map_err(|reason| SchemaMismatch {
                key: "features-from".into(),
                path: p.as_str().into(),
                reason,
            })?,
            None => self,
        };
        match base {
            FieldTree::Any | FieldTree::Map(_) => Ok(()),
            FieldTree::Record(fields) => {
                for name in names {
                    if !fields.contains_key(name.as_str()) {
                        return Err(SchemaMismatch {
                            key: "features".into(),
                            path: super::path::child(base_path, name),
                            reason: format!("`{base_path}` has no field `{name}`"),
                        });
                    }
                }
                Ok(())
            }
            _ => Err(SchemaMismatch {
                key: "features-from".into(),
                path: base_path.into(),
                reason: format!("`{base_path}` is not a record or map"),
            }),
        }
    }
}

impl PredictionMapping {
    /// Checks every path of the mapping against the writer schema's fields.
    pub fn check_against(&self, fields: &FieldTree) -> Result<(), SchemaMismatch> {
        for (key, source) in self.sources() {
            // Optional fields of the record may be absent from the schema
            // only while they keep their default (jidoka's own name).
            let default = PredictionMapping::default();
            let optional_default = match key {
                "predicted-class" => source == &default.predicted_class,
                "latency-ms" => source == &default.latency_ms,
                _ => false,
            };
            if !optional_default {
                fields.check(key, source)?;
            }
        }
        let names: Vec<&String> = self.features.iter().chain(&self.categorical).collect();
        if names.is_empty() && self.features_from.is_none() {
            let native = FieldPath::parse("$.features").map_err(|e| SchemaMismatch {
                key: "features-from".into(),
                path: "$.features".into(),
                reason: e.to_string(),
            })?;
            return fields.check_features(Some(&native), &[]);
        }
        fields.check_features(self.features_from.as_ref(), &names)
    }
}

impl LabelMapping {
    /// Checks every path of the mapping against the writer schema's fields.
    pub fn check_against(&self, fields: &FieldTree) -> Result<(), SchemaMismatch> {
        for (key, source) in self.sources() {
            fields.check(key, source)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLATFORM: &str = r#"{"type": "record", "name": "Scored", "fields": [
        {"name": "request_id", "type": "string"},
        {"name": "model", "type": {"type": "record", "name": "M", "fields": [
            {"name": "name", "type": "string"}, {"name": "version", "type": "string"}]}},
        {"name": "ts", "type": "long"},
        {"name": "inputs", "type": {"type": "map", "values": "double"}},
        {"name": "flags", "type": ["null", {"type": "array", "items": "string"}]},
        {"name": "output", "type": {"type": "record", "name": "O", "fields": [
            {"name": "score", "type": "double"}]}}]}"#;

    fn tree() -> FieldTree {
        match Schema::parse_str(PLATFORM) {
            Ok(s) => FieldTree::from_avro(&s),
            Err(e) => panic!("{e}"),
        }
    }

    fn mapping(toml_text: &str) -> PredictionMapping {
        match toml::from_str(toml_text) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    const GOOD: &str = r#"
        model-id = "$.model.name"
        model-version = "$.model.version"
        prediction-id = "$.request_id"
        score = "$.output.score"
        event-time = "$.ts"
        features-from = "$.inputs"
    "#;

    #[test]
    fn a_mapping_that_fits_the_schema_passes() {
        assert_eq!(mapping(GOOD).check_against(&tree()), Ok(()));
        let m = mapping(&format!("{GOOD}\npredicted-class = \"$.flags[0]\""));
        assert_eq!(m.check_against(&tree()), Ok(()));
    }

    #[test]
    fn a_field_the_schema_lacks_is_named() {
        let m = mapping(&GOOD.replace("$.output.score", "$.output.proba"));
        let err = m.check_against(&tree()).err();
        let err = err.map(|e| (e.key, e.path, e.reason.contains("has no field `proba`")));
        assert_eq!(err, Some(("score".into(), "$.output.proba".into(), true)));
        let m = mapping(&GOOD.replace("$.ts", "$.ts.seconds"));
        assert_eq!(
            m.check_against(&tree()).map_err(|e| e.key),
            Err("event-time".into())
        );
        let m = mapping(&GOOD.replace("features-from = \"$.inputs\"", "features = [\"age\"]"));
        assert_eq!(
            m.check_against(&tree()).map_err(|e| (e.key, e.path)),
            Err(("features".into(), "$.age".into()))
        );
    }
}
