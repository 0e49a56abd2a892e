//! A numeric feature's windows together with their incremental KS statistic.
//!
//! Guarantees: the statistic always describes exactly the values in the
//! feature's [`Windows`] (reference against current window): both are
//! updated by the same call, and [`FeatureState::rebuild`] rebuilds both
//! from the stored entries (after a restart or a rebalance) in O(n log n).
//! A push or an eviction costs a binary search and a move of at most one
//! block of sorted keys; reading D is one O(n) merge (see
//! [`IncrementalKs`]).
//!
//! A threshold learned from the reference ([`super::null`]) is computed
//! once per reference state (the windows' reference version) and window
//! size: once for a reference that is fixed when complete (first N, time
//! range, file) and count windows, at most once per evaluation otherwise.
//! It lives in memory only: a rebuilt state learns it again from the same
//! reference (nothing new is stored).

use super::ks::{Comparison, IncrementalKs};
use super::null::{self, NullCache, NullPlan};
use super::window::{Journal, Placement, Side, Sides, Tag, WindowEntry, WindowPlan, Windows};

struct Ks<'a>(&'a mut IncrementalKs);

impl Sides<f64> for Ks<'_> {
    fn add(&mut self, side: Side, value: &f64) {
        match side {
            Side::Reference => self.0.insert_reference(*value),
            Side::Current => self.0.insert_current(*value),
        }
    }
    fn remove(&mut self, side: Side, value: &f64) {
        // Always present: every stored value was inserted on its side.
        let _ = match side {
            Side::Reference => self.0.remove_reference(*value),
            Side::Current => self.0.remove_current(*value),
        };
    }
}

/// Windows of one numeric (model, feature) and their KS statistic.
#[derive(Debug, Clone)]
pub struct FeatureState {
    windows: Windows<f64>,
    ks: IncrementalKs,
    /// The threshold learned from the reference.
    null: NullCache,
}

impl Default for FeatureState {
    fn default() -> Self {
        FeatureState {
            windows: Windows::default(),
            ks: IncrementalKs::new(),
            null: NullCache::default(),
        }
    }
}

impl FeatureState {
    /// Empty windows that journal their changes (for the state layer).
    pub fn journaled() -> Self {
        let mut s = FeatureState::default();
        s.windows.start_journal();
        s
    }

    /// Rebuilds windows and statistic from stored entries (see
    /// [`Windows::rebuild`]); journaling is on.
    pub fn rebuild(
        entries: impl IntoIterator<Item = (Tag, WindowEntry)>,
        window_end: Option<i64>,
        plan: &WindowPlan,
    ) -> Self {
        let mut ks = IncrementalKs::new();
        let windows = Windows::rebuild(entries, window_end, plan, &mut Ks(&mut ks));
        FeatureState {
            windows,
            ks,
            null: NullCache::default(),
        }
    }

    /// The changes since the last call.
    pub fn take_journal(&mut self) -> Journal<f64> {
        self.windows.take_journal()
    }

    /// Places a value (see [`Windows::push`]).
    pub fn push(&mut self, entry: WindowEntry, watermark: i64, plan: &WindowPlan) -> Placement {
        self.windows
            .push(entry, watermark, plan, &mut Ks(&mut self.ks))
    }

    /// Adds preloaded reference values.
    pub fn preload(&mut self, values: impl IntoIterator<Item = f64>) {
        self.windows.preload(values, &mut Ks(&mut self.ks));
    }

    /// Moves a time window's end (see [`Windows::advance`]).
    pub fn advance(&mut self, end: i64, plan: &WindowPlan) {
        self.windows.advance(end, plan, &mut Ks(&mut self.ks));
    }

    /// The stored windows.
    pub fn windows(&self) -> &Windows<f64> {
        &self.windows
    }

    /// Two-sided KS statistic D of the current window against the reference.
    pub fn statistic(&mut self) -> f64 {
        self.ks.statistic()
    }

    /// KS, Wasserstein distance and the reference's spread (one merge).
    pub fn compare(&self) -> Comparison {
        self.ks.compare()
    }

    /// The effect-size threshold learned from the reference for a window
    /// of the current window's size (see [`null`]); computed only when the
    /// reference or the window size changed since the last call.
    pub fn learned_threshold(&mut self, plan: NullPlan) -> Option<f64> {
        let window = self.windows.current().len();
        let key = (self.windows.reference_version(), window);
        let reference = self.windows.reference();
        self.null.get(key, || {
            let values: Vec<f64> = reference.iter().map(|e| e.value).collect();
            null::threshold(null::numeric_effects(&values, window, plan.chunks), plan)
        })
    }

    /// How many times a threshold was learned since this state was built.
    pub fn thresholds_learned(&self) -> u64 {
        self.null.computed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ks::{statistic_brute_force, Alternative};
    use crate::detect::window::{ReferenceKind, WindowKind};
    use proptest::prelude::*;

    fn plans() -> impl Strategy<Value = WindowPlan> {
        (1usize..40, 0usize..40, any::<bool>(), any::<bool>()).prop_map(|(w, r, rolling, time)| {
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
                reference: if rolling {
                    ReferenceKind::Rolling(r)
                } else {
                    ReferenceKind::FirstN(r)
                },
            }
        })
    }

    proptest! {
        #[test]
        fn statistic_matches_the_stored_windows(
            values in proptest::collection::vec(0u8..12, 1..300),
            plan in plans(),
            split in 0usize..300,
        ) {
            let mut s = FeatureState::journaled();
            let mut restored: Option<FeatureState> = None;
            let (mut log, mut dead) = (Vec::new(), std::collections::HashSet::new());
            for (i, v) in values.iter().enumerate() {
                let t = i as i64;
                let entry = WindowEntry { record: i as u64 + 1, time: t, value: f64::from(*v) };
                s.push(entry.clone(), t, &plan);
                s.advance(t.div_euclid(3) * 3, &plan);
                let journal = s.take_journal();
                log.extend(journal.added);
                dead.extend(journal.died);
                if let Some(r) = restored.as_mut() {
                    r.push(entry, t, &plan);
                    r.advance(t.div_euclid(3) * 3, &plan);
                }
                if i == split {
                    // Restored from the live entries, as the state layer does.
                    let live = log.iter().filter(|(_, e)| !dead.contains(&e.record)).cloned();
                    restored = Some(FeatureState::rebuild(live, s.windows().window_end(), &plan));
                }
                let w = s.windows();
                let reference: Vec<f64> = w.reference().iter().map(|e| e.value).collect();
                let current: Vec<f64> = w.current().iter().map(|e| e.value).collect();
                if !reference.is_empty() && !current.is_empty() {
                    let brute = statistic_brute_force(&reference, &current, Alternative::TwoSided);
                    prop_assert!((s.statistic() - brute).abs() < 1e-12);
                    if let Some(r) = restored.as_mut() {
                        prop_assert_eq!(r.windows(), s.windows());
                        prop_assert!((r.statistic() - brute).abs() < 1e-12);
                    }
                }
            }
        }
    }
}
