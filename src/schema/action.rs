//! The one healing action type: what a policy rule proposes, what a bandit
//! arm stands for and what a heal command asks an executor to do.
//!
//! Guarantees (every form below is on the wire or on disk, none may change):
//! * names: `retrain`, `rollback`, `fallback`, `hold`, `escalate` and `none`
//!   (policy files, audit records, operator approvals, serde in JSON and
//!   Avro); the Avro enum `HealAction` of `heal_command.avsc` has no `none`:
//!   a heal command is only built for a [`Action::command`], never for
//!   [`Action::None`];
//! * postcard (the state store) encodes the variant index, so the
//!   declaration order (the five commands, then `None`) is fixed;
//! * [`Action::code`] is the bandit state's one-byte code (`None` = 0,
//!   `Retrain` = 1, …), the order of [`Action::ALL`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// A healing action, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Retrain the model on recent data.
    Retrain,
    /// Roll back to the previous model version.
    Rollback,
    /// Route traffic to a fallback model or heuristic.
    Fallback,
    /// Keep serving, but freeze further automatic changes.
    Hold,
    /// Ask a human.
    Escalate,
    /// Do nothing (a rule or a bandit arm; never a command).
    None,
}

impl Action {
    /// Every action, in the bandit's stable code order.
    pub const ALL: [Action; 6] = [
        Action::None,
        Action::Retrain,
        Action::Rollback,
        Action::Fallback,
        Action::Hold,
        Action::Escalate,
    ];

    /// The actions a heal command can carry (the `HealAction` symbols, in
    /// their order).
    pub const COMMANDS: [Action; 5] = [
        Action::Retrain,
        Action::Rollback,
        Action::Fallback,
        Action::Hold,
        Action::Escalate,
    ];

    /// The lowercase name used on the wire, in policy files and in audit
    /// records.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Retrain => "retrain",
            Action::Rollback => "rollback",
            Action::Fallback => "fallback",
            Action::Hold => "hold",
            Action::Escalate => "escalate",
            Action::None => "none",
        }
    }

    /// The action with this exact lowercase name (`none` included).
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The command action with this exact lowercase name (`none` is not
    /// one).
    pub fn command_from_name(name: &str) -> Option<Action> {
        Action::from_name(name).and_then(Action::command)
    }

    /// The action as a heal command: `None` for [`Action::None`].
    pub fn command(self) -> Option<Action> {
        (self != Action::None).then_some(self)
    }

    /// Stable one-byte code used by the bandit's binary state format.
    pub fn code(self) -> u8 {
        match self {
            Action::None => 0,
            Action::Retrain => 1,
            Action::Rollback => 2,
            Action::Fallback => 3,
            Action::Hold => 4,
            Action::Escalate => 5,
        }
    }

    /// Inverse of [`Action::code`]; `None` (the Option) for unknown codes.
    pub fn from_code(code: u8) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for (i, a) in Action::ALL.into_iter().enumerate() {
            assert_eq!(Action::from_name(a.as_str()), Some(a));
            assert_eq!(usize::from(a.code()), i);
            assert_eq!(Action::from_code(a.code()), Some(a));
        }
        assert_eq!(Action::from_code(6), None);
        assert_eq!(Action::from_name("Retrain"), None);
        assert_eq!(Action::command_from_name("none"), None);
        assert_eq!(
            Action::COMMANDS.map(Action::as_str),
            ["retrain", "rollback", "fallback", "hold", "escalate"]
        );
        assert!(Action::COMMANDS.iter().all(|a| a.command() == Some(*a)));
    }

    #[test]
    fn state_encoding_keeps_the_variant_indices() -> Result<(), postcard::Error> {
        // The state store (postcard) wrote commands before `None` existed:
        // retrain = 0 … escalate = 4.
        for (i, a) in Action::COMMANDS.into_iter().enumerate() {
            assert_eq!(postcard::to_allocvec(&a)?, vec![i as u8]);
        }
        assert_eq!(postcard::to_allocvec(&Action::None)?, vec![5]);
        Ok(())
    }

    #[test]
    fn serde_names_are_lowercase() -> Result<(), serde_json::Error> {
        for a in Action::ALL {
            assert_eq!(serde_json::to_string(&a)?, format!("\"{a}\""));
        }
        Ok(())
    }
}
