//! A feature's stored windows together with their incremental KS statistic.
//!
//! Guarantees: the statistic always describes exactly the values in
//! [`FeatureWindow`] (reference against current window): both are updated
//! by the same [`FeatureState::push`], and [`FeatureState::from_window`]
//! rebuilds the statistic from stored windows (after a restart or a
//! rebalance) in O(n log n). Once the current window is full, a push costs
//! O(log n) and reading D costs O(1).

use super::ks::SlidingKs;
use super::window::{FeatureWindow, WindowEntry};

/// Fixed treap seed: the structure's shape never changes results, only speed.
const TREAP_SEED: u64 = 0x6a69_646f_6b61;

/// Windows of one (model, feature) and their KS statistic.
#[derive(Debug, Clone)]
pub struct FeatureState {
    window: FeatureWindow,
    ks: SlidingKs,
}

impl FeatureState {
    /// Empty windows with a current window of `window_size` values.
    pub fn new(window_size: usize) -> Self {
        FeatureState {
            window: FeatureWindow::default(),
            ks: SlidingKs::new(window_size, TREAP_SEED),
        }
    }

    /// Rebuilds the statistic from stored windows.
    pub fn from_window(window: FeatureWindow, window_size: usize) -> Self {
        let mut ks = SlidingKs::new(window_size, TREAP_SEED);
        for v in &window.reference {
            ks.insert_reference(*v);
        }
        for e in &window.current {
            ks.push(e.value);
        }
        FeatureState { window, ks }
    }

    /// Adds a value to the reference until it holds `reference_size` values,
    /// then to the sliding current window of `window_size` values.
    pub fn push(&mut self, entry: WindowEntry, reference_size: usize, window_size: usize) {
        if self.window.reference.len() < reference_size {
            self.ks.insert_reference(entry.value);
        } else {
            self.ks.push(entry.value);
        }
        self.window.push(entry, reference_size, window_size);
    }

    /// The stored windows.
    pub fn window(&self) -> &FeatureWindow {
        &self.window
    }

    /// Two-sided KS statistic D of the current window against the reference.
    pub fn statistic(&self) -> f64 {
        self.ks.statistic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ks::{statistic_brute_force, Alternative};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn statistic_matches_the_stored_windows(
            values in proptest::collection::vec(0u8..12, 1..300),
            reference in 1usize..40,
            window in 1usize..40,
            split in 0usize..300,
        ) {
            let mut s = FeatureState::new(window);
            let mut restored: Option<FeatureState> = None;
            for (i, v) in values.iter().enumerate() {
                let entry = WindowEntry { record: i as u64 + 1, time: i as i64, value: f64::from(*v) };
                s.push(entry, reference, window);
                if let Some(r) = restored.as_mut() {
                    r.push(entry, reference, window);
                }
                if i == split {
                    restored = Some(FeatureState::from_window(s.window().clone(), window));
                }
                let w = s.window();
                if !w.reference.is_empty() && !w.current.is_empty() {
                    let brute = statistic_brute_force(&w.reference, &w.current_values(), Alternative::TwoSided);
                    prop_assert!((s.statistic() - brute).abs() < 1e-12);
                    if let Some(r) = &restored {
                        prop_assert_eq!(r.window(), w);
                        prop_assert!((r.statistic() - brute).abs() < 1e-12);
                    }
                }
            }
        }
    }
}
