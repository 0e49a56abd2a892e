//! One decision in plain words, from every version of its audit record:
//! what was decided and when, on which evidence and signals, what each rule
//! and the bandit said, what the gate and each check did, and what became
//! of it (approval, veto, outcome, and the reward with its measured and
//! reported parts).
//!
//! Guarantees: [`explain`] is pure (records in, text out; no Kafka, no
//! clock), takes the versions in any order, and never panics on any record
//! content; every section is present, saying so when the record has
//! nothing for it (a decision written before the bandit existed, an
//! operator command).

use std::fmt::Write as _;

use super::format::format_time;
use crate::schema::{
    AuditRecord, AuditStatus, BanditView, DriftEvent, FeatureEvidence, OutcomeStatus, TestKind,
};

/// Writes a line to a `String` (infallible).
macro_rules! line {
    ($out:expr) => { $out.push('\n') };
    ($out:expr, $($arg:tt)*) => {{ let _ = writeln!($out, $($arg)*); }};
}

/// `records` (the versions of one decision) explained in plain words.
pub fn explain(records: &[AuditRecord]) -> String {
    explain_with_events(records, &[])
}

/// [`explain`], with the drift events the evidence links to (their kind,
/// status and time are added where the evidence names them).
pub fn explain_with_events(records: &[AuditRecord], events: &[DriftEvent]) -> String {
    let mut versions: Vec<&AuditRecord> = records.iter().collect();
    versions.sort_by_key(|r| (r.version, r.sequence));
    let (Some(first), Some(last)) = (versions.first().copied(), versions.last().copied()) else {
        return "No audit record to explain.\n".to_string();
    };
    let mut out = String::new();
    header(&mut out, first, last, &versions);
    if is_operator(first) {
        operator(&mut out, first);
        checks(&mut out, first);
        lifecycle(&mut out, &versions);
        return out;
    }
    decided(&mut out, first, last);
    evidence(&mut out, first, events);
    signals(&mut out, first);
    rules(&mut out, first);
    bandit(&mut out, first);
    checks(&mut out, first);
    final_action(&mut out, first);
    super::explain_reward::reward(&mut out, last);
    lifecycle(&mut out, &versions);
    out
}

/// An operator command's own record (not a decision it changed).
fn is_operator(r: &AuditRecord) -> bool {
    r.operator_command_id.is_some()
        && r.decided_by == "human"
        && r.version == 1
        && matches!(r.status, AuditStatus::Accepted | AuditStatus::Rejected)
}

fn header(out: &mut String, first: &AuditRecord, last: &AuditRecord, versions: &[&AuditRecord]) {
    line!(
        out,
        "Decision {} about model {} (model version {})",
        first.decision_id,
        first.model_id,
        or_unknown(&first.model_version)
    );
    if is_operator(first) {
        line!(
            out,
            "Issued at {}, read from {} partition {} offset {}; configuration {}.",
            format_time(first.decided_at),
            or_unknown(&first.inputs.source_topic),
            first.inputs.source_partition,
            first.inputs.source_offset,
            or_unknown(&first.config_version)
        );
    } else {
        line!(
            out,
            "Decided at {} (event time), on the record at {} partition {} offset {}, after {} of the model's records; configuration {}.",
            format_time(first.decided_at),
            or_unknown(&first.inputs.source_topic),
            first.inputs.source_partition,
            first.inputs.source_offset,
            first.inputs.records_seen,
            or_unknown(&first.config_version)
        );
    }
    let list: Vec<String> = versions
        .iter()
        .map(|r| format!("v{} {} (sequence {})", r.version, r.status, r.sequence))
        .collect();
    line!(
        out,
        "{} on the audit topic: {}. Current status: {}.",
        plural(versions.len(), "version", "versions"),
        list.join(", "),
        last.status
    );
    if first.version > 1 {
        line!(
            out,
            "Versions before v{} are no longer on the topic (compacted); what they decided is carried into the later versions.",
            first.version
        );
    }
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "unknown"
    } else {
        s
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn source_words(decided_by: &str) -> &'static str {
    match decided_by {
        "rules" => "a policy rule matched (a hard rule, or a default rule while the bandit was not confident enough)",
        "bandit" => "the bandit's confidence reached the gate and no hard rule matched",
        "human" => "a human operator chose it",
        "escalation" => "no hard rule matched, the bandit was not confident enough and no default rule matched, so a human is asked",
        _ => "an unknown source",
    }
}

