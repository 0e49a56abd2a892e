//! State: the RocksDB store behind every model's windows and decision state.
//!
//! The store is local to an instance and lives under `state.data-dir`.
//! Writes happen only at checkpoints, in one atomic batch that also records
//! the input offsets the state reflects.

mod model;
mod store;

pub use model::{Alert, EventClock, LabelCounts, ModelMeta, SignalSnapshot};
pub use store::{
    decision_key, encode_meta, offset_key, reference_key, window_key, Cf, Checkpoint, KeyValues,
    Restored, StateError, Store, Write,
};
