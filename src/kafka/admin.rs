//! The topics jidoka uses and their creation.
//!
//! Guarantees: `create_topics` is idempotent (an existing topic is reported,
//! not an error); the audit topic is created compacted, so each decision's
//! latest record is kept forever; the evaluations topic is created with
//! `evaluations.retention` (delete retention); a repartition topic (an
//! input not keyed by model id) is created with delete retention and as
//! many partitions as the other inputs, so it is co-partitioned with them.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use super::client::admin_config;
use super::KafkaError;
use crate::config::Config;
use crate::state::Cf;

/// How one topic is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partitions: i32,
    /// Replication factor.
    pub replication: i32,
    /// Topic-level configs.
    pub configs: Vec<(&'static str, String)>,
}

/// What `create_topics` did for one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicStatus {
    /// It was created.
    Created,
    /// It existed already (left unchanged).
    AlreadyExists,
}

/// Every topic of the configuration with its settings: the named topics,
/// then the repartition topics of inputs not keyed by model id, then the
/// compacted lessons topic (pooled learning, keyed by decision id), then
/// (when `state.changelog` is on) one compacted changelog topic per store,
/// with as many partitions as the input topics.
pub fn topic_specs(cfg: &Config) -> Vec<TopicSpec> {
    let t = &cfg.topics;
    let changelogs = cfg
        .state
        .changelog
        .then(|| {
            Cf::ALL
                .into_iter()
                .filter(|cf| cf.changelogged())
                .map(|cf| TopicSpec {
                    name: cfg.changelog_topic(cf.name()),
                    partitions: t.partitions,
                    replication: t.replication_factor,
                    configs: vec![("cleanup.policy", "compact".to_string())],
                })
        })
        .into_iter()
        .flatten();
    t.named()
        .into_iter()
        .map(|(key, name)| {
            let configs = match key {
                "audit" => vec![
                    ("cleanup.policy", "compact".to_string()),
                    ("min.compaction.lag.ms", "60000".to_string()),
                ],
                "dead-letter" => vec![("retention.ms", (30u64 * 24 * 3600 * 1000).to_string())],
                "evaluations" => vec![(
                    "retention.ms",
                    cfg.evaluations.retention.as_millis().to_string(),
                )],
                _ => Vec::new(),
            };
            TopicSpec {
                name: name.to_string(),
                partitions: t.partitions,
                replication: t.replication_factor,
                configs,
            }
        })
        .chain(cfg.repartitions().into_iter().map(|r| TopicSpec {
            name: r.topic,
            partitions: t.partitions,
            replication: t.replication_factor,
            configs: vec![("cleanup.policy", "delete".to_string())],
        }))
        .chain(std::iter::once(TopicSpec {
            name: cfg.lessons_topic(),
            partitions: t.partitions,
            replication: t.replication_factor,
            configs: vec![("cleanup.policy", "compact".to_string())],
        }))
        .chain(changelogs)
        .collect()
}

/// Creates every topic that does not exist yet.
pub async fn create_topics(
    cfg: &Config,
    timeout: Duration,
) -> Result<Vec<(String, TopicStatus)>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = admin_config(cfg).create()?;
    let specs = topic_specs(cfg);
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|s| {
            s.configs.iter().fold(
                NewTopic::new(
                    &s.name,
                    s.partitions,
                    TopicReplication::Fixed(s.replication),
                ),
                |t, (k, v)| t.set(k, v),
            )
        })
        .collect();
    let opts = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results = admin.create_topics(&new_topics, &opts).await?;
    let mut out = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(name) => out.push((name, TopicStatus::Created)),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                out.push((name, TopicStatus::AlreadyExists))
            }
            Err((topic, code)) => return Err(KafkaError::CreateTopic { topic, code }),
        }
    }
    Ok(out)
}
