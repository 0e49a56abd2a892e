//! Restore speed: one partition's state rebuilt from its changelog topics
//! into a fresh RocksDB store in a temporary directory.
//!
//! Guarantees: [`restore_into_fresh_store`] is the only place the benchmark
//! calls the restore API (`state::changelog`), and it restores only what the changelog holds (the mock
//! broker keeps about 5 MB per partition, so a long run's changelog may
//! begin after its first records: the rate is still records per second of
//! what was read).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::error::BenchError;
use crate::config::Config;
use crate::pipeline::expiry_index;
use crate::state::changelog;
use crate::state::Store;

/// How a restore went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestoreRun {
    /// Partition restored.
    pub partition: i32,
    /// Changelog records read.
    pub records: u64,
    /// Bytes of keys and values read.
    pub bytes: u64,
    /// Wall time of the restore (reading and writing).
    pub elapsed: Duration,
}

/// Restores `partition` of the stores of `cfg`'s group from its changelog
/// into a new store in a temporary directory, and times it.
pub fn restore_into_fresh_store(cfg: &Config, partition: i32) -> Result<RestoreRun, BenchError> {
    let dir = tempfile::tempdir().map_err(BenchError::io("creating the restore directory"))?;
    let store = Store::open(dir.path(), cfg.state.sync_writes)
        .map_err(|e| BenchError::Restore(e.into()))?;
    if !changelog::needs_restore(cfg, &store, partition)? {
        return Err(BenchError::Lost(format!(
            "a fresh store claims to hold partition {partition}"
        )));
    }
    let never = AtomicBool::new(false);
    let done = changelog::restore(cfg, &store, partition, &expiry_index, &never)?;
    Ok(RestoreRun {
        partition,
        records: done.records,
        bytes: done.bytes,
        elapsed: done.elapsed,
    })
}
