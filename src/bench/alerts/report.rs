//! The report of `jidoka bench alerts`: one row per setting × stream, as a
//! readable table or one JSON object.
//!
//! Guarantees: the JSON object is the report's fields as named here
//! (`settings`, `streams`, `seeds`, `base_seed`, `results`, `elapsed_s`;
//! each result as [`StreamResult`]); the table shows every result and says
//! what the configured level is.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::setting::Setting;
use super::stream::{Family, Period, Stream};
use super::summary::StreamResult;

/// What a stream is, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamInfo {
    /// Name.
    pub name: String,
    /// Kind.
    pub family: Family,
    /// What it is.
    pub about: String,
    /// Records of one run.
    pub records: u64,
    /// Its cycle.
    pub period: Period,
    /// Its window settings, merged before each setting (empty: defaults).
    pub toml: String,
}

impl StreamInfo {
    /// The report's description of `s`.
    pub fn of(s: &Stream) -> Self {
        StreamInfo {
            name: s.name.clone(),
            family: s.family,
            about: s.about.clone(),
            records: s.records(),
            period: s.period,
            toml: s.snippet.clone(),
        }
    }
}

/// Everything `jidoka bench alerts` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertsReport {
    /// The settings, in order.
    pub settings: Vec<Setting>,
    /// The streams, in order.
    pub streams: Vec<StreamInfo>,
    /// Runs per synthetic stream.
    pub seeds: u64,
    /// Seed of the first run.
    pub base_seed: u64,
    /// One per setting × stream, setting-major.
    pub results: Vec<StreamResult>,
    /// Wall time of the whole benchmark (s).
    pub elapsed_s: f64,
}

/// The JSON object printed by `jidoka bench alerts --json`.
pub fn to_json(report: &AlertsReport) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

fn one_line(toml: &str) -> String {
    if toml.trim().is_empty() {
        "(shipped defaults)".into()
    } else {
        toml.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn delay(r: &StreamResult) -> String {
    match &r.shift {
        None => "-".into(),
        Some(s) => match (s.median_delay, s.max_delay) {
            (Some(m), Some(x)) => format!("{m:.0} [{x}]"),
            _ => "missed".into(),
        },
    }
}

/// The readable table, then what the streams and settings are.
pub fn to_table(report: &AlertsReport) -> String {
    let mut s = String::new();
    let records: u64 = report.results.iter().map(|r| r.records).sum();
    let _ = writeln!(
        s,
        "alerts: {} settings x {} streams, {} seeds (base {}), {records} records in {:.1} s",
        report.settings.len(),
        report.streams.len(),
        report.seeds,
        report.base_seed,
        report.elapsed_s
    );
    let _ = writeln!(
        s,
        "alpha = detect.ks-alpha, the level of one evaluation across a model's features \
         under the correction;\nrejecting/null = evaluations with any feature rejected / \
         evaluations where nothing changed (share, < upper end of its 95% CI);\nopen = share of those after which an \
         alert is open; false = alert openings where nothing changed"
    );
    let _ = writeln!(
        s,
        "{:<16} {:<9} {:>4} {:>9} {:>6} {:>32} {:>7} {:>6} {:>6} {:>7} {:>6} {:>7} {:>13} {:>8}",
        "stream",
        "setting",
        "runs",
        "records",
        "evals",
        "rejecting/null (share)",
        "alpha",
        "open",
        "alerts",
        "/10k",
        "false",
        "/10k",
        "delay med[max]",
        "detected"
    );
    for r in &report.results {
        let share = match (r.rejecting_share, r.rejecting_share_ci95) {
            (Some(x), Some([_, hi])) => format!("{:.3}% <{:.3}%", 100.0 * x, 100.0 * hi),
            _ => "-".into(),
        };
        let detected = r
            .shift
            .as_ref()
            .map_or("-".into(), |x| format!("{}/{}", x.detected, r.runs));
        let _ =
            writeln!(
            s,
            "{:<16} {:<9} {:>4} {:>9} {:>6} {:>32} {:>7} {:>6} {:>6} {:>7.2} {:>6} {:>7.2} {:>13} {:>8}",
            r.stream,
            r.setting,
            r.runs,
            r.records,
            r.evaluations,
            format!("{}/{} ({share})", r.rejecting_evaluations, r.null_evaluations),
            r.ks_alpha,
            r.alert_open_share
                .map_or("-".into(), |x| format!("{:.0}%", 100.0 * x)),
            r.alerts_opened,
            r.alerts_per_10k,
            r.false_alarms,
            r.false_alarms_per_10k,
            delay(r),
            detected
        );
    }
    let _ = writeln!(s, "streams:");
    for st in &report.streams {
        let _ = writeln!(
            s,
            "  {:<16} {} ({} records); windows: {}",
            st.name,
            st.about,
            st.records,
            one_line(&st.toml)
        );
    }
    let _ = writeln!(s, "settings:");
    for set in &report.settings {
        let _ = writeln!(s, "  {:<16} {}", set.name, one_line(&set.toml));
    }
    s
}
