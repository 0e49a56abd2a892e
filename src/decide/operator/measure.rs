//! Self-measured recovery: every decision is measured again on the model's
//! own signals after `[decide.reward] horizon`, and its reward is learned
//! once, when it is complete.
//!
//! Guarantees:
//! * a decision of the decisions operator (a command, or no command when
//!   `none` is one of the bandit's arms; blocked decisions count as
//!   `none`) and a command an operator approved leave a pending
//!   measurement with the model's accuracy drop and drifted share at the
//!   decision, when `measured-weight > 0`;
//! * at the first evaluation of the model whose stream time (largest
//!   prediction event time) is at least the decision's time + horizon, the
//!   signals are measured again;
//! * the reward is complete, and learned exactly once, when it has been
//!   measured and, for a command, its executor's outcome has arrived
//!   (whichever comes last), or when the model's stream time passes the
//!   horizon + `outcome-grace` without an outcome (then the measured part
//!   alone counts); a redelivered outcome changes nothing;
//! * completing writes a new version of the decision's audit record with
//!   its [`crate::schema::AuditReward`] (and the executor's outcome, if any);
//! * pending measurements are entries of the `decisions` table (key kinds
//!   `m`, the measurement, and `n`, its index by the stream time at which it
//!   is next looked at), written with the checkpoint, changelogged, and
//!   dropped with the rest of a revoked partition's batch.

use serde::{Deserialize, Serialize};

use super::{next_version, Decisions};
use crate::decide::reward::{Health, Reported};
use crate::schema::{Action, AuditOutcome, AuditRecord, AuditStatus, HealOutcome, OutcomeStatus};
use crate::stage::{Models, Output};
use crate::state::{decision_key, Cf, StateError, Table};

/// Key kind of a pending measurement.
const MEASURE: u8 = b'm';
/// Key kind of the index of pending measurements by stream time.
const INDEX: u8 = b'n';

/// A decision waiting for its reward to be complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// The decision.
    pub decision_id: String,
    /// Its command, if one was issued.
    pub command_id: Option<String>,
    /// The arm the reward teaches.
    pub arm: Action,
    /// The bandit context the decision was taken in.
    pub features: Vec<f64>,
    /// The model's signals at the decision.
    pub before: Health,
    /// Stream time at which it is measured again (decision + horizon).
    pub due: i64,
    /// The signals after the horizon and the stream time they were
    /// measured at.
    pub after: Option<(Health, i64)>,
    /// The executor's outcome: its report, status and time.
    pub reported: Option<(Reported, OutcomeStatus, i64)>,
    /// The latest audit version of a decision without a command (a
    /// command's is in its command record).
    pub audit: Option<AuditRecord>,
    /// Stream time of its index entry (kept, so the entry is found again
    /// after a change of `outcome-grace`).
    pub indexed_at: i64,
}

impl Pending {
    /// Stream time at which it is next looked at.
    fn next(&self, grace_ms: i64) -> i64 {
        match self.after {
            None => self.due,
            Some(_) => self.due.saturating_add(grace_ms),
        }
    }

    /// Its key in the `decisions` table.
    fn id(&self) -> &str {
        self.command_id.as_deref().unwrap_or(&self.decision_id)
    }
}

/// Pending measurements.
const PENDING: Table<Pending> = Table::new(Cf::Decisions, "measurements", 1);

/// An event time as index text that sorts like the number.
fn order(t: i64) -> String {
    format!("{:020}", (t as u64) ^ (1 << 63))
}

fn index_key(model: &str, next: i64, id: &str) -> Vec<u8> {
    decision_key(model, INDEX, &format!("{}/{id}", order(next)))
}

/// What a new pending measurement is about.
#[derive(Debug, Clone)]
pub struct Started<'a> {
    /// The decision.
    pub decision_id: &'a str,
    /// Its command, if one was issued.
    pub command_id: Option<&'a str>,
    /// The arm it teaches.
    pub arm: Action,
    /// Its bandit context.
    pub features: &'a [f64],
    /// The model's signals at the decision.
    pub before: Health,
    /// Its event time.
    pub at: i64,
    /// Its audit record (kept only without a command).
    pub audit: &'a AuditRecord,
}

