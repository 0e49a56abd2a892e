//! Crash safety: `jidoka run` as a separate process is killed with SIGKILL
//! at random points a dozen times and restarted each time, every other
//! time on a new, empty data dir (as if on another machine: the state comes
//! back from the changelog topics); the heal
//! commands and audit records, de-duplicated by id, equal those of an
//! uninterrupted run: none missing, none doubled. Raw duplicates (the same
//! id written twice because a batch was replayed) are counted and printed:
//! the brokers here cannot hide them (no transactions).

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::{AuditRecord, HealCommand};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KILLS: usize = 12;

fn spawn(env: &TestEnv, cwd: &std::path::Path, data: &std::path::Path) -> Result<Child, BoxError> {
    Ok(jidoka_command(env.cfg(), cwd)
        .arg("run")
        .env("JIDOKA__STATE__DATA_DIR", data)
        // Small, fsynced batches: many checkpoints for the kills to fall between.
        .env("JIDOKA__PIPELINE__BATCH_SIZE", "10")
        .env("JIDOKA__STATE__SYNC_WRITES", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_and_doubles_nothing() -> TestResult {
    let env = TestEnv::start().await?;
    let cfg = env.cfg();
    let cwd = tempfile::tempdir()?;
    // A killed member holds its partitions until its session times out:
    // keep that short so restarts get them back quickly.
    std::fs::create_dir_all(cwd.path().join("configs"))?;
    std::fs::write(
        cwd.path().join("configs/jidoka.toml"),
        "[kafka.options]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n",
    )?;
    let preds = Scenario::demo(8000, 1500).predictions();
    produce_raw(
        &producer(cfg)?,
        &cfg.topics.predictions,
        &encode_predictions(&env.codec, &preds)?,
    )
    .await?;
    let total = preds.len() as i64;

    let mut rng = StdRng::seed_from_u64(0x6a69646f6b61);
    let mut progress = Vec::new();
    let mut before = committed(&env)?;
    let mut fresh_dirs = Vec::new();
    for kill in 0..KILLS {
        let data = if kill % 2 == 1 {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("data");
            fresh_dirs.push(dir);
            path
        } else {
            env.cfg().state.data_dir.clone()
        };
        let mut child = spawn(&env, cwd.path(), &data)?;
        // Wait until this process is committing (it has its partitions),
        // then kill it at a random moment of its work.
        let deadline = Instant::now() + Duration::from_secs(60);
        while committed(&env)? <= before && committed(&env)? < total {
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err("a restarted processor made no progress within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..400))).await;
        child.kill()?; // SIGKILL
        child.wait()?;
        before = committed(&env)?;
        progress.push(before);
    }
    // A last run to the end, stopped gracefully.
    let mut last = spawn(&env, cwd.path(), &env.cfg().state.data_dir)?;
    let deadline = Instant::now() + Duration::from_secs(180);
    while committed(&env)? < total {
        if Instant::now() > deadline {
            let _ = last.kill();
            return Err(format!("only {} of {total} committed", committed(&env)?).into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &last.id().to_string()])
        .status()?;
    assert!(status.success());
    last.wait()?;
    println!("crash test: {KILLS} SIGKILLs, committed offsets after each: {progress:?} of {total}");
    assert!(
        progress.iter().any(|c| *c > 0 && *c < total),
        "no kill fell in the middle of the stream: {progress:?}"
    );

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
        "crash test: raw commands {} (unique {}), raw audit records {} (unique {})",
        raw_commands.len(),
        commands.len(),
        raw_audits.len(),
        audits.len()
    );
    let expected_command_ids: BTreeSet<String> = expected_commands
        .iter()
        .map(|c| c.command_id.clone())
        .collect();
    assert_eq!(commands, expected_command_ids, "heal commands by id");
    assert_eq!(
        audits,
        expected_audits.into_iter().collect::<BTreeSet<_>>(),
        "audit records by id"
    );
    // Duplicates are byte-for-byte replays of the same decision, never variants.
    for r in &raw_commands {
        let same = expected_commands
            .iter()
            .find(|c| c.command_id == r.value.command_id);
        assert_eq!(same, Some(&r.value));
    }
    let reports = jidoka::audit::verify(raw_audits.into_iter().map(|r| r.value));
    assert!(reports.iter().all(|r| r.is_intact()), "{reports:?}");
    Ok(())
}
