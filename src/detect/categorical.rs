//! A categorical feature's windows with the category counts of each side.
//!
//! Guarantees: the reference and current counts always equal a recount of
//! the stored entries of each side (they are updated by the same call, and
//! rebuilt from the entries after decoding); categories seen on one side only
//! are kept with a zero on the other, which the chi-square test handles.
//! Like [`super::FeatureState`], it learns a threshold from the reference
//! once per reference state (the windows' reference version).

use std::collections::BTreeMap;

use super::null::{self, NullCache, NullPlan};
use super::window::{CategoryEntry, Journal, Placement, Side, Sides, Tag, WindowPlan, Windows};

/// The category of the values beyond a feature's `max-categories`.
pub const OTHER: &str = "other";

/// Category counts of the two sides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Counts of the reference sample.
    pub reference: BTreeMap<String, u64>,
    /// Counts of the current sample.
    pub current: BTreeMap<String, u64>,
}

impl Sides<String> for Counts {
    fn add(&mut self, side: Side, value: &String) {
        let map = match side {
            Side::Reference => &mut self.reference,
            Side::Current => &mut self.current,
        };
        match map.get_mut(value) {
            Some(c) => *c += 1,
            None => {
                map.insert(value.clone(), 1);
            }
        }
    }
    fn remove(&mut self, side: Side, value: &String) {
        let map = match side {
            Side::Reference => &mut self.reference,
            Side::Current => &mut self.current,
        };
        if let Some(c) = map.get_mut(value) {
            *c = c.saturating_sub(1);
            if *c == 0 {
                map.remove(value);
            }
        }
    }
}

/// Windows of one categorical (model, feature) and their counts.
#[derive(Debug, Clone, Default)]
pub struct CategoricalWindow {
    windows: Windows<String>,
    counts: Counts,
    /// The threshold learned from the reference.
    null: NullCache,
}

impl PartialEq for CategoricalWindow {
    /// Same windows and counts (the in-memory bookkeeping aside).
    fn eq(&self, other: &Self) -> bool {
        self.windows == other.windows && self.counts == other.counts
    }
}

impl CategoricalWindow {
    /// Empty windows that journal their changes (for the state layer).
    pub fn journaled() -> Self {
        let mut w = CategoricalWindow::default();
        w.windows.start_journal();
        w
    }

    /// Rebuilds windows and counts from stored entries (see
    /// [`Windows::rebuild`]); journaling is on.
    pub fn rebuild(
        entries: impl IntoIterator<Item = (Tag, CategoryEntry)>,
        window_end: Option<i64>,
        plan: &WindowPlan,
    ) -> Self {
        let mut counts = Counts::default();
        let windows = Windows::rebuild(entries, window_end, plan, &mut counts);
        CategoricalWindow {
            windows,
            counts,
            null: NullCache::default(),
        }
    }

    /// The changes since the last call.
    pub fn take_journal(&mut self) -> Journal<String> {
        self.windows.take_journal()
    }

    /// Places a value (see [`Windows::push`]).
    pub fn push(&mut self, entry: CategoryEntry, watermark: i64, plan: &WindowPlan) -> Placement {
        self.windows.push(entry, watermark, plan, &mut self.counts)
    }

    /// Adds preloaded reference values.
    pub fn preload(&mut self, values: impl IntoIterator<Item = String>) {
        self.windows.preload(values, &mut self.counts);
    }

    /// Moves a time window's end (see [`Windows::advance`]).
    pub fn advance(&mut self, end: i64, plan: &WindowPlan) {
        self.windows.advance(end, plan, &mut self.counts);
    }

    /// The stored windows.
    pub fn windows(&self) -> &Windows<String> {
        &self.windows
    }

