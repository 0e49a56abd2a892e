//! Policy rules: named `when` conditions over drift signals mapped to
//! [`crate::schema::Action`]s, loaded from a policy file
//! (`configs/policy.toml`); the decision engine's safety net.
//!
//! Guarantees: a [`Policy`] only exists if every rule parsed, names only known
//! signals and actions, and rule names are unique; evaluation is pure.

mod condition;
mod error;
mod parse;
mod policy;
mod signals;

pub use condition::{CmpOp, Condition};
pub use error::PolicyError;
pub use parse::{ParseError, ParseErrorKind, MAX_DEPTH};
pub use policy::{Evaluation, Policy, Rule, RuleResult, SEED_POLICY};
pub use signals::{Signal, Signals};
