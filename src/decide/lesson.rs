//! A lesson: what one decision taught the bandit (its arm, its context and
//! the reward), as every instance of the group reads it from the lessons
//! topic to learn in a pool.
//!
//! Guarantees: a lesson encodes to a version byte followed by postcard, and
//! decodes only from that version (anything else is an error naming the
//! version, never a panic); its key on the topic is its decision id, so
//! compaction keeps one lesson per decision and a replayed lesson is the
//! same record.

use serde::{Deserialize, Serialize};

use crate::schema::Action;

/// Version byte of the encoding.
const VERSION: u8 = 1;

/// What one decision taught.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    /// Decision learned from (the record's key).
    pub decision_id: String,
    /// Model the decision was for.
    pub model_id: String,
    /// The model's bandit group (`decide.bandit.scope = "group"`).
    pub group: String,
    /// Arm taken.
    pub action: Action,
    /// Bandit context the arm was chosen in.
    pub features: Vec<f64>,
    /// Reward learned.
    pub reward: f64,
    /// Event time at which it was learned (ms): the time of the outcome,
    /// or the end of the measurement horizon.
    pub learned_at: i64,
}

/// Why a lesson did not decode.
#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    /// An encoding version this build does not read.
    #[error("lesson of encoding version {0:?} (this build reads {VERSION})")]
    Version(Option<u8>),
    /// The bytes are not a lesson.
    #[error("lesson does not decode: {0}")]
    Decode(#[from] postcard::Error),
}

impl Lesson {
    /// The lesson's bytes on the lessons topic.
    pub fn encode(&self) -> Result<Vec<u8>, LessonError> {
        let mut out = vec![VERSION];
        out.extend(postcard::to_stdvec(self)?);
        Ok(out)
    }

    /// A lesson from its bytes.
    pub fn decode(bytes: &[u8]) -> Result<Lesson, LessonError> {
        match bytes.split_first() {
            Some((&VERSION, rest)) => Ok(postcard::from_bytes(rest)?),
            other => Err(LessonError::Version(other.map(|(v, _)| *v))),
        }
    }

    /// Order in which a pool folds lessons: by the time they were learned,
    /// then by decision id, whichever instance or partition they came from.
    pub fn order_key(&self) -> (i64, &str) {
        (self.learned_at, &self.decision_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson() -> Lesson {
        Lesson {
            decision_id: "dec-1".into(),
            model_id: "m".into(),
            group: "*".into(),
            action: Action::Retrain,
            features: vec![1.0, 0.25, -0.5],
            reward: -1.5,
            learned_at: 42,
        }
    }

    #[test]
    fn round_trips() -> Result<(), LessonError> {
        let l = lesson();
        assert_eq!(Lesson::decode(&l.encode()?)?, l);
        Ok(())
    }

    #[test]
    fn other_versions_and_garbage_are_errors() -> Result<(), LessonError> {
        let mut bytes = lesson().encode()?;
        bytes[0] = 9;
        assert!(matches!(
            Lesson::decode(&bytes),
            Err(LessonError::Version(Some(9)))
        ));
        assert!(matches!(
            Lesson::decode(&[]),
            Err(LessonError::Version(None))
        ));
        assert!(matches!(
            Lesson::decode(&[VERSION, 0xff, 0xff]),
            Err(LessonError::Decode(_))
        ));
        Ok(())
    }
}
