//! The "Reward" section of [`super::explain`]: what the bandit learned from
//! a decision, which parts were measured on the model's own signals and
//! which were reported by an executor, and how they were weighted.
//!
//! Guarantees: pure, never panics; the section is always present, saying
//! so when the decision has no complete reward (yet), or when its reward
//! was made from the executor's report alone (audit records before schema
//! version 3, or `measured-weight = 0`).

use std::fmt::Write as _;

use super::format::format_time;
use crate::schema::AuditRecord;

/// Writes the Reward section for the decision whose latest version is
/// `last`.
pub(super) fn reward(out: &mut String, last: &AuditRecord) {
    let _ = writeln!(out);
    let _ = writeln!(out, "Reward");
    let Some(w) = &last.reward else {
        let _ = match &last.outcome {
            Some(o) => writeln!(
                out,
                "  {:.4}, from the executor's report alone (recovery {:.4}, cost {:.4}).",
                o.reward, o.recovery, o.cost
            ),
            None => writeln!(out, "  Not complete yet (or nothing to learn)."),
        };
        return;
    };
    let _ = writeln!(
        out,
        "  {:.4} for the {} arm, from {} ({}).",
        w.reward,
        w.arm,
        match w.parts.as_str() {
            "measured" => "the model's own signals alone",
            "reported" => "the executor's report alone",
            _ => "the model's own signals and the executor's report",
        },
        if w.learned {
            "learned by the bandit"
        } else {
            "not learned: not one of the bandit's arms"
        }
    );
    let horizon = humantime::format_duration(std::time::Duration::from_millis(
        u64::try_from(w.horizon_ms).unwrap_or(0),
    ));
    let _ = writeln!(
        out,
        "  At the decision: accuracy drop {:.4}, drifted share {:.4}.",
        w.accuracy_drop_before, w.drifted_share_before
    );
    match (w.measured_at, w.accuracy_drop_after, w.drifted_share_after) {
        (Some(at), Some(a), Some(s)) => {
            let _ = writeln!(
                out,
                "  Measured at {} (horizon {horizon}): accuracy drop {a:.4}, drifted share {s:.4}; measured recovery {:.4}.",
                format_time(at),
                w.measured_recovery.unwrap_or(0.0)
            );
        }
        _ => {
            let _ = writeln!(out, "  Not measured (horizon {horizon}).");
        }
    }
    let _ = match (w.reported_recovery, w.reported_cost) {
        (Some(r), Some(c)) => writeln!(out, "  Reported: recovery {r:.4}, cost {c:.4}."),
        _ => writeln!(out, "  Reported: no executor outcome used (cost 0)."),
    };
    let _ = writeln!(
        out,
        "  Recovery {:.4} = weighted mean (measured × {}, reported × {}); reward = {} × recovery − {} × cost.",
        w.recovery, w.measured_weight, w.reported_weight, w.benefit_weight, w.cost_weight
    );
}
