//! The detection operator alone, over a real RocksDB in a temp dir: no
//! label join, no decisions, no Kafka.

use super::*;
use crate::demo::scenario::Scenario;
use crate::pipeline::Processor;
use crate::schema::{DriftEvent, EvaluationRecord};
use crate::stage::SourcePos;
use crate::state::{Cf, Checkpoint};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The defaults with small windows: reference 500, window 250, evaluated
/// every 125 records.
fn config() -> Result<Config, Box<dyn std::error::Error>> {
    let mut c = Config::defaults()?;
    c.detect.reference_size = 500;
    c.detect.window_size = 250;
    c.detect.evaluate_every = 125;
    Ok(c)
}

fn pos(offset: usize) -> SourcePos {
    SourcePos {
        topic: "predictions".into(),
        partition: 0,
        offset: offset as i64,
    }
}

/// What detection alone made of some predictions.
#[derive(Debug, Default)]
struct Run {
    events: Vec<DriftEvent>,
    /// Evaluation records, in emission order.
    records: Vec<EvaluationRecord>,
    /// Offsets of the evaluations that found the model degraded.
    degraded: Vec<usize>,
    evaluations: usize,
}

/// Predictions `from..` of `preds` through detection alone, in the
/// pipeline's order: process, test, alerts.
fn detect(
    d: &mut Detection,
    models: &mut Models,
    preds: &[Prediction],
    from: usize,
) -> Result<Run, StateError> {
    let mut run = Run::default();
    for (i, p) in preds.iter().enumerate().skip(from) {
        let pos = pos(i);
        models.track(&p.model_id, pos.partition);
        let observed = d.process(models, p)?;
        let Some(tested) = d.test(models, &p.model_id, observed)? else {
            continue;
        };
        run.evaluations += 1;
        let at = Evaluation {
            pos: &pos,
            model_id: &p.model_id,
            model_version: &p.model_version,
            event_time: p.event_time,
            record: observed.record,
        };
        let alerts = d.alerts(models, &at, tested)?;
        for out in alerts.outputs {
            match out {
                Output::Drift(e) => run.events.push(e),
                Output::Evaluation(e) => run.records.push(e),
                other => panic!("detection emitted {other:?}"),
            }
        }
        if let Some(evidence) = alerts.degraded {
            assert!(!evidence.is_empty(), "a degraded model has evidence");
            run.degraded.push(i);
        }
    }
    Ok(run)
}

#[test]
fn a_shift_opens_covariate_alerts_and_degrades_the_model() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path(), false)?);
    let cfg = config()?;
    let mut d = Detection::new(&cfg, store.clone());
    let mut models = Models::new(store);
    let preds = Scenario::demo(3000, 1500).predictions();
    let run = detect(&mut d, &mut models, &preds, 0)?;
    assert!(run.evaluations > 0);
    let covariate: Vec<&DriftEvent> = run
        .events
        .iter()
        .filter(|e| e.kind == "covariate" && e.status == "opened")
        .collect();
    assert!(!covariate.is_empty(), "the shift opens covariate alerts");
    for e in &covariate {
        assert_eq!(e.model_id, "churn-v7");
        assert!(
            e.window_end_record > 1500,
            "no covariate alert before the shift: {e:?}"
        );
    }
    assert!(!run.degraded.is_empty(), "an open alert degrades the model");
    let meta = &models.get("churn-v7").ok_or("model cached")?.meta;
    assert!(
        meta.signals.drifted_share > 0.0,
        "signals kept for decisions"
    );
    let churn = preds.iter().filter(|p| p.model_id == "churn-v7").count();
    assert_eq!(meta.records_seen, churn as u64);

    // The processor's drift events are exactly detection's (no labels, so
    // no concept drift): the wiring adds nothing and drops nothing.
    let other = tempfile::tempdir()?;
    let mut p = Processor::new(&cfg, "v1", Store::open(other.path(), false)?);
    let mut wired = Vec::new();
    for (i, rec) in preds.iter().enumerate() {
        for out in p.process(&pos(i), rec)? {
            if let Output::Drift(e) = out {
                wired.push(e);
            }
        }
    }
    assert_eq!(wired, run.events);
    Ok(())
}

