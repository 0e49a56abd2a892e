//! The README's first command: `jidoka demo` runs the whole loop on the
//! embedded broker (a simulated executor answering its commands, time
//! passing past the reward's horizon, the bandit learning from the
//! measured recovery and the outcomes), prints what it sees, writes the
//! report and succeeds. And the compose stack's demo producer: `jidoka demo
//! --produce` writes the same stream to a real broker, then every model's
//! stream run on past the horizon, so a command the stream triggers
//! completes without more input once its outcome is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use jidoka::schema::{
    AuditRecord, AuditStatus, HealCommand, HealOutcome, OutcomeStatus, Prediction,
};

#[test]
fn demo_runs_and_finds_the_shift() -> Result<(), Box<dyn std::error::Error>> {
    let cwd = tempfile::tempdir()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_jidoka"))
        .current_dir(cwd.path())
        .args([
            "demo",
            "--records",
            "3000",
            "--shift-at",
            "2000",
            "--executor-delay",
            "200ms",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            child.kill()?;
            return Err("demo did not finish within 180 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("summary:"))
        .ok_or("no summary line")?;
    // 9,000 predictions, then time passes: the three streams run on past
    // the 30 min horizon of churn-v7's first command; and the outcomes of
    // its two commands.
    let later: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("time passes: "))
        .and_then(|l| l.split(' ').next())
        .ok_or(format!("time does not pass:\n{stdout}"))?
        .parse()?;
    assert!(later > 0 && later % 3 == 0, "{later}");
    assert!(
        summary.contains(&format!(
            "{} records processed, 3 dead-lettered",
            9000 + later + 2
        )),
        "{summary}"
    );
    // The first retrain is measured and completed with its outcome; the
    // next one (issued after the cooldown, while time passed) is answered
    // and waits for its horizon.
    assert!(
        summary.contains("outcomes: 2 back, decisions completed: 1, 1 waiting for the horizon"),
        "{summary}"
    );
    let learned_line = stdout
        .lines()
        .find(|l| l.starts_with("[learned]     retrain churn-v7"))
        .ok_or(format!("nothing learned:\n{stdout}"))?;
    assert!(
        learned_line.contains("(measured+reported: measured recovery ")
            && learned_line.contains("; reported recovery "),
        "{learned_line}"
    );
    // The retrain arm learned from its one complete reward, positive: the
    // simulated recovery 0.12..0.18 averaged with the measured one (0: the
    // simulated retrain does not move the shifted feature back), less the
    // cost 3.2..4.8 at cost weight 0.01; its posterior mean moved above the
    // untried arms' 0.
    let learned = summary
        .split("churn-v7's bandit learned (posterior mean reward at its last decision): ")
        .nth(1)
        .ok_or("no bandit summary")?;
    let retrain = learned
        .split(", ")
        .find_map(|arm| arm.strip_prefix("retrain "))
        .ok_or("no retrain arm")?;
    let (mean, count) = retrain.split_once(' ').ok_or("retrain arm")?;
    assert_eq!(count, "(1 outcome)", "{summary}");
    assert!(mean.parse::<f64>()? > 0.0, "{summary}");
    assert!(
        learned.contains("rollback +0.000 (0 outcomes)"),
        "{summary}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[outcome]") && l.contains("succeeded retrain churn-v7")),
        "{stdout}"
    );
    let report = std::fs::read_to_string(cwd.path().join("jidoka-demo-report.html"))?;
    assert!(
        report.contains("succeeded at ") && report.contains("recovery "),
        "the report shows the outcome"
    );
    assert!(
        summary.contains("for churn-v7/tenure_days (shift at 2000"),
        "{summary}"
    );
    assert!(
        summary.contains("churn-v7 2 (retrain, retrain)"),
        "{summary}"
    );
    let evaluations: u64 = summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" evaluations recorded"))
        .ok_or("no evaluations in the summary")?
        .parse()?;
    assert!(evaluations > 0, "{summary}");
    assert!(
        summary.contains("fraud-v3 0") && summary.contains("ranker-v2 0"),
        "{summary}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[command]") && l.contains("retrain churn-v7")),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("[dead-letter]"))
            .count(),
        3,
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[drift]") && l.contains("churn-v7/tenure_days")),
        "{stdout}"
    );
    Ok(())
}

