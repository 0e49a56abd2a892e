//! Processor tests of stream conditions over a real RocksDB in a temp dir:
//! delayed, early, duplicate and unknown labels; concept drift; event-time
//! windows with late and out-of-order records; alerts that open and close.

use super::*;
use crate::config::{Config, WindowKindName};
use crate::pipeline::test_support::{at, drift_events, TestResult};
use crate::schema::{DriftEvent, Label};
use crate::state::{window_key, Cf};
use std::time::Duration;

/// A deterministic, well-spread value in [0, 1) (golden-ratio sequence).
fn spread(i: u64) -> f64 {
    (i as f64 * 0.618_033_988_749_895).fract()
}

fn prediction(i: u64, time: i64, x: f64, class: &str) -> Prediction {
    Prediction {
        prediction_id: format!("p{i}"),
        model_id: "m".into(),
        model_version: "1".into(),
        event_time: time,
        features: [("x".to_string(), x)].into_iter().collect(),
        categorical_features: None,
        score: 0.5,
        predicted_class: Some(class.into()),
        latency_ms: None,
    }
}

fn label(id: &str, time: i64, value: &str) -> Label {
    Label {
        prediction_id: id.into(),
        model_id: "m".into(),
        event_time: time,
        label: value.into(),
    }
}

#[test]
fn labels_join_late_early_twice_and_unknown() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::defaults()?;
    cfg.labels.ttl = Duration::from_secs(100);
    cfg.detect.allowed_lateness = Duration::ZERO;
    cfg.detect.evaluate_every = 10;
    let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    let (mut po, mut lo) = (0i64, 0i64);
    let mut predict = |p: &mut Processor, i: u64| -> Result<Vec<Output>, StateError> {
        po += 1;
        p.process(
            &at("predictions", po),
            &prediction(i, i as i64 * 1000, spread(i), "1"),
        )
    };
    // An early label: it comes before its prediction.
    p.process_label(&at("labels", lo), &label("p5", 5_500, "1"))?;
    lo += 1;
    for i in 0..20 {
        predict(&mut p, i)?;
    }
    let mut send = |p: &mut Processor, id: &str, time: i64| -> Result<(), StateError> {
        lo += 1;
        p.process_label(&at("labels", lo), &label(id, time, "1"))?;
        Ok(())
    };
    send(&mut p, "p1", 30_000)?; // late but within the TTL: joined
    send(&mut p, "p3", 31_000)?; // joined
    send(&mut p, "p1", 32_000)?; // twice: duplicate
    send(&mut p, "p5", 33_000)?; // twice (the early one joined): duplicate
    send(&mut p, "ghost", 34_000)?; // unknown prediction: waits, then expires
    p.checkpoint()?;
    // Move event time far past the TTL: everything still waiting expires.
    for i in 1000..1010 {
        predict(&mut p, i)?;
    }
    p.checkpoint()?;
    let meta = p.stored_model("m")?.ok_or("no model")?;
    let l = &meta.labels;
    assert_eq!((l.joined, l.duplicate, l.early), (3, 2, 2), "{l:?}");
    assert_eq!(l.unknown, 1, "the ghost label expired: {l:?}");
    // 20 first predictions, 3 of them labeled: 17 expired without label.
    assert_eq!(l.unlabeled, 17, "{l:?}");
    // The expired entries are gone from the stores.
    assert_eq!(p.store().get(Cf::Pending, &window_key("m", "p2"))?, None);
    assert_eq!(p.store().get(Cf::Orphans, &window_key("m", "ghost"))?, None);
    assert!(p
        .store()
        .get(Cf::Pending, &window_key("m", "p1005"))?
        .is_some());
    Ok(())
}

