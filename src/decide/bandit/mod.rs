//! The learning policy: a Bayesian linear contextual bandit with Thompson
//! sampling (one Normal–inverse-gamma posterior per arm), its small dense
//! linear algebra, a bit-exact byte format for persisting its state, and
//! the learner behind it: outcome statistics with forgetting, pooled
//! across models, and a prior that starts from the policy's rules.
//! Pure code; the decision engine (`decide::engine`) consults it behind the
//! confidence gate.

mod belief;
#[cfg(test)]
mod brute;
mod codec;
mod deviation;
pub mod linalg;
mod pool;
mod stats;
mod thompson;

/// The arms are the one [`Action`] type (`none` included).
pub use crate::schema::Action;
pub use belief::Belief;
pub use pool::*;
pub use stats::*;
pub use thompson::*;
