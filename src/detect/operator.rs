//! The detection stage's operator: a prediction enters its model's feature
//! windows and metrics; at an evaluation the drift detector tests them and
//! the alerts open or close.
//!
//! Guarantees:
//! - It owns the models' feature windows (the `windows` table, as entry
//!   segments): loaded from the store on a model's first prediction, kept
//!   in memory, and on a checkpoint each changed window's new entries go
//!   out as one segment, with the deletes of segments left without a live
//!   entry (never a whole window).
//! - Every test of an evaluation gives one evaluation record (drifted or
//!   not, id derived like the drift event's); every drift event
//!   (covariate, anomaly) is an alert's opening or closing, with an id derived from the model, the alert and the record
//!   that triggered it; an evaluation's signals are kept in the model's
//!   bookkeeping for the decisions.
//! - It never decides: [`Detection::alerts`] returns the evidence of a
//!   degraded model, and the pipeline hands it to the decisions.
//! - Time is the records' event time; no clock, no Kafka.

use std::collections::HashMap;
use std::sync::Arc;

use super::anomaly::ZScoreConfig;
use super::events::{
    anomaly_event, concept_evidence, drift_event, feature_evaluation, metric_evaluation, status,
    track_alert, AlertAfter,
};
use super::metrics::MetricTest;
use super::model_windows::{load_windows, windows_of, Intake, ModelWindows};
use super::reference::ReferenceData;
use super::{DriftDetector, Due, FeatureTest, WindowPlan, Windows};
use crate::config::{
    Config, FeatureRoute, ModelRules, ModelSettings, ReferenceMode, SettingsCache,
};
use crate::ids;
use crate::schema::{Prediction, TestKind};
use crate::stage::{Evaluation, Models, Operator, Output};
use crate::state::segments::{CATEGORICAL, NUMERIC};
use crate::state::{AlertKey, SignalSnapshot, StateBatch, StateError, Store};

/// The detection operator.
#[derive(Debug)]
pub struct Detection {
    /// The detector of the global settings.
    detector: DriftDetector,
    /// The detector of each `[models."<glob>"]` table.
    table_detectors: HashMap<String, DriftDetector>,
    /// Each model's settings, resolved once.
    settings: SettingsCache,
    zscore: ZScoreConfig,
    store: Arc<Store>,
    /// Preloaded reference samples by file (`reference-mode = "file"`).
    references: HashMap<std::path::PathBuf, Arc<ReferenceData>>,
    models: HashMap<String, ModelWindows>,
    /// Values sent to the `"other"` category since the last
    /// [`Detection::take_capped`].
    capped: u64,
}

/// A model's detector, settings and reference sample.
struct ModelView<'a> {
    detector: &'a DriftDetector,
    settings: Arc<ModelSettings>,
    reference: Option<&'a Arc<ReferenceData>>,
}

/// A prediction taken in: the model's record count and watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// The model's records so far, this one included.
    pub record: u64,
    /// The model's event-time watermark after it.
    pub watermark: i64,
}

/// An evaluation's test results, before the alerts.
#[derive(Debug)]
pub struct Tested {
    tests: Vec<FeatureTest>,
    metric_tests: Vec<MetricTest>,
}

/// What an evaluation's alerts gave.
#[derive(Debug, Default)]
pub struct Alerts {
    /// Each test's evaluation record (drift event first when its alert
    /// opened or closed), features then metrics.
    pub outputs: Vec<Output>,
    /// The evidence for a decision, when the model is degraded (any
    /// covariate, anomaly or concept alert open).
    pub degraded: Option<Vec<FeatureTest>>,
}

impl Detection {
    /// The operator for `config`, its windows in `store`.
    pub fn new(config: &Config, store: Arc<Store>) -> Self {
        let a = &config.detect.anomaly;
        let rules = Arc::new(ModelRules::new(config));
        let table_detectors = rules
            .tables()
            .filter_map(|s| {
                let d = DriftDetector::new(&s.detect, s.detect.reference_range_ms());
                Some((s.pattern.clone()?, d))
            })
            .collect();
        Detection {
            detector: DriftDetector::new(&config.detect, config.reference_range_ms()),
            table_detectors,
            settings: SettingsCache::new(rules),
            zscore: ZScoreConfig {
                threshold: a.threshold,
                min_samples: a.min_samples,
                baseline: a.baseline,
                ewma_alpha: a.ewma_alpha,
            },
            store,
            references: HashMap::new(),
            models: HashMap::new(),
            capped: 0,
        }
    }

