//! The README's first command: `jidoka demo` runs the whole loop on the
//! embedded broker (a simulated executor answering its commands, time
//! passing past the reward's horizon, the bandit learning from the
//! measured recovery and the outcomes), prints what it sees, writes the
//! report and succeeds.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
