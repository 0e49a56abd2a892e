//! The order a replay prints audit records in.
//!
//! Guarantees: pure (no Kafka, no clock). [`ReplayOrder::Time`] prints by
//! decision time, then decision id, then version, across partitions: the
//! whole topic when a replay reads to its end; following, every batch that
//! arrived before the read caught up is sorted, so a record that arrives
//! after its batch was printed comes after it even if it is older.
//! [`ReplayOrder::Offset`] prints in the order the records were read
//! (each partition in offset order, partitions interleaved as they arrive).

use std::cmp::Ordering;

use crate::schema::AuditRecord;

/// The order of a replay's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReplayOrder {
    /// By decision time, then decision id, then version.
    #[default]
    Time,
    /// As read from the topic.
    Offset,
}

impl ReplayOrder {
    /// The order named `time` or `offset`.
    pub fn parse(name: &str) -> Result<ReplayOrder, String> {
        match name {
            "time" => Ok(ReplayOrder::Time),
            "offset" => Ok(ReplayOrder::Offset),
            _ => Err(format!("unknown order `{name}` (expected time or offset)")),
        }
    }
}

/// Decision time, then decision id, then version.
pub fn by_time(a: &AuditRecord, b: &AuditRecord) -> Ordering {
    (a.decided_at, &a.decision_id, a.version).cmp(&(b.decided_at, &b.decision_id, b.version))
}

/// Records waiting to be printed in an order.
#[derive(Debug, Default)]
pub struct Ordered {
    order: ReplayOrder,
    waiting: Vec<AuditRecord>,
}

impl Ordered {
    /// An empty buffer for `order`.
    pub fn new(order: ReplayOrder) -> Self {
        Ordered {
            order,
            waiting: Vec::new(),
        }
    }

    /// Takes a record; returns what can be printed now, in order (with
    /// [`ReplayOrder::Offset`], the record itself).
    pub fn push(&mut self, record: AuditRecord) -> Vec<AuditRecord> {
        match self.order {
            ReplayOrder::Offset => vec![record],
            ReplayOrder::Time => {
                self.waiting.push(record);
                Vec::new()
            }
        }
    }

    /// The read caught up: everything waiting, in order.
    pub fn caught_up(&mut self) -> Vec<AuditRecord> {
        let mut out = std::mem::take(&mut self.waiting);
        out.sort_by(by_time);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(decision: &str, at: i64, version: i32) -> AuditRecord {
        AuditRecord {
            decision_id: decision.into(),
            decided_at: at,
            version,
            ..AuditRecord::default()
        }
    }

    fn keys(records: &[AuditRecord]) -> Vec<(i64, String, i32)> {
        records
            .iter()
            .map(|r| (r.decided_at, r.decision_id.clone(), r.version))
            .collect()
    }

    #[test]
    fn time_order_sorts_each_caught_up_batch() {
        let mut o = Ordered::new(ReplayOrder::Time);
        for r in [record("b", 10, 1), record("a", 10, 2), record("c", 5, 1)] {
            assert!(o.push(r).is_empty());
        }
        assert!(o.push(record("a", 10, 1)).is_empty());
        assert_eq!(
            keys(&o.caught_up()),
            [
                (5, "c".into(), 1),
                (10, "a".into(), 1),
                (10, "a".into(), 2),
                (10, "b".into(), 1)
            ]
        );
        // A later batch is printed after, older or not.
        assert!(o.push(record("d", 1, 1)).is_empty());
        assert_eq!(keys(&o.caught_up()), [(1, "d".into(), 1)]);
        assert!(o.caught_up().is_empty());
    }

    #[test]
    fn offset_order_passes_records_through() {
        let mut o = Ordered::new(ReplayOrder::Offset);
        assert_eq!(keys(&o.push(record("b", 10, 1))), [(10, "b".into(), 1)]);
        assert_eq!(keys(&o.push(record("a", 1, 1))), [(1, "a".into(), 1)]);
        assert!(o.caught_up().is_empty());
    }

    #[test]
    fn orders_parse_by_name() {
        assert_eq!(ReplayOrder::parse("time"), Ok(ReplayOrder::Time));
        assert_eq!(ReplayOrder::parse("offset"), Ok(ReplayOrder::Offset));
        assert!(ReplayOrder::parse("partition").is_err());
    }

    proptest! {
        #[test]
        fn a_caught_up_batch_is_a_sorted_permutation(
            records in proptest::collection::vec((0i64..5, 0u8..4, 1i32..3), 0..40),
        ) {
            let mut o = Ordered::new(ReplayOrder::Time);
            for (at, d, v) in &records {
                o.push(record(&format!("d{d}"), *at, *v));
            }
            let got = keys(&o.caught_up());
            let mut want: Vec<(i64, String, i32)> =
                records.iter().map(|(at, d, v)| (*at, format!("d{d}"), *v)).collect();
            want.sort();
            prop_assert_eq!(got, want);
        }
    }
}
