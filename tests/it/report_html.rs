//! The HTML report in a real browser: a report of two models built from
//! constructed drift events, audit records and evaluation history (5,000
//! evaluations of one feature, more than its chart has pixel columns) is
//! rendered by headless Chromium; the DOM it builds has every chart, the
//! history's first plotted point predates the first alert, and its
//! screenshot is written and not blank. Chromium is part of the test set-up
//! (`tests/run.sh` installs the Debian package `chromium`); without it this
//! test fails, naming what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use jidoka::report::{render, EvaluationHistory, ReportData, Selection};
use jidoka::schema::{
    AuditOutcome, AuditRecord, AuditStatus, BanditView, DriftEvent, EvaluationRecord,
    FeatureEvidence, OutcomeStatus, Superseded, TestKind,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const T0: i64 = 1_717_200_000_000;
const MIN: i64 = 60_000;

/// `$JIDOKA_CHROMIUM`, else `chromium` (or `chromium-browser`) on the PATH.
fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("JIDOKA_CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(
        "headless Chromium is needed to render the HTML report and was not found on the PATH: \
         install the Debian package `chromium` (tests/run.sh does: apt-get install chromium) \
         or point JIDOKA_CHROMIUM at the binary"
            .into(),
    )
}

fn event(model: &str, feature: &str, minute: i64, status: &str, d: f64, p: f64) -> DriftEvent {
    DriftEvent {
        event_id: format!("drift-{model}-{feature}-{minute}"),
        model_id: model.into(),
        feature: feature.into(),
        test: TestKind::Ks,
        statistic: d,
        p_value: p,
        alpha: 0.001,
        reference_size: 500,
        reference_start_time: T0 - 60 * MIN,
        reference_end_time: T0,
        window_size: 250,
        window_start_record: 1,
        window_end_record: 250,
        window_start_time: T0,
        window_end_time: T0 + minute * MIN,
        event_time: T0 + minute * MIN,
        kind: "covariate".into(),
        status: status.into(),
        adjusted_p_value: Some((p * 3.0).min(1.0)),
        correction: "benjamini-hochberg".into(),
        late_records: 0,
        effect_size: None,
        min_effect: None,
    }
}

fn decision(model: &str, n: i64, action: &str, by: &str, confidence: f64) -> AuditRecord {
    let d = 0.05 + 0.3 * (n as f64 / 12.0);
    AuditRecord {
        decision_id: format!("dec-{model}-{n:02}"),
        model_id: model.into(),
        decided_at: T0 + n * 8 * MIN,
        action: action.into(),
        decided_by: by.into(),
        proposed_action: action.into(),
        status: if action == "none" {
            AuditStatus::Decided
        } else {
            AuditStatus::Dispatched
        },
        sequence: n,
        gate_reason: format!("decision {n} <of the test>"),
        evidence: vec![FeatureEvidence {
            feature: "tenure_days".into(),
            test: TestKind::Ks,
            statistic: d,
            p_value: 10f64.powf(-(d * 30.0)),
            drifted: d > 0.15,
            drift_event_id: None,
        }],
        bandit: Some(BanditView {
            chosen: "retrain".into(),
            confidence,
            threshold: 0.8,
            samples: 200,
            arms: vec![],
            seed: Some(0),
            against: None,
        }),
        ..AuditRecord::default()
    }
}

/// `n` evaluations of churn-v7's `feature` from an hour before T0 to 200
/// minutes after: a low, noisy KS D until `drift_from` minutes, high until
/// `drift_to`, the alert open from the second drifting evaluation to the
/// second after it, one evaluation closing it.
fn history_of(feature: &str, n: i64, drift: (i64, i64)) -> Vec<EvaluationRecord> {
    let (from, to) = (T0 - 60 * MIN, T0 + 200 * MIN);
    let step = (to - from) / n;
    let mut open = false;
    let mut run = 0;
    (0..n)
        .map(|k| {
            let t = from + k * step;
            let drifting = t >= T0 + drift.0 * MIN && t < T0 + drift.1 * MIN;
            let d = if drifting { 0.21 } else { 0.03 } + 0.02 * ((k * 7919 % 13) as f64 / 13.0);
            let p = (2.0 * (-2.0 * 166.7 * d * d).exp()).min(1.0);
            run = if drifting == open { 0 } else { run + 1 };
            let transition = if run >= 2 {
                open = !open;
                run = 0;
                if open {
                    "opened"
                } else {
                    "closed"
                }
            } else {
                "none"
            };
            EvaluationRecord {
                evaluation_id: format!("eval-{feature}-{k}"),
                model_id: "churn-v7".into(),
                model_version: "7".into(),
                kind: "covariate".into(),
                feature: feature.into(),
                test: TestKind::Ks,
                statistic: d,
                p_value: p,
                adjusted_p_value: Some((p * 2.0).min(1.0)),
                threshold: 0.0005,
                correction: "benjamini-hochberg".into(),
                effect_size: Some(d),
                min_effect: 0.0,
                significant: drifting,
                drifted: drifting,
                alert_open: open,
                transition: transition.into(),
                reference_size: 500,
                reference_start_time: from,
                reference_end_time: from,
                window_size: 250,
                window_start_record: k * 10 + 1,
                window_end_record: k * 10 + 250,
                window_start_time: t,
                window_end_time: t,
                record: k * 10 + 750,
                event_time: t,
            }
        })
        .collect()
}

