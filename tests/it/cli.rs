//! The `jidoka` binary against a real broker: `topics create` (idempotent,
//! audit compacted), `audit replay`, and config errors.

use std::process::Output;
use std::time::Duration;

use crate::common::*;
use jidoka::config::Config;
use jidoka::demo::scenario::Scenario;
use jidoka::schema::AuditRecord;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

/// Runs the binary with the config passed as environment variables, from an
/// empty directory so no config file is picked up.
fn jidoka(cfg: &Config, args: &[&str], extra_env: &[(&str, &str)]) -> Result<Output, BoxError> {
    let cwd = tempfile::tempdir()?;
    let mut cmd = jidoka_command(cfg, cwd.path());
    cmd.args(args);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    Ok(cmd.output()?)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_create_is_idempotent_and_audit_is_compacted() -> TestResult {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let cfg = test_config(&broker, dir.path())?.config;
    let first = jidoka(&cfg, &["topics", "create"], &[])?;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = stdout(&first);
    // The 9 named topics, the lessons topic and one changelog topic per
    // mirrored store.
    let expected = jidoka::kafka::topic_specs(&cfg).len();
    assert_eq!(expected, 16);
    assert_eq!(
        out.lines().filter(|l| l.ends_with(": created")).count(),
        expected,
        "{out}"
    );
    let second = jidoka(&cfg, &["topics", "create"], &[])?;
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let out = stdout(&second);
    assert_eq!(
        out.lines().filter(|l| l.ends_with(": exists")).count(),
        expected,
        "{out}"
    );

    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.kafka.bootstrap_servers)
        .create()?;
    let configs = admin
        .describe_configs(
            &[
                ResourceSpecifier::Topic(&cfg.topics.audit),
                ResourceSpecifier::Topic(&cfg.topics.actions),
                ResourceSpecifier::Topic(&cfg.changelog_topic("windows")),
                ResourceSpecifier::Topic(&cfg.lessons_topic()),
            ],
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        )
        .await?;
    let policy = |i: usize| -> Result<Option<String>, BoxError> {
        let resource = configs
            .get(i)
            .ok_or("missing result")?
            .as_ref()
            .map_err(|e| format!("{e:?}"))?;
        Ok(resource.get("cleanup.policy").and_then(|e| e.value.clone()))
    };
    assert_eq!(policy(0)?.as_deref(), Some("compact"));
    assert_ne!(policy(1)?.as_deref(), Some("compact"));
    assert_eq!(policy(2)?.as_deref(), Some("compact"));
    assert_eq!(policy(3)?.as_deref(), Some("compact"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_replay_prints_every_decision() -> TestResult {
    let env = TestEnv::start().await?;
    let (cfg, codec) = (env.cfg(), &env.codec);
    let preds = Scenario::demo(3000, 1500).predictions();
    env.run(&encode_predictions(codec, &preds)?).await?;
    let on_topic = read_all::<AuditRecord>(cfg, codec, &cfg.topics.audit)?;
    assert!(!on_topic.is_empty());

    let json = jidoka(cfg, &["audit", "replay", "--from-beginning", "--json"], &[])?;
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let mut printed: Vec<AuditRecord> = stdout(&json)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let mut expected: Vec<AuditRecord> = on_topic.into_iter().map(|r| r.value).collect();
    printed.sort_by(|a, b| a.decision_id.cmp(&b.decision_id));
    expected.sort_by(|a, b| a.decision_id.cmp(&b.decision_id));
    assert_eq!(printed, expected);

    let text = jidoka(
        cfg,
        &["audit", "replay", "--from-beginning", "--model", "churn-v7"],
        &[],
    )?;
    assert!(text.status.success());
    let text_out = stdout(&text);
    // A header, then one aligned row per record of the model.
    let of_model = expected.iter().filter(|a| a.model_id == "churn-v7").count();
    assert_eq!(text_out.lines().count(), of_model + 1, "{text_out}");
    assert!(text_out
        .lines()
        .next()
        .is_some_and(|h| h.starts_with("TIME")));
    assert!(
        text_out
            .lines()
            .any(|l| l.contains("retrain") && l.contains("dispatched") && l.contains("rules")),
        "{text_out}"
    );

    let verified = jidoka(cfg, &["audit", "verify"], &[])?;
    let verdict = stdout(&verified);
    assert!(verified.status.success(), "{verdict}");
    assert!(
        verdict.contains("churn-v7: intact") && verdict.contains("1 intact, 0 broken"),
        "{verdict}"
    );

    // Tamper: rewrite one decision's reason under its own key (compaction
    // would keep the forgery). Verify must catch it and name the decision.
    let mut forged = expected[expected.len() / 2].clone();
    forged.gate_reason = "nothing to see here".into();
    produce_raw(
        &producer(cfg)?,
        &cfg.topics.audit,
        &[(forged.decision_id.clone(), Some(codec.encode(&forged)?))],
    )
    .await?;
    let caught = jidoka(cfg, &["audit", "verify"], &[])?;
    let verdict = stdout(&caught);
    assert_eq!(caught.status.code(), Some(1), "{verdict}");
    assert!(
        verdict.contains("BROKEN") && verdict.contains(&forged.decision_id),
        "{verdict}"
    );

    let none = jidoka(
        cfg,
        &["audit", "replay", "--from-beginning", "--model", "fraud-v3"],
        &[],
    )?;
    assert!(none.status.success());
    let rows = stdout(&none);
    assert_eq!(
        rows.lines().filter(|l| !l.starts_with("TIME")).count(),
        0,
        "{rows}"
    );
    Ok(())
}

#[test]
fn config_errors_name_the_key_and_exit_2() -> TestResult {
    let cfg = Config::defaults()?;
    let out = jidoka(
        &cfg,
        &["topics", "create"],
        &[("JIDOKA__DETECT__KS_ALPHA", "2")],
    )?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("detect.ks-alpha") && err.contains("JIDOKA__DETECT__KS_ALPHA"),
        "{err}"
    );

    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), "[detect]\nwindow-sise = 10\n")?;
    let path = file.path().to_string_lossy().into_owned();
    let name = file
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let out = jidoka(&cfg, &["--config", &path, "topics", "create"], &[])?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // figment prints the file relative to the working directory.
    assert!(err.contains("window-sise") && err.contains(&name), "{err}");
    Ok(())
}

#[test]
fn bench_ablation_prints_one_json_object_per_policy() -> TestResult {
    let cfg = Config::defaults()?;
    let out = jidoka(&cfg, &["bench", "ablation", "--json", "--seeds", "3"], &[])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim())?;
    for policy in ["rules", "bandit", "hybrid", "oracle", "jidoka"] {
        let p = &v[policy];
        let cost = p["mean_cost"]
            .as_f64()
            .ok_or(format!("{policy}: no mean_cost"))?;
        let ci = p["cost_ci95"]
            .as_array()
            .ok_or(format!("{policy}: no cost_ci95"))?;
        let (lo, hi) = (
            ci[0].as_f64().unwrap_or(f64::NAN),
            ci[1].as_f64().unwrap_or(f64::NAN),
        );
        assert!(lo <= cost && cost <= hi, "{policy}: {lo} {cost} {hi}");
        let rate = p["failure_rate"]
            .as_f64()
            .ok_or(format!("{policy}: no failure_rate"))?;
        assert!((0.0..=1.0).contains(&rate));
        assert_eq!(p["failure_ci95"].as_array().map(Vec::len), Some(2));
    }
    assert_eq!(v["seeds"].as_u64(), Some(3));
    Ok(())
}
