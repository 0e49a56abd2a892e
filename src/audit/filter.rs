//! Which audit records a replay shows: filters on model, final action,
//! decided-by and decision time, and the latest version of each decision.
//!
//! Guarantees: pure functions over records already read (no Kafka, no
//! clock); [`select`] keeps the input order and, with `latest`, keeps for
//! each decision id exactly the record compaction would keep (its highest
//! version, the later sequence on a tie) before filtering; [`parse_time`]
//! takes epoch milliseconds or RFC 3339 (UTC `Z` or a `±HH:MM` offset, or a
//! bare date at midnight UTC) and never panics.

use std::collections::HashMap;

use crate::schema::AuditRecord;

/// What a replay keeps. `None` keeps everything; bounds are inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this model (`*/p<partition>` for operator commands that
    /// concern every model).
    pub model: Option<String>,
    /// Only this final action (`retrain`, …, or `none`).
    pub action: Option<String>,
    /// Only decisions whose proposal came from `rules`, `bandit`, `human`
    /// or `escalation`.
    pub decided_by: Option<String>,
    /// Only decisions taken at or after this event time (ms).
    pub from: Option<i64>,
    /// Only decisions taken at or before this event time (ms).
    pub to: Option<i64>,
}

impl Filter {
    /// Whether `r` passes every filter.
    pub fn matches(&self, r: &AuditRecord) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.model, &r.model_id)
            && is(&self.action, &r.action)
            && is(&self.decided_by, &r.decided_by)
            && self.from.is_none_or(|t| r.decided_at >= t)
            && self.to.is_none_or(|t| r.decided_at <= t)
    }
}

/// Whether `a` replaces `b` as a decision's latest version.
fn later(a: &AuditRecord, b: &AuditRecord) -> bool {
    (a.version, a.sequence) > (b.version, b.sequence)
}

/// The latest version of each decision id, in the order the decisions were
/// first seen.
pub fn latest(records: Vec<AuditRecord>) -> Vec<AuditRecord> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<AuditRecord> = Vec::new();
    for r in records {
        match index.get(&r.decision_id) {
            Some(&i) => {
                if let Some(slot) = out.get_mut(i).filter(|kept| later(&r, kept)) {
                    *slot = r;
                }
            }
            None => {
                index.insert(r.decision_id.clone(), out.len());
                out.push(r);
            }
        }
    }
    out
}

/// The records a replay prints: with `latest`, first the latest version of
/// each decision, then those passing `filter`.
pub fn select(records: Vec<AuditRecord>, filter: &Filter, latest_only: bool) -> Vec<AuditRecord> {
    let records = if latest_only {
        latest(records)
    } else {
        records
    };
    records.into_iter().filter(|r| filter.matches(r)).collect()
}

/// A time argument that is not epoch milliseconds or RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a time: give epoch milliseconds (1717200000000) or RFC 3339 (2024-06-01T00:00:00Z, 2024-06-01T02:00:00+02:00, 2024-06-01)")]
pub struct TimeError(pub String);

/// Epoch milliseconds of `s`: an integer (ms since the epoch) or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, TimeError> {
    let t = s.trim();
    let err = || TimeError(s.to_string());
    if !t.is_empty()
        && t.trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return t.parse::<i64>().map_err(|_| err());
    }
    let t = if t.len() == 10 {
        format!("{t}T00:00:00Z")
    } else {
        t.to_string()
    };
    // humantime reads UTC only: take a ±HH:MM offset off and apply it.
    let (base, offset_ms) = split_offset(&t).ok_or_else(err)?;
    let at = humantime::parse_rfc3339(&base).map_err(|_| err())?;
    let ms = match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).map_err(|_| err())?,
        Err(e) => i64::try_from(e.duration().as_millis())
            .map(|m| -m)
            .map_err(|_| err())?,
    };
    ms.checked_sub(offset_ms).ok_or_else(err)
}

