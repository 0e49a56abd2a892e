//! Human-readable and JSON renderings of an audit record: one line, one
//! aligned table row, one JSON object.
//!
//! Guarantees: every rendering takes any record (times past year 9999,
//! NaN, very long or non-ASCII text) without panicking; table columns have
//! fixed widths, counted in characters, and longer values are cut with `…`,
//! so rows stay aligned while a replay streams.

use crate::schema::AuditRecord;

/// Latest time (ms) RFC 3339 can show: 9999-12-31T23:59:59.999Z.
const MAX_RFC3339_MS: i64 = 253_402_300_799_999;

/// `ms` as RFC 3339 UTC with milliseconds; before 1970 shows the epoch,
/// after year 9999 the raw milliseconds (`…ms`).
pub fn format_time(ms: i64) -> String {
    // humantime's RFC 3339 Display fails past year 9999, which `format!`
    // turns into a panic: a record from the topic may carry any time.
    if ms > MAX_RFC3339_MS {
        format!("{ms}ms")
    } else {
        humantime::format_rfc3339_millis(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
        )
        .to_string()
    }
}

/// `s` cut to at most `width` characters, the last one `…` when cut.
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Table columns: title and width (the last, the reason, is cut only).
const COLUMNS: [(&str, usize); 9] = [
    ("TIME", 24),
    ("MODEL", 16),
    ("DECISION", 28),
    ("V", 2),
    ("STATUS", 17),
    ("BY", 10),
    ("ACTION", 8),
    ("CONF", 5),
    ("REASON", 70),
];

fn row(cells: [&str; 9]) -> String {
    let mut line = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(COLUMNS).enumerate() {
        let cell = truncate(cell, width);
        if i + 1 == COLUMNS.len() {
            line.push_str(&cell);
        } else {
            let pad = width.saturating_sub(cell.chars().count());
            line.push_str(&cell);
            line.extend(std::iter::repeat_n(' ', pad + 2));
        }
    }
    line
}

/// The header line of [`table_row`]s.
pub fn table_header() -> String {
    row(COLUMNS.map(|(title, _)| title))
}

/// One aligned row: time, model, decision id, version, status, decided by,
/// final action, bandit confidence (`-` when not consulted), reason.
pub fn table_row(r: &AuditRecord) -> String {
    let confidence = r
        .bandit
        .as_ref()
        .map_or_else(|| "-".to_string(), |b| format!("{:.3}", b.confidence));
    let version = r.version.to_string();
    row([
        &format_time(r.decided_at),
        &r.model_id,
        &r.decision_id,
        &version,
        r.status.as_str(),
        &r.decided_by,
        &r.action,
        &confidence,
        &r.gate_reason.replace(['\n', '\r', '\t'], " "),
    ])
}

/// One readable line: time, model, decision, action, reason and evidence.
pub fn format_line(r: &AuditRecord) -> String {
    let drifted: Vec<String> = r
        .evidence
        .iter()
        .filter(|e| e.drifted)
        .map(|e| format!("{} D={:.3} p={:.2e}", e.feature, e.statistic, e.p_value))
        .collect();
    let time = format_time(r.decided_at);
    format!(
        "{time} model={} decision={} action={} record={} cooldown={} | {} | evidence: {} | config={}",
        r.model_id,
        r.decision_id,
        r.action,
        r.inputs.records_seen,
        if r.cooldown.active { "active" } else { "clear" },
        r.gate_reason,
        if drifted.is_empty() { "none".to_string() } else { drifted.join(", ") },
        r.config_version,
    )
}

/// One JSON object on one line.
pub fn to_json_line(r: &AuditRecord) -> String {
    serde_json::to_string(r)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AuditInputs, AuditStatus, CooldownCheck};

    #[test]
    fn any_decision_time_formats() {
        // Found by tests/it/fuzz_inputs.rs: a record decided after year 9999
        // (only a forged or corrupt one) made `audit replay` panic.
        let mut r = AuditRecord {
            decision_id: "d".into(),
            model_id: "m".into(),
            model_version: "1".into(),
            decided_at: 0,
            inputs: AuditInputs {
                source_topic: "p".into(),
                source_partition: 0,
                source_offset: 0,
                records_seen: 1,
            },
            evidence: vec![],
            rules: vec![],
            cooldown: CooldownCheck {
                active: false,
                last_action_at: None,
                remaining_ms: 0,
            },
            action: "none".into(),
            gate_reason: "r".into(),
            command_id: None,
            config_version: "v".into(),
            sequence: 1,
            previous_hash: None,
            record_hash: String::new(),
            ..AuditRecord::default()
        };
        for (at, shown) in [
            (MAX_RFC3339_MS, "9999-12-31T23:59:59.999Z"),
            (MAX_RFC3339_MS + 1, "253402300800000ms"),
            (i64::MAX, "9223372036854775807ms"),
            (i64::MIN, "1970-01-01T00:00:00.000Z"),
        ] {
            r.decided_at = at;
            let line = format_line(&r);
            assert!(line.starts_with(shown), "{line}");
            assert!(table_row(&r).starts_with(shown));
        }
    }

    #[test]
    fn table_rows_align_and_cut_long_values() {
        let r = AuditRecord {
            decision_id: "dec-0123456789abcdef01234567".into(),
            model_id: "a-very-long-model-name-indeed".into(),
            decided_at: 1_717_200_000_000,
            status: AuditStatus::AwaitingApproval,
            decided_by: "escalation".into(),
            action: "escalate".into(),
            gate_reason: format!("nobody is sure ≥ {}\nsecond line", "x".repeat(100)),
            bandit: Some(crate::schema::BanditView {
                confidence: 0.41234,
                ..Default::default()
            }),
            ..AuditRecord::default()
        };
        let header = table_header();
        let line = table_row(&r);
        assert!(header.starts_with("TIME "), "{header}");
        // Every column starts where its title does.
        for title in [
            "MODEL", "DECISION", "V ", "STATUS", "BY", "ACTION", "CONF", "REASON",
        ] {
            let col = header.find(title).map(|b| header[..b].chars().count());
            let at = col.and_then(|c| line.chars().nth(c));
            assert!(at.is_some_and(|ch| ch != ' '), "{title}: {line}");
        }
        assert!(line.contains("2024-06-01T00:00:00.000Z"), "{line}");
        assert!(line.contains("a-very-long-mod… "), "{line}");
        assert!(line.contains("dec-0123456789abcdef01234567"), "{line}");
        assert!(line.contains(" 0.412 "), "{line}");
        assert!(!line.contains('\n'));
        assert!(line.ends_with('…'), "{line}");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééé", 0), "…");
    }
}