impl Decisions {
    /// The model's signals now: accuracy drop (0 until the accuracy can be
    /// tested) and the drifted share of its last evaluation.
    pub fn health(&self, models: &mut Models, model: &str) -> Result<Health, StateError> {
        let meta = &models.load(model)?.meta;
        Ok(Health {
            accuracy_drop: meta
                .accuracy
                .check(&self.labels)
                .map_or(0.0, |t| t.drop.max(0.0)),
            drifted_share: meta.signals.drifted_share,
        })
    }

    /// Starts measuring a decision (when measurement is on and the
    /// decision has an arm to teach).
    pub fn start_measure(
        &mut self,
        models: &Models,
        model: &str,
        s: Started<'_>,
    ) -> Result<(), StateError> {
        if !self.weights.measures() || (s.command_id.is_none() && !self.learns_none) {
            return Ok(());
        }
        let pending = Pending {
            decision_id: s.decision_id.to_string(),
            command_id: s.command_id.map(String::from),
            arm: s.arm,
            features: s.features.to_vec(),
            before: s.before,
            due: s.at.saturating_add(self.weights.horizon_ms),
            after: None,
            reported: None,
            audit: s.command_id.is_none().then(|| s.audit.clone()),
            indexed_at: 0,
        };
        self.put_pending(models, model, None, Some(&pending))
    }

    /// The pending measurement `id` (a command id, or the decision id of a
    /// decision without a command) of `model`.
    pub fn pending(&self, model: &str, id: &str) -> Result<Option<Pending>, StateError> {
        PENDING.get(
            &self.overlay,
            &self.store,
            &decision_key(model, MEASURE, id),
        )
    }

    /// Number of `model`'s decisions waiting for their reward (entries of
    /// the index; each measurement has exactly one).
    pub fn waiting(&self, model: &str) -> Result<usize, StateError> {
        let prefix = decision_key(model, INDEX, "");
        Ok(self
            .overlay
            .scan_prefix(&self.store, Cf::Decisions, &prefix)?
            .len())
    }

    /// Writes `new` (`None`: deletes `old`), keeping the index in step.
    fn put_pending(
        &mut self,
        models: &Models,
        model: &str,
        old: Option<&Pending>,
        new: Option<&Pending>,
    ) -> Result<(), StateError> {
        let partition = models.partition_of(model);
        if let Some(o) = old {
            let key = index_key(model, o.indexed_at, o.id());
            self.overlay.put(Cf::Decisions, key, None, partition);
        }
        match (new, old) {
            (Some(n), _) => {
                let n = Pending {
                    indexed_at: n.next(self.weights.grace_ms),
                    ..n.clone()
                };
                let key = index_key(model, n.indexed_at, n.id());
                self.overlay
                    .put(Cf::Decisions, key, Some(Vec::new()), partition);
                let key = decision_key(model, MEASURE, n.id());
                PENDING.put(&mut self.overlay, key, Some(&n), partition)
            }
            (None, Some(o)) => {
                let key = decision_key(model, MEASURE, o.id());
                PENDING.put(&mut self.overlay, key, None, partition)
            }
            (None, None) => Ok(()),
        }
    }

    /// Forgets the pending measurement `id` (its decision will not be
    /// learned: a vetoed or approved escalation).
    pub fn drop_measure(
        &mut self,
        models: &Models,
        model: &str,
        id: &str,
    ) -> Result<(), StateError> {
        if let Some(p) = self.pending(model, id)? {
            self.put_pending(models, model, Some(&p), None)?;
        }
        Ok(())
    }

