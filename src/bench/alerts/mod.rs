//! `jidoka bench alerts`: how often jidoka's covariate alerts open where
//! nothing changed, per detection setting, on stationary and seasonal
//! synthetic streams and on real seasonal series (from statsmodels), and
//! how fast they open after a planted shift.

pub mod error;
pub mod real;
pub mod report;
pub mod run;
pub mod setting;
pub mod stream;
pub mod summary;
pub mod synthetic;
pub mod tally;

pub use error::AlertsError;
pub use report::{to_json, to_table, AlertsReport};
pub use run::{run_alerts, AlertsOptions};
pub use setting::{Setting, SETTINGS};
pub use stream::SyntheticPlan;
