//! Crash safety: `jidoka run` as a separate process is killed with SIGKILL
//! at random points a dozen times and restarted each time, every other
//! time on a new, empty data dir (as if on another machine: the state comes
//! back from the changelog topics); the heal
//! commands and audit records, de-duplicated by id, equal those of an
//! uninterrupted run: none missing, none doubled. Raw duplicates (the same
//! id written twice because a batch was replayed) are counted and printed:
//! the brokers here cannot hide them (no transactions).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::demo::scenario::Scenario;
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
    write_short_session_config(cwd.path())?;
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

    outputs_match_reference(&env, "crash test")
}
