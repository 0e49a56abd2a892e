//! The feedback operator: what comes back to the engine, executors'
//! outcomes and operators' commands.
//!
//! Guarantees:
//! * an outcome for a remembered command whose decision is being measured
//!   ([`crate::decide::operator::Pending`]) is added to its reward, which is
//!   learned and audited when it is complete; otherwise it teaches the
//!   model's bandit at once (reward = benefit-weight × recovery −
//!   cost-weight × cost), becomes a lesson for the pools (published to the
//!   lessons topic, keyed by decision id) and completes its decision's
//!   audit record with a new version; a rejected command teaches nothing and is not measured;
//!   an outcome for an unknown or already answered command is counted and
//!   changes nothing, so a redelivered outcome is learned once;
//! * an operator command is obeyed only if its signature verified; every
//!   operator command, obeyed or rejected, gets an audit record saying which
//!   and why;
//! * a veto blocks its target if that is still pending (an escalation), asks
//!   the executor to hold if it was dispatched, and otherwise waits for the
//!   command it names (or the model's next command);
//! * an approval of a pending escalation issues the approved action as a
//!   human decision, recorded as a new version of the escalation's audit;
//! * it owns no table: command records, bandits and partition controls are
//!   the decisions operator's, read and written through it, and the
//!   commands it issues are built by [`crate::heal::command`].

use super::command::{approved, hold, OperatorReply};
use crate::decide::operator::{
    next_version, seal, CommandRecord, Decisions, PartitionControl, Started,
};
use crate::decide::{Pause, Veto};
use crate::ids;
use crate::schema::{
    Action, AuditInputs, AuditOutcome, AuditRecord, AuditStatus, GateCheck, HealOutcome,
    OperatorCommand, OperatorKind, OutcomeStatus,
};
use crate::stage::{Models, Operator, Output, SourcePos};
use crate::state::StateError;

/// The feedback operator (stateless: its state is the decisions' and the
/// models').
#[derive(Debug, Default)]
pub struct Feedback;

impl Operator for Feedback {}

/// The name an operator command's writes are tracked under: its model, or
/// the whole input partition.
pub fn scope(pos: &SourcePos, cmd: &OperatorCommand) -> String {
    match &cmd.model_id {
        Some(m) => m.clone(),
        None => format!("*/p{}", pos.partition),
    }
}

impl Feedback {
    /// Processes one executor outcome (the model must be tracked in
    /// `models`).
    pub fn process_outcome(
        &mut self,
        models: &mut Models,
        decisions: &mut Decisions,
        o: &HealOutcome,
    ) -> Result<Vec<Output>, StateError> {
        // An escalation kept for its approval whose audit already has its
        // outcome or reward was answered (other answered records are gone).
        let answered = |r: &CommandRecord| {
            r.status == AuditStatus::AwaitingApproval
                && (r.audit.outcome.is_some() || r.audit.reward.is_some())
        };
        let record = decisions
            .command(&o.model_id, &o.command_id)?
            .filter(|r| !answered(r));
        let Some(record) = record else {
            let state = models.load(&o.model_id)?;
            state.meta.outcomes_unknown = state.meta.outcomes_unknown.saturating_add(1);
            state.dirty = true;
            return Ok(Vec::new());
        };
        if o.status == OutcomeStatus::Rejected {
            // Nothing was done: nothing to measure.
            decisions.drop_measure(models, &o.model_id, &o.command_id)?;
        } else if let Some(done) = decisions.outcome_arrived(models, o)? {
            return Ok(done);
        }
        let learn = o.status != OutcomeStatus::Rejected;
        let reward = if learn {
            decisions.reward(o.recovery, o.cost)
        } else {
            0.0
        };
        let mut outputs = Vec::new();
        if learn && reward.is_finite() {
            // An arm the config no longer has, or a context of another
            // policy, cannot be learned from: the outcome is still audited.
            let taught = decisions.teach(
                models,
                &o.model_id,
                &record.command.decision_id,
                record.command.issued_at,
                record.command.action,
                &record.features,
                reward,
            )?;
            outputs.push(Output::Lesson(taught.lesson));
        }
        let state = models.load(&o.model_id)?;
        state.meta.outcomes_learned = state.meta.outcomes_learned.saturating_add(u64::from(learn));
        state.dirty = true;
        let outcome = AuditOutcome {
            command_id: o.command_id.clone(),
            status: o.status,
            recovery: o.recovery,
            cost: o.cost,
            reward,
            reported_at: o.reported_at,
        };
        let audit = next_version(models, &record.audit, |a| {
            a.status = AuditStatus::Completed;
            a.outcome = Some(outcome);
        })?;
        if record.status == AuditStatus::AwaitingApproval {
            // The escalation was delivered; it still waits for an approval.
            let kept = CommandRecord {
                audit: audit.clone(),
                ..record
            };
            decisions.put_command(models, &o.model_id, &o.command_id, Some(&kept))?;
        } else {
            decisions.put_command(models, &o.model_id, &o.command_id, None)?;
        }
        outputs.push(Output::Audit(audit));
        Ok(outputs)
    }

