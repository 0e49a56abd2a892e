//! Tests of the HTML page: sections and charts for constructed data, escaping, and no external reference.

use super::*;
use crate::report::data::tests::sample;

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
    assert!(html.contains("No drift event and no decision on the topics."));
    assert_eq!(html.matches("<svg").count(), 0);
}
