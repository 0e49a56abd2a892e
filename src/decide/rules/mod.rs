//! Policy rules: named `when` conditions over drift signals mapped to
//! actions, loaded from a policy file (`configs/policy.toml`). Not yet wired
//! into the pipeline's engine, which still runs the built-in drift rule.
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
pub use policy::{Evaluation, Policy, PolicyAction, Rule, RuleResult, SEED_POLICY};
pub use signals::{Signal, Signals};
