//! A reference sample loaded from a CSV file (`detect.reference-mode =
//! "file"`): one column per feature, a header row of feature names.
//!
//! Guarantees: a column whose every non-empty cell is a finite number is a
//! numeric reference, any other column a categorical one; empty cells are
//! skipped; a malformed file is an error naming the file and the line,
//! never a panic. One sample serves every model whose settings name its
//! file (`detect.reference-file` or a `[models."<glob>"]` table's).

use std::collections::BTreeMap;
use std::path::Path;

/// Reference values per feature.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReferenceData {
    numeric: BTreeMap<String, Vec<f64>>,
    categorical: BTreeMap<String, Vec<String>>,
}

/// A reference file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("reference file {path}: {message}")]
pub struct ReferenceError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ReferenceData {
    /// Reads and parses `path`.
    pub fn from_file(path: &Path) -> Result<Self, ReferenceError> {
        let fail = |message: String| ReferenceError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        Self::parse(&text).map_err(fail)
    }

    /// Parses CSV text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| e.to_string())?
            .iter()
            .map(str::to_string)
            .collect();
        if header.is_empty() {
            return Err("no header row".into());
        }
        let mut columns: Vec<Vec<String>> = vec![Vec::new(); header.len()];
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|e| format!("line {}: {e}", i + 2))?;
            for (col, cell) in columns.iter_mut().zip(row.iter()) {
                if !cell.is_empty() {
                    col.push(cell.to_string());
                }
            }
        }
        let mut data = ReferenceData::default();
        for (name, cells) in header.into_iter().zip(columns) {
            if cells.is_empty() {
                continue;
            }
            let numbers: Option<Vec<f64>> = cells
                .iter()
                .map(|c| c.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect();
            match numbers {
                Some(values) => {
                    data.numeric.insert(name, values);
                }
                None => {
                    data.categorical.insert(name, cells);
                }
            }
        }
        Ok(data)
    }

    /// The numeric reference of a feature.
    pub fn numeric(&self, feature: &str) -> Option<&[f64]> {
        self.numeric.get(feature).map(Vec::as_slice)
    }

    /// The categorical reference of a feature.
    pub fn categorical(&self, feature: &str) -> Option<&[String]> {
        self.categorical.get(feature).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_and_categorical_columns() -> Result<(), String> {
        let r = ReferenceData::parse("x,country,z\n1.5,fr,\n2,\"de, east\",\n,fr,\n")?;
        assert_eq!(r.numeric("x"), Some(&[1.5, 2.0][..]));
        assert_eq!(
            r.categorical("country").map(|c| c.to_vec()),
            Some(vec!["fr".to_string(), "de, east".into(), "fr".into()])
        );
        assert_eq!(r.numeric("z"), None);
        assert!(ReferenceData::parse("a,b\n1,2,3\n").is_err_and(|e| e.contains("line 2")));
        let missing = ReferenceData::from_file(Path::new("/nonexistent/ref.csv"));
        assert!(missing.is_err_and(|e| e.to_string().contains("/nonexistent/ref.csv")));
        Ok(())
    }
}
