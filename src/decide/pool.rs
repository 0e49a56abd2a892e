//! The pool: the lessons of every model in a learning scope, held by every
//! instance of the group, and the posterior a decision draws from.
//!
//! Guarantees:
//! * a lesson is held once per decision id: a replayed or redelivered
//!   lesson changes nothing;
//! * a posterior folds its pool's lessons in [`Lesson::order_key`] order
//!   (time learned, then decision id) into the engine's outcome statistics
//!   (each model's with forgetting, summed per group and overall) and asks
//!   the engine for the model's posterior, so two instances holding the
//!   same lessons compute bit-identical posteriors whatever order they read
//!   them in, and a model's decisions do not depend on which instance or
//!   partition holds it;
//! * a decision at event time `T` folds only the lessons learned at or
//!   before `T`;
//! * a pool holds at most its configured number of lessons: past it, the
//!   earliest learned are dropped (with forgetting they weigh little).

use std::collections::{BTreeMap, HashSet};

use super::bandit::{BanditError, LinearThompsonBandit};
use super::lesson::Lesson;
use super::Engine;
use crate::decide::bandit::Scope;

/// Name of the pool of `model` (in `group`) under `scope`.
pub fn pool_key(scope: Scope, model: &str, group: &str) -> String {
    match scope {
        Scope::Model => format!("model:{model}"),
        Scope::Group => format!("group:{group}"),
        Scope::Global => "global".into(),
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
pub struct LessonPool {
    scope: Scope,
    capacity: usize,
    pools: BTreeMap<String, BTreeMap<(i64, String), Lesson>>,
    seen: HashSet<String>,
}

impl LessonPool {
    /// An empty pool set for `scope`, each pool holding at most `capacity`
    /// lessons (at least one).
    pub fn new(scope: Scope, capacity: usize) -> LessonPool {
        LessonPool {
            scope,
            capacity: capacity.max(1),
            pools: BTreeMap::new(),
            seen: HashSet::new(),
        }
    }

    /// The scope pools are formed by.
    pub fn scope(&self) -> Scope {
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

    /// The posterior of `model` (in `group`) at event time `until`: the
    /// engine's, from the statistics of its pool's lessons learned at or
    /// before `until`, folded in order. A lesson of an arm or a context the
    /// engine no longer has is skipped.
    pub fn posterior(
        &self,
        model: &str,
        group: &str,
        until: i64,
        engine: &Engine,
    ) -> Result<(LinearThompsonBandit, Folded), BanditError> {
        let mut folded = Folded::default();
        let mut stats = engine.statistics()?;
        let forgetting = engine.learning().forgetting;
        let key = pool_key(self.scope, model, group);
        if let Some(pool) = self.pools.get(&key) {
            for l in pool.values().take_while(|l| l.learned_at <= until) {
                let observed = stats.observe(
                    &l.model_id,
                    &l.group,
                    l.action,
                    &l.features,
                    l.reward,
                    forgetting,
                );
                if observed.is_ok() {
                    folded.lessons += 1;
                    folded.own += u64::from(l.model_id == model);
                    folded.latest = Some(l.learned_at);
                }
            }
        }
        Ok((engine.pooled_bandit(&stats, model, group)?, folded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::decide::context;
    use crate::schema::Action;
    use proptest::prelude::*;

    const ARMS: [Action; 3] = [Action::Retrain, Action::Rollback, Action::Hold];

    fn engine() -> Result<Engine, Box<dyn std::error::Error>> {
        let mut c = Config::defaults()?;
        c.decide.bandit.arms = ARMS.iter().map(|a| a.as_str().to_string()).collect();
        Ok(Engine::new(&c.decide))
    }

    fn lesson(e: &Engine, i: u64, model: &str, group: &str, at: i64) -> Lesson {
        let mut features = vec![0.0; context::dim(e.policy().rules().len())];
        features[0] = 1.0;
        features[1] = (i % 7) as f64 / 7.0;
        features[2] = -((i % 5) as f64) / 5.0;
        Lesson {
            decision_id: format!("dec-{i}"),
            model_id: model.into(),
            group: group.into(),
            action: ARMS[(i % 3) as usize],
            features,
            reward: (i % 11) as f64 - 5.0,
            learned_at: at,
        }
    }

    fn fail(e: impl std::fmt::Display) -> TestCaseError {
        TestCaseError::fail(e.to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

        /// Any arrival order, with replays, gives the bit-identical
        /// posterior of folding the distinct lessons by time then id.
        #[test]
        fn arrival_order_and_replays_do_not_matter(
            times in proptest::collection::vec(0i64..50, 1..40),
            seed in any::<u64>(),
        ) {
            let e = engine().map_err(fail)?;
            let lessons: Vec<Lesson> = times
                .iter()
                .enumerate()
                .map(|(i, t)| lesson(&e, i as u64, if i % 2 == 0 { "a" } else { "b" }, "g", *t))
                .collect();
            let mut shuffled: Vec<Lesson> =
                lessons.iter().chain(&lessons[..lessons.len() / 2]).cloned().collect();
            let n = shuffled.len();
            for i in 0..n {
                let j = (seed.wrapping_mul(i as u64 + 1).wrapping_add(7) % n as u64) as usize;
                shuffled.swap(i, j);
            }
            let mut one = LessonPool::new(Scope::Global, 1000);
            let mut two = LessonPool::new(Scope::Global, 1000);
            for l in &lessons {
                one.insert(l.clone());
            }
            for l in shuffled {
                two.insert(l);
            }
            prop_assert_eq!(two.len(), lessons.len());
            let (p1, f1) = one.posterior("a", "g", i64::MAX, &e).map_err(fail)?;
            let (p2, f2) = two.posterior("a", "g", i64::MAX, &e).map_err(fail)?;
            prop_assert_eq!(p1.to_bytes(), p2.to_bytes());
            prop_assert_eq!(f1, f2);
            // Brute force: the engine's statistics fed in (time, id) order.
            let mut sorted = lessons.clone();
            sorted.sort_by(|x, y| x.order_key().cmp(&y.order_key()));
            let mut stats = e.statistics().map_err(fail)?;
            for l in &sorted {
                stats
                    .observe(&l.model_id, &l.group, l.action, &l.features, l.reward, e.learning().forgetting)
                    .map_err(fail)?;
            }
            let brute = e.pooled_bandit(&stats, "a", "g").map_err(fail)?;
            prop_assert_eq!(p1.to_bytes(), brute.to_bytes());
        }
    }

    #[test]
    fn scopes_and_time_limit_what_is_folded() -> Result<(), Box<dyn std::error::Error>> {
        let e = engine()?;
        let mut global = LessonPool::new(Scope::Global, 100);
        let mut group = LessonPool::new(Scope::Group, 100);
        let mut model = LessonPool::new(Scope::Model, 100);
        let all = [
            lesson(&e, 1, "a", "g1", 10),
            lesson(&e, 2, "b", "g1", 20),
            lesson(&e, 3, "c", "g2", 30),
            lesson(&e, 4, "a", "g1", 40),
        ];
        for l in &all {
            global.insert(l.clone());
            group.insert(l.clone());
            model.insert(l.clone());
        }
        assert_eq!(global.posterior("a", "g1", 100, &e)?.1.lessons, 4);
        assert_eq!(group.posterior("a", "g1", 100, &e)?.1.lessons, 3);
        assert_eq!(model.posterior("a", "g1", 100, &e)?.1.lessons, 2);
        let (_, f) = global.posterior("a", "g1", 25, &e)?;
        assert_eq!(
            f,
            Folded {
                lessons: 2,
                own: 1,
                latest: Some(20)
            }
        );
        assert_eq!(global.posterior("z", "g9", 5, &e)?.1, Folded::default());
        Ok(())
    }

    #[test]
    fn capacity_drops_the_earliest_learned() -> Result<(), Box<dyn std::error::Error>> {
        let e = engine()?;
        let mut pool = LessonPool::new(Scope::Global, 2);
        for (i, t) in [(1, 30), (2, 10), (3, 20)] {
            pool.insert(lesson(&e, i, "a", "g", t));
        }
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.posterior("a", "g", 100, &e)?.1.lessons, 2);
        // The one learned at 10 is gone; a replay of it is still refused.
        assert_eq!(pool.posterior("a", "g", 15, &e)?.1.lessons, 0);
        assert!(!pool.insert(lesson(&e, 2, "a", "g", 10)));
        Ok(())
    }
}
