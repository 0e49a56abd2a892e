//! Self-measured recovery over a real RocksDB in a temp dir: decisions are
//! measured again on the model's own stream after the horizon and learned
//! once, from the measurement alone or with the executor's outcome.

use super::*;
use crate::config::Config;
use crate::demo::scenario::Scenario;
use crate::pipeline::test_support::{at, audits, commands, config, TestResult};
use crate::schema::{
    Action, AuditRecord, AuditReward, HealCommand, HealOutcome, OperatorCommand, OperatorKind,
    OutcomeStatus,
};

const MODEL: &str = "churn-v7";
const START: i64 = 1_767_225_600_000;

/// The test config with measurement on: horizon 15 min, grace 10 min,
/// `none` among the arms.
fn measured() -> Result<Config, Box<dyn std::error::Error>> {
    let mut c = config()?;
    c.decide.reward.measured_weight = 1.0;
    c.decide.reward.reported_weight = 1.0;
    c.decide.reward.horizon = std::time::Duration::from_secs(15 * 60);
    c.decide.reward.outcome_grace = std::time::Duration::from_secs(10 * 60);
    c.decide.bandit.arms.insert(0, "none".into());
    Ok(c)
}

/// `records` of churn-v7, one a second from `from_s` seconds after the
/// start; `tenure_days` shifted from its `shift_at`-th record.
fn stream(from_s: i64, records: u64, shift_at: u64) -> Vec<Prediction> {
    let mut s = Scenario::demo(records, shift_at);
    s.models.retain(|m| m.model_id == MODEL);
    s.start_time_ms = START + from_s * 1_000;
    s.predictions()
}

/// Drift from record 1500 of 2000, then 1500 records that recover (or
/// not).
fn episode(recovers: bool) -> (Vec<Prediction>, Vec<Prediction>) {
    let a = stream(0, 2000, 1500);
    let b = stream(2000, 1500, if recovers { u64::MAX } else { 1 });
    (a, b)
}

fn feed(p: &mut Processor, from: i64, records: &[Prediction]) -> Result<Vec<Output>, StateError> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        out.extend(p.process(&at("predictions", from + i as i64), r)?);
    }
    Ok(out)
}

fn rewarded(out: &[Output]) -> Vec<&AuditRecord> {
    audits(out)
        .into_iter()
        .filter(|a| a.reward.is_some())
        .collect()
}

fn observations(p: &Processor, arm: Action) -> Result<u64, StateError> {
    Ok(p.decisions
        .bandit(MODEL)?
        .and_then(|b| b.arm(arm).map(|a| a.observations()))
        .unwrap_or(0))
}

/// The documented formula, by hand, from the numbers the record holds.
fn by_hand(r: &AuditReward) -> f64 {
    let bad = |a: f64, s: f64| (a.clamp(0.0, 1.0) + s.clamp(0.0, 1.0)) / 2.0;
    let measured = match (r.accuracy_drop_after, r.drifted_share_after) {
        (Some(a), Some(s)) => Some(bad(r.accuracy_drop_before, r.drifted_share_before) - bad(a, s)),
        _ => None,
    };
    let (mut sum, mut weight) = (0.0, 0.0);
    if let Some(m) = measured {
        sum += r.measured_weight * m;
        weight += r.measured_weight;
    }
    if let Some(x) = r.reported_recovery {
        sum += r.reported_weight * x;
        weight += r.reported_weight;
    }
    let recovery = if weight > 0.0 { sum / weight } else { 0.0 };
    r.benefit_weight * recovery - r.cost_weight * r.reported_cost.unwrap_or(0.0)
}

