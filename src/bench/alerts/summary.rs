//! The result of one setting on one stream, summed over its runs (seeds).
//!
//! Guarantees: rates are per 10,000 records processed (all runs together);
//! the rejecting share is over the evaluations where nothing changed
//! ([`Stream::is_null_evaluation`]), so it estimates the per-evaluation
//! false-rejection rate that `detect.ks-alpha` bounds; a false alarm is an
//! opening where nothing changed ([`Stream::is_false_alarm`]); a shift's
//! detection delay is the first opening on the shifted feature after the
//! shift, in records after the last unshifted one, and a run without one is
//! missed.

use serde::Serialize;
use statrs::distribution::{Beta, ContinuousCDF};

use super::setting::Setting;
use super::stream::{Family, Stream};
use super::synthetic::SHIFTED_FEATURE;
use super::tally::Tally;
use crate::config::Config;

/// Detection delays on a stream with a planted shift.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShiftResult {
    /// Shift size in standard deviations.
    pub sd: f64,
    /// The last unshifted record.
    pub after: u64,
    /// Runs whose shift was detected.
    pub detected: u64,
    /// Runs whose shift was not detected before the stream ended.
    pub missed: u64,
    /// Each run's delay in records (`null`: missed), in seed order.
    pub delays: Vec<Option<u64>>,
    /// Median delay of the detected runs.
    pub median_delay: Option<f64>,
    /// Largest delay of the detected runs.
    pub max_delay: Option<u64>,
}

/// One setting on one stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamResult {
    /// Setting name.
    pub setting: String,
    /// Stream name.
    pub stream: String,
    /// Stream kind.
    pub family: Family,
    /// Runs (seeds; 1 for a real series).
    pub runs: u64,
    /// Records processed, all runs.
    pub records: u64,
    /// The setting's `detect.reference-size` on this stream.
    pub reference_size: usize,
    /// Its `detect.window-size`.
    pub window_size: usize,
    /// Its `detect.evaluate-every`.
    pub evaluate_every: u64,
    /// Its `detect.ks-alpha`: the per-evaluation level across the model's
    /// features under the correction.
    pub ks_alpha: f64,
    /// Its `detect.correction`.
    pub correction: String,
    /// Evaluations, all runs.
    pub evaluations: u64,
    /// Evaluations where nothing changed.
    pub null_evaluations: u64,
    /// Of those, the ones where any feature's test rejected.
    pub rejecting_evaluations: u64,
    /// `rejecting_evaluations / null_evaluations` (`null`: none).
    pub rejecting_share: Option<f64>,
    /// Its exact (Clopper–Pearson) 95% interval, as if evaluations were
    /// independent (they are not quite: consecutive windows overlap and a
    /// first-n reference is shared), so a guide, not a test.
    pub rejecting_share_ci95: Option<[f64; 2]>,
    /// Share of the evaluations where nothing changed after which a
    /// covariate alert is open (`null`: none): how much of the time an
    /// operator sees a false alert.
    pub alert_open_share: Option<f64>,
    /// Covariate alerts opened, all runs.
    pub alerts_opened: u64,
    /// Per 10,000 records.
    pub alerts_per_10k: f64,
    /// Openings where nothing changed.
    pub false_alarms: u64,
    /// Per 10,000 records.
    pub false_alarms_per_10k: f64,
    /// Detection delays (streams with a planted shift).
    pub shift: Option<ShiftResult>,
}

fn per_10k(n: u64, records: u64) -> f64 {
    if records == 0 {
        0.0
    } else {
        n as f64 * 10_000.0 / records as f64
    }
}

fn median(sorted: &[u64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2] as f64),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0),
    }
}

/// The exact two-sided 95% interval of a binomial proportion `k / n`.
pub fn clopper_pearson(k: u64, n: u64) -> Option<[f64; 2]> {
    if n == 0 || k > n {
        return None;
    }
    let (k, n) = (k as f64, n as f64);
    let quantile = |p: f64, a: f64, b: f64| Beta::new(a, b).ok().map(|d| d.inverse_cdf(p));
    let low = if k == 0.0 {
        0.0
    } else {
        quantile(0.025, k, n - k + 1.0)?
    };
    let high = if k == n {
        1.0
    } else {
        quantile(0.975, k + 1.0, n - k)?
    };
    Some([low, high])
}

