//! Per-model settings through the `jidoka` binary: `config show` prints
//! the effective settings of a model with where each value came from, and
//! a bad `[models."<glob>"]` table stops the binary naming it. And a
//! pipeline on a real broker tests each model with its own settings.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;
use jidoka::config::ModelOverrides;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::{DriftEvent, EvaluationRecord};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_on_one_broker_are_tested_with_their_own_settings() -> TestResult {
    let mut env = TestEnv::start().await?;
    let mut cfg = env.loaded.config.clone();
    cfg.models.insert(
        "churn-strict".into(),
        ModelOverrides {
            ks_alpha: Some(1e-200),
            ..ModelOverrides::default()
        },
    );
    cfg.models.insert(
        "fraud-*".into(),
        ModelOverrides {
            exclude: Some(vec!["amount".into()]),
            ..ModelOverrides::default()
        },
    );
    env.loaded = with_version(cfg)?;
    // The demo's models, and churn-strict: churn-v7's data and shift.
    let mut scenario = Scenario::demo(2000, 1000);
    let strict = scenario
        .models
        .iter()
        .find(|m| m.model_id == "churn-v7")
        .cloned()
        .ok_or("no churn-v7 in the demo")?;
    scenario.models.push(jidoka::demo::scenario::ModelSpec {
        model_id: "churn-strict".into(),
        ..strict
    });
    let records = encode_predictions(&env.codec, &scenario.predictions())?;
    env.run(&records).await?;

    let cfg = env.cfg();
    let evaluations: Vec<EvaluationRecord> = read_all(cfg, &env.codec, &cfg.topics.evaluations)?
        .into_iter()
        .map(|r| r.value)
        .filter(|e: &EvaluationRecord| e.kind == "covariate")
        .collect();
    let of = |model: &str| -> Vec<&EvaluationRecord> {
        evaluations.iter().filter(|e| e.model_id == model).collect()
    };
    let (churn, strict) = (of("churn-v7"), of("churn-strict"));
    assert!(!churn.is_empty());
    assert_eq!(churn.len(), strict.len(), "same data, same tests");
    assert!(churn
        .iter()
        .any(|e| e.feature == "tenure_days" && e.drifted));
    assert!(strict
        .iter()
        .all(|e| !e.significant && e.threshold <= 1e-200));
    let fraud: BTreeSet<&str> = of("fraud-v3").iter().map(|e| e.feature.as_str()).collect();
    assert_eq!(fraud, BTreeSet::from(["hour_of_day", "merchant_risk"]));
    let ranker: BTreeSet<&str> = of("ranker-v2").iter().map(|e| e.feature.as_str()).collect();
    assert_eq!(ranker.len(), 3, "{ranker:?}");

    let events: Vec<DriftEvent> = read_all(cfg, &env.codec, &cfg.topics.drift_events)?
        .into_iter()
        .map(|r| r.value)
        .collect();
    let covariate = |model: &str| {
        events
            .iter()
            .filter(|e| e.model_id == model && e.kind == "covariate")
            .count()
    };
    assert!(covariate("churn-v7") > 0);
    assert_eq!(covariate("churn-strict"), 0);
    Ok(())
}
