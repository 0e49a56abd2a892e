//! A model's feature windows in the detection operator's memory: what
//! changed since the last checkpoint, how a prediction's values enter them,
//! and how they are rebuilt from the store.
//!
//! Guarantees: a model's windows are loaded from the store once, on its
//! first prediction, rebuilt from their stored entries with their segment
//! logs; every window a value enters is marked dirty, so the checkpoint
//! writes only those; a category beyond the feature's `max-categories`
//! enters as `"other"` and is counted; a value that lands before the
//! reference is reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::reference::ReferenceData;
use super::{CategoricalWindow, CategoryEntry, FeatureState, Placement, WindowEntry, WindowPlan};
use crate::config::FeatureRoute;
use crate::state::segments::{self, SegmentLog, CATEGORICAL, NUMERIC};
use crate::state::{StateError, Store};

/// A model's feature windows, with what changed since the last checkpoint.
#[derive(Debug, Default)]
pub(super) struct ModelWindows {
    pub(super) numeric: BTreeMap<String, FeatureState>,
    pub(super) dirty_numeric: BTreeSet<String>,
    pub(super) categorical: BTreeMap<String, CategoricalWindow>,
    pub(super) dirty_categorical: BTreeSet<String>,
    /// Stored segments per (kind, feature).
    pub(super) logs: HashMap<(u8, String), SegmentLog>,
    /// How each feature arriving as a number is tested (cached routes).
    pub(super) numeric_routes: HashMap<String, FeatureRoute>,
    /// How each feature arriving as a category is tested.
    pub(super) categorical_routes: HashMap<String, FeatureRoute>,
}

/// One prediction's values entering its model's windows.
pub(super) struct Intake<'a> {
    pub(super) windows: &'a mut ModelWindows,
    pub(super) reference: Option<&'a Arc<ReferenceData>>,
    pub(super) plan: &'a WindowPlan,
    pub(super) record: u64,
    pub(super) time: i64,
    pub(super) watermark: i64,
    pub(super) max_categories: usize,
    /// Values sent to the `"other"` category.
    pub(super) capped: u64,
    /// A value landed before the reference.
    pub(super) before_reference: bool,
}

impl Intake<'_> {
    /// A numeric value enters its feature's windows (created, with the
    /// preloaded reference, on the feature's first value).
    pub(super) fn numeric(&mut self, feature: &str, value: f64) {
        let entry = WindowEntry {
            record: self.record,
            time: self.time,
            value,
        };
        let windows = &mut *self.windows;
        let window = match windows.numeric.get_mut(feature) {
            Some(w) => w,
            None => {
                let mut w = FeatureState::journaled();
                if let Some(values) = self.reference.and_then(|r| r.numeric(feature)) {
                    w.preload(values.iter().copied());
                }
                windows.numeric.entry(feature.to_string()).or_insert(w)
            }
        };
        self.before_reference |=
            window.push(entry, self.watermark, self.plan) == Placement::BeforeReference;
        if !windows.dirty_numeric.contains(feature) {
            windows.dirty_numeric.insert(feature.to_string());
        }
    }

    /// A category enters its feature's windows, as `"other"` beyond the
    /// feature's `max-categories`.
    pub(super) fn categorical(&mut self, feature: &str, value: &str) {
        let max = self.max_categories;
        let windows = &mut *self.windows;
        let window = match windows.categorical.get_mut(feature) {
            Some(w) => w,
            None => {
                let mut w = CategoricalWindow::journaled();
                if let Some(values) = self.reference.and_then(|r| r.categorical(feature)) {
                    for v in values {
                        let entered = w.capped(v, max).to_string();
                        w.preload(std::iter::once(entered));
                    }
                }
                windows.categorical.entry(feature.to_string()).or_insert(w)
            }
        };
        let entered = window.capped(value, max);
        if entered != value {
            self.capped = self.capped.saturating_add(1);
        }
        let entry = CategoryEntry {
            record: self.record,
            time: self.time,
            value: entered.to_string(),
        };
        self.before_reference |=
            window.push(entry, self.watermark, self.plan) == Placement::BeforeReference;
        if !windows.dirty_categorical.contains(feature) {
            windows.dirty_categorical.insert(feature.to_string());
        }
    }
}

/// A model's cached windows, loaded from the store on first use.
pub(super) fn windows_of<'a>(
    cache: &'a mut HashMap<String, ModelWindows>,
    store: &Store,
    plan: &WindowPlan,
    model_id: &str,
) -> Result<&'a mut ModelWindows, StateError> {
    if !cache.contains_key(model_id) {
        let loaded = load_windows(store, plan, model_id)?;
        cache.insert(model_id.to_string(), loaded);
    }
    cache.get_mut(model_id).ok_or_else(|| StateError::Corrupt {
        key: format!("windows/{model_id}"),
        reason: "not cached after loading".into(),
    })
}

/// A model's windows as stored, rebuilt from their entries.
pub(super) fn load_windows(
    store: &Store,
    plan: &WindowPlan,
    model_id: &str,
) -> Result<ModelWindows, StateError> {
    let stored = segments::load(store, model_id)?;
    let mut state = ModelWindows::default();
    let plan = *plan;
    for (feature, f) in stored.numeric {
        let w = FeatureState::rebuild(f.entries.iter().cloned(), f.window_end, &plan);
        let log = f.log(&w.windows().live_window_records(&plan));
        state.logs.insert((NUMERIC, feature.clone()), log);
        state.numeric.insert(feature, w);
    }
    for (feature, f) in stored.categorical {
        let w = CategoricalWindow::rebuild(f.entries.iter().cloned(), f.window_end, &plan);
        let log = f.log(&w.windows().live_window_records(&plan));
        state.logs.insert((CATEGORICAL, feature.clone()), log);
        state.categorical.insert(feature, w);
    }
    Ok(state)
}
