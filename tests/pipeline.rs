//! End to end on a real broker process: a shifted stream yields the exact
//! heal command and audit record; a stream without shift yields nothing.

mod common;

use common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::detect::ks::{ks_2samp, Alternative, Method};
use jidoka::ids;
use jidoka::schema::{Action, AuditRecord, DriftEvent, HealCommand, Prediction};

/// Independently of the pipeline: the first evaluation point (model record
/// index) at which some feature of `model` has p < alpha / k (Bonferroni over
/// its k features), recomputing every window from the raw stream.
fn first_drift(
    preds: &[Prediction],
    model: &str,
    reference: usize,
    window: usize,
    every: usize,
    alpha: f64,
) -> Option<(usize, Vec<String>)> {
    let rows: Vec<&Prediction> = preds.iter().filter(|p| p.model_id == model).collect();
    let features: Vec<String> = rows.first()?.features.keys().cloned().collect();
    let col = |f: &str, range: std::ops::Range<usize>| -> Vec<f64> {
        rows[range]
            .iter()
            .filter_map(|p| p.features.get(f).copied())
            .collect()
    };
    (1..=rows.len())
        .filter(|r| r % every == 0 && *r >= reference + window)
        .find_map(|r| {
            let drifted: Vec<String> = features
                .iter()
                .filter(|f| {
                    ks_2samp(
                        &col(f, 0..reference),
                        &col(f, r - window..r),
                        Alternative::TwoSided,
                        Method::Auto,
                    )
                    .is_some_and(|k| k.p_value < alpha / features.len() as f64)
                })
                .cloned()
                .collect();
            (!drifted.is_empty()).then_some((r, drifted))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shifted_stream_gives_exact_command_and_audit() -> TestResult {
    let env = TestEnv::start().await?;
    let (cfg, codec, loaded) = (env.cfg(), &env.codec, &env.loaded);
    let preds = Scenario::demo(3000, 1500).predictions();
    let d = &cfg.detect;
    let (record, drifted) = first_drift(
        &preds,
        "churn-v7",
        d.reference_size,
        d.window_size,
        d.evaluate_every as usize,
        d.ks_alpha,
    )
    .ok_or("the reference computation finds no drift")?;
    assert!(record > 1500, "drift before the shift: {record}");
    assert_eq!(drifted, vec!["tenure_days".to_string()]);
    for healthy in ["fraud-v3", "ranker-v2"] {
        assert_eq!(
            first_drift(
                &preds,
                healthy,
                d.reference_size,
                d.window_size,
                d.evaluate_every as usize,
                d.ks_alpha
            ),
            None
        );
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
    let expected_drift_id = ids::drift_event_id("churn-v7", "tenure_days", at);
    assert_eq!(c.key.as_deref(), Some("churn-v7"));
    assert_eq!(
        c.value,
        HealCommand {
            command_id: ids::command_id(&decision_id, "retrain"),
            decision_id: decision_id.clone(),
            model_id: "churn-v7".into(),
            model_version: "1".into(),
            action: Action::Retrain,
            reason: "rule drift-retrain matched: drift on tenure_days".into(),
            evidence: vec![expected_drift_id.clone()],
            issued_at: preds
                .iter()
                .filter(|p| p.model_id == "churn-v7")
                .nth(record - 1)
                .map(|p| p.event_time)
                .ok_or("no record")?,
            config_version: loaded.version.clone(),
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
    assert_eq!(a.rules.len(), 1);
    assert!(a.rules[0].matched);
    assert_eq!(a.config_version, loaded.version);
    let features: Vec<(&str, bool)> = a
        .evidence
        .iter()
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
    let first = drifts
        .iter()
        .find(|e| e.value.event_id == expected_drift_id)
        .ok_or("drift event missing")?;
    assert_eq!(first.value.window_end_record, record as i64);
    assert_eq!(
        first.value.window_start_record,
        (record - d.window_size + 1) as i64
    );
    assert_eq!(first.value.alpha, d.ks_alpha / 3.0);
    assert!(first.value.p_value < first.value.alpha);
    assert!(drifts
        .iter()
        .all(|e| e.value.model_id == "churn-v7" && e.value.feature == "tenure_days"));
    assert_eq!(drifts.len(), audits.len());
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
