//! Tests of the SVG kit: scales, axes, paths and escaping.

use super::*;

#[test]
fn escaping_covers_markup_and_quotes() {
    assert_eq!(
        escape(r#"<a href="x">&'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
    );
}

#[test]
fn linear_scales_map_and_tick() {
    let s = Scale::linear((0.0, 1.0), (100.0, 0.0));
    assert_eq!(s.map(0.0), 100.0);
    assert_eq!(s.map(0.5), 50.0);
    assert_eq!(s.map(2.0), 0.0);
    let labels: Vec<String> = s.ticks(5).iter().map(|v| y_label_of(*v, false)).collect();
    assert_eq!(labels, ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
    let flat = Scale::linear((3.0, 3.0), (0.0, 10.0));
    assert_eq!(flat.map(3.0), 5.0);
    let bad = Scale::linear((f64::NAN, 1.0), (0.0, 10.0));
    assert!(bad.map(f64::NAN).is_finite());
}

#[test]
fn log_scales_cover_whole_decades_and_zero() {
    let s = Scale::log((2e-9, 0.5), (100.0, 0.0));
    assert_eq!(s.domain(), (1e-9, 1.0));
    assert_eq!(s.map(1.0), 0.0);
    assert_eq!(s.map(1e-9), 100.0);
    assert_eq!(s.map(0.0), 100.0);
    let ticks = s.ticks(5);
    assert!(ticks.len() <= 6 && ticks.contains(&1.0), "{ticks:?}");
}

#[test]
fn time_ticks_are_round_and_labelled() {
    let day = 1_717_200_000_000.0;
    let ticks = time_ticks((day, day + 3_600_000.0), 6);
    assert_eq!(ticks.first().map(|t| t.1.as_str()), Some("00:00"));
    assert!(ticks
        .iter()
        .all(|(t, _)| (*t as i64) % 600_000 == 0 || (*t as i64) % 900_000 == 0));
    let week = time_ticks((day, day + 7.0 * 86_400_000.0), 6);
    // Two-day steps from the epoch: the first falls on June 2nd.
    assert_eq!(week.first().map(|t| t.1.as_str()), Some("2024-06-02"));
    assert!(time_ticks((f64::NAN, 1.0), 5).is_empty());
}

#[test]
fn a_chart_is_one_escaped_svg_without_references() {
    let mut c = Chart::time(
        "p <value>",
        (400.0, 200.0),
        (0.0, 60_000.0),
        (1e-6, 1.0),
        true,
    )
    .y_label("p-value");
    c.line(
        &[
            (0.0, 0.5),
            (30_000.0, 1e-4),
            (f64::NAN, 1.0),
            (60_000.0, 0.0),
        ],
        "#123456",
        false,
    );
    c.threshold(1e-3, "#d00", "alpha & co");
    c.marker(30_000.0, 1e-4, "#123456", false, "closed \"x\"");
    c.tick(10_000.0, "#0a0", "decision <d1>");
    let svg = c.finish();
    assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
    assert_eq!(svg.matches("<svg").count(), 1);
    assert!(svg.contains("<title>p &lt;value&gt;</title>"));
    assert!(svg.contains("alpha &amp; co"));
    assert!(svg.contains("closed &quot;x&quot;"));
    assert!(svg.contains("<polyline"));
    assert!(svg.contains(r#"class="threshold""#));
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    assert!(!svg.contains("http") && !svg.contains("href") && !svg.contains("<script"));
    assert!(!svg.contains("no data"));
}

#[test]
fn an_empty_chart_says_so() {
    let svg = Chart::bands("mix", (300.0, 200.0), vec![], (0.0, 0.0)).finish();
    assert!(svg.contains("no data"), "{svg}");
}
