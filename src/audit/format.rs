//! Human-readable and JSON renderings of an audit record.

use crate::schema::AuditRecord;

/// Latest time (ms) RFC 3339 can show: 9999-12-31T23:59:59.999Z.
const MAX_RFC3339_MS: i64 = 253_402_300_799_999;

/// One readable line: time, model, decision, action, reason and evidence.
pub fn format_line(r: &AuditRecord) -> String {
    let drifted: Vec<String> = r
        .evidence
        .iter()
        .filter(|e| e.drifted)
        .map(|e| format!("{} D={:.3} p={:.2e}", e.feature, e.statistic, e.p_value))
        .collect();
    // humantime's RFC 3339 Display fails past year 9999, which `format!`
    // turns into a panic: a record from the topic may carry any time.
    let time = if r.decided_at > MAX_RFC3339_MS {
        format!("{}ms", r.decided_at)
    } else {
        humantime::format_rfc3339_millis(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(r.decided_at.max(0) as u64),
        )
        .to_string()
    };
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
    use crate::schema::{AuditInputs, CooldownCheck};

    #[test]
    fn any_decision_time_formats() {
        // Found by tests/fuzz_inputs.rs: a record decided after year 9999
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
        }
    }
}