fn outcome(command_id: &str) -> HealOutcome {
    HealOutcome {
        command_id: command_id.into(),
        model_id: MODEL.into(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.4,
        cost: 5.0,
        reported_at: 7,
        note: None,
    }
}

#[test]
fn decisions_without_a_command_learn_from_the_measurement_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&measured()?, "v1", Store::open(dir.path(), false)?);
    let (a, b) = episode(false);
    let mut out = feed(&mut p, 0, &a)?;
    out.extend(feed(&mut p, a.len() as i64, &b)?);
    let decided: Vec<&AuditRecord> = audits(&out)
        .into_iter()
        .filter(|x| x.version == 1 && x.command_id.is_none())
        .collect();
    assert!(!decided.is_empty(), "decisions held back by the cooldown");
    let learned: Vec<&AuditRecord> = rewarded(&out)
        .into_iter()
        .filter(|x| x.command_id.is_none())
        .collect();
    assert!(!learned.is_empty());
    for r in &learned {
        let first = decided
            .iter()
            .find(|d| d.decision_id == r.decision_id)
            .ok_or("the decision of a reward")?;
        let w = r.reward.as_ref().ok_or("reward")?;
        assert_eq!((w.arm.as_str(), w.parts.as_str()), ("none", "measured"));
        assert!(w.learned && r.outcome.is_none());
        assert_eq!(r.status.as_str(), "completed");
        assert_eq!(r.version, 2);
        // Before: the signals the decision was taken on.
        assert_eq!(
            Some(w.drifted_share_before),
            first.context.get("drifted_share").copied()
        );
        assert_eq!(
            Some(w.accuracy_drop_before),
            first.context.get("accuracy_drop").copied()
        );
        // Measured at the first evaluation past the horizon, on the
        // signals a decision at that same evaluation saw.
        let measured_at = w.measured_at.ok_or("measured")?;
        assert!(measured_at >= first.decided_at + 15 * 60_000);
        assert!(measured_at < first.decided_at + 15 * 60_000 + 125_000);
        if let Some(same) = decided.iter().find(|d| d.decided_at == measured_at) {
            assert_eq!(
                w.drifted_share_after,
                same.context.get("drifted_share").copied()
            );
        }
        assert!((w.reward - by_hand(w)).abs() < 1e-12, "{w:?}");
    }
    assert_eq!(observations(&p, Action::None)?, learned.len() as u64);
    // Each measured reward is a lesson for the pools: the decision's arm
    // and context, the audited reward.
    for r in &learned {
        let lesson = out
            .iter()
            .find_map(|o| match o {
                Output::Lesson(l) if l.decision_id == r.decision_id => Some(l),
                _ => None,
            })
            .ok_or("a lesson for every measured reward")?;
        let w = r.reward.as_ref().ok_or("reward")?;
        assert_eq!((lesson.action, lesson.reward), (Action::None, w.reward));
        assert!(lesson.learned_at >= w.measured_at.unwrap_or(i64::MAX));
    }
    // The reward versions extend the model's chain.
    let all: Vec<AuditRecord> = audits(&out).into_iter().cloned().collect();
    let reports = crate::audit::verify(all);
    assert!(reports.iter().all(|r| r.is_intact()), "{reports:?}");
    // Every decision is learned at most once.
    let mut ids: Vec<&str> = learned.iter().map(|r| r.decision_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), learned.len());
    Ok(())
}

/// The retrain command's reward after `b`, its outcome sent `before` or
/// after the horizon, and the outputs.
fn command_reward(
    dir: &std::path::Path,
    recovers: bool,
    outcome_first: bool,
) -> Result<(AuditRecord, Processor), Box<dyn std::error::Error>> {
    let mut p = Processor::new(&measured()?, "v1", Store::open(dir, false)?);
    let (a, b) = episode(recovers);
    let mut out = feed(&mut p, 0, &a)?;
    let c = commands(&out)
        .first()
        .map(|c| (*c).clone())
        .ok_or("a command")?;
    assert_eq!(c.action, Action::Retrain);
    if outcome_first {
        let back = p.process_outcome(&at("outcomes", 0), &outcome(&c.command_id))?;
        assert!(back.is_empty(), "waits for the horizon");
        assert_eq!(observations(&p, Action::Retrain)?, 0);
    }
    // Late: after the horizon (measured), before horizon + grace.
    let split = if outcome_first {
        0
    } else {
        let t = c.issued_at + 20 * 60_000;
        b.iter()
            .position(|r| r.event_time >= t)
            .ok_or("stream too short")?
    };
    let from = a.len() as i64;
    out.extend(feed(&mut p, from, &b[..split])?);
    if !outcome_first {
        let measured = p
            .decisions
            .pending(MODEL, &c.command_id)?
            .ok_or("pending")?;
        assert!(measured.after.is_some(), "measured before the outcome");
        out.extend(p.process_outcome(&at("outcomes", 0), &outcome(&c.command_id))?);
    }
    out.extend(feed(&mut p, from + split as i64, &b[split..])?);
    // A redelivered outcome changes nothing.
    assert!(p
        .process_outcome(&at("outcomes", 1), &outcome(&c.command_id))?
        .is_empty());
    let done: Vec<&AuditRecord> = rewarded(&out)
        .into_iter()
        .filter(|r| r.command_id.as_deref() == Some(&c.command_id))
        .collect();
    assert_eq!(done.len(), 1, "learned exactly once: {done:#?}");
    assert_eq!(observations(&p, Action::Retrain)?, 1);
    Ok((done[0].clone(), p))
}

