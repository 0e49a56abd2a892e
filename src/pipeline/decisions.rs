//! Decisions in the pipeline: the signals of a degraded model go to the
//! engine, and its answer becomes a heal command, an audit record and the
//! state that later outcomes and operator commands refer to.
//!
//! Guarantees:
//! * one audit record per decision, sealed into the model's hash chain;
//! * a command issued is remembered (in the `decisions` store, with the
//!   bandit context it was chosen in and its audit record) until its outcome
//!   arrives, so the outcome can teach the bandit and complete the audit;
//! * a veto that blocked a command is removed; nothing else removes one;
//! * all of it goes through the processor's overlay, so it reaches RocksDB
//!   and the changelog with the batch's checkpoint.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::processor::{Evaluation, Output, Processor};
use crate::audit::chain;
use crate::decide::bandit::LinearThompsonBandit;
use crate::decide::context::NEVER_MINUTES;
use crate::decide::rules::Signals;
use crate::decide::{Control, DecisionRequest, Pause};
use crate::detect::metrics::MetricTest;
use crate::detect::FeatureTest;
use crate::heal::{self, CommandSpec};
use crate::ids;
use crate::schema::{
    Action, AuditInputs, AuditRecord, AuditStatus, FeatureEvidence, HealCommand, Superseded,
    TestKind,
};
use crate::state::{decision_key, AlertKey, Cf, SignalSnapshot, StateError, Table};

const DAY_MS: i64 = 86_400_000;

/// A command waiting for its outcome (or, for an escalation, an approval).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// The command.
    pub command: HealCommand,
    /// Bandit context it was chosen in.
    pub features: Vec<f64>,
    /// `dispatched` or `awaiting-approval`.
    pub status: AuditStatus,
    /// For an escalation: the action an approval without one takes (the
    /// bandit's choice or the matching rule's action).
    pub suggestion: Option<Action>,
    /// The latest audit version of its decision.
    pub audit: AuditRecord,
}

/// The partition-wide control entry (a pause of every model).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionControl {
    /// Pause of every model, if any.
    pub pause: Option<Pause>,
}

/// Key kinds in the `decisions` store.
const BANDIT: u8 = b'b';
pub(super) const COMMAND: u8 = b'c';
pub(super) const CONTROL: u8 = b'p';

