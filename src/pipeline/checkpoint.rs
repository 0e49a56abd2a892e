//! Checkpoints of the processor: every operator's state changes of the
//! commit interval, as store writes plus the input offsets they reflect.
//!
//! Guarantees: a checkpoint holds each changed model's bookkeeping, what
//! each operator changed ([`crate::stage::Operator::on_checkpoint`]: new
//! window segments and the deletes of dead ones, the label join's and the
//! decisions' writes), each key once; committing it writes all of that in
//! one RocksDB batch and only then marks the offsets applied. Taking a
//! checkpoint drains the windows' journals: a checkpoint taken must be
//! written, or the processor dropped (the pipeline stops on any failure in
//! between, and restarts from the store).

use super::processor::Processor;
use crate::state::{Checkpoint, StateBatch, StateError};

impl Processor {
    /// Takes the state changes since the last checkpoint, with the input
    /// offsets they reflect; write them, then call
    /// [`Processor::commit_checkpoint`].
    pub fn take_checkpoint(&mut self) -> Result<Checkpoint, StateError> {
        let mut batch = StateBatch::default();
        let (models, operators) = self.operators();
        models.on_checkpoint(&mut batch)?;
        for op in operators {
            op.on_checkpoint(models, &mut batch)?;
        }
        Ok(Checkpoint {
            writes: batch.take(),
            offsets: self.pending_offsets(),
        })
    }

    /// Writes every state change since the last checkpoint, with the input
    /// offsets it reflects, in one atomic batch.
    pub fn checkpoint(&mut self) -> Result<(), StateError> {
        let cp = self.take_checkpoint()?;
        self.store().write(&cp)?;
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
