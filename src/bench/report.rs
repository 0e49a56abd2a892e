//! `jidoka bench report`: what the HTML report costs for a month of
//! evaluations: decoding them (Avro, as read from the topic), folding them
//! into the history, building the report, rendering the page, and the
//! page's size.
//!
//! Guarantees: the workload is a pure function of the options (seeded):
//! `models × features` series of evaluations spread evenly over `days`
//! days, every series' KS statistic low and noisy but for drift episodes
//! (the first two features of every other model drift, overlapping, so
//! the corrected threshold steps), alerts opening and closing with
//! persistence 2, a drift event at each transition and a decision at each
//! opening. Encoding the records is not timed; no Kafka is involved.
//! Timings are reported, never checked.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::config::{Config, ConfigError};
use crate::report::{render, EvaluationHistory, ReportData, Selection};
use crate::schema::{
    AuditRecord, AuditStatus, Codec, DriftEvent, EvaluationRecord, FeatureEvidence, SchemaError,
    TestKind,
};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBenchOptions {
    /// Evaluation records (rounded up to whole evaluations of every series).
    pub evaluations: u64,
    /// Models.
    pub models: u32,
    /// Features per model.
    pub features: u32,
    /// Days the evaluations span.
    pub days: u32,
    /// Seed.
    pub seed: u64,
}

impl Default for ReportBenchOptions {
    fn default() -> Self {
        ReportBenchOptions {
            evaluations: 1_000_000,
            models: 20,
            features: 10,
            days: 30,
            seed: 7,
        }
    }
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReportBenchError {
    /// Bad options (the user's).
    #[error("usage: {0}")]
    Usage(String),
    /// The embedded defaults did not load (internal).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A generated record did not encode or decode (internal).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A generated record did not decode (internal).
    #[error("decoding a generated evaluation: {0}")]
    Decode(String),
    /// The page could not be written (external, or the user's path).
    #[error(transparent)]
    Write(#[from] crate::report::ReportError),
}

/// The measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportBenchReport {
    /// Evaluation records generated and read.
    pub evaluations: u64,
    /// Models.
    pub models: u32,
    /// Series (models × features).
    pub series: u64,
    /// Days spanned.
    pub days: u32,
    /// Drift events generated (alert transitions).
    pub drift_events: u64,
    /// Decisions generated (alert openings).
    pub decisions: u64,
    /// Decoding the Avro records and folding them into the history, s.
    pub decode_fold_seconds: f64,
    /// Of which folding alone (measured apart on decoded records), s.
    pub fold_seconds: f64,
    /// Building the report from the history and the other records, s.
    pub build_seconds: f64,
    /// Rendering the page, s.
    pub render_seconds: f64,
    /// Build plus render (what the report adds to reading the topics), s.
    pub build_render_seconds: f64,
    /// Bytes of the history's points (48 each).
    pub history_bytes: u64,
    /// Bytes of the page.
    pub html_bytes: u64,
    /// Charts on the page.
    pub charts: u64,
}

/// One series' state while generating.
#[derive(Debug, Clone, Copy, Default)]
struct SeriesState {
    open: bool,
    run: u32,
}

const ALPHA: f64 = 0.001;
/// Effective sample size of a 500-value reference against a 250-value window.
const N_EFF: f64 = 500.0 * 250.0 / 750.0;

fn in_episode(model: u32, feature: u32, k: u64, per_series: u64) -> bool {
    let at = |share: f64| (per_series as f64 * share) as u64;
    model % 2 == 0
        && match feature {
            0 => (at(0.40)..at(0.55)).contains(&k),
            1 => (at(0.45)..at(0.60)).contains(&k),
            _ => false,
        }
}

/// The generated stream, in evaluation order, passed to `each` one
/// evaluation (every series of every model) at a time.
struct Workload {
    opts: ReportBenchOptions,
    per_series: u64,
    start: i64,
    interval: i64,
}

impl Workload {
    fn new(opts: ReportBenchOptions) -> Result<Self, ReportBenchError> {
        if opts.models == 0 || opts.features == 0 || opts.days == 0 || opts.evaluations == 0 {
            return Err(ReportBenchError::Usage(
                "evaluations, models, features and days must be at least 1".into(),
            ));
        }
        let series = u64::from(opts.models) * u64::from(opts.features);
        let per_series = opts.evaluations.div_ceil(series);
        let span = i64::from(opts.days) * 86_400_000;
        let interval = (span / i64::try_from(per_series).unwrap_or(i64::MAX)).max(1);
        Ok(Workload {
            opts,
            per_series,
            start: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            interval,
        })
    }

