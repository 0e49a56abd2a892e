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
//! The detectors are pure, synchronous code over plain data: no Kafka, no
//! tokio, no clock. The stage's operators keep their state in the store's
//! tables, still synchronous and clock-free: [`operator`] (windows, metrics
//! and alerts per model, drift events) and [`join`] (the delayed-label join
//! behind concept drift); [`events`] builds the drift events. The pipeline
//! routes records to them.

pub mod accuracy;
pub mod anomaly;
pub mod categorical;
pub mod chisq;
pub mod drift;
pub mod effect;
pub(crate) mod events;
mod feature;
pub mod hysteresis;
pub mod join;
pub mod ks;
pub mod metrics;
mod model_windows;
pub mod multiple;
pub mod null;
pub mod operator;
pub mod reference;
pub mod window;

pub use categorical::CategoricalWindow;
pub use drift::{DriftDetector, Due, FeatureTest};
pub use feature::FeatureState;
pub use window::{
    CategoryEntry, Journal, Placement, ReferenceKind, Tag, WindowDecodeError, WindowEntry,
    WindowKind, WindowPlan, WindowValue, Windows,
};
