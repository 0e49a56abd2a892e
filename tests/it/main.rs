//! jidoka's integration tests, one module per area, built as one test
//! binary instead of one per area, each of which linked RocksDB and
//! librdkafka statically. `tests/run.sh` runs them with
//! cargo-nextest (a process per test) when it is installed. Shared
//! helpers are in `common/`; `tests/deploy.rs` stays a binary of its own
//! (it changes the process environment).
//!
//! A new area is a file here and a `mod` line below.

mod common;

mod ablation;
mod audit_verify;
mod bandit;
mod bench_alerts;
mod bench_throughput;
mod broker_restart;
mod car_loan;
mod cli;
mod contract;
mod corrupt_mix;
mod crash;
mod dead_letter;
mod decisions;
mod demo;
mod effect_golden;
mod executor;
mod export;
mod failover;
mod fuzz_inputs;
mod json_input;
mod keys;
mod ks_golden;
mod ks_incremental;
mod ks_props;
mod metrics_features;
mod metrics_http;
mod model_settings;
mod operator_cli;
mod outcome_cli;
mod pipeline;
mod platform;
mod policy_load;
mod policy_parse_errors;
mod policy_props;
mod pooled;
mod registry;
mod report_history;
mod report_html;
mod restart;
mod shutdown;
mod transactions;