fn report() -> ReportData {
    let events = vec![
        event("churn-v7", "tenure_days", 20, "opened", 0.21, 2e-6),
        event("churn-v7", "tenure_days", 90, "closed", 0.04, 0.4),
        event("churn-v7", "monthly_charges", 35, "opened", 0.18, 5e-5),
        event("fraud-v2", "amount", 40, "opened", 0.3, 1e-9),
    ];
    let plan = [
        ("none", "escalation", 0.42),
        ("escalate", "escalation", 0.55),
        ("retrain", "rules", 0.61),
        ("retrain", "bandit", 0.83),
        ("rollback", "bandit", 0.88),
        ("none", "rules", 0.74),
        ("fallback", "human", 0.69),
        ("retrain", "bandit", 0.91),
        ("hold", "rules", 0.79),
        ("retrain", "bandit", 0.93),
    ];
    let mut audits: Vec<AuditRecord> = plan
        .iter()
        .enumerate()
        .map(|(i, (a, by, c))| decision("churn-v7", i as i64 + 1, a, by, *c))
        .collect();
    // Outcomes: new versions of three decisions.
    for (i, reward) in [(3usize, 0.12), (4, 0.21), (6, -0.08)] {
        let mut v2 = audits[i].clone();
        v2.version = 2;
        v2.sequence = 100 + i as i64;
        v2.status = AuditStatus::Completed;
        v2.supersedes = Some(Superseded {
            sequence: audits[i].sequence,
            record_hash: String::new(),
        });
        v2.outcome = Some(AuditOutcome {
            command_id: format!("cmd-{i}"),
            status: if reward > 0.0 {
                OutcomeStatus::Succeeded
            } else {
                OutcomeStatus::Failed
            },
            recovery: reward + 0.1,
            cost: 10.0,
            reward,
            reported_at: v2.decided_at + 25 * MIN,
        });
        audits.push(v2);
    }
    audits.push(decision("fraud-v2", 5, "rollback", "rules", 0.5));
    audits.push(AuditRecord {
        decision_id: "op-1".into(),
        model_id: "*/p0".into(),
        decided_at: T0 + 50 * MIN,
        decided_by: "human".into(),
        proposed_action: "pause".into(),
        operator_command_id: Some("cmd-op".into()),
        status: AuditStatus::Accepted,
        gate_reason: "operator pause by <script>alert(1)</script>".into(),
        action: "none".into(),
        ..AuditRecord::default()
    });
    let mut evaluations = history_of("tenure_days", 5_000, (18, 88));
    evaluations.extend(history_of("monthly_charges", 300, (33, 200)));
    let all = Selection::all();
    let history = EvaluationHistory::from_records(evaluations, &all);
    let mut data = ReportData::build_with(events, audits, history, &all, T0 + 200 * MIN);
    data.source = "constructed records".into();
    data
}

/// The `data-t` times of the first element of `class` in `svg`.
fn times(svg: &str, class: &str) -> Result<Vec<i64>, String> {
    let at = svg
        .find(&format!("class=\"{class}\""))
        .ok_or_else(|| format!("no `{class}` in the chart"))?;
    let start = at + svg[at..].find("data-t=\"").ok_or("no data-t")? + 8;
    let len = svg[start..].find('"').ok_or("unterminated data-t")?;
    svg[start..start + len]
        .split(' ')
        .map(|t| t.parse().map_err(|e| format!("data-t {t}: {e}")))
        .collect()
}

