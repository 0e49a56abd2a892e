//! `jidoka bench alerts` on small synthetic streams (no Python): a large
//! planted shift is found within a window and an evaluation, a stationary
//! stream's rejecting evaluations stay within a binomial bound of the
//! configured level, the daily seasonal stream opens alerts without an
//! effect gate (issue 15's problem) and at least ten times fewer with the
//! shipped defaults (the learned gate) or a seasonal reference, and the
//! command's JSON report parses with its fields. Timings are never asserted.

use std::process::Command;
use std::sync::OnceLock;

use jidoka::bench::alerts::summary::StreamResult;
use jidoka::bench::alerts::{run_alerts, AlertsOptions, AlertsReport, Setting, SyntheticPlan};
use jidoka::config::Config;
use statrs::distribution::{Binomial, DiscreteCDF};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Runs per stream.
const SEEDS: u64 = 4;
/// The shift stream's shift, in standard deviations.
const LARGE_SHIFT: f64 = 3.0;
/// Chance, under independence, that the bound on rejections is exceeded.
const BOUND_TAIL: f64 = 1e-6;

/// The harness once for all tests: the shipped defaults, the defaults at a
/// level of 0.05 (a setting is a name and a TOML snippet), and the built-in
/// `no-gate` (the defaults before the effect gate) and `seasonal`.
fn report() -> &'static AlertsReport {
    static REPORT: OnceLock<AlertsReport> = OnceLock::new();
    REPORT.get_or_init(|| {
        let opts = AlertsOptions {
            settings: [
                vec![
                    Setting::new("default", ""),
                    Setting::new("alpha-0.05", "detect.ks-alpha = 0.05"),
                ],
                Setting::named(&["no-gate".into(), "seasonal".into()])
                    .unwrap_or_else(|e| panic!("{e}")),
            ]
            .concat(),
            seeds: SEEDS,
            base_seed: 7,
            plan: SyntheticPlan {
                records: 6_000,
                years: 10,
                shifts: vec![LARGE_SHIFT],
            },
            streams: vec!["synthetic".into()],
            data_dir: None,
            python: "/nonexistent/python3".into(),
            threads: 2,
        };
        run_alerts(&opts, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn result(setting: &str, stream: &str) -> &'static StreamResult {
    report()
        .results
        .iter()
        .find(|r| r.setting == setting && r.stream == stream)
        .unwrap_or_else(|| panic!("no result for {setting} on {stream}"))
}

/// The smallest `k` with P(Bin(n, p) ≥ k) ≤ `tail`.
fn binomial_bound(n: u64, p: f64, tail: f64) -> u64 {
    let b = Binomial::new(p, n).unwrap_or_else(|e| panic!("{e}"));
    (0..=n)
        .find(|&k| k == 0 || b.sf(k - 1) <= tail)
        .unwrap_or(n)
}

#[test]
fn a_large_shift_is_detected_within_one_window_and_one_evaluation() {
    let defaults = Config::defaults().unwrap_or_else(|e| panic!("{e}"));
    let d = &defaults.detect;
    let r = result("default", &format!("shift-{LARGE_SHIFT}"));
    let shift = r.shift.as_ref().unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(shift.after, 3_000);
    assert_eq!((shift.detected, shift.missed), (SEEDS, 0), "{shift:?}");
    let bound = d.window_size as u64 + d.evaluate_every;
    for delay in shift.delays.iter().flatten() {
        assert!(*delay <= bound, "delay {delay} > {bound}: {shift:?}");
        assert!(*delay > 0);
    }
}

#[test]
fn stationary_rejections_stay_within_a_binomial_bound_of_alpha() {
    for setting in ["default", "alpha-0.05"] {
        let r = result(setting, "stationary");
        assert_eq!(r.runs, SEEDS);
        assert!(r.null_evaluations > 0 && r.null_evaluations == r.evaluations);
        let bound = binomial_bound(r.null_evaluations, r.ks_alpha, BOUND_TAIL);
        assert!(
            r.rejecting_evaluations <= bound,
            "{setting}: {} of {} evaluations rejected at level {} (bound {bound})",
            r.rejecting_evaluations,
            r.null_evaluations,
            r.ks_alpha
        );
        assert_eq!(r.false_alarms, r.alerts_opened);
    }
    // The bound has teeth: eight uncorrected tests at 0.05 would reject in
    // 1 - 0.95^8 = 34% of the evaluations, far above it.
    let r = result("alpha-0.05", "stationary");
    let uncorrected = 1.0 - 0.95f64.powi(8);
    let bound = binomial_bound(r.null_evaluations, r.ks_alpha, BOUND_TAIL);
    assert!((bound as f64) < uncorrected * r.null_evaluations as f64 / 2.0);
}

#[test]
fn the_daily_seasonal_stream_opens_alerts_without_an_effect_gate() {
    // Issue 15: with nothing but a yearly cycle, the p-values reject far
    // more evaluations than their level allows, and without an effect gate
    // that opens alerts, every one of them a false alarm.
    let r = result("no-gate", "seasonal-daily");
    assert!(r.alerts_opened > 0, "{r:?}");
    assert_eq!(r.false_alarms, r.alerts_opened);
    let bound = binomial_bound(r.null_evaluations, r.ks_alpha, BOUND_TAIL);
    assert!(r.rejecting_evaluations > bound, "{r:?}");
    assert!(r.alerts_per_10k > 0.0);
    assert!(r.alert_open_share.is_some_and(|s| s > 0.0), "{r:?}");
}

#[test]
fn the_effect_gate_and_a_seasonal_reference_cut_the_seasonal_false_alarms() {
    let before = result("no-gate", "seasonal-daily");
    let gated = result("default", "seasonal-daily");
    // The same p-values: the gate only decides what counts toward an alert.
    assert_eq!(gated.rejecting_evaluations, before.rejecting_evaluations);
    // Issue 15's targets: ten times fewer with the gate alone, at most one
    // false alert per 10,000 records with a seasonal reference.
    assert!(
        gated.false_alarms * 10 <= before.false_alarms,
        "{gated:?} vs {before:?}"
    );
    let seasonal = result("seasonal", "seasonal-daily");
    assert!(seasonal.false_alarms_per_10k <= 1.0, "{seasonal:?}");
    // Neither gives up the large shift.
    for setting in ["default", "seasonal"] {
        let r = result(setting, &format!("shift-{LARGE_SHIFT}"));
        let shift = r.shift.as_ref().unwrap_or_else(|| panic!("{r:?}"));
        assert_eq!(
            (shift.detected, shift.missed),
            (SEEDS, 0),
            "{setting}: {shift:?}"
        );
    }
}

#[test]
fn every_setting_ran_every_synthetic_stream_on_the_same_records() {
    let names: Vec<&str> = report().streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["stationary", "seasonal-daily", "seasonal-hourly", "shift-3"]
    );
    assert_eq!(report().results.len(), 4 * names.len());
    for s in &report().streams {
        let a = result("default", &s.name);
        let b = result("alpha-0.05", &s.name);
        assert_eq!((a.records, a.runs), (b.records, b.runs));
        assert_eq!(a.records, s.records * SEEDS);
        // A looser level rejects at least as often on the same records.
        assert!(b.rejecting_evaluations >= a.rejecting_evaluations);
    }
}

#[test]
fn the_command_prints_a_json_report_with_its_fields() -> TestResult {
    let out = Command::new(env!("CARGO_BIN_EXE_jidoka"))
        .args(["bench", "alerts", "--json", "--streams", "stationary,shift"])
        .args(["--records", "3000", "--seeds", "1", "--shifts", "2"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", out.status);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let settings: Vec<&str> = report["settings"]
        .as_array()
        .ok_or("settings")?
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(settings, ["default", "rolling"]);
    assert_eq!(report["seeds"], 1);
    let results = report["results"].as_array().ok_or("results")?;
    assert_eq!(results.len(), 4);
    for r in results {
        for key in [
            "setting",
            "stream",
            "family",
            "runs",
            "records",
            "ks_alpha",
            "correction",
            "evaluations",
            "null_evaluations",
            "rejecting_evaluations",
            "rejecting_share",
            "rejecting_share_ci95",
            "alert_open_share",
            "alerts_opened",
            "alerts_per_10k",
            "false_alarms",
            "false_alarms_per_10k",
            "shift",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert_eq!(r["records"], 3_000);
    }
    let shifted = results
        .iter()
        .find(|r| r["stream"] == "shift-2")
        .ok_or("no shift-2")?;
    assert_eq!(shifted["shift"]["after"], 1_500);
    assert_eq!(shifted["shift"]["delays"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[test]
fn unknown_names_and_short_streams_are_usage_errors() -> TestResult {
    for args in [
        &["--streams", "co3"][..],
        &["--settings", "nope"][..],
        &["--streams", "shift", "--records", "2000"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_jidoka"))
            .args(["bench", "alerts"])
            .args(args)
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[1]), "{args:?}: {stderr}");
    }
    Ok(())
}
