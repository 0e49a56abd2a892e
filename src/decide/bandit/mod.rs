//! The learning policy: a Bayesian linear contextual bandit with Thompson
//! sampling (one Normal–inverse-gamma posterior per arm), its small dense
//! linear algebra, and a bit-exact byte format for persisting its state.
//! Pure code; the decision engine (`decide::engine`) consults it behind the
//! confidence gate.

mod codec;
pub mod linalg;
mod thompson;

/// The arms are the one [`Action`] type (`none` included).
pub use crate::schema::Action;
pub use thompson::*;