    /// The preloaded reference sample of `file` (`reference-mode =
    /// "file"`), for every model whose settings name it.
    pub fn with_reference(
        mut self,
        file: std::path::PathBuf,
        reference: Arc<ReferenceData>,
    ) -> Self {
        self.references.insert(file, reference);
        self
    }

    /// The window plan of the global settings (`[detect]`).
    pub fn plan(&self) -> WindowPlan {
        *self.detector.plan()
    }

    /// The window plan of `model` (its `[models."<glob>"]` settings, or
    /// the global ones).
    pub fn plan_of(&self, model: &str) -> WindowPlan {
        let settings = self.settings.rules().resolve(model);
        *settings
            .pattern
            .as_ref()
            .and_then(|p| self.table_detectors.get(p))
            .unwrap_or(&self.detector)
            .plan()
    }

    /// The settings `model` is processed with.
    pub fn settings_of(&mut self, model: &str) -> Arc<ModelSettings> {
        self.settings.get(model)
    }

    /// Values sent to the `"other"` category (`max-categories`) since the
    /// last call.
    pub fn take_capped(&mut self) -> u64 {
        std::mem::take(&mut self.capped)
    }

    /// Models whose windows are cached.
    pub fn cached_models(&self) -> usize {
        self.models.len()
    }

    /// A prediction enters its model's windows, event clock and metrics
    /// (the model must be tracked in `models`).
    pub fn process(&mut self, models: &mut Models, p: &Prediction) -> Result<Observed, StateError> {
        let view = view_of(
            &mut self.settings,
            &self.detector,
            &self.table_detectors,
            &self.references,
            &p.model_id,
        );
        let plan = *view.detector.plan();
        let windows = windows_of(&mut self.models, &self.store, &plan, &p.model_id)?;
        let state = models.load(&p.model_id)?;
        state.dirty = true;
        let meta = &mut state.meta;
        // Saturating: corrupt stored counters must not overflow.
        meta.records_seen = meta.records_seen.saturating_add(1);
        let record = meta.records_seen;
        if meta.model_version != p.model_version {
            meta.model_version.clone_from(&p.model_version);
        }
        let clock = &mut meta.clock;
        if clock.max_event_time.is_some_and(|max| p.event_time < max) {
            clock.out_of_order = clock.out_of_order.saturating_add(1);
        }
        let max = clock
            .max_event_time
            .map_or(p.event_time, |m| m.max(p.event_time));
        clock.max_event_time = Some(max);
        let watermark = view.detector.watermark(max);
        if p.event_time < watermark {
            clock.late = clock.late.saturating_add(1);
        }
        let mut into = Intake {
            windows,
            reference: view.reference,
            plan: &plan,
            record,
            time: p.event_time,
            watermark,
            max_categories: view.settings.detect.max_categories,
            capped: 0,
            before_reference: false,
        };
        let features = &view.settings.features;
        let all = features.is_all();
        for (feature, value) in &p.features {
            let route = if all {
                FeatureRoute::Numeric
            } else {
                route_of(&mut into.windows.numeric_routes, feature, || {
                    features.route(feature, true)
                })
            };
            match route {
                FeatureRoute::Skip => {}
                FeatureRoute::Numeric => into.numeric(feature, *value),
                FeatureRoute::Categorical => into.categorical(feature, &value.to_string()),
            }
        }
        for (feature, value) in p.categorical_features.iter().flatten() {
            let route = if all {
                FeatureRoute::Categorical
            } else {
                route_of(&mut into.windows.categorical_routes, feature, || {
                    features.route(feature, false)
                })
            };
            match route {
                FeatureRoute::Skip => {}
                FeatureRoute::Numeric => {
                    if let Some(x) = value.trim().parse::<f64>().ok().filter(|x| x.is_finite()) {
                        into.numeric(feature, x);
                    }
                }
                FeatureRoute::Categorical => into.categorical(feature, value),
            }
        }
        let (before_reference, capped) = (into.before_reference, into.capped);
        self.capped = self.capped.saturating_add(capped);
        if before_reference {
            meta.clock.before_reference = meta.clock.before_reference.saturating_add(1);
        }
        meta.metrics
            .observe_prediction(p.score, p.predicted_class.as_deref(), p.latency_ms);
        Ok(Observed { record, watermark })
    }

