//! Field paths: the small subset of JSONPath that names one field of a
//! record, and the sources a mapping reads a value from.
//!
//! Guarantees: a [`FieldPath`] is checked when it is parsed (config load),
//! so a lookup never fails on the path itself; a lookup never panics and
//! tells a missing field (absent or `null` anywhere on the way) from a
//! value of the wrong type, naming the path up to the offending step.
//!
//! Syntax: `$` (the whole record), then steps: `.name` (a field; letters,
//! digits, `_` and `-`), `["name"]` or `['name']` (any field name, e.g.
//! one with dots), `[N]` (element N of an array, from 0).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A path that does not parse; the message says where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}` is not a field path ({reason}); write e.g. `$.a.b`, `$.a[0]` or `$[\"a.b\"]`")]
pub struct PathError {
    /// The text given.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A field of an object.
    Field(String),
    /// An element of an array.
    Index(usize),
}

/// A parsed field path (`$.a.b`, `$.a[0]`, `$["a.b"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    steps: Vec<Step>,
}

/// What a lookup found where it could not go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTypeError {
    /// The path up to and including the value of the wrong type.
    pub at: String,
    /// What it should have been (`an object`, `an array`).
    pub expected: &'static str,
    /// What it was.
    pub found: &'static str,
}

impl FieldPath {
    /// Parses a path.
    pub fn parse(text: &str) -> Result<FieldPath, PathError> {
        let fail = |reason: &str| PathError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| fail("it must start with `$`"))?;
        let bytes = rest.as_bytes();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < bytes.len()
                        && (bytes[end].is_ascii_alphanumeric()
                            || bytes[end] == b'_'
                            || bytes[end] == b'-')
                    {
                        end += 1;
                    }
                    if end == start {
                        return Err(fail(&format!(
                            "a field name must follow the `.` at position {}",
                            start
                        )));
                    }
                    steps.push(Step::Field(rest[start..end].to_string()));
                    i = end;
                }
                b'[' => {
                    let close = rest[i..]
                        .find(']')
                        .map(|c| c + i)
                        .ok_or_else(|| fail("a `[` is not closed"))?;
                    let inner = &rest[i + 1..close];
                    let quoted = inner.len() >= 2
                        && ((inner.starts_with('"') && inner.ends_with('"'))
                            || (inner.starts_with('\'') && inner.ends_with('\'')));
                    if quoted {
                        let name = &inner[1..inner.len() - 1];
                        if name.is_empty() {
                            return Err(fail("a quoted field name is empty"));
                        }
                        steps.push(Step::Field(name.to_string()));
                    } else {
                        let n = inner.parse::<usize>().map_err(|_| {
                            fail(&format!(
                                "`[{inner}]` is neither an index nor a quoted field name"
                            ))
                        })?;
                        steps.push(Step::Index(n));
                    }
                    i = close + 1;
                }
                other => {
                    return Err(fail(&format!(
                        "unexpected `{}` at position {}",
                        char::from(other),
                        i + 1
                    )))
                }
            }
        }
        Ok(FieldPath {
            text: text.to_string(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The value at the path: `Ok(None)` when a field on the way is absent
    /// or `null`, an error when a step meets a value it cannot enter.
    pub fn get<'a>(&self, root: &'a Value) -> Result<Option<&'a Value>, StepTypeError> {
        let mut at = root;
        for (n, step) in self.steps.iter().enumerate() {
            let next = match (step, at) {
                (_, Value::Null) => return Ok(None),
                (Step::Field(name), Value::Object(map)) => map.get(name),
                (Step::Index(i), Value::Array(items)) => items.get(*i),
                (Step::Field(_), other) => {
                    return Err(self.type_error(n, "an object", other));
                }
                (Step::Index(_), other) => {
                    return Err(self.type_error(n, "an array", other));
                }
            };
            match next {
                Some(v) => at = v,
                None => return Ok(None),
            }
        }
        Ok((!at.is_null()).then_some(at))
    }

    fn type_error(&self, steps: usize, expected: &'static str, found: &Value) -> StepTypeError {
        StepTypeError {
            at: self.prefix(steps),
            expected,
            found: json_type(found),
        }
    }

    /// The path's first `steps` steps, written out.
    pub fn prefix(&self, steps: usize) -> String {
        let mut out = String::from("$");
        for step in &self.steps[..steps] {
            push_step(&mut out, step);
        }
        out
    }
}

fn push_step(out: &mut String, step: &Step) {
    match step {
        Step::Field(name)
            if !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            out.push('.');
            out.push_str(name);
        }
        Step::Field(name) => {
            out.push_str("[\"");
            out.push_str(name);
            out.push_str("\"]");
        }
        Step::Index(i) => {
            out.push('[');
            out.push_str(&i.to_string());
            out.push(']');
        }
    }
}

