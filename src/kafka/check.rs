//! The topic check at start: `jidoka run` and `jidoka executor` refuse to
//! start on topics that would break their guarantees, with a message naming
//! each topic and the fix.
//!
//! Guarantees: no topic is created by the check (the broker's metadata of
//! all topics is read, never that of one named topic, which a broker may
//! create on the fly); the processor starts only if every topic it reads or
//! writes exists, the topics whose partitions hold a model's state
//! (predictions and labels or their repartition topics, outcomes, operator,
//! the changelog topics) have equal partition counts, and `audit` and every
//! changelog topic are compacted; the executor starts only if `actions` and
//! `outcomes` exist. Every problem is reported, not just the first. Topic
//! configs that are not described within 10 s or that jidoka may not
//! describe (librdkafka's mock cluster lacks the request; every Kafka
//! broker since 0.11 has it; ACLs may deny it) leave the cleanup policies
//! unchecked, with a warning: only a policy known to be wrong refuses. The
//! judgement ([`problems`]) is a pure function of the described topics.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use super::client::admin_config;
use super::KafkaError;
use crate::config::Config;
use crate::state::Cf;

/// Which process is starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `jidoka run`.
    Processor,
    /// `jidoka executor`.
    Executor,
}

/// What the starting process needs of the topics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Topics that must exist.
    pub exist: Vec<String>,
    /// Topics that must have equal partition counts (the first is the
    /// reference named in the message).
    pub co_partitioned: Vec<String>,
    /// Topics whose `cleanup.policy` must include `compact`.
    pub compacted: Vec<String>,
}

/// What the broker says of one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// Partitions.
    pub partitions: i32,
    /// `cleanup.policy`; `None` when it was not described.
    pub cleanup_policy: Option<String>,
}

/// One reason not to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicProblem {
    /// The topic does not exist.
    Missing(String),
    /// The topic's partition count differs from the reference topic's.
    Partitions {
        /// Topic.
        topic: String,
        /// Its partitions.
        partitions: i32,
        /// The reference topic.
        reference: String,
        /// The reference's partitions.
        expected: i32,
    },
    /// The topic is not compacted.
    NotCompacted {
        /// Topic.
        topic: String,
        /// Its `cleanup.policy`.
        policy: String,
    },
}

impl std::fmt::Display for TopicProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TopicProblem::Missing(topic) => write!(
                f,
                "topic `{topic}` does not exist; create it (and any other missing topic) with `jidoka topics create`, which leaves existing topics alone"
            ),
            TopicProblem::Partitions {
                topic,
                partitions,
                reference,
                expected,
            } => write!(
                f,
                "topic `{topic}` has {partitions} partitions but `{reference}` has {expected}: a model's records of both must share a partition number; recreate `{topic}` with {expected} partitions (delete it and run `jidoka topics create` with `topics.partitions = {expected}`), or give every input the same count"
            ),
            TopicProblem::NotCompacted { topic, policy } => write!(
                f,
                "topic `{topic}` has cleanup.policy={policy} but must be compacted (its latest record per key is kept forever); set cleanup.policy=compact on it (`kafka-configs --alter --entity-type topics --entity-name {topic} --add-config cleanup.policy=compact`) or delete it and run `jidoka topics create`"
            ),
        }
    }
}

/// The topics are not fit to start on (the user's to fix; retrying does
/// not help until they are).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing to start: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct TopicsNotReady(pub Vec<TopicProblem>);

/// What `role` needs of the configuration's topics.
pub fn expected(cfg: &Config, role: Role) -> Expected {
    let t = &cfg.topics;
    if role == Role::Executor {
        return Expected {
            exist: vec![t.actions.clone(), t.outcomes.clone()],
            ..Expected::default()
        };
    }
    let changelogs: Vec<String> = if cfg.state.changelog {
        Cf::ALL
            .into_iter()
            .filter(|cf| cf.changelogged())
            .map(|cf| cfg.changelog_topic(cf.name()))
            .collect()
    } else {
        Vec::new()
    };
    let mut exist: Vec<String> = t
        .named()
        .into_iter()
        .filter(|(key, _)| *key != "evaluations" || cfg.evaluations.enabled)
        .map(|(_, name)| name.to_string())
        .collect();
    exist.extend(cfg.repartitions().into_iter().map(|r| r.topic));
    exist.push(cfg.lessons_topic());
    exist.extend(changelogs.iter().cloned());
    let mut co_partitioned = cfg.input_topics();
    co_partitioned.extend(changelogs.iter().cloned());
    let mut compacted = vec![t.audit.clone(), cfg.lessons_topic()];
    compacted.extend(changelogs);
    Expected {
        exist,
        co_partitioned,
        compacted,
    }
}

