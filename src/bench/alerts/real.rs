//! The real seasonal series of `jidoka bench alerts`: data sets bundled with
//! the statsmodels Python package (no download at run time), exported to
//! CSV by `benches/alerts/export_series.py` (embedded in the binary) and
//! read back here.
//!
//! Guarantees: an existing directory holding every series file is read as
//! it is (no Python needed); otherwise the script runs with `python3` into
//! that directory, and a missing interpreter or package is an error that
//! names the `pip install` command. A series file is read completely and
//! checked (header `event_time_ms,<features>`, integer times in
//! non-decreasing order, finite values) before any record is used: a
//! malformed file is an error naming the file and line, never a panic.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::error::AlertsError;
use crate::schema::Prediction;

/// The export script, as shipped in `benches/alerts/`.
pub const EXPORT_SCRIPT: &str = include_str!("../../../benches/alerts/export_series.py");
/// Exit status of the script when a Python package is missing.
const MISSING_PACKAGE: i32 = 3;

/// One exported series: event times and one value per feature per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Feature names (the CSV header after `event_time_ms`).
    pub features: Vec<String>,
    /// Rows in time order: event time (ms) and the values.
    pub rows: Vec<(i64, Vec<f64>)>,
}

impl Series {
    /// The series as predictions of model `model_id`, record `i` being row
    /// `i - 1`.
    pub fn predictions(self: Arc<Self>, model_id: &str) -> impl Iterator<Item = Prediction> {
        let model_id = model_id.to_string();
        (0..self.rows.len()).map(move |i| {
            let (event_time, values) = &self.rows[i];
            Prediction {
                prediction_id: format!("{model_id}-{}", i + 1),
                model_id: model_id.clone(),
                model_version: "v1".into(),
                event_time: *event_time,
                features: self.features.iter().cloned().zip(values.clone()).collect(),
                categorical_features: None,
                score: 0.5,
                predicted_class: None,
                latency_ms: None,
            }
        })
    }
}

/// The directory holding every file in `files`: `dir` as it is when it
/// already holds them all, else `dir` (or a new temporary directory, kept
/// alive by the returned guard) after running the export script.
pub fn exported(
    dir: Option<&Path>,
    files: &[&str],
    python: &str,
) -> Result<(PathBuf, Option<tempfile::TempDir>), AlertsError> {
    if let Some(dir) = dir {
        if files.iter().all(|f| dir.join(f).is_file()) {
            return Ok((dir.to_path_buf(), None));
        }
        std::fs::create_dir_all(dir)
            .map_err(AlertsError::io(format!("creating {}", dir.display())))?;
        run_export(dir, python)?;
        return Ok((dir.to_path_buf(), None));
    }
    let temp = tempfile::Builder::new()
        .prefix("jidoka-alerts-series-")
        .tempdir()
        .map_err(AlertsError::io("creating a temporary directory"))?;
    run_export(temp.path(), python)?;
    Ok((temp.path().to_path_buf(), Some(temp)))
}

/// Runs the embedded export script with `python` into `dir`.
pub fn run_export(dir: &Path, python: &str) -> Result<(), AlertsError> {
    let hint = "the real series are exported from the statsmodels package \
                (pip install statsmodels); leave them out with \
                --streams synthetic";
    let mut child = Command::new(python)
        .arg("-")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| AlertsError::Python(format!("cannot run `{python}` ({e}): {hint}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(EXPORT_SCRIPT.as_bytes())
            .map_err(AlertsError::io(format!("writing the script to {python}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(AlertsError::io(format!("waiting for {python}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(()),
        Some(MISSING_PACKAGE) => Err(AlertsError::Python(stderr.trim().to_string())),
        _ => {
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(AlertsError::Python(format!(
                "`{python}` export script failed ({}): {}; {hint}",
                out.status,
                tail.join(" | ")
            )))
        }
    }
}

/// Reads and checks one exported series file.
pub fn load(path: &Path) -> Result<Series, AlertsError> {
    let bad = |line: usize, reason: String| AlertsError::Data {
        file: path.to_path_buf(),
        reason: format!("line {line}: {reason}"),
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| AlertsError::Data {
        file: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let header = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    if header.get(0) != Some("event_time_ms") || header.len() < 2 {
        return Err(bad(
            1,
            "header must be `event_time_ms,<feature>[,<feature>…]`".into(),
        ));
    }
    let features: Vec<String> = header.iter().skip(1).map(str::to_string).collect();
    let mut rows: Vec<(i64, Vec<f64>)> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        if record.len() != header.len() {
            return Err(bad(
                line,
                format!("{} fields, expected {}", record.len(), header.len()),
            ));
        }
        let time: i64 = record
            .get(0)
            .unwrap_or_default()
            .parse()
            .map_err(|e| bad(line, format!("event_time_ms: {e}")))?;
        if rows.last().is_some_and(|(last, _)| time < *last) {
            return Err(bad(line, "event times go backwards".into()));
        }
        let mut values = Vec::with_capacity(features.len());
        for (name, field) in features.iter().zip(record.iter().skip(1)) {
            let v: f64 = field
                .parse()
                .map_err(|e| bad(line, format!("{name}: {e}")))?;
            if !v.is_finite() {
                return Err(bad(line, format!("{name}: {v} is not finite")));
            }
            values.push(v);
        }
        rows.push((time, values));
    }
    if rows.is_empty() {
        return Err(bad(2, "no rows".into()));
    }
    Ok(Series { features, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    #[test]
    fn reads_a_series_and_makes_predictions() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = write(
            dir.path(),
            "s.csv",
            "event_time_ms,a,b\n-10,1.5,2\n0,-3,4e1\n",
        );
        let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.features, ["a", "b"]);
        assert_eq!(s.rows, vec![(-10, vec![1.5, 2.0]), (0, vec![-3.0, 40.0])]);
        let p: Vec<Prediction> = Arc::new(s).predictions("co2").collect();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].event_time, 0);
        assert_eq!(p[1].features["b"], 40.0);
        assert_eq!(p[1].prediction_id, "co2-2");
    }

    #[test]
    fn malformed_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for (text, says) in [
            ("time,a\n1,2\n", "line 1"),
            ("event_time_ms,a\n1,x\n", "line 2: a"),
            (
                "event_time_ms,a\n1,2\n0,2\n",
                "line 3: event times go backwards",
            ),
            ("event_time_ms,a\n1,NaN\n", "not finite"),
            ("event_time_ms,a\n", "no rows"),
        ] {
            let path = write(dir.path(), "bad.csv", text);
            let err = load(&path).map(|_| ()).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(says)),
                "{text:?}: {err:?}"
            );
        }
    }

    #[test]
    fn a_missing_interpreter_names_the_install_command() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let err = run_export(dir.path(), "/nonexistent/python3").map_err(|e| e.to_string());
        assert!(
            matches!(&err, Err(e) if e.contains("pip install statsmodels")),
            "{err:?}"
        );
    }

    #[test]
    fn a_directory_holding_every_file_is_used_as_is() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(dir.path(), "x.csv", "event_time_ms,a\n1,2\n");
        let (at, guard) = exported(Some(dir.path()), &["x.csv"], "/nonexistent/python3")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(at, dir.path());
        assert!(guard.is_none());
    }
}
