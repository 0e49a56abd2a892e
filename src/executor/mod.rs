//! The executor bridge (`jidoka executor`): reads heal commands from the
//! actions topic in its own consumer group and hands each to the target
//! its action is configured for: a signed webhook, a GitHub repository
//! dispatch, or a local program; outcomes come back through
//! `POST /outcomes`, a program's result, or `jidoka outcome report`.
//!
//! Delivery is at most once per (target, command id), across restarts; see
//! [`bridge`] for how, and `docs/executors.md`.
//!
//! - `sign.rs`: the HMAC-SHA256 body signature (`X-Jidoka-Signature-256`).
//! - `backoff.rs`: exponential backoff with jitter.
//! - `request.rs`: the request per target (pure), the outcome JSON.
//! - `deliver.rs`: one attempt, classed by whether a retry is safe.
//! - `store.rs`: the delivery state (RocksDB, synced writes).
//! - `bridge.rs`: one command through target choice, state and retries.
//! - `run.rs`: the Kafka loop and offsets.
//! - `http.rs`: `/metrics`, `/health`, `POST /outcomes`.
//! - `metrics.rs`, `events.rs`: counters, latency, notable events.

pub mod backoff;
pub mod bridge;
pub mod deliver;
mod events;
pub mod http;
pub mod metrics;
pub mod request;
mod run;
pub mod sign;
pub mod store;

pub use metrics::ExecutorMetrics;
pub use run::{run, ExecutorError};
