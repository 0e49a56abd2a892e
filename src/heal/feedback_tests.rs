//! The feedback operator alone (with the decisions operator whose records
//! it answers), over a real RocksDB in a temp dir: no detection, no Kafka.

use std::sync::Arc;

use super::*;
use crate::config::Config;
use crate::decide::operator::CommandRecord;
use crate::heal::command;
use crate::schema::HealCommand;
use crate::state::Store;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Fixture {
    _dir: tempfile::TempDir,
    feedback: Feedback,
    decisions: Decisions,
    models: Models,
}

fn fixture() -> Result<Fixture, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path(), false)?);
    let cfg = Config::defaults()?;
    let mut models = Models::new(store.clone());
    models.track("m", 0);
    Ok(Fixture {
        _dir: dir,
        feedback: Feedback,
        decisions: Decisions::new(&cfg, "cfg-1", store),
        models,
    })
}

fn at(topic: &str, offset: i64) -> SourcePos {
    SourcePos {
        topic: topic.into(),
        partition: 0,
        offset,
    }
}

/// A remembered command of model `m`, `status` `dispatched` or
/// `awaiting-approval`, with its sealed audit record.
fn remember(
    f: &mut Fixture,
    action: Action,
    status: AuditStatus,
) -> Result<HealCommand, StateError> {
    let Some(c) = command::command(command::CommandSpec {
        decision_id: "d1",
        model_id: "m",
        model_version: "v1",
        action,
        reason: "drift",
        evidence: &["e1".to_string()],
        issued_at: 1_000,
        config_version: "cfg-1",
    }) else {
        panic!("{action} builds a command");
    };
    let mut audit = AuditRecord {
        decision_id: "d1".into(),
        model_id: "m".into(),
        status,
        gate_reason: "rules".into(),
        command_id: Some(c.command_id.clone()),
        ..AuditRecord::default()
    };
    seal(&mut f.models, &mut audit)?;
    let record = CommandRecord {
        command: c.clone(),
        features: Vec::new(),
        status,
        suggestion: Some(Action::Retrain),
        audit,
    };
    f.decisions
        .put_command(&f.models, "m", &c.command_id, Some(&record))?;
    Ok(c)
}

fn operator(kind: OperatorKind, target: Option<&str>) -> OperatorCommand {
    OperatorCommand {
        command_id: "op1".into(),
        kind,
        model_id: Some("m".into()),
        target_command_id: target.map(str::to_string),
        issued_by: "alice".into(),
        issued_at: 2_000,
        signature: None,
        action: None,
        note: None,
    }
}

#[test]
fn a_veto_after_dispatch_sends_the_hold_heal_builds() -> TestResult {
    let mut f = fixture()?;
    let target = remember(&mut f, Action::Retrain, AuditStatus::Dispatched)?;
    let cmd = operator(OperatorKind::Veto, Some(&target.command_id));
    let out = f.feedback.process_operator(
        &mut f.models,
        &mut f.decisions,
        &at("operator", 3),
        &cmd,
        Ok(()),
    )?;
    let [Output::Command(hold), Output::Audit(vetoed), Output::Audit(ack)] = out.as_slice() else {
        return Err(format!("unexpected outputs {out:?}").into());
    };
    let expected = command::hold(
        command::OperatorReply {
            operator_command_id: "op1",
            by: "vetoed by alice (operator command op1)",
            model_id: "m",
            target: &target.command_id,
            issued_at: 2_000,
            config_version: "cfg-1",
        },
        &target,
    );
    assert_eq!(hold, &expected);
    assert_eq!((vetoed.version, vetoed.status.as_str()), (2, "vetoed"));
    assert_eq!(ack.status, "accepted");
    assert_eq!(ack.operator_command_id.as_deref(), Some("op1"));
    let kept = f
        .decisions
        .command("m", &target.command_id)?
        .ok_or("kept")?;
    assert_eq!(kept.audit, *vetoed, "the record follows its audit");
    Ok(())
}

