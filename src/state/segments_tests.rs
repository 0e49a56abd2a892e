//! Segments against the windows they store: written through checkpoints of
//! random length, loaded back and rebuilt, they equal the live windows, and
//! the bytes written per value do not grow with the window size.

use proptest::prelude::*;

use super::*;
use crate::detect::window::{ReferenceKind, WindowKind, WindowPlan};
use crate::detect::{FeatureState, WindowEntry};
use crate::state::{Checkpoint, Store};

fn count_plan(window: usize, reference: usize, rolling: bool) -> WindowPlan {
    WindowPlan {
        window: WindowKind::Count { size: window },
        reference: if rolling {
            ReferenceKind::Rolling(reference)
        } else {
            ReferenceKind::FirstN(reference)
        },
    }
}

/// Pushes `n` values through a journaled feature, checkpointing every
/// `every` values into `store`; returns the feature and bytes written.
fn run(
    store: &Store,
    plan: &WindowPlan,
    n: u64,
    every: u64,
) -> Result<(FeatureState, SegmentLog, u64), StateError> {
    let mut w = FeatureState::journaled();
    let mut log = SegmentLog::default();
    let mut bytes = 0u64;
    for i in 1..=n {
        let value = (i * 7919 % 1000) as f64;
        w.push(
            WindowEntry {
                record: i,
                time: i as i64,
                value,
            },
            i as i64,
            plan,
        );
        if i % every == 0 || i == n {
            let mut batch = StateBatch::default();
            let end = w.windows().window_end();
            log.flush(&mut batch, 0, "m", NUMERIC, "x", w.take_journal(), end);
            let writes = batch.take();
            bytes += writes
                .iter()
                .map(|w| (w.key.len() + w.value.as_ref().map_or(0, Vec::len)) as u64)
                .sum::<u64>();
            store.write(&Checkpoint {
                writes,
                offsets: Vec::new(),
            })?;
        }
    }
    Ok((w, log, bytes))
}

#[test]
fn bytes_per_value_do_not_grow_with_the_window() -> Result<(), Box<dyn std::error::Error>> {
    let mut per_value = Vec::new();
    for window in [100usize, 1_000, 10_000] {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path(), false)?;
        let plan = count_plan(window, 1_000, false);
        let (_, log, bytes) = run(&store, &plan, 40_000, 500)?;
        // Segments alive: about (reference + window) / 500 values each.
        assert!(
            log.segments() <= (window + 1_000) / 500 + 2,
            "{}",
            log.segments()
        );
        per_value.push(bytes as f64 / 40_000.0);
    }
    // Each value is written at most once (25 bytes), with its share of a
    // key and a delete; one that leaves the window before the checkpoint is
    // not written at all (window 100 < 500 values per checkpoint).
    for b in &per_value {
        assert!(*b < 30.0, "{per_value:?}");
    }
    assert!(per_value[2] <= per_value[1] * 1.01, "{per_value:?}");
    assert!(per_value[1] > 25.0, "{per_value:?}");
    Ok(())
}

#[test]
fn corrupt_segments_are_errors() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), false)?;
    let good = encode_segment(&[(
        Tag::Window,
        Entry {
            record: 1,
            time: 2,
            value: 3.0,
        },
    )]);
    for bad in [
        Vec::new(),
        vec![9],
        good[..good.len() - 1].to_vec(),
        [good.clone(), vec![0]].concat(),
    ] {
        assert!(decode_segment::<f64>(&bad).is_err(), "{bad:?}");
    }
    let mut tagged = good.clone();
    tagged[5] = b'?';
    assert!(decode_segment::<f64>(&tagged).is_err());
    // A length far beyond the bytes, and a category that is not UTF-8.
    let mut huge = vec![good[0]];
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode_segment::<f64>(&huge).is_err());
    let mut category = encode_segment(&[(
        Tag::Window,
        Entry {
            record: 1,
            time: 2,
            value: "ab".to_string(),
        },
    )]);
    let last = category.len() - 1;
    category[last] = 0xff;
    assert!(decode_segment::<String>(&category).is_err());
    assert!(decode_segment::<String>(&category[..last]).is_err());
    store.write(&Checkpoint {
        writes: vec![crate::state::Write {
            cf: Cf::Windows,
            key: segment_key("m", NUMERIC, "x", 1),
            value: Some(vec![1, 2, 3]),
            partition: 0,
        }],
        offsets: Vec::new(),
    })?;
    assert!(matches!(load(&store, "m"), Err(StateError::Corrupt { .. })));
    assert!(load(&store, "other")?.numeric.is_empty());
    Ok(())
}

proptest! {
    #[test]
    fn stored_segments_rebuild_the_live_windows(
        n in 1u64..400,
        every in 1u64..60,
        window in 1usize..40,
        reference in 0usize..40,
        rolling in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let store = Store::open(dir.path(), false).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let plan = count_plan(window, reference, rolling);
        let (w, log, _) = run(&store, &plan, n, every).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let stored = load(&store, "m").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let f = stored.numeric.get("x").ok_or_else(|| TestCaseError::fail("no feature"))?;
        let rebuilt = FeatureState::rebuild(f.entries.iter().cloned(), f.window_end, &plan);
        prop_assert_eq!(rebuilt.windows(), w.windows());
        // Only segments with a live entry are kept.
        prop_assert_eq!(f.log(&rebuilt.windows().live_window_records(&plan)), log);
    }
}
