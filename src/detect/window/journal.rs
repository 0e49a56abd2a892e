//! Windows as a log of entries: what changed since the last look (the
//! journal), and the windows rebuilt from their live entries.
//!
//! Guarantees:
//! - With journaling on, every accepted value is reported once in
//!   [`Journal::added`] with the side it arrived on, and every value that
//!   left both sides (evicted without a rolling or seasonal reference, or
//!   dropped from one) once in [`Journal::died`], by its record; a move
//!   from the current window into a rolling reference, or into a seasonal
//!   reference's history and from there into the reference, is not a
//!   change of the log, since where an entry sits is derived from the plan
//!   and the window's end.
//! - [`Windows::rebuild`] from the entries still alive (reference entries in
//!   arrival order, window entries in arrival order, extra dead entries
//!   allowed) and the window end gives windows equal to the ones journaled,
//!   sides reported to the summary included: the state layer stores entries
//!   and the window end, never whole windows.

use std::collections::VecDeque;

use super::{Entry, ReferenceKind, Side, Sides, WindowKind, WindowPlan, Windows};

/// The side an entry was placed on when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Into the reference (first N, time range, or preloaded): it stays
    /// there for good.
    Reference,
    /// Into the current window or its pending part; later, by the plan,
    /// into a rolling reference, then gone.
    Window,
}

impl Tag {
    /// One byte for the stored form.
    pub fn byte(self) -> u8 {
        match self {
            Tag::Reference => b'r',
            Tag::Window => b'w',
        }
    }

    /// The tag of a stored byte.
    pub fn from_byte(b: u8) -> Option<Tag> {
        match b {
            b'r' => Some(Tag::Reference),
            b'w' => Some(Tag::Window),
            _ => None,
        }
    }
}

/// What changed in a window since the journal was last taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Journal<V> {
    /// Entries accepted, in arrival order, with the side they arrived on.
    pub added: Vec<(Tag, Entry<V>)>,
    /// Records of entries that left both sides.
    pub died: Vec<u64>,
    /// The time window's end moved.
    pub end_moved: bool,
}

impl<V> Default for Journal<V> {
    fn default() -> Self {
        Journal {
            added: Vec::new(),
            died: Vec::new(),
            end_moved: false,
        }
    }
}

impl<V> Journal<V> {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.died.is_empty() && !self.end_moved
    }
}

impl<V: Clone> Windows<V> {
    /// Turns journaling on (changes from now on are kept until taken).
    pub fn start_journal(&mut self) {
        if self.journal.is_none() {
            self.journal = Some(Journal::default());
        }
    }

    /// The changes since the last call (empty when journaling is off).
    pub fn take_journal(&mut self) -> Journal<V> {
        match &mut self.journal {
            Some(j) => std::mem::take(j),
            None => Journal::default(),
        }
    }

    /// Records of the entries alive on any side (window entries only:
    /// reference-tagged entries live for good).
    pub fn live_window_records(&self, plan: &WindowPlan) -> Vec<u64> {
        let derived = matches!(
            plan.reference,
            ReferenceKind::Rolling(_) | ReferenceKind::Seasonal { .. }
        );
        let reference = self.reference.iter().filter(|_| derived);
        reference
            .chain(&self.history)
            .chain(&self.current)
            .chain(&self.pending)
            .map(|e| e.record)
            .collect()
    }

