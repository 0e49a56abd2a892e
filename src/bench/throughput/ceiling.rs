//! The ceiling: a plain rdkafka consumer (no decoding, no state, no
//! outputs) reading the whole predictions topic. Every pipeline case is
//! reported as a share of this rate.
//!
//! Guarantees: the rate covers every record of the topic (checked), timed
//! from the first record received to the last.

use super::error::BenchError;
use super::topic_io::{read_to_end, reader, watermarks, ReadStats};

/// Reads every record of `topic` once and returns what it took.
pub fn measure(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    expected: u64,
) -> Result<ReadStats, BenchError> {
    let marks = watermarks(bootstrap, topic, partitions)?;
    let consumer = reader(bootstrap, "ceiling")?;
    let stats = read_to_end(&consumer, topic, &marks, |_, _| {})?;
    if stats.records != expected {
        return Err(BenchError::Lost(format!(
            "the plain consumer read {} of {expected} records",
            stats.records
        )));
    }
    Ok(stats)
}
