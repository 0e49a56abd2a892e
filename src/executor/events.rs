//! The bridge's notable events: one struct each, one `emit` that logs and
//! counts.

use std::time::Duration;

use super::metrics::ExecutorMetrics;

/// A command was not sent.
pub struct CommandSkipped<'a> {
    /// Command.
    pub command_id: &'a str,
    /// Its action.
    pub action: &'a str,
    /// `no-target`, `not-opted-in`, `stale` or `undecodable`.
    pub reason: &'static str,
}

impl CommandSkipped<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &ExecutorMetrics) {
        tracing::info!(
            command = self.command_id,
            action = self.action,
            reason = self.reason,
            "command not sent"
        );
        m.skip(self.reason);
    }
}

/// A command read again after its delivery ended.
pub struct DuplicateSkipped<'a> {
    /// Command.
    pub command_id: &'a str,
    /// Target.
    pub target: &'a str,
}

impl DuplicateSkipped<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &ExecutorMetrics) {
        tracing::debug!(
            command = self.command_id,
            target = self.target,
            "command already delivered, not sent again"
        );
        ExecutorMetrics::add(&m.duplicates_total);
    }
}

/// A command whose earlier attempt may have reached the target, with no
/// result recorded: not sent again.
pub struct DeliveryUnconfirmed<'a> {
    /// Command.
    pub command_id: &'a str,
    /// Target.
    pub target: &'a str,
    /// What happened.
    pub detail: &'a str,
}

impl DeliveryUnconfirmed<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &ExecutorMetrics) {
        tracing::warn!(
            command = self.command_id,
            target = self.target,
            detail = self.detail,
            "delivery unconfirmed: the target may or may not have it; not sent again (at most once)"
        );
        ExecutorMetrics::add(&m.unconfirmed_total);
        m.delivered(self.target, "unknown");
    }
}

/// An attempt is retried.
pub struct DeliveryRetried<'a> {
    /// Command.
    pub command_id: &'a str,
    /// Target.
    pub target: &'a str,
    /// Attempts made.
    pub attempts: u32,
    /// Wait before the next.
    pub delay: Duration,
    /// Why.
    pub detail: &'a str,
}

impl DeliveryRetried<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &ExecutorMetrics) {
        tracing::warn!(
            command = self.command_id,
            target = self.target,
            attempts = self.attempts,
            delay_ms = u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX),
            detail = self.detail,
            "delivery not taken, retrying"
        );
        ExecutorMetrics::add(&m.retries_total);
    }
}

/// A delivery ended: taken or finally refused.
pub struct DeliveryFinished<'a> {
    /// Command.
    pub command_id: &'a str,
    /// Target.
    pub target: &'a str,
    /// Taken.
    pub accepted: bool,
    /// The answer.
    pub detail: &'a str,
    /// From the command's record timestamp to the answer (when taken).
    pub latency: Option<Duration>,
}

impl DeliveryFinished<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &ExecutorMetrics) {
        if self.accepted {
            tracing::info!(
                command = self.command_id,
                target = self.target,
                detail = self.detail,
                "command delivered"
            );
            m.delivered(self.target, "accepted");
            if let Some(l) = self.latency {
                m.observe_delivery(l);
            }
        } else {
            tracing::warn!(
                command = self.command_id,
                target = self.target,
                detail = self.detail,
                "command refused by its target: reported rejected"
            );
            m.delivered(self.target, "refused");
        }
    }
}

/// The bridge produced an outcome.
pub struct OutcomeProduced<'a> {
    /// Command.
    pub command_id: &'a str,
    /// Its model.
    pub model_id: &'a str,
    /// `succeeded`, `failed`, `rejected`.
    pub status: &'a str,
    /// `rejected`, `command` or `http`.
    pub source: &'static str,
}

impl OutcomeProduced<'_> {
    /// Logs and counts.
    pub fn emit(&self, m: &ExecutorMetrics) {
        tracing::info!(
            command = self.command_id,
            model = self.model_id,
            status = self.status,
            source = self.source,
            "outcome produced"
        );
        m.outcome(self.source);
    }
}
