//! Two-sample Kolmogorov–Smirnov test with SciPy-exact statistics and
//! p-values (`ks_2samp`), checked against a golden file generated with SciPy
//! (`tests/ks_golden.rs`) and against a brute-force statistic (`tests/ks_props.rs`).

mod two_sample;

pub use two_sample::{ks_2samp, p_value, statistic_brute_force, Alternative, KsResult, Method};
