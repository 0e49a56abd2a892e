//! Tests of the HTML page: sections and charts for constructed data, escaping, and no external reference.

use super::*;
use crate::report::data::tests::{history, sample};
use crate::report::select::Selection;

fn page() -> String {
    let (events, audits) = sample();
    let mut data = ReportData::build(events, audits, None, 1_717_300_000_000);
    data.source = "topics <drift> and audit".into();
    render(&data)
}

#[test]
fn the_page_has_every_section_and_chart() {
    let html = page();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    for expected in [
        "<h2>Model churn</h2>",
        "<h2>Model fraud</h2>",
        "<h3>Drift</h3>",
        "<h3>Decisions over time</h3>",
        "<h3>Action mix</h3>",
        "<h3>Bandit confidence</h3>",
        "<h3>Outcomes</h3>",
        "<h2>Operator commands</h2>",
        "churn · tenure_days (covariate, ks): statistic",
        "churn · tenure_days (covariate, ks): p-value vs alpha",
        "churn · decisions over time",
        "churn · action mix",
        "churn · bandit confidence vs gate",
        "churn · outcomes (reward)",
        "fraud · amount (covariate, ks): p-value vs alpha",
        "alpha 1.0e-3",
        "gate 0.8",
        "class=\"decision-tick\"",
        "class=\"bar\"",
        "class=\"stem\"",
        "<polyline",
    ] {
        assert!(html.contains(expected), "missing `{expected}`");
    }
    // Per model: 2 drift charts per alert, then 4 more.
    // churn: 1 alert → 6 charts; fraud: 1 alert → 6 charts.
    assert_eq!(html.matches("<svg").count(), 12);
    assert_eq!(html.matches("</svg>").count(), 12);
    assert!(!html.contains("NaN"));
}

#[test]
fn text_is_escaped() {
    let html = page();
    assert!(
        html.contains("operator pause by &lt;alice&gt; &amp; bob"),
        "{html}"
    );
    assert!(html.contains("topics &lt;drift&gt; and audit"));
    assert!(!html.contains("<alice>"));
    assert!(!html.contains("<drift>"));
}

#[test]
fn nothing_is_fetched_from_anywhere() {
    let html = page();
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"));
    assert!(!html.contains("url("));
    // The only links are the page's own anchors.
    for (i, _) in html.match_indices("href=\"") {
        assert_eq!(html.get(i + 6..i + 7), Some("#"), "{}", &html[i..i + 20]);
    }
}

#[test]
fn an_empty_report_still_renders() {
    let html = render(&ReportData::default());
    assert!(html.contains("No drift event, evaluation or decision on the topics."));
    assert_eq!(html.matches("<svg").count(), 0);
}

/// The `data-t` times of the first element with `class` after `from`.
fn times_after(html: &str, from: usize, class: &str) -> Option<Vec<i64>> {
    let at = from + html[from..].find(&format!("class=\"{class}\""))?;
    let start = at + html[at..].find("data-t=\"")? + 8;
    let len = html[start..].find('"')?;
    html[start..start + len]
        .split(' ')
        .map(|t| t.parse().ok())
        .collect()
}

#[test]
fn the_history_is_drawn_from_its_first_evaluation_with_the_alert_shaded() {
    let (events, audits) = sample();
    let all = Selection::all();
    let data = ReportData::build_with(events, audits, history(&all), &all, 1_717_300_000_000);
    let html = render(&data);
    let chart = html
        .find("churn · tenure_days (covariate, ks): statistic")
        .unwrap_or(0);
    let drawn = times_after(&html, chart, "history").unwrap_or_default();
    let s = &data.models[0].series[0];
    let (first, last) = (s.history[0].time, s.history[79].time);
    assert_eq!(drawn, [first, last]);
    // The first point drawn predates the first alert's opening marker.
    let opened = s.events[0].time;
    assert!(first < opened);
    // The alert's open span runs from the evaluation that opened it to
    // the one that closed it.
    let span = times_after(&html, chart, "alert-open").unwrap_or_default();
    assert_eq!(span, [s.history[41].time, s.history[69].time]);
    // The p-value chart: the history and the constant threshold line.
    let p_chart = html
        .find("churn · tenure_days (covariate, ks): p-value vs alpha")
        .unwrap_or(0);
    assert_eq!(
        times_after(&html, p_chart, "history"),
        Some(vec![first, last])
    );
    assert!(html[p_chart..].contains("threshold 1.0e-3"));
    // The metric's chart exists, with its one evaluation.
    assert!(html.contains("fraud · score_mean (anomaly, zscore): statistic"));
    assert!(html.contains("81 evaluation records"));
    assert!(html.contains("80 evaluations"));
    assert!(!html.contains("NaN"));
}

#[test]
fn a_varying_threshold_is_a_dashed_history() {
    let mut h = crate::report::EvaluationHistory::default();
    let all = Selection::all();
    for minute in 1..=10 {
        let mut r = crate::report::history::tests::evaluation(
            "m",
            "f",
            1_717_200_000_000,
            minute,
            0.1,
            false,
            "none",
        );
        r.threshold = if minute < 5 { 0.001 } else { 0.002 };
        h.add(r, &all);
    }
    let data = ReportData::build_with(vec![], vec![], h, &all, 0);
    let html = render(&data);
    assert!(html.contains("class=\"history-threshold\""), "{html}");
    assert!(!html.contains("threshold 1.0e-3"));
}