/// A field name appended to a path, written the way [`FieldPath::parse`]
/// reads it back (`$.inputs` + `age` = `$.inputs.age`).
pub fn child(parent: &str, name: &str) -> String {
    let mut out = parent.to_string();
    push_step(&mut out, &Step::Field(name.to_string()));
    out
}

/// The JSON type of a value, as error messages name it.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for FieldPath {
    type Error = PathError;
    fn try_from(text: String) -> Result<Self, PathError> {
        FieldPath::parse(&text)
    }
}

impl From<FieldPath> for String {
    fn from(p: FieldPath) -> String {
        p.text
    }
}

impl Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        FieldPath::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Where a mapped value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The Kafka record's key, as UTF-8 text (`"$key"`).
    Key,
    /// The Kafka record's timestamp, ms (`"$timestamp"`; event time only).
    Timestamp,
    /// A field of the record (`"$.a.b"`).
    Path(FieldPath),
    /// A constant (any text not starting with `$`; model version only).
    Constant(String),
}

impl Source {
    /// A field path source; `text` must parse.
    pub fn path(text: &str) -> Result<Source, PathError> {
        Ok(Source::Path(FieldPath::parse(text)?))
    }

    /// Parses `$key`, `$timestamp`, a path or a constant.
    pub fn parse(text: &str) -> Result<Source, PathError> {
        match text {
            "$key" => Ok(Source::Key),
            "$timestamp" => Ok(Source::Timestamp),
            t if t.starts_with('$') => Source::path(t),
            t => Ok(Source::Constant(t.to_string())),
        }
    }

    /// How it is written in a config.
    pub fn text(&self) -> &str {
        match self {
            Source::Key => "$key",
            Source::Timestamp => "$timestamp",
            Source::Path(p) => p.as_str(),
            Source::Constant(c) => c,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text())
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Source::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str) -> FieldPath {
        match FieldPath::parse(text) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn parses_the_documented_subset() {
        assert_eq!(p("$").steps(), &[]);
        assert_eq!(
            p("$.meta.model").steps(),
            &[Step::Field("meta".into()), Step::Field("model".into())]
        );
        assert_eq!(
            p("$.a[0]['b.c'][\"d\"]").steps(),
            &[
                Step::Field("a".into()),
                Step::Index(0),
                Step::Field("b.c".into()),
                Step::Field("d".into())
            ]
        );
        assert_eq!(p("$.latency_ms").prefix(1), "$.latency_ms");
        assert_eq!(child("$.inputs", "a.b"), "$.inputs[\"a.b\"]");
    }

    #[test]
    fn bad_paths_say_why() {
        for (text, why) in [
            ("meta.model", "start with `$`"),
            ("$.", "field name must follow"),
            ("$..a", "field name must follow"),
            ("$.a[", "not closed"),
            ("$.a[x]", "neither an index"),
            ("$.a b", "unexpected ` `"),
            ("$['']", "empty"),
        ] {
            match FieldPath::parse(text) {
                Ok(p) => panic!("{text} parsed as {p:?}"),
                Err(e) => assert!(e.to_string().contains(why), "{text}: {e}"),
            }
        }
    }

    #[test]
    fn lookups_tell_missing_from_wrong_type() {
        let v = json!({"meta": {"model": "m", "tags": ["x", null]}, "n": null, "s": "t"});
        assert_eq!(p("$.meta.model").get(&v), Ok(Some(&json!("m"))));
        assert_eq!(p("$.meta.tags[0]").get(&v), Ok(Some(&json!("x"))));
        assert_eq!(p("$.meta.tags[1]").get(&v), Ok(None));
        assert_eq!(p("$.meta.tags[5]").get(&v), Ok(None));
        assert_eq!(p("$.absent.deeper").get(&v), Ok(None));
        assert_eq!(p("$.n.deeper").get(&v), Ok(None));
        let err = p("$.s.deeper").get(&v).err();
        assert_eq!(
            err,
            Some(StepTypeError {
                at: "$.s".into(),
                expected: "an object",
                found: "a string"
            })
        );
        let err = p("$.meta[0]").get(&v).err().map(|e| e.at);
        assert_eq!(err.as_deref(), Some("$.meta"));
    }

    #[test]
    fn sources_parse() {
        assert_eq!(Source::parse("$key"), Ok(Source::Key));
        assert_eq!(Source::parse("$timestamp"), Ok(Source::Timestamp));
        assert_eq!(Source::parse("v3"), Ok(Source::Constant("v3".into())));
        assert!(matches!(Source::parse("$.a"), Ok(Source::Path(_))));
        assert!(Source::parse("$oops").is_err());
    }
}
