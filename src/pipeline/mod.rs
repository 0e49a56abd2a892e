//! Pipeline: the only place that wires the stages together.
//!
//! ingest (decode or dead-letter) → state/detect → decide → heal → audit,
//! batched between one Kafka consumer and one producer, with the
//! at-least-once discipline: a batch's outputs are acknowledged, then its
//! state is checkpointed, then its offsets are committed. The
//! [`Processor`] routes each record to the stage operators (detection, the
//! label join, decisions, feedback; see [`crate::stage`]) and checkpoints
//! them; the runner is the Kafka loop around it.

mod checkpoint;
mod consume;
mod error;
pub mod health;
mod lessons;
mod mapping_check;
pub mod processor;
mod rebalance;
mod repartition;
mod runner;
mod sink;
#[cfg(test)]
mod test_support;

pub use crate::detect::join::expiry_index;
pub use crate::detect::reference;
pub use error::PipelineError;
pub use processor::{Output, Processor, SourcePos};
pub use runner::run;
pub use sink::{Encoded, Sink};