/// `demo --produce` into a real broker (as the compose stack's
/// `demo-producer` runs it), then the pipeline on what it wrote, then an
/// outcome for every command (as the compose stack's receiver reports
/// them, after the whole input was processed): each model's stream runs on
/// until just past the reward's horizon (30 min) plus one evaluation
/// (125 records, 1 s apart) after its last record, so every command
/// issued within the stream is measured again and completes with both
/// parts; one issued while the stream runs on (the shift persists) waits
/// for more stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_produce_runs_each_stream_past_the_horizon() -> TestResult {
    let env = TestEnv::start().await?;
    let cfg = env.cfg();
    let file = env.dir.path().join("jidoka.toml");
    std::fs::write(&file, toml::to_string(cfg)?)?;
    let out = Command::new(env!("CARGO_BIN_EXE_jidoka"))
        .current_dir(env.dir.path())
        .env("RUST_LOG", "warn")
        .arg("--config")
        .arg(&file)
        .args([
            "demo",
            "--produce",
            "--records",
            "1500",
            "--shift-at",
            "1000",
        ])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo --produce failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The horizon (1,800 s) and one evaluation (125 s) after the stream's
    // last record, and one record past it: 1,926 more records per model.
    assert_eq!(
        (
            cfg.decide.reward.horizon.as_secs(),
            cfg.detect.evaluate_every
        ),
        (1800, 125)
    );
    let start = 1_767_225_600_000_i64;
    let end = start + 1_499 * 1_000;
    let by = end + (1_800 + 125) * 1_000;
    let per_model = 1_500 + 1_926;
    assert!(
        stdout.contains("produced 4500 predictions and 3 corrupt records")
            && stdout
                .contains("time passes: 5778 more predictions, each model's stream runs 32 min on"),
        "{stdout}"
    );
    let raw = read_raw(cfg, &cfg.topics.predictions)?;
    assert_eq!(raw.len(), 3 * per_model + 3, "and three corrupt records");
    let mut streams: BTreeMap<String, BTreeSet<(i64, String)>> = BTreeMap::new();
    for r in &raw {
        if let Ok(p) = env.codec.decode::<Prediction>(r.value.as_deref()) {
            streams
                .entry(p.model_id)
                .or_default()
                .insert((p.event_time, p.prediction_id));
        }
    }
    assert_eq!(
        streams.keys().collect::<Vec<_>>(),
        ["churn-v7", "fraud-v3", "ranker-v2"]
    );
    for (model, stream) in &streams {
        // Records 1..=3,426, one a second: the stream, then its run on.
        let expected: BTreeSet<(i64, String)> = (1..=per_model as i64)
            .map(|i| (start + (i - 1) * 1_000, format!("{model}-{i}")))
            .collect();
        assert!(stream == &expected, "{model}: {} records", stream.len());
        let last = stream.last().map(|(t, _)| *t).unwrap_or_default();
        assert!(last > by && last - 1_000 <= by, "{model}: {last}");
    }

    // The pipeline on all of it; then the outcomes.
    let running = start_pipeline(&env.loaded);
    let inputs = raw.len() as u64;
    running.wait_done(inputs, Duration::from_secs(120)).await?;
    let mut commands: Vec<HealCommand> =
        read_all::<HealCommand>(cfg, &env.codec, &cfg.topics.actions)?
            .into_iter()
            .map(|r| r.value)
            .collect();
    commands.sort_by(|a, b| a.command_id.cmp(&b.command_id));
    commands.dedup_by(|a, b| a.command_id == b.command_id);
    let (within, later): (Vec<&HealCommand>, Vec<&HealCommand>) =
        commands.iter().partition(|c| c.issued_at <= end);
    assert!(
        within
            .iter()
            .any(|c| c.model_id == "churn-v7" && c.action.to_string() == "retrain"),
        "{commands:#?}"
    );
    let outcomes = commands
        .iter()
        .map(|c| {
            let outcome = HealOutcome {
                command_id: c.command_id.clone(),
                model_id: c.model_id.clone(),
                status: OutcomeStatus::Succeeded,
                recovery: 0.25,
                cost: 5.0,
                reported_at: by,
                note: None,
            };
            Ok((c.model_id.clone(), Some(env.codec.encode(&outcome)?)))
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    produce_raw(&producer(cfg)?, &cfg.topics.outcomes, &outcomes).await?;
    running
        .wait_done(inputs + outcomes.len() as u64, Duration::from_secs(60))
        .await?;
    running.stop().await?;

    let audits: Vec<AuditRecord> = read_all::<AuditRecord>(cfg, &env.codec, &cfg.topics.audit)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    let completed = |c: &HealCommand| {
        audits
            .iter()
            .filter(|a| a.decision_id == c.decision_id && a.status == AuditStatus::Completed)
            .filter_map(|a| a.reward.as_ref().map(|w| w.parts.clone()))
            .collect::<BTreeSet<_>>()
    };
    for c in &within {
        let parts = completed(c);
        assert!(
            parts.len() == 1 && parts.contains("measured+reported"),
            "{} {} issued at {}: {parts:?}",
            c.action,
            c.model_id,
            c.issued_at
        );
    }
    let last = by + 1_000;
    // The shift persists: churn-v7 retrains again once its cooldown (30
    // min) has passed, while its stream runs on.
    assert!(
        later.iter().any(|c| c.model_id == "churn-v7"),
        "{commands:#?}"
    );
    for c in &later {
        // Issued while the stream ran on: unless its horizon lies within
        // the continuation, it is not measured again and waits.
        if c.issued_at + 1_800_000 > last {
            assert!(completed(c).is_empty(), "{c:?}");
        }
    }
    Ok(())
}
