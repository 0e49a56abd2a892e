//! Feedback tests over a real RocksDB in a temp dir: outcomes teach the
//! bandit and complete the audit; operator commands are obeyed only when
//! signed, and every veto and pause is honoured.

use super::*;
use crate::config::Config;
use crate::demo::scenario::Scenario;
use crate::pipeline::test_support::{at, audits, commands, config, run, run_on, TestResult};
use crate::schema::{
    Action, AuditRecord, HealOutcome, OperatorCommand, OperatorKind, OutcomeStatus,
};

fn operator(kind: OperatorKind, model: Option<&str>, target: Option<&str>) -> OperatorCommand {
    OperatorCommand {
        command_id: format!("op-{kind:?}-{model:?}-{target:?}"),
        kind,
        model_id: model.map(String::from),
        target_command_id: target.map(String::from),
        issued_by: "alice".into(),
        issued_at: 1,
        signature: Some("00".into()),
        action: None,
        note: None,
    }
}

fn arm_observations(p: &Processor, model: &str, arm: Action) -> Result<u64, StateError> {
    Ok(p.decisions
        .bandit(model)?
        .and_then(|b| b.arm(arm).map(|a| a.observations()))
        .unwrap_or(0))
}

/// Records per model the demo scenario of these tests is continued by, so
/// its models' stream time passes the horizon (30 min) of its first
/// command (issued about 27 min in) and not the grace after it.
const PAST_HORIZON: u64 = 1_200;

/// `cfg` with measurement off: the reward is the executor's report alone.
fn report_only(mut cfg: Config) -> Config {
    cfg.decide.reward.measured_weight = 0.0;
    cfg
}