#[test]
fn an_accuracy_drop_is_concept_drift_and_a_decision() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::defaults()?;
    cfg.labels.reference_size = 200;
    cfg.labels.window_size = 100;
    cfg.labels.accuracy_drop = 0.2;
    cfg.detect.persistence = 1;
    let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    let mut out = Vec::new();
    for i in 0..600u64 {
        let time = i as i64 * 1000;
        out.extend(p.process(
            &at("predictions", i as i64),
            &prediction(i, time, spread(i), "yes"),
        )?);
        // 90 % right for the first 300, then 50 %.
        let right = if i < 300 { i % 10 != 0 } else { i % 2 == 0 };
        let truth = if right { "yes" } else { "no" };
        out.extend(p.process_label(
            &at("labels", i as i64),
            &label(&format!("p{i}"), time, truth),
        )?);
    }
    let concept: Vec<&DriftEvent> = drift_events(&out)
        .into_iter()
        .filter(|e| e.kind == "concept")
        .collect();
    assert_eq!(concept.len(), 1, "{concept:?}");
    let c = concept[0];
    assert_eq!(
        (c.status.as_str(), c.feature.as_str()),
        ("opened", "accuracy")
    );
    assert!(c.statistic >= 0.2 && c.p_value < 1e-3, "{c:?}");
    // It opened within a window of the change (label 300) and before the end.
    let opened_at = out
        .iter()
        .position(|o| matches!(o, Output::Drift(d) if d.kind == "concept"))
        .ok_or("no concept event")?;
    let decision = out[opened_at..].iter().find_map(|o| match o {
        Output::Audit(a) => Some(a),
        _ => None,
    });
    let decision = decision.ok_or("no decision after the concept drift")?;
    assert_eq!(decision.inputs.source_topic, "labels");
    assert!(decision.evidence.iter().any(|e| e.feature == "accuracy"
        && e.drifted
        && e.drift_event_id.as_deref() == Some(c.event_id.as_str())));
    assert_eq!(decision.action, "retrain");
    Ok(())
}

#[test]
fn time_windows_count_late_records_and_detect_a_shift() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::defaults()?;
    cfg.detect.window_kind = WindowKindName::Time;
    cfg.detect.window_duration = Duration::from_secs(100);
    cfg.detect.window_slide = Duration::from_secs(50);
    cfg.detect.allowed_lateness = Duration::from_secs(5);
    cfg.detect.min_window_size = 50;
    cfg.detect.reference_size = 300;
    cfg.detect.persistence = 1;
    let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    let mut out = Vec::new();
    let mut late_sent = 0;
    // One prediction per second; from second 600 the feature moves up.
    // Every 7th record is 3 s out of order (within lateness); every 50th is
    // 60 s late (beyond it).
    for i in 0..1000u64 {
        let mut t = i as i64 * 1000;
        if i % 7 == 0 {
            t -= 3000;
        }
        if i % 50 == 49 {
            t -= 60_000;
            late_sent += 1;
        }
        let x = spread(i) + if i >= 600 { 0.5 } else { 0.0 };
        out.extend(p.process(&at("predictions", i as i64), &prediction(i, t, x, "1"))?);
    }
    p.checkpoint()?;
    let meta = p.stored_model("m")?.ok_or("no model")?;
    // The 60 s-late ones, and the 3 s ones that came after a 60 s one.
    assert!(meta.clock.late >= late_sent, "{:?}", meta.clock);
    assert!(meta.clock.out_of_order >= 140, "{:?}", meta.clock);
    // Window ends on the 50 s grid, behind the watermark.
    let end = meta.clock.window_end.ok_or("no window end")?;
    assert_eq!(end % 50_000, 0);
    assert!(end <= 999_000 - 5_000);
    let opened: Vec<&DriftEvent> = drift_events(&out)
        .into_iter()
        .filter(|e| e.kind == "covariate" && e.status == "opened")
        .collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    let e = opened[0];
    // First window reaching into the shift: it ends at 650 s or 700 s.
    assert!(
        e.window_end_time >= 600_000 && e.window_end_time < 700_000,
        "{e:?}"
    );
    assert!(e.window_start_time >= e.window_end_time - 100_000);
    assert!(e.late_records > 0);
    // Windows never hold a late value: window size below its span in seconds.
    assert!(e.window_size <= 100);
    Ok(())
}