/// The detector signals of one evaluation.
pub(super) fn snapshot(
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

impl Processor {
    pub(super) fn decision_get<T: Serialize + DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StateError> {
        Table::<T>::new(Cf::Decisions, "decisions", 1).get(&self.overlay, &self.store, key)
    }

    pub(super) fn decision_put<T: Serialize + DeserializeOwned>(
        &mut self,
        model: &str,
        key: Vec<u8>,
        value: Option<&T>,
    ) -> Result<(), StateError> {
        let partition = self.partition_of(model);
        Table::<T>::new(Cf::Decisions, "decisions", 1).put(&mut self.overlay, key, value, partition)
    }

    /// The model's bandit, or a fresh one (also when the stored one no
    /// longer fits the policy's context dimension or the configured arms).
    pub(super) fn bandit(&self, model: &str) -> Result<Option<LinearThompsonBandit>, StateError> {
        let key = decision_key(model, BANDIT, "");
        let stored =
            match self.get(Cf::Decisions, &key)? {
                Some(bytes) => Some(LinearThompsonBandit::from_bytes(&bytes).map_err(|e| {
                    StateError::Corrupt {
                        key: format!("{model}/bandit"),
                        reason: format!("{e:?}"),
                    }
                })?),
                None => None,
            };
        Ok(match stored {
            Some(b) if self.engine.fits(&b) => Some(b),
            _ => self.engine.new_bandit().ok(),
        })
    }

    /// Stores the model's bandit (with the next checkpoint).
    pub(super) fn save_bandit(&mut self, model: &str, bandit: &LinearThompsonBandit) {
        let key = decision_key(model, BANDIT, "");
        self.put(model, Cf::Decisions, key, Some(bandit.to_bytes()));
    }

    pub(super) fn partition_control(&self, partition: i32) -> Result<PartitionControl, StateError> {
        Ok(self
            .decision_get(&decision_key("", CONTROL, &partition.to_string()))?
            .unwrap_or_default())
    }

    /// Seals `audit` into its model's chain.
    pub(super) fn seal(&mut self, audit: &mut AuditRecord) -> Result<(), StateError> {
        let model = audit.model_id.clone();
        let state = Self::model(&mut self.models, &self.store, self.detector.plan(), &model)?;
        state.meta.audit_sequence = state.meta.audit_sequence.saturating_add(1);
        chain::seal(
            audit,
            state.meta.audit_sequence,
            state.meta.last_audit_hash.take(),
        );
        state.meta.last_audit_hash = Some(audit.record_hash.clone());
        state.dirty = true;
        Ok(())
    }

    /// A new version of a decision's audit record: `change` edits a copy of
    /// `previous`, which it then supersedes in the chain.
    pub(super) fn next_version(
        &mut self,
        previous: &AuditRecord,
        change: impl FnOnce(&mut AuditRecord),
    ) -> Result<AuditRecord, StateError> {
        let mut next = previous.clone();
        next.version = previous.version.saturating_add(1);
        next.supersedes = Some(Superseded {
            sequence: previous.sequence,
            record_hash: previous.record_hash.clone(),
        });
        change(&mut next);
        self.seal(&mut next)?;
        Ok(next)
    }

    /// Decides for a degraded model at `at`; `tests` is the evidence.
    pub(super) fn decide(
        &mut self,
        at: &Evaluation<'_>,
        tests: &[FeatureTest],
    ) -> Result<Vec<Output>, StateError> {
        let decision_id = ids::decision_id(at.model_id, at.pos.as_ref());
        let bandit = self.bandit(at.model_id)?;
        let global = self
            .partition_control(self.partition_of(at.model_id))?
            .pause;
        let accuracy_drop = {
            let state = Self::model(
                &mut self.models,
                &self.store,
                self.detector.plan(),
                at.model_id,
            )?;
            state
                .meta
                .accuracy
                .check(&self.labels)
                .map_or(0.0, |t| t.drop.max(0.0))
        };
        let state = Self::model(
            &mut self.models,
            &self.store,
            self.detector.plan(),
            at.model_id,
        )?;
        let evidence = evidence(state, tests);
        let drift_ids: Vec<String> = evidence
            .iter()
            .filter_map(|e| e.drift_event_id.clone())
            .collect();
        let now = at.event_time;
        let meta = &mut state.meta;
        meta.command_times
            .retain(|t| *t <= now && now.saturating_sub(*t) < DAY_MS);
        let snap = meta.signals;
        let signals = Signals {
            drift: snap.drift,
            drifted_share: snap.drifted_share,
            accuracy_drop,
            anomaly_rate: snap.anomaly_rate,
            latency_shift: snap.latency_shift,
            minutes_since_action: meta.last_action_at.map_or(NEVER_MINUTES, |t| {
                (now.saturating_sub(t).max(0) as f64 / 60_000.0).min(NEVER_MINUTES)
            }),
            recent_actions: meta.command_times.len() as f64,
        };
        let request = DecisionRequest {
            decision_id: &decision_id,
            signals,
            now,
            stream_time: meta.clock.max_event_time.map_or(now, |m| m.max(now)),
            evidence_time: now,
            last_action_at: meta.last_action_at,
            recent_commands: &meta.command_times,
            control: Control {
                pause: meta.pause.as_ref().or(global.as_ref()),
                vetoes: &meta.vetoes,
            },
            bandit: bandit.as_ref(),
        };
        let d = self.engine.decide(&request);
        if let Some(v) = &d.vetoed_by {
            meta.vetoes.retain(|x| x != v);
        }
        meta.decisions = meta.decisions.saturating_add(1);
        let command = d.action.and_then(|action| {
            heal::command(CommandSpec {
                decision_id: &decision_id,
                model_id: at.model_id,
                model_version: at.model_version,
                action,
                reason: &d.gate_reason,
                evidence: &drift_ids,
                issued_at: now,
                config_version: &self.config_version,
            })
        });
        if command.is_some() {
            meta.last_action_at = Some(now);
            meta.command_times.push(now);
            meta.commands = meta.commands.saturating_add(1);
        }
        state.dirty = true;
        let status = match command.as_ref().map(|c| c.action) {
            None => AuditStatus::Decided,
            Some(Action::Escalate) => AuditStatus::AwaitingApproval,
            Some(_) => AuditStatus::Dispatched,
        };
        let mut audit = AuditRecord {
            decision_id,
            model_id: at.model_id.to_string(),
            model_version: at.model_version.to_string(),
            decided_at: now,
            inputs: AuditInputs {
                source_topic: at.pos.topic.clone(),
                source_partition: at.pos.partition,
                source_offset: at.pos.offset,
                records_seen: i64::try_from(at.record).unwrap_or(i64::MAX),
            },
            evidence,
            rules: d.rules.clone(),
            cooldown: d.cooldown.clone(),
            action: d.action.map_or("none", |a| a.as_str()).to_string(),
            gate_reason: d.gate_reason.clone(),
            command_id: command.as_ref().map(|c| c.command_id.clone()),
            config_version: self.config_version.clone(),
            decided_by: d.source.as_str().to_string(),
            proposed_action: d.proposed.as_str().to_string(),
            context: context_map(&signals),
            bandit: d.bandit.clone(),
            checks: d.checks.clone(),
            status,
            ..AuditRecord::default()
        };
        self.seal(&mut audit)?;
        let mut outputs = Vec::with_capacity(2);
        if let Some(command) = command {
            let suggestion = suggestion(&d);
            let record = CommandRecord {
                command: command.clone(),
                features: d.features.clone(),
                status,
                suggestion,
                audit: audit.clone(),
            };
            let key = decision_key(at.model_id, COMMAND, &command.command_id);
            self.decision_put(at.model_id, key, Some(&record))?;
            outputs.push(Output::Command(command));
        }
        outputs.push(Output::Audit(audit));
        Ok(outputs)
    }
}

/// What an approval of an escalation does when the operator names no
/// action: the bandit's choice, else the first matching rule's action.
fn suggestion(d: &crate::decide::Decision) -> Option<Action> {
    let real = |name: &str| Action::command_from_name(name).filter(|a| *a != Action::Escalate);
    d.bandit.as_ref().and_then(|b| real(&b.chosen)).or_else(|| {
        d.rules
            .iter()
            .filter(|r| r.matched)
            .find_map(|r| real(&r.action))
    })
}

fn context_map(s: &Signals) -> std::collections::BTreeMap<String, f64> {
    use crate::decide::rules::Signal;
    Signal::ALL
        .iter()
        .map(|sig| {
            let v = s.get(*sig);
            (sig.name().to_string(), if v.is_finite() { v } else { 0.0 })
        })
        .collect()
}

/// Every test of the evaluation, then every open anomaly alert (its
/// z-score is in the drift event it links to).
fn evidence(state: &super::processor::ModelState, tests: &[FeatureTest]) -> Vec<FeatureEvidence> {
    let anomalies = state
        .meta
        .alerts
        .iter()
        .filter(|(_, a)| a.state.is_open())
        .filter_map(|(key, a)| match key {
            AlertKey::Anomaly(metric) => Some((metric, a)),
            AlertKey::Concept | AlertKey::Feature(_) => None,
        })
        .map(|(metric, a)| FeatureEvidence {
            feature: metric.clone(),
            test: TestKind::ZScore,
            statistic: 0.0,
            p_value: 0.0,
            drifted: true,
            drift_event_id: a.opened_by.clone(),
        });
    let tested = tests.iter().map(|t| {
        let key = if t.test == TestKind::AccuracyDrop {
            AlertKey::Concept
        } else {
            AlertKey::Feature(t.feature.clone())
        };
        let drift_event_id = state
            .meta
            .alerts
            .get(&key)
            .filter(|a| a.state.is_open())
            .and_then(|a| a.opened_by.clone());
        FeatureEvidence {
            feature: t.feature.clone(),
            test: t.test,
            statistic: t.statistic,
            p_value: t.p_value,
            drifted: t.drifted,
            drift_event_id,
        }
    });
    tested.chain(anomalies).collect()
}