/// The SVG of the chart titled `title`.
fn chart<'a>(html: &'a str, title: &str) -> Result<&'a str, String> {
    let at = html
        .find(&format!("aria-label=\"{title}\""))
        .ok_or_else(|| format!("no chart `{title}`"))?;
    let start = html[..at].rfind("<svg").ok_or("no <svg")?;
    let len = html[start..].find("</svg>").ok_or("no </svg>")?;
    Ok(&html[start..start + len])
}

fn run(chromium: &Path, args: &[&str]) -> Result<std::process::Output, String> {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .args(args)
        .output()
        .map_err(|e| format!("running {}: {e}", chromium.display()))
}

#[test]
fn the_report_renders_in_headless_chromium() -> TestResult {
    let chromium = chromium()?;
    let dir = tempfile::tempdir()?;
    let page = dir.path().join("report.html");
    let html = render(&report());
    std::fs::write(&page, &html)?;
    let url = format!("file://{}", page.display());

    // The DOM Chromium built from the file.
    let dumped = run(&chromium, &["--dump-dom", &url])?;
    let dom = String::from_utf8_lossy(&dumped.stdout);
    assert!(
        dumped.status.success() && !dom.is_empty(),
        "chromium --dump-dom failed: {}\n{}",
        dumped.status,
        String::from_utf8_lossy(&dumped.stderr)
    );
    // Per model: 2 drift charts per tested feature, then decisions, mix,
    // confidence and outcomes. churn-v7: tenure_days and monthly_charges;
    // fraud-v2: amount (its event) and tenure_days (its decision's
    // evidence).
    assert_eq!(dom.matches("<svg").count(), 16, "{dom}");
    for title in [
        "churn-v7 · tenure_days (covariate, ks): statistic",
        "churn-v7 · tenure_days (covariate, ks): p-value vs alpha",
        "churn-v7 · monthly_charges (covariate, ks): p-value vs alpha",
        "churn-v7 · decisions over time",
        "churn-v7 · action mix",
        "churn-v7 · bandit confidence vs gate",
        "churn-v7 · outcomes (reward)",
        "fraud-v2 · amount (covariate, ks): statistic",
        "fraud-v2 · decisions over time",
    ] {
        assert!(dom.contains(title), "chart `{title}` missing from the DOM");
    }
    for section in ["Model churn-v7", "Model fraud-v2", "Operator commands"] {
        assert!(dom.contains(section), "section `{section}` missing");
    }
    // The operator's text stayed text: no script element was created.
    assert!(!dom.contains("<script"), "a script element in the DOM");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(dom.matches("<polyline").count() >= 3);
    // The history: both charts of both churn-v7 features, the first
    // plotted point an hour before the first alert's opening (its shaded
    // span and its marker), the 5,000 evaluations drawn within the chart's
    // pixel columns.
    assert_eq!(dom.matches("class=\"history\"").count(), 4, "{dom}");
    let svg = chart(&dom, "churn-v7 · tenure_days (covariate, ks): statistic")?;
    let plotted = times(svg, "history")?;
    // Evaluations every 260 min / 5,000 = 3.12 s.
    assert_eq!(plotted, [T0 - 60 * MIN, T0 + 200 * MIN - 3_120]);
    let opened = times(svg, "alert-open")?;
    assert!(plotted[0] < opened[0], "{plotted:?} {opened:?}");
    assert!(plotted[0] < times(svg, "marker")?[0]);
    assert!(
        svg.len() < 20_000,
        "tenure_days chart of {} bytes",
        svg.len()
    );
    assert!(dom.matches("class=\"bar\"").count() >= 6);

    // The screenshot: written, and not a blank page.
    let shot = dir.path().join("report.png");
    let arg = format!("--screenshot={}", shot.display());
    let out = run(
        &chromium,
        &[&arg, "--window-size=1280,2000", "--hide-scrollbars", &url],
    )?;
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let png =
        std::fs::read(&shot).map_err(|e| format!("no screenshot at {}: {e}", shot.display()))?;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1280x2000 page compresses to a few KB; charts and text do not.
    assert!(png.len() > 60_000, "screenshot only {} bytes", png.len());
    // To look at it: JIDOKA_REPORT_SCREENSHOT=/tmp/report.png keeps the
    // screenshot there and the page next to it.
    if let Some(keep) = std::env::var_os("JIDOKA_REPORT_SCREENSHOT").map(PathBuf::from) {
        std::fs::copy(&shot, &keep)?;
        std::fs::copy(&page, keep.with_extension("html"))?;
    }
    Ok(())
}
