//! `jidoka-test-broker`: test plumbing for the integration tests, not part
//! of jidoka. It runs librdkafka's mock cluster (one broker) in a process
//! of its own, so that a test can SIGKILL `jidoka run` processes and take
//! the broker away and back, which the tansu broker of the other tests
//! cannot do (it never evicts a killed group member, and after a restart it
//! often refuses every produce request).
//!
//! Protocol: once the broker listens, it prints `bootstrap HOST:PORT` on
//! stdout. Then it reads one command per line on stdin and answers each
//! with one line, `ok` or `error REASON`:
//!
//! - `topic NAME PARTITIONS`: creates a topic (replication factor 1);
//! - `down` / `up`: the broker closes its connections and refuses new ones,
//!   or accepts them again; the data it holds is kept;
//! - `rebalance-delay MS`: the initial rebalance delay of new groups;
//! - `quit`: exits.
//!
//! It exits 0 when stdin closes (so it ends with the test that spawned it,
//! however that test ends), and non-zero if stdin or stdout fails.
//!
//! Guarantees: an answer is written only after the command took effect;
//! every record stays readable while the process lives (memory only); a
//! group member that stops heartbeating is evicted after its session
//! timeout. Limits, those of librdkafka's mock: no CreateTopics or
//! DescribeConfigs requests (create topics with `topic`), no compaction,
//! no persistence, and transactions are accepted without isolating aborted
//! records.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, DefaultProducerContext, Producer};
use rdkafka::ClientConfig;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    match serve() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jidoka-test-broker: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> Result<(), BoxError> {
    // A client configured with `test.mock.num.brokers` owns a mock cluster
    // (its own bootstrap servers are replaced by the cluster's). It is kept
    // for the raw handle that `rebalance-delay` needs.
    let holder: BaseProducer = ClientConfig::new()
        .set("test.mock.num.brokers", "1")
        .create()?;
    let cluster = holder
        .client()
        .mock_cluster()
        .ok_or("librdkafka created no mock cluster")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "bootstrap {}", cluster.bootstrap_servers())?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let reply = match execute(&holder, &cluster, &line) {
            Ok(Step::Continue) => "ok".to_string(),
            Ok(Step::Quit) => break,
            Err(e) => format!("error {e}"),
        };
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
    Ok(())
}

enum Step {
    Continue,
    Quit,
}

fn execute(
    holder: &BaseProducer,
    cluster: &MockCluster<'_, DefaultProducerContext>,
    line: &str,
) -> Result<Step, BoxError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["topic", name, partitions] => {
            let partitions: i32 = partitions
                .parse()
                .map_err(|e| format!("partitions {partitions:?}: {e}"))?;
            cluster.create_topic(name, partitions, 1)?;
        }
        // -1: every broker of the cluster.
        ["down"] => cluster.broker_down(-1)?,
        ["up"] => cluster.broker_up(-1)?,
        ["rebalance-delay", ms] => {
            let ms: i32 = ms.parse().map_err(|e| format!("delay {ms:?}: {e}"))?;
            // SAFETY: `holder` owns the mock cluster and outlives this call;
            // librdkafka returns null for a client without one, checked here.
            let raw = unsafe {
                rdkafka::bindings::rd_kafka_handle_mock_cluster(holder.client().native_ptr())
            };
            if raw.is_null() {
                return Err("no mock cluster handle".into());
            }
            // SAFETY: `raw` is the live cluster of `holder` (above).
            unsafe { rdkafka::bindings::rd_kafka_mock_group_initial_rebalance_delay_ms(raw, ms) };
        }
        // Every broker answers each request `ms` late.
        ["rtt", ms] => {
            let ms: u64 = ms.parse().map_err(|e| format!("rtt {ms:?}: {e}"))?;
            cluster.broker_round_trip_time(-1, std::time::Duration::from_millis(ms))?;
        }
        ["quit"] => return Ok(Step::Quit),
        [] => {}
        _ => return Err(format!("unknown command {line:?}").into()),
    }
    Ok(Step::Continue)
}
