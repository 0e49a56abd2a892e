//! The two drift charts of one feature (or metric): its statistic, and its
//! p-value against the threshold, over the model's common time axis.
//!
//! Guarantees: pure (data in, SVG out). With an evaluation history, the
//! charts draw every evaluation (as a min/max envelope per pixel column
//! once there are more than the plot has columns, so a spike stays
//! visible), the threshold as it was at each evaluation, and the spans
//! during which the alert was open, shaded; without one, the evaluations
//! at decisions as a grey line, as before the evaluations topic existed,
//! and the spans between the drift events. Both draw the drift events as
//! markers (filled: opened, hollow: closed) and the decisions as ticks.

use super::data::{DriftSeries, ModelReport};
use super::history::alert_spans;
use super::html::action_color;
use super::svg::Chart;
use crate::audit::format_time;

/// Chart size (half the page's width).
const HALF: (f64, f64) = (560.0, 230.0);

/// The colour of a kind of drift.
pub(super) fn kind_color(kind: &str) -> &'static str {
    match kind {
        "covariate" => "#1f77b4",
        "anomaly" => "#9467bd",
        "concept" => "#d62728",
        _ => "#555555",
    }
}

fn tick_decisions(chart: &mut Chart, m: &ModelReport) {
    for d in &m.decisions {
        chart.tick(
            d.time as f64,
            action_color(&d.action),
            &format!("{} {} ({})", d.decision_id, d.action, d.decided_by),
        );
    }
}

fn series_name(m: &ModelReport, s: &DriftSeries) -> String {
    format!("{} · {} ({}, {})", m.model_id, s.feature, s.kind, s.test)
}

/// When the alert was open: from the history when there is one, else from
/// the drift events; one still open runs to the end of the model's span.
fn open_spans(m: &ModelReport, s: &DriftSeries) -> Vec<(i64, i64, bool)> {
    let mut spans = if s.history.is_empty() {
        let mut spans = Vec::new();
        let mut open = None;
        for p in &s.events {
            match (open, p.status.as_str()) {
                (None, "opened") => open = Some(p.time),
                (Some(start), "closed") => {
                    spans.push((start, p.time, false));
                    open = None;
                }
                _ => {}
            }
        }
        spans.extend(open.map(|start| (start, start, true)));
        spans
    } else {
        alert_spans(&s.history)
    };
    for span in spans.iter_mut().filter(|s| s.2) {
        span.1 = span.1.max(m.span.1);
    }
    spans
}

fn shade_spans(chart: &mut Chart, m: &ModelReport, s: &DriftSeries) {
    for (start, end, still_open) in open_spans(m, s) {
        let tip = if still_open {
            format!("alert open from {} (still open)", format_time(start))
        } else {
            format!(
                "alert open from {} to {}",
                format_time(start),
                format_time(end)
            )
        };
        chart.span(start as f64, end as f64, kind_color(&s.kind), &tip);
    }
}

/// The statistic over time.
pub(super) fn statistic_chart(m: &ModelReport, s: &DriftSeries, time: (f64, f64)) -> String {
    let values = s
        .events
        .iter()
        .map(|p| p.statistic)
        .chain(s.evaluations.iter().map(|e| e.statistic))
        .chain(s.history.iter().map(|p| p.statistic))
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let mut chart = Chart::time(
        &format!("{}: statistic", series_name(m, s)),
        HALF,
        time,
        (lo, hi * 1.1),
        false,
    )
    .y_label("statistic");
    shade_spans(&mut chart, m, s);
    let color = kind_color(&s.kind);
    if s.history.is_empty() {
        let evals: Vec<(f64, f64)> = s
            .evaluations
            .iter()
            .map(|e| (e.time as f64, e.statistic))
            .collect();
        chart.line(&evals, "#9aa5b1", false);
    } else {
        chart.history(
            s.history.iter().map(|p| (p.time as f64, p.statistic)),
            color,
            false,
            "history",
        );
    }
    for p in &s.events {
        chart.marker(
            p.time as f64,
            p.statistic,
            color,
            p.status == "opened",
            &format!(
                "{} {} at {}: statistic {:.4}",
                p.event_id,
                p.status,
                format_time(p.time),
                p.statistic
            ),
        );
    }
    tick_decisions(&mut chart, m);
    chart.finish()
}

/// The p-value over time (log scale) against the threshold.
pub(super) fn p_value_chart(m: &ModelReport, s: &DriftSeries, time: (f64, f64)) -> String {
    let lo = s
        .events
        .iter()
        .flat_map(|p| [p.p_value, p.alpha])
        .chain(s.evaluations.iter().map(|e| e.p_value))
        .chain(s.history.iter().flat_map(|p| [p.p_value, p.threshold]))
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold(1.0f64, f64::min);
    let mut chart = Chart::time(
        &format!("{}: p-value vs alpha", series_name(m, s)),
        HALF,
        time,
        (lo, 1.0),
        true,
    )
    .y_label("p-value (log)");
    shade_spans(&mut chart, m, s);
    let color = kind_color(&s.kind);
    if s.history.is_empty() {
        let evals: Vec<(f64, f64)> = s
            .evaluations
            .iter()
            .map(|e| (e.time as f64, e.p_value))
            .collect();
        chart.line(&evals, "#9aa5b1", false);
        let alphas: Vec<f64> = s
            .events
            .iter()
            .map(|p| p.alpha)
            .filter(|a| a.is_finite())
            .collect();
        match alphas.as_slice() {
            [] => {}
            [first, rest @ ..] if rest.iter().all(|a| a == first) => {
                chart.threshold(*first, "#d62728", &format!("alpha {first:.1e}"));
            }
            _ => {
                let steps: Vec<(f64, f64)> =
                    s.events.iter().map(|p| (p.time as f64, p.alpha)).collect();
                chart.line(&steps, "#d62728", true);
            }
        }
    } else {
        chart.history(
            s.history.iter().map(|p| (p.time as f64, p.p_value)),
            color,
            false,
            "history",
        );
        let first = s
            .history
            .iter()
            .map(|p| p.threshold)
            .find(|t| t.is_finite());
        match first {
            None => {}
            Some(t)
                if s.history
                    .iter()
                    .all(|p| p.threshold == t || !p.threshold.is_finite()) =>
            {
                chart.threshold(t, "#d62728", &format!("threshold {t:.1e}"));
            }
            Some(_) => chart.history(
                s.history.iter().map(|p| (p.time as f64, p.threshold)),
                "#d62728",
                true,
                "history-threshold",
            ),
        }
    }
    for p in &s.events {
        let adjusted = p
            .adjusted_p_value
            .map_or_else(String::new, |a| format!(", adjusted {a:.3e}"));
        chart.marker(
            p.time as f64,
            p.p_value,
            color,
            p.status == "opened",
            &format!(
                "{} {} at {}: p-value {:.3e}{adjusted}, alpha {:.3e}",
                p.event_id,
                p.status,
                format_time(p.time),
                p.p_value,
                p.alpha
            ),
        );
    }
    tick_decisions(&mut chart, m);
    chart.finish()
}
