//! Heal: the commands jidoka publishes for downstream executors, and what
//! comes back (executors' outcomes, operators' commands).
//!
//! [`command`] is the one place that builds a [`crate::schema::HealCommand`]:
//! a decision's command, the hold after a veto of a dispatched command, and
//! the action an operator approved; no command carries
//! [`crate::schema::Action::None`] (the Avro enum has no such symbol).
//! [`feedback`] is the stage's operator; [`report`] is the executor's side
//! of an outcome (`jidoka outcome report`).

mod command;
pub mod feedback;
pub mod report;

pub use command::{approved, command, hold, CommandSpec, OperatorReply};
pub use feedback::Feedback;