fn decided(out: &mut String, first: &AuditRecord, last: &AuditRecord) {
    line!(out);
    line!(out, "What was decided");
    line!(
        out,
        "  The proposal came from {}: {}.",
        first.decided_by,
        source_words(&first.decided_by)
    );
    let proposed = if first.proposed_action.is_empty() {
        "not recorded"
    } else {
        first.proposed_action.as_str()
    };
    line!(
        out,
        "  Proposed action: {proposed}. Action after the checks: {}.",
        first.action
    );
    line!(out, "  Reason: {}", first.gate_reason);
    if last.version != first.version && last.action != first.action {
        line!(
            out,
            "  Later changed to {} (v{}, {}).",
            last.action,
            last.version,
            last.decided_by
        );
    }
}

fn evidence_line(e: &FeatureEvidence) -> String {
    if e.test == TestKind::ZScore {
        return format!("{} (anomaly: Z-score of a windowed metric)", e.feature);
    }
    format!(
        "{}: {} statistic {:.4}, p-value {:.3e}",
        e.feature, e.test, e.statistic, e.p_value
    )
}

fn event_words(id: &str, events: &[DriftEvent]) -> String {
    match events.iter().find(|e| e.event_id == id) {
        Some(e) => {
            let adjusted = e
                .adjusted_p_value
                .map_or_else(String::new, |p| format!(", adjusted p-value {p:.3e}"));
            let effect = match (e.effect_size, e.min_effect.filter(|g| *g > 0.0)) {
                (Some(x), Some(gate)) => format!(", effect size {x:.4} (gate {gate:.4})"),
                (Some(x), None) => format!(", effect size {x:.4} (no gate)"),
                (None, _) => String::new(),
            };
            format!(
                "drift event {id}: {} alert {} at {}, {} statistic {:.4}, p-value {:.3e}{adjusted}, alpha {:.3e}{effect}",
                e.kind,
                e.status,
                format_time(e.event_time),
                e.test,
                e.statistic,
                e.p_value,
                e.alpha
            )
        }
        None => format!("drift event {id}"),
    }
}

fn evidence(out: &mut String, r: &AuditRecord, events: &[DriftEvent]) {
    line!(out);
    line!(out, "Evidence");
    let tested: Vec<&FeatureEvidence> = r
        .evidence
        .iter()
        .filter(|e| e.test != TestKind::ZScore)
        .collect();
    let anomalies: Vec<&FeatureEvidence> = r
        .evidence
        .iter()
        .filter(|e| e.test == TestKind::ZScore)
        .collect();
    if tested.is_empty() && anomalies.is_empty() {
        line!(out, "  No evidence recorded.");
        return;
    }
    let drifted = tested.iter().filter(|e| e.drifted).count();
    line!(
        out,
        "  {drifted} of {} tested drifted.",
        plural(tested.len(), "feature", "features")
    );
    for e in &tested {
        let verdict = if e.drifted { "drifted" } else { "no drift" };
        let link = e
            .drift_event_id
            .as_deref()
            .map_or_else(String::new, |id| format!("; {}", event_words(id, events)));
        line!(out, "  - {}: {verdict}{link}", evidence_line(e));
    }
    if anomalies.is_empty() {
        line!(out, "  No anomaly alert was open.");
    } else {
        line!(
            out,
            "  Open anomaly alerts: {}.",
            plural(anomalies.len(), "alert", "alerts")
        );
        for e in &anomalies {
            let link = e
                .drift_event_id
                .as_deref()
                .map_or_else(String::new, |id| format!("; {}", event_words(id, events)));
            line!(out, "  - {}{link}", evidence_line(e));
        }
    }
}

fn signals(out: &mut String, r: &AuditRecord) {
    line!(out);
    line!(out, "Signals");
    if r.context.is_empty() {
        line!(
            out,
            "  Not recorded (a record written before signals were audited)."
        );
        return;
    }
    for (name, value) in &r.context {
        line!(out, "  {name} = {value:.4}");
    }
}

