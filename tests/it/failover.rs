//! Failover: two `jidoka run` processes, each with its own data dir, share
//! one consumer group over a multi-partition topic. The one holding
//! partitions with data is stopped mid-stream; the other takes over its
//! partitions, restores their state from the changelog topics (its own
//! store never held them), and finishes the stream. The heal commands and
//! audit records, de-duplicated by id, equal a single processor's for every
//! model, raw duplicates are exact replays, and every audit hash chain
//! verifies.
//!
//! Two variants:
//! - **SIGKILL, on the mock broker** (`jidoka-test-broker`, librdkafka's
//!   mock cluster in its own process): the instance dies without a word,
//!   mid-stream; the broker evicts it when its 6 s session times out and
//!   the survivor gets its partitions in the next rebalance. This is the
//!   failure failover exists for.
//! - **SIGTERM, on tansu**: the instance drains, commits and leaves the
//!   group, and the survivor gets its partitions at once: the graceful
//!   hand-off, on a broker with persistent storage and compaction. tansu
//!   never evicts a SIGKILLed member (observed: no rebalance in 180 s with
//!   a 6 s session timeout), which is why the SIGKILL variant runs on the
//!   mock.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::config::Config;
use jidoka::demo::scenario::Scenario;
use jidoka::state::Store;

/// How the instance holding data is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// SIGTERM: drain, commit, leave the group.
    Term,
    /// SIGKILL: gone; the broker notices when its session times out.
    Kill,
}

