//! The statistical tests behind drift events and decision evidence.
//!
//! Guarantees: each test travels as the name it had as a string (`ks`,
//! `chi2`, `zscore`, `accuracy-drop`) in drift events, audit records and
//! the state store.

use super::wire_enum::wire_enum;

wire_enum! {
    /// Which test produced a result (`DriftEvent::test`,
    /// `FeatureEvidence::test`).
    pub enum TestKind {
        /// Two-sample Kolmogorov–Smirnov test of a numeric feature.
        Ks = "ks",
        /// Chi-square test of homogeneity of a categorical feature.
        Chi2 = "chi2",
        /// Z-score of a windowed metric against its baseline (anomaly).
        ZScore = "zscore",
        /// Drop of the joined accuracy against its baseline (concept drift).
        AccuracyDrop = "accuracy-drop",
    }
}
