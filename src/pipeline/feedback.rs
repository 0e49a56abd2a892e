//! What comes back to the engine: executors' outcomes and operators'
//! commands.
//!
//! Guarantees:
//! * an outcome for a remembered command teaches the model's bandit
//!   (reward = benefit-weight × recovery − cost-weight × cost; a rejected
//!   command teaches nothing) and completes its decision's audit record with
//!   a new version; an outcome for an unknown or already answered command is
//!   counted and changes nothing, so a redelivered outcome is learned once;
//! * an operator command is obeyed only if its signature verified; every
//!   operator command, obeyed or rejected, gets an audit record saying which
//!   and why;
//! * a veto blocks its target if that is still pending (an escalation), asks
//!   the executor to hold if it was dispatched, and otherwise waits for the
//!   command it names (or the model's next command);
//! * an approval of a pending escalation issues the approved action as a
//!   human decision, recorded as a new version of the escalation's audit.

use super::decisions::{CommandRecord, PartitionControl, COMMAND, CONTROL};
use super::processor::{Output, Processor, SourcePos};
use crate::decide::{Pause, Veto};
use crate::ids;
use crate::schema::{
    Action, AuditInputs, AuditOutcome, AuditRecord, AuditStatus, GateCheck, HealCommand,
    HealOutcome, OperatorCommand, OperatorKind, OutcomeStatus,
};
use crate::state::{decision_key, StateError};

impl Processor {
    /// Processes one executor outcome.
    pub fn process_outcome(
        &mut self,
        pos: &SourcePos,
        o: &HealOutcome,
    ) -> Result<Vec<Output>, StateError> {
        self.track(&o.model_id, pos);
        self.mark_done(pos);
        let key = decision_key(&o.model_id, COMMAND, &o.command_id);
        let Some(record) = self.decision_get::<CommandRecord>(&key)? else {
            let state = Self::model(
                &mut self.models,
                &self.store,
                self.detector.plan(),
                &o.model_id,
            )?;
            state.meta.outcomes_unknown = state.meta.outcomes_unknown.saturating_add(1);
            state.dirty = true;
            return Ok(Vec::new());
        };
        let learn = o.status != OutcomeStatus::Rejected;
        let reward = if learn {
            self.engine.reward(o.recovery, o.cost)
        } else {
            0.0
        };
        if learn && reward.is_finite() {
            if let Some(mut bandit) = self.bandit(&o.model_id)? {
                let arm = record.command.action;
                // An arm the config no longer has, or a context of another
                // policy, cannot be learned from: the outcome is still audited.
                if bandit.update(arm, &record.features, reward).is_ok() {
                    self.save_bandit(&o.model_id, &bandit);
                }
            }
        }
        let state = Self::model(
            &mut self.models,
            &self.store,
            self.detector.plan(),
            &o.model_id,
        )?;
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
        let audit = self.next_version(&record.audit, |a| {
            a.status = AuditStatus::Completed;
            a.outcome = Some(outcome);
        })?;
        if record.status == AuditStatus::AwaitingApproval {
            // The escalation was delivered; it still waits for an approval.
            let kept = CommandRecord {
                audit: audit.clone(),
                ..record
            };
            self.decision_put(&o.model_id, key, Some(&kept))?;
        } else {
            self.decision_put::<CommandRecord>(&o.model_id, key, None)?;
        }
        Ok(vec![Output::Audit(audit)])
    }

