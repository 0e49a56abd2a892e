//! The operator command's contract beyond its Avro types: which kinds may
//! carry an action or must name a model and a target.

use super::tests::codec;
use crate::schema::records::*;

fn operator_command() -> OperatorCommand {
    OperatorCommand {
        command_id: "op-1".into(),
        kind: OperatorKind::Approve,
        model_id: Some("churn-v7".into()),
        target_command_id: Some("cmd-1".into()),
        issued_by: "alice".into(),
        issued_at: 11,
        signature: None,
        action: Some("retrain".into()),
        note: None,
    }
}

/// Encodes an operator command (its contract is checked on decode only) and
/// returns the decode error, if any.
fn operator_decode_error(cmd: &OperatorCommand) -> Option<String> {
    let c = codec();
    let bytes = match c.encode(cmd) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    c.decode::<OperatorCommand>(Some(&bytes))
        .err()
        .map(|e| format!("{}: {e}", e.kind()))
}

#[test]
fn operator_command_contract() {
    for action in Action::COMMANDS {
        let cmd = OperatorCommand {
            action: Some(action.as_str().into()),
            ..operator_command()
        };
        assert_eq!(operator_decode_error(&cmd), None, "{action}");
    }
    let cases = [
        (
            OperatorCommand {
                action: Some("reboot".into()),
                ..operator_command()
            },
            "action `reboot`",
        ),
        (
            OperatorCommand {
                action: Some("Retrain".into()),
                ..operator_command()
            },
            "action `Retrain`",
        ),
        (
            OperatorCommand {
                action: Some("none".into()),
                ..operator_command()
            },
            "action `none`",
        ),
        (
            OperatorCommand {
                kind: OperatorKind::Veto,
                ..operator_command()
            },
            "approve only",
        ),
        (
            OperatorCommand {
                kind: OperatorKind::Veto,
                model_id: None,
                action: None,
                ..operator_command()
            },
            "needs a model_id",
        ),
        (
            OperatorCommand {
                model_id: Some(String::new()),
                ..operator_command()
            },
            "model_id is empty",
        ),
        (
            OperatorCommand {
                target_command_id: None,
                ..operator_command()
            },
            "needs a target_command_id",
        ),
    ];
    for (cmd, expected) in cases {
        let err = operator_decode_error(&cmd).unwrap_or_default();
        assert!(err.starts_with("invalid-value"), "{err}");
        assert!(err.contains(expected), "{expected}: {err}");
    }
    let global_pause = OperatorCommand {
        kind: OperatorKind::Pause,
        model_id: None,
        target_command_id: None,
        action: None,
        note: Some("incident 42".into()),
        ..operator_command()
    };
    assert_eq!(operator_decode_error(&global_pause), None);
}
