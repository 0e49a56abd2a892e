//! Benchmarks that run inside the binary (`jidoka bench …`).

pub mod ablation;
pub mod alerts;
pub mod throughput;
