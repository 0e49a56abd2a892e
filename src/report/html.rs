//! The report page: one self-contained HTML file with inline CSS and
//! inline SVG charts, one section per model.
//!
//! Guarantees: [`render`] is pure (data in, text out); the page has no
//! script, no `src` or `href` to anything but its own anchors, no external
//! URL, font or style sheet, so it opens offline and can be archived or
//! mailed as it is; every text from the topics is escaped. Per model:
//! drift (statistic, and p-value against the threshold, per feature or
//! metric, every evaluation when the history has them, with the alerts'
//! open spans shaded, on the model's common event-time axis with the
//! decisions ticked along the bottom: see `drift`),
//! decisions over time (coloured by action, one lane per decided-by), the
//! action mix (bars by action, stacked by decided-by), the bandit's
//! confidence against the gate, and outcomes (reward per completed
//! decision). Operator commands are listed in a table.

use std::fmt::Write as _;

use super::data::{DecisionPoint, ModelReport, OperatorRow, ReportData};
use super::drift::{kind_color, p_value_chart, statistic_chart};
use super::svg::{escape, Chart};
use crate::audit::{format_time, truncate};

const WIDE: (f64, f64) = (1140.0, 230.0);

/// Actions in display order.
const ACTIONS: [&str; 6] = [
    "retrain", "rollback", "fallback", "hold", "escalate", "none",
];
/// Decision sources in display order (lanes, stacks).
const SOURCES: [&str; 4] = ["rules", "bandit", "human", "escalation"];

/// The colour of an action.
pub fn action_color(action: &str) -> &'static str {
    match action {
        "retrain" => "#1f77b4",
        "rollback" => "#d62728",
        "fallback" => "#ff7f0e",
        "hold" => "#9467bd",
        "escalate" => "#8c564b",
        "none" => "#8a8a8a",
        _ => "#17becf",
    }
}

/// The colour of a decision source.
pub fn source_color(source: &str) -> &'static str {
    match source {
        "rules" => "#4e79a7",
        "bandit" => "#59a14f",
        "human" => "#e15759",
        "escalation" => "#f28e2b",
        _ => "#bab0ac",
    }
}

