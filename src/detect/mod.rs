//! Detect: statistical tests over a model's feature windows: two-sample KS
//! for numeric features, chi-square homogeneity for categorical ones, with a
//! Bonferroni correction across all features tested together.
//!
//! Pure, synchronous code over plain data: no Kafka, no tokio, no clock.
//! The pipeline feeds values in and reads [`FeatureTest`] results out.

pub mod categorical;
pub mod chisq;
pub mod drift;
mod feature;
pub mod ks;
pub mod window;

pub use categorical::{CategoricalWindow, CategoryEntry};
pub use drift::{DriftDetector, FeatureTest};
pub use feature::FeatureState;
pub use window::{FeatureWindow, WindowDecodeError, WindowEntry};
