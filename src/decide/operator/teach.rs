//! Teaching: a complete reward reaches the model's stored bandit and
//! becomes a lesson for the pools.
//!
//! Guarantees: one call per decision's complete reward (the callers see to
//! it: an outcome or a measurement is learned once); the lesson carries the
//! decision id (its key on the lessons topic), the arm, the context the arm
//! was chosen in and the reward, learned at the model's stream time (event
//! time, never before the decision); it is added to this instance's pool at
//! once and returned for the lessons topic, from which every other instance
//! takes it.

use super::Decisions;
use crate::decide::lesson::Lesson;
use crate::schema::Action;
use crate::stage::Models;
use crate::state::StateError;

/// What a reward taught.
#[derive(Debug, Clone, PartialEq)]
pub struct Taught {
    /// The model's stored bandit took it (false: an arm or a context the
    /// engine no longer has).
    pub stored: bool,
    /// The lesson for the pools.
    pub lesson: Lesson,
}

impl Decisions {
    /// Teaches `reward` for `arm` in `features` from `model`'s decision
    /// `decision_id`, taken at event time `decided_at`.
    #[allow(clippy::too_many_arguments)]
    pub fn teach(
        &mut self,
        models: &mut Models,
        model: &str,
        decision_id: &str,
        decided_at: i64,
        arm: Action,
        features: &[f64],
        reward: f64,
    ) -> Result<Taught, StateError> {
        let mut stored = false;
        if let Some(mut bandit) = self.bandit(model)? {
            if bandit.update(arm, features, reward).is_ok() {
                self.save_bandit(models, model, &bandit);
                stored = true;
            }
        }
        let learned_at = models
            .load(model)?
            .meta
            .clock
            .max_event_time
            .map_or(decided_at, |t| t.max(decided_at));
        let lesson = Lesson {
            decision_id: decision_id.to_string(),
            model_id: model.to_string(),
            group: self.group_of(model),
            action: arm,
            features: features.to_vec(),
            reward,
            learned_at,
        };
        self.learn(lesson.clone());
        Ok(Taught { stored, lesson })
    }
}
