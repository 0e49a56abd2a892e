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

/// The vertices of a path written by `Chart::history` (absolute `M`,
/// then `l`/`v` relative moves, or implicit absolute pairs).
fn path_vertices(d: &str) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut rest = d;
    while !rest.is_empty() {
        let cmd = rest.as_bytes()[0];
        let end = rest[1..]
            .find(['M', 'l', 'v', 'h'])
            .map_or(rest.len(), |i| i + 1);
        let args = &rest[1..end];
        rest = &rest[end..];
        let (x, y) = out.last().copied().unwrap_or((0.0, 0.0));
        match cmd {
            b'M' => {
                for pair in args.split(' ') {
                    let (a, b) = pair.split_once(',').unwrap_or(("nan", "nan"));
                    out.push((a.parse().unwrap_or(f64::NAN), b.parse().unwrap_or(f64::NAN)));
                }
            }
            b'l' => {
                let (a, b) = args.split_once(',').unwrap_or(("nan", "nan"));
                let (dx, dy): (f64, f64) =
                    (a.parse().unwrap_or(f64::NAN), b.parse().unwrap_or(f64::NAN));
                out.push((x + dx, y + dy));
            }
            b'v' => out.push((x, y + args.parse::<f64>().unwrap_or(f64::NAN))),
            b'h' => out.push((x + args.parse::<f64>().unwrap_or(f64::NAN), y)),
            _ => out.push((f64::NAN, f64::NAN)),
        }
    }
    out
}

fn attr<'a>(svg: &'a str, element: &str, name: &str) -> Option<&'a str> {
    let at = svg.find(element)?;
    let key = format!(" {name}=\"");
    let start = at + svg[at..].find(&key)? + key.len();
    let len = svg[start..].find('"')?;
    Some(&svg[start..start + len])
}

#[test]
fn a_short_history_passes_through_every_point() {
    let mut c = Chart::time("h", (400.0, 200.0), (0.0, 100.0), (0.0, 1.0), false);
    let points = [(10.0, 0.1), (20.0, f64::NAN), (50.0, 0.9), (90.0, 0.5)];
    c.history(points.iter().copied(), "#123", false, "history");
    let svg = c.finish();
    assert_eq!(attr(&svg, "class=\"history\"", "data-t"), Some("10 90"));
    let d = attr(&svg, "class=\"history\"", "d").unwrap_or("");
    let got = path_vertices(d);
    assert_eq!(got.len(), 3, "{d}");
    let y = Scale::linear((0.0, 1.0), (160.0, 30.0));
    let x = Scale::linear((0.0, 100.0), (64.0, 384.0));
    for ((gx, gy), (t, v)) in got.iter().zip([(10.0, 0.1), (50.0, 0.9), (90.0, 0.5)]) {
        assert!(
            (gx - x.map(t)).abs() < 0.06 && (gy - y.map(v)).abs() < 0.06,
            "{d}"
        );
    }
}

#[test]
fn a_long_history_is_an_envelope_of_at_most_two_vertices_per_column() {
    let mut c = Chart::time("h", (400.0, 200.0), (0.0, 1e6), (0.0, 1.0), false);
    let columns = c.columns();
    assert_eq!(columns, 320);
    let mut points: Vec<(f64, f64)> = (0..1_000_000)
        .map(|i| (i as f64, 0.2 + 0.05 * ((i % 7) as f64 / 7.0)))
        .collect();
    points[123_456].1 = 0.95;
    c.history(points.iter().copied(), "#123", false, "history");
    let svg = c.finish();
    assert_eq!(attr(&svg, "class=\"history\"", "data-t"), Some("0 999999"));
    let d = attr(&svg, "class=\"history\"", "d").unwrap_or("");
    let got = path_vertices(d);
    assert!(
        got.len() <= 2 * columns && got.len() >= columns,
        "{}",
        got.len()
    );
    assert!(got.iter().all(|(x, y)| x.is_finite() && y.is_finite()));
    // The spike is drawn: its pixel height, in its pixel column.
    let y = Scale::linear((0.0, 1.0), (160.0, 30.0));
    let x = Scale::linear((0.0, 1e6), (64.0, 384.0));
    let spike = got
        .iter()
        .find(|(_, gy)| (gy - y.map(0.95)).abs() <= 0.5)
        .copied();
    let Some((sx, _)) = spike else {
        panic!("the spike is not drawn: {d}");
    };
    assert!((sx - x.map(123_456.0)).abs() <= 1.0, "{sx}");
    assert!(got.iter().all(|(gx, _)| *gx >= 64.0 && *gx <= 384.0));
    // Every vertex within the values' band but the spike's.
    let low = got
        .iter()
        .filter(|(_, gy)| *gy > y.map(0.26) && *gy < y.map(0.19))
        .count();
    assert_eq!(low, got.len() - 1);
    assert!(svg.len() < 8_000, "{} bytes", svg.len());
}

#[test]
fn spans_and_markers_name_their_times() {
    let mut c = Chart::time("s", (400.0, 200.0), (0.0, 100.0), (0.0, 1.0), false);
    c.span(20.0, 40.0, "#1f77b4", "alert <open>");
    c.marker(20.0, 0.5, "#1f77b4", true, "opened");
    c.span(f64::NAN, 40.0, "#1f77b4", "skipped");
    let svg = c.finish();
    assert_eq!(attr(&svg, "class=\"alert-open\"", "data-t"), Some("20 40"));
    assert_eq!(attr(&svg, "class=\"marker\"", "data-t"), Some("20"));
    assert!(svg.contains("alert &lt;open&gt;"));
    assert_eq!(svg.matches("class=\"alert-open\"").count(), 1);
}

#[test]
fn envelope_paths_are_relative_with_flat_runs_merged() {
    assert_eq!(pixel(2.5), 3);
    assert_eq!(pixel(f64::NAN), 0);
    assert_eq!(
        relative_path(&[
            (10, 20),
            (10, 5),
            (11, 5),
            (12, 5),
            (13, 5),
            (14, 7),
            (14, 7)
        ]),
        "M10,20v-15h3l1,2"
    );
    // Back and forth is never merged into nothing.
    assert_eq!(relative_path(&[(0, 0), (0, 4), (0, 1)]), "M0,0v4v-3");
    assert_eq!(relative_path(&[]), "");
}

#[test]
fn a_flat_long_history_is_a_few_bytes() {
    let mut c = Chart::time("f", (400.0, 200.0), (0.0, 1e5), (0.0, 1.0), false);
    c.history(
        (0..100_000).map(|i| (i as f64, 0.5)),
        "#d00",
        true,
        "history-threshold",
    );
    let svg = c.finish();
    let d = attr(&svg, "class=\"history-threshold\"", "d").unwrap_or("");
    assert_eq!(path_vertices(d).len(), 2, "{d}");
    assert!(svg.contains("stroke-dasharray"));
}
