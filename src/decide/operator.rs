//! The decisions stage's operator: the signals of a degraded model go to
//! the engine, and its answer becomes a heal command, an audit record and
//! the state that later outcomes and operator commands refer to.
//!
//! Guarantees:
//! * one audit record per decision, sealed into the model's hash chain;
//! * a command issued is remembered (in the `decisions` table, with the
//!   bandit context it was chosen in and its audit record) until its outcome
//!   arrives, so the outcome can teach the bandit and complete the audit;
//! * a veto that blocked a command is removed; nothing else removes one;
//! * it owns the `decisions` table (command records, bandits, partition
//!   controls): its writes, and those the feedback makes through it, wait in
//!   its own batch and reach RocksDB and the changelog with the checkpoint;
//! * every decision is measured again after the reward's horizon and
//!   learned once its reward is complete ([`measure`]);
//! * the engine is pure; time is the evaluation's event time.

mod measure;
mod teach;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::audit::chain;
use crate::config::{Config, LabelsConfig, ModelRules};
use crate::decide::bandit::LinearThompsonBandit;
use crate::decide::context::NEVER_MINUTES;
use crate::decide::lesson::Lesson;
use crate::decide::pool::LessonPool;
use crate::decide::reward::{Health, Weights};
use crate::decide::rules::Signals;
use crate::decide::{Control, DecisionRequest, Engine, Pause};
use crate::detect::events::concept_evidence;
use crate::detect::FeatureTest;
use crate::heal::{self, CommandSpec};
use crate::ids;
use crate::schema::{
    Action, AuditInputs, AuditRecord, AuditStatus, FeatureEvidence, HealCommand, Superseded,
    TestKind,
};
use crate::stage::{Evaluation, ModelEntry, Models, Operator, Output, SourcePos};
use crate::state::{decision_key, AlertKey, Cf, Legacy, StateBatch, StateError, Store, Table};

/// The `effect` signal's ceiling: an infinite effect size (a constant
/// reference that moved) counts as this, so the audit's JSON stays finite.
const MAX_EFFECT: f64 = 1e6;

/// The `effect` and `effect_gate` signals: the largest effect size among
/// the tests in drift (capped at [`MAX_EFFECT`]) and the gate its test
/// applied; `(0, 0)` when none has an effect size.
fn largest_effect(tests: &[FeatureTest]) -> (f64, f64) {
    tests
        .iter()
        .filter(|t| t.drifted)
        .filter_map(|t| {
            let effect = t.effect_size.filter(|x| !x.is_nan())?;
            Some((effect.min(MAX_EFFECT), t.min_effect.min(MAX_EFFECT)))
        })
        .fold((0.0, 0.0), |best, e| if e.0 > best.0 { e } else { best })
}

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

/// Key kinds in the `decisions` table.
const BANDIT: u8 = b'b';
const COMMAND: u8 = b'c';
const CONTROL: u8 = b'p';

/// Commands waiting for their outcome or approval. Version 4: audit
/// records' bandit views have `seed`, `against` and arm `deviation`;
/// version 3 ([`super::stored_v3`]: before them), version 2
/// ([`super::stored_v2`]: before `reward`) and version 1
/// ([`super::stored_v1`]: before heal commands named the command they act
/// on) are still read.
const COMMANDS: Table<CommandRecord> = Table::new(Cf::Decisions, "decisions", 4).reading(&[
    Legacy {
        version: 3,
        decode: super::stored_v3::decode,
    },
    Legacy {
        version: 2,
        decode: super::stored_v2::decode,
    },
    Legacy {
        version: 1,
        decode: super::stored_v1::decode,
    },
]);
/// Partition-wide controls.
const CONTROLS: Table<PartitionControl> = Table::new(Cf::Decisions, "decisions", 1);

/// The decisions operator.
#[derive(Debug)]
pub struct Decisions {
    /// The engine of the global settings (`[decide]`).
    engine: Engine,
    /// The engine of each `[models."<glob>"]` table with its own
    /// `policy-file`.
    table_engines: std::collections::HashMap<String, Engine>,
    /// The per-model settings.
    rules: Arc<ModelRules>,
    labels: LabelsConfig,
    config_version: String,
    store: Arc<Store>,
    /// Writes since the last checkpoint.
    overlay: StateBatch,
    /// The lessons of every pool, as read from the lessons topic.
    pool: LessonPool,
    /// The reward's horizon and weights.
    weights: Weights,
    /// `none` is one of the bandit's arms: decisions without a command
    /// are measured and learned too.
    learns_none: bool,
}