fn outcome_color(status: &str) -> &'static str {
    match status {
        "succeeded" => "#2ca02c",
        "failed" => "#d62728",
        _ => "#8a8a8a",
    }
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; background: #f4f5f7; }
header, section, footer { max-width: 1180px; margin: 0 auto; padding: 12px 20px; }
header { background: #1d2b3a; color: #fff; max-width: none; }
header h1 { margin: 4px 0; font-size: 22px; }
header p { margin: 4px 0; color: #cfd8e3; }
nav a { color: #9fd3ff; margin-right: 12px; }
section { background: #fff; margin-top: 16px; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h2 { font-size: 19px; margin: 8px 0; }
h3 { font-size: 15px; margin: 18px 0 6px; color: #1d2b3a; border-bottom: 1px solid #e3e6ea; padding-bottom: 3px; }
figure { margin: 6px 0; }
.pair { display: flex; gap: 20px; flex-wrap: wrap; }
.legend { font-size: 12px; color: #444; margin: 2px 0 8px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin: 0 4px 0 12px; vertical-align: -1px; }
.empty { color: #888; font-style: italic; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 3px 8px; text-align: left; }
th { background: #f0f2f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { color: #777; font-size: 12px; }
"#;

/// The whole page.
pub fn render(data: &ReportData) -> String {
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str("<title>jidoka report</title>\n<style>");
    page.push_str(STYLE);
    page.push_str("</style>\n</head>\n<body>\n");
    header(&mut page, data);
    if data.models.is_empty() {
        page.push_str(
            "<section><p class=\"empty\">No drift event, evaluation or decision on the topics.</p></section>\n",
        );
    }
    for (i, m) in data.models.iter().enumerate() {
        model_section(&mut page, i, m);
    }
    operator_section(&mut page, &data.operator);
    let _ = write!(
        page,
        "<footer>jidoka report generated at {}. Times are event times (UTC). Each decision is shown at its latest version, as the compacted audit topic keeps it.</footer>\n</body>\n</html>\n",
        escape(&format_time(data.generated_at))
    );
    page
}

fn header(page: &mut String, data: &ReportData) {
    let _ = write!(
        page,
        "<header>\n<h1>jidoka audit report</h1>\n<p>Generated at {} from {}: {} drift events, {} audit records, {} evaluation records",
        escape(&format_time(data.generated_at)),
        escape(if data.source.is_empty() { "the given records" } else { &data.source }),
        data.drift_events,
        data.audit_records,
        data.evaluations
    );
    if data.undecodable > 0 {
        let _ = write!(page, ", {} undecodable records skipped", data.undecodable);
    }
    page.push_str(".</p>\n<nav>");
    for (i, m) in data.models.iter().enumerate() {
        let _ = write!(page, "<a href=\"#model-{i}\">{}</a>", escape(&m.model_id));
    }
    if !data.operator.is_empty() {
        page.push_str("<a href=\"#operator\">operator commands</a>");
    }
    page.push_str("</nav>\n</header>\n");
}

fn legend(page: &mut String, title: &str, items: &[(&str, &str)]) {
    let _ = write!(page, "<div class=\"legend\">{}:", escape(title));
    for (name, color) in items {
        let _ = write!(
            page,
            "<span class=\"swatch\" style=\"background:{}\"></span>{}",
            escape(color),
            escape(name)
        );
    }
    page.push_str("</div>\n");
}

/// Actions present in `m`, in display order (unknown ones last).
fn actions_of(m: &ModelReport) -> Vec<String> {
    let mut present: Vec<String> = ACTIONS
        .iter()
        .filter(|a| m.decisions.iter().any(|d| d.action == **a))
        .map(|a| a.to_string())
        .collect();
    for d in &m.decisions {
        if !present.contains(&d.action) {
            present.push(d.action.clone());
        }
    }
    present
}

fn time_domain(m: &ModelReport) -> (f64, f64) {
    let (a, b) = m.span;
    let pad = ((b - a) as f64 * 0.03).max(30_000.0);
    (a as f64 - pad, b as f64 + pad)
}

fn model_section(page: &mut String, i: usize, m: &ModelReport) {
    let id = escape(&m.model_id);
    let events: usize = m.series.iter().map(|s| s.events.len()).sum();
    let _ = write!(
        page,
        "<section class=\"model\" id=\"model-{i}\">\n<h2>Model {id}</h2>\n<p>{} decisions ({} audit records, every version on the topic), {} drift events, {} evaluations, {} features and metrics charted, from {} to {}.</p>\n",
        m.decisions.len(),
        m.audit_records,
        events,
        m.evaluations,
        m.series.len(),
        escape(&format_time(m.span.0)),
        escape(&format_time(m.span.1)),
    );
    let time = time_domain(m);
    page.push_str("<h3>Drift</h3>\n");
    if m.series.is_empty() {
        page.push_str(
            "<p class=\"empty\">No drift event or feature evaluation for this model.</p>\n",
        );
    } else {
        let mut items = vec![
            ("alert opened (filled)", "#444444"),
            ("alert closed (hollow)", "#bbbbbb"),
            ("alert open (shaded)", "#c6dbef"),
        ];
        if m.series.iter().any(|s| !s.history.is_empty()) {
            items.push((
                "every evaluation (line; min/max per pixel column when dense)",
                kind_color("covariate"),
            ));
        }
        if m.series.iter().any(|s| s.history.is_empty()) {
            items.push(("evaluation at a decision (line)", "#9aa5b1"));
        }
        items.push(("decision (tick, coloured by action)", "#1f77b4"));
        legend(page, "markers", &items);
    }
    for s in &m.series {
        page.push_str("<div class=\"pair\">");
        let _ = write!(
            page,
            "<figure>{}</figure><figure>{}</figure>",
            statistic_chart(m, s, time),
            p_value_chart(m, s, time)
        );
        page.push_str("</div>\n");
    }
    page.push_str("<h3>Decisions over time</h3>\n");
    let actions = actions_of(m);
    let items: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| (a.as_str(), action_color(a)))
        .collect();
    legend(page, "final action", &items);
    let _ = writeln!(page, "<figure>{}</figure>", decisions_chart(m, time));
    page.push_str("<h3>Action mix</h3>\n");
    let sources: Vec<(&str, &str)> = SOURCES.iter().map(|s| (*s, source_color(s))).collect();
    legend(page, "decided by", &sources);
    let _ = writeln!(page, "<figure>{}</figure>", mix_chart(m, &actions));
    page.push_str("<h3>Bandit confidence</h3>\n");
    legend(
        page,
        "confidence",
        &[
            ("acted on (decided by the bandit)", source_color("bandit")),
            ("not acted on", "#8a8a8a"),
            ("gate threshold (dashed)", "#d62728"),
        ],
    );
    let _ = writeln!(page, "<figure>{}</figure>", confidence_chart(m, time));
    page.push_str("<h3>Outcomes</h3>\n");
    legend(
        page,
        "executor's report",
        &[
            ("succeeded", outcome_color("succeeded")),
            ("failed", outcome_color("failed")),
            ("rejected", outcome_color("rejected")),
        ],
    );
    let _ = writeln!(page, "<figure>{}</figure>", outcomes_chart(m, time));
    outcomes_table(page, m);
    page.push_str("</section>\n");
}

fn decisions_chart(m: &ModelReport, time: (f64, f64)) -> String {
    let lane = |by: &str| {
        SOURCES
            .iter()
            .position(|s| *s == by)
            .map_or(4.0, |i| i as f64)
    };
    let mut names: Vec<(f64, String)> = SOURCES
        .iter()
        .enumerate()
        .map(|(i, s)| (i as f64, s.to_string()))
        .collect();
    if m.decisions
        .iter()
        .any(|d| !SOURCES.contains(&d.decided_by.as_str()))
    {
        names.push((4.0, "other".into()));
    }
    let top = names.len() as f64 - 0.5;
    let mut chart = Chart::time(
        &format!("{} · decisions over time", m.model_id),
        WIDE,
        time,
        (-0.5, top),
        false,
    )
    .y_names(names)
    .y_label("decided by");
    for d in &m.decisions {
        chart.marker(
            d.time as f64,
            lane(&d.decided_by),
            action_color(&d.action),
            d.action != "none",
            &format!(
                "{} at {}: {} by {} ({}, v{})",
                d.decision_id,
                format_time(d.time),
                d.action,
                d.decided_by,
                d.status,
                d.version
            ),
        );
    }
    chart.finish()
}

fn mix_chart(m: &ModelReport, actions: &[String]) -> String {
    let totals: Vec<u64> = actions
        .iter()
        .map(|a| {
            m.mix
                .iter()
                .filter(|((x, _), _)| x == a)
                .map(|(_, n)| *n)
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0) as f64;
    let mut chart = Chart::bands(
        &format!("{} · action mix", m.model_id),
        (760.0, 240.0),
        actions.to_vec(),
        (0.0, max.max(1.0) * 1.1),
    )
    .y_label("decisions");
    for (i, a) in actions.iter().enumerate() {
        let mut base = 0.0;
        let mut sources: Vec<&str> = SOURCES.to_vec();
        for (x, by) in m.mix.keys() {
            if x == a && !sources.contains(&by.as_str()) {
                sources.push(by);
            }
        }
        for by in sources {
            let n = m
                .mix
                .get(&(a.clone(), by.to_string()))
                .copied()
                .unwrap_or(0);
            if n == 0 {
                continue;
            }
            let top = base + n as f64;
            chart.bar(i, base, top, source_color(by), &format!("{a} by {by}: {n}"));
            base = top;
        }
    }
    chart.finish()
}

fn confidence_chart(m: &ModelReport, time: (f64, f64)) -> String {
    let mut chart = Chart::time(
        &format!("{} · bandit confidence vs gate", m.model_id),
        WIDE,
        time,
        (0.0, 1.0),
        false,
    )
    .y_label("confidence");
    // Decisions at which the bandit was consulted.
    let points: Vec<&DecisionPoint> = m
        .decisions
        .iter()
        .filter(|d| d.confidence.is_some())
        .collect();
    let conf = |d: &DecisionPoint| d.confidence.unwrap_or((0.0, 0.0));
    let line: Vec<(f64, f64)> = points.iter().map(|d| (d.time as f64, conf(d).0)).collect();
    chart.line(&line, "#59a14f", false);
    let thresholds: Vec<f64> = points.iter().map(|d| conf(d).1).collect();
    match thresholds.as_slice() {
        [] => {}
        [first, rest @ ..] if rest.iter().all(|t| t == first) => {
            chart.threshold(*first, "#d62728", &format!("gate {first}"));
        }
        _ => {
            let steps: Vec<(f64, f64)> =
                points.iter().map(|d| (d.time as f64, conf(d).1)).collect();
            chart.line(&steps, "#d62728", true);
        }
    }
    for d in points {
        let (c, gate) = conf(d);
        let acted = d.decided_by == "bandit";
        chart.marker(
            d.time as f64,
            c,
            if acted {
                source_color("bandit")
            } else {
                "#8a8a8a"
            },
            acted,
            &format!(
                "{}: confidence {c:.3} in {} (gate {gate})",
                d.decision_id,
                d.chosen.as_deref().unwrap_or("?")
            ),
        );
    }
    chart.finish()
}

fn outcomes_chart(m: &ModelReport, time: (f64, f64)) -> String {
    let (lo, hi) = m
        .outcomes
        .iter()
        .map(|o| o.reward)
        .filter(|r| r.is_finite())
        .fold((0.0f64, 0.0f64), |(a, b), r| (a.min(r), b.max(r)));
    let pad = ((hi - lo) * 0.1).max(0.05);
    let mut chart = Chart::time(
        &format!("{} · outcomes (reward)", m.model_id),
        WIDE,
        time,
        (lo - pad, hi + pad),
        false,
    )
    .y_label("reward");
    chart.threshold(0.0, "#999999", "0");
    for o in &m.outcomes {
        chart.stem(
            o.time as f64,
            o.reward,
            outcome_color(o.status.as_str()),
            &format!(
                "{}: {} {} at {}, recovery {:.3}, cost {:.3}, reward {:.3}",
                o.decision_id,
                o.action,
                o.status,
                format_time(o.time),
                o.recovery,
                o.cost,
                o.reward
            ),
        );
    }
    chart.finish()
}

fn outcomes_table(page: &mut String, m: &ModelReport) {
    if m.outcomes.is_empty() {
        page.push_str("<p class=\"empty\">No outcome reported yet.</p>\n");
        return;
    }
    page.push_str("<table class=\"outcomes\"><tr><th>reported</th><th>decision</th><th>action</th><th>status</th><th>recovery</th><th>cost</th><th>reward</th></tr>\n");
    for o in &m.outcomes {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{:.4}</td><td class=\"num\">{:.4}</td><td class=\"num\">{:.4}</td></tr>",
            escape(&format_time(o.time)),
            escape(&o.decision_id),
            escape(&o.action),
            escape(o.status.as_str()),
            o.recovery,
            o.cost,
            o.reward
        );
    }
    page.push_str("</table>\n");
}

fn operator_section(page: &mut String, rows: &[OperatorRow]) {
    if rows.is_empty() {
        return;
    }
    page.push_str("<section id=\"operator\">\n<h2>Operator commands</h2>\n<table><tr><th>issued</th><th>scope</th><th>command</th><th>status</th><th>effect or reason</th></tr>\n");
    for r in rows {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&format_time(r.time)),
            escape(&r.model_id),
            escape(&r.kind),
            escape(r.status.as_str()),
            escape(&truncate(&r.reason, 200))
        );
    }
    page.push_str("</table>\n</section>\n");
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