    /// Tests the model's windows and metrics if an evaluation is due after
    /// `observed` (a time window's end moves the windows first).
    pub fn test(
        &mut self,
        models: &mut Models,
        model_id: &str,
        observed: Observed,
    ) -> Result<Option<Tested>, StateError> {
        let view = view_of(
            &mut self.settings,
            &self.detector,
            &self.table_detectors,
            &self.references,
            model_id,
        );
        let detector = view.detector;
        let plan = *detector.plan();
        let Observed { record, watermark } = observed;
        let state = models.load(model_id)?;
        let due = detector.due(record, watermark, state.meta.clock.window_end);
        if matches!(due, Due::No) {
            return Ok(None);
        }
        let windows = windows_of(&mut self.models, &self.store, &plan, model_id)?;
        match due {
            Due::No | Due::Now => {}
            Due::AtWindowEnd(end) => {
                for (feature, w) in &mut windows.numeric {
                    w.advance(end, &plan);
                    if !windows.dirty_numeric.contains(feature) {
                        windows.dirty_numeric.insert(feature.clone());
                    }
                }
                for (feature, w) in &mut windows.categorical {
                    w.advance(end, &plan);
                    if !windows.dirty_categorical.contains(feature) {
                        windows.dirty_categorical.insert(feature.clone());
                    }
                }
                state.meta.clock.window_end = Some(end);
            }
        }
        let tests = detector.evaluate_all(
            windows.numeric.iter_mut().map(|(f, w)| (f.as_str(), w)),
            windows.categorical.iter_mut().map(|(f, w)| (f.as_str(), w)),
            watermark,
        );
        let metric_tests = state.meta.metrics.evaluate(&self.zscore);
        Ok(Some(Tested {
            tests,
            metric_tests,
        }))
    }

    /// Alerts from one evaluation's tests (a drift event for each opening
    /// or closing) and the model's signals; the evidence for a decision if
    /// the model is degraded.
    pub fn alerts(
        &mut self,
        models: &mut Models,
        at: &Evaluation<'_>,
        tested: Tested,
    ) -> Result<Alerts, StateError> {
        let Tested {
            mut tests,
            metric_tests,
        } = tested;
        let mut outputs = Vec::new();
        let settings = self.settings.get(at.model_id);
        let persistence = settings.detect.persistence.max(1);
        let correction = settings.detect.correction.as_str();
        let Some(state) = models.get_mut(at.model_id) else {
            return Ok(Alerts::default());
        };
        let late = i64::try_from(state.meta.clock.late).unwrap_or(i64::MAX);
        for t in &mut tests {
            let key = AlertKey::Feature(t.feature.clone());
            let id_key = key.to_string();
            let alert = state.meta.alerts.entry(key).or_default();
            let transition = alert.state.observe(t.drifted, persistence);
            if let Some(tr) = transition {
                let id = ids::drift_event_id(at.model_id, &id_key, at.pos.as_ref());
                let mut e = drift_event(&id, at.model_id, t, at.event_time);
                e.status = status(tr).into();
                e.correction = correction.into();
                e.late_records = late;
                track_alert(alert, tr, &id);
                outputs.push(Output::Drift(e));
            }
            outputs.push(Output::Evaluation(feature_evaluation(
                at,
                t,
                correction,
                AlertAfter {
                    open: alert.state.is_open(),
                    transition,
                },
            )));
            // Decisions see the alert, not one evaluation's rejection.
            t.drifted = alert.state.is_open();
        }
        for m in &metric_tests {
            let key = AlertKey::Anomaly(m.metric.clone());
            let id_key = key.to_string();
            let alert = state.meta.alerts.entry(key).or_default();
            let transition = alert.state.observe(m.score.anomalous, persistence);
            if let Some(tr) = transition {
                let id = ids::drift_event_id(at.model_id, &id_key, at.pos.as_ref());
                let e = anomaly_event(&id, at, m, &self.zscore, status(tr), late);
                track_alert(alert, tr, &id);
                outputs.push(Output::Drift(e));
            }
            let after = AlertAfter {
                open: alert.state.is_open(),
                transition,
            };
            outputs.push(Output::Evaluation(metric_evaluation(
                at,
                m,
                &self.zscore,
                after,
            )));
        }
        let open_anomalies = metric_tests
            .iter()
            .filter(|m| {
                state
                    .meta
                    .alerts
                    .get(&AlertKey::Anomaly(m.metric.clone()))
                    .is_some_and(|a| a.state.is_open())
            })
            .count();
        state.meta.signals = snapshot(&tests, &metric_tests, open_anomalies, at.event_time);
        if let Some(concept) = state.meta.alerts.get(&AlertKey::Concept) {
            if concept.state.is_open() {
                tests.push(concept_evidence(concept));
            }
        }
        let degraded = state.meta.alerts.values().any(|a| a.state.is_open());
        Ok(Alerts {
            outputs,
            degraded: degraded.then_some(tests),
        })
    }

