//! Writing a table to a file: Parquet (through Arrow arrays), CSV or JSON
//! lines.
//!
//! Guarantees: the file is complete or not there at all (rows go to a
//! temporary file in the target's directory, renamed into place when every
//! row is written and flushed; an error leaves any older file as it was);
//! every error names the path. The three formats hold the same values:
//!
//! - Parquet (Snappy): text and JSON as `STRING`, ints as `INT64`, floats
//!   as `DOUBLE`, bools as `BOOLEAN`, times as `TIMESTAMP(MILLIS, UTC)`,
//!   text lists as `LIST<STRING>`; every column nullable; row groups of
//!   [`ROW_GROUP_ROWS`] rows, built [`BATCH_ROWS`] rows at a time.
//! - CSV: a header of the column names, then one line per row (quoted
//!   where needed); null is an empty cell; times RFC 3339 UTC with
//!   milliseconds; floats in Rust's shortest round-trip form (`NaN`,
//!   `inf`); lists as JSON arrays; JSON columns as their JSON text.
//! - JSON lines: one object per row, keys in column order; null is `null`;
//!   times as in CSV; non-finite floats `null` (JSON has no NaN); lists as
//!   arrays; JSON columns as the JSON values themselves (nested, not
//!   strings).
//!
//! A time that RFC 3339 cannot show (before 1970 or after year 9999) is
//! written as its epoch milliseconds (a number in JSON lines).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::error::ExportError;
use super::table::{Column, Kind, Value};

/// Rows per Arrow batch: what is held as values and arrays at a time.
pub const BATCH_ROWS: usize = 8 * 1024;

/// Rows per Parquet row group (held encoded and compressed until written).
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Latest time (ms) RFC 3339 can show: 9999-12-31T23:59:59.999Z.
const MAX_RFC3339_MS: i64 = 253_402_300_799_999;

/// An export's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format named `parquet`, `csv` or `jsonl`.
    pub fn parse(name: &str) -> Result<Format, String> {
        match name {
            "parquet" => Ok(Format::Parquet),
            "csv" => Ok(Format::Csv),
            "jsonl" => Ok(Format::Jsonl),
            _ => Err(format!(
                "unknown format `{name}` (expected parquet, csv or jsonl)"
            )),
        }
    }

    /// The format a file name's extension says (`.parquet`, `.csv`,
    /// `.jsonl` or `.ndjson`).
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "parquet" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Writes `rows` (each one value per column of `columns`) to `out` in
/// `format`, atomically; returns the number of rows written.
pub fn write_table(
    out: &Path,
    format: Format,
    columns: &[Column],
    rows: &mut dyn Iterator<Item = Vec<Value>>,
) -> Result<u64, ExportError> {
    let path = out.display().to_string();
    let io = |source| ExportError::Io {
        path: path.clone(),
        source,
    };
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
    // An export is for sharing: readable by all, like a file the user
    // creates (the temporary file is private until now).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    let file = tmp.as_file_mut();
    let written = match format {
        Format::Parquet => write_parquet(file, columns, rows, &path)?,
        Format::Csv => write_csv(BufWriter::new(file), columns, rows, &path)?,
        Format::Jsonl => write_jsonl(BufWriter::new(file), columns, rows).map_err(io)?,
    };
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(out).map_err(|e| io(e.error))?;
    Ok(written)
}

/// `ms` as RFC 3339 UTC with milliseconds, when it can show it.
pub fn rfc3339(ms: i64) -> Option<String> {
    (0..=MAX_RFC3339_MS).contains(&ms).then(|| {
        humantime::format_rfc3339_millis(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64),
        )
        .to_string()
    })
}

/// A list of texts as a JSON array.
fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Kind::Text | Kind::Json => DataType::Utf8,
        Kind::Int => DataType::Int64,
        Kind::Float => DataType::Float64,
        Kind::Bool => DataType::Boolean,
        Kind::Time => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        Kind::TextList => DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
    }
}

/// The Arrow schema of `columns` (every column nullable).
pub fn arrow_schema(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c.kind), true))
            .collect::<Vec<_>>(),
    ))
}

