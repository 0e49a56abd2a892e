//! Real data: NannyML's synthetic car-loan set (`../shared/data/nannyml-car-loan/`),
//! reference period then analysis period, through the processing core over
//! a real RocksDB. Drift starts at analysis row 25,000. Checked independently
//! with SciPy on reference vs analysis rows 25,000+: numeric `car_value`
//! (KS ~0.43) and `loan_length` (~0.18) drift, and so do the categorical
//! `salary_range` ("60K+" falls from 10% to 1%) and `repaid_loan_on_prev_car`
//! (True rises from 55% to 80%), both chi-square p ~ 0; `debt_to_income_ratio`,
//! `driver_tenure` and `size_of_downpayment` (chi-square p = 0.157) do not.
//! Nothing may drift in the reference period or before row 25,000.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use jidoka::config::Config;
use jidoka::pipeline::{Output, Processor, SourcePos};
use jidoka::schema::Prediction;
use jidoka::state::Store;

type BoxError = Box<dyn std::error::Error>;

/// `$JIDOKA_SHARED_DATA/nannyml-car-loan`, else `../shared/data/` beside the clone.
fn data_dir() -> PathBuf {
    std::env::var_os("JIDOKA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("nannyml-car-loan")
}

/// Reads one of the CSV files into predictions (id order), event time from
/// the row id (one minute apart), so the cooldown spans 30 rows.
fn read(file: &str) -> Result<Vec<Prediction>, BoxError> {
    let path = data_dir().join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty csv")?.split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("no column {name}"))
    };
    let (id, proba) = (col("id")?, col("y_pred_proba")?);
    let numeric = [
        "car_value",
        "debt_to_income_ratio",
        "loan_length",
        "driver_tenure",
    ];
    let categorical = [
        "salary_range",
        "repaid_loan_on_prev_car",
        "size_of_downpayment",
    ];
    let numeric_cols: Vec<(usize, &str)> = numeric
        .iter()
        .map(|n| Ok((col(n)?, *n)))
        .collect::<Result<_, BoxError>>()?;
    let cat_cols: Vec<(usize, &str)> = categorical
        .iter()
        .map(|n| Ok((col(n)?, *n)))
        .collect::<Result<_, BoxError>>()?;
    let mut out = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let row: i64 = f[id].parse()?;
        out.push(Prediction {
            prediction_id: row.to_string(),
            model_id: "car-loan".into(),
            model_version: "1".into(),
            event_time: 1_514_764_800_000 + row * 60_000,
            features: numeric_cols
                .iter()
                .map(|(i, n)| Ok((n.to_string(), f[*i].parse::<f64>()?)))
                .collect::<Result<_, BoxError>>()?,
            categorical_features: Some(
                cat_cols
                    .iter()
                    .map(|(i, n)| (n.to_string(), f[*i].to_string()))
                    .collect(),
            ),
            score: f[proba].parse()?,
            predicted_class: None,
            latency_ms: None,
        });
    }
    Ok(out)
}

#[test]
fn car_loan_drift_is_found_where_it_is_and_nowhere_else() -> Result<(), BoxError> {
    let mut cfg = Config::defaults()?;
    cfg.detect.reference_size = 5_000;
    cfg.detect.window_size = 2_500;
    cfg.detect.evaluate_every = 500;
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&cfg, "car-loan", Store::open(dir.path(), false)?);
    let mut records = read("synthetic_car_loan_reference.csv")?;
    let reference_len = records.len() as i64;
    records.extend(read("synthetic_car_loan_analysis.csv")?);
    assert_eq!(records.len(), 100_000);
    let drift_start = reference_len + 25_000; // analysis row 25,000

    // First drifted evaluation (model record index) per feature.
    let mut first: BTreeMap<String, i64> = BTreeMap::new();
    let mut drifted_features = BTreeSet::new();
    let mut false_alarms = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        let pos = SourcePos {
            topic: "predictions".into(),
            partition: 0,
            offset: i as i64,
        };
        for out in p.process(&pos, rec)? {
            if let Output::Drift(e) = out {
                if e.window_end_record <= drift_start {
                    false_alarms.push(format!("{} at {}", e.feature, e.window_end_record));
                }
                drifted_features.insert(e.feature.clone());
                first.entry(e.feature).or_insert(e.window_end_record);
            }
        }
    }
    for (feature, record) in &first {
        println!(
            "car-loan: first drift on {feature} at record {record} (delay {} records)",
            record - drift_start
        );
    }
    assert!(
        false_alarms.is_empty(),
        "drift before it starts: {false_alarms:?}"
    );
    let expected: BTreeSet<String> = [
        "car_value",
        "loan_length",
        "repaid_loan_on_prev_car",
        "salary_range",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(drifted_features, expected);
    // Detected within one window of the change.
    for f in &expected {
        let delay = first[f] - drift_start;
        assert!(
            delay > 0 && delay <= cfg.detect.window_size as i64,
            "{f}: delay {delay}"
        );
    }
    Ok(())
}