#[test]
fn every_evaluation_records_each_feature_and_metric_with_its_alert_state() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path(), false)?);
    let cfg = config()?;
    let mut d = Detection::new(&cfg, store.clone());
    let mut models = Models::new(store);
    let preds = Scenario::demo(3000, 1500).predictions();
    let run = detect(&mut d, &mut models, &preds, 0)?;
    // One record per tested feature and metric per evaluation: never two
    // for one (model, record, feature); a feature tested once (its windows
    // full) is tested at every later evaluation of its model.
    let mut seen = std::collections::BTreeSet::new();
    let mut evaluations: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    let mut tested: std::collections::BTreeMap<(&str, &str, &str), Vec<i64>> = Default::default();
    for r in &run.records {
        let key = (r.model_id.as_str(), r.kind.as_str(), r.feature.as_str());
        assert!(seen.insert((key, r.record)), "one record per test: {r:?}");
        let at = evaluations.entry(key.0).or_default();
        if at.last() != Some(&r.record) {
            at.push(r.record);
        }
        tested.entry(key).or_default().push(r.record);
    }
    // Evaluations before the first full windows test nothing.
    let recorded = evaluations.values().map(Vec::len).sum::<usize>();
    assert!(recorded > 0 && recorded <= run.evaluations);
    for ((model, kind, feature), at) in &tested {
        if *kind == "covariate" {
            let all = &evaluations[model];
            let first = all.iter().position(|r| *r == at[0]).ok_or("known")?;
            assert_eq!(&all[first..], at.as_slice(), "{model}/{feature}");
        }
    }
    assert!(
        run.records.iter().any(|r| r.kind == "anomaly"),
        "metrics are recorded too"
    );
    let ids: std::collections::BTreeSet<&str> = run
        .records
        .iter()
        .map(|r| r.evaluation_id.as_str())
        .collect();
    assert_eq!(ids.len(), run.records.len(), "ids are unique");
    // Each record's alert state follows from the one before: it changes
    // exactly at a transition.
    let mut open: std::collections::BTreeMap<(String, String, String), bool> = Default::default();
    for r in &run.records {
        let key = (r.model_id.clone(), r.kind.clone(), r.feature.clone());
        let was = open.get(&key).copied().unwrap_or(false);
        match r.transition.as_str() {
            "opened" => assert!(!was && r.alert_open, "{r:?}"),
            "closed" => assert!(was && !r.alert_open, "{r:?}"),
            _ => assert_eq!(was, r.alert_open, "{r:?}"),
        }
        open.insert(key, r.alert_open);
        assert!(r.window_end_record <= r.record);
        if r.kind == "covariate" {
            assert!(r.effect_size.is_some_and(|e| e >= 0.0), "{r:?}");
            assert!(r.adjusted_p_value.is_some());
            // The default gate: learned from the reference, never below
            // the floor; drifted is significance and an effect at the gate.
            let floor = Config::defaults()
                .map(|c| c.detect.min_effect)
                .unwrap_or_else(|e| panic!("{e}"));
            let floor = if r.test == TestKind::Ks {
                floor.ks
            } else {
                floor.chi2
            };
            assert!(r.min_effect >= floor && floor > 0.0, "{r:?}");
            let effect = r.effect_size.unwrap_or(f64::NAN);
            assert_eq!(r.drifted, r.significant && effect >= r.min_effect, "{r:?}");
        }
    }
    let transitions: Vec<(&str, i64, &str, &str)> = run
        .records
        .iter()
        .filter(|r| r.transition != "none")
        .map(|r| {
            (
                r.model_id.as_str(),
                r.event_time,
                r.feature.as_str(),
                r.transition.as_str(),
            )
        })
        .collect();
    let events: Vec<(&str, i64, &str, &str)> = run
        .events
        .iter()
        .map(|e| {
            (
                e.model_id.as_str(),
                e.event_time,
                e.feature.as_str(),
                e.status.as_str(),
            )
        })
        .collect();
    assert_eq!(transitions, events, "a transition is exactly a drift event");
    assert!(
        run.records
            .iter()
            .any(|r| r.kind == "covariate" && r.alert_open),
        "the shift opens alerts"
    );

    // A replay gives the same records.
    let again = tempfile::tempdir()?;
    let store = Arc::new(Store::open(again.path(), false)?);
    let mut d = Detection::new(&cfg, store.clone());
    let mut models = Models::new(store);
    assert_eq!(detect(&mut d, &mut models, &preds, 0)?.records, run.records);
    Ok(())
}

#[test]
fn a_checkpoint_writes_window_segments_and_a_fresh_operator_continues_identically() -> TestResult {
    let cfg = config()?;
    let preds = Scenario::demo(3000, 1500).predictions();
    let split = 1200;

    let straight_dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(straight_dir.path(), false)?);
    let mut d = Detection::new(&cfg, store.clone());
    let mut models = Models::new(store);
    let straight = detect(&mut d, &mut models, &preds[..], 0)?;

    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path(), false)?);
    let mut d = Detection::new(&cfg, store.clone());
    let mut models = Models::new(store.clone());
    let first = detect(&mut d, &mut models, &preds[..split], 0)?;
    let mut batch = StateBatch::default();
    d.on_checkpoint(&models, &mut batch)?;
    let windows = batch.take();
    assert!(!windows.is_empty());
    assert!(
        windows
            .iter()
            .all(|w| w.cf == Cf::Windows && w.partition == 0),
        "detection writes only its windows"
    );
    // Segments, not whole windows: fewer keys than values.
    assert!(windows.len() < split);
    d.on_checkpoint(&models, &mut batch)?;
    assert!(batch.is_empty(), "nothing changed since: nothing written");
    models.on_checkpoint(&mut batch)?;
    let mut writes = batch.take();
    writes.extend(windows);
    store.write(&Checkpoint {
        writes,
        offsets: Vec::new(),
    })?;
    assert_eq!(
        d.stored_windows("churn-v7")?.len(),
        preds[0].features.len(),
        "every numeric feature stored"
    );

    // A fresh operator over the store continues as if never stopped.
    let mut fresh = Detection::new(&cfg, store.clone());
    let mut fresh_models = Models::new(store);
    let second = detect(&mut fresh, &mut fresh_models, &preds, split)?;
    let mut resumed = first.events;
    resumed.extend(second.events);
    assert_eq!(resumed, straight.events);
    Ok(())
}

#[test]
fn a_revoke_drops_the_cached_windows() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path(), false)?);
    let cfg = config()?;
    let mut d = Detection::new(&cfg, store.clone());
    let mut models = Models::new(store);
    let preds = Scenario::demo(10, 5).predictions();
    detect(&mut d, &mut models, &preds, 0)?;
    let cached = d.cached_models();
    assert!(cached > 0);
    d.on_revoke(1, &[]);
    assert_eq!(d.cached_models(), cached, "another partition's models stay");
    let gone = models.forget_partition(0);
    d.on_revoke(0, &gone);
    assert_eq!(d.cached_models(), 0);
    Ok(())
}
