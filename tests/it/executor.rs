//! The executor bridge end to end: `jidoka run` and `jidoka executor` as
//! real processes on the test broker, and a local HTTP server standing in
//! for the GitHub API and a webhook receiver, which records every POST and
//! checks its signature.
//!
//! A planted drift produces a retrain command, dispatched to "GitHub";
//! synthetic commands go to the webhook. The executor is SIGKILLed while
//! the receiver holds one POST unanswered, and restarted on the same data
//! dir: the receiver sees exactly one signed POST per command id (the held
//! one is not sent again, and counted unconfirmed); hold and escalate are
//! never sent; a 422 becomes a `rejected` outcome. Outcomes come back
//! through `jidoka outcome report` and `POST /outcomes` (a bad signature is
//! 401 and writes nothing; an unknown id is 404 and says so), each
//! decision's audit record gets its `completed` version once the model's
//! stream has passed the reward's horizon (measured and reported parts),
//! and a later decision shows the retrain arm's posterior learned from
//! them. Prints the
//! delivery latency (command produced → POST received, p50/p99).

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Notify;

use crate::common::*;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::{Action, AuditRecord, HealCommand, HealOutcome, OutcomeStatus};

const KEY: &str = "executor-test-hmac-key-0123456789abcdef";
/// The synthetic command the receiver holds unanswered while the executor
/// is killed.
const HELD: &str = "syn-05";
/// Synthetic commands produced before the kill, and after it.
const BEFORE_KILL: usize = 10;
const AFTER_KILL: usize = 100;

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Post {
    path: String,
    command_id: String,
    idempotency_key: Option<String>,
    signed: bool,
    body: serde_json::Value,
    received_ms: i64,
}

#[derive(Default)]
struct Receiver {
    posts: Mutex<Vec<Post>>,
    arrived: Notify,
    release: Notify,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `sha256=<hex>` of the body under the key, computed here with the
/// `hmac` crate, independently of jidoka's signing code.
fn signature(body: &[u8]) -> Option<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(KEY.as_bytes()).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let command_id = header(&headers, "x-jidoka-command-id").unwrap_or_default();
    let expected = signature(&body);
    let post = Post {
        path: uri.path().to_string(),
        command_id: command_id.clone(),
        idempotency_key: header(&headers, "idempotency-key"),
        signed: expected.is_some() && header(&headers, "x-jidoka-signature-256") == expected,
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        received_ms: now_ms(),
    };
    if let Ok(mut posts) = r.posts.lock() {
        posts.push(post);
    }
    r.arrived.notify_waiters();
    if command_id == HELD {
        // Hold the answer until the test has killed the executor.
        r.release.notified().await;
    }
    if command_id.starts_with("refuse-") {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if uri.path().ends_with("/dispatches") {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    }
}

impl Receiver {
    fn posts(&self) -> Vec<Post> {
        self.posts.lock().map(|p| p.clone()).unwrap_or_default()
    }

    fn count(&self, id: &str) -> usize {
        self.posts().iter().filter(|p| p.command_id == id).count()
    }

