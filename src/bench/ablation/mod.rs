//! `jidoka bench ablation`: the seed system's published ablation (rules,
//! ε-bandit, hybrid, oracle) reproduced on its own scenario model, and the
//! jidoka engine (seed rules + Thompson bandit behind a confidence gate)
//! learning online from the scenario's outcomes; scenarios users define in
//! TOML, run for rules, the seed hybrid, the oracle and the engine learning
//! per model and pooled, with learning curves and recovery after a change.

pub mod engine;
pub mod learner;
pub mod report;
pub mod run;
pub mod scenario;
pub mod spec;
pub mod stats;
pub mod study;
pub mod study_report;

pub use report::{to_json, to_table};
pub use run::{run_ablation, AblationReport};