#[test]
fn an_outcome_before_or_after_the_horizon_completes_the_reward_once() -> TestResult {
    let (d1, d2) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let (early, _) = command_reward(d1.path(), true, true)?;
    let (late, _) = command_reward(d2.path(), true, false)?;
    let (e, l) = (
        early.reward.as_ref().ok_or("reward")?,
        late.reward.as_ref().ok_or("reward")?,
    );
    assert_eq!(e, l, "the same reward either way");
    assert_eq!(e.parts, "measured+reported");
    assert_eq!(
        (e.reported_recovery, e.reported_cost),
        (Some(0.4), Some(5.0))
    );
    assert!((e.reward - by_hand(e)).abs() < 1e-12, "{e:?}");
    let o = early.outcome.as_ref().ok_or("the outcome in the audit")?;
    assert_eq!((o.reward, o.recovery), (e.reward, 0.4));
    Ok(())
}

#[test]
fn a_command_whose_model_recovers_earns_more() -> TestResult {
    let (d1, d2) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let (good, _) = command_reward(d1.path(), true, false)?;
    let (bad, _) = command_reward(d2.path(), false, false)?;
    let (g, b) = (
        good.reward.as_ref().ok_or("reward")?,
        bad.reward.as_ref().ok_or("reward")?,
    );
    assert_eq!(g.drifted_share_before, b.drifted_share_before);
    assert!(g.measured_recovery > b.measured_recovery, "{g:?} vs {b:?}");
    assert!(g.reward > b.reward);
    Ok(())
}

#[test]
fn without_an_outcome_the_measured_part_alone_counts_after_the_grace() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&measured()?, "v1", Store::open(dir.path(), false)?);
    let (a, b) = episode(true);
    let mut out = feed(&mut p, 0, &a)?;
    let c = commands(&out)
        .first()
        .map(|c| (*c).clone())
        .ok_or("a command")?;
    // Up to just before horizon + grace: measured, still waiting.
    let t = c.issued_at + 25 * 60_000 - 1;
    let split = b
        .iter()
        .position(|r| r.event_time >= t)
        .ok_or("stream too short")?;
    let from = a.len() as i64;
    out.extend(feed(&mut p, from, &b[..split])?);
    let mine = |out: &[Output]| -> Vec<AuditRecord> {
        rewarded(out)
            .into_iter()
            .filter(|r| r.command_id.as_deref() == Some(&c.command_id))
            .cloned()
            .collect()
    };
    assert!(mine(&out).is_empty());
    let waiting = p
        .decisions
        .pending(MODEL, &c.command_id)?
        .ok_or("pending")?;
    assert!(waiting.after.is_some() && waiting.reported.is_none());
    let rest = feed(&mut p, from + split as i64, &b[split..])?;
    let done = mine(&rest);
    assert_eq!(done.len(), 1);
    let w = done[0].reward.as_ref().ok_or("reward")?;
    assert_eq!((w.parts.as_str(), w.reported_cost), ("measured", None));
    assert!(done[0].outcome.is_none());
    assert_eq!(w.measured_at, waiting.after.map(|(_, at)| at));
    assert!((w.reward - by_hand(w)).abs() < 1e-12, "{w:?}");
    assert!(p.decisions.pending(MODEL, &c.command_id)?.is_none());
    // A late outcome is not learned again.
    assert!(p
        .process_outcome(&at("outcomes", 0), &outcome(&c.command_id))?
        .is_empty());
    assert_eq!(observations(&p, Action::Retrain)?, 1);
    Ok(())
}

