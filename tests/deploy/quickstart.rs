//! README's quick start: exactly two commands, the demo's and the tests';
//! the demo's runs `tests/setup.sh` before `cargo run --release -- demo`,
//! the tests' is what `.ci/run` runs, and `tests/setup.sh` succeeds on this
//! machine (idempotent: it installs nothing that is present).

use std::path::PathBuf;
use std::process::Command;

use crate::common::{BoxError, TestResult};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `sh` code blocks of README's "Quick start" section.
fn quick_start_commands() -> Result<Vec<String>, BoxError> {
    let readme = std::fs::read_to_string(repo().join("README.md"))?;
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Quick start"))
        .ok_or("README has no Quick start section")?;
    Ok(section
        .split("```sh\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .map(|block| block.trim().to_string())
        .collect())
}

#[test]
fn quick_start_is_two_commands_and_its_setup_runs() -> TestResult {
    let commands = quick_start_commands()?;
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(
        commands[0],
        "bash tests/setup.sh && cargo run --release -- demo"
    );
    assert_eq!(commands[1], "bash tests/run.sh");
    let ci = std::fs::read_to_string(repo().join(".ci/run"))?;
    assert!(ci.lines().any(|l| l.trim() == commands[1]), "{ci}");
    let run = std::fs::read_to_string(repo().join("tests/run.sh"))?;
    assert!(
        run.contains("bash tests/setup.sh"),
        "tests/run.sh runs the same set-up"
    );

    let out = Command::new("bash")
        .arg("tests/setup.sh")
        .current_dir(repo())
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("build prerequisites present"), "{text}");
    Ok(())
}