fn rules(out: &mut String, r: &AuditRecord) {
    line!(out);
    line!(out, "Rules (in evaluation order, higher priority first)");
    if r.rules.is_empty() {
        line!(out, "  No rule was evaluated.");
        return;
    }
    let mut rules: Vec<_> = r.rules.iter().collect();
    rules.sort_by_key(|x| std::cmp::Reverse(x.priority));
    for x in rules {
        let kind = if x.hard { "hard" } else { "default" };
        let verdict = if x.matched { "MATCHED" } else { "not matched" };
        line!(
            out,
            "  - {} ({kind}, priority {}): when {} then {}: {verdict}",
            x.name,
            x.priority,
            x.condition,
            x.action
        );
    }
    let hard: Vec<&str> = r
        .rules
        .iter()
        .filter(|x| x.hard && x.matched)
        .map(|x| x.name.as_str())
        .collect();
    if !hard.is_empty() {
        line!(
            out,
            "  A hard rule matched ({}): it wins over the bandit.",
            hard.join(", ")
        );
    }
}

/// The action the bandit's confidence was measured against: the record's
/// own `against` when it has the field (schema version 4, which always
/// records the `seed`: `against` null then means "best of all arms");
/// for an older record, that of the first matching default rule (the
/// record lists the rules in evaluation order), if it is one of the
/// bandit's arms.
fn reference<'a>(r: &'a AuditRecord, b: &'a BanditView) -> Option<&'a str> {
    if b.seed.is_some() {
        return b.against.as_deref();
    }
    let action = r
        .rules
        .iter()
        .find(|e| e.matched && !e.hard)?
        .action
        .as_str();
    b.arms.iter().any(|a| a.action == action).then_some(action)
}

fn bandit(out: &mut String, r: &AuditRecord) {
    line!(out);
    line!(out, "Bandit");
    let Some(b) = &r.bandit else {
        line!(out, "  The bandit was not consulted.");
        return;
    };
    let verdict = if b.confidence >= b.threshold {
        "at or above the gate: confident enough to act on"
    } else {
        "below the gate: not confident enough to act on"
    };
    let measure = match reference(r, b) {
        Some(rule) if rule == b.chosen => {
            "in which it does no worse than the rules' choice, which it is".to_string()
        }
        Some(rule) => format!("in which it does no worse than the rules' choice, {rule}"),
        None => "in which it is the best arm".to_string(),
    };
    line!(
        out,
        "  Chosen arm: {} with confidence {:.3} (share of {} posterior draws {measure}); the gate requires {:.3}: {verdict}.",
        b.chosen,
        b.confidence,
        b.samples,
        b.threshold
    );
    match b.seed {
        Some(seed) => line!(
            out,
            "  Draws seeded with decide.bandit.seed = {seed} and the decision id: the same posterior, seed and id draw the same again."
        ),
        None => line!(
            out,
            "  Seed not recorded (written before audit schema version 4); the gate check's detail may name it."
        ),
    }
    if b.arms.is_empty() {
        return;
    }
    line!(
        out,
        "  Arms (posterior mean reward at this context, outcomes learned from):"
    );
    let width = b
        .arms
        .iter()
        .map(|a| a.action.chars().count())
        .max()
        .unwrap_or(0);
    for a in &b.arms {
        let chosen = if a.action == b.chosen {
            "  <- chosen"
        } else {
            ""
        };
        let deviation = match a.deviation {
            Some(t) if t != 0.0 => format!(", prior widened by deviation τ² = {t:.4}"),
            _ => String::new(),
        };
        line!(
            out,
            "    {:<width$}  {:>8.4}  ({}{deviation}){chosen}",
            a.action,
            a.posterior_mean,
            plural(
                usize::try_from(a.observations.max(0)).unwrap_or(usize::MAX),
                "outcome",
                "outcomes"
            )
        );
    }
}

fn checks(out: &mut String, r: &AuditRecord) {
    line!(out);
    line!(out, "Gate and checks");
    if r.checks.is_empty() {
        line!(out, "  No check recorded.");
    }
    for c in &r.checks {
        // The gate decides whether the bandit's proposal is used; the other
        // checks whether the proposal becomes a command.
        let verdict = match (c.passed, c.name.as_str()) {
            (true, _) => "passed",
            (false, "gate") => "not passed",
            (false, _) => "BLOCKED",
        };
        line!(out, "  - {}: {verdict}: {}", c.name, c.detail);
    }
    if !is_operator(r) {
        let cd = &r.cooldown;
        let last = cd.last_action_at.map_or_else(
            || "no earlier command".to_string(),
            |t| format!("last command at {}", format_time(t)),
        );
        if cd.active {
            line!(
                out,
                "  Cooldown: active, {} left ({last}).",
                humantime::format_duration(std::time::Duration::from_secs(
                    u64::try_from(cd.remaining_ms.max(0) / 1000).unwrap_or(0)
                ))
            );
        } else {
            line!(out, "  Cooldown: clear ({last}).");
        }
    }
}

