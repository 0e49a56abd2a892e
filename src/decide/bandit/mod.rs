//! The learning policy: a Bayesian linear contextual bandit with Thompson
//! sampling (one Normal–inverse-gamma posterior per arm), its small dense
//! linear algebra, and a bit-exact byte format for persisting its state.
//! Pure code; not yet wired into the pipeline's engine (see `bench::ablation`
//! for it deciding behind the confidence gate).

mod codec;
pub mod linalg;
mod thompson;

pub use thompson::*;