    /// Processes one operator command read at `pos` (its [`scope`] must be
    /// tracked in `models`); `verified` is the result of its signature
    /// check.
    pub fn process_operator(
        &mut self,
        models: &mut Models,
        decisions: &mut Decisions,
        pos: &SourcePos,
        cmd: &OperatorCommand,
        verified: Result<(), String>,
    ) -> Result<Vec<Output>, StateError> {
        let scope = scope(pos, cmd);
        let mut outputs = Vec::new();
        let signature = match &verified {
            Ok(()) => GateCheck {
                name: "signature".into(),
                passed: true,
                detail: "HMAC-SHA256 signature verified".into(),
            },
            Err(why) => GateCheck {
                name: "signature".into(),
                passed: false,
                detail: format!("signature check failed: {why}"),
            },
        };
        let result = match verified {
            Err(why) => Err(format!("signature check failed: {why}; not obeyed")),
            Ok(()) => obey(models, decisions, pos, cmd, &mut outputs)?,
        };
        let (accepted, effect) = match result {
            Ok(effect) => (true, effect),
            Err(why) => (false, why),
        };
        let model_version = models
            .get(&scope)
            .map(|s| s.meta.model_version.clone())
            .unwrap_or_default();
        let mut audit = AuditRecord {
            decision_id: ids::operator_record_id(&cmd.command_id, pos.partition),
            model_id: scope,
            model_version,
            decided_at: cmd.issued_at,
            inputs: AuditInputs {
                source_topic: pos.topic.clone(),
                source_partition: pos.partition,
                source_offset: pos.offset,
                records_seen: 0,
            },
            action: "none".into(),
            gate_reason: format!(
                "operator {} by {}: {effect}",
                cmd.kind.as_str(),
                cmd.issued_by
            ),
            config_version: decisions.config_version().to_string(),
            decided_by: "human".into(),
            proposed_action: cmd.kind.as_str().into(),
            checks: vec![signature],
            operator_command_id: Some(cmd.command_id.clone()),
            status: if accepted {
                AuditStatus::Accepted
            } else {
                AuditStatus::Rejected
            },
            ..AuditRecord::default()
        };
        seal(models, &mut audit)?;
        outputs.push(Output::Audit(audit));
        Ok(outputs)
    }
}

/// Carries out a verified operator command: `Ok(Ok(effect))` when done,
/// `Ok(Err(why))` when refused.
fn obey(
    models: &mut Models,
    decisions: &mut Decisions,
    pos: &SourcePos,
    cmd: &OperatorCommand,
    outputs: &mut Vec<Output>,
) -> Result<Result<String, String>, StateError> {
    let pause = Pause {
        command_id: cmd.command_id.clone(),
        by: cmd.issued_by.clone(),
        at: cmd.issued_at,
        global: cmd.model_id.is_none(),
    };
    let model = cmd.model_id.clone();
    match (cmd.kind, model) {
        (OperatorKind::Pause | OperatorKind::Resume, None) => {
            let scope = format!("*/p{}", pos.partition);
            let mut control: PartitionControl = decisions.partition_control(pos.partition)?;
            control.pause = (cmd.kind == OperatorKind::Pause).then_some(pause);
            decisions.put_partition_control(models, &scope, pos.partition, &control)?;
            Ok(Ok(format!(
                "automatic actions {} for every model of input partition {}",
                if cmd.kind == OperatorKind::Pause {
                    "paused"
                } else {
                    "resumed"
                },
                pos.partition
            )))
        }
        (OperatorKind::Pause | OperatorKind::Resume, Some(m)) => {
            let state = models.load(&m)?;
            let paused = cmd.kind == OperatorKind::Pause;
            state.meta.pause = paused.then_some(pause);
            state.dirty = true;
            Ok(Ok(format!(
                "automatic actions {} for {m}",
                if paused { "paused" } else { "resumed" }
            )))
        }
        (OperatorKind::Veto | OperatorKind::Approve, None) => {
            Ok(Err("a veto or an approval must name a model".into()))
        }
        (OperatorKind::Veto, Some(m)) => veto(models, decisions, cmd, &m, outputs),
        (OperatorKind::Approve, Some(m)) => approve(models, decisions, cmd, &m, outputs),
    }
}