    /// Measures every pending decision of `model` whose time has come
    /// (called at each of its evaluations) and completes those whose
    /// reward is then complete.
    pub fn measure(&mut self, models: &mut Models, model: &str) -> Result<Vec<Output>, StateError> {
        let mut outputs = Vec::new();
        if !self.weights.measures() {
            return Ok(outputs);
        }
        let Some(now) = models.load(model)?.meta.clock.max_event_time else {
            return Ok(outputs);
        };
        let from = decision_key(model, INDEX, "");
        let to = decision_key(model, INDEX, &order(now.saturating_add(1)));
        let due = self.overlay.range(&self.store, Cf::Decisions, &from, &to)?;
        for (key, _) in due {
            let id = key[from.len()..]
                .splitn(2, |b| *b == b'/')
                .nth(1)
                .map(|id| String::from_utf8_lossy(id).into_owned())
                .unwrap_or_default();
            let Some(p) = self.pending(model, &id)? else {
                // An entry whose measurement is gone: drop it.
                let partition = models.partition_of(model);
                self.overlay.put(Cf::Decisions, key, None, partition);
                continue;
            };
            let mut next = p.clone();
            if next.after.is_none() {
                next.after = Some((self.health(models, model)?, now));
            }
            let timed_out = now >= p.due.saturating_add(self.weights.grace_ms);
            if next.command_id.is_none() || next.reported.is_some() || timed_out {
                self.put_pending(models, model, Some(&p), None)?;
                outputs.extend(self.complete(models, model, &next)?);
            } else {
                self.put_pending(models, model, Some(&p), Some(&next))?;
            }
        }
        Ok(outputs)
    }

    /// An executor's outcome for `record`'s command: `None` when it has no
    /// pending measurement (its reward is the report alone), else what it
    /// completed (nothing while the horizon has not passed, or when the
    /// outcome was already received).
    pub fn outcome_arrived(
        &mut self,
        models: &mut Models,
        o: &HealOutcome,
    ) -> Result<Option<Vec<Output>>, StateError> {
        let Some(p) = self.pending(&o.model_id, &o.command_id)? else {
            return Ok(None);
        };
        if p.reported.is_some() {
            let state = models.load(&o.model_id)?;
            state.meta.outcomes_unknown = state.meta.outcomes_unknown.saturating_add(1);
            state.dirty = true;
            return Ok(Some(Vec::new()));
        }
        let mut next = p.clone();
        let report = Reported {
            recovery: o.recovery,
            cost: o.cost,
        };
        next.reported = Some((report, o.status, o.reported_at));
        if next.after.is_some() {
            self.put_pending(models, &o.model_id, Some(&p), None)?;
            return self.complete(models, &o.model_id, &next).map(Some);
        }
        self.put_pending(models, &o.model_id, Some(&p), Some(&next))?;
        Ok(Some(Vec::new()))
    }

    /// Learns a complete reward once and writes its audit version.
    fn complete(
        &mut self,
        models: &mut Models,
        model: &str,
        p: &Pending,
    ) -> Result<Vec<Output>, StateError> {
        let mut reward =
            self.weights
                .reward(p.arm, p.before, p.after, p.reported.map(|(r, _, _)| r));
        let mut lesson = None;
        if reward.reward.is_finite() {
            // An arm the config no longer has, or a context of another
            // policy, cannot be learned from: the reward is still audited.
            let decided_at = p.due.saturating_sub(self.weights.horizon_ms);
            let taught = self.teach(
                models,
                model,
                &p.decision_id,
                decided_at,
                p.arm,
                &p.features,
                reward.reward,
            )?;
            reward.learned = taught.stored;
            lesson = Some(Output::Lesson(taught.lesson));
        }
        let state = models.load(model)?;
        let reported = u64::from(p.reported.is_some());
        state.meta.outcomes_learned = state.meta.outcomes_learned.saturating_add(reported);
        state.dirty = true;
        let record = match &p.command_id {
            Some(c) => self.command(model, c)?,
            None => None,
        };
        let Some(previous) = record.as_ref().map(|r| &r.audit).or(p.audit.as_ref()) else {
            return Ok(lesson.into_iter().collect());
        };
        let outcome = match (&p.command_id, p.reported) {
            (Some(c), Some((r, status, at))) => Some(AuditOutcome {
                command_id: c.clone(),
                status,
                recovery: r.recovery,
                cost: r.cost,
                reward: reward.reward,
                reported_at: at,
            }),
            _ => None,
        };
        let audit = next_version(models, previous, |a| {
            a.status = AuditStatus::Completed;
            if outcome.is_some() {
                a.outcome = outcome;
            }
            a.reward = Some(reward);
        })?;
        if let (Some(mut r), Some(c)) = (record, &p.command_id) {
            if r.status == AuditStatus::AwaitingApproval {
                r.audit = audit.clone();
                self.put_command(models, model, c, Some(&r))?;
            } else {
                self.put_command(models, model, c, None)?;
            }
        }
        Ok(lesson.into_iter().chain([Output::Audit(audit)]).collect())
    }
}
