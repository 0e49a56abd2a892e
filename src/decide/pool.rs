//! The pool: the lessons of every model in a learning scope, held by every
//! instance of the group, and the posterior a decision draws from.
//!
//! Guarantees:
//! * a lesson is held once per decision id: a replayed or redelivered
//!   lesson changes nothing;
//! * a posterior folds its pool's lessons in [`Lesson::order_key`] order
//!   (time learned, then decision id) into the engine's fresh bandit, so two
//!   instances holding the same lessons compute bit-identical posteriors
//!   whatever order they read them in, and a model's decisions do not
//!   depend on which instance or partition holds it;
//! * a decision at event time `T` folds only the lessons learned at or
//!   before `T`;
//! * a pool holds at most its configured number of lessons: past it, the
//!   earliest learned are dropped (with forgetting they weigh little).

use std::collections::{BTreeMap, HashSet};

use super::bandit::LinearThompsonBandit;
use super::lesson::Lesson;
use crate::config::BanditScope;

/// Name of the pool of `model` (in `group`) under `scope`.
pub fn pool_key(scope: BanditScope, model: &str, group: &str) -> String {
    match scope {
        BanditScope::Model => format!("model:{model}"),
        BanditScope::Group => format!("group:{group}"),
        BanditScope::Global => "global".into(),
    }
}

/// What a posterior folded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Folded {
    /// Lessons folded.
    pub lessons: u64,
    /// Lessons of the deciding model among them.
    pub own: u64,
    /// When the latest of them was learned (ms), if any.
    pub latest: Option<i64>,
}

/// The lessons of every pool.
#[derive(Debug, Clone)]
pub struct Pool {
    scope: BanditScope,
    capacity: usize,
    pools: BTreeMap<String, BTreeMap<(i64, String), Lesson>>,
    seen: HashSet<String>,
}

impl Pool {
    /// An empty pool set for `scope`, each pool holding at most `capacity`
    /// lessons (at least one).
    pub fn new(scope: BanditScope, capacity: usize) -> Pool {
        Pool {
            scope,
            capacity: capacity.max(1),
            pools: BTreeMap::new(),
            seen: HashSet::new(),
        }
    }

    /// The scope pools are formed by.
    pub fn scope(&self) -> BanditScope {
        self.scope
    }

    /// Adds a lesson to its pool; false if its decision was already held.
    pub fn insert(&mut self, lesson: Lesson) -> bool {
        if !self.seen.insert(lesson.decision_id.clone()) {
            return false;
        }
        let key = pool_key(self.scope, &lesson.model_id, &lesson.group);
        let pool = self.pools.entry(key).or_default();
        pool.insert((lesson.learned_at, lesson.decision_id.clone()), lesson);
        while pool.len() > self.capacity {
            pool.pop_first();
        }
        true
    }

    /// Lessons held, over every pool.
    pub fn len(&self) -> usize {
        self.pools.values().map(BTreeMap::len).sum()
    }

