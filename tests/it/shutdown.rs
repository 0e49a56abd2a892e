//! `jidoka run` as a separate process: SIGTERM drains the batch in flight,
//! commits, and exits 0; a restarted process resumes where it stopped and
//! the published commands equal an uninterrupted run's; SIGTERM during a
//! long restore stops the restore and exits 0 within the drain timeout.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::HealCommand;

fn signal(child: &Child, sig: &str) -> TestResult {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()?;
    if !status.success() {
        return Err(format!("kill {sig} failed").into());
    }
    Ok(())
}

fn wait_exit(child: &mut Child, limit: Duration) -> Result<std::process::ExitStatus, BoxError> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("process did not exit within {limit:?}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn wait_committed(env: &TestEnv, n: i64, limit: Duration) -> TestResult {
    let cfg = env.cfg();
    let deadline = Instant::now() + limit;
    loop {
        let done = committed_total(
            cfg,
            &cfg.kafka.group_id,
            &cfg.topics.predictions,
            cfg.topics.partitions,
        )?;
        if done >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("only {done} of {n} offsets committed after {limit:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_commits_and_exits_zero_then_restart_resumes() -> TestResult {
    let env = TestEnv::start().await?;
    let cfg = env.cfg();
    let cwd = tempfile::tempdir()?;
    let preds = Scenario::demo(3000, 1500).predictions();
    let encoded = encode_predictions(&env.codec, &preds)?;
    let split = 3 * 2000;
    let producer = producer(cfg)?;

    let mut first = jidoka_command(cfg, cwd.path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    produce_raw(&producer, &cfg.topics.predictions, &encoded[..split]).await?;
    wait_committed(&env, split as i64, Duration::from_secs(120)).await?;
    signal(&first, "-TERM")?;
    let status = wait_exit(&mut first, Duration::from_secs(30))?;
    assert_eq!(status.code(), Some(0), "graceful stop exits 0");

    let mut second = jidoka_command(cfg, cwd.path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    produce_raw(&producer, &cfg.topics.predictions, &encoded[split..]).await?;
    wait_committed(&env, preds.len() as i64, Duration::from_secs(120)).await?;
    signal(&second, "-INT")?;
    let status = wait_exit(&mut second, Duration::from_secs(30))?;
    assert_eq!(status.code(), Some(0));

    // Exactly one retrain over both processes: nothing lost, nothing repeated.
    let commands: Vec<HealCommand> = read_all::<HealCommand>(cfg, &env.codec, &cfg.topics.actions)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    assert_eq!(
        commands.len(),
        1,
        "one retrain, not re-emitted after the restart: {commands:?}"
    );
    assert_eq!(commands[0].model_id, "churn-v7");
    Ok(())
}

/// Waits until `/health` at `addr` says the assigned partitions are being
/// restored (the child must still run).
async fn wait_restoring(
    child: &mut Child,
    addr: std::net::SocketAddr,
    limit: Duration,
) -> TestResult {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(format!("jidoka exited before restoring: {status}").into());
        }
        if let Ok((_, body)) = http_get(addr, "/health").await {
            if body.contains("restoring") {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no restore seen within {limit:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_long_restore_exits_within_the_drain_timeout() -> TestResult {
    let env = TestEnv::start_mock().await?;
    let cfg = env.cfg();
    // Every request answered a second late: restoring the three assigned
    // partitions (an empty local store, so each is restored: watermarks of
    // every changelog topic, then the fetches) takes far longer than the
    // drain timeout.
    env.broker.round_trip_time(Duration::from_secs(1))?;
    let drain = Duration::from_secs(10);
    let http = free_addr()?;
    let cwd = tempfile::tempdir()?;
    let log_path = cwd.path().join("jidoka.log");
    let mut child = jidoka_command(cfg, cwd.path())
        .arg("run")
        .env("RUST_LOG", "info")
        .env("JIDOKA__TELEMETRY__HTTP_ADDRESS", http.to_string())
        .env(
            "JIDOKA__PIPELINE__DRAIN_TIMEOUT",
            format!("{}s", drain.as_secs()),
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path)?)
        .spawn()?;
    if let Err(e) = wait_restoring(&mut child, http, Duration::from_secs(120)).await {
        let _ = child.kill();
        return Err(e);
    }
    signal(&child, "-TERM")?;
    // Past the drain timeout the process is made to exit with code 1; a
    // restore that ignored the signal would end that way.
    let status = wait_exit(&mut child, drain + Duration::from_secs(20))?;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(0),
        "the restore stopped at the signal and the process exited by itself within the drain timeout; log:\n{log}"
    );
    Ok(())
}