#[test]
fn a_restart_mid_horizon_gives_the_same_rewards() -> TestResult {
    let (a, b) = episode(true);
    let (mid, rest) = b.split_at(300);
    let whole = {
        let dir = tempfile::tempdir()?;
        let mut p = Processor::new(&measured()?, "v1", Store::open(dir.path(), false)?);
        let mut out = feed(&mut p, 0, &a)?;
        out.extend(feed(&mut p, 2000, mid)?);
        out.extend(feed(&mut p, 2300, rest)?);
        out
    };
    // Checkpoint and forget the partition, then go on.
    let forgot = {
        let dir = tempfile::tempdir()?;
        let mut p = Processor::new(&measured()?, "v1", Store::open(dir.path(), false)?);
        let mut out = feed(&mut p, 0, &a)?;
        out.extend(feed(&mut p, 2000, mid)?);
        p.checkpoint()?;
        p.forget_partition(0);
        out.extend(feed(&mut p, 2300, rest)?);
        out
    };
    // Checkpoint, close the store and reopen it.
    let reopened = {
        let dir = tempfile::tempdir()?;
        let mut p = Processor::new(&measured()?, "v1", Store::open(dir.path(), false)?);
        let mut out = feed(&mut p, 0, &a)?;
        out.extend(feed(&mut p, 2000, mid)?);
        p.checkpoint()?;
        drop(p);
        let mut p = Processor::new(&measured()?, "v1", Store::open(dir.path(), false)?);
        out.extend(feed(&mut p, 2300, rest)?);
        out
    };
    assert!(!rewarded(&whole).is_empty());
    assert_eq!(whole, forgot);
    assert_eq!(whole, reopened);
    Ok(())
}

/// `kind` by alice for churn-v7's command `target`.
fn operator(kind: OperatorKind, target: &str) -> OperatorCommand {
    OperatorCommand {
        command_id: format!("op-{kind:?}-{target}"),
        kind,
        model_id: Some(MODEL.into()),
        target_command_id: Some(target.into()),
        issued_by: "alice".into(),
        issued_at: 1,
        signature: Some("00".into()),
        action: Some("rollback".into()),
        note: None,
    }
}

/// The test config with a policy no drift matches: every decision
/// escalates.
fn escalating() -> Result<Config, Box<dyn std::error::Error>> {
    let mut c = measured()?;
    let policy = crate::decide::rules::Policy::from_toml_str(
        "[[rule]]\nname = \"collapse\"\nwhen = \"accuracy_drop > 0.9\"\naction = \"rollback\"\nhard = true\n",
        "test",
    )?;
    c.decide.policy = Some(std::sync::Arc::new(policy));
    Ok(c)
}

#[test]
fn an_approved_escalation_learns_its_approved_command_once_and_a_vetoed_one_nothing() -> TestResult
{
    for approve in [true, false] {
        let dir = tempfile::tempdir()?;
        let mut p = Processor::new(&escalating()?, "v1", Store::open(dir.path(), false)?);
        let (a, b) = episode(true);
        let mut out = feed(&mut p, 0, &a)?;
        let esc = commands(&out)
            .first()
            .map(|c| (*c).clone())
            .ok_or("escalation")?;
        assert_eq!(esc.action, Action::Escalate);
        assert!(p.decisions.pending(MODEL, &esc.command_id)?.is_some());
        let kind = if approve {
            OperatorKind::Approve
        } else {
            OperatorKind::Veto
        };
        let back =
            p.process_operator(&at("operator", 0), &operator(kind, &esc.command_id), Ok(()))?;
        assert!(p.decisions.pending(MODEL, &esc.command_id)?.is_none());
        let issued: Vec<HealCommand> = commands(&back).into_iter().cloned().collect();
        out.extend(back);
        if approve {
            let pending = p.decisions.pending(MODEL, &issued[0].command_id)?;
            assert_eq!(pending.map(|x| x.arm), Some(Action::Rollback));
        }
        out.extend(feed(&mut p, a.len() as i64, &b)?);
        let mine: Vec<&AuditRecord> = rewarded(&out)
            .into_iter()
            .filter(|r| r.decision_id == esc.decision_id)
            .collect();
        if approve {
            assert_eq!(mine.len(), 1, "{mine:#?}");
            let w = mine[0].reward.as_ref().ok_or("reward")?;
            assert_eq!((w.arm.as_str(), w.parts.as_str()), ("rollback", "measured"));
            assert_eq!(observations(&p, Action::Rollback)?, 1);
        } else {
            assert!(mine.is_empty(), "{mine:#?}");
            assert_eq!(observations(&p, Action::Escalate)?, 0);
        }
        assert_eq!(observations(&p, Action::Escalate)?, 0);
        // One line of versions per decision: the chain has no fork.
        let all: Vec<AuditRecord> = audits(&out).into_iter().cloned().collect();
        let reports = crate::audit::verify(all);
        assert!(reports.iter().all(|r| r.is_intact()), "{reports:?}");
    }
    Ok(())
}

