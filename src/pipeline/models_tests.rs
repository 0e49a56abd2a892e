//! Per-model settings in one processor: models matched by different
//! `[models."<glob>"]` tables are tested, alerted and decided with their
//! own settings, side by side, over a real RocksDB in a temp dir.

use std::collections::BTreeMap;

use super::*;
use crate::config::Config;
use crate::demo::scenario::{ModelSpec, Scenario};
use crate::pipeline::test_support::{commands, drift_events, run, TestResult};
use crate::schema::EvaluationRecord;
use crate::state::Store;

/// The small-window defaults of the processor tests, with `tables` merged
/// over them and validated like a file.
fn config(tables: &str) -> Result<Config, Box<dyn std::error::Error>> {
    Ok(Config::defaults_with(&[
        "[detect]\nreference-size = 500\nwindow-size = 250\nevaluate-every = 125\n",
        tables,
    ])?)
}

/// The demo scenario (`churn-v7`'s `tenure_days` shifts by one sd at
/// record 1,500 of 3,000) plus `churn-strict`, a copy of `churn-v7` with
/// the same shift.
fn scenario() -> Scenario {
    let mut s = Scenario::demo(3000, 1500);
    let churn: Option<ModelSpec> = s.models.iter().find(|m| m.model_id == "churn-v7").cloned();
    if let Some(mut strict) = churn {
        strict.model_id = "churn-strict".into();
        s.models.push(strict);
    }
    s
}

fn evaluations<'a>(out: &'a [Output], model: &str) -> Vec<&'a EvaluationRecord> {
    out.iter()
        .filter_map(|o| match o {
            Output::Evaluation(e) if e.model_id == model && e.kind == "covariate" => Some(e),
            _ => None,
        })
        .collect()
}

fn features(evals: &[&EvaluationRecord]) -> Vec<String> {
    let mut f: Vec<String> = evals.iter().map(|e| e.feature.clone()).collect();
    f.sort();
    f.dedup();
    f
}

#[test]
fn each_model_is_tested_with_its_own_settings() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cfg = config(
        r#"
[models."churn-strict"]
ks-alpha = 1e-200

[models."fraud-*"]
exclude = ["amount"]

[models."ranker-*"]
window-size = 100
evaluate-every = 50
"#,
    )?;
    let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    let out = run(&mut p, &scenario())?;

    // The same shifted data: the global ks-alpha opens an alert and
    // decides; the stricter one on churn-strict never rejects.
    let churn = evaluations(&out, "churn-v7");
    let strict = evaluations(&out, "churn-strict");
    assert!(!churn.is_empty());
    assert_eq!(churn.len(), strict.len(), "same windows, same tests");
    assert!(churn
        .iter()
        .any(|e| e.feature == "tenure_days" && e.drifted));
    assert!(strict.iter().all(|e| !e.significant && !e.drifted));
    assert!(strict.iter().all(|e| e.threshold <= 1e-200));
    let covariate = |model: &str| {
        drift_events(&out)
            .iter()
            .filter(|e| e.model_id == model && e.kind == "covariate")
            .count()
    };
    assert!(covariate("churn-v7") > 0);
    assert_eq!(covariate("churn-strict"), 0);
    assert!(commands(&out).iter().any(|c| c.model_id == "churn-v7"));

    // An excluded feature is never tested; the others are.
    let fraud = evaluations(&out, "fraud-v3");
    assert_eq!(features(&fraud), ["hour_of_day", "merchant_risk"]);

    // Another window: 100 values, evaluated every 50 records.
    let ranker = evaluations(&out, "ranker-v2");
    assert!(ranker.iter().all(|e| e.window_size == 100));
    assert!(churn.iter().all(|e| e.window_size == 250));
    let per_feature = |evals: &[&EvaluationRecord]| {
        let mut n: BTreeMap<String, usize> = BTreeMap::new();
        for e in evals {
            *n.entry(e.feature.clone()).or_default() += 1;
        }
        n
    };
    // Count windows: tested from the first evaluation after the reference
    // and one window are full.
    assert_eq!(
        per_feature(&ranker).get("ctr_prior"),
        Some(&((3000 - 600) / 50 + 1))
    );
    assert_eq!(
        per_feature(&churn).get("tenure_days"),
        Some(&((3000 - 750) / 125 + 1))
    );
    Ok(())
}