pub use measure::{Pending, Started};

impl Decisions {
    /// The operator for `config` (hashed as `config_version`), its table in
    /// `store`.
    pub fn new(config: &Config, config_version: &str, store: Arc<Store>) -> Self {
        let rules = Arc::new(ModelRules::new(config));
        let table_engines = config
            .models
            .iter()
            .filter(|(_, o)| o.policy_file.is_some())
            .map(|(pattern, o)| {
                let mut decide = config.decide.clone();
                decide.policy.clone_from(&o.policy);
                (pattern.clone(), Engine::new(&decide))
            })
            .collect();
        Decisions {
            engine: Engine::new(&config.decide),
            table_engines,
            rules,
            labels: config.labels.clone(),
            config_version: config_version.to_string(),
            store,
            overlay: StateBatch::default(),
            pool: LessonPool::new(config.decide.bandit.scope, config.decide.bandit.pool_size),
            weights: Weights::new(&config.decide),
            learns_none: crate::decide::parse_arms(&config.decide.bandit.arms)
                .contains(&Action::None),
        }
    }

    /// The bandit group of `model`: the `bandit-group` of its
    /// `[models."<glob>"]` table (by default the table's glob), or `*` for
    /// a model no table matches.
    pub fn group_of(&self, model: &str) -> String {
        self.rules.resolve(model).bandit_group.clone()
    }

    /// Adds a lesson (read from the lessons topic, or just learned here)
    /// to its pool; false if it was held already.
    pub fn learn(&mut self, lesson: Lesson) -> bool {
        self.pool.insert(lesson)
    }

    /// Lessons held over every pool.
    pub fn lessons_held(&self) -> usize {
        self.pool.len()
    }

    /// The bandit a decision of `model` at event time `at` draws from: the
    /// engine's posterior from the lessons of the model's pool (its own
    /// only with `scope = "model"`) learned at or before `at`; none if the
    /// engine cannot build one (it then decides by the rules).
    pub fn bandit_at(&self, model: &str, at: i64) -> Option<LinearThompsonBandit> {
        let group = self.group_of(model);
        self.pool
            .posterior(model, &group, at, self.engine_of(model))
            .ok()
            .map(|(bandit, _)| bandit)
    }

    /// The configuration hash commands and audit records carry.
    pub fn config_version(&self) -> &str {
        &self.config_version
    }

    /// The engine of `model`: its `[models."<glob>"]` table's policy, or
    /// the global one. Resolved at each decision and outcome (rare events,
    /// unlike predictions).
    fn engine_of(&self, model: &str) -> &Engine {
        self.rules
            .resolve(model)
            .pattern
            .as_ref()
            .and_then(|p| self.table_engines.get(p))
            .unwrap_or(&self.engine)
    }

    /// The engine's reward for an outcome.
    pub fn reward(&self, recovery: f64, cost: f64) -> f64 {
        self.engine.reward(recovery, cost)
    }

    /// The remembered command `command_id` of `model`, if it waits for an
    /// outcome or an approval.
    pub fn command(
        &self,
        model: &str,
        command_id: &str,
    ) -> Result<Option<CommandRecord>, StateError> {
        let key = decision_key(model, COMMAND, command_id);
        COMMANDS.get(&self.overlay, &self.store, &key)
    }

    /// Remembers (`Some`) or forgets (`None`) the command `command_id` of
    /// `model`.
    pub fn put_command(
        &mut self,
        models: &Models,
        model: &str,
        command_id: &str,
        record: Option<&CommandRecord>,
    ) -> Result<(), StateError> {
        let key = decision_key(model, COMMAND, command_id);
        COMMANDS.put(&mut self.overlay, key, record, models.partition_of(model))
    }

    /// The model's bandit, or a fresh one (also when the stored one no
    /// longer fits the policy's context dimension or the configured arms).
    pub fn bandit(&self, model: &str) -> Result<Option<LinearThompsonBandit>, StateError> {
        let key = decision_key(model, BANDIT, "");
        let stored =
            match self.overlay.get(&self.store, Cf::Decisions, &key)? {
                Some(bytes) => Some(LinearThompsonBandit::from_bytes(&bytes).map_err(|e| {
                    StateError::Corrupt {
                        key: format!("{model}/bandit"),
                        reason: format!("{e:?}"),
                    }
                })?),
                None => None,
            };
        Ok(match stored {
            Some(b) if self.engine_of(model).fits(&b) => Some(b),
            _ => self.engine_of(model).new_bandit().ok(),
        })
    }