    /// The category `value` enters as when a feature keeps at most `max`
    /// distinct categories (`0`: no cap): itself when its category is
    /// already in the reference or the current window or there is room
    /// for one more, else [`OTHER`] (the bucket is not counted among
    /// the `max`).
    pub fn capped<'v>(&self, value: &'v str, max: usize) -> &'v str {
        if max == 0 || value == OTHER {
            return value;
        }
        let c = &self.counts;
        if c.reference.contains_key(value) || c.current.contains_key(value) {
            return value;
        }
        let real = |k: &&String| k.as_str() != OTHER;
        let distinct = c.reference.keys().filter(real).count()
            + c.current
                .keys()
                .filter(real)
                .filter(|k| !c.reference.contains_key(*k))
                .count();
        if distinct < max {
            value
        } else {
            OTHER
        }
    }

    /// Category counts of both sides.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The effect-size threshold learned from the reference for a window
    /// of the current window's size (see [`null`]); computed only when the
    /// reference or the window size changed since the last call.
    pub fn learned_threshold(&mut self, plan: NullPlan) -> Option<f64> {
        let window = self.windows.current().len();
        let key = (self.windows.reference_version(), window);
        let reference = self.windows.reference();
        self.null.get(key, || {
            let values: Vec<&str> = reference.iter().map(|e| e.value.as_str()).collect();
            null::threshold(
                null::categorical_effects(&values, window, plan.chunks),
                plan,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::window::{ReferenceKind, WindowKind};
    use proptest::prelude::*;

    fn entry(i: u64, v: &str) -> CategoryEntry {
        CategoryEntry {
            record: i,
            time: i as i64,
            value: v.to_string(),
        }
    }

    fn plan(r: usize, c: usize) -> WindowPlan {
        WindowPlan {
            window: WindowKind::Count { size: c },
            reference: ReferenceKind::FirstN(r),
        }
    }

    #[test]
    fn cap_sends_new_categories_to_other_and_counts_them() {
        let mut w = CategoricalWindow::default();
        let p = plan(4, 4);
        let mut capped = 0;
        for (i, v) in ["a", "b", "a", "c", "b", "d", "a", "e"].iter().enumerate() {
            let entered = w.capped(v, 2);
            capped += usize::from(entered != *v);
            w.push(entry(i as u64 + 1, entered), 0, &p);
        }
        // a, b fill the cap; c, d and e go to "other", three values.
        assert_eq!(capped, 3);
        assert_eq!(
            w.counts().reference,
            BTreeMap::from([("a".into(), 2), ("b".into(), 1), (OTHER.into(), 1)])
        );
        assert_eq!(
            w.counts().current,
            BTreeMap::from([("a".into(), 1), ("b".into(), 1), (OTHER.into(), 2)])
        );
        // Known categories always enter as themselves; no cap, no bucket.
        assert_eq!(w.capped("a", 2), "a");
        assert_eq!(w.capped("z", 0), "z");
        assert_eq!(w.capped("z", 3), "z");
    }

    #[test]
    fn fills_reference_then_slides() {
        let mut w = CategoricalWindow::default();
        for (i, v) in ["a", "b", "a", "c", "c", "d"].iter().enumerate() {
            w.push(entry(i as u64 + 1, v), 0, &plan(3, 2));
        }
        assert_eq!(
            w.counts().reference,
            BTreeMap::from([("a".into(), 2), ("b".into(), 1)])
        );
        assert_eq!(
            w.counts().current,
            BTreeMap::from([("c".into(), 1), ("d".into(), 1)])
        );
        assert!(w.windows().is_ready(&plan(3, 2), 0));
    }

    proptest! {
        #[test]
        fn counts_match_entries_and_rebuild(values in proptest::collection::vec(0u8..5, 0..100), r in 0usize..10, c in 1usize..10, rolling in any::<bool>()) {
            let mut p = plan(r, c);
            if rolling {
                p.reference = ReferenceKind::Rolling(r);
            }
            let mut w = CategoricalWindow::journaled();
            let (mut log, mut dead) = (Vec::new(), std::collections::HashSet::new());
            for (i, v) in values.iter().enumerate() {
                w.push(entry(i as u64 + 1, &v.to_string()), 0, &p);
                let journal = w.take_journal();
                log.extend(journal.added);
                dead.extend(journal.died);
            }
            let recount = |side: &std::collections::VecDeque<CategoryEntry>| {
                let mut m: BTreeMap<String, u64> = BTreeMap::new();
                for e in side {
                    *m.entry(e.value.clone()).or_default() += 1;
                }
                m
            };
            prop_assert_eq!(&w.counts().current, &recount(w.windows().current()));
            prop_assert_eq!(&w.counts().reference, &recount(w.windows().reference()));
            // Restored from its live entries (as the state layer stores
            // them), the window counts the same.
            let live = log.into_iter().filter(|(_, e)| !dead.contains(&e.record));
            let rebuilt = CategoricalWindow::rebuild(live, w.windows().window_end(), &p);
            prop_assert_eq!(rebuilt.windows(), w.windows());
            prop_assert_eq!(rebuilt.counts(), w.counts());
        }
    }
}
