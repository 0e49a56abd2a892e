//! The report draws history, through the broker: predictions of a model
//! whose `tenure` feature shifts by one standard deviation at record 3,000
//! run through the pipeline; `jidoka report`'s gather and write read the
//! drift-events, audit and evaluations topics back. The tenure series has
//! an evaluation at every `evaluate-every` records from the first one with
//! both windows full, its KS statistic stays below a bound derived from the
//! sample sizes (no alert open) while every window predates the shift and
//! rises well above it after, when the alert opens; in the rendered page,
//! the tenure chart's first plotted point is that first evaluation, before
//! the alert's opening. A `--from`/`--to` range narrows the history and
//! the axis to itself.

use crate::common::*;
use jidoka::demo::scenario::{FeatureSpec, ModelSpec, Scenario, Shift};
use jidoka::report::{write_report, ReportData, Selection, Transition};

const MODEL: &str = "churn-v9";
const SHIFT_AT: u64 = 3_000;
const RECORDS: u64 = 4_500;
const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const INTERVAL: i64 = 1_000;

fn scenario() -> Scenario {
    let feature = |name: &str, mean: f64, sd: f64, shift: Option<Shift>| FeatureSpec {
        name: name.into(),
        mean,
        sd,
        shift,
    };
    Scenario {
        models: vec![ModelSpec {
            model_id: MODEL.into(),
            features: vec![
                feature("monthly_spend", 70.0, 20.0, None),
                feature(
                    "tenure",
                    400.0,
                    120.0,
                    Some(Shift {
                        at_record: SHIFT_AT,
                        mean_delta_sd: 1.0,
                    }),
                ),
            ],
            records: RECORDS,
        }],
        seed: 11,
        start_time_ms: START,
        interval_ms: INTERVAL,
    }
}

/// Event time of the model's record `record` (1-based).
fn time_of(record: i64) -> i64 {
    START + (record - 1) * INTERVAL
}

/// The `data-t` times of the first element of `class` in `svg`.
fn times(svg: &str, class: &str) -> Result<Vec<i64>, BoxError> {
    let at = svg
        .find(&format!("class=\"{class}\""))
        .ok_or_else(|| format!("no `{class}` in the chart"))?;
    let start = at + svg[at..].find("data-t=\"").ok_or("no data-t")? + 8;
    let len = svg[start..].find('"').ok_or("unterminated data-t")?;
    Ok(svg[start..start + len]
        .split(' ')
        .map(str::parse)
        .collect::<Result<_, _>>()?)
}

