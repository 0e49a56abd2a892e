//! Decide: turn a degraded model's signals into an action, or a reasoned no.
//!
//! Pure, synchronous code: policy rules (the safety net), a contextual
//! bandit behind a confidence gate, then cooldown, rate limit, evidence age,
//! pause and veto checks. It returns a [`Decision`] that carries every check
//! it made, for the audit trail. Time is the event time passed in, never the
//! wall clock; randomness is seeded by the decision id.
//!
//! [`operator`] is the stage's operator: it keeps the engine's state
//! (bandits, commands waiting for an outcome or approval, controls) in the
//! store's `decisions` table and turns a decision into a heal command and
//! an audit record.

pub mod bandit;
pub mod context;
pub mod control;
mod cooldown;
mod engine;
pub mod lesson;
pub mod operator;
pub mod pool;
pub mod reward;
pub mod rules;
mod stored_v1;
mod stored_v2;
mod stored_v3;

pub use control::{Control, Pause, Veto};
pub use cooldown::Cooldown;
pub use engine::{
    builtin_policy, parse_arms, Decision, DecisionRequest, Engine, Source, BUILTIN_POLICY,
};