#[test]
fn an_alert_opens_and_closes_instead_of_flapping() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::defaults()?;
    cfg.detect.reference_size = 200;
    cfg.detect.window_size = 100;
    cfg.detect.evaluate_every = 50;
    cfg.detect.persistence = 2;
    let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    let mut out = Vec::new();
    // Shifted between records 600 and 900, normal again after.
    for i in 0..1400u64 {
        let x = spread(i) + if (600..900).contains(&i) { 0.5 } else { 0.0 };
        let t = i as i64 * 1000;
        out.extend(p.process(&at("predictions", i as i64), &prediction(i, t, x, "1"))?);
    }
    let covariate: Vec<(String, i64)> = drift_events(&out)
        .iter()
        .filter(|e| e.kind == "covariate")
        .map(|e| (e.status.clone(), e.window_end_record))
        .collect();
    assert_eq!(covariate.len(), 2, "{covariate:?}");
    assert_eq!(covariate[0].0, "opened");
    assert_eq!(covariate[1].0, "closed");
    // Opened at the second drifted evaluation, closed at the second clear one.
    assert!(
        covariate[0].1 > 600 && covariate[0].1 <= 750,
        "{covariate:?}"
    );
    assert!(
        covariate[1].1 > 900 && covariate[1].1 <= 1100,
        "{covariate:?}"
    );
    Ok(())
}

#[test]
fn file_and_time_range_references() -> TestResult {
    use crate::config::ReferenceMode;
    use crate::pipeline::reference::ReferenceData;
    use std::sync::Arc;
    let shifted = |i: u64| spread(i) + if i >= 400 { 0.5 } else { 0.0 };
    // A reference file holding the unshifted distribution: the stream is
    // tested against it from its first full window.
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::defaults()?;
    cfg.detect.reference_mode = ReferenceMode::File;
    cfg.detect.reference_file = Some("reference.csv".into());
    cfg.detect.window_size = 100;
    cfg.detect.evaluate_every = 50;
    cfg.detect.persistence = 1;
    let csv: String = std::iter::once("x".to_string())
        .chain((10_000..10_300).map(|i| spread(i).to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    let reference = Arc::new(ReferenceData::parse(&csv)?);
    let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?)
        .with_reference("reference.csv".into(), reference);
    let mut out = Vec::new();
    for i in 0..600u64 {
        out.extend(p.process(
            &at("predictions", i as i64),
            &prediction(i, i as i64 * 1000, shifted(i), "1"),
        )?);
    }
    let opened: Vec<i64> = drift_events(&out)
        .iter()
        .filter(|e| e.kind == "covariate" && e.status == "opened")
        .map(|e| {
            assert_eq!(e.reference_size, 300);
            e.window_end_record
        })
        .collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(opened[0] > 400 && opened[0] <= 500, "{opened:?}");
    // Restored from RocksDB, the preloaded reference is still there.
    p.checkpoint()?;
    let windows = p.stored_windows("m")?;
    assert_eq!(windows[0].1.reference().len(), 300);

    // A reference time range: values before it are counted and ignored,
    // values in it form the reference, later ones the current window.
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::defaults()?;
    cfg.detect.reference_mode = ReferenceMode::TimeRange;
    cfg.detect.reference_start = Some("1970-01-01T00:01:40Z".into()); // 100 s
    cfg.detect.reference_end = Some("1970-01-01T00:05:00Z".into()); // 300 s
    cfg.detect.window_size = 100;
    cfg.detect.evaluate_every = 50;
    cfg.detect.persistence = 1;
    cfg.detect.allowed_lateness = Duration::ZERO;
    let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    let mut out = Vec::new();
    for i in 0..600u64 {
        out.extend(p.process(
            &at("predictions", i as i64),
            &prediction(i, i as i64 * 1000, shifted(i), "1"),
        )?);
    }
    p.checkpoint()?;
    let meta = p.stored_model("m")?.ok_or("no model")?;
    assert_eq!(meta.clock.before_reference, 100);
    let windows = p.stored_windows("m")?;
    let reference = windows[0].1.reference();
    assert_eq!(reference.len(), 200);
    assert_eq!(reference.front().map(|e| e.time), Some(100_000));
    assert_eq!(reference.back().map(|e| e.time), Some(299_000));
    let opened: Vec<&DriftEvent> = drift_events(&out)
        .into_iter()
        .filter(|e| e.kind == "covariate" && e.status == "opened")
        .collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(
        (opened[0].reference_start_time, opened[0].reference_end_time),
        (100_000, 299_000)
    );
    assert!(opened[0].window_end_record > 400 && opened[0].window_end_record <= 500);
    Ok(())
}
