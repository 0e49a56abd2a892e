//! Pipeline: the only place that wires the stages together.
//!
//! ingest (decode or dead-letter) → state/detect → decide → heal → audit,
//! batched between one Kafka consumer and one producer, with the
//! at-least-once discipline: a batch's outputs are acknowledged, then its
//! state is checkpointed, then its offsets are committed.

mod checkpoint;
mod consume;
mod decisions;
mod events;
mod feedback;
pub mod health;
mod labels;
pub mod processor;
mod rebalance;
pub mod reference;
mod runner;
mod sink;
#[cfg(test)]
mod test_support;

pub use labels::expiry_index;
pub use processor::{Output, Processor, SourcePos};
pub use runner::{run, PipelineError};
pub use sink::{Encoded, Sink};