/// One column's values of a batch as an Arrow array; a value of another
/// kind than the column's (which a [`super::table::Layout`] never yields)
/// is null.
fn arrow_column(kind: Kind, rows: &[Vec<Value>], i: usize) -> ArrayRef {
    let cells = rows.iter().map(|r| r.get(i).unwrap_or(&Value::Null));
    match kind {
        Kind::Text | Kind::Json => {
            let mut b = StringBuilder::new();
            for v in cells {
                match v {
                    Value::Text(s) | Value::Json(s) => b.append_value(s),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Int => {
            let mut b = Int64Builder::with_capacity(rows.len());
            for v in cells {
                b.append_option(if let Value::Int(n) = v {
                    Some(*n)
                } else {
                    None
                });
            }
            Arc::new(b.finish())
        }
        Kind::Float => {
            let mut b = Float64Builder::with_capacity(rows.len());
            for v in cells {
                b.append_option(if let Value::Float(x) = v {
                    Some(*x)
                } else {
                    None
                });
            }
            Arc::new(b.finish())
        }
        Kind::Bool => {
            let mut b = BooleanBuilder::with_capacity(rows.len());
            for v in cells {
                b.append_option(if let Value::Bool(x) = v {
                    Some(*x)
                } else {
                    None
                });
            }
            Arc::new(b.finish())
        }
        Kind::Time => {
            let mut b = TimestampMillisecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
            for v in cells {
                b.append_option(if let Value::Time(t) = v {
                    Some(*t)
                } else {
                    None
                });
            }
            Arc::new(b.finish())
        }
        Kind::TextList => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for v in cells {
                match v {
                    Value::TextList(items) => {
                        for s in items {
                            b.values().append_value(s);
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// The rows of one batch as an Arrow record batch.
pub fn record_batch(
    schema: &SchemaRef,
    columns: &[Column],
    rows: &[Vec<Value>],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, c)| arrow_column(c.kind, rows, i))
        .collect();
    RecordBatch::try_new(schema.clone(), arrays)
}

fn write_parquet<W: Write + Send>(
    file: W,
    columns: &[Column],
    rows: &mut dyn Iterator<Item = Vec<Value>>,
    path: &str,
) -> Result<u64, ExportError> {
    let parquet = |source| ExportError::Parquet {
        path: path.to_string(),
        source: Box::new(source),
    };
    let schema = arrow_schema(columns);
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("jidoka {}", env!("CARGO_PKG_VERSION")));
    // JSON columns are long, rarely repeated texts: no dictionary and no
    // min/max statistics (nobody filters on a JSON text's order).
    for c in columns.iter().filter(|c| c.kind == Kind::Json) {
        let column = ColumnPath::from(c.name.as_str());
        props = props
            .set_column_dictionary_enabled(column.clone(), false)
            .set_column_statistics_enabled(column, EnabledStatistics::None);
    }
    let props = props.build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(parquet)?;
    let mut written = 0u64;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    loop {
        batch.clear();
        batch.extend((&mut *rows).take(BATCH_ROWS));
        if batch.is_empty() {
            break;
        }
        let records =
            record_batch(&schema, columns, &batch).map_err(|source| ExportError::Arrow {
                path: path.to_string(),
                source: Box::new(source),
            })?;
        writer.write(&records).map_err(parquet)?;
        written += batch.len() as u64;
    }
    writer.close().map_err(parquet)?;
    Ok(written)
}

/// A cell as CSV text.
fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) | Value::Json(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Float(x) => format!("{x:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Time(t) => rfc3339(*t).unwrap_or_else(|| t.to_string()),
        Value::TextList(items) => json_list(items),
    }
}

fn write_csv<W: Write>(
    out: W,
    columns: &[Column],
    rows: &mut dyn Iterator<Item = Vec<Value>>,
    path: &str,
) -> Result<u64, ExportError> {
    let err = |source| ExportError::Csv {
        path: path.to_string(),
        source: Box::new(source),
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(columns.iter().map(|c| c.name.as_str()))
        .map_err(err)?;
    let mut written = 0u64;
    let mut cells = Vec::with_capacity(columns.len());
    for row in rows {
        cells.clear();
        cells.extend(row.iter().map(csv_cell));
        w.write_record(&cells).map_err(err)?;
        written += 1;
    }
    w.flush().map_err(|source| ExportError::Io {
        path: path.to_string(),
        source,
    })?;
    Ok(written)
}

/// A cell as a JSON value's text.
fn json_cell(v: &Value) -> String {
    let quoted = |s: &str| serde_json::Value::from(s).to_string();
    match v {
        Value::Null => "null".into(),
        Value::Text(s) => quoted(s),
        Value::Json(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Float(x) => serde_json::Value::from(*x).to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Time(t) => rfc3339(*t).map_or_else(|| t.to_string(), |s| quoted(&s)),
        Value::TextList(items) => json_list(items),
    }
}

fn write_jsonl<W: Write>(
    mut out: W,
    columns: &[Column],
    rows: &mut dyn Iterator<Item = Vec<Value>>,
) -> std::io::Result<u64> {
    let keys: Vec<String> = columns
        .iter()
        .map(|c| serde_json::Value::from(c.name.as_str()).to_string())
        .collect();
    let mut written = 0u64;
    let mut line = String::new();
    for row in rows {
        line.clear();
        line.push('{');
        for (i, (key, v)) in keys.iter().zip(&row).enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(key);
            line.push(':');
            line.push_str(&json_cell(v));
        }
        line.push_str("}\n");
        out.write_all(line.as_bytes())?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