/// Every problem of the described topics against what is expected: missing
/// topics, partition counts unlike the first co-partitioned topic's, topics
/// not compacted (those whose policy was not described are not judged).
pub fn problems(expected: &Expected, described: &BTreeMap<String, Described>) -> Vec<TopicProblem> {
    let mut out: Vec<TopicProblem> = expected
        .exist
        .iter()
        .filter(|t| !described.contains_key(*t))
        .map(|t| TopicProblem::Missing(t.clone()))
        .collect();
    let mut present = expected
        .co_partitioned
        .iter()
        .filter_map(|t| described.get(t).map(|d| (t, d.partitions)));
    if let Some((reference, expected_count)) = present.next() {
        out.extend(
            present
                .filter(|(_, p)| *p != expected_count)
                .map(|(topic, partitions)| TopicProblem::Partitions {
                    topic: topic.clone(),
                    partitions,
                    reference: reference.clone(),
                    expected: expected_count,
                }),
        );
    }
    out.extend(expected.compacted.iter().filter_map(|t| {
        let policy = described.get(t)?.cleanup_policy.as_deref()?;
        (!policy.split(',').any(|p| p.trim() == "compact")).then(|| TopicProblem::NotCompacted {
            topic: t.clone(),
            policy: policy.to_string(),
        })
    }));
    out
}

/// Describes the topics `role` needs and refuses (the outer error: the
/// broker could not be asked; the inner one: what is wrong) unless they
/// are fit.
pub async fn check_topics(
    cfg: &Config,
    role: Role,
    timeout: Duration,
) -> Result<Result<(), TopicsNotReady>, KafkaError> {
    let expected = expected(cfg, role);
    let mut described = describe_partitions(cfg, timeout).await?;
    let compacted: Vec<&String> = expected
        .compacted
        .iter()
        .filter(|t| described.contains_key(*t))
        .collect();
    if !compacted.is_empty() {
        let admin: AdminClient<DefaultClientContext> = admin_config(cfg).create()?;
        let specs: Vec<ResourceSpecifier<'_>> = compacted
            .iter()
            .map(|t| ResourceSpecifier::Topic(t.as_str()))
            .collect();
        let wait = timeout.min(DESCRIBE_TIMEOUT);
        let opts = AdminOptions::new()
            .request_timeout(Some(wait))
            .operation_timeout(Some(wait));
        let results = match admin.describe_configs(&specs, &opts).await {
            Err(rdkafka::error::KafkaError::AdminOp(code)) if unjudgeable(code) => {
                tracing::warn!(
                    error = %code,
                    "the broker did not describe topic configs: the cleanup policies of the audit and changelog topics are not checked"
                );
                Vec::new()
            }
            other => other?,
        };
        for (topic, result) in compacted.iter().zip(results) {
            match result {
                Ok(resource) => {
                    // The broker's default when the topic does not set it.
                    let policy = resource
                        .get("cleanup.policy")
                        .and_then(|e| e.value.clone())
                        .unwrap_or_else(|| "delete".to_string());
                    if let Some(d) = described.get_mut(*topic) {
                        d.cleanup_policy = Some(policy);
                    }
                }
                Err(code) if unjudgeable(code) => {
                    tracing::warn!(topic = %topic, error = %code, "cleanup policy not checked");
                }
                Err(code) => {
                    return Err(KafkaError::DescribeTopic {
                        topic: topic.to_string(),
                        code,
                    })
                }
            }
        }
    }
    let problems = problems(&expected, &described);
    Ok(if problems.is_empty() {
        Ok(())
    } else {
        Err(TopicsNotReady(problems))
    })
}

/// Longest wait for the topic configs: a broker answers at once, or not at
/// all (librdkafka's mock cluster lacks the request).
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The configs were not described: the broker lacks DescribeConfigs (the
/// request times out or is refused as unsupported) or jidoka's principal
/// may not describe them. The policies are then not judged (a warning),
/// rather than refusing to start on what is not known to be wrong.
fn unjudgeable(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::UnsupportedFeature
            | RDKafkaErrorCode::UnsupportedVersion
            | RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed
    )
}

