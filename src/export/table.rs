//! A flat table for analysts: typed columns, and the rows of a record
//! type as one [`Layout`] builds them.
//!
//! Guarantees: pure. A layout is a list of fields, each a column and the
//! function that reads its value from a record; a field's constructor
//! fixes its column's kind and the kind of every value it yields, so a
//! row always has one value per column, of the column's kind or null.

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// 64-bit signed integer.
    Int,
    /// 64-bit float.
    Float,
    /// true or false.
    Bool,
    /// An instant, in milliseconds since the epoch (UTC).
    Time,
    /// A list of texts.
    TextList,
    /// JSON text (an array or an object).
    Json,
}

impl Kind {
    /// The kind's name in the docs and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Bool => "bool",
            Kind::Time => "time",
            Kind::TextList => "list of text",
            Kind::Json => "json",
        }
    }
}

/// A column: its name and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Name (snake_case).
    pub name: String,
    /// What it holds.
    pub kind: Kind,
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (an absent optional field).
    Null,
    /// [`Kind::Text`].
    Text(String),
    /// [`Kind::Int`].
    Int(i64),
    /// [`Kind::Float`].
    Float(f64),
    /// [`Kind::Bool`].
    Bool(bool),
    /// [`Kind::Time`], ms since the epoch.
    Time(i64),
    /// [`Kind::TextList`].
    TextList(Vec<String>),
    /// [`Kind::Json`]: valid JSON text.
    Json(String),
}

impl Value {
    /// The kind of a non-null value.
    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            Value::Null => return None,
            Value::Text(_) => Kind::Text,
            Value::Int(_) => Kind::Int,
            Value::Float(_) => Kind::Float,
            Value::Bool(_) => Kind::Bool,
            Value::Time(_) => Kind::Time,
            Value::TextList(_) => Kind::TextList,
            Value::Json(_) => Kind::Json,
        })
    }
}

type Getter<T> = Box<dyn Fn(&T) -> Value + Send + Sync>;

/// A column and how to read it from a `T`.
pub struct Field<T> {
    column: Column,
    get: Getter<T>,
}

fn field<T, X: 'static, O>(
    name: impl Into<String>,
    kind: Kind,
    wrap: fn(X) -> Value,
    f: impl Fn(&T) -> O + Send + Sync + 'static,
) -> Field<T>
where
    O: Into<Option<X>>,
{
    Field {
        column: Column {
            name: name.into(),
            kind,
        },
        get: Box::new(move |r| f(r).into().map_or(Value::Null, wrap)),
    }
}

impl<T> Field<T> {
    /// A text column (null where `f` gives `None`).
    pub fn text<O: Into<Option<String>>>(
        name: impl Into<String>,
        f: impl Fn(&T) -> O + Send + Sync + 'static,
    ) -> Self {
        field(name, Kind::Text, Value::Text, f)
    }

    /// An integer column.
    pub fn int<O: Into<Option<i64>>>(
        name: impl Into<String>,
        f: impl Fn(&T) -> O + Send + Sync + 'static,
    ) -> Self {
        field(name, Kind::Int, Value::Int, f)
    }

    /// A float column.
    pub fn float<O: Into<Option<f64>>>(
        name: impl Into<String>,
        f: impl Fn(&T) -> O + Send + Sync + 'static,
    ) -> Self {
        field(name, Kind::Float, Value::Float, f)
    }

    /// A boolean column.
    pub fn bool<O: Into<Option<bool>>>(
        name: impl Into<String>,
        f: impl Fn(&T) -> O + Send + Sync + 'static,
    ) -> Self {
        field(name, Kind::Bool, Value::Bool, f)
    }

    /// A time column (`f` gives ms since the epoch).
    pub fn time<O: Into<Option<i64>>>(
        name: impl Into<String>,
        f: impl Fn(&T) -> O + Send + Sync + 'static,
    ) -> Self {
        field(name, Kind::Time, Value::Time, f)
    }

    /// A list-of-text column.
    pub fn list<O: Into<Option<Vec<String>>>>(
        name: impl Into<String>,
        f: impl Fn(&T) -> O + Send + Sync + 'static,
    ) -> Self {
        field(name, Kind::TextList, Value::TextList, f)
    }

    /// A JSON column: `f` gives the JSON text (see [`json_text`]), or
    /// `None` for null.
    pub fn json(
        name: impl Into<String>,
        f: impl Fn(&T) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        field(name, Kind::Json, Value::Json, f)
    }
}

/// `v` as JSON text. Serializing plain records cannot fail (non-finite
/// floats become null); a failure would be a null cell.
pub fn json_text<S: serde::Serialize + ?Sized>(v: &S) -> Option<String> {
    serde_json::to_string(v).ok()
}

/// How records of type `T` become rows.
pub struct Layout<T> {
    fields: Vec<Field<T>>,
}

impl<T> Layout<T> {
    /// The layout of these fields, in this column order.
    pub fn new(fields: Vec<Field<T>>) -> Self {
        Layout { fields }
    }

    /// The columns, in order.
    pub fn columns(&self) -> Vec<Column> {
        self.fields.iter().map(|f| f.column.clone()).collect()
    }

    /// The row of `record`: one value per column.
    pub fn row(&self, record: &T) -> Vec<Value> {
        self.fields.iter().map(|f| (f.get)(record)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R {
        name: &'static str,
        n: Option<i64>,
        tags: Vec<&'static str>,
    }

    #[test]
    fn a_row_has_one_value_per_column_of_its_kind() {
        let layout = Layout::new(vec![
            Field::text("name", |r: &R| r.name.to_string()),
            Field::int("n", |r: &R| r.n),
            Field::time("at", |r: &R| r.n.map(|n| n * 1000)),
            Field::list("tags", |r: &R| {
                r.tags.iter().map(|t| t.to_string()).collect::<Vec<_>>()
            }),
            Field::json("tags_json", |r: &R| json_text(&r.tags)),
            Field::float("half", |r: &R| r.n.map(|n| n as f64 / 2.0)),
            Field::bool("some", |r: &R| r.n.is_some()),
        ]);
        let columns = layout.columns();
        let kinds: Vec<Kind> = columns.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Text,
                Kind::Int,
                Kind::Time,
                Kind::TextList,
                Kind::Json,
                Kind::Float,
                Kind::Bool
            ]
        );
        let row = layout.row(&R {
            name: "a",
            n: Some(3),
            tags: vec!["x", "y"],
        });
        assert_eq!(
            row,
            [
                Value::Text("a".into()),
                Value::Int(3),
                Value::Time(3000),
                Value::TextList(vec!["x".into(), "y".into()]),
                Value::Json(r#"["x","y"]"#.into()),
                Value::Float(1.5),
                Value::Bool(true),
            ]
        );
        let row = layout.row(&R {
            name: "b",
            n: None,
            tags: vec![],
        });
        assert_eq!(row[1], Value::Null);
        assert_eq!(row[2], Value::Null);
        assert_eq!(row[4], Value::Json("[]".into()));
        for (v, c) in row.iter().zip(&columns) {
            assert!(v.kind().is_none_or(|k| k == c.kind), "{}", c.name);
        }
    }
}
