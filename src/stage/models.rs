//! The models' shared bookkeeping: every stage reads and updates a model's
//! [`ModelMeta`] (event clock, alerts, label counters, audit chain, command
//! times), cached here between checkpoints.
//!
//! Guarantees: a model is loaded from the `models` table once and then
//! served from memory; a changed model (marked dirty by the stage that
//! changed it) is written once per checkpoint, under the input partition it
//! was last read from, and never otherwise; dropping a partition drops its
//! models, which are then reloaded from the store.

use std::collections::HashMap;
use std::sync::Arc;

use crate::state::{ModelMeta, StateBatch, StateError, Store, MODELS};

/// A cached model's bookkeeping.
#[derive(Debug, Default)]
pub struct ModelEntry {
    /// The bookkeeping.
    pub meta: ModelMeta,
    /// Changed since the last checkpoint.
    pub dirty: bool,
}

/// The models' bookkeeping, cached, with the input partition of each.
#[derive(Debug)]
pub struct Models {
    store: Arc<Store>,
    entries: HashMap<String, ModelEntry>,
    /// Input partition each cached model was last read from.
    partitions: HashMap<String, i32>,
}

impl Models {
    /// An empty cache over `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Models {
            store,
            entries: HashMap::new(),
            partitions: HashMap::new(),
        }
    }

    /// The local store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The local store, shared.
    pub fn shared_store(&self) -> Arc<Store> {
        self.store.clone()
    }

    /// Remembers the input partition of a model (where its state's
    /// changelog records go).
    pub fn track(&mut self, model_id: &str, partition: i32) {
        if self.partitions.get(model_id) != Some(&partition) {
            self.partitions.insert(model_id.to_string(), partition);
        }
    }

    /// The partition of a model (0 if never tracked).
    pub fn partition_of(&self, model_id: &str) -> i32 {
        self.partitions.get(model_id).copied().unwrap_or(0)
    }

    /// A model, loaded from the store on first use (not marked dirty).
    pub fn load(&mut self, model_id: &str) -> Result<&mut ModelEntry, StateError> {
        if !self.entries.contains_key(model_id) {
            let meta = MODELS
                .get(&StateBatch::default(), &self.store, model_id.as_bytes())?
                .unwrap_or_default();
            self.entries
                .insert(model_id.to_string(), ModelEntry { meta, dirty: false });
        }
        self.entries
            .get_mut(model_id)
            .ok_or_else(|| StateError::Corrupt {
                key: format!("models/{model_id}"),
                reason: "not cached after loading".into(),
            })
    }

    /// A cached model, if it is cached.
    pub fn get(&self, model_id: &str) -> Option<&ModelEntry> {
        self.entries.get(model_id)
    }

    /// A cached model, if it is cached, to change.
    pub fn get_mut(&mut self, model_id: &str) -> Option<&mut ModelEntry> {
        self.entries.get_mut(model_id)
    }

    /// Number of cached models.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No model cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops every model last read from `partition` and returns their ids.
    pub fn forget_partition(&mut self, partition: i32) -> Vec<String> {
        let gone: Vec<String> = self
            .partitions
            .iter()
            .filter(|(_, p)| **p == partition)
            .map(|(m, _)| m.clone())
            .collect();
        for model in &gone {
            self.entries.remove(model);
            self.partitions.remove(model);
        }
        gone
    }

    /// Writes every changed model's bookkeeping into `batch`.
    pub fn on_checkpoint(&mut self, batch: &mut StateBatch) -> Result<(), StateError> {
        for (model, entry) in &mut self.entries {
            if entry.dirty {
                let partition = self.partitions.get(model).copied().unwrap_or(0);
                MODELS.put(
                    batch,
                    model.as_bytes().to_vec(),
                    Some(&entry.meta),
                    partition,
                )?;
                entry.dirty = false;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_changed_models_once_and_reloads_forgotten_ones(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut models = Models::new(Arc::new(Store::open(dir.path(), false)?));
        models.track("a", 3);
        models.track("b", 4);
        models.load("a")?.meta.records_seen = 7;
        models.load("a")?.dirty = true;
        models.load("b")?.meta.records_seen = 9;
        let mut batch = StateBatch::default();
        models.on_checkpoint(&mut batch)?;
        let writes = batch.take();
        assert_eq!(writes.len(), 1, "only the dirty model is written");
        assert_eq!(writes[0].key, b"a".to_vec());
        assert_eq!(writes[0].partition, 3);
        models.on_checkpoint(&mut batch)?;
        assert!(batch.is_empty(), "written once");
        models.store().write(&crate::state::Checkpoint {
            writes,
            offsets: Vec::new(),
        })?;
        assert_eq!(models.forget_partition(3), vec!["a".to_string()]);
        assert_eq!(models.len(), 1);
        assert_eq!(models.partition_of("a"), 0);
        assert_eq!(models.load("a")?.meta.records_seen, 7, "reloaded");
        assert_eq!(models.get("b").map(|e| e.meta.records_seen), Some(9));
        Ok(())
    }
}
