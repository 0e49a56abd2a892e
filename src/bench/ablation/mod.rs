//! `jidoka bench ablation`: the seed system's published ablation (rules,
//! ε-bandit, hybrid, oracle) reproduced on its own scenario model, and the
//! jidoka engine (seed rules + Thompson bandit behind a confidence gate)
//! learning online from the scenario's outcomes.

pub mod engine;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;

pub use report::{to_json, to_table};
pub use run::{run_ablation, AblationReport};