/// Churn-v7's command is answered; with measurement on (the default) the
/// outcome waits until the model's stream passes the horizon, then the
/// bandit learns once and the audit is completed with both parts of the
/// reward; with `measured-weight = 0`, at once, from the report alone.
fn an_outcome_teaches_once(cfg: &Config) -> TestResult {
    let measured = cfg.decide.reward.measured_weight > 0.0;
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(cfg, "v1", Store::open(dir.path(), false)?);
    let scenario = Scenario::demo(3000, 1500);
    let mut out = run(&mut p, &scenario)?;
    let cmds = commands(&out);
    assert_eq!(cmds.len(), 1);
    let c = cmds[0].clone();
    let first = audits(&out)
        .into_iter()
        .find(|a| a.command_id.as_ref() == Some(&c.command_id))
        .cloned()
        .ok_or("audit of the command")?;
    p.checkpoint()?;
    assert_eq!(arm_observations(&p, "churn-v7", Action::Retrain)?, 0);
    let outcome = HealOutcome {
        command_id: c.command_id.clone(),
        model_id: "churn-v7".into(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.2,
        cost: 10.0,
        reported_at: 99,
        note: None,
    };
    let mut back = p.process_outcome(&at("outcomes", 0), &outcome)?;
    if measured {
        // The model's stream has not passed the horizon: nothing learned.
        assert!(back.is_empty(), "{back:?}");
        assert_eq!(arm_observations(&p, "churn-v7", Action::Retrain)?, 0);
        let later = run_on(&mut p, &scenario, PAST_HORIZON)?;
        back = later
            .iter()
            .filter(|o| matches!(o, Output::Audit(a) if a.decision_id == first.decision_id))
            .cloned()
            .collect();
        out.extend(later);
    }
    let done = audits(&back);
    assert_eq!(done.len(), 1);
    let v2 = done[0];
    assert_eq!(v2.decision_id, first.decision_id);
    assert_eq!((v2.version, v2.status.as_str()), (2, "completed"));
    let o = v2.outcome.as_ref().ok_or("outcome in audit")?;
    if measured {
        // Both parts, measured at the first evaluation past the horizon.
        let w = v2.reward.as_ref().ok_or("reward in audit")?;
        assert_eq!(w.parts, "measured+reported");
        assert_eq!(
            (w.reported_recovery, w.reported_cost),
            (Some(0.2), Some(10.0))
        );
        assert!(w.learned);
        let at = w.measured_at.ok_or("measured")?;
        assert!(at >= c.issued_at + 30 * 60_000, "{w:?}");
        let m = w.measured_recovery.ok_or("measured recovery")?;
        // reward = 1.0 × (1 × m + 1 × 0.2) / 2 − 0.01 × 10
        assert!((o.reward - ((m + 0.2) / 2.0 - 0.1)).abs() < 1e-12, "{w:?}");
        assert_eq!(o.reward, w.reward);
    } else {
        // From the report alone: no reward breakdown (docs/audit.md).
        assert!(v2.reward.is_none(), "{:?}", v2.reward);
        // reward = 1.0 × 0.2 − 0.01 × 10
        assert!((o.reward - 0.1).abs() < 1e-12, "{}", o.reward);
    }
    let sup = v2.supersedes.as_ref().ok_or("supersedes")?;
    assert_eq!(
        (sup.sequence, sup.record_hash.as_str()),
        (first.sequence, first.record_hash.as_str())
    );
    assert!(v2.sequence > first.sequence);
    assert_eq!(arm_observations(&p, "churn-v7", Action::Retrain)?, 1);
    p.checkpoint()?;
    // Redelivered: ignored, counted, learned once.
    let again = p.process_outcome(&at("outcomes", 1), &outcome)?;
    assert!(again.is_empty());
    assert_eq!(arm_observations(&p, "churn-v7", Action::Retrain)?, 1);
    let meta = p.stored_model("churn-v7")?;
    p.checkpoint()?;
    let meta_after = p.stored_model("churn-v7")?.ok_or("meta")?;
    assert_eq!(meta.map(|m| m.outcomes_learned), Some(1));
    assert_eq!(meta_after.outcomes_unknown, 1);
    // The learned bandit survives a restart (it is in RocksDB).
    drop(p);
    let p2 = Processor::new(cfg, "v1", Store::open(dir.path(), false)?);
    assert_eq!(arm_observations(&p2, "churn-v7", Action::Retrain)?, 1);
    // The chain, including the new version, verifies.
    let mut all: Vec<AuditRecord> = audits(&out).into_iter().cloned().collect();
    if !measured {
        all.push(v2.clone());
    }
    let reports = crate::audit::verify(all);
    assert!(reports.iter().all(|r| r.is_intact()), "{reports:?}");
    Ok(())
}

#[test]
fn an_outcome_teaches_the_bandit_once_and_completes_the_audit() -> TestResult {
    an_outcome_teaches_once(&config()?)
}

#[test]
fn report_only_an_outcome_teaches_the_bandit_at_once_and_completes_the_audit() -> TestResult {
    an_outcome_teaches_once(&report_only(config()?))
}

#[test]
fn a_rejected_outcome_teaches_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&config()?, "v1", Store::open(dir.path(), false)?);
    let out = run(&mut p, &Scenario::demo(3000, 1500))?;
    let c = commands(&out)[0].clone();
    let back = p.process_outcome(
        &at("outcomes", 0),
        &HealOutcome {
            command_id: c.command_id,
            model_id: "churn-v7".into(),
            status: OutcomeStatus::Rejected,
            recovery: 5.0,
            cost: 0.0,
            reported_at: 9,
            note: None,
        },
    )?;
    assert_eq!(
        audits(&back)[0].outcome.as_ref().map(|o| o.reward),
        Some(0.0)
    );
    assert_eq!(arm_observations(&p, "churn-v7", Action::Retrain)?, 0);
    Ok(())
}

#[test]
fn a_veto_blocks_the_next_command_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&config()?, "v1", Store::open(dir.path(), false)?);
    let op = operator(OperatorKind::Veto, Some("churn-v7"), None);
    let ack = p.process_operator(&at("operator", 0), &op, Ok(()))?;
    let a = audits(&ack)[0];
    assert_eq!(
        (a.status.as_str(), a.decided_by.as_str()),
        ("accepted", "human")
    );
    let out = run(&mut p, &Scenario::demo(3000, 1500))?;
    let decisions: Vec<&AuditRecord> = audits(&out)
        .into_iter()
        .filter(|a| a.model_id == "churn-v7")
        .collect();
    let first = decisions[0];
    assert_eq!(first.proposed_action, "retrain");
    assert_eq!(first.action, "none");
    assert!(first
        .checks
        .iter()
        .any(|c| c.name == "veto" && !c.passed && c.detail.contains("alice")));
    // The veto is used up: the next decision retrains (no cooldown started).
    let cmds = commands(&out);
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0].decision_id, decisions[1].decision_id);
    assert!(p
        .models
        .get("churn-v7")
        .is_some_and(|s| s.meta.vetoes.is_empty()));
    Ok(())
}