    /// Waits (bounded by `limit`) until `done` holds over the posts.
    async fn wait(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[Post]) -> bool,
    ) -> TestResult {
        let deadline = Instant::now() + limit;
        while !done(&self.posts()) {
            if Instant::now() > deadline {
                return Err(format!("receiver: {what} not seen within {limit:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

/// A child process killed (SIGKILL) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn sigkill(&mut self) -> TestResult {
        self.0.kill()?;
        self.0.wait()?;
        Ok(())
    }

    /// Stops the process with SIGTERM; its exit status.
    fn sigterm(&mut self) -> Result<std::process::ExitStatus, BoxError> {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()?;
        assert!(status.success());
        Ok(self.0.wait()?)
    }
}

fn synthetic(id: &str, action: Action) -> HealCommand {
    HealCommand {
        command_id: id.into(),
        decision_id: format!("dec-{id}"),
        model_id: "synthetic-model".into(),
        model_version: "1".into(),
        action,
        reason: "executor test".into(),
        evidence: vec![],
        issued_at: 1_767_225_600_000,
        config_version: "test".into(),
        target_command_id: None,
    }
}

/// (p50, p99) in ms of latencies in ms (negative ones, from clock skew
/// between producer and receiver, count as 0).
fn quantiles(v: &[i64]) -> Result<(u64, u64), BoxError> {
    let mut h = hdrhistogram::Histogram::<u64>::new(3)?;
    for ms in v {
        h.record(u64::try_from(*ms).unwrap_or(0))?;
    }
    Ok((h.value_at_quantile(0.5), h.value_at_quantile(0.99)))
}

/// A POST /outcomes with `signature`: (status, body).
async fn post_outcome(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    body: &serde_json::Value,
    signature: &str,
) -> Result<(u16, String), BoxError> {
    let bytes = serde_json::to_vec(body)?;
    let response = client
        .post(format!("http://{addr}/outcomes"))
        .header("content-type", "application/json")
        .header("x-jidoka-signature-256", signature)
        .body(bytes)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_reach_webhook_and_github_once_across_a_sigkill_and_outcomes_come_back(
) -> TestResult {
    let env = TestEnv::start().await?;
    let cfg = env.cfg().clone();
    let codec = &env.codec;
    let cwd = tempfile::tempdir()?;
    write_short_session_config(cwd.path())?;
    let logs = cwd.path().join("logs");
    std::fs::create_dir_all(&logs)?;

    // The receiver: GitHub's dispatches endpoint and the webhooks.
    let receiver = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route(
            "/api/repos/acme/models/dispatches",
            axum::routing::post(receive),
        )
        .route("/hooks/{action}", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hooks = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let bridge_addr = free_addr()?;
    let executor_dir = cwd.path().join("executor-data");
    let executor_group = unique("executor");
    let mut started = 0;
    let spawn_executor = |started: &mut usize| -> Result<Proc, BoxError> {
        *started += 1;
        let log = std::fs::File::create(logs.join(format!("executor-{started}.log")))?;
        Ok(Proc(
            jidoka_command(&cfg, cwd.path())
                .arg("executor")
                .env("RUST_LOG", "info,rdkafka=warn")
                .env("JIDOKA_TEST_GITHUB_TOKEN", "ghp_test_token")
                .env("JIDOKA__EXECUTOR__HMAC_KEY", KEY)
                .env("JIDOKA__EXECUTOR__GROUP_ID", &executor_group)
                .env("JIDOKA__EXECUTOR__DATA_DIR", &executor_dir)
                .env("JIDOKA__EXECUTOR__HTTP_ADDRESS", bridge_addr.to_string())
                .env("JIDOKA__EXECUTOR__TARGET", "webhook")
                .env(
                    "JIDOKA__EXECUTOR__WEBHOOK__URL",
                    format!("http://{hooks}/hooks/any"),
                )
                .env(
                    "JIDOKA__EXECUTOR__WEBHOOK__URLS__ROLLBACK",
                    format!("http://{hooks}/hooks/rollback"),
                )
                .env("JIDOKA__EXECUTOR__ACTIONS__RETRAIN", "github")
                .env(
                    "JIDOKA__EXECUTOR__GITHUB__API_URL",
                    format!("http://{hooks}/api"),
                )
                .env("JIDOKA__EXECUTOR__GITHUB__REPOSITORY", "acme/models")
                .env(
                    "JIDOKA__EXECUTOR__GITHUB__TOKEN",
                    "env:JIDOKA_TEST_GITHUB_TOKEN",
                )
                .env("JIDOKA__EXECUTOR__BACKOFF_INITIAL", "100ms")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        ))
    };
    let dump_logs = || {
        if let Ok(entries) = std::fs::read_dir(&logs) {
            for e in entries.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                eprintln!("--- {} (last lines, newest first)", e.path().display());
                for l in tail {
                    eprintln!("{l}");
                }
            }
        }
    };

    // 1. Ten synthetic commands; the receiver holds the sixth unanswered,
    // and the executor is killed then.
    let mut executor = spawn_executor(&mut started)?;
    let p = producer(&cfg)?;
    let encode = |c: &HealCommand| -> Result<RawRecord, BoxError> {
        Ok((c.model_id.clone(), Some(codec.encode(c)?)))
    };
    let first: Vec<RawRecord> = (0..BEFORE_KILL)
        .map(|i| encode(&synthetic(&format!("syn-{i:02}"), Action::Rollback)))
        .collect::<Result<_, _>>()?;
    produce_raw(&p, &cfg.topics.actions, &first).await?;
    let held = receiver
        .wait("the held POST", Duration::from_secs(120), |posts| {
            posts.iter().any(|p| p.command_id == HELD)
        })
        .await;
    if held.is_err() {
        dump_logs();
    }
    held?;
    executor.sigkill()?;
    receiver.release.notify_waiters();
    let before_restart = receiver.posts().len();

    // 2. Restarted on the same data dir: the rest of the backlog goes out,
    // the held command is not sent again.
    let mut executor = spawn_executor(&mut started)?;
    let backlog = receiver
        .wait("the backlog", Duration::from_secs(120), |posts| {
            (0..BEFORE_KILL).all(|i| {
                let id = format!("syn-{i:02}");
                posts.iter().any(|p| p.command_id == id)
            })
        })
        .await;
    if backlog.is_err() {
        dump_logs();
    }
    backlog?;

    // 3. Latency: commands produced one at a time; also a refusal, a hold
    // and an escalation (never sent).
    let mut produced_ms = BTreeMap::new();
    for i in BEFORE_KILL..BEFORE_KILL + AFTER_KILL {
        let id = format!("syn-{i:02}");
        let action = if i % 2 == 0 {
            Action::Rollback
        } else {
            Action::Fallback
        };
        produced_ms.insert(id.clone(), now_ms());
        produce_raw(&p, &cfg.topics.actions, &[encode(&synthetic(&id, action))?]).await?;
        receiver
            .wait(&id, Duration::from_secs(60), |posts| {
                posts.iter().any(|p| p.command_id == id)
            })
            .await?;
    }
    let others = [
        synthetic("refuse-1", Action::Rollback),
        synthetic("hold-1", Action::Hold),
        synthetic("escalate-1", Action::Escalate),
    ];
    let raw: Vec<RawRecord> = others.iter().map(encode).collect::<Result<_, _>>()?;
    produce_raw(&p, &cfg.topics.actions, &raw).await?;

    // 4. The planted drift: `jidoka run` on the first half of the demo.
    let preds = Scenario::demo(6000, 1500).predictions();
    let half = preds.len() / 2;
    let records = encode_predictions(codec, &preds)?;
    let run_log = std::fs::File::create(logs.join("run.log"))?;
    let mut run = Proc(
        jidoka_command(&cfg, cwd.path())
            .arg("run")
            .env("JIDOKA__STATE__DATA_DIR", cwd.path().join("run-data"))
            .stdout(Stdio::null())
            .stderr(run_log)
            .spawn()?,
    );
    produce_raw(&p, &cfg.topics.predictions, &records[..half]).await?;
    let dispatched = receiver
        .wait("a GitHub dispatch", Duration::from_secs(300), |posts| {
            posts.iter().any(|p| p.path.ends_with("/dispatches"))
        })
        .await;
    if dispatched.is_err() {
        dump_logs();
    }
    dispatched?;
    let dispatch = receiver
        .posts()
        .into_iter()
        .find(|p| p.path.ends_with("/dispatches"))
        .ok_or("no dispatch")?;
    assert_eq!(
        dispatch.body["event_type"], "jidoka-retrain",
        "{dispatch:?}"
    );
    let first_command: HealCommand =
        serde_json::from_value(dispatch.body["client_payload"].clone())?;
    assert_eq!(first_command.command_id, dispatch.command_id);
    assert_eq!(
        (first_command.model_id.as_str(), first_command.action),
        ("churn-v7", Action::Retrain)
    );

    // 5. Its outcome through `jidoka outcome report`.
    let out = jidoka_command(&cfg, cwd.path())
        .args(["outcome", "report", "--command", &first_command.command_id])
        .args(["--status", "completed", "--recovery", "0.3", "--cost", "2"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 6. POST /outcomes: a bad signature writes nothing, an unknown id is
    // 404, a refused one (the 422) came back as `rejected`.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let forged = serde_json::json!({
        "command_id": "syn-00", "status": "failed", "recovery": 0.0, "cost": 99.0
    });
    let (code, text) = post_outcome(&client, bridge_addr, &forged, "sha256=00").await?;
    assert_eq!(code, 401, "{text}");
    let tampered = signature(b"something else").ok_or("no mac")?;
    let (code, text) = post_outcome(&client, bridge_addr, &forged, &tampered).await?;
    assert_eq!(code, 401, "{text}");
    let unknown = serde_json::json!({
        "command_id": "no-such-command", "status": "completed", "recovery": 0.1, "cost": 1.0
    });
    let signed = signature(&serde_json::to_vec(&unknown)?).ok_or("no mac")?;
    let (code, text) = post_outcome(&client, bridge_addr, &unknown, &signed).await?;
    assert_eq!(code, 404, "{text}");
    assert!(text.contains("unknown command `no-such-command`"), "{text}");

    // 7. The second half: the stream runs on 40 min past the first
    // command, past the reward's horizon (30 min) and not past its grace,
    // so the outcome and the measurement complete its decision; then the
    // rest: later decisions (and a second command, past the cooldown).
    let horizon_passed = first_command.issued_at + 40 * 60_000;
    let mid = preds
        .iter()
        .position(|r| r.event_time >= horizon_passed)
        .ok_or("the stream ends before the first command's horizon")?
        .max(half);
    produce_raw(&p, &cfg.topics.predictions, &records[half..mid]).await?;
    let completed_first = wait_audit(&cfg, codec, |audits| {
        audits.iter().any(|a| {
            a.command_id.as_deref() == Some(first_command.command_id.as_str())
                && a.status == "completed"
                && a.reward.as_ref().map(|w| w.parts.as_str()) == Some("measured+reported")
        })
    })
    .await;
    if completed_first.is_err() {
        dump_logs();
    }
    completed_first?;
    produce_raw(&p, &cfg.topics.predictions, &records[mid..]).await?;
    let churn_posts = |posts: &[Post]| -> Vec<HealCommand> {
        posts
            .iter()
            .filter_map(command_of)
            .filter(|c| c.model_id == "churn-v7")
            .collect()
    };
    let second = receiver
        .wait(
            "a second churn-v7 command",
            Duration::from_secs(300),
            |posts| churn_posts(posts).len() >= 2,
        )
        .await;
    if second.is_err() {
        dump_logs();
    }
    second?;
    let second_id = churn_posts(&receiver.posts())
        .get(1)
        .map(|c| c.command_id.clone())
        .ok_or("no second command")?;
    let ok = serde_json::json!({
        "command_id": second_id, "status": "completed", "recovery": 0.2, "cost": 1.0,
        "note": "https://ci.example/runs/8"
    });
    let signed = signature(&serde_json::to_vec(&ok)?).ok_or("no mac")?;
    let (code, text) = post_outcome(&client, bridge_addr, &ok, &signed).await?;
    assert_eq!(code, 202, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(
        (answer["model_id"].as_str(), answer["status"].as_str()),
        (Some("churn-v7"), Some("succeeded"))
    );
    // Issued about 30 min after the first, it is measured by the end of
    // the 100 min stream; the outcome completes it.
    let completed_second = wait_audit(&cfg, codec, |audits| {
        audits.iter().any(|a| {
            a.command_id.as_deref() == Some(second_id.as_str())
                && a.status == "completed"
                && a.reward.as_ref().map(|w| w.parts.as_str()) == Some("measured+reported")
        })
    })
    .await;
    if completed_second.is_err() {
        dump_logs();
    }
    completed_second?;

    // 8. The executor's view, then stop everything.
    let (code, metrics) = http_get(bridge_addr, "/metrics").await?;
    assert_eq!(code, 200);
    let (code, health) = http_get(bridge_addr, "/health").await?;
    assert_eq!((code, health.as_str()), (200, "ready\n"));
    // SIGTERM: the bridge commits what it stored and exits 0.
    let stopped = executor.sigterm()?;
    assert!(stopped.success(), "executor exited with {stopped}");
    run.sigterm()?;
    server.abort();

    // Exactly one signed POST per command id, the held one included;
    // nothing for hold and escalate.
    let posts = receiver.posts();
    let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &posts {
        *per_id.entry(p.command_id.as_str()).or_default() += 1;
        assert!(p.signed, "unsigned or badly signed POST: {p:?}");
        assert_eq!(p.idempotency_key.as_deref(), Some(p.command_id.as_str()));
    }
    let duplicates: usize = per_id.values().map(|n| n - 1).sum();
    println!(
        "executor test: {} POSTs for {} command ids, {duplicates} duplicates; {before_restart} POSTs before the SIGKILL, {started} executor starts",
        posts.len(),
        per_id.len()
    );
    assert_eq!(duplicates, 0, "{per_id:?}");
    assert_eq!(receiver.count(HELD), 1);
    for i in 0..BEFORE_KILL + AFTER_KILL {
        assert_eq!(receiver.count(&format!("syn-{i:02}")), 1, "syn-{i:02}");
    }
    assert_eq!(receiver.count("refuse-1"), 1);
    assert_eq!(receiver.count("hold-1") + receiver.count("escalate-1"), 0);
    let rollbacks = posts.iter().filter(|p| p.path == "/hooks/rollback").count();
    let fallbacks = posts.iter().filter(|p| p.path == "/hooks/any").count();
    assert_eq!(
        (rollbacks, fallbacks),
        (BEFORE_KILL + AFTER_KILL / 2 + 1, AFTER_KILL / 2)
    );
    // The restarted executor found the held command's attempt unanswered.
    assert!(
        metrics.contains("jidoka_executor_unconfirmed_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("jidoka_executor_skipped_total{reason=\"not-opted-in\"} 2\n"),
        "{metrics}"
    );

    // Outcomes: the 422's `rejected` from the bridge, the CLI's and the
    // endpoint's; nothing for the forged or unknown ones.
    let outcomes: Vec<HealOutcome> = read_all::<HealOutcome>(&cfg, codec, &cfg.topics.outcomes)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    let of = |id: &str| -> Vec<&HealOutcome> {
        outcomes.iter().filter(|o| o.command_id == id).collect()
    };
    assert_eq!(of("refuse-1").len(), 1, "{outcomes:?}");
    assert_eq!(of("refuse-1")[0].status, OutcomeStatus::Rejected);
    assert_eq!(of("refuse-1")[0].model_id, "synthetic-model");
    assert!(of("syn-00").is_empty(), "a forged outcome was written");
    assert!(of("no-such-command").is_empty());
    assert_eq!(of(&first_command.command_id).len(), 1);
    assert_eq!(of(&second_id).len(), 1);
    assert_eq!(of(&second_id)[0].recovery, 0.2);
    assert_eq!(
        of(&second_id)[0].note.as_deref(),
        Some("https://ci.example/runs/8")
    );
    // A final refusal's outcome says why.
    assert!(
        of("refuse-1")[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("422")),
        "{:?}",
        of("refuse-1")[0].note
    );

    // The audit: both decisions completed; a decision after the first
    // outcome shows the retrain arm learned (0 observations before).
    let audits: Vec<AuditRecord> = read_all::<AuditRecord>(&cfg, codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    let mut churn: Vec<&AuditRecord> = audits
        .iter()
        .filter(|a| a.model_id == "churn-v7" && a.version == 1 && a.bandit.is_some())
        .collect();
    churn.sort_by_key(|a| a.sequence);
    let retrain_arm = |a: &AuditRecord| {
        a.bandit.as_ref().and_then(|b| {
            b.arms
                .iter()
                .find(|arm| arm.action == "retrain")
                .map(|arm| (arm.observations, arm.posterior_mean))
        })
    };
    let summary: Vec<_> = audits
        .iter()
        .filter(|a| a.model_id == "churn-v7")
        .map(|a| {
            (
                a.sequence,
                a.version,
                a.status.to_string(),
                a.decision_id.clone(),
                a.bandit.as_ref().map(|b| b.arms.len()),
            )
        })
        .collect();
    // The view at the first command's decision (every version of its
    // record carries it; compaction may have kept only the latest).
    let before = audits
        .iter()
        .find(|a| a.decision_id == first_command.decision_id)
        .and_then(retrain_arm)
        .ok_or_else(|| format!("no bandit view at the first command's decision: {summary:?}"))?;
    let after = churn
        .iter()
        .filter_map(|a| retrain_arm(a))
        .find(|(n, _)| *n >= 1)
        .ok_or("no decision after the outcome shows a learned retrain arm")?;
    println!("executor test: retrain arm (observations, posterior mean) {before:?} -> {after:?}");
    assert_eq!(before.0, 0);
    assert_ne!(before.1, after.1);

    let latencies: Vec<i64> = produced_ms
        .iter()
        .filter_map(|(id, sent)| {
            posts
                .iter()
                .find(|p| &p.command_id == id)
                .map(|p| p.received_ms - sent)
        })
        .collect();
    assert_eq!(latencies.len(), AFTER_KILL);
    let (p50, p99) = quantiles(&latencies)?;
    println!("executor test: delivery latency (produced -> POST received) over {AFTER_KILL} commands: p50 {p50} ms, p99 {p99} ms");
    let sample = |series: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let sum = sample("jidoka_executor_delivery_latency_seconds_sum");
    let count = sample("jidoka_executor_delivery_latency_seconds_count");
    assert!(count.is_some_and(|c| c >= AFTER_KILL as f64), "{metrics}");
    println!(
        "executor test: the restarted executor's jidoka_executor_delivery_latency_seconds (record timestamp -> 2xx): {:?} observations, mean {:?} ms",
        count,
        sum.zip(count).map(|(s, c)| (s / c * 1000.0).round())
    );
    Ok(())
}

/// The command a POST carried: the body (webhook) or its
/// `client_payload` (GitHub).
fn command_of(post: &Post) -> Option<HealCommand> {
    let json = if post.path.ends_with("/dispatches") {
        post.body.get("client_payload")?.clone()
    } else {
        post.body.clone()
    };
    serde_json::from_value(json).ok()
}

/// Waits (bounded) until the audit topic satisfies `done`.
async fn wait_audit(
    cfg: &jidoka::config::Config,
    codec: &jidoka::schema::Codec,
    done: impl Fn(&[AuditRecord]) -> bool,
) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let audits: Vec<AuditRecord> = read_all::<AuditRecord>(cfg, codec, &cfg.topics.audit)?
            .into_iter()
            .map(|r| r.value)
            .collect();
        if done(&audits) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("the audit topic did not get the completed version within 180 s".into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `examples/webhook/receiver.py` (the docker-compose receiver) against a
/// real bridge: it takes each signed command and reports its outcome to
/// the bridge's `POST /outcomes`, which lands on the outcomes topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_receiver_takes_signed_commands_and_reports_outcomes() -> TestResult {
    let env = TestEnv::start().await?;
    let cfg = env.cfg().clone();
    let cwd = tempfile::tempdir()?;
    let receiver_addr = free_addr()?;
    let bridge_addr = free_addr()?;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/webhook/receiver.py");
    let _receiver = Proc(
        std::process::Command::new("python3")
            .arg(&script)
            .env("RECEIVER_HMAC_KEY", KEY)
            .env("RECEIVER_PORT", receiver_addr.port().to_string())
            .env(
                "BRIDGE_OUTCOMES_URL",
                format!("http://{bridge_addr}/outcomes"),
            )
            .env("RECEIVER_WORK_SECONDS", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let _executor = Proc(
        jidoka_command(&cfg, cwd.path())
            .arg("executor")
            .env("JIDOKA__EXECUTOR__HMAC_KEY", KEY)
            .env("JIDOKA__EXECUTOR__GROUP_ID", unique("executor"))
            .env("JIDOKA__EXECUTOR__DATA_DIR", cwd.path().join("executor"))
            .env("JIDOKA__EXECUTOR__HTTP_ADDRESS", bridge_addr.to_string())
            .env("JIDOKA__EXECUTOR__TARGET", "webhook")
            .env(
                "JIDOKA__EXECUTOR__WEBHOOK__URL",
                format!("http://{receiver_addr}/hooks"),
            )
            .stdout(Stdio::null())
            .spawn()?,
    );
    let ids = ["example-1", "example-2"];
    let raw: Vec<RawRecord> = ids
        .iter()
        .map(|id| {
            let mut c = synthetic(id, Action::Rollback);
            c.model_id = "example-model".into();
            Ok((c.model_id.clone(), Some(env.codec.encode(&c)?)))
        })
        .collect::<Result<_, BoxError>>()?;
    produce_raw(&producer(&cfg)?, &cfg.topics.actions, &raw).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let outcomes: Vec<HealOutcome> =
            read_all::<HealOutcome>(&cfg, &env.codec, &cfg.topics.outcomes)?
                .into_iter()
                .map(|r| r.value)
                .collect();
        let reported: Vec<&HealOutcome> = outcomes
            .iter()
            .filter(|o| ids.contains(&o.command_id.as_str()))
            .collect();
        if reported.len() == ids.len() {
            assert!(reported.iter().all(|o| o.model_id == "example-model"
                && o.status == OutcomeStatus::Succeeded
                && o.cost == 1.0));
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("outcomes of {ids:?} not reported: {outcomes:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
