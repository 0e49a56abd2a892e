//! The label-join operator alone, over a real RocksDB in a temp dir: no
//! detection, no decisions, no Kafka.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::Config;
use crate::ids;
use crate::schema::{Label, Prediction};
use crate::stage::{Models, Operator, SourcePos};
use crate::state::{window_key, AlertKey, Cf, Checkpoint, StateBatch, StateError, Store};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn at(topic: &str, offset: i64) -> SourcePos {
    SourcePos {
        topic: topic.into(),
        partition: 0,
        offset,
    }
}

fn prediction(id: &str, t: i64, class: &str) -> Prediction {
    Prediction {
        prediction_id: id.into(),
        model_id: "m".into(),
        model_version: "v1".into(),
        event_time: t,
        score: 0.5,
        predicted_class: Some(class.into()),
        features: Default::default(),
        categorical_features: None,
        latency_ms: None,
    }
}

fn label(id: &str, t: i64, value: &str) -> Label {
    Label {
        prediction_id: id.into(),
        model_id: "m".into(),
        event_time: t,
        label: value.into(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    join: LabelJoin,
    models: Models,
}

fn fixture(cfg: &Config) -> Result<Fixture, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path(), false)?);
    let mut models = Models::new(store.clone());
    models.track("m", 0);
    Ok(Fixture {
        _dir: dir,
        join: LabelJoin::new(cfg, store),
        models,
    })
}

fn counts(f: &Fixture) -> crate::state::LabelCounts {
    f.models
        .get("m")
        .map(|e| e.meta.labels.clone())
        .unwrap_or_default()
}

/// The join's writes at a checkpoint, written to the store, as (table,
/// key, deleted).
fn checkpoint(f: &mut Fixture) -> Result<Vec<(Cf, Vec<u8>, bool)>, StateError> {
    let mut batch = StateBatch::default();
    f.join.on_checkpoint(&f.models, &mut batch)?;
    let writes = batch.take();
    let seen = writes
        .iter()
        .map(|w| (w.cf, w.key.clone(), w.value.is_none()))
        .collect();
    f.models.store().write(&Checkpoint {
        writes,
        offsets: Vec::new(),
    })?;
    Ok(seen)
}

#[test]
fn a_label_before_its_prediction_waits_then_joins_once() -> TestResult {
    let mut f = fixture(&Config::defaults()?)?;
    let early = f
        .join
        .process(&mut f.models, &at("labels", 0), &label("p1", 10, "a"))?;
    assert_eq!(early, Joined::default());
    assert_eq!(counts(&f).early, 1);
    let writes = checkpoint(&mut f)?;
    assert!(writes.contains(&(Cf::Orphans, window_key("m", "p1"), false)));
    assert!(writes
        .iter()
        .any(|(cf, _, deleted)| *cf == Cf::Expiry && !deleted));
    assert!(
        checkpoint(&mut f)?.is_empty(),
        "moved out at the checkpoint"
    );

    f.join.process_prediction(
        &mut f.models,
        &at("predictions", 0),
        &prediction("p1", 12, "a"),
    )?;
    assert_eq!(counts(&f).joined, 1);
    let writes = checkpoint(&mut f)?;
    assert!(writes.contains(&(Cf::Orphans, window_key("m", "p1"), true)));
    assert!(writes.contains(&(Cf::Pending, window_key("m", "p1"), false)));
    assert!(
        writes
            .iter()
            .all(|(cf, _, _)| matches!(cf, Cf::Pending | Cf::Orphans | Cf::Expiry)),
        "the join writes only its own tables"
    );

    // A second label for a joined prediction is a duplicate, not an outcome.
    f.join
        .process(&mut f.models, &at("labels", 1), &label("p1", 13, "b"))?;
    let c = counts(&f);
    assert_eq!((c.joined, c.duplicate), (1, 1));
    Ok(())
}

#[test]
fn expiry_counts_what_never_joined_and_deletes_it() -> TestResult {
    let mut cfg = Config::defaults()?;
    cfg.labels.ttl = Duration::from_millis(100);
    let mut f = fixture(&cfg)?;
    f.join.process_prediction(
        &mut f.models,
        &at("predictions", 0),
        &prediction("lonely", 0, "a"),
    )?;
    f.join
        .process(&mut f.models, &at("labels", 0), &label("ghost", 0, "a"))?;
    f.join.expire(&mut f.models, "m", 100)?;
    let c = counts(&f);
    assert_eq!(
        (c.unlabeled, c.unknown),
        (0, 0),
        "not older than the TTL yet"
    );
    f.join.expire(&mut f.models, "m", 101)?;
    let c = counts(&f);
    assert_eq!((c.unlabeled, c.unknown), (1, 1));
    f.join.expire(&mut f.models, "m", 1_000)?;
    let c = counts(&f);
    assert_eq!((c.unlabeled, c.unknown), (1, 1), "counted once");
    // Written then deleted within the interval: the checkpoint deletes.
    let writes = checkpoint(&mut f)?;
    assert!(writes.iter().all(|(_, _, deleted)| *deleted), "{writes:?}");
    Ok(())
}

#[test]
fn a_collapsing_accuracy_opens_one_concept_alert() -> TestResult {
    let mut cfg = Config::defaults()?;
    cfg.labels.reference_size = 10;
    cfg.labels.window_size = 10;
    let mut f = fixture(&cfg)?;
    let mut opened = Vec::new();
    for i in 0..40i64 {
        let id = format!("p{i}");
        let pos = at("labels", i);
        f.join.process_prediction(
            &mut f.models,
            &at("predictions", i),
            &prediction(&id, i, "a"),
        )?;
        let truth = if i < 10 { "a" } else { "b" };
        let joined = f.join.process(&mut f.models, &pos, &label(&id, i, truth))?;
        if joined.concept_opened {
            let e = joined.drift.clone().ok_or("an opening has its event")?;
            assert_eq!(
                e.event_id,
                ids::drift_event_id("m", "concept:accuracy", pos.as_ref())
            );
            assert_eq!((e.kind.as_str(), e.status.as_str()), ("concept", "opened"));
            opened.push(i);
        }
    }
    assert_eq!(opened.len(), 1, "opened once, then held open: {opened:?}");
    let meta = &f.models.get("m").ok_or("cached")?.meta;
    assert!(meta.alerts[&AlertKey::Concept].state.is_open());
    Ok(())
}

#[test]
fn a_revoke_drops_the_partitions_writes() -> TestResult {
    let mut f = fixture(&Config::defaults()?)?;
    f.models.track("n", 1);
    f.join
        .process(&mut f.models, &at("labels", 0), &label("p1", 10, "a"))?;
    let other = Label {
        model_id: "n".into(),
        ..label("q1", 10, "a")
    };
    f.join.process(
        &mut f.models,
        &SourcePos {
            partition: 1,
            ..at("labels", 0)
        },
        &other,
    )?;
    f.join.on_revoke(1, &["n".to_string()]);
    let writes = checkpoint(&mut f)?;
    assert!(!writes.is_empty());
    assert!(writes.iter().all(|(_, key, _)| key.starts_with(b"m")));
    Ok(())
}
