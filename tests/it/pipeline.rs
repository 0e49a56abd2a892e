//! End to end on a real broker process: a shifted stream yields the exact
//! heal command and audit record; a stream without shift yields nothing; every
//! evaluation is on the evaluations topic, equal to a recomputation.

use crate::common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::detect::effect::wasserstein_distance;
use jidoka::detect::ks::{ks_2samp, Alternative, Method};
use jidoka::ids;
use jidoka::schema::{
    Action, AuditRecord, DriftEvent, EvaluationRecord, HealCommand, Prediction, TestKind,
};

/// Independently of the pipeline: the first evaluation point (model record
/// index) at which a drift alert of `model` opens, recomputing every window
/// from the raw stream: per evaluation, scipy-exact KS p-values of every
/// feature, the Benjamini–Hochberg step-up rule at `alpha` across the
/// features, and an alert opening when a feature is rejected at
/// `persistence` evaluations in a row.
fn first_drift(
    preds: &[Prediction],
    model: &str,
    d: &jidoka::config::DetectConfig,
) -> Option<(usize, Vec<String>)> {
    let (reference, window, every) = (d.reference_size, d.window_size, d.evaluate_every as usize);
    let rows: Vec<&Prediction> = preds.iter().filter(|p| p.model_id == model).collect();
    let features: Vec<String> = rows.first()?.features.keys().cloned().collect();
    let col = |f: &str, range: std::ops::Range<usize>| -> Vec<f64> {
        rows[range]
            .iter()
            .filter_map(|p| p.features.get(f).copied())
            .collect()
    };
    let mut runs = vec![0u32; features.len()];
    (1..=rows.len())
        .filter(|r| r % every == 0 && *r >= reference + window)
        .find_map(|r| {
            let p: Vec<f64> = features
                .iter()
                .map(|f| {
                    ks_2samp(
                        &col(f, 0..reference),
                        &col(f, r - window..r),
                        Alternative::TwoSided,
                        Method::Auto,
                    )
                    .map_or(1.0, |k| k.p_value)
                })
                .collect();
            let m = p.len() as f64;
            let mut sorted = p.clone();
            sorted.sort_by(f64::total_cmp);
            let cutoff = (1..=sorted.len())
                .rev()
                .find(|k| sorted[k - 1] <= d.ks_alpha * *k as f64 / m)
                .map_or(-1.0, |k| sorted[k - 1]);
            let mut opened = Vec::new();
            for (i, f) in features.iter().enumerate() {
                runs[i] = if p[i] <= cutoff { runs[i] + 1 } else { 0 };
                if runs[i] == d.persistence {
                    opened.push(f.clone());
                }
            }
            (!opened.is_empty()).then_some((r, opened))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shifted_stream_gives_exact_command_and_audit() -> TestResult {
    let env = TestEnv::start().await?;
    let (cfg, codec, loaded) = (env.cfg(), &env.codec, &env.loaded);
    let preds = Scenario::demo(3000, 1500).predictions();
    let d = &cfg.detect;
    assert_eq!(d.correction, jidoka::config::Correction::BenjaminiHochberg);
    let (record, drifted) =
        first_drift(&preds, "churn-v7", d).ok_or("the reference computation finds no drift")?;
    assert!(record > 1500, "drift before the shift: {record}");
    assert_eq!(drifted, vec!["tenure_days".to_string()]);
    for healthy in ["fraud-v3", "ranker-v2"] {
        assert_eq!(first_drift(&preds, healthy, d), None);
    }

    let metrics = env.run(&encode_predictions(codec, &preds)?).await?;
    assert_eq!(
        jidoka::telemetry::Metrics::get(&metrics.records_dead_lettered_total),
        0
    );

    let commands = read_all::<HealCommand>(cfg, codec, &cfg.topics.actions)?;
    assert_eq!(
        commands.len(),
        1,
        "one command, later drift held back by the cooldown: {commands:?}"
    );
    let c = &commands[0];
    // Where the triggering prediction landed in Kafka.
    let trigger_id = format!("churn-v7-{record}");
    let trigger = read_all::<Prediction>(cfg, codec, &cfg.topics.predictions)?
        .into_iter()
        .find(|r| r.value.prediction_id == trigger_id)
        .ok_or("triggering prediction not on the topic")?;
    let at = ids::InputRef {
        topic: &cfg.topics.predictions,
        partition: trigger.partition,
        offset: trigger.offset,
    };
    let decision_id = ids::decision_id("churn-v7", at);
    let expected_drift_id = ids::drift_event_id("churn-v7", "feature:tenure_days", at);
    assert_eq!(c.key.as_deref(), Some("churn-v7"));
    // The command's evidence: the covariate drift event, then the events of
    // the anomaly alerts open at the time (the shift also moves the score).
    assert_eq!(c.value.evidence.first(), Some(&expected_drift_id));
    let expected_evidence = c.value.evidence.clone();
    assert_eq!(
        c.value,
        HealCommand {
            command_id: ids::command_id(&decision_id, "retrain"),
            decision_id: decision_id.clone(),
            model_id: "churn-v7".into(),
            model_version: "1".into(),
            action: Action::Retrain,
            // No outcome yet: the bandit cannot override the rule.
            reason: "rule covariate-drift matched, the bandit did not override it: retrain".into(),
            evidence: expected_evidence,
            issued_at: preds
                .iter()
                .filter(|p| p.model_id == "churn-v7")
                .nth(record - 1)
                .map(|p| p.event_time)
                .ok_or("no record")?,
            config_version: loaded.version.clone(),
            target_command_id: None,
        }
    );

    let audits = read_all::<AuditRecord>(cfg, codec, &cfg.topics.audit)?;
    let a = audits
        .iter()
        .find(|a| a.value.decision_id == decision_id)
        .ok_or("no audit record for the command")?;
    assert_eq!(a.key.as_deref(), Some(decision_id.as_str()));
    let a = &a.value;
    assert_eq!(a.action, "retrain");
    assert_eq!(a.command_id.as_deref(), Some(c.value.command_id.as_str()));
    assert_eq!(a.inputs.records_seen, record as i64);
    assert_eq!(a.inputs.source_topic, cfg.topics.predictions);
    assert_eq!(
        (a.inputs.source_partition, a.inputs.source_offset),
        (trigger.partition, trigger.offset)
    );
    assert!(!a.cooldown.active);
    // The built-in policy's rules, all evaluated; the drift rule matched.
    assert_eq!(
        a.rules.len(),
        jidoka::decide::builtin_policy().rules().len()
    );
    assert!(a
        .rules
        .iter()
        .any(|r| r.name == "covariate-drift" && r.matched && !r.hard));
    assert_eq!(
        (a.decided_by.as_str(), a.status.as_str()),
        ("rules", "dispatched")
    );
    assert_eq!(a.config_version, loaded.version);
    let features: Vec<(&str, bool)> = a
        .evidence
        .iter()
        .filter(|e| e.test != "zscore")
        .map(|e| (e.feature.as_str(), e.drifted))
        .collect();
    assert_eq!(
        features,
        vec![
            ("monthly_spend", false),
            ("support_calls", false),
            ("tenure_days", true)
        ]
    );
    // Every other decision is for the same model, held back by the cooldown.
    for other in audits.iter().filter(|x| x.value.decision_id != decision_id) {
        assert_eq!(other.value.model_id, "churn-v7");
        assert_eq!(other.value.action, "none");
        assert!(other.value.cooldown.active);
    }

    let drifts = read_all::<DriftEvent>(cfg, codec, &cfg.topics.drift_events)?;
    let covariate: Vec<&DriftEvent> = drifts
        .iter()
        .map(|e| &e.value)
        .filter(|e| e.kind == "covariate")
        .collect();
    // One alert opens, on tenure_days, and stays open: one event.
    assert_eq!(covariate.len(), 1, "{covariate:?}");
    let first = covariate[0];
    assert_eq!(first.event_id, expected_drift_id);
    assert_eq!(first.status, "opened");
    assert_eq!(first.correction, "benjamini-hochberg");
    assert_eq!(first.window_end_record, record as i64);
    assert_eq!(
        first.window_start_record,
        (record - d.window_size + 1) as i64
    );
    assert!(first.p_value <= first.alpha);
    assert!(first.adjusted_p_value.is_some_and(|q| q <= d.ks_alpha));
    // Anomalies (the shift also moves the score) only after the shift.
    assert!(drifts
        .iter()
        .all(|e| e.value.model_id == "churn-v7" && e.value.window_start_record > 1500));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_without_shift_gives_no_command() -> TestResult {
    let env = TestEnv::start().await?;
    let (cfg, codec) = (env.cfg(), &env.codec);
    let preds = Scenario::demo(3000, u64::MAX).predictions();
    let metrics = env.run(&encode_predictions(codec, &preds)?).await?;
    assert_eq!(
        jidoka::telemetry::Metrics::get(&metrics.records_processed_total),
        preds.len() as u64
    );
    assert!(read_all::<HealCommand>(cfg, codec, &cfg.topics.actions)?.is_empty());
    assert!(read_all::<AuditRecord>(cfg, codec, &cfg.topics.audit)?.is_empty());
    assert!(read_all::<DriftEvent>(cfg, codec, &cfg.topics.drift_events)?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_evaluation_is_on_the_evaluations_topic_and_equals_a_recomputation() -> TestResult {
    let env = TestEnv::start().await?;
    let (cfg, codec) = (env.cfg(), &env.codec);
    let preds = Scenario::demo(3000, 1500).predictions();
    let d = &cfg.detect;
    let (opened_at, _) = first_drift(&preds, "churn-v7", d).ok_or("no drift in the reference")?;
    env.run(&encode_predictions(codec, &preds)?).await?;
    let on_topic = read_all::<Prediction>(cfg, codec, &cfg.topics.predictions)?;
    let records = read_all::<EvaluationRecord>(cfg, codec, &cfg.topics.evaluations)?;

    let (reference, window, every) = (d.reference_size, d.window_size, d.evaluate_every as usize);
    for model in ["churn-v7", "fraud-v3", "ranker-v2"] {
        let rows: Vec<&Prediction> = preds.iter().filter(|p| p.model_id == model).collect();
        let features: Vec<&String> = rows[0].features.keys().collect();
        // Every feature at every evaluation with full windows, nothing else.
        let mut expected: Vec<(i64, String)> = (1..=rows.len())
            .filter(|r| r % every == 0 && *r >= reference + window)
            .flat_map(|r| features.iter().map(move |f| (r as i64, f.to_string())))
            .collect();
        expected.sort();
        let mut got: Vec<&EvaluationRecord> = records
            .iter()
            .map(|r| &r.value)
            .filter(|r| r.model_id == model && r.kind == "covariate")
            .collect();
        got.sort_by(|a, b| (a.record, &a.feature).cmp(&(b.record, &b.feature)));
        let keys: Vec<(i64, String)> = got.iter().map(|r| (r.record, r.feature.clone())).collect();
        assert_eq!(
            keys, expected,
            "{model}: one record per feature per evaluation"
        );
        for r in &got {
            let n = r.record as usize;
            let col = |range: std::ops::Range<usize>| -> Vec<f64> {
                rows[range]
                    .iter()
                    .filter_map(|p| p.features.get(&r.feature).copied())
                    .collect()
            };
            let ks = ks_2samp(
                &col(0..reference),
                &col(n - window..n),
                Alternative::TwoSided,
                Method::Auto,
            )
            .ok_or("samples of the evaluation")?;
            assert!(
                (r.statistic - ks.statistic).abs() < 1e-12,
                "{r:?} vs {ks:?}"
            );
            assert!(
                (r.p_value - ks.p_value).abs() <= 1e-9 * ks.p_value.max(1e-300),
                "{r:?} vs {ks:?}"
            );
            // The effect size: Wasserstein-1 over the reference's
            // (population) standard deviation, recomputed in batch.
            let (reference_values, window_values) = (col(0..reference), col(n - window..n));
            let w = wasserstein_distance(&reference_values, &window_values)
                .ok_or("samples of the evaluation")?;
            let mean = reference_values.iter().sum::<f64>() / reference_values.len() as f64;
            let sd = (reference_values
                .iter()
                .map(|x| (x - mean).powi(2))
                .sum::<f64>()
                / reference_values.len() as f64)
                .sqrt();
            let effect = r.effect_size.ok_or("no effect size")?;
            assert!(
                (effect - w / sd).abs() <= 1e-9 * (w / sd).max(1.0),
                "{r:?} vs {}",
                w / sd
            );
            assert_eq!(
                (r.window_size, r.reference_size),
                (window as i64, reference as i64)
            );
            assert_eq!(r.window_end_record, r.record);
            // The id names the prediction that triggered the evaluation.
            let trigger = on_topic
                .iter()
                .find(|p| p.value.prediction_id == format!("{model}-{n}"))
                .ok_or("trigger not on the topic")?;
            let at = ids::InputRef {
                topic: &cfg.topics.predictions,
                partition: trigger.partition,
                offset: trigger.offset,
            };
            let key = format!("feature:{}", r.feature);
            assert_eq!(r.evaluation_id, ids::evaluation_id(model, &key, at));
            assert_eq!(r.event_time, trigger.value.event_time);
            // The alert: open on tenure_days from the reference's opening on.
            let open = model == "churn-v7" && r.feature == "tenure_days" && n >= opened_at;
            assert_eq!(r.alert_open, open, "{r:?}");
            let transition = if open && n == opened_at {
                "opened"
            } else {
                "none"
            };
            assert_eq!(r.transition, transition, "{r:?}");
        }
    }
    // Metrics are recorded too, keyed by model like the rest.
    assert!(records
        .iter()
        .any(|r| r.value.kind == "anomaly" && r.value.test == TestKind::ZScore));
    assert!(records
        .iter()
        .all(|r| r.key.as_deref() == Some(r.value.model_id.as_str())));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_off_publish_nothing_there_and_change_nothing_else() -> TestResult {
    let mut env = TestEnv::start().await?;
    env.loaded.config.evaluations.enabled = false;
    let (cfg, codec) = (env.cfg(), &env.codec);
    let preds = Scenario::demo(3000, 1500).predictions();
    env.run(&encode_predictions(codec, &preds)?).await?;
    assert!(read_all::<EvaluationRecord>(cfg, codec, &cfg.topics.evaluations)?.is_empty());
    let drifts = read_all::<DriftEvent>(cfg, codec, &cfg.topics.drift_events)?;
    assert!(
        drifts.iter().any(|e| e.value.kind == "covariate"),
        "detection runs as before"
    );
    Ok(())
}
