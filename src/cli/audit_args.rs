//! Arguments of the analyst commands (`audit` and `drift`): filters, time
//! bounds and export outputs.
//!
//! Guarantees: every argument is documented (clap shows it in `--help`);
//! time bounds accept RFC 3339 or epoch milliseconds and are rejected with
//! a clear message otherwise; an export's format is decided from
//! `--format` or the output file's extension ([`OutputArgs::format`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::audit::{self, Filter};
use crate::export;

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print audit records as a table (or JSON lines), filtered.
    Replay(ReplayArgs),
    /// Check every model's hash chain on the audit topic, accounting for
    /// versions removed by compaction; exit 1 if any record is missing,
    /// altered or conflicting.
    Verify,
    /// Explain one decision in plain words, from every version of its
    /// audit record; exit 1 if it is not on the topic.
    Explain(ExplainArgs),
    /// Write the audit records as a flat table (Parquet, CSV or JSON
    /// lines), one row per record version, in replay's order.
    Export(AuditExportArgs),
}

/// The model and time range filters the audit and drift commands share.
#[derive(Debug, Args)]
pub struct RangeArgs {
    /// Only this model (in the audit trail, `*/p<partition>` holds the
    /// operator commands concerning every model).
    #[arg(long)]
    pub model: Option<String>,
    /// Only records at or after this event time (an audit record's
    /// decision time, a drift event's evaluation time): RFC 3339
    /// (2024-06-01T12:00:00Z, 2024-06-01T14:00:00+02:00, 2024-06-01) or
    /// epoch milliseconds.
    #[arg(long, value_parser = parse_time_arg)]
    pub from: Option<i64>,
    /// Only records at or before this event time (as --from).
    #[arg(long, value_parser = parse_time_arg)]
    pub to: Option<i64>,
}

/// The filters `audit replay` and `audit export` share.
#[derive(Debug, Args)]
pub struct AuditFilterArgs {
    /// Model and time range.
    #[command(flatten)]
    pub range: RangeArgs,
    /// Only decisions with this final action.
    #[arg(long, value_parser = ["retrain", "rollback", "fallback", "hold", "escalate", "none"])]
    pub action: Option<String>,
    /// Only decisions whose proposal came from this source.
    #[arg(long, value_parser = ["rules", "bandit", "human", "escalation"])]
    pub decided_by: Option<String>,
}

impl AuditFilterArgs {
    /// The filter these flags ask for.
    pub fn filter(&self) -> Filter {
        Filter {
            model: self.range.model.clone(),
            action: self.action.clone(),
            decided_by: self.decided_by.clone(),
            from: self.range.from,
            to: self.range.to,
        }
    }
}

/// Replay arguments.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Which records.
    #[command(flatten)]
    pub filter: AuditFilterArgs,
    /// Only the latest version of each decision (what compaction keeps),
    /// ordered by decision time; reads the whole topic.
    #[arg(long, conflicts_with = "follow")]
    pub latest: bool,
    /// Read from the beginning of the topic and stop at its end (add --follow
    /// to keep going). Without it, follow new records from now on.
    #[arg(long)]
    pub from_beginning: bool,
    /// Keep reading new records.
    #[arg(long)]
    pub follow: bool,
    /// `time`: by decision time, then decision id, across partitions
    /// (following: within each batch that arrived before the read caught
    /// up). `offset`: as read, each partition in offset order.
    #[arg(long, default_value = "time", value_parser = audit::ReplayOrder::parse)]
    pub order: audit::ReplayOrder,
    /// JSON lines instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Where an export goes.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// File to write (replaced atomically: a temporary file in the same
    /// directory, renamed into place).
    #[arg(long)]
    pub out: PathBuf,
    /// `parquet`, `csv` or `jsonl`. Default: from --out's extension
    /// (.parquet, .csv, .jsonl or .ndjson).
    #[arg(long, value_parser = export::Format::parse)]
    pub format: Option<export::Format>,
}

impl OutputArgs {
    /// The format asked for, or the one --out's extension names.
    pub fn format(&self) -> Result<export::Format, String> {
        self.format
            .or_else(|| export::Format::from_path(&self.out))
            .ok_or_else(|| {
                format!(
                    "give --format parquet, csv or jsonl (the extension of {} does not say)",
                    self.out.display()
                )
            })
    }
}

/// Audit export arguments: the replay filters, one row per record.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// File and format.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Which records (as `audit replay`).
    #[command(flatten)]
    pub filter: AuditFilterArgs,
    /// Only the latest version of each decision (what compaction keeps).
    #[arg(long)]
    pub latest: bool,
}

/// Drift commands.
#[derive(Debug, Subcommand)]
pub enum DriftCommand {
    /// Write the drift events as a flat table (Parquet, CSV or JSON lines),
    /// one row per event, by event time.
    Export(DriftExportArgs),
}

/// Drift export arguments.
#[derive(Debug, Args)]
pub struct DriftExportArgs {
    /// File and format.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Model and event-time range.
    #[command(flatten)]
    pub range: RangeArgs,
    /// Only drift events of this kind.
    #[arg(long, value_parser = ["covariate", "anomaly", "concept"])]
    pub kind: Option<String>,
}

fn parse_time_arg(s: &str) -> Result<i64, String> {
    audit::parse_time(s).map_err(|e| e.to_string())
}

/// Explain arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Decision id (as `audit replay` shows it), or a unique prefix of it.
    pub decision_id: String,
}

/// Report arguments.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// HTML file to write.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
    /// What to show: one model, and the time range (default: from the
    /// earliest record to the latest).
    #[command(flatten)]
    pub range: RangeArgs,
}