    /// Stores the model's bandit (with the next checkpoint).
    pub fn save_bandit(&mut self, models: &Models, model: &str, bandit: &LinearThompsonBandit) {
        let key = decision_key(model, BANDIT, "");
        self.overlay.put(
            Cf::Decisions,
            key,
            Some(bandit.to_bytes()),
            models.partition_of(model),
        );
    }

    /// The control of every model of input partition `partition`.
    pub fn partition_control(&self, partition: i32) -> Result<PartitionControl, StateError> {
        let key = decision_key("", CONTROL, &partition.to_string());
        Ok(CONTROLS
            .get(&self.overlay, &self.store, &key)?
            .unwrap_or_default())
    }

    /// Sets the control of input partition `partition`; `scope` is the
    /// tracked name its writes belong to.
    pub fn put_partition_control(
        &mut self,
        models: &Models,
        scope: &str,
        partition: i32,
        control: &PartitionControl,
    ) -> Result<(), StateError> {
        let key = decision_key("", CONTROL, &partition.to_string());
        CONTROLS.put(
            &mut self.overlay,
            key,
            Some(control),
            models.partition_of(scope),
        )
    }

    /// Decides for a degraded model at `at`; `tests` is the evidence.
    pub fn process(
        &mut self,
        models: &mut Models,
        at: &Evaluation<'_>,
        tests: &[FeatureTest],
    ) -> Result<Vec<Output>, StateError> {
        let partition = models.partition_of(at.model_id);
        let decision_id = ids::decision_id(at.model_id, at.pos.as_ref());
        let bandit = self.bandit_at(at.model_id, at.event_time);
        let global = self.partition_control(partition)?.pause;
        let state = models.load(at.model_id)?;
        let accuracy_drop = state
            .meta
            .accuracy
            .check(&self.labels)
            .map_or(0.0, |t| t.drop.max(0.0));
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
        let (effect, effect_gate) = largest_effect(tests);
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
            effect,
            effect_gate,
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
        let d = self.engine_of(at.model_id).decide(&request);
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
        seal(models, &mut audit)?;
        let before = Health {
            accuracy_drop,
            drifted_share: snap.drifted_share,
        };
        let started = Started {
            decision_id: &audit.decision_id,
            command_id: command.as_ref().map(|c| c.command_id.as_str()),
            arm: command.as_ref().map_or(Action::None, |c| c.action),
            features: &d.features,
            before,
            at: now,
            audit: &audit,
        };
        self.start_measure(models, at.model_id, started)?;
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
            self.put_command(models, at.model_id, &command.command_id, Some(&record))?;
            outputs.push(Output::Command(command));
        }
        outputs.push(Output::Audit(audit));
        Ok(outputs)
    }

    /// Decides for a model whose concept-drift alert a label join at `pos`
    /// just opened; the alert is the evidence, the model's last signals the
    /// context.
    pub fn concept(
        &mut self,
        models: &mut Models,
        pos: &SourcePos,
        model_id: &str,
        event_time: i64,
    ) -> Result<Vec<Output>, StateError> {
        let Some(state) = models.get(model_id) else {
            return Ok(Vec::new());
        };
        let Some(concept) = state.meta.alerts.get(&AlertKey::Concept) else {
            return Ok(Vec::new());
        };
        let tests = vec![concept_evidence(concept)];
        let model_version = state.meta.model_version.clone();
        let record = state.meta.records_seen;
        let at = Evaluation {
            pos,
            model_id,
            model_version: &model_version,
            event_time,
            record,
        };
        self.process(models, &at, &tests)
    }
}

impl Operator for Decisions {
    /// Moves the interval's writes (command records, bandits, controls)
    /// into `batch`.
    fn on_checkpoint(
        &mut self,
        _models: &Models,
        batch: &mut StateBatch,
    ) -> Result<(), StateError> {
        batch.append(&mut self.overlay);
        Ok(())
    }

    fn on_revoke(&mut self, partition: i32, _models: &[String]) {
        self.overlay.forget_partition(partition);
    }
}

/// Seals `audit` into its model's chain.
pub fn seal(models: &mut Models, audit: &mut AuditRecord) -> Result<(), StateError> {
    let state = models.load(&audit.model_id)?;
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
pub fn next_version(
    models: &mut Models,
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
    seal(models, &mut next)?;
    Ok(next)
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
fn evidence(state: &ModelEntry, tests: &[FeatureTest]) -> Vec<FeatureEvidence> {
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

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
