//! Human control state the engine obeys: pauses and standing vetoes.
//!
//! Guarantees: these are plain data, persisted with the model (or, for a
//! pause of every model, with the input partition), so they move with the
//! partition like the rest of the state; the engine only reads them, and the
//! pipeline removes a veto exactly when it blocked a command.

use serde::{Deserialize, Serialize};

/// Who paused, and with which operator command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// Operator command id.
    pub command_id: String,
    /// Who issued it.
    pub by: String,
    /// When it was issued (ms).
    pub at: i64,
    /// `true` for a pause of every model.
    pub global: bool,
}

/// A veto waiting for the command it blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Veto {
    /// Operator command id.
    pub command_id: String,
    /// Who issued it.
    pub by: String,
    /// The heal command it blocks; `None` blocks the model's next command.
    pub target: Option<String>,
}

/// The human control that applies to one decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct Control<'a> {
    /// The model's pause, or the pause of every model.
    pub pause: Option<&'a Pause>,
    /// Standing vetoes of the model.
    pub vetoes: &'a [Veto],
}

impl<'a> Control<'a> {
    /// The veto that blocks a command with id `command_id`, if any: one
    /// naming it, else one for the model's next command.
    pub fn veto_for(&self, command_id: &str) -> Option<&'a Veto> {
        self.vetoes
            .iter()
            .find(|v| v.target.as_deref() == Some(command_id))
            .or_else(|| self.vetoes.iter().find(|v| v.target.is_none()))
    }
}
