//! Kafka clients: how jidoka's consumers, producers and admin client are
//! configured, the topics it creates, and the check of the topics at start.

mod admin;
mod check;
mod client;

pub use admin::{create_topics, topic_specs, TopicSpec, TopicStatus};
pub use check::{
    check_topics, expected, problems, Described, Expected, Role, TopicProblem, TopicsNotReady,
};
pub use client::{
    admin_config, consumer_config, executor_consumer_config, operator_producer_config,
    producer_config, reader_config, tool_producer_config,
};

/// A Kafka failure: external, and usually worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client could not be created or a call failed.
    #[error("kafka: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    /// Creating a topic failed for another reason than that it exists.
    #[error("creating topic `{topic}` failed: {code}")]
    CreateTopic {
        /// Topic.
        topic: String,
        /// Broker's error code.
        code: rdkafka::types::RDKafkaErrorCode,
    },
    /// Describing a topic's configs failed.
    #[error("describing topic `{topic}` failed: {code}")]
    DescribeTopic {
        /// Topic.
        topic: String,
        /// Broker's error code.
        code: rdkafka::types::RDKafkaErrorCode,
    },
    /// A blocking call (topic metadata) panicked or was cancelled (internal).
    #[error("blocking kafka call failed: {0}")]
    Blocking(String),
    /// The consumer has no group metadata for a transaction (not yet a
    /// member of its group).
    #[error("the consumer has no group metadata to commit offsets in a transaction")]
    NoGroupMetadata,
}