/// The SVG of the chart titled `title`.
fn chart<'a>(html: &'a str, title: &str) -> Result<&'a str, BoxError> {
    let at = html
        .find(&format!("aria-label=\"{title}\""))
        .ok_or_else(|| format!("no chart `{title}`"))?;
    let start = html[..at].rfind("<svg").ok_or("no <svg")?;
    let len = html[start..].find("</svg>").ok_or("no </svg>")?;
    Ok(&html[start..start + len])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_drift_shows_in_the_tenure_history_from_the_first_full_window() -> TestResult {
    let env = TestEnv::start().await?;
    let cfg = env.cfg().clone();
    let d = &cfg.detect;
    let (reference, window, every) = (
        d.reference_size as i64,
        d.window_size as i64,
        d.evaluate_every as i64,
    );
    assert!(cfg.evaluations.enabled);
    env.run(&encode_predictions(&env.codec, &scenario().predictions())?)
        .await?;

    let out_dir = tempfile::tempdir()?;
    let out = out_dir.path().join("report.html");
    let (c, o) = (cfg.clone(), out.clone());
    let data: ReportData = tokio::task::spawn_blocking(move || {
        write_report(&c, &o, &Selection::all(), time_of(RECORDS as i64))
    })
    .await??;
    assert_eq!(data.undecodable, 0);
    let m = data
        .models
        .iter()
        .find(|m| m.model_id == MODEL)
        .ok_or("no model in the report")?;
    let tenure = m
        .series
        .iter()
        .find(|s| s.feature == "tenure" && s.kind == "covariate")
        .ok_or("no tenure series")?;
    let h = &tenure.history;

    // An evaluation every `every` records from the first with both the
    // reference and the window full, to the end of the stream.
    let first_full = ((reference + window) as u64).div_ceil(every as u64) as i64 * every;
    let records: Vec<i64> = h.iter().map(|p| p.record).collect();
    let expected: Vec<i64> = (first_full..=RECORDS as i64)
        .step_by(every as usize)
        .collect();
    assert_eq!(records, expected);
    assert_eq!(h[0].time, time_of(first_full));

    // Flat before the shift: every window predating record 3,000 has a KS
    // D below the bound a 1e-6 false alarm rate gives for these sample
    // sizes, c(α)·sqrt((n+m)/(n·m)) with c(α) = sqrt(-ln(α/2)/2), and no
    // alert is open.
    let (n, w) = (reference as f64, window as f64);
    let bound = (-(1e-6f64 / 2.0).ln() / 2.0).sqrt() * ((n + w) / (n * w)).sqrt();
    let before: Vec<_> = h.iter().filter(|p| p.record < SHIFT_AT as i64).collect();
    assert!(
        before.len() >= 10,
        "{} evaluations before the shift",
        before.len()
    );
    let max_before = before.iter().map(|p| p.statistic).fold(0.0, f64::max);
    assert!(
        max_before < bound,
        "D {max_before} before the shift, bound {bound}"
    );
    assert!(
        before
            .iter()
            .all(|p| !p.alert_open && p.transition == Transition::None),
        "an alert before the shift"
    );
    // Rising after: once the window holds only shifted values, D is far
    // above anything before, and the alert opened after record 3,000.
    let after: Vec<_> = h
        .iter()
        .filter(|p| p.record >= SHIFT_AT as i64 + window - 1)
        .collect();
    let max_after = after.iter().map(|p| p.statistic).fold(0.0, f64::max);
    assert!(
        max_after > bound && max_after > 2.0 * max_before,
        "D {max_after} after the shift, {max_before} before"
    );
    let opened = h
        .iter()
        .find(|p| p.transition == Transition::Opened)
        .ok_or("no alert opened")?;
    assert!(opened.record > SHIFT_AT as i64 && opened.alert_open);
    let event = tenure
        .events
        .iter()
        .find(|e| e.status == "opened")
        .ok_or("no drift event for the opening")?;
    assert_eq!(event.time, opened.time);

    // In the page: the tenure chart's first plotted point is the first
    // evaluation, before the alert's opening (its shaded span and marker).
    let html = std::fs::read_to_string(&out)?;
    let svg = chart(
        &html,
        &format!("{MODEL} · tenure (covariate, ks): statistic"),
    )?;
    let plotted = times(svg, "history")?;
    assert_eq!(plotted.first(), Some(&time_of(first_full)));
    let span = times(svg, "alert-open")?;
    assert_eq!(span.first(), Some(&opened.time));
    let marker = times(svg, "marker")?;
    assert_eq!(marker.first(), Some(&opened.time));
    assert!(plotted[0] < span[0]);
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));

    // A range: only the evaluations inside it, on an axis spanning it.
    let (from, to) = (time_of(2_000), time_of(3_500));
    let (c, o) = (cfg.clone(), out_dir.path().join("range.html"));
    let ranged = tokio::task::spawn_blocking(move || -> Result<ReportData, BoxError> {
        let selection = Selection::new(None, Some(from), Some(to))?;
        Ok(write_report(&c, &o, &selection, to)?)
    })
    .await??;
    let m = ranged
        .models
        .iter()
        .find(|m| m.model_id == MODEL)
        .ok_or("no model in the ranged report")?;
    assert_eq!(m.span, (from, to));
    let h = &m
        .series
        .iter()
        .find(|s| s.feature == "tenure")
        .ok_or("no tenure series in range")?
        .history;
    let records: Vec<i64> = h.iter().map(|p| p.record).collect();
    let expected: Vec<i64> = (2_000..=3_500).step_by(every as usize).collect();
    assert_eq!(records, expected);
    Ok(())
}
