//! `jidoka bench throughput`: records per second of jidoka's pipeline end
//! to end (changelog on or off, with or without transactions) against a
//! plain rdkafka consumer on the same topic of an in-process mock broker,
//! plus restore speed, peak memory and state bytes per record.

pub mod broker;
pub mod case;
pub mod ceiling;
pub mod changelog_bytes;
pub mod child;
pub mod error;
pub mod fill;
pub mod probe;
pub mod report;
pub mod restore;
pub mod run;
pub mod topic_io;
pub mod workload;

pub use case::Case;
pub use error::BenchError;
pub use report::{to_json, to_table, ThroughputReport};
pub use run::{run_throughput, ThroughputOptions};
