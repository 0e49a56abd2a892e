//! Decide: turn a model's test results into an action, or a reasoned no.
//!
//! Pure, synchronous code: it reads signals and the model's decision state
//! and returns a [`Decision`] that carries every check it made, for the
//! audit trail. Time is the event time passed in, never the wall clock.

pub mod bandit;
mod cooldown;
mod engine;
pub mod rules;

pub use cooldown::Cooldown;
pub use engine::{Decision, DecisionInput, RuleEngine};
