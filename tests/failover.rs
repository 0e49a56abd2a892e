//! Failover: two `jidoka run` processes, each with its own data dir, share
//! one consumer group over a multi-partition topic. One is stopped
//! mid-stream; the other takes over its partitions, restores their state
//! from the changelog topics (its own store never held them), and finishes
//! the stream. The heal commands and audit records, de-duplicated by id,
//! equal a single processor's, and every audit hash chain verifies.
//!
//! The instance is stopped with SIGTERM (it leaves the group): tansu, the
//! test broker, never evicts a member killed with SIGKILL (observed: no
//! rebalance in 180 s with a 6 s session timeout), so the survivor would
//! wait forever. SIGKILL followed by a restore on another machine is
//! covered by `crash.rs`, whose restarts alternate between the old and a
//! new, empty data dir.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::{AuditRecord, HealCommand};
use jidoka::state::Store;

fn spawn(env: &TestEnv, cwd: &Path, log: &Path) -> Result<Child, BoxError> {
    std::fs::create_dir_all(cwd.join("configs"))?;
    // A killed member holds its partitions until its session times out.
    std::fs::write(
        cwd.join("configs/jidoka.toml"),
        "[kafka.options]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n",
    )?;
    Ok(jidoka_command(env.cfg(), cwd)
        .arg("run")
        .env("JIDOKA__PIPELINE__BATCH_SIZE", "50")
        .env("JIDOKA__STATE__DATA_DIR", cwd.join("data"))
        .env("JIDOKA__TELEMETRY__LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()?)
}

fn committed(env: &TestEnv) -> Result<i64, BoxError> {
    let cfg = env.cfg();
    committed_total(
        cfg,
        &cfg.kafka.group_id,
        &cfg.topics.predictions,
        cfg.topics.partitions,
    )
}

async fn wait_committed(env: &TestEnv, n: i64, limit: Duration) -> TestResult {
    let deadline = Instant::now() + limit;
    while committed(env)? < n {
        if Instant::now() > deadline {
            return Err(
                format!("only {} of {n} committed after {limit:?}", committed(env)?).into(),
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

/// Partitions whose input offsets a store holds.
fn owned(env: &TestEnv, dir: &Path) -> Result<Vec<(i32, i64)>, BoxError> {
    let cfg = env.cfg();
    let store = Store::open(dir, false)?;
    let mut out = Vec::new();
    for p in 0..cfg.topics.partitions {
        if let Some(next) = store.applied_offset(&cfg.topics.predictions, p)? {
            out.push((p, next));
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_partitions_move_with_their_state() -> TestResult {
    let env = TestEnv::start().await?;
    let cfg = env.cfg();
    let (a_dir, b_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let (a_log, b_log) = (a_dir.path().join("log"), b_dir.path().join("log"));
    let preds = Scenario::demo(6000, 1500).predictions();
    let encoded = encode_predictions(&env.codec, &preds)?;
    let split = preds.len() / 2;

    let first = spawn(&env, a_dir.path(), &a_log)?;
    let second = spawn(&env, b_dir.path(), &b_log)?;
    // Both members in the group before any record: each gets partitions.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let producer = producer(cfg)?;
    produce_raw(&producer, &cfg.topics.predictions, &encoded[..split]).await?;
    wait_committed(&env, split as i64, Duration::from_secs(120)).await?;

    // Stop the instance that holds a partition with data (the three models'
    // keys need not cover every partition).
    let with_data: BTreeSet<i32> = read_raw(cfg, &cfg.topics.predictions)?
        .iter()
        .map(|r| r.partition)
        .collect();
    let holds_data = |log: &Path| -> Result<bool, BoxError> {
        let text = std::fs::read_to_string(log)?;
        let parts = latest_assignment(&text, &cfg.topics.predictions);
        Ok(parts.iter().any(|p| with_data.contains(p)))
    };
    let (mut a, mut b, a_dir, b_dir, a_log, b_log) = if holds_data(&a_log)? {
        (first, second, a_dir, b_dir, a_log, b_log)
    } else {
        (second, first, b_dir, a_dir, b_log, a_log)
    };
    let status = std::process::Command::new("kill")
        .args(["-TERM", &a.id().to_string()])
        .status()?;
    assert!(status.success());
    a.wait()?;
    let a_owned = owned(&env, &a_dir.path().join("data"))?;
    println!("failover: stopped instance held {a_owned:?}");
    let a_text = std::fs::read_to_string(&a_log)?;
    let assigned: Vec<&str> = a_text.lines().filter(|l| l.contains("assigned")).collect();
    assert!(
        a_owned.iter().any(|(_, next)| *next > 0),
        "the stopped instance processed nothing: {a_owned:?}; its assignments: {assigned:?}"
    );
    produce_raw(&producer, &cfg.topics.predictions, &encoded[split..]).await?;
    if let Err(e) = wait_committed(&env, preds.len() as i64, Duration::from_secs(180)).await {
        let _ = b.kill();
        let log = std::fs::read_to_string(&b_log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        return Err(format!("{e}; survivor's last log lines: {tail:#?}").into());
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &b.id().to_string()])
        .status()?;
    assert!(status.success());
    b.wait()?;

    // The survivor restored each partition it took over from the changelog.
    let log = std::fs::read_to_string(&b_log)?;
    let restores: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "state restored from changelog")
        .collect();
    for (p, next) in a_owned.iter().filter(|(_, next)| *next > 0) {
        let restore = restores
            .iter()
            .find(|v| v["fields"]["partition"] == *p && v["fields"]["records"].as_u64() > Some(0))
            .ok_or(format!(
                "partition {p} (offset {next}) not restored: {restores:?}"
            ))?;
        println!(
            "failover: partition {p} restored: {} changelog records, {} keys, {} ms",
            restore["fields"]["records"],
            restore["fields"]["keys"],
            restore["fields"]["elapsed_ms"]
        );
    }
    for (p, _) in &a_owned {
        let b_owned = owned(&env, &b_dir.path().join("data"))?;
        assert!(
            b_owned.iter().any(|(q, _)| q == p),
            "partition {p} not taken over"
        );
    }

    let (expected_commands, expected_audits) = reference_run(&env.loaded, &env.codec)?;
    let raw_commands = read_all::<HealCommand>(cfg, &env.codec, &cfg.topics.actions)?;
    let raw_audits = read_all::<AuditRecord>(cfg, &env.codec, &cfg.topics.audit)?;
    let commands: BTreeSet<String> = raw_commands
        .iter()
        .map(|r| r.value.command_id.clone())
        .collect();
    let audits: BTreeSet<String> = raw_audits
        .iter()
        .map(|r| r.value.decision_id.clone())
        .collect();
    println!(
        "failover: raw commands {} (unique {}), raw audit records {} (unique {})",
        raw_commands.len(),
        commands.len(),
        raw_audits.len(),
        audits.len()
    );
    let expected: BTreeSet<String> = expected_commands
        .iter()
        .map(|c| c.command_id.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(commands, expected, "heal commands by id");
    assert_eq!(
        audits,
        expected_audits.into_iter().collect::<BTreeSet<_>>(),
        "audit records by id"
    );
    let reports = jidoka::audit::verify(raw_audits.into_iter().map(|r| r.value));
    assert!(reports.iter().all(|r| r.is_intact()), "{reports:?}");
    Ok(())
}