#[test]
fn unsigned_commands_are_audited_and_not_obeyed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&config()?, "v1", Store::open(dir.path(), false)?);
    let op = operator(OperatorKind::Pause, None, None);
    let ack = p.process_operator(&at("operator", 0), &op, Err("signature mismatch".into()))?;
    let a = audits(&ack)[0];
    assert_eq!(a.status, "rejected");
    assert_eq!(a.model_id, "*/p0");
    assert!(a.checks.iter().any(|c| c.name == "signature" && !c.passed));
    assert!(a.gate_reason.contains("not obeyed"), "{}", a.gate_reason);
    let out = run(&mut p, &Scenario::demo(3000, 1500))?;
    assert_eq!(
        commands(&out).len(),
        1,
        "the rejected pause changed nothing"
    );
    Ok(())
}

#[test]
fn a_pause_of_every_model_holds_commands_until_resumed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&config()?, "v1", Store::open(dir.path(), false)?);
    let pause = operator(OperatorKind::Pause, None, None);
    p.process_operator(&at("operator", 0), &pause, Ok(()))?;
    let scenario = Scenario::demo(3000, 1500);
    let preds = scenario.predictions();
    let mut out = Vec::new();
    let half = preds.len() * 2 / 3;
    for (i, rec) in preds[..half].iter().enumerate() {
        out.extend(p.process(&at("predictions", i as i64), rec)?);
    }
    assert!(commands(&out).is_empty());
    let paused: Vec<&AuditRecord> = audits(&out);
    assert!(!paused.is_empty());
    assert!(paused
        .iter()
        .all(|a| a.action == "none" && a.checks.iter().any(|c| c.name == "pause" && !c.passed)));
    let resume = OperatorCommand {
        command_id: "op-resume".into(),
        ..operator(OperatorKind::Resume, None, None)
    };
    p.process_operator(&at("operator", 1), &resume, Ok(()))?;
    let mut after = Vec::new();
    for (i, rec) in preds[half..].iter().enumerate() {
        after.extend(p.process(&at("predictions", (half + i) as i64), rec)?);
    }
    assert_eq!(commands(&after).len(), 1, "resumed");
    Ok(())
}

/// A policy no drift matches: a degraded model nobody is sure about.
fn escalating_config() -> Result<Config, Box<dyn std::error::Error>> {
    let mut c = config()?;
    let policy = crate::decide::rules::Policy::from_toml_str(
        "[[rule]]\nname = \"collapse\"\nwhen = \"accuracy_drop > 0.9\"\naction = \"rollback\"\nhard = true\n",
        "test",
    )?;
    c.decide.policy = Some(std::sync::Arc::new(policy));
    Ok(c)
}

#[test]
fn an_escalation_waits_for_approval_and_the_approval_is_a_human_decision() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&escalating_config()?, "v1", Store::open(dir.path(), false)?);
    let scenario = Scenario::demo(3000, 1500);
    let out = run(&mut p, &scenario)?;
    let cmds = commands(&out);
    assert_eq!(cmds.len(), 1, "one escalation, then cooldown");
    let esc = cmds[0].clone();
    assert_eq!(esc.action, Action::Escalate);
    let audit = audits(&out)
        .into_iter()
        .find(|a| a.command_id.as_ref() == Some(&esc.command_id))
        .ok_or("escalation audit")?;
    assert_eq!(
        (audit.decided_by.as_str(), audit.status.as_str()),
        ("escalation", "awaiting-approval")
    );
    // Approving without naming an action is refused when nothing is suggested,
    // so name one.
    let mut approve = operator(
        OperatorKind::Approve,
        Some("churn-v7"),
        Some(&esc.command_id),
    );
    approve.action = Some("rollback".into());
    let back = p.process_operator(&at("operator", 0), &approve, Ok(()))?;
    let issued = commands(&back);
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].action, Action::Rollback);
    assert_eq!(issued[0].decision_id, esc.decision_id);
    let versions = audits(&back);
    let v2 = versions
        .iter()
        .find(|a| a.decision_id == esc.decision_id)
        .ok_or("new version of the escalation")?;
    assert_eq!(
        (v2.decided_by.as_str(), v2.status.as_str(), v2.version),
        ("human", "dispatched", 2)
    );
    assert_eq!(
        v2.operator_command_id.as_deref(),
        Some(approve.command_id.as_str())
    );
    let ack = versions
        .iter()
        .find(|a| {
            a.operator_command_id.as_deref() == Some(approve.command_id.as_str())
                && a.decision_id != esc.decision_id
        })
        .ok_or("operator audit")?;
    assert_eq!(ack.status, "accepted");
    // A second approval of the same escalation is refused.
    let again = p.process_operator(&at("operator", 1), &approve, Ok(()))?;
    assert!(commands(&again).is_empty());
    assert_eq!(audits(&again)[0].status, "rejected");
    // The approved command's outcome teaches the rollback arm once the
    // model's stream passes the horizon after the approval.
    p.process_outcome(
        &at("outcomes", 0),
        &HealOutcome {
            command_id: issued[0].command_id.clone(),
            model_id: "churn-v7".into(),
            status: OutcomeStatus::Succeeded,
            recovery: 0.3,
            cost: 5.0,
            reported_at: 50,
            note: None,
        },
    )?;
    assert_eq!(arm_observations(&p, "churn-v7", Action::Rollback)?, 0);
    // Approved at the end of the 50-min stream: 35 more minutes.
    let later = run_on(&mut p, &scenario, 2_100)?;
    assert_eq!(arm_observations(&p, "churn-v7", Action::Rollback)?, 1);
    let done = audits(&later)
        .into_iter()
        .find(|a| a.decision_id == esc.decision_id && a.status == "completed")
        .ok_or("the approved command completed")?;
    let w = done.reward.as_ref().ok_or("reward")?;
    assert_eq!(
        (w.arm.as_str(), w.parts.as_str()),
        ("rollback", "measured+reported")
    );
    Ok(())
}

