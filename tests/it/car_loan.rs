//! Real data through Kafka: NannyML's synthetic car-loan set
//! (`../shared/data/nannyml-car-loan/`), reference period then analysis
//! period produced to the predictions topic of a real broker process, then
//! every label (reference `repaid` column, analysis target file) produced to
//! the labels topic afterwards, all processed by the pipeline. Drift starts
//! at analysis row 25,000. Checked independently with SciPy on reference vs
//! analysis rows 25,000+: numeric `car_value` (KS ~0.43) and `loan_length`
//! (~0.18) drift, and so do the categorical `salary_range` ("60K+" falls from
//! 10% to 1%) and `repaid_loan_on_prev_car` (True rises from 55% to 80%),
//! both chi-square p ~ 0; `debt_to_income_ratio`, `driver_tenure` and
//! `size_of_downpayment` (chi-square p = 0.157) do not. No covariate drift
//! alert may open in the reference period or before row 25,000.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use std::time::Duration;

use crate::common::*;
use jidoka::schema::{DriftEvent, Label, Prediction};
use jidoka::state::Store;
use jidoka::telemetry::Metrics;

/// `$JIDOKA_SHARED_DATA/nannyml-car-loan`, else `../shared/data/` beside the clone.
fn data_dir() -> PathBuf {
    std::env::var_os("JIDOKA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("nannyml-car-loan")
}

/// Reads the `id` and `repaid` columns of a CSV file as labels, known one
/// day after the prediction.
fn labels(file: &str) -> Result<Vec<Label>, BoxError> {
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
    let (id, repaid) = (col("id")?, col("repaid")?);
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let row: i64 = f[id].parse()?;
            let label: f64 = f[repaid].parse()?;
            Ok(Label {
                prediction_id: row.to_string(),
                model_id: "car-loan".into(),
                event_time: 1_514_764_800_000 + row * 60_000 + 86_400_000,
                label: format!("{}", label as i64),
            })
        })
        .collect()
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
    let (id, proba, class) = (col("id")?, col("y_pred_proba")?, col("y_pred")?);
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
            predicted_class: Some(f[class].to_string()),
            latency_ms: None,
        });
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn car_loan_drift_is_found_where_it_is_and_nowhere_else() -> TestResult {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("JIDOKA_TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let mut cfg = test_config(&broker, dir.path())?.config;
    cfg.detect.reference_size = 5_000;
    cfg.detect.window_size = 2_500;
    cfg.detect.evaluate_every = 500;
    cfg.labels.reference_size = 5_000;
    cfg.labels.window_size = 2_500;
    // The rows are a minute apart over 69 days and every label is produced
    // after every prediction: predictions must wait longer than that.
    cfg.labels.ttl = Duration::from_secs(100 * 24 * 3600);
    cfg.pipeline.batch_size = 2_000;
    // Detection over Kafka is what this test is about; the changelog (tested
    // in tests/restart.rs) would add 2 records per prediction plus window
    // snapshots, more than the test broker takes quickly.
    cfg.state.changelog = false;
    let loaded = with_version(cfg)?;
    let cfg = &loaded.config;
    create_topics(cfg).await?;
    let codec = jidoka::schema::Codec::new(cfg.schemas.ids)?;

    let mut records = read("synthetic_car_loan_reference.csv")?;
    let reference_len = records.len() as i64;
    records.extend(read("synthetic_car_loan_analysis.csv")?);
    assert_eq!(records.len(), 100_000);
    let drift_start = reference_len + 25_000; // analysis row 25,000
    let mut truth = labels("synthetic_car_loan_reference.csv")?;
    truth.extend(labels("synthetic_car_loan_analysis_target.csv")?);
    assert_eq!(truth.len(), 100_000);

    let running = start_pipeline(&loaded);
    let producer = producer(cfg)?;
    produce_raw(
        &producer,
        &cfg.topics.predictions,
        &encode_predictions(&codec, &records)?,
    )
    .await?;
    running.wait_done(100_000, Duration::from_secs(600)).await?;
    // The labels arrive later, after every prediction.
    let encoded: Vec<RawRecord> = truth
        .iter()
        .map(|l| Ok((l.model_id.clone(), Some(codec.encode(l)?))))
        .collect::<Result<_, BoxError>>()?;
    produce_raw(&producer, &cfg.topics.labels, &encoded).await?;
    running.wait_done(200_000, Duration::from_secs(600)).await?;
    let metrics = running.stop().await?;
    assert_eq!(Metrics::get(&metrics.records_dead_lettered_total), 0);

    let store = Store::open(&cfg.state.data_dir, false)?;
    let meta = jidoka::state::MODELS
        .get(&Default::default(), &store, b"car-loan")?
        .ok_or("no state for the model")?;
    assert_eq!(meta.labels.joined, 100_000, "{:?}", meta.labels);
    assert_eq!(meta.labels.duplicate + meta.labels.unknown, 0);

    let events: Vec<DriftEvent> = read_all::<DriftEvent>(cfg, &codec, &cfg.topics.drift_events)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    // First opened covariate alert (model record index) per feature.
    let mut first: BTreeMap<String, i64> = BTreeMap::new();
    let mut false_alarms = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.kind == "covariate" && e.status == "opened")
    {
        if e.window_end_record <= drift_start {
            false_alarms.push(format!("{} at {}", e.feature, e.window_end_record));
        }
        first
            .entry(e.feature.clone())
            .or_insert(e.window_end_record);
    }
    for (feature, record) in &first {
        println!(
            "car-loan: drift alert on {feature} opened at record {record} (delay {} records)",
            record - drift_start
        );
    }
    for e in events.iter().filter(|e| e.kind != "covariate") {
        println!(
            "car-loan: {} {} {} at record {} (statistic {:.3})",
            e.kind, e.status, e.feature, e.window_end_record, e.statistic
        );
    }
    assert!(
        false_alarms.is_empty(),
        "drift before it starts: {false_alarms:?}"
    );
    let drifted: BTreeSet<String> = first.keys().cloned().collect();
    let expected: BTreeSet<String> = [
        "car_value",
        "loan_length",
        "repaid_loan_on_prev_car",
        "salary_range",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(drifted, expected);
    // Opened within one window plus the persistence evaluations.
    let bound = cfg.detect.window_size as i64
        + i64::from(cfg.detect.persistence) * cfg.detect.evaluate_every as i64;
    for f in &expected {
        let delay = first[f] - drift_start;
        assert!(delay > 0 && delay <= bound, "{f}: delay {delay}");
    }
    Ok(())
}