    fn run(
        &self,
        on_evaluation: &mut dyn FnMut(EvaluationRecord) -> Result<(), ReportBenchError>,
        events: &mut Vec<DriftEvent>,
        audits: &mut Vec<AuditRecord>,
    ) -> Result<(), ReportBenchError> {
        let o = self.opts;
        let mut rng = StdRng::seed_from_u64(o.seed);
        let mut states = vec![SeriesState::default(); (o.models * o.features) as usize];
        for k in 0..self.per_series {
            let time = self.start + i64::try_from(k).unwrap_or(i64::MAX) * self.interval;
            let record = i64::try_from(k + 6).unwrap_or(i64::MAX) * 250;
            for m in 0..o.models {
                let model = format!("model-{m:03}");
                let drifting = (0..o.features)
                    .filter(|f| in_episode(m, *f, k, self.per_series))
                    .count();
                let threshold = ALPHA * drifting.max(1) as f64 / f64::from(o.features);
                for f in 0..o.features {
                    let d = if in_episode(m, f, k, self.per_series) {
                        0.25 + 0.05 * rng.gen::<f64>()
                    } else {
                        0.035 + 0.04 * rng.gen::<f64>()
                    };
                    let p = (2.0 * (-2.0 * N_EFF * d * d).exp()).min(1.0);
                    let rejected = p <= threshold;
                    let state = &mut states[(m * o.features + f) as usize];
                    state.run = if rejected == state.open {
                        0
                    } else {
                        state.run + 1
                    };
                    let transition = if state.run >= 2 {
                        state.open = !state.open;
                        state.run = 0;
                        if state.open {
                            "opened"
                        } else {
                            "closed"
                        }
                    } else {
                        "none"
                    };
                    let feature = format!("feature_{f:02}");
                    let id = format!("eval-{model}-{feature}-{record}");
                    if transition != "none" {
                        events.push(DriftEvent {
                            event_id: format!("drift-{model}-{feature}-{record}"),
                            model_id: model.clone(),
                            feature: feature.clone(),
                            test: TestKind::Ks,
                            statistic: d,
                            p_value: p,
                            alpha: threshold,
                            reference_size: 500,
                            reference_start_time: self.start,
                            reference_end_time: self.start,
                            window_size: 250,
                            window_start_record: record - 249,
                            window_end_record: record,
                            window_start_time: time,
                            window_end_time: time,
                            event_time: time,
                            kind: "covariate".into(),
                            status: transition.into(),
                            adjusted_p_value: Some((p * f64::from(o.features)).min(1.0)),
                            correction: "benjamini-hochberg".into(),
                            late_records: 0,
                            effect_size: Some(d * 3.0),
                            min_effect: Some(0.0),
                        });
                    }
                    if transition == "opened" {
                        audits.push(AuditRecord {
                            decision_id: format!("dec-{model}-{feature}-{record}"),
                            model_id: model.clone(),
                            decided_at: time,
                            action: "retrain".into(),
                            decided_by: "rules".into(),
                            status: AuditStatus::Dispatched,
                            evidence: vec![FeatureEvidence {
                                feature: feature.clone(),
                                test: TestKind::Ks,
                                statistic: d,
                                p_value: p,
                                drifted: true,
                                drift_event_id: None,
                            }],
                            ..AuditRecord::default()
                        });
                    }
                    on_evaluation(EvaluationRecord {
                        evaluation_id: id,
                        model_id: model.clone(),
                        model_version: "1".into(),
                        kind: "covariate".into(),
                        feature,
                        test: TestKind::Ks,
                        statistic: d,
                        p_value: p,
                        adjusted_p_value: Some((p * f64::from(o.features)).min(1.0)),
                        threshold,
                        correction: "benjamini-hochberg".into(),
                        effect_size: Some(d * 3.0),
                        min_effect: 0.0,
                        significant: rejected,
                        drifted: rejected,
                        alert_open: state.open,
                        transition: transition.into(),
                        reference_size: 500,
                        reference_start_time: self.start,
                        reference_end_time: self.start,
                        window_size: 250,
                        window_start_record: record - 249,
                        window_end_record: record,
                        window_start_time: time,
                        window_end_time: time,
                        record,
                        event_time: time,
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// Runs the benchmark; writes the page to `out` when given (not timed).
pub fn run_report_bench(
    opts: ReportBenchOptions,
    out: Option<&std::path::Path>,
) -> Result<ReportBenchReport, ReportBenchError> {
    let workload = Workload::new(opts)?;
    let codec = Codec::new(Config::defaults()?.schemas.ids)?;
    let selection = Selection::all();
    let mut history = EvaluationHistory::default();
    let (mut events, mut audits) = (Vec::new(), Vec::new());
    let (mut decode_fold, mut fold) = (Duration::ZERO, Duration::ZERO);
    // Encoded a batch at a time (not timed), then decoded and folded.
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(4_096);
    let mut flush = |batch: &mut Vec<Vec<u8>>,
                     history: &mut EvaluationHistory|
     -> Result<(), ReportBenchError> {
        let started = Instant::now();
        let mut decoded = Vec::with_capacity(batch.len());
        for bytes in batch.drain(..) {
            let r: EvaluationRecord = codec
                .decode(Some(&bytes))
                .map_err(|e| ReportBenchError::Decode(e.to_string()))?;
            decoded.push(r);
        }
        let folding = Instant::now();
        for r in decoded {
            history.add(r, &selection);
        }
        fold += folding.elapsed();
        decode_fold += started.elapsed();
        Ok(())
    };
    workload.run(
        &mut |r| {
            batch.push(codec.encode(&r)?);
            if batch.len() == batch.capacity() {
                flush(&mut batch, &mut history)?;
            }
            Ok(())
        },
        &mut events,
        &mut audits,
    )?;
    flush(&mut batch, &mut history)?;
    let evaluations = history.read();
    let history_bytes =
        (history.points() * std::mem::size_of::<crate::report::HistoryPoint>()) as u64;
    let (drift_events, decisions) = (events.len() as u64, audits.len() as u64);
    let started = Instant::now();
    let end = workload.start + i64::from(opts.days) * 86_400_000;
    let data = ReportData::build_with(events, audits, history, &selection, end);
    let build = started.elapsed();
    let started = Instant::now();
    let html = render(&data);
    let render_time = started.elapsed();
    if let Some(out) = out {
        crate::report::write_atomically(out, &html)?;
    }
    Ok(ReportBenchReport {
        evaluations,
        models: opts.models,
        series: u64::from(opts.models) * u64::from(opts.features),
        days: opts.days,
        drift_events,
        decisions,
        decode_fold_seconds: decode_fold.as_secs_f64(),
        fold_seconds: fold.as_secs_f64(),
        build_seconds: build.as_secs_f64(),
        render_seconds: render_time.as_secs_f64(),
        build_render_seconds: (build + render_time).as_secs_f64(),
        history_bytes,
        html_bytes: html.len() as u64,
        charts: html.matches("<svg").count() as u64,
    })
}

/// The JSON object printed with `--json`.
pub fn to_json(r: &ReportBenchReport) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or(serde_json::Value::Null)
}

/// The readable lines.
pub fn to_table(r: &ReportBenchReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "report: {} evaluations over {} days, {} models, {} series, {} drift events, {} decisions",
        r.evaluations, r.days, r.models, r.series, r.drift_events, r.decisions
    );
    let _ = writeln!(
        s,
        "  decode + fold into history  {:>8.3} s  (fold alone {:.3} s; history {:.1} MiB)",
        r.decode_fold_seconds,
        r.fold_seconds,
        r.history_bytes as f64 / 1_048_576.0
    );
    let _ = writeln!(
        s,
        "  build report data           {:>8.3} s",
        r.build_seconds
    );
    let _ = writeln!(
        s,
        "  render page                 {:>8.3} s",
        r.render_seconds
    );
    let _ = writeln!(
        s,
        "  build + render              {:>8.3} s",
        r.build_render_seconds
    );
    let _ = writeln!(
        s,
        "  page                        {:>8.2} MB  ({} bytes, {} charts)",
        r.html_bytes as f64 / 1e6,
        r.html_bytes,
        r.charts
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_accounts_for_every_evaluation_and_chart() -> Result<(), ReportBenchError> {
        let opts = ReportBenchOptions {
            evaluations: 3_000,
            models: 2,
            features: 3,
            days: 2,
            seed: 1,
        };
        let r = run_report_bench(opts, None)?;
        assert_eq!((r.evaluations, r.series), (3_000, 6));
        // Per model: two charts per feature, then decisions, mix,
        // confidence and outcomes.
        assert_eq!(r.charts, 2 * (2 * 3 + 4));
        // Model 0's first two features drift: each alert opens and closes.
        assert_eq!((r.decisions, r.drift_events), (2, 4));
        assert_eq!(r.history_bytes, 3_000 * 48);
        assert!(r.html_bytes > 0);
        let table = to_table(&r);
        assert!(
            table.starts_with("report: 3000 evaluations over 2 days"),
            "{table}"
        );
        assert_eq!(to_json(&r)["evaluations"], 3_000);
        Ok(())
    }

    #[test]
    fn empty_options_are_refused() {
        let opts = ReportBenchOptions {
            models: 0,
            ..ReportBenchOptions::default()
        };
        assert!(matches!(
            run_report_bench(opts, None),
            Err(ReportBenchError::Usage(_))
        ));
    }
}