#[test]
fn a_vetoed_escalation_is_closed_and_cannot_be_approved() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&escalating_config()?, "v1", Store::open(dir.path(), false)?);
    let out = run(&mut p, &Scenario::demo(3000, 1500))?;
    let esc = commands(&out)[0].clone();
    let veto = operator(OperatorKind::Veto, Some("churn-v7"), Some(&esc.command_id));
    let back = p.process_operator(&at("operator", 0), &veto, Ok(()))?;
    assert!(commands(&back).is_empty());
    assert!(audits(&back)
        .iter()
        .any(|a| a.decision_id == esc.decision_id && a.status == "vetoed"));
    let mut approve = operator(
        OperatorKind::Approve,
        Some("churn-v7"),
        Some(&esc.command_id),
    );
    approve.action = Some("retrain".into());
    let refused = p.process_operator(&at("operator", 1), &approve, Ok(()))?;
    assert!(commands(&refused).is_empty());
    assert_eq!(audits(&refused)[0].status, "rejected");
    Ok(())
}

#[test]
fn a_veto_of_a_dispatched_command_sends_hold() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&config()?, "v1", Store::open(dir.path(), false)?);
    let out = run(&mut p, &Scenario::demo(3000, 1500))?;
    let c = commands(&out)[0].clone();
    let veto = operator(OperatorKind::Veto, Some("churn-v7"), Some(&c.command_id));
    let back = p.process_operator(&at("operator", 0), &veto, Ok(()))?;
    let hold = commands(&back);
    assert_eq!(hold.len(), 1);
    assert_eq!(hold[0].action, Action::Hold);
    assert_eq!(hold[0].evidence, vec![c.command_id.clone()]);
    Ok(())
}

#[test]
fn a_bandit_that_no_longer_fits_the_arms_starts_afresh() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut p = Processor::new(&config()?, "v1", Store::open(dir.path(), false)?);
    let scenario = Scenario::demo(3000, 1500);
    let out = run(&mut p, &scenario)?;
    let c = commands(&out)[0].clone();
    p.process_outcome(
        &at("outcomes", 0),
        &HealOutcome {
            command_id: c.command_id,
            model_id: "churn-v7".into(),
            status: OutcomeStatus::Succeeded,
            recovery: 0.2,
            cost: 1.0,
            reported_at: 9,
            note: None,
        },
    )?;
    // Learned once the model's stream passes the horizon.
    run_on(&mut p, &scenario, PAST_HORIZON)?;
    assert_eq!(arm_observations(&p, "churn-v7", Action::Retrain)?, 1);
    p.checkpoint()?;
    drop(p);
    // Same arms: the learned bandit is read back.
    let same = Processor::new(&config()?, "v1", Store::open(dir.path(), false)?);
    assert_eq!(arm_observations(&same, "churn-v7", Action::Retrain)?, 1);
    drop(same);
    // Other arms: a fresh bandit, not one whose arms disagree with the config.
    let mut cfg = config()?;
    cfg.decide.bandit.arms = vec!["retrain".into(), "hold".into()];
    let other = Processor::new(&cfg, "v1", Store::open(dir.path(), false)?);
    assert_eq!(arm_observations(&other, "churn-v7", Action::Retrain)?, 0);
    let arms = other
        .decisions
        .bandit("churn-v7")?
        .map(|b| b.actions().len());
    assert_eq!(arms, Some(2));
    Ok(())
}
