//! Building heal commands.
//!
//! Guarantees: a command's id derives from what issued it (the decision,
//! or the operator command that answered one), so a replay yields the same
//! command; commands are keyed by model id; a hold or an approved action
//! keeps the decision id and model version of the command it answers; no
//! command carries [`Action::None`] (the Avro enum has no such symbol).

use crate::ids;
use crate::schema::{Action, HealCommand};

/// What a command is built from.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec<'a> {
    /// Decision that issued it.
    pub decision_id: &'a str,
    /// Model to heal.
    pub model_id: &'a str,
    /// Model version serving.
    pub model_version: &'a str,
    /// Action ([`Action::None`] builds no command).
    pub action: Action,
    /// One-line reason.
    pub reason: &'a str,
    /// Drift event ids behind it.
    pub evidence: &'a [String],
    /// Event time of the decision.
    pub issued_at: i64,
    /// Config hash.
    pub config_version: &'a str,
}

/// Builds the command for a decision: `None` when its action is
/// [`Action::None`].
pub fn command(spec: CommandSpec<'_>) -> Option<HealCommand> {
    let action = spec.action.command()?;
    Some(HealCommand {
        command_id: ids::command_id(spec.decision_id, action.as_str()),
        decision_id: spec.decision_id.to_string(),
        model_id: spec.model_id.to_string(),
        model_version: spec.model_version.to_string(),
        action,
        reason: spec.reason.to_string(),
        evidence: spec.evidence.to_vec(),
        issued_at: spec.issued_at,
        config_version: spec.config_version.to_string(),
        target_command_id: None,
    })
}

/// An operator command answering a command already issued.
#[derive(Debug, Clone, Copy)]
pub struct OperatorReply<'a> {
    /// Id of the operator command.
    pub operator_command_id: &'a str,
    /// Who and which operator command, as the reason says it
    /// (`vetoed by …` or `approved by …`).
    pub by: &'a str,
    /// Model.
    pub model_id: &'a str,
    /// Id of the command answered.
    pub target: &'a str,
    /// Event time of the new command.
    pub issued_at: i64,
    /// Config hash.
    pub config_version: &'a str,
}

/// The hold asked of the executor when an operator vetoes the dispatched
/// command `vetoed`: stop it and hold.
pub fn hold(reply: OperatorReply<'_>, vetoed: &HealCommand) -> HealCommand {
    HealCommand {
        command_id: ids::command_id(reply.operator_command_id, Action::Hold.as_str()),
        decision_id: vetoed.decision_id.clone(),
        model_id: reply.model_id.to_string(),
        model_version: vetoed.model_version.clone(),
        action: Action::Hold,
        reason: format!("command {} {}: stop it and hold", reply.target, reply.by),
        evidence: vec![reply.target.to_string()],
        issued_at: reply.issued_at,
        config_version: reply.config_version.to_string(),
        target_command_id: Some(reply.target.to_string()),
    }
}

/// The command an operator's approval of the escalation `escalation`
/// issues: `action` (a command action, never [`Action::None`]), as a human
/// decision, with the escalation's evidence.
pub fn approved(reply: OperatorReply<'_>, escalation: &HealCommand, action: Action) -> HealCommand {
    HealCommand {
        command_id: ids::command_id(reply.operator_command_id, action.as_str()),
        decision_id: escalation.decision_id.clone(),
        model_id: reply.model_id.to_string(),
        model_version: escalation.model_version.clone(),
        action,
        reason: format!("escalation {} {}", reply.target, reply.by),
        evidence: escalation.evidence.clone(),
        issued_at: reply.issued_at,
        config_version: reply.config_version.to_string(),
        target_command_id: Some(reply.target.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(action: Action) -> CommandSpec<'static> {
        CommandSpec {
            decision_id: "d1",
            model_id: "m",
            model_version: "v3",
            action,
            reason: "drift",
            evidence: &[],
            issued_at: 10,
            config_version: "cfg",
        }
    }

    fn dispatched() -> HealCommand {
        let evidence = ["e1".to_string()];
        let Some(c) = command(CommandSpec {
            evidence: &evidence,
            ..spec(Action::Retrain)
        }) else {
            panic!("a retrain builds a command");
        };
        c
    }

    #[test]
    fn no_command_for_action_none() {
        assert_eq!(command(spec(Action::None)), None);
        for a in Action::COMMANDS {
            assert_eq!(command(spec(a)).map(|c| c.action), Some(a));
        }
    }

    #[test]
    fn a_decision_command_derives_its_id_from_the_decision() {
        let c = dispatched();
        assert_eq!(
            c.command_id,
            ids::command_id("d1", Action::Retrain.as_str())
        );
        assert_eq!(c, dispatched(), "a replay yields the same command");
        assert_eq!((c.model_id.as_str(), c.issued_at), ("m", 10));
        assert_eq!(c.target_command_id, None, "a decision's own command");
    }

    #[test]
    fn hold_and_approval_answer_the_command_they_name() {
        let target = dispatched();
        let reply = OperatorReply {
            operator_command_id: "op1",
            by: "vetoed by alice (operator command op1)",
            model_id: "m",
            target: &target.command_id,
            issued_at: 20,
            config_version: "cfg2",
        };
        let h = hold(reply, &target);
        assert_eq!(h.action, Action::Hold);
        assert_eq!(h.command_id, ids::command_id("op1", Action::Hold.as_str()));
        assert_eq!(h.decision_id, "d1");
        assert_eq!(h.model_version, "v3");
        assert_eq!(h.evidence, vec![target.command_id.clone()]);
        assert_eq!(h.target_command_id.as_ref(), Some(&target.command_id));
        assert_eq!(
            h.reason,
            format!(
                "command {} vetoed by alice (operator command op1): stop it and hold",
                target.command_id
            )
        );
        assert_eq!((h.issued_at, h.config_version.as_str()), (20, "cfg2"));

        let a = approved(
            OperatorReply {
                by: "approved by bob (operator command op1)",
                ..reply
            },
            &target,
            Action::Rollback,
        );
        assert_eq!(a.action, Action::Rollback);
        assert_eq!(
            a.command_id,
            ids::command_id("op1", Action::Rollback.as_str())
        );
        assert_eq!(a.decision_id, "d1");
        assert_eq!(a.evidence, target.evidence);
        assert_eq!(a.target_command_id.as_ref(), Some(&target.command_id));
        assert_eq!(
            a.reason,
            format!(
                "escalation {} approved by bob (operator command op1)",
                target.command_id
            )
        );
    }
}