#[test]
fn without_tables_the_same_stream_drifts_for_both_churn_models() -> TestResult {
    // The control of the test above: the difference comes from the tables.
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&config("")?, "v1", Store::open(dir.path(), false)?);
    let out = run(&mut p, &scenario())?;
    for model in ["churn-v7", "churn-strict"] {
        assert!(evaluations(&out, model)
            .iter()
            .any(|e| e.feature == "tenure_days" && e.drifted));
    }
    assert!(features(&evaluations(&out, "fraud-v3")).contains(&"amount".to_string()));
    Ok(())
}

/// A prediction of `model` with one categorical feature.
fn categorical(model: &str, i: u64, country: &str) -> Prediction {
    Prediction {
        prediction_id: format!("{model}-{i}"),
        model_id: model.into(),
        model_version: "1".into(),
        event_time: 1_000 + i as i64,
        features: BTreeMap::from([("age".to_string(), i as f64)]),
        categorical_features: Some(BTreeMap::from([(
            "country".to_string(),
            country.to_string(),
        )])),
        score: 0.5,
        predicted_class: None,
        latency_ms: None,
    }
}

#[test]
fn max_categories_puts_new_categories_in_other_and_counts_them() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cfg = config(
        r#"
[models."capped"]
max-categories = 3
reference-size = 10
window-size = 10
evaluate-every = 5
categorical = ["age"]
"#,
    )?;
    let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    // 40 records, each of a new country: the capped model keeps three and
    // counts the other 37 in "other"; the same stream uncapped keeps all.
    for i in 0..40u64 {
        let country = format!("c{i:02}");
        p.process(&at(i), &categorical("capped", i, &country))?;
        p.process(&at(100 + i), &categorical("free", i, &country))?;
    }
    assert_eq!(
        p.take_capped(),
        37 + 37,
        "country and age (forced categorical)"
    );
    assert_eq!(p.take_capped(), 0, "taken");
    p.checkpoint()?;
    let categories = |model: &str| -> Result<BTreeMap<String, Vec<String>>, StateError> {
        Ok(p.stored_categorical(model)?
            .into_iter()
            .map(|(f, w)| {
                let mut values: Vec<String> = w
                    .reference()
                    .iter()
                    .chain(w.current())
                    .map(|e| e.value.clone())
                    .collect();
                values.sort();
                values.dedup();
                (f, values)
            })
            .collect())
    };
    let capped = categories("capped")?;
    // The forced kind: "age" arrives as a number and is a category for
    // "capped" only; the first three categories, then "other".
    assert_eq!(capped.keys().collect::<Vec<_>>(), ["age", "country"]);
    assert_eq!(capped["country"], ["c00", "c01", "c02", "other"]);
    assert_eq!(capped["age"], ["0", "1", "2", "other"]);
    let free = categories("free")?;
    assert_eq!(free.keys().collect::<Vec<_>>(), ["country"]);
    assert!(free["country"].len() > 4 && !free["country"].contains(&"other".into()));
    Ok(())
}

fn at(offset: u64) -> SourcePos {
    crate::pipeline::test_support::at("predictions", offset as i64)
}

/// A model's stored numeric windows by feature.
type StoredWindows = Vec<(String, crate::detect::Windows<f64>)>;

/// Model `churn-v7`'s stored numeric windows after the demo stream was
/// processed with `first` and checkpointed, then the store reopened with
/// `then`.
fn windows_after_change(
    first: &Config,
    then: &Config,
) -> Result<StoredWindows, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    {
        let mut p = Processor::new(first, "v1", Store::open(dir.path(), false)?);
        run(&mut p, &Scenario::demo(1200, 600))?;
        p.checkpoint()?;
    }
    let p = Processor::new(then, "v1", Store::open(dir.path(), false)?);
    Ok(p.stored_windows("churn-v7")?)
}

#[test]
fn a_changed_model_window_reads_state_like_a_changed_global_one() -> TestResult {
    // Written with window-size 100, read with 250: once through the global
    // key, once through a [models] table that is then removed.
    let global_100 = config("[detect]\nwindow-size = 100\nevaluate-every = 50\n")?;
    let table_100 = config("[models.\"churn-*\"]\nwindow-size = 100\nevaluate-every = 50\n")?;
    let plain = config("")?;
    let by_global = windows_after_change(&global_100, &plain)?;
    let by_table = windows_after_change(&table_100, &plain)?;
    assert!(!by_global.is_empty());
    assert_eq!(by_global, by_table);
    // And the other way round: a table added over state written globally.
    let table_250 = config("[models.\"churn-*\"]\nwindow-size = 250\n")?;
    assert_eq!(
        windows_after_change(&global_100, &table_250)?,
        windows_after_change(&global_100, &plain)?
    );
    Ok(())
}
