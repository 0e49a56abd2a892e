//! Detect: statistical tests over a model's feature windows.
//!
//! Pure, synchronous code over plain data: no Kafka, no tokio, no clock.
//! The pipeline feeds values in and reads [`FeatureTest`] results out.

pub mod drift;
mod feature;
pub mod ks;
pub mod window;

pub use drift::{DriftDetector, FeatureTest};
pub use feature::FeatureState;
pub use window::{FeatureWindow, WindowDecodeError, WindowEntry};
