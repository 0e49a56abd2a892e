//! State: the RocksDB store behind every model's windows and decision
//! state, its changelog topics, and restore.
//!
//! The store is local to an instance and lives under `state.data-dir`.
//! Stages read and write through a [`StateBatch`] (the writes of one commit
//! interval) with typed [`Table`]s; at a checkpoint the batch becomes one
//! atomic RocksDB write plus one changelog record per key, with the input
//! offsets the state reflects. Windows are stored as entry segments
//! ([`segments`]), so what is written grows with the records processed, not
//! with the window size.

mod alert_key;
mod batch;
mod cf;
pub mod changelog;
mod model;
pub mod segments;
mod store;
mod table;
pub mod version;

pub use alert_key::AlertKey;
pub use batch::StateBatch;
pub use cf::Cf;
pub use changelog::{ChangelogRecord, RestoreError, Restored};
pub use model::{Alert, EventClock, LabelCounts, ModelMeta, SignalSnapshot};
pub use store::{
    decision_key, offset_key, window_key, Checkpoint, KeyValues, StateError, Store, Write,
};
pub use table::{Legacy, Table};
pub use version::Opened;

/// The models table: per-model bookkeeping, keyed by model id.
pub const MODELS: Table<ModelMeta> = Table::new(Cf::Models, "models", 1);
