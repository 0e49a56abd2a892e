//! Checkpoints of the processor: every state change of the commit interval,
//! as store writes plus the input offsets they reflect.
//!
//! Guarantees: a checkpoint holds each changed model's bookkeeping (binary),
//! each changed window's new entries as one segment and the deletes of its
//! segments left without a live entry (never a whole window), and the label
//! join's and decisions' writes; committing it writes all of that in one
//! RocksDB batch and only then marks the offsets applied. Taking a
//! checkpoint drains the windows' journals: a checkpoint taken must be
//! written, or the processor dropped (the pipeline stops on any failure in
//! between, and restarts from the store).

use super::processor::Processor;
use crate::state::segments::{CATEGORICAL, NUMERIC};
use crate::state::{Checkpoint, StateError, MODELS};

impl Processor {
    /// Takes the state changes since the last checkpoint, with the input
    /// offsets they reflect; write them, then call
    /// [`Processor::commit_checkpoint`].
    pub fn take_checkpoint(&mut self) -> Result<Checkpoint, StateError> {
        for (model, state) in &mut self.models {
            let partition = self.model_partition.get(model).copied().unwrap_or(0);
            if state.dirty {
                MODELS.put(
                    &mut self.overlay,
                    model.as_bytes().to_vec(),
                    Some(&state.meta),
                    partition,
                )?;
                state.dirty = false;
            }
            for feature in std::mem::take(&mut state.dirty_windows) {
                if let Some(w) = state.windows.get_mut(&feature) {
                    let journal = w.take_journal();
                    let end = w.windows().window_end();
                    let log = state.logs.entry((NUMERIC, feature.clone())).or_default();
                    log.flush(
                        &mut self.overlay,
                        partition,
                        model,
                        NUMERIC,
                        &feature,
                        journal,
                        end,
                    );
                }
            }
            for feature in std::mem::take(&mut state.dirty_categorical) {
                if let Some(w) = state.categorical.get_mut(&feature) {
                    let journal = w.take_journal();
                    let end = w.windows().window_end();
                    let log = state
                        .logs
                        .entry((CATEGORICAL, feature.clone()))
                        .or_default();
                    log.flush(
                        &mut self.overlay,
                        partition,
                        model,
                        CATEGORICAL,
                        &feature,
                        journal,
                        end,
                    );
                }
            }
        }
        Ok(Checkpoint {
            writes: self.overlay.take(),
            offsets: self
                .pending_offsets
                .iter()
                .map(|((t, p), next)| (t.clone(), *p, *next))
                .collect(),
        })
    }

    /// Writes every state change since the last checkpoint, with the input
    /// offsets it reflects, in one atomic batch.
    pub fn checkpoint(&mut self) -> Result<(), StateError> {
        let cp = self.take_checkpoint()?;
        self.store.write(&cp)?;
        self.commit_checkpoint(&cp);
        Ok(())
    }

    /// Marks `cp` (from [`Processor::take_checkpoint`], now written)
    /// applied: its offsets are what the store reflects.
    pub fn commit_checkpoint(&mut self, cp: &Checkpoint) {
        for (topic, partition, next) in &cp.offsets {
            let key = (topic.clone(), *partition);
            if self.pending_offsets.get(&key) == Some(next) {
                self.pending_offsets.remove(&key);
            }
            self.applied.insert(key, *next);
        }
    }
}
