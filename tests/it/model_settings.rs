//! Per-model settings through the `jidoka` binary: `config show` prints
//! the effective settings of a model with where each value came from, and
//! a bad `[models."<glob>"]` table stops the binary naming it.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;

const CONFIG: &str = r#"
[detect]
ks-alpha = 0.01

[models."churn-*"]
ks-alpha = 0.0001
window-size = 200
exclude = ["debug_*"]
max-categories = 50

[models."churn-v7"]
evaluate-every = 40
"#;

/// The binary in `dir` (no config file there but the one passed), with
/// `args` and `env`.
fn jidoka(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Output, BoxError> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jidoka"));
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(cmd.output()?)
}

/// The line of `text` that starts with `start` (empty if none).
fn line<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines().find(|l| l.starts_with(start)).unwrap_or("")
}

#[test]
fn config_show_model_prints_effective_settings_and_origins() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("jidoka.toml"), CONFIG)?;
    let env = [("JIDOKA__DETECT__PERSISTENCE", "3")];
    let args = ["--config", "jidoka.toml", "config", "show", "--model"];

    let out = jidoka(dir.path(), &[&args[..], &["churn-v8"]].concat(), &env)?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("[models.\"churn-*\"] applies"), "{text}");
    assert_eq!(
        line(&text, "ks-alpha ="),
        "ks-alpha = 0.0001  # [models.\"churn-*\"] (file jidoka.toml)",
        "{text}"
    );
    assert_eq!(
        line(&text, "window-size ="),
        "window-size = 200  # [models.\"churn-*\"] (file jidoka.toml)"
    );
    assert_eq!(
        line(&text, "evaluate-every ="),
        "evaluate-every = 250  # default"
    );
    assert_eq!(
        line(&text, "persistence ="),
        "persistence = 3  # env JIDOKA__DETECT__PERSISTENCE"
    );
    assert_eq!(
        line(&text, "exclude ="),
        "exclude = [\"debug_*\"]  # [models.\"churn-*\"] (file jidoka.toml)"
    );
    // TOML that reads back to the effective values.
    let v: toml::Value = toml::from_str(&text)?;
    assert_eq!(v["detect"]["max-categories"].as_integer(), Some(50));

    // The exact id wins over the glob; its unset keys are the global ones.
    let out = jidoka(dir.path(), &[&args[..], &["churn-v7"]].concat(), &env)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("[models.\"churn-v7\"] applies"), "{text}");
    assert_eq!(
        line(&text, "evaluate-every ="),
        "evaluate-every = 40  # [models.\"churn-v7\"] (file jidoka.toml)"
    );
    assert_eq!(
        line(&text, "ks-alpha ="),
        "ks-alpha = 0.01  # file jidoka.toml"
    );
    assert_eq!(line(&text, "window-size ="), "window-size = 500  # default");

    // No table matches: the global settings.
    let out = jidoka(dir.path(), &[&args[..], &["fraud-v3"]].concat(), &env)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("no [models] table matches"), "{text}");
    assert_eq!(
        line(&text, "ks-alpha ="),
        "ks-alpha = 0.01  # file jidoka.toml"
    );

    // Without --model: the whole configuration, the tables included.
    let out = jidoka(
        dir.path(),
        &["--config", "jidoka.toml", "config", "show"],
        &env,
    )?;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("\n[models.\"churn-*\"]\n"), "{text}");
    assert_eq!(
        line(&text, "bootstrap-servers ="),
        "bootstrap-servers = \"localhost:9092\"  # default"
    );
    Ok(())
}

#[test]
fn a_bad_model_table_stops_the_binary_naming_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("jidoka.toml"),
        "[models.\"churn-*\"]\nks-alpha = 0.01\n[models.\"*-churn\"]\nks-alpha = 0.02\n",
    )?;
    let out = jidoka(
        dir.path(),
        &["--config", "jidoka.toml", "config", "show"],
        &[],
    )?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("models.\"churn-*\"") && err.contains("models.\"*-churn\""),
        "{err}"
    );
    std::fs::write(
        dir.path().join("jidoka.toml"),
        "[models.\"fraud-*\"]\nks-alpah = 0.01\n",
    )?;
    let out = jidoka(dir.path(), &["--config", "jidoka.toml", "run"], &[])?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ks-alpah") && err.contains("jidoka.toml"),
        "{err}"
    );
    Ok(())
}
