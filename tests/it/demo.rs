//! The README's first command: `jidoka demo` runs the whole loop on the
//! embedded broker, prints what it sees and succeeds.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn demo_runs_and_finds_the_shift() -> Result<(), Box<dyn std::error::Error>> {
    let cwd = tempfile::tempdir()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_jidoka"))
        .current_dir(cwd.path())
        .args(["demo", "--records", "3000", "--shift-at", "2000"])
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
    assert!(
        summary.contains("9000 records processed, 3 dead-lettered"),
        "{summary}"
    );
    assert!(
        summary.contains("for churn-v7/tenure_days (shift at 2000"),
        "{summary}"
    );
    assert!(summary.contains("churn-v7 1 (retrain)"), "{summary}");
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