    /// Rebuilds windows from stored entries (see the module guarantees),
    /// reporting every placed entry to `sides`. Journaling is on in the
    /// result.
    pub fn rebuild(
        entries: impl IntoIterator<Item = (Tag, Entry<V>)>,
        window_end: Option<i64>,
        plan: &WindowPlan,
        sides: &mut impl Sides<V>,
    ) -> Self {
        let mut reference = VecDeque::new();
        let mut window = Vec::new();
        for (tag, e) in entries {
            match tag {
                Tag::Reference => reference.push_back(e),
                Tag::Window => window.push(e),
            }
        }
        let end = window_end.unwrap_or(i64::MIN);
        let (evicted, current, pending) = match plan.window {
            WindowKind::Count { size } => {
                let split = window.len().saturating_sub(size);
                let current: VecDeque<Entry<V>> = window.drain(split..).collect();
                (window, current, VecDeque::new())
            }
            WindowKind::Time { size_ms, .. } => {
                window.sort_by_key(|e| (e.time, e.record));
                if window_end.is_none() {
                    (Vec::new(), VecDeque::new(), window.into())
                } else {
                    let start = end.saturating_sub(size_ms);
                    let first_current = window.partition_point(|e| e.time < start);
                    let first_pending = window.partition_point(|e| e.time < end);
                    let pending: VecDeque<Entry<V>> = window.drain(first_pending..).collect();
                    let current: VecDeque<Entry<V>> = window.drain(first_current..).collect();
                    (window, current, pending)
                }
            }
        };
        let mut history = VecDeque::new();
        match (plan.reference, plan.window) {
            (ReferenceKind::Rolling(n), _) => {
                let keep = evicted.len().saturating_sub(n);
                reference.extend(evicted.into_iter().skip(keep));
            }
            (ReferenceKind::Seasonal { period_ms }, WindowKind::Time { size_ms, .. })
                if window_end.is_some() =>
            {
                // Evicted entries are in time order; those before the
                // seasonal range are dead ones not yet deleted.
                let hi = end.saturating_sub(period_ms);
                let lo = hi.saturating_sub(size_ms);
                for e in evicted {
                    if e.time >= hi {
                        history.push_back(e);
                    } else if e.time >= lo {
                        reference.push_back(e);
                    }
                }
            }
            _ => {}
        }
        for e in &reference {
            sides.add(Side::Reference, &e.value);
        }
        for e in &current {
            sides.add(Side::Current, &e.value);
        }
        Windows {
            reference,
            current,
            pending,
            history,
            window_end: end,
            journal: Some(Journal::default()),
            reference_version: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use proptest::prelude::*;

    /// Multiset of each side through the callbacks.
    #[derive(Default, Debug, PartialEq)]
    struct Tally(BTreeMap<(bool, u64), i64>);

    impl Sides<f64> for Tally {
        fn add(&mut self, side: Side, v: &f64) {
            *self
                .0
                .entry((side == Side::Reference, *v as u64))
                .or_default() += 1;
        }
        fn remove(&mut self, side: Side, v: &f64) {
            *self
                .0
                .entry((side == Side::Reference, *v as u64))
                .or_default() -= 1;
        }
    }

    fn plans() -> impl Strategy<Value = WindowPlan> {
        (1usize..30, 0usize..30, 0u8..5, any::<bool>()).prop_map(|(w, r, reference, time)| {
            WindowPlan {
                window: if time {
                    WindowKind::Time {
                        size_ms: w as i64,
                        slide_ms: 3,
                        min_values: 1,
                    }
                } else {
                    WindowKind::Count { size: w }
                },
                reference: match reference {
                    0 => ReferenceKind::FirstN(r),
                    1 => ReferenceKind::Rolling(r),
                    2 => ReferenceKind::TimeRange {
                        start: 5,
                        end: 5 + r as i64,
                    },
                    // Seasonal references need time windows.
                    4 if time => ReferenceKind::Seasonal {
                        period_ms: (w + r) as i64,
                    },
                    _ => ReferenceKind::Preloaded,
                },
            }
        })
    }

    proptest! {
        /// The log (entries added, minus entries died, at any number of
        /// checkpoints, with dead entries kept in the log as a store
        /// keeping whole segments would) rebuilds the very windows.
        #[test]
        fn rebuild_from_the_journal_equals_the_windows(
            steps in proptest::collection::vec((0i64..8, 0u8..4), 1..300),
            plan in plans(),
            keep_dead in any::<bool>(),
            every in 1usize..50,
        ) {
            let mut w: Windows<f64> = Windows::default();
            w.start_journal();
            if plan.reference == ReferenceKind::Preloaded {
                w.preload([0.5, 1.5, 2.5], &mut ());
            }
            let mut log: Vec<(Tag, Entry<f64>)> = Vec::new();
            let mut dead: BTreeSet<u64> = BTreeSet::new();
            let mut time = 0i64;
            let mut max = i64::MIN;
            for (i, (jitter, v)) in steps.iter().enumerate() {
                time += 1;
                let t = time - jitter;
                max = max.max(t);
                let watermark = max - 2;
                let record = i as u64 + 1;
                w.push(Entry { record, time: t, value: f64::from(*v) * 10.0 + record as f64 }, watermark, &plan, &mut ());
                if i % 3 == 0 {
                    w.advance(watermark.div_euclid(3) * 3, &plan, &mut ());
                }
                if i % every == 0 || i + 1 == steps.len() {
                    let j = w.take_journal();
                    log.extend(j.added);
                    dead.extend(j.died);
                    let alive = log
                        .iter()
                        .filter(|(tag, e)| keep_dead || *tag == Tag::Reference || !dead.contains(&e.record))
                        .cloned();
                    let mut tally = Tally::default();
                    let rebuilt = Windows::rebuild(alive, w.window_end(), &plan, &mut tally);
                    prop_assert_eq!(&rebuilt, &w);
                    let mut expected = Tally::default();
                    w.replay(&mut expected);
                    prop_assert_eq!(tally, expected);
                    let mut live = rebuilt.live_window_records(&plan);
                    live.sort_unstable();
                    let mut want: Vec<u64> = log
                        .iter()
                        .filter(|(tag, e)| *tag == Tag::Window && !dead.contains(&e.record))
                        .map(|(_, e)| e.record)
                        .collect();
                    want.sort_unstable();
                    prop_assert_eq!(live, want);
                    // A seasonal reference is exactly the accepted values
                    // of the current window's span one period earlier.
                    if let (ReferenceKind::Seasonal { period_ms }, WindowKind::Time { size_ms, .. }, Some(end)) =
                        (plan.reference, plan.window, w.window_end())
                    {
                        let (lo, hi) = (end - size_ms - period_ms, end - period_ms);
                        let mut brute: Vec<u64> = log
                            .iter()
                            .filter(|(tag, e)| *tag == Tag::Window && e.time >= lo && e.time < hi)
                            .map(|(_, e)| e.record)
                            .collect();
                        brute.sort_unstable();
                        let mut got: Vec<u64> = w.reference().iter().map(|e| e.record).collect();
                        got.sort_unstable();
                        prop_assert_eq!(got, brute);
                        prop_assert!(w.history().iter().all(|e| e.time >= hi));
                    }
                }
            }
        }
    }
}