    /// Processes one operator command read at `pos`; `verified` is the
    /// result of its signature check.
    pub fn process_operator(
        &mut self,
        pos: &SourcePos,
        cmd: &OperatorCommand,
        verified: Result<(), String>,
    ) -> Result<Vec<Output>, StateError> {
        let scope = match &cmd.model_id {
            Some(m) => m.clone(),
            None => format!("*/p{}", pos.partition),
        };
        self.track(&scope, pos);
        self.mark_done(pos);
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
            Ok(()) => self.obey(pos, cmd, &mut outputs)?,
        };
        let (accepted, effect) = match result {
            Ok(effect) => (true, effect),
            Err(why) => (false, why),
        };
        let model_version = self
            .models
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
            config_version: self.config_version.clone(),
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
        self.seal(&mut audit)?;
        outputs.push(Output::Audit(audit));
        Ok(outputs)
    }

    /// Carries out a verified operator command: `Ok(Ok(effect))` when done,
    /// `Ok(Err(why))` when refused.
    fn obey(
        &mut self,
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
                let key = decision_key("", CONTROL, &pos.partition.to_string());
                let scope = format!("*/p{}", pos.partition);
                let mut control: PartitionControl = self.decision_get(&key)?.unwrap_or_default();
                control.pause = (cmd.kind == OperatorKind::Pause).then_some(pause);
                self.decision_put(&scope, key, Some(&control))?;
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
                let state = Self::model(&mut self.models, &self.store, self.detector.plan(), &m)?;
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
            (OperatorKind::Veto, Some(m)) => self.veto(cmd, &m, outputs),
            (OperatorKind::Approve, Some(m)) => self.approve(cmd, &m, outputs),
        }
    }

    fn veto(
        &mut self,
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
            Some(t) => self.decision_get::<CommandRecord>(&decision_key(model, COMMAND, t))?,
            None => None,
        };
        let Some(mut record) = record else {
            let state = Self::model(&mut self.models, &self.store, self.detector.plan(), model)?;
            let effect = match &veto.target {
                Some(t) => format!("command {t} is not pending; it is blocked if it is issued"),
                None => format!("the next command for {model} is blocked"),
            };
            state.meta.vetoes.push(veto);
            state.dirty = true;
            return Ok(Ok(effect));
        };
        let target = record.command.command_id.clone();
        let key = decision_key(model, COMMAND, &target);
        let by = format!(
            "vetoed by {} (operator command {})",
            cmd.issued_by, cmd.command_id
        );
        if record.status == AuditStatus::AwaitingApproval {
            let audit = self.next_version(&record.audit, |a| {
                a.status = AuditStatus::Vetoed;
                a.operator_command_id = Some(cmd.command_id.clone());
                a.gate_reason = format!("{}; escalation {by}", a.gate_reason);
            })?;
            self.decision_put::<CommandRecord>(model, key, None)?;
            outputs.push(Output::Audit(audit));
            return Ok(Ok(format!("escalation {target} closed without action")));
        }
        // Already dispatched: ask the executor to stop and hold.
        let hold = HealCommand {
            command_id: ids::command_id(&cmd.command_id, Action::Hold.as_str()),
            decision_id: record.command.decision_id.clone(),
            model_id: model.to_string(),
            model_version: record.command.model_version.clone(),
            action: Action::Hold,
            reason: format!("command {target} {by}: stop it and hold"),
            evidence: vec![target.clone()],
            issued_at: cmd.issued_at,
            config_version: self.config_version.clone(),
        };
        let audit = self.next_version(&record.audit, |a| {
            a.status = AuditStatus::Vetoed;
            a.operator_command_id = Some(cmd.command_id.clone());
            a.gate_reason = format!("{}; after dispatch {by}: hold sent", a.gate_reason);
        })?;
        record.audit = audit.clone();
        self.decision_put(model, key, Some(&record))?;
        outputs.push(Output::Command(hold));
        outputs.push(Output::Audit(audit));
        Ok(Ok(format!(
            "command {target} was already dispatched: hold sent"
        )))
    }

    fn approve(
        &mut self,
        cmd: &OperatorCommand,
        model: &str,
        outputs: &mut Vec<Output>,
    ) -> Result<Result<String, String>, StateError> {
        let Some(target) = &cmd.target_command_id else {
            return Ok(Err(
                "an approval must name the escalation it approves".into()
            ));
        };
        let key = decision_key(model, COMMAND, target);
        let record = self.decision_get::<CommandRecord>(&key)?;
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
        let state = Self::model(&mut self.models, &self.store, self.detector.plan(), model)?;
        let now = state.meta.clock.max_event_time.unwrap_or(cmd.issued_at);
        state.meta.last_action_at = Some(now);
        state.meta.command_times.push(now);
        state.meta.commands = state.meta.commands.saturating_add(1);
        state.dirty = true;
        let by = format!(
            "approved by {} (operator command {})",
            cmd.issued_by, cmd.command_id
        );
        let command = HealCommand {
            command_id: ids::command_id(&cmd.command_id, action.as_str()),
            decision_id: record.command.decision_id.clone(),
            model_id: model.to_string(),
            model_version: record.command.model_version.clone(),
            action,
            reason: format!("escalation {target} {by}"),
            evidence: record.command.evidence.clone(),
            issued_at: now,
            config_version: self.config_version.clone(),
        };
        let audit = self.next_version(&record.audit, |a| {
            a.status = AuditStatus::Dispatched;
            a.decided_by = "human".into();
            a.action = action.as_str().into();
            a.command_id = Some(command.command_id.clone());
            a.operator_command_id = Some(cmd.command_id.clone());
            a.gate_reason = format!("{}; {action} {by}", a.gate_reason);
        })?;
        self.decision_put::<CommandRecord>(model, key, None)?;
        let approved = CommandRecord {
            command: command.clone(),
            features: record.features.clone(),
            status: AuditStatus::Dispatched,
            suggestion: None,
            audit: audit.clone(),
        };
        let new_key = decision_key(model, COMMAND, &command.command_id);
        self.decision_put(model, new_key, Some(&approved))?;
        outputs.push(Output::Command(command));
        outputs.push(Output::Audit(audit));
        Ok(Ok(format!("{action} issued for escalation {target}")))
    }
}

/// The action an approval takes: the one the operator named, else the
/// escalation's suggestion.
fn approved_action(cmd: &OperatorCommand, record: &CommandRecord) -> Option<Action> {
    match cmd.action.as_deref() {
        Some(name) => Action::command_from_name(name),
        None => record.suggestion,
    }
}
