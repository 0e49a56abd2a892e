//! Pooled learning over real RocksDB stores: an outcome of one model
//! becomes a lesson that another model's decision draws on, and a model
//! held by another processor (another instance) that is given the lesson
//! decides exactly as one processor holding both models.

use super::*;
use crate::config::Config;
use crate::decide::bandit::Scope;
use crate::decide::lesson::Lesson;
use crate::demo::scenario::Scenario;
use crate::pipeline::test_support::{at, audits, commands, config, TestResult};
use crate::schema::{AuditRecord, HealOutcome, OutcomeStatus, Prediction};

/// Records of model `a` up to its first command (about 27 min in, drift
/// from record 1500); its stream runs on to record 4200, past that
/// command's horizon (30 min) and not past the grace after it.
const FIRST: usize = 3000;

/// The drifting model of the demo scenario as model `a` on partition 0,
/// and the same stream, later in event time, as model `b` on partition 1.
fn streams() -> (Vec<Prediction>, Vec<Prediction>) {
    let a: Vec<Prediction> = Scenario::demo(4200, 1500)
        .predictions()
        .into_iter()
        .filter(|p| p.model_id == "churn-v7")
        .map(|mut p| {
            p.model_id = "a".into();
            p
        })
        .collect();
    let later = a.iter().map(|p| p.event_time).max().unwrap_or(0) + 60_000;
    let b = a
        .iter()
        .cloned()
        .map(|mut p| {
            p.model_id = "b".into();
            p.prediction_id = format!("b-{}", p.prediction_id);
            p.event_time += later;
            p
        })
        .collect();
    (a, b)
}

fn feed(
    p: &mut Processor,
    partition: i32,
    records: &[Prediction],
) -> Result<Vec<Output>, StateError> {
    feed_from(p, partition, 0, records)
}

fn feed_from(
    p: &mut Processor,
    partition: i32,
    from: usize,
    records: &[Prediction],
) -> Result<Vec<Output>, StateError> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let pos = SourcePos {
            topic: "predictions".into(),
            partition,
            offset: (from + i) as i64,
        };
        out.extend(p.process(&pos, r)?);
    }
    Ok(out)
}

/// Model `a`'s stream up to its first command, the command's outcome (it
/// waits: the horizon has not passed), then the rest of the stream, past
/// the horizon: the outputs after the outcome, where the reward, with its
/// measured and reported parts, is learned.
fn answer(p: &mut Processor, a: &[Prediction]) -> Result<Vec<Output>, Box<dyn std::error::Error>> {
    let out = feed(p, 0, &a[..FIRST])?;
    let c = commands(&out)
        .first()
        .cloned()
        .cloned()
        .ok_or("a command for a")?;
    let outcome = HealOutcome {
        command_id: c.command_id.clone(),
        model_id: "a".into(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.3,
        cost: 10.0,
        reported_at: 1,
        note: None,
    };
    let mut back = p.process_outcome(&at("outcomes", 0), &outcome)?;
    assert!(lessons(&back).is_empty(), "waits for the horizon");
    back.extend(feed_from(p, 0, FIRST, &a[FIRST..])?);
    let done = audits(&back)
        .into_iter()
        .find(|r| r.command_id.as_deref() == Some(&c.command_id) && r.reward.is_some())
        .ok_or("the command's reward")?;
    let parts = done.reward.as_ref().map(|w| w.parts.as_str());
    assert_eq!(parts, Some("measured+reported"));
    Ok(back)
}

fn lessons(out: &[Output]) -> Vec<Lesson> {
    out.iter()
        .filter_map(|o| match o {
            Output::Lesson(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

fn decision_of(out: &[Output], model: &str) -> Result<AuditRecord, Box<dyn std::error::Error>> {
    Ok(audits(out)
        .into_iter()
        .find(|a| a.model_id == model && a.version == 1)
        .cloned()
        .ok_or(format!("a decision for {model}"))?)
}

fn folded(a: &AuditRecord) -> i64 {
    a.bandit
        .as_ref()
        .map_or(0, |b| b.arms.iter().map(|arm| arm.observations).sum())
}

fn with_scope(scope: Scope) -> Result<Config, Box<dyn std::error::Error>> {
    let mut c = config()?;
    c.decide.bandit.scope = scope;
    Ok(c)
}

#[test]
fn another_instance_given_the_lesson_decides_as_one_instance() -> TestResult {
    let cfg = with_scope(Scope::Global)?;
    let (a, b) = streams();

    // One processor holds both models.
    let dir = tempfile::tempdir()?;
    let mut one = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    let taught = lessons(&answer(&mut one, &a)?);
    assert_eq!(taught.len(), 1, "the outcome is one lesson");
    assert_eq!(taught[0].model_id, "a");
    let single = decision_of(&feed(&mut one, 1, &b)?, "b")?;
    assert_eq!(folded(&single), 1, "b's decision drew on a's lesson");

    // Two processors, each with its own store: the second holds `b` and
    // is given the lesson (twice: a replay changes nothing).
    let (dx, dy) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut x = Processor::new(&cfg, "v1", Store::open(dx.path(), false)?);
    let mut y = Processor::new(&cfg, "v1", Store::open(dy.path(), false)?);
    let from_x = lessons(&answer(&mut x, &a)?);
    assert_eq!(from_x, taught);
    for lesson in from_x.iter().chain(&from_x) {
        y.learn(lesson.clone());
    }
    let split = decision_of(&feed(&mut y, 1, &b)?, "b")?;
    assert_eq!(split, single, "identical decision, audit record and all");

    // Learning only from its own outcomes, b has nothing to draw on.
    let own = with_scope(Scope::Model)?;
    let dz = tempfile::tempdir()?;
    let mut z = Processor::new(&own, "v1", Store::open(dz.path(), false)?);
    answer(&mut z, &a)?;
    let alone = decision_of(&feed(&mut z, 1, &b)?, "b")?;
    assert_eq!(folded(&alone), 0);
    assert_ne!(alone.bandit, single.bandit);
    Ok(())
}

#[test]
fn a_lesson_learned_after_a_decision_is_not_folded_into_it() -> TestResult {
    let cfg = with_scope(Scope::Global)?;
    let (a, b) = streams();
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    let mut taught = lessons(&answer(&mut p, &a)?);
    // The same lesson, as if learned after b's whole stream.
    let dir2 = tempfile::tempdir()?;
    let mut q = Processor::new(&cfg, "v1", Store::open(dir2.path(), false)?);
    taught[0].learned_at = b.iter().map(|r| r.event_time).max().unwrap_or(0) + 1;
    q.learn(taught[0].clone());
    let d = decision_of(&feed(&mut q, 1, &b)?, "b")?;
    assert_eq!(folded(&d), 0);
    Ok(())
}