fn final_action(out: &mut String, r: &AuditRecord) {
    line!(out);
    line!(out, "Final action");
    match (&r.command_id, r.action.as_str()) {
        (Some(c), action) => line!(out, "  {action}: command {c} published ({}).", r.status),
        (None, "none") => line!(out, "  none: no command was published ({}).", r.status),
        (None, action) => line!(out, "  {action}, without a command ({}).", r.status),
    }
}

fn operator(out: &mut String, r: &AuditRecord) {
    line!(out);
    line!(out, "Operator command");
    line!(
        out,
        "  {} command {} ({}): {}.",
        r.proposed_action,
        r.operator_command_id.as_deref().unwrap_or("?"),
        r.status,
        r.gate_reason
    );
    if r.model_id.starts_with("*/") {
        line!(
            out,
            "  It concerns every model of partition {}.",
            r.model_id.trim_start_matches("*/p")
        );
    }
}

/// What changed from one version (`None`: compacted away) to the next, in
/// words.
fn stage(previous: Option<&AuditRecord>, r: &AuditRecord) -> String {
    let note = previous
        .and_then(|p| r.gate_reason.strip_prefix(p.gate_reason.as_str()))
        .map(|s| s.trim_start_matches([';', ' ']).to_string())
        .filter(|s| !s.is_empty());
    let by = r
        .operator_command_id
        .as_deref()
        .map_or_else(String::new, |c| format!(" (operator command {c})"));
    let mut words = match r.status.as_str() {
        "dispatched" if r.decided_by == "human" => format!(
            "approved by a human{by}: {} dispatched{}",
            r.action,
            r.command_id
                .as_deref()
                .map_or_else(String::new, |c| format!(" as command {c}"))
        ),
        "vetoed" => format!("vetoed{by}"),
        "completed" => match &r.outcome {
            Some(o) => format!(
                "completed: the executor reported {} for command {} at {}: recovery {:.4}, cost {:.4}, reward {:.4}{}",
                o.status,
                o.command_id,
                format_time(o.reported_at),
                o.recovery,
                o.cost,
                o.reward,
                if o.status == OutcomeStatus::Rejected { " (not learned: rejected)" } else { "" }
            ),
            None => match &r.reward {
                Some(w) => format!("completed: reward {:.4} ({})", w.reward, w.parts),
                None => "completed (no outcome recorded)".to_string(),
            },
        },
        other => format!("status {other}"),
    };
    if let Some(note) = note {
        let _ = write!(words, "; {note}");
    }
    match (&r.supersedes, previous) {
        (Some(s), Some(p)) if s.sequence == p.sequence && s.record_hash == p.record_hash => {
            let _ = write!(words, " [supersedes v{}]", p.version);
        }
        (Some(s), Some(p)) => {
            let _ = write!(
                words,
                " [supersedes sequence {}, which is not the v{} shown: run audit verify]",
                s.sequence, p.version
            );
        }
        (Some(s), None) => {
            let _ = write!(
                words,
                " [supersedes sequence {}, compacted; the reason above holds the earlier stages]",
                s.sequence
            );
        }
        (None, _) => words.push_str(" [names no superseded version: run audit verify]"),
    }
    words
}

fn lifecycle(out: &mut String, versions: &[&AuditRecord]) {
    line!(out);
    line!(out, "Lifecycle");
    let Some(first) = versions.first() else {
        return;
    };
    if first.version > 1 {
        let gone = match first.version {
            2 => "v1".to_string(),
            v => format!("v1 to v{}", v - 1),
        };
        line!(
            out,
            "  {gone} at {}: compacted away.",
            format_time(first.decided_at)
        );
        line!(out, "  v{}: {}.", first.version, stage(None, first));
    } else {
        line!(
            out,
            "  v{} at {}: {} by {} ({}).",
            first.version,
            format_time(first.decided_at),
            first.action,
            first.decided_by,
            first.status
        );
    }
    for pair in versions.windows(2) {
        if let [previous, r] = pair {
            line!(out, "  v{}: {}.", r.version, stage(Some(previous), r));
        }
    }
    if let Some(last) = versions.last() {
        let open = match last.status.as_str() {
            "awaiting-approval" => Some("waiting for a human to approve or veto it"),
            "dispatched" => Some("waiting for the executor's outcome"),
            _ => None,
        };
        if let Some(open) = open {
            line!(out, "  Now {open}.");
        }
    }
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;
