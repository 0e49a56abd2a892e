//! Detect: statistical tests over a model's data.
//!
//! - Covariate drift: two-sample KS (numeric features, incremental, SciPy-
//!   exact p-values) and chi-square (categorical features) of a current
//!   window against a reference, by count or event time ([`window`]), with a
//!   Benjamini–Hochberg or Bonferroni correction across features
//!   ([`multiple`]).
//! - Anomalies: Z-scores of windowed model metrics against a Welford or
//!   EWMA baseline ([`metrics`], [`anomaly`]).
//! - Concept drift: accuracy of joined predictions against a baseline
//!   ([`accuracy`]).
//! - Alerts open and close with hysteresis ([`hysteresis`]).
//!
//! Pure, synchronous code over plain data: no Kafka, no tokio, no clock.
//! The pipeline feeds values in and reads results out.

pub mod accuracy;
pub mod anomaly;
pub mod categorical;
pub mod chisq;
pub mod drift;
mod feature;
pub mod hysteresis;
pub mod ks;
pub mod metrics;
pub mod multiple;
pub mod window;

pub use categorical::CategoricalWindow;
pub use drift::{DriftDetector, Due, FeatureTest};
pub use feature::FeatureState;
pub use window::{
    CategoryEntry, Journal, Placement, ReferenceKind, Tag, WindowDecodeError, WindowEntry,
    WindowKind, WindowPlan, WindowValue, Windows,
};
