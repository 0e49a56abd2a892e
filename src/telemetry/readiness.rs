//! Readiness of one pipeline instance, for the `/health` endpoint.
//!
//! Guarantees: the instance is ready only while it owns at least one
//! partition, the processing loop has restored the state of every
//! partition assigned so far (it calls [`Readiness::restored`] with the
//! epoch it read before taking the assignments), and a broker is reachable.
//! Every assign or revoke starts a new epoch, so an assignment that arrives
//! while the loop restores earlier ones keeps the instance unready until the
//! loop has handled it too.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Why an instance is not ready (one line each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// librdkafka reported every broker down.
    #[error("no broker reachable")]
    BrokerUnreachable,
    /// The consumer owns no partition (not joined yet, or revoked).
    #[error("no partitions assigned")]
    NoAssignment,
    /// Partitions were assigned whose state is not restored yet.
    #[error("restoring the state of assigned partitions")]
    Restoring,
}

/// Assignment and restore progress, shared by the consumer context (which
/// sees rebalances) and the processing loop (which restores).
#[derive(Debug, Default)]
pub struct Readiness {
    owned: Mutex<BTreeSet<(String, i32)>>,
    /// Bumped at every assign and revoke.
    epoch: AtomicU64,
    /// The last epoch whose assignments the loop has restored.
    restored_epoch: AtomicU64,
}

impl Readiness {
    /// Partitions were assigned to this instance (not restored yet).
    pub fn assign(&self, parts: &[(String, i32)]) {
        self.owned_mut(|owned| owned.extend(parts.iter().cloned()));
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Partitions were revoked from this instance.
    pub fn revoke(&self, parts: &[(String, i32)]) {
        self.owned_mut(|owned| {
            for p in parts {
                owned.remove(p);
            }
        });
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// The current epoch; read it before taking the assignments to restore.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Every assignment up to `epoch` is restored.
    pub fn restored(&self, epoch: u64) {
        self.restored_epoch.fetch_max(epoch, Ordering::SeqCst);
    }

    /// Partitions currently owned.
    pub fn owned(&self) -> usize {
        self.owned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Ready, or why not, given whether a broker is reachable.
    pub fn check(&self, broker_reachable: bool) -> Result<(), NotReady> {
        if !broker_reachable {
            return Err(NotReady::BrokerUnreachable);
        }
        if self.owned() == 0 {
            return Err(NotReady::NoAssignment);
        }
        if self.restored_epoch.load(Ordering::SeqCst) < self.epoch() {
            return Err(NotReady::Restoring);
        }
        Ok(())
    }

    fn owned_mut(&self, f: impl FnOnce(&mut BTreeSet<(String, i32)>)) {
        f(&mut self.owned.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: i32) -> (String, i32) {
        ("predictions".to_string(), n)
    }

    #[test]
    fn not_ready_until_assigned_and_restored() {
        let r = Readiness::default();
        assert_eq!(r.check(true), Err(NotReady::NoAssignment));
        let before = r.epoch();
        r.assign(&[p(0), p(1)]);
        assert_eq!(r.check(true), Err(NotReady::Restoring));
        // The loop read the epoch before this assignment: still restoring.
        r.restored(before);
        assert_eq!(r.check(true), Err(NotReady::Restoring));
        r.restored(r.epoch());
        assert_eq!(r.check(true), Ok(()));
        assert_eq!(r.check(false), Err(NotReady::BrokerUnreachable));
    }

    #[test]
    fn revoke_clears_until_the_loop_has_seen_it() {
        let r = Readiness::default();
        r.assign(&[p(0), p(1)]);
        r.restored(r.epoch());
        r.revoke(&[p(0)]);
        assert_eq!(r.owned(), 1);
        assert_eq!(r.check(true), Err(NotReady::Restoring));
        r.restored(r.epoch());
        assert_eq!(r.check(true), Ok(()));
        r.revoke(&[p(1)]);
        r.restored(r.epoch());
        assert_eq!(r.check(true), Err(NotReady::NoAssignment));
    }

    #[test]
    fn reasons_are_one_line() {
        for e in [
            NotReady::BrokerUnreachable,
            NotReady::NoAssignment,
            NotReady::Restoring,
        ] {
            assert!(!e.to_string().contains('\n'));
        }
    }
}