/// A `jidoka run` process with its working dir (config, data, log);
/// killed on drop.
struct Instance {
    child: Child,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Instance {
    fn spawn(cfg: &Config) -> Result<Instance, BoxError> {
        let dir = tempfile::tempdir()?;
        let cwd = dir.path();
        write_short_session_config(cwd)?;
        let log = cwd.join("log");
        let child = jidoka_command(cfg, cwd)
            .arg("run")
            .env("JIDOKA__PIPELINE__BATCH_SIZE", "50")
            .env("JIDOKA__STATE__DATA_DIR", cwd.join("data"))
            .env("JIDOKA__TELEMETRY__LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        Ok(Instance { child, dir, log })
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The partitions of the predictions topic in its last assignment.
    fn assignment(&self, cfg: &Config) -> Vec<i32> {
        latest_assignment(&self.log_text(), &cfg.topics.predictions)
    }

    fn signal(&mut self, stop: Stop) -> TestResult {
        match stop {
            // `Child::kill` is SIGKILL on Unix.
            Stop::Kill => self.child.kill()?,
            Stop::Term => {
                let status = std::process::Command::new("kill")
                    .args(["-TERM", &self.child.id().to_string()])
                    .status()?;
                assert!(status.success());
            }
        }
        Ok(())
    }

    /// Waits (bounded) for the process to exit.
    async fn wait(&mut self, limit: Duration) -> Result<std::process::ExitStatus, BoxError> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!("jidoka run did not exit within {limit:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of its log, for an error message.
    fn tail(&self, n: usize) -> Vec<String> {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn committed(cfg: &Config) -> Result<i64, BoxError> {
    committed_total(
        cfg,
        &cfg.kafka.group_id,
        &cfg.topics.predictions,
        cfg.topics.partitions,
    )
}

async fn wait_committed(cfg: &Config, n: i64, limit: Duration) -> TestResult {
    let deadline = Instant::now() + limit;
    while committed(cfg)? < n {
        if Instant::now() > deadline {
            return Err(
                format!("only {} of {n} committed after {limit:?}", committed(cfg)?).into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The partitions of `topic` in the last "partitions assigned" log line.
fn latest_assignment(log: &str, topic: &str) -> Vec<i32> {
    let Some(line) = log
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "partitions assigned")
    else {
        return Vec::new();
    };
    let parts = line["fields"]["partitions"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let needle = format!("\"{topic}\", ");
    parts
        .match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &parts[at + needle.len()..];
            let end = rest.find(')')?;
            rest[..end].trim().parse().ok()
        })
        .collect()
}

/// The "state restored from changelog" log lines.
fn restores(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "state restored from changelog")
        .collect()
}

/// The restore of `partition` that read changelog records, if logged.
fn restored(log: &str, partition: i32) -> Option<serde_json::Value> {
    restores(log).into_iter().find(|v| {
        v["fields"]["partition"] == partition && v["fields"]["records"].as_u64() > Some(0)
    })
}

/// Partitions whose input offsets a store holds.
fn owned(cfg: &Config, dir: &Path) -> Result<Vec<(i32, i64)>, BoxError> {
    let store = Store::open(dir, false)?;
    let mut out = Vec::new();
    for p in 0..cfg.topics.partitions {
        if let Some(next) = store.applied_offset(&cfg.topics.predictions, p)? {
            out.push((p, next));
        }
    }
    Ok(out)
}

/// Waits until the two instances split the partitions between them.
async fn wait_split(cfg: &Config, a: &Instance, b: &Instance) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (pa, pb) = (a.assignment(cfg), b.assignment(cfg));
        let all: BTreeSet<i32> = pa.iter().chain(&pb).copied().collect();
        if !pa.is_empty()
            && !pb.is_empty()
            && pa.len() + pb.len() == all.len()
            && all.len() == cfg.topics.partitions as usize
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("no split of the partitions within 60 s: {pa:?} / {pb:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn failover<B>(env: &TestEnv<B>, stop: Stop) -> TestResult {
    let cfg = env.cfg();
    let tag = format!("failover ({stop:?})");
    let preds = Scenario::demo(6000, 1500).predictions();
    let encoded = encode_predictions(&env.codec, &preds)?;
    let split = preds.len() / 2;

    let first = Instance::spawn(cfg)?;
    let second = Instance::spawn(cfg)?;
    // Both members in the group before any record: each gets partitions.
    let started = Instant::now();
    wait_split(cfg, &first, &second).await?;
    println!("{tag}: partitions split after {:?}", started.elapsed());
    let producer = producer(cfg)?;
    produce_raw(&producer, &cfg.topics.predictions, &encoded[..split]).await?;
    // SIGTERM drains, so it may come after the first half; SIGKILL comes
    // mid-way through it, with records fetched and not yet committed.
    let stop_at = match stop {
        Stop::Term => split as i64,
        Stop::Kill => split as i64 / 2,
    };
    wait_committed(cfg, stop_at, Duration::from_secs(120)).await?;

    // Stop the instance that holds a partition with data (the three models'
    // keys need not cover every partition).
    let with_data: BTreeSet<i32> = read_raw(cfg, &cfg.topics.predictions)?
        .iter()
        .map(|r| r.partition)
        .collect();
    let holds_data = |i: &Instance| i.assignment(cfg).iter().any(|p| with_data.contains(p));
    let (mut a, mut b) = if holds_data(&first) {
        (first, second)
    } else {
        (second, first)
    };
    let a_parts = a.assignment(cfg);
    a.signal(stop)?;
    let stopped = Instant::now();
    let status = a.wait(Duration::from_secs(60)).await?;
    let committed_at_stop = committed(cfg)?;
    println!(
        "{tag}: stopped the instance holding {a_parts:?} ({status}); {committed_at_stop} of {split} produced records committed"
    );
    if stop == Stop::Term {
        assert!(status.success(), "SIGTERM drains and exits 0: {status}");
    }
    let a_owned = owned(cfg, &a.data())?;
    println!("{tag}: the stopped instance's store held {a_owned:?}");
    assert!(
        a_owned.iter().any(|(_, next)| *next > 0),
        "the stopped instance processed nothing: {a_owned:?}; its log: {:#?}",
        a.tail(20)
    );
    // The rest of the stream arrives while its partitions have no owner.
    produce_raw(&producer, &cfg.topics.predictions, &encoded[split..]).await?;

    // The survivor is assigned the partitions and restores every one that
    // holds data from the changelog.
    let data_parts: Vec<i32> = a_owned
        .iter()
        .filter(|(_, next)| *next > 0)
        .map(|(p, _)| *p)
        .collect();
    let deadline = stopped + Duration::from_secs(60);
    let mut assigned_after = None;
    loop {
        let now = b.assignment(cfg);
        if assigned_after.is_none() && a_parts.iter().all(|p| now.contains(p)) {
            assigned_after = Some(stopped.elapsed());
        }
        let log = b.log_text();
        if assigned_after.is_some() && data_parts.iter().all(|p| restored(&log, *p).is_some()) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the survivor did not take over {data_parts:?} within 60 s of the stop (assigned after {assigned_after:?}); its log: {:#?}",
                b.tail(20)
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{tag}: survivor assigned {a_parts:?} {:?} after the stop, restored after {:?}",
        assigned_after.unwrap_or_default(),
        stopped.elapsed()
    );

    if let Err(e) = wait_committed(cfg, preds.len() as i64, Duration::from_secs(180)).await {
        return Err(format!("{e}; survivor's last log lines: {:#?}", b.tail(15)).into());
    }
    b.signal(Stop::Term)?;
    let status = b.wait(Duration::from_secs(60)).await?;
    assert!(
        status.success(),
        "the survivor exits 0 on SIGTERM: {status}"
    );

    let log = b.log_text();
    for p in &data_parts {
        let restore = restored(&log, *p).ok_or(format!("partition {p} not restored"))?;
        println!(
            "{tag}: partition {p} restored: {} changelog records, {} keys, {} ms",
            restore["fields"]["records"],
            restore["fields"]["keys"],
            restore["fields"]["elapsed_ms"]
        );
    }
    let b_owned = owned(cfg, &b.data())?;
    for (p, _) in &a_owned {
        assert!(
            b_owned.iter().any(|(q, _)| q == p),
            "partition {p} not taken over: {b_owned:?}"
        );
    }

    // The comparison asserts: catch its panic to print the story first.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        outputs_match_reference(env, &tag)
    }));
    if !matches!(result, Ok(Ok(()))) {
        // Every rebalance each instance saw, for the failure's story.
        for (name, i) in [("stopped", &a), ("survivor", &b)] {
            for line in i.log_text().lines().filter(|l| l.contains("partitions")) {
                println!("{tag}: {name}: {line}");
            }
        }
    }
    match result {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_instance_partitions_move_with_their_state() -> TestResult {
    let env = TestEnv::start_mock().await?;
    failover(&env, Stop::Kill).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_instance_hands_its_partitions_over_with_their_state() -> TestResult {
    let env = TestEnv::start().await?;
    failover(&env, Stop::Term).await
}