    /// Whether no lesson is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The posterior of `model` (in `group`) at event time `until`: `fresh`
    /// (the engine's bandit before any outcome) updated with its pool's
    /// lessons learned at or before `until`, in order. A lesson of an arm
    /// or a context the engine no longer has is skipped.
    pub fn posterior(
        &self,
        model: &str,
        group: &str,
        until: i64,
        mut fresh: LinearThompsonBandit,
    ) -> (LinearThompsonBandit, Folded) {
        let mut folded = Folded::default();
        let key = pool_key(self.scope, model, group);
        let Some(pool) = self.pools.get(&key) else {
            return (fresh, folded);
        };
        for lesson in pool.values().take_while(|l| l.learned_at <= until) {
            if fresh
                .update(lesson.action, &lesson.features, lesson.reward)
                .is_ok()
            {
                folded.lessons += 1;
                folded.own += u64::from(lesson.model_id == model);
                folded.latest = Some(lesson.learned_at);
            }
        }
        (fresh, folded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Action;
    use proptest::prelude::*;

    const ARMS: [Action; 3] = [Action::Retrain, Action::Rollback, Action::None];

    fn fresh() -> LinearThompsonBandit {
        #[allow(clippy::expect_used)]
        LinearThompsonBandit::new(3, &ARMS, crate::decide::bandit::Prior::default())
            .expect("a valid bandit")
    }

    fn lesson(i: u64, model: &str, group: &str, at: i64) -> Lesson {
        Lesson {
            decision_id: format!("dec-{i}"),
            model_id: model.into(),
            group: group.into(),
            action: ARMS[(i % 3) as usize],
            features: vec![1.0, (i % 7) as f64 / 7.0, -((i % 5) as f64) / 5.0],
            reward: (i % 11) as f64 - 5.0,
            learned_at: at,
        }
    }

    proptest! {
        /// Any arrival order, with duplicates, gives the bit-identical
        /// posterior of folding the distinct lessons by time then id.
        #[test]
        fn arrival_order_and_replays_do_not_matter(
            times in proptest::collection::vec(0i64..50, 1..40),
            seed in any::<u64>(),
        ) {
            let lessons: Vec<Lesson> = times
                .iter()
                .enumerate()
                .map(|(i, t)| lesson(i as u64, if i % 2 == 0 { "a" } else { "b" }, "g", *t))
                .collect();
            let mut shuffled: Vec<Lesson> = lessons.iter().chain(&lessons[..lessons.len() / 2]).cloned().collect();
            let n = shuffled.len();
            for i in 0..n {
                let j = (seed.wrapping_mul(i as u64 + 1).wrapping_add(7) % n as u64) as usize;
                shuffled.swap(i, j);
            }
            let mut one = Pool::new(BanditScope::Global, 1000);
            let mut two = Pool::new(BanditScope::Global, 1000);
            for l in &lessons {
                one.insert(l.clone());
            }
            for l in shuffled {
                two.insert(l);
            }
            prop_assert_eq!(two.len(), lessons.len());
            let (p1, f1) = one.posterior("a", "g", i64::MAX, fresh());
            let (p2, f2) = two.posterior("a", "g", i64::MAX, fresh());
            prop_assert_eq!(p1.to_bytes(), p2.to_bytes());
            prop_assert_eq!(f1, f2);
            // Brute force: the same updates, sorted by (time, id).
            let mut sorted = lessons.clone();
            sorted.sort_by(|x, y| x.order_key().cmp(&y.order_key()));
            let mut brute = fresh();
            for l in &sorted {
                brute.update(l.action, &l.features, l.reward).map_err(|e| TestCaseError::fail(format!("{e}")))?;
            }
            prop_assert_eq!(p1.to_bytes(), brute.to_bytes());
        }
    }

    #[test]
    fn scopes_and_time_limit_what_is_folded() {
        let mut global = Pool::new(BanditScope::Global, 100);
        let mut group = Pool::new(BanditScope::Group, 100);
        let mut model = Pool::new(BanditScope::Model, 100);
        let all = [
            lesson(1, "a", "g1", 10),
            lesson(2, "b", "g1", 20),
            lesson(3, "c", "g2", 30),
            lesson(4, "a", "g1", 40),
        ];
        for l in &all {
            global.insert(l.clone());
            group.insert(l.clone());
            model.insert(l.clone());
        }
        assert_eq!(global.posterior("a", "g1", 100, fresh()).1.lessons, 4);
        assert_eq!(group.posterior("a", "g1", 100, fresh()).1.lessons, 3);
        assert_eq!(model.posterior("a", "g1", 100, fresh()).1.lessons, 2);
        let (_, f) = global.posterior("a", "g1", 25, fresh());
        assert_eq!(
            f,
            Folded {
                lessons: 2,
                own: 1,
                latest: Some(20)
            }
        );
        assert_eq!(global.posterior("z", "g9", 5, fresh()).1, Folded::default());
    }

    #[test]
    fn capacity_drops_the_earliest_learned() {
        let mut pool = Pool::new(BanditScope::Global, 2);
        for (i, t) in [(1, 30), (2, 10), (3, 20)] {
            pool.insert(lesson(i, "a", "g", t));
        }
        assert_eq!(pool.len(), 2);
        let (_, f) = pool.posterior("a", "g", 100, fresh());
        assert_eq!(f.lessons, 2);
        // The one learned at 10 is gone; a replay of it is still refused.
        assert!(pool.posterior("a", "g", 15, fresh()).1.lessons == 0);
        assert!(!pool.insert(lesson(2, "a", "g", 10)));
    }
}
