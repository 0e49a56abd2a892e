//! Checkpoints of the processor: every state change since the last one,
//! as store writes plus the input offsets they reflect.
//!
//! Guarantees: a checkpoint holds each dirty model's bookkeeping, each
//! dirty feature's current window, its reference only when it changed since
//! it was last written, and the label join's pending writes; committing it
//! writes all of that in one RocksDB batch and only then marks the state
//! clean and the offsets applied.

use super::processor::Processor;
use crate::state::{encode_meta, reference_key, window_key, Cf, Checkpoint, StateError, Write};

impl Processor {
    /// The state changes since the last checkpoint, with the input offsets
    /// they reflect; [`Processor::checkpoint`] writes them.
    pub fn pending_checkpoint(&self) -> Checkpoint {
        let mut cp = Checkpoint::default();
        for (model, state) in &self.models {
            let partition = self.partition_of(model);
            let put = |cf, key: Vec<u8>, value: Vec<u8>| Write {
                cf,
                key,
                value: Some(value),
                partition,
            };
            if state.dirty {
                cp.writes.push(put(
                    Cf::Models,
                    model.as_bytes().to_vec(),
                    encode_meta(&state.meta),
                ));
            }
            let stale = |kind: char, feature: &String, changes: u64| {
                state
                    .references_written
                    .get(&(kind, feature.clone()))
                    .copied()
                    .unwrap_or(0)
                    != changes
            };
            for feature in &state.dirty_windows {
                if let Some(w) = state.windows.get(feature) {
                    let w = w.windows();
                    cp.writes.push(put(
                        Cf::Windows,
                        window_key(model, feature),
                        w.encode_current(),
                    ));
                    if stale('n', feature, w.reference_changes()) {
                        let key = reference_key(model, 'n', feature);
                        cp.writes
                            .push(put(Cf::References, key, w.encode_reference()));
                    }
                }
            }
            for feature in &state.dirty_categorical {
                if let Some(w) = state.categorical.get(feature) {
                    cp.writes.push(put(
                        Cf::Categories,
                        window_key(model, feature),
                        w.encode_current(),
                    ));
                    if stale('c', feature, w.windows().reference_changes()) {
                        let key = reference_key(model, 'c', feature);
                        cp.writes
                            .push(put(Cf::References, key, w.encode_reference()));
                    }
                }
            }
        }
        for ((cf, key), (value, partition)) in &self.overlay {
            cp.writes.push(Write {
                cf: *cf,
                key: key.clone(),
                value: value.clone(),
                partition: *partition,
            });
        }
        cp.offsets = self
            .pending_offsets
            .iter()
            .map(|((t, p), next)| (t.clone(), *p, *next))
            .collect();
        cp
    }

    /// Writes every state change since the last checkpoint, with the input
    /// offsets it reflects, in one atomic batch.
    pub fn checkpoint(&mut self) -> Result<(), StateError> {
        let cp = self.pending_checkpoint();
        self.commit_checkpoint(&cp)
    }

    /// Writes `cp` (from [`Processor::pending_checkpoint`], with nothing
    /// processed since) and marks everything clean.
    pub fn commit_checkpoint(&mut self, cp: &Checkpoint) -> Result<(), StateError> {
        self.store.write(cp)?;
        for state in self.models.values_mut() {
            state.dirty = false;
            for feature in std::mem::take(&mut state.dirty_windows) {
                if let Some(w) = state.windows.get(&feature) {
                    let changes = w.windows().reference_changes();
                    state.references_written.insert(('n', feature), changes);
                }
            }
            for feature in std::mem::take(&mut state.dirty_categorical) {
                if let Some(w) = state.categorical.get(&feature) {
                    let changes = w.windows().reference_changes();
                    state.references_written.insert(('c', feature), changes);
                }
            }
        }
        self.overlay.clear();
        for (key, next) in std::mem::take(&mut self.pending_offsets) {
            self.applied.insert(key, next);
        }
        Ok(())
    }
}
