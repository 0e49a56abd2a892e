//! Analyst exports (`jidoka audit export`, `jidoka drift export`): the
//! audit trail and the drift events as flat tables in Parquet, CSV or JSON
//! lines, for DuckDB, pandas, Spark or a spreadsheet.
//!
//! - `table`: typed columns, and how a record type becomes rows (pure).
//! - `rows`: the audit and drift-event rows: which columns, flattened how (pure).
//! - `filter`: which drift events an export keeps, and their order (pure).
//! - `write`: the three file writers, atomic (temporary file, rename).
//! - `source`: reading the topics, filtering and ordering, then writing.
//! - `error`: what can go wrong.

mod error;
mod filter;
mod rows;
mod source;
mod table;
mod write;

pub use error::ExportError;
pub use filter::{by_time, DriftFilter};
pub use rows::{audit_layout, drift_layout};
pub use source::{export_audit, export_drift, ExportCounts, Target};
pub use table::{json_text, Column, Field, Kind, Layout, Value};
pub use write::{
    arrow_schema, record_batch, rfc3339, write_table, Format, BATCH_ROWS, ROW_GROUP_ROWS,
};
