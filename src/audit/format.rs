//! Human-readable and JSON renderings of an audit record.

use crate::schema::AuditRecord;

/// One readable line: time, model, decision, action, reason and evidence.
pub fn format_line(r: &AuditRecord) -> String {
    let drifted: Vec<String> = r
        .evidence
        .iter()
        .filter(|e| e.drifted)
        .map(|e| format!("{} D={:.3} p={:.2e}", e.feature, e.statistic, e.p_value))
        .collect();
    let time = humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(r.decided_at.max(0) as u64),
    );
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
