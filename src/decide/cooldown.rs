//! The per-model cooldown: no two commands for one model closer than the
//! configured span of event time.
//!
//! Guarantees: while `now - last < span` the cooldown is active, including
//! when event time runs backwards (`now < last`), so out-of-order records can
//! never open the gate early.

use std::time::Duration;

use crate::schema::CooldownCheck;

/// The cooldown rule.
#[derive(Debug, Clone, Copy)]
pub struct Cooldown {
    span_ms: i64,
}

impl Cooldown {
    /// A cooldown of `span`.
    pub fn new(span: Duration) -> Self {
        Cooldown {
            span_ms: i64::try_from(span.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Checks the cooldown at event time `now` given the last command time.
    pub fn check(&self, last_action_at: Option<i64>, now: i64) -> CooldownCheck {
        let remaining_ms = match last_action_at {
            Some(last) => self.span_ms.saturating_sub(now.saturating_sub(last)).max(0),
            None => 0,
        };
        let active = match last_action_at {
            Some(last) => now < last || remaining_ms > 0,
            None => false,
        };
        CooldownCheck {
            active,
            last_action_at,
            remaining_ms: if active { remaining_ms.max(1) } else { 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn window_edges() {
        let c = Cooldown::new(Duration::from_secs(60));
        assert!(!c.check(None, 0).active);
        let at = |now| c.check(Some(1_000), now);
        assert!(at(1_000).active);
        assert_eq!(at(1_000).remaining_ms, 60_000);
        assert!(at(60_999).active);
        assert!(!at(61_000).active);
        assert_eq!(at(61_000).remaining_ms, 0);
        assert!(
            at(500).active,
            "event time going backwards keeps the cooldown"
        );
    }

    proptest! {
        #[test]
        fn active_iff_inside_span(last in -1_000_000i64..1_000_000, now in -1_000_000i64..3_000_000, span in 0u64..1_000_000) {
            let c = Cooldown::new(Duration::from_millis(span));
            let check = c.check(Some(last), now);
            let inside = now < last || now - last < span as i64;
            prop_assert_eq!(check.active, inside);
            prop_assert_eq!(check.remaining_ms > 0, inside);
        }
    }
}