/// Partition counts of every topic on the cluster, from the metadata of
/// all topics (asking for one topic by name may create it).
async fn describe_partitions(
    cfg: &Config,
    timeout: Duration,
) -> Result<BTreeMap<String, Described>, KafkaError> {
    let config = admin_config(cfg);
    let joined = tokio::task::spawn_blocking(move || {
        let admin: AdminClient<DefaultClientContext> = config.create()?;
        let metadata = admin.inner().fetch_metadata(None, timeout)?;
        Ok::<_, KafkaError>(
            metadata
                .topics()
                .iter()
                .filter(|t| t.error().is_none())
                .map(|t| {
                    (
                        t.name().to_string(),
                        Described {
                            partitions: i32::try_from(t.partitions().len()).unwrap_or(i32::MAX),
                            cleanup_policy: None,
                        },
                    )
                })
                .collect(),
        )
    })
    .await;
    joined.map_err(|e| KafkaError::Blocking(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(cfg: &Config, partitions: i32) -> BTreeMap<String, Described> {
        let e = expected(cfg, Role::Processor);
        e.exist
            .iter()
            .map(|t| {
                let policy = if e.compacted.contains(t) {
                    "compact"
                } else {
                    "delete"
                };
                (
                    t.clone(),
                    Described {
                        partitions,
                        cleanup_policy: Some(policy.to_string()),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn topics_as_topics_create_makes_them_pass() -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults_with(&["input.predictions.key = \"other\""])?;
        let e = expected(&cfg, Role::Processor);
        assert_eq!(problems(&e, &topics(&cfg, 3)), []);
        // Every topic `topics create` makes is expected, and nothing else.
        let mut made: Vec<String> = crate::kafka::topic_specs(&cfg)
            .into_iter()
            .map(|s| s.name)
            .collect();
        let mut exist = e.exist.clone();
        made.sort();
        exist.sort();
        assert_eq!(made, exist);
        assert!(e
            .co_partitioned
            .contains(&"jidoka-predictions-repartition".to_string()));
        // The platform's own topic is consumed but holds no state.
        assert!(!e.co_partitioned.contains(&"predictions".to_string()));
        Ok(())
    }

    #[test]
    fn a_missing_topic_is_named_with_the_fix() -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults()?;
        let mut described = topics(&cfg, 3);
        described.remove("labels");
        described.remove("jidoka-windows-changelog");
        let p = problems(&expected(&cfg, Role::Processor), &described);
        assert_eq!(
            p,
            [
                TopicProblem::Missing("labels".into()),
                TopicProblem::Missing("jidoka-windows-changelog".into())
            ]
        );
        let message = TopicsNotReady(p).to_string();
        assert!(message.contains("`labels` does not exist"), "{message}");
        assert!(message.contains("jidoka topics create"), "{message}");
        Ok(())
    }

    #[test]
    fn unequal_partition_counts_name_both_topics() -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults()?;
        let mut described = topics(&cfg, 3);
        if let Some(d) = described.get_mut("outcomes") {
            d.partitions = 6;
        }
        // Topics not co-partitioned may have any count.
        if let Some(d) = described.get_mut("actions") {
            d.partitions = 1;
        }
        let p = problems(&expected(&cfg, Role::Processor), &described);
        assert_eq!(
            p,
            [TopicProblem::Partitions {
                topic: "outcomes".into(),
                partitions: 6,
                reference: "predictions".into(),
                expected: 3
            }]
        );
        assert!(p[0]
            .to_string()
            .contains("recreate `outcomes` with 3 partitions"));
        Ok(())
    }

    #[test]
    fn audit_and_changelogs_must_be_compacted() -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults()?;
        let mut described = topics(&cfg, 3);
        for t in ["audit", "jidoka-models-changelog"] {
            if let Some(d) = described.get_mut(t) {
                d.cleanup_policy = Some("delete".into());
            }
        }
        if let Some(d) = described.get_mut("jidoka-windows-changelog") {
            d.cleanup_policy = Some("compact,delete".into());
        }
        let p = problems(&expected(&cfg, Role::Processor), &described);
        assert_eq!(
            p,
            [
                TopicProblem::NotCompacted {
                    topic: "audit".into(),
                    policy: "delete".into()
                },
                TopicProblem::NotCompacted {
                    topic: "jidoka-models-changelog".into(),
                    policy: "delete".into()
                }
            ]
        );
        assert!(p[0].to_string().contains("cleanup.policy=compact"));
        Ok(())
    }

    #[test]
    fn the_executor_needs_actions_and_outcomes_only() -> Result<(), Box<dyn std::error::Error>> {
        let cfg = Config::defaults_with(&["state.changelog = false\nevaluations.enabled = false"])?;
        let e = expected(&cfg, Role::Executor);
        assert_eq!(e.exist, ["actions", "outcomes"]);
        let processor = expected(&cfg, Role::Processor);
        assert!(!processor.exist.contains(&"evaluations".to_string()));
        assert_eq!(
            processor.compacted,
            ["audit".to_string(), cfg.lessons_topic()]
        );
        assert!(processor.exist.contains(&cfg.lessons_topic()));
        Ok(())
    }
}