#[test]
fn an_outcome_is_learned_once() -> TestResult {
    let mut f = fixture()?;
    let target = remember(&mut f, Action::Retrain, AuditStatus::Dispatched)?;
    let outcome = HealOutcome {
        command_id: target.command_id.clone(),
        model_id: "m".into(),
        status: OutcomeStatus::Succeeded,
        recovery: 0.8,
        cost: 1.0,
        reported_at: 3_000,
        note: None,
    };
    let out = f
        .feedback
        .process_outcome(&mut f.models, &mut f.decisions, &outcome)?;
    let [Output::Lesson(lesson), Output::Audit(done)] = out.as_slice() else {
        return Err(format!("unexpected outputs {out:?}").into());
    };
    assert_eq!((done.version, done.status.as_str()), (2, "completed"));
    assert_eq!(
        done.outcome.as_ref().map(|o| o.reward),
        Some(f.decisions.reward(0.8, 1.0))
    );
    // The lesson for the pools: the decision's arm and context, the reward.
    assert_eq!(
        (
            lesson.decision_id.as_str(),
            lesson.model_id.as_str(),
            lesson.action
        ),
        (target.decision_id.as_str(), "m", Action::Retrain)
    );
    assert_eq!(lesson.reward, f.decisions.reward(0.8, 1.0));
    assert_eq!(f.decisions.lessons_held(), 1);
    assert!(f.decisions.command("m", &target.command_id)?.is_none());
    let again = f
        .feedback
        .process_outcome(&mut f.models, &mut f.decisions, &outcome)?;
    assert!(again.is_empty(), "a redelivered outcome changes nothing");
    let meta = &f.models.get("m").ok_or("cached")?.meta;
    assert_eq!((meta.outcomes_learned, meta.outcomes_unknown), (1, 1));
    Ok(())
}

#[test]
fn an_approval_issues_the_suggested_action_as_a_human_decision() -> TestResult {
    let mut f = fixture()?;
    let escalation = remember(&mut f, Action::Escalate, AuditStatus::AwaitingApproval)?;
    let cmd = operator(OperatorKind::Approve, Some(&escalation.command_id));
    let out = f.feedback.process_operator(
        &mut f.models,
        &mut f.decisions,
        &at("operator", 4),
        &cmd,
        Ok(()),
    )?;
    let [Output::Command(c), Output::Audit(a), Output::Audit(_)] = out.as_slice() else {
        return Err(format!("unexpected outputs {out:?}").into());
    };
    assert_eq!(c.action, Action::Retrain, "the escalation's suggestion");
    assert_eq!(c.command_id, crate::ids::command_id("op1", "retrain"));
    assert_eq!(c.decision_id, escalation.decision_id);
    assert_eq!(c.evidence, escalation.evidence);
    assert_eq!(
        (a.decided_by.as_str(), a.status.as_str()),
        ("human", "dispatched")
    );
    assert!(f.decisions.command("m", &escalation.command_id)?.is_none());
    assert!(f.decisions.command("m", &c.command_id)?.is_some());
    Ok(())
}

#[test]
fn an_unsigned_command_is_audited_and_not_obeyed() -> TestResult {
    let mut f = fixture()?;
    let mut cmd = operator(OperatorKind::Pause, None);
    cmd.model_id = None;
    let pos = at("operator", 5);
    f.models.track(&scope(&pos, &cmd), pos.partition);
    let out = f.feedback.process_operator(
        &mut f.models,
        &mut f.decisions,
        &pos,
        &cmd,
        Err("bad signature".into()),
    )?;
    let [Output::Audit(a)] = out.as_slice() else {
        return Err(format!("unexpected outputs {out:?}").into());
    };
    assert_eq!(
        (a.status.as_str(), a.model_id.as_str()),
        ("rejected", "*/p0")
    );
    assert!(f.decisions.partition_control(0)?.pause.is_none());
    let out = f
        .feedback
        .process_operator(&mut f.models, &mut f.decisions, &pos, &cmd, Ok(()))?;
    assert_eq!(out.len(), 1);
    assert!(
        f.decisions.partition_control(0)?.pause.is_some(),
        "obeyed when signed"
    );
    Ok(())
}
