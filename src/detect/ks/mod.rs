//! Two-sample Kolmogorov–Smirnov test with SciPy-exact statistics and
//! p-values (`ks_2samp`), checked against a golden file generated with SciPy
//! (`tests/it/ks_golden.rs`) and against a brute-force statistic (`tests/it/ks_props.rs`);
//! and an incremental statistic for sliding windows (`incremental`, sorted
//! blocks of keys in `sorted`: O(log n) search and one block move per
//! slide, one merge per read; checked against brute force in
//! `tests/it/ks_incremental.rs`).

pub mod incremental;
mod sorted;
mod two_sample;

pub use incremental::{Comparison, IncrementalKs, KsExact, SlidingKs};
pub use two_sample::{ks_2samp, p_value, statistic_brute_force, Alternative, KsResult, Method};
