//! Windows against a brute-force recomputation from the accepted values.

use std::collections::BTreeMap;

use super::*;
use proptest::prelude::*;

/// Multisets of each side, kept through the [`Sides`] callbacks.
#[derive(Default)]
struct Tally(BTreeMap<(bool, i64), i64>);

impl Sides<f64> for Tally {
    fn add(&mut self, side: Side, v: &f64) {
        *self
            .0
            .entry((side == Side::Reference, *v as i64))
            .or_default() += 1;
    }
    fn remove(&mut self, side: Side, v: &f64) {
        *self
            .0
            .entry((side == Side::Reference, *v as i64))
            .or_default() -= 1;
    }
}

fn tally_of(w: &Windows<f64>) -> BTreeMap<(bool, i64), i64> {
    let mut t = Tally::default();
    w.replay(&mut t);
    t.0
}

fn entry(record: u64, time: i64) -> WindowEntry {
    Entry {
        record,
        time,
        value: record as f64,
    }
}

fn values(side: &VecDeque<WindowEntry>) -> Vec<u64> {
    side.iter().map(|e| e.record).collect()
}

#[test]
fn count_window_with_first_n_reference() {
    let plan = WindowPlan {
        window: WindowKind::Count { size: 3 },
        reference: ReferenceKind::FirstN(4),
    };
    let mut w = Windows::default();
    for i in 1..=10 {
        w.push(entry(i, i as i64), i64::MIN, &plan, &mut ());
    }
    assert_eq!(values(w.reference()), vec![1, 2, 3, 4]);
    assert_eq!(values(w.current()), vec![8, 9, 10]);
    assert!(w.is_ready(&plan, 0));
}

#[test]
fn tumbling_time_window_counts_late_values() {
    let plan = WindowPlan {
        window: WindowKind::Time {
            size_ms: 10,
            slide_ms: 10,
            min_values: 1,
        },
        reference: ReferenceKind::FirstN(2),
    };
    let mut w = Windows::default();
    let mut t = Tally::default();
    assert_eq!(w.push(entry(1, 0), 0, &plan, &mut t), Placement::Reference);
    assert_eq!(w.push(entry(2, 1), 1, &plan, &mut t), Placement::Reference);
    assert_eq!(w.push(entry(3, 12), 7, &plan, &mut t), Placement::Pending);
    assert_eq!(w.push(entry(4, 9), 7, &plan, &mut t), Placement::Pending);
    assert_eq!(w.push(entry(5, 25), 20, &plan, &mut t), Placement::Pending);
    w.advance(20, &plan, &mut t);
    assert_eq!(values(w.current()), vec![3]);
    assert_eq!(w.push(entry(6, 15), 20, &plan, &mut t), Placement::Late);
    assert_eq!(values(w.pending()), vec![5]);
    assert_eq!(t.0.values().filter(|c| **c != 0).count(), 3);
    assert_eq!(
        tally_of(&w),
        t.0.into_iter().filter(|(_, c)| *c != 0).collect()
    );
}

#[test]
fn time_range_reference_closes_at_its_end() {
    let plan = WindowPlan {
        window: WindowKind::Count { size: 2 },
        reference: ReferenceKind::TimeRange { start: 10, end: 20 },
    };
    let mut w = Windows::default();
    assert_eq!(
        w.push(entry(1, 5), 5, &plan, &mut ()),
        Placement::BeforeReference
    );
    assert_eq!(
        w.push(entry(2, 15), 15, &plan, &mut ()),
        Placement::Reference
    );
    assert_eq!(w.push(entry(3, 30), 25, &plan, &mut ()), Placement::Current);
    assert_eq!(w.push(entry(4, 18), 25, &plan, &mut ()), Placement::Late);
    assert_eq!(w.push(entry(5, 31), 26, &plan, &mut ()), Placement::Current);
    assert!(w.is_ready(&plan, 26));
    assert!(!w.is_ready(&plan, 19));
}

