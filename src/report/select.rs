//! What a report shows: one model or all, and an event-time range.
//!
//! Guarantees: pure; bounds are inclusive and either may be absent (open);
//! a range whose start is after its end is refused when it is made, so a
//! [`Selection`] always selects something in principle.

/// The model and the event-time range (ms, inclusive) a report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only this model (every model when `None`).
    pub model: Option<String>,
    /// Only what happened at or after this event time (ms).
    pub from: Option<i64>,
    /// Only what happened at or before this event time (ms).
    pub to: Option<i64>,
}

/// A range that ends before it starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--from ({from} ms) is after --to ({to} ms): the range selects nothing")]
pub struct RangeError {
    /// Start.
    pub from: i64,
    /// End.
    pub to: i64,
}

impl Selection {
    /// Every model, every time.
    pub fn all() -> Self {
        Selection::default()
    }

    /// `model` (or every model) between `from` and `to`.
    pub fn new(
        model: Option<&str>,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Self, RangeError> {
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(RangeError { from, to });
            }
        }
        Ok(Selection {
            model: model.map(str::to_string),
            from,
            to,
        })
    }

    /// Whether `model` is shown.
    pub fn wants_model(&self, model: &str) -> bool {
        self.model.as_deref().is_none_or(|m| m == model)
    }

    /// Whether event time `t` (ms) is in the range.
    pub fn contains(&self, t: i64) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t <= e)
    }

    /// Whether a record of `model` at `t` is shown.
    pub fn wants(&self, model: &str, t: i64) -> bool {
        self.wants_model(model) && self.contains(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_open_when_absent() -> Result<(), RangeError> {
        let s = Selection::new(Some("m"), Some(10), Some(20))?;
        assert!(s.wants("m", 10) && s.wants("m", 20) && s.wants("m", 15));
        assert!(!s.wants("m", 9) && !s.wants("m", 21) && !s.wants("n", 15));
        let open = Selection::new(None, None, Some(5))?;
        assert!(open.wants("any", i64::MIN) && open.wants("x", 5) && !open.wants("x", 6));
        assert!(Selection::all().wants("m", i64::MAX));
        Ok(())
    }

    #[test]
    fn a_reversed_range_is_refused() {
        let err = Selection::new(None, Some(2), Some(1));
        assert_eq!(err, Err(RangeError { from: 2, to: 1 }));
        assert!(Selection::new(None, Some(1), Some(1)).is_ok());
    }
}