/// `2024-06-01T02:00:00+02:00` → (`2024-06-01T02:00:00Z`, 7,200,000).
fn split_offset(t: &str) -> Option<(String, i64)> {
    if t.ends_with('Z') || t.ends_with('z') {
        return Some((format!("{}Z", &t[..t.len() - 1]), 0));
    }
    let i = t.len().checked_sub(6)?;
    let (head, tail) = (t.get(..i)?, t.get(i..)?);
    let sign = match tail.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hh, mm) = tail.get(1..)?.split_once(':')?;
    let (hh, mm): (i64, i64) = (hh.parse().ok()?, mm.parse().ok()?);
    if hh > 23 || mm > 59 {
        return None;
    }
    Some((format!("{head}Z"), sign * (hh * 60 + mm) * 60_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, model: &str, version: i32, sequence: i64, at: i64) -> AuditRecord {
        AuditRecord {
            decision_id: id.into(),
            model_id: model.into(),
            decided_at: at,
            version,
            sequence,
            action: "retrain".into(),
            ..AuditRecord::default()
        }
    }

    fn ids(records: &[AuditRecord]) -> Vec<(String, i32)> {
        records
            .iter()
            .map(|r| (r.decision_id.clone(), r.version))
            .collect()
    }

    fn sample() -> Vec<AuditRecord> {
        let mut bandit = rec("b", "fraud", 1, 2, 2_000);
        bandit.decided_by = "bandit".into();
        bandit.action = "rollback".into();
        let mut human = rec("a", "churn", 2, 3, 1_000);
        human.decided_by = "human".into();
        human.action = "fallback".into();
        let mut none = rec("c", "churn", 1, 4, 3_000);
        none.action = "none".into();
        none.decided_by = "escalation".into();
        vec![rec("a", "churn", 1, 1, 1_000), bandit, human, none]
    }

    #[test]
    fn no_filter_keeps_everything_in_order() {
        let all = select(sample(), &Filter::default(), false);
        assert_eq!(ids(&all), ids(&sample()));
    }

    #[test]
    fn each_filter_narrows() {
        let f = |filter: Filter| ids(&select(sample(), &filter, false));
        let model = Filter {
            model: Some("churn".into()),
            ..Filter::default()
        };
        assert_eq!(f(model).len(), 3);
        let action = Filter {
            action: Some("rollback".into()),
            ..Filter::default()
        };
        assert_eq!(f(action), vec![("b".to_string(), 1)]);
        let by = Filter {
            decided_by: Some("human".into()),
            ..Filter::default()
        };
        assert_eq!(f(by), vec![("a".to_string(), 2)]);
        let window = Filter {
            from: Some(1_500),
            to: Some(3_000),
            ..Filter::default()
        };
        assert_eq!(f(window), vec![("b".to_string(), 1), ("c".to_string(), 1)]);
        let inclusive = Filter {
            from: Some(1_000),
            to: Some(1_000),
            ..Filter::default()
        };
        assert_eq!(f(inclusive).len(), 2);
        let both = Filter {
            model: Some("churn".into()),
            action: Some("none".into()),
            ..Filter::default()
        };
        assert_eq!(f(both), vec![("c".to_string(), 1)]);
    }

    #[test]
    fn latest_keeps_what_compaction_keeps() {
        let mut records = sample();
        // A re-delivered first version after the second: still version 2.
        records.push(rec("a", "churn", 1, 1, 1_000));
        let kept = latest(records);
        assert_eq!(
            ids(&kept),
            vec![("a".into(), 2), ("b".into(), 1), ("c".into(), 1)]
        );
    }

    #[test]
    fn latest_applies_before_the_filter() {
        // Decision a's latest version is human; its first was rules.
        let rules = Filter {
            decided_by: Some("rules".into()),
            model: Some("churn".into()),
            ..Filter::default()
        };
        assert_eq!(ids(&select(sample(), &rules, false)), vec![("a".into(), 1)]);
        assert!(select(sample(), &rules, true).is_empty());
    }

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("1717200000000"), Ok(1_717_200_000_000));
        assert_eq!(parse_time("-5"), Ok(-5));
        assert_eq!(parse_time("2024-06-01T00:00:00Z"), Ok(1_717_200_000_000));
        assert_eq!(
            parse_time("2024-06-01T00:00:00.250Z"),
            Ok(1_717_200_000_250)
        );
        assert_eq!(
            parse_time("2024-06-01T02:00:00+02:00"),
            Ok(1_717_200_000_000)
        );
        assert_eq!(
            parse_time("2024-05-31T19:30:00-04:30"),
            Ok(1_717_200_000_000)
        );
        assert_eq!(parse_time("2024-06-01"), Ok(1_717_200_000_000));
        assert_eq!(parse_time(" 2024-06-01T00:00:00Z "), Ok(1_717_200_000_000));
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-06-01T00:00:00+25:00",
            "2024-06-01T00:00:00",
            "99999999999999999999",
            "ü",
            "2024-06-01T00:00:00+0é:00",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
