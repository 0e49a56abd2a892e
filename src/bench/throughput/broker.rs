//! The broker of a benchmark run: librdkafka's mock cluster, in this
//! process, on a loopback port.
//!
//! Guarantees: topics exist (with the asked partitions) when
//! [`Broker::create_topic`] returns. Limits of the mock, which the rest of
//! the benchmark accounts for: no CreateTopics requests (every topic is
//! created here), and only about 5 MB of log per partition (older records
//! are dropped silently; see `fill` for the sizing and the check).

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use super::error::BenchError;

/// Bytes of log the mock keeps per partition (librdkafka's
/// `rdkafka_mock.c`: 5 MiB, then the oldest message sets go).
pub const MOCK_PARTITION_BYTES: u64 = 5 * 1024 * 1024;

/// A running mock cluster of one broker.
pub struct Broker {
    cluster: MockCluster<'static, DefaultProducerContext>,
    bootstrap: String,
}

impl Broker {
    /// Starts the cluster.
    pub fn start() -> Result<Self, BenchError> {
        let cluster = MockCluster::new(1)?;
        let bootstrap = cluster.bootstrap_servers();
        Ok(Broker { cluster, bootstrap })
    }

    /// `host:port` to connect to.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Creates a topic (replication factor 1).
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<(), BenchError> {
        Ok(self.cluster.create_topic(name, partitions, 1)?)
    }
}