/// Sums the runs of `setting` (configured as `config`) on `stream`.
pub fn summarize(
    setting: &Setting,
    config: &Config,
    stream: &Stream,
    runs: &[Tally],
) -> StreamResult {
    let d = &config.detect;
    let records: u64 = runs.iter().map(|t| t.records).sum();
    let evaluations = runs.iter().map(|t| t.evaluations.len() as u64).sum();
    let null: Vec<_> = runs
        .iter()
        .flat_map(|t| &t.evaluations)
        .filter(|e| stream.is_null_evaluation(e.record))
        .collect();
    let rejecting = null.iter().filter(|e| e.rejected).count() as u64;
    let open = null.iter().filter(|e| e.alert_open).count();
    let openings = runs.iter().flat_map(|t| &t.openings);
    let alerts_opened = openings.clone().count() as u64;
    let false_alarms = openings
        .filter(|o| stream.is_false_alarm(&o.feature, o.record))
        .count() as u64;
    let shift = stream.shift().map(|s| {
        let delays: Vec<Option<u64>> = runs
            .iter()
            .map(|t| {
                t.openings
                    .iter()
                    .find(|o| o.feature == SHIFTED_FEATURE && o.record > s.after)
                    .map(|o| o.record - s.after)
            })
            .collect();
        let mut found: Vec<u64> = delays.iter().flatten().copied().collect();
        found.sort_unstable();
        ShiftResult {
            sd: s.sd,
            after: s.after,
            detected: found.len() as u64,
            missed: (delays.len() - found.len()) as u64,
            median_delay: median(&found),
            max_delay: found.last().copied(),
            delays,
        }
    });
    StreamResult {
        setting: setting.name.clone(),
        stream: stream.name.clone(),
        family: stream.family,
        runs: runs.len() as u64,
        records,
        reference_size: d.reference_size,
        window_size: d.window_size,
        evaluate_every: d.evaluate_every,
        ks_alpha: d.ks_alpha,
        correction: d.correction.as_str().to_string(),
        evaluations,
        null_evaluations: null.len() as u64,
        rejecting_evaluations: rejecting,
        rejecting_share: (!null.is_empty()).then(|| rejecting as f64 / null.len() as f64),
        rejecting_share_ci95: clopper_pearson(rejecting, null.len() as u64),
        alert_open_share: (!null.is_empty()).then(|| open as f64 / null.len() as f64),
        alerts_opened,
        alerts_per_10k: per_10k(alerts_opened, records),
        false_alarms,
        false_alarms_per_10k: per_10k(false_alarms, records),
        shift,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::alerts::stream::SyntheticPlan;
    use crate::bench::alerts::tally::{Opening, Tested};

    #[test]
    fn sums_runs_and_measures_delays() {
        let plan = SyntheticPlan {
            records: 10_000,
            years: 1,
            shifts: vec![1.0],
        };
        let streams = plan.streams();
        let shifted = &streams[3];
        let setting = Setting::new("default", "");
        let config = setting.config(shifted).unwrap_or_else(|e| panic!("{e}"));
        let open = |feature: &str, record| Opening {
            feature: feature.into(),
            record,
        };
        let tested = |record, rejected| Tested {
            record,
            rejected,
            alert_open: rejected,
        };
        let runs = vec![
            Tally {
                records: 10_000,
                evaluations: vec![tested(4_000, true), tested(5_250, true)],
                openings: vec![open("n1", 4_500), open("n0", 5_400), open("n0", 6_000)],
            },
            Tally {
                records: 10_000,
                evaluations: vec![tested(4_000, false), tested(4_250, false)],
                openings: vec![],
            },
            Tally {
                records: 10_000,
                evaluations: vec![],
                openings: vec![open("n0", 5_100)],
            },
        ];
        let r = summarize(&setting, &config, shifted, &runs);
        assert_eq!((r.runs, r.records, r.evaluations), (3, 30_000, 4));
        assert_eq!((r.null_evaluations, r.rejecting_evaluations), (3, 1));
        assert_eq!(r.rejecting_share, Some(1.0 / 3.0));
        assert_eq!(r.rejecting_share_ci95, clopper_pearson(1, 3));
        assert_eq!(r.alert_open_share, Some(1.0 / 3.0));
        assert_eq!((r.alerts_opened, r.false_alarms), (4, 1));
        assert!((r.alerts_per_10k - 4.0 / 3.0).abs() < 1e-12);
        let s = r.shift.unwrap_or_else(|| panic!("a shift stream"));
        assert_eq!(s.delays, vec![Some(400), None, Some(100)]);
        assert_eq!((s.detected, s.missed, s.max_delay), (2, 1, Some(400)));
        assert_eq!(s.median_delay, Some(250.0));
        assert_eq!(r.ks_alpha, config.detect.ks_alpha);
        let stationary = summarize(&setting, &config, &streams[0], &runs);
        assert!(stationary.shift.is_none());
        assert_eq!(stationary.false_alarms, 4);
    }

    #[test]
    fn clopper_pearson_matches_scipy() {
        // scipy.stats.binomtest(k, n).proportion_ci(method="exact")
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        let [lo, hi] = clopper_pearson(0, 1000).unwrap_or_default();
        assert!(lo == 0.0 && close(hi, 0.003682083896639526), "{hi}");
        let [lo, hi] = clopper_pearson(3, 20).unwrap_or_default();
        assert!(close(lo, 0.03207093718554477), "{lo}");
        assert!(close(hi, 0.37892682654529564), "{hi}");
        assert_eq!(clopper_pearson(5, 5).map(|c| c[1]), Some(1.0));
        assert_eq!(clopper_pearson(0, 0), None);
    }
}
