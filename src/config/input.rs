//! How the input topics are keyed, and the topic names derived from the
//! configuration: the prefix of one deployment, the changelog and the
//! repartition topics.
//!
//! Guarantees: `topics.prefix` is applied once, at load, to every named
//! topic (a name that already starts with the prefix is kept, so a loaded
//! configuration loads again unchanged); the changelog and repartition
//! topics carry the prefix too; a prediction or label topic not keyed by
//! model id is consumed only to be forwarded, keyed by model id, to its
//! repartition topic, which is then the input whose records are processed.

use serde::{Deserialize, Serialize};

use super::model::{Config, TopicsConfig};

/// What an input topic's records are keyed by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKey {
    /// The model id, placed by the partitioner jidoka uses
    /// (`kafka.partitioner`): processed where it lands.
    #[default]
    ModelId,
    /// Anything else: repartitioned by model id first.
    Other,
}

/// Which records an input topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// `Prediction` records.
    Predictions,
    /// `Label` records.
    Labels,
}

/// A topic not keyed by model id and the repartition topic it is forwarded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repartition {
    /// What its records are.
    pub kind: InputKind,
    /// The topic as the platform writes it (consumed, never processed).
    pub source: String,
    /// `<prefix><group-id>-<topic>-repartition`, keyed by model id.
    pub topic: String,
}

impl TopicsConfig {
    /// `name` with `topics.prefix` in front, unless it already starts with it.
    pub fn prefixed(&self, name: &str) -> String {
        if name.starts_with(&self.prefix) {
            name.to_string()
        } else {
            format!("{}{name}", self.prefix)
        }
    }

    /// `name` without `topics.prefix`.
    fn unprefixed<'n>(&self, name: &'n str) -> &'n str {
        name.strip_prefix(&self.prefix).unwrap_or(name)
    }

    /// Puts `topics.prefix` in front of every named topic (idempotent).
    pub(super) fn apply_prefix(&mut self) {
        for name in [
            &mut self.predictions,
            &mut self.labels,
            &mut self.drift_events,
            &mut self.actions,
            &mut self.outcomes,
            &mut self.operator,
            &mut self.audit,
            &mut self.dead_letter,
            &mut self.evaluations,
        ] {
            if !name.starts_with(&self.prefix) {
                *name = format!("{}{name}", self.prefix);
            }
        }
    }
}

impl Config {
    /// The changelog topic of a store: `<prefix><group-id>-<store>-changelog`.
    pub fn changelog_topic(&self, store: &str) -> String {
        self.topics
            .prefixed(&format!("{}-{store}-changelog", self.kafka.group_id))
    }

    /// The lessons topic, read whole by every instance for pooled
    /// learning: `<prefix><group-id>-lessons`.
    pub fn lessons_topic(&self) -> String {
        self.topics
            .prefixed(&format!("{}-lessons", self.kafka.group_id))
    }

    /// The repartition topic of an input topic:
    /// `<prefix><group-id>-<topic>-repartition` (the topic's name without
    /// the prefix), as Kafka Streams names them.
    pub fn repartition_topic(&self, topic: &str) -> String {
        self.topics.prefixed(&format!(
            "{}-{}-repartition",
            self.kafka.group_id,
            self.topics.unprefixed(topic)
        ))
    }

    /// The input topics not keyed by model id, with their repartition topics.
    pub fn repartitions(&self) -> Vec<Repartition> {
        [
            (
                InputKind::Predictions,
                &self.topics.predictions,
                self.input.predictions.key,
            ),
            (
                InputKind::Labels,
                &self.topics.labels,
                self.input.labels.key,
            ),
        ]
        .into_iter()
        .filter(|(_, _, key)| *key == InputKey::Other)
        .map(|(kind, source, _)| Repartition {
            kind,
            source: source.clone(),
            topic: self.repartition_topic(source),
        })
        .collect()
    }

    /// The repartition of `topic` when it is an input not keyed by model id.
    pub fn repartition_of(&self, topic: &str) -> Option<Repartition> {
        self.repartitions().into_iter().find(|r| r.source == topic)
    }

    /// The topics whose records are processed, all keyed by model id and
    /// partitioned alike (a model's records of each on the same partition
    /// number; a partition's state is theirs): predictions and labels (or
    /// their repartition topics), outcomes, operator.
    pub fn input_topics(&self) -> Vec<String> {
        let keyed = |topic: &String, key: InputKey| match key {
            InputKey::ModelId => topic.clone(),
            InputKey::Other => self.repartition_topic(topic),
        };
        vec![
            keyed(&self.topics.predictions, self.input.predictions.key),
            keyed(&self.topics.labels, self.input.labels.key),
            self.topics.outcomes.clone(),
            self.topics.operator.clone(),
        ]
    }

    /// Every topic the processor's consumer group reads: the input topics
    /// and the topics not keyed by model id that feed their repartition
    /// topics.
    pub fn consumed_topics(&self) -> Vec<String> {
        let mut topics = self.input_topics();
        topics.extend(self.repartitions().into_iter().map(|r| r.source));
        topics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_names_every_topic_once() -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults_with(&[
            "topics.prefix = \"team-a.\"\ninput.predictions.key = \"other\"",
        ])?;
        assert_eq!(cfg.topics.predictions, "team-a.predictions");
        assert_eq!(cfg.topics.audit, "team-a.audit");
        assert_eq!(
            cfg.changelog_topic("windows"),
            "team-a.jidoka-windows-changelog"
        );
        assert_eq!(
            cfg.repartition_topic(&cfg.topics.predictions),
            "team-a.jidoka-predictions-repartition"
        );
        assert_eq!(
            cfg.input_topics(),
            [
                "team-a.jidoka-predictions-repartition",
                "team-a.labels",
                "team-a.outcomes",
                "team-a.operator"
            ]
        );
        assert_eq!(cfg.consumed_topics().len(), 5);
        // A loaded configuration loads again unchanged.
        let again = Config::from_figment(&figment::Figment::from(
            figment::providers::Serialized::defaults(&cfg),
        ))?
        .config;
        assert_eq!(again.topics, cfg.topics);
        Ok(())
    }

    #[test]
    fn model_id_keyed_inputs_are_processed_where_they_land(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults()?;
        assert!(cfg.repartitions().is_empty());
        assert_eq!(cfg.consumed_topics(), cfg.input_topics());
        assert_eq!(cfg.input_topics()[0], "predictions");
        assert_eq!(cfg.changelog_topic("windows"), "jidoka-windows-changelog");
        Ok(())
    }
}
