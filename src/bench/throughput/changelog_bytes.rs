//! Bytes a case wrote to its changelog topics.
//!
//! Guarantees: every record ever written counts: those still on the topic
//! are read and their bytes summed exactly; those the mock broker already
//! dropped (offsets below the low watermark of a fresh topic) are counted
//! at the mean size of their partition's remaining records, and the result
//! says how many were (`estimated_records`; with transactions, the dropped
//! offsets include a few commit markers).

use super::error::BenchError;
use super::topic_io::{read_to_end, reader, watermarks};

/// Changelog volume of one case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangelogVolume {
    /// Records written, all topics.
    pub records: u64,
    /// Key and value bytes written, all topics.
    pub bytes: u64,
    /// Records below the low watermarks, counted at a mean size.
    pub estimated_records: u64,
    /// Records still on the topics per partition (all topics), for
    /// picking one to restore.
    pub per_partition: Vec<u64>,
}

/// Measures the changelog topics `topics`, each with `partitions`.
pub fn measure(
    bootstrap: &str,
    topics: &[String],
    partitions: i32,
) -> Result<ChangelogVolume, BenchError> {
    let mut volume = ChangelogVolume {
        per_partition: vec![0; usize::try_from(partitions).unwrap_or(0)],
        ..ChangelogVolume::default()
    };
    let consumer = reader(bootstrap, "changelog-bytes")?;
    for topic in topics {
        let marks = watermarks(bootstrap, topic, partitions)?;
        let mut kept = vec![(0u64, 0u64); marks.len()];
        read_to_end(&consumer, topic, &marks, |p, size| {
            if let Some(k) = kept.get_mut(p as usize) {
                k.0 += 1;
                k.1 += size as u64;
            }
        })?;
        for (p, (&(low, _), &(n, bytes))) in marks.iter().zip(&kept).enumerate() {
            let dropped = u64::try_from(low).unwrap_or(0);
            let mean = bytes.checked_div(n).unwrap_or(0);
            volume.records += n + dropped;
            volume.bytes += bytes + dropped * mean;
            volume.estimated_records += dropped;
            if let Some(slot) = volume.per_partition.get_mut(p) {
                *slot += n;
            }
        }
    }
    Ok(volume)
}