fn veto(
    models: &mut Models,
    decisions: &mut Decisions,
    cmd: &OperatorCommand,
    model: &str,
    outputs: &mut Vec<Output>,
) -> Result<Result<String, String>, StateError> {
    let veto = Veto {
        command_id: cmd.command_id.clone(),
        by: cmd.issued_by.clone(),
        target: cmd.target_command_id.clone(),
    };
    let record = match &cmd.target_command_id {
        Some(t) => decisions.command(model, t)?,
        None => None,
    };
    let Some(mut record) = record else {
        let state = models.load(model)?;
        let effect = match &veto.target {
            Some(t) => format!("command {t} is not pending; it is blocked if it is issued"),
            None => format!("the next command for {model} is blocked"),
        };
        state.meta.vetoes.push(veto);
        state.dirty = true;
        return Ok(Ok(effect));
    };
    let target = record.command.command_id.clone();
    let by = format!(
        "vetoed by {} (operator command {})",
        cmd.issued_by, cmd.command_id
    );
    if record.status == AuditStatus::AwaitingApproval {
        let audit = next_version(models, &record.audit, |a| {
            a.status = AuditStatus::Vetoed;
            a.operator_command_id = Some(cmd.command_id.clone());
            a.gate_reason = format!("{}; escalation {by}", a.gate_reason);
        })?;
        decisions.put_command(models, model, &target, None)?;
        decisions.drop_measure(models, model, &target)?;
        outputs.push(Output::Audit(audit));
        return Ok(Ok(format!("escalation {target} closed without action")));
    }
    // Already dispatched: ask the executor to stop and hold.
    let hold = hold(
        OperatorReply {
            operator_command_id: &cmd.command_id,
            by: &by,
            model_id: model,
            target: &target,
            issued_at: cmd.issued_at,
            config_version: decisions.config_version(),
        },
        &record.command,
    );
    let audit = next_version(models, &record.audit, |a| {
        a.status = AuditStatus::Vetoed;
        a.operator_command_id = Some(cmd.command_id.clone());
        a.gate_reason = format!("{}; after dispatch {by}: hold sent", a.gate_reason);
    })?;
    record.audit = audit.clone();
    decisions.put_command(models, model, &target, Some(&record))?;
    outputs.push(Output::Command(hold));
    outputs.push(Output::Audit(audit));
    Ok(Ok(format!(
        "command {target} was already dispatched: hold sent"
    )))
}

fn approve(
    models: &mut Models,
    decisions: &mut Decisions,
    cmd: &OperatorCommand,
    model: &str,
    outputs: &mut Vec<Output>,
) -> Result<Result<String, String>, StateError> {
    let Some(target) = &cmd.target_command_id else {
        return Ok(Err(
            "an approval must name the escalation it approves".into()
        ));
    };
    let record = decisions.command(model, target)?;
    let Some(record) = record.filter(|r| r.status == AuditStatus::AwaitingApproval) else {
        return Ok(Err(format!(
            "{target} is not an escalation awaiting approval"
        )));
    };
    let Some(action) = approved_action(cmd, &record) else {
        return Ok(Err(format!(
            "escalation {target} suggests no action: the approval must name one"
        )));
    };
    let state = models.load(model)?;
    let now = state.meta.clock.max_event_time.unwrap_or(cmd.issued_at);
    state.meta.last_action_at = Some(now);
    state.meta.command_times.push(now);
    state.meta.commands = state.meta.commands.saturating_add(1);
    state.dirty = true;
    let by = format!(
        "approved by {} (operator command {})",
        cmd.issued_by, cmd.command_id
    );
    let command = approved(
        OperatorReply {
            operator_command_id: &cmd.command_id,
            by: &by,
            model_id: model,
            target,
            issued_at: now,
            config_version: decisions.config_version(),
        },
        &record.command,
        action,
    );
    let audit = next_version(models, &record.audit, |a| {
        a.status = AuditStatus::Dispatched;
        a.decided_by = "human".into();
        a.action = action.as_str().into();
        a.command_id = Some(command.command_id.clone());
        a.operator_command_id = Some(cmd.command_id.clone());
        a.gate_reason = format!("{}; {action} {by}", a.gate_reason);
    })?;
    decisions.put_command(models, model, target, None)?;
    decisions.drop_measure(models, model, target)?;
    let record = CommandRecord {
        command: command.clone(),
        features: record.features.clone(),
        status: AuditStatus::Dispatched,
        suggestion: None,
        audit: audit.clone(),
    };
    decisions.put_command(models, model, &command.command_id, Some(&record))?;
    let before = decisions.health(models, model)?;
    let started = Started {
        decision_id: &audit.decision_id,
        command_id: Some(&command.command_id),
        arm: action,
        features: &record.features,
        before,
        at: now,
        audit: &audit,
    };
    decisions.start_measure(models, model, started)?;
    outputs.push(Output::Command(command));
    outputs.push(Output::Audit(audit));
    Ok(Ok(format!("{action} issued for escalation {target}")))
}

/// The action an approval takes: the one the operator named, else the
/// escalation's suggestion.
fn approved_action(cmd: &OperatorCommand, record: &CommandRecord) -> Option<Action> {
    match cmd.action.as_deref() {
        Some(name) => Action::command_from_name(name),
        None => record.suggestion,
    }
}

#[cfg(test)]
#[path = "feedback_tests.rs"]
mod tests;