#[test]
fn a_changed_grace_applies_to_waiting_decisions_and_leaves_no_stale_entry() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&measured()?, "v1", Store::open(dir.path(), false)?);
    let (a, b) = (stream(0, 2000, 1500), stream(2000, 2500, u64::MAX));
    let mut out = feed(&mut p, 0, &a)?;
    let c = commands(&out)
        .first()
        .map(|c| (*c).clone())
        .ok_or("a command")?;
    // Measured (horizon 15 min), waiting for its outcome (grace 10 min).
    let t = c.issued_at + 20 * 60_000;
    let split = b
        .iter()
        .position(|r| r.event_time >= t)
        .ok_or("stream too short")?;
    let from = a.len() as i64;
    out.extend(feed(&mut p, from, &b[..split])?);
    let waiting = p
        .decisions
        .pending(MODEL, &c.command_id)?
        .ok_or("pending")?;
    assert!(waiting.after.is_some());
    assert!(p.decisions.waiting(MODEL)? >= 1);
    p.checkpoint()?;
    drop(p);
    // Restarted with a longer grace: 20 min after the horizon.
    let mut longer = measured()?;
    longer.decide.reward.outcome_grace = std::time::Duration::from_secs(20 * 60);
    let mut p = Processor::new(&longer, "v1", Store::open(dir.path(), false)?);
    let t = c.issued_at + 34 * 60_000;
    let until = b
        .iter()
        .position(|r| r.event_time >= t)
        .ok_or("stream too short")?;
    let mid = feed(&mut p, from + split as i64, &b[split..until])?;
    let mine = |o: &[Output]| {
        rewarded(o)
            .into_iter()
            .filter(|r| r.command_id.as_deref() == Some(&c.command_id))
            .count()
    };
    assert_eq!(mine(&mid), 0, "still within the longer grace");
    assert!(p.decisions.pending(MODEL, &c.command_id)?.is_some());
    let rest = feed(&mut p, from + until as i64, &b[until..])?;
    assert_eq!(mine(&rest), 1);
    assert!(p.decisions.pending(MODEL, &c.command_id)?.is_none());
    // Every measurement still waiting has its one index entry, no more.
    p.checkpoint()?;
    drop(p);
    let p = Processor::new(&longer, "v1", Store::open(dir.path(), false)?);
    let pending_keys = p
        .store()
        .range(
            crate::state::Cf::Decisions,
            &crate::state::decision_key(MODEL, b'm', ""),
            &crate::state::decision_key(MODEL, b'n', ""),
        )?
        .len();
    assert_eq!(p.decisions.waiting(MODEL)?, pending_keys);
    Ok(())
}

#[test]
fn an_answered_escalation_is_answered_once_and_its_approved_command_still_learns() -> TestResult {
    for measured_weight in [0.0, 1.0] {
        let dir = tempfile::tempdir()?;
        let mut cfg = escalating()?;
        cfg.decide.reward.measured_weight = measured_weight;
        let mut p = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
        let (a, b) = episode(true);
        let mut out = feed(&mut p, 0, &a)?;
        let esc = commands(&out)
            .first()
            .map(|c| (*c).clone())
            .ok_or("escalation")?;
        // The escalation is delivered (its outcome), and redelivered.
        out.extend(p.process_outcome(&at("outcomes", 0), &outcome(&esc.command_id))?);
        assert!(p
            .process_outcome(&at("outcomes", 1), &outcome(&esc.command_id))?
            .is_empty());
        let learned_escalate = observations(&p, Action::Escalate)?;
        assert_eq!(learned_escalate, u64::from(measured_weight == 0.0));
        let back = p.process_operator(
            &at("operator", 0),
            &operator(OperatorKind::Approve, &esc.command_id),
            Ok(()),
        )?;
        let rollback = commands(&back)
            .first()
            .map(|c| (*c).clone())
            .ok_or("approved")?;
        out.extend(back);
        // The approved command's outcome, then the rest of the stream.
        out.extend(p.process_outcome(&at("outcomes", 2), &outcome(&rollback.command_id))?);
        out.extend(feed(&mut p, a.len() as i64, &b)?);
        assert_eq!(observations(&p, Action::Rollback)?, 1, "{measured_weight}");
        assert_eq!(observations(&p, Action::Escalate)?, learned_escalate);
        let all: Vec<AuditRecord> = audits(&out).into_iter().cloned().collect();
        let reports = crate::audit::verify(all);
        assert!(reports.iter().all(|r| r.is_intact()), "{reports:?}");
    }
    Ok(())
}