fn plan_strategy() -> impl Strategy<Value = WindowPlan> {
    let window = prop_oneof![
        (1usize..8).prop_map(|size| WindowKind::Count { size }),
        (1i64..20, 1i64..20).prop_map(|(size_ms, slide_ms)| WindowKind::Time {
            size_ms,
            slide_ms,
            min_values: 1
        }),
    ];
    let reference = prop_oneof![
        (0usize..6).prop_map(ReferenceKind::FirstN),
        (0usize..6).prop_map(ReferenceKind::Rolling),
        (0i64..30, 0i64..30).prop_map(|(a, b)| ReferenceKind::TimeRange {
            start: a.min(b),
            end: a.max(b)
        }),
    ];
    (window, reference).prop_map(|(window, reference)| WindowPlan { window, reference })
}

proptest! {
    /// Drives the windows the way the pipeline does and compares them with
    /// a recomputation from the list of placed values.
    #[test]
    fn windows_equal_a_recomputation(
        plan in plan_strategy(),
        times in proptest::collection::vec(0i64..80, 0..120),
        lateness in 0i64..10,
    ) {
        let mut w = Windows::default();
        let mut tally = Tally::default();
        let mut max_time = i64::MIN;
        let mut placed = Vec::new();
        for (i, t) in times.iter().enumerate() {
            let record = i as u64 + 1;
            max_time = max_time.max(*t);
            let watermark = max_time - lateness;
            let before = (w.reference_version(), values(w.reference()));
            let p = w.push(entry(record, *t), watermark, &plan, &mut tally);
            placed.push((record, *t, p));
            if let WindowKind::Time { slide_ms, .. } = plan.window {
                w.advance(watermark.div_euclid(slide_ms) * slide_ms, &plan, &mut tally);
            }
            // The reference version moves whenever the reference does (what
            // is learned from it is recomputed then); a reference that only
            // fills up (first N, a time range) keeps it still otherwise. A
            // rolling one may take a value and drop it in one push.
            let after = (w.reference_version(), values(w.reference()));
            if before.1 != after.1 {
                prop_assert_ne!(before.0, after.0);
            } else if !matches!(plan.reference, ReferenceKind::Rolling(_)) {
                prop_assert_eq!(before.0, after.0);
            }
        }
        let live: BTreeMap<_, _> = tally.0.iter().filter(|(_, c)| **c != 0).map(|(k, c)| (*k, *c)).collect();
        prop_assert_eq!(&tally_of(&w), &live);
        prop_assert!(live.values().all(|c| *c > 0));

        let of = |want: Placement| placed.iter().filter(move |(_, _, p)| *p == want);
        let reference_in: Vec<(u64, i64)> = of(Placement::Reference).map(|(r, t, _)| (*r, *t)).collect();
        let mut rest: Vec<(u64, i64)> = placed.iter()
            .filter(|(_, _, p)| matches!(p, Placement::Current | Placement::Pending))
            .map(|(r, t, _)| (*r, *t)).collect();
        let (current, evicted): (Vec<u64>, Vec<u64>) = match plan.window {
            WindowKind::Count { size } => {
                let split = rest.len().saturating_sub(size);
                (rest[split..].iter().map(|x| x.0).collect(), rest[..split].iter().map(|x| x.0).collect())
            }
            WindowKind::Time { size_ms, .. } => {
                rest.sort_by_key(|(r, t)| (*t, *r));
                let end = w.window_end().unwrap_or(i64::MIN);
                let start = end.saturating_sub(size_ms);
                let pending: Vec<u64> = rest.iter().filter(|x| x.1 >= end).map(|x| x.0).collect();
                prop_assert_eq!(values(w.pending()), pending);
                (
                    rest.iter().filter(|x| x.1 >= start && x.1 < end).map(|x| x.0).collect(),
                    rest.iter().filter(|x| x.1 < start).map(|x| x.0).collect(),
                )
            }
        };
        prop_assert_eq!(values(w.current()), current);
        let reference: Vec<u64> = match plan.reference {
            ReferenceKind::Rolling(n) => evicted[evicted.len().saturating_sub(n)..].to_vec(),
            _ => reference_in.iter().map(|x| x.0).collect(),
        };
        prop_assert_eq!(values(w.reference()), reference);
        if let ReferenceKind::FirstN(n) = plan.reference {
            prop_assert!(reference_in.len() <= n);
        }
    }
}