    /// A model's numeric windows as the store holds them, rebuilt from
    /// their entries, in feature-name order.
    pub fn stored_windows(&self, model: &str) -> Result<Vec<(String, Windows<f64>)>, StateError> {
        let plan = self.plan_of(model);
        let state = load_windows(&self.store, &plan, model)?;
        Ok(state
            .numeric
            .into_iter()
            .map(|(f, w)| (f, w.windows().clone()))
            .collect())
    }

    /// A model's categorical windows as the store holds them, rebuilt
    /// from their entries, in feature-name order.
    pub fn stored_categorical(
        &self,
        model: &str,
    ) -> Result<Vec<(String, Windows<String>)>, StateError> {
        let plan = self.plan_of(model);
        let state = load_windows(&self.store, &plan, model)?;
        Ok(state
            .categorical
            .into_iter()
            .map(|(f, w)| (f, w.windows().clone()))
            .collect())
    }
}

impl Operator for Detection {
    /// Each changed window's journal: its new entries as one segment, the
    /// deletes of segments left without a live entry, the head if its end
    /// moved. Drains the journals: the batch must be written, or the
    /// operator dropped.
    fn on_checkpoint(&mut self, models: &Models, batch: &mut StateBatch) -> Result<(), StateError> {
        for (model, state) in &mut self.models {
            let partition = models.partition_of(model);
            for feature in std::mem::take(&mut state.dirty_numeric) {
                if let Some(w) = state.numeric.get_mut(&feature) {
                    let journal = w.take_journal();
                    let end = w.windows().window_end();
                    let log = state.logs.entry((NUMERIC, feature.clone())).or_default();
                    log.flush(batch, partition, model, NUMERIC, &feature, journal, end);
                }
            }
            for feature in std::mem::take(&mut state.dirty_categorical) {
                if let Some(w) = state.categorical.get_mut(&feature) {
                    let journal = w.take_journal();
                    let end = w.windows().window_end();
                    let log = state
                        .logs
                        .entry((CATEGORICAL, feature.clone()))
                        .or_default();
                    log.flush(batch, partition, model, CATEGORICAL, &feature, journal, end);
                }
            }
        }
        Ok(())
    }

    fn on_revoke(&mut self, _partition: i32, models: &[String]) {
        for model in models {
            self.models.remove(model);
        }
    }
}

/// The detector signals of one evaluation.
fn snapshot(
    tests: &[FeatureTest],
    metric_tests: &[MetricTest],
    open_anomalies: usize,
    at: i64,
) -> SignalSnapshot {
    let drift = tests
        .iter()
        .filter(|t| t.drifted && t.test == TestKind::Ks)
        .map(|t| t.statistic)
        .fold(0.0, f64::max);
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    let latency_shift = metric_tests
        .iter()
        .find(|m| m.metric == "latency_mean")
        .filter(|m| m.score.samples > 0 && m.score.mean.abs() > f64::EPSILON)
        .map_or(0.0, |m| (m.score.value - m.score.mean) / m.score.mean.abs());
    SignalSnapshot {
        drift,
        drifted_share: share(tests.iter().filter(|t| t.drifted).count(), tests.len()),
        anomaly_rate: share(open_anomalies, metric_tests.len()),
        latency_shift: if latency_shift.is_finite() {
            latency_shift
        } else {
            0.0
        },
        at,
    }
}

/// The detector, settings and reference sample of `model`.
fn view_of<'a>(
    settings: &mut SettingsCache,
    global: &'a DriftDetector,
    tables: &'a HashMap<String, DriftDetector>,
    references: &'a HashMap<std::path::PathBuf, Arc<ReferenceData>>,
    model: &str,
) -> ModelView<'a> {
    let settings = settings.get(model);
    let detector = settings
        .pattern
        .as_ref()
        .and_then(|p| tables.get(p))
        .unwrap_or(global);
    let reference = match (
        settings.detect.reference_mode,
        &settings.detect.reference_file,
    ) {
        (ReferenceMode::File, Some(file)) => references.get(file),
        _ => None,
    };
    ModelView {
        detector,
        settings,
        reference,
    }
}

/// A feature's cached route, computed on its first value.
fn route_of(
    routes: &mut HashMap<String, FeatureRoute>,
    feature: &str,
    compute: impl FnOnce() -> FeatureRoute,
) -> FeatureRoute {
    if let Some(r) = routes.get(feature) {
        return *r;
    }
    let r = compute();
    routes.insert(feature.to_string(), r);
    r
}

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
