//! Benchmarks that run inside the binary (`jidoka bench …`).

pub mod ablation;
pub mod alerts;
pub mod report;
pub mod throughput;
