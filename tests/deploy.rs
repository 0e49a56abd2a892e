//! The deployment files stay in step with the code: every jidoka command in
//! `docker-compose.yml` and the `Dockerfile` parses with the real CLI, every
//! `JIDOKA__…` variable they set is a config key that takes the value given,
//! the config file they mount exists, and the demo producer's command
//! (`jidoka demo --produce`) writes the demo stream, and each model's
//! stream run on past the reward's horizon, to a real broker. The
//! monitoring files (`monitoring.rs`) and the Helm chart (`helm.rs`) are
//! checked beside them.

// Its own test binary, not a module of `it/`: figment::Jail sets
// environment variables and the working directory of the whole process,
// which would leak into the tests running beside it.
#[path = "it/common/mod.rs"]
mod common;
#[path = "deploy/helm.rs"]
mod helm;
#[path = "deploy/monitoring.rs"]
mod monitoring;
#[path = "deploy/quickstart.rs"]
mod quickstart;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use common::*;
use jidoka::cli::{Cli, Command, TopicsCommand};
use jidoka::config::Config;
use jidoka::schema::Prediction;
use serde_yaml::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compose() -> Result<Value, BoxError> {
    let text = std::fs::read_to_string(repo().join("docker-compose.yml"))?;
    let mut doc: Value = serde_yaml::from_str(&text)?;
    doc.apply_merge()?; // `<<: *jidoka` shared settings
    Ok(doc)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A service's environment as text (numbers and booleans too).
fn environment(service: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if let Some(map) = service.get("environment").and_then(Value::as_mapping) {
        for (k, v) in map {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => String::new(),
            };
            if let Some(k) = k.as_str() {
                env.insert(k.to_string(), value);
            }
        }
    }
    env
}

/// The config a jidoka container gets: `file` (a path on the host) plus
/// the `JIDOKA__…` variables; each variable must name a key that ends up
/// with exactly its value.
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
fn check_env(file: &Path, env: &BTreeMap<String, String>) -> Result<Config, BoxError> {
    let mut loaded = None;
    figment::Jail::try_with(|jail| {
        for (k, v) in env {
            jail.set_env(k, v);
        }
        let cfg = Config::load(Some(file)).map_err(|e| e.to_string())?.config;
        let tree = serde_json::to_value(&cfg).map_err(|e| e.to_string())?;
        for (k, v) in env.iter().filter(|(k, _)| k.starts_with("JIDOKA__")) {
            let path: Vec<String> = k["JIDOKA__".len()..]
                .split("__")
                .map(|p| p.to_lowercase().replace('_', "-"))
                .collect();
            let got = path
                .iter()
                .try_fold(&tree, |t, p| t.get(p))
                .ok_or_else(|| format!("{k}: no config key {}", path.join(".")))?;
            let got = got.as_str().map_or_else(|| got.to_string(), String::from);
            // A secret serializes redacted: resolved at load, never shown.
            if got == jidoka::config::REDACTED {
                continue;
            }
            if &got != v {
                return Err(format!("{k}={v} gives {} = {got}", path.join(".")).into());
            }
        }
        loaded = Some(cfg);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    loaded.ok_or_else(|| "no config".into())
}

/// The host file behind a container path, through the service's bind mounts.
fn host_path(service: &Value, container_path: &str) -> Option<PathBuf> {
    strings(service.get("volumes")?).iter().find_map(|v| {
        let mut parts = v.split(':');
        let (host, target) = (parts.next()?, parts.next()?);
        let rest = container_path.strip_prefix(target)?.trim_start_matches('/');
        host.starts_with("./")
            .then(|| repo().join(&host[2..]).join(rest))
    })
}

#[test]
fn compose_commands_parse_and_env_names_config_keys() -> TestResult {
    let doc = compose()?;
    let services = doc
        .get("services")
        .and_then(Value::as_mapping)
        .ok_or("no services")?;

    let kafka = services.get("kafka").ok_or("no kafka service")?;
    let image = kafka.get("image").and_then(Value::as_str).unwrap_or("");
    assert!(image.starts_with("apache/kafka:"), "{image}");
    let kenv = environment(kafka);
    assert_eq!(
        kenv.get("KAFKA_PROCESS_ROLES").map(String::as_str),
        Some("broker,controller")
    );
    let advertised = kenv
        .get("KAFKA_ADVERTISED_LISTENERS")
        .cloned()
        .unwrap_or_default();
    assert!(advertised.contains("//kafka:9092"), "{advertised}");

    let mut seen = Vec::new();
    for (name, service) in services {
        let name = name.as_str().unwrap_or("?");
        if service.get("build").is_none() {
            continue; // not a jidoka container
        }
        let command = strings(
            service
                .get("command")
                .ok_or(format!("{name}: no command"))?,
        );
        let cli = Cli::try_parse_from(std::iter::once("jidoka".to_string()).chain(command.clone()))
            .map_err(|e| format!("{name}: `jidoka {}`: {e}", command.join(" ")))?;
        let config = cli.config.as_ref().ok_or(format!("{name}: no --config"))?;
        let file = host_path(service, &config.to_string_lossy())
            .ok_or(format!("{name}: {} is not mounted", config.display()))?;
        assert!(file.exists(), "{name}: {} missing", file.display());
        let env = environment(service);
        let cfg = check_env(&file, &env).map_err(|e| format!("{name}: {e}"))?;
        assert_eq!(cfg.kafka.bootstrap_servers, "kafka:9092", "{name}");
        match &cli.command {
            Command::Run => {
                let address = cfg.telemetry.http_address().ok_or("run: no http-address")?;
                let port = address.rsplit(':').next().unwrap_or("");
                let ports = strings(service.get("ports").ok_or("run: no ports")?);
                assert!(
                    ports.iter().any(|p| p.ends_with(&format!(":{port}"))),
                    "{ports:?} do not publish {address}"
                );
                assert_eq!(
                    env.get("JIDOKA__STATE__DATA_DIR").map(String::as_str),
                    Some("/var/lib/jidoka")
                );
                seen.push("run");
            }
            Command::Executor => {
                let e = &cfg.executor;
                let address = e.http_address().ok_or("executor: no http-address")?;
                let port = address.rsplit(':').next().unwrap_or("");
                let ports = strings(service.get("ports").ok_or("executor: no ports")?);
                assert!(
                    ports.iter().any(|p| p.ends_with(&format!(":{port}"))),
                    "{ports:?} do not publish {address}"
                );
                assert!(e.hmac_key.is_some(), "executor: no hmac-key");
                let volumes = strings(service.get("volumes").ok_or("executor: no volumes")?);
                let data = e.data_dir.to_string_lossy().into_owned();
                assert!(
                    volumes.iter().any(|v| v.ends_with(&format!(":{data}"))),
                    "{volumes:?} do not keep {data}"
                );
                // The webhook goes to the example receiver, which reports
                // back to this endpoint with the same key.
                let url = e
                    .webhook_url(jidoka::schema::Action::Retrain)
                    .ok_or("executor: no webhook url")?;
                let receiver = services
                    .get("webhook-receiver")
                    .ok_or("no webhook-receiver service")?;
                let renv = environment(receiver);
                assert!(url.starts_with("http://webhook-receiver:"), "{url}");
                assert_eq!(
                    renv.get("RECEIVER_HMAC_KEY").map(String::as_str),
                    e.hmac_key.as_ref().map(|k| k.expose())
                );
                assert_eq!(
                    renv.get("BRIDGE_OUTCOMES_URL").map(String::as_str),
                    Some(format!("http://{name}:{port}/outcomes").as_str())
                );
                let mounted = host_path(receiver, "/app/receiver.py")
                    .ok_or("webhook-receiver: receiver.py is not mounted")?;
                assert!(mounted.exists(), "{}", mounted.display());
                seen.push("executor");
            }
            Command::Topics {
                command: TopicsCommand::Create,
            } => seen.push("topics create"),
            Command::Demo(args) if args.produce => seen.push("demo --produce"),
            other => return Err(format!("{name}: unexpected command {other:?}").into()),
        }
    }
    seen.sort();
    assert_eq!(seen, ["demo --produce", "executor", "run", "topics create"]);
    Ok(())
}

#[test]
fn dockerfile_env_and_command_are_valid() -> TestResult {
    let text = std::fs::read_to_string(repo().join("Dockerfile"))?;
    let joined = text.replace("\\\n", " ");
    let mut env = BTreeMap::new();
    let mut cmd = Vec::new();
    for line in joined.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("ENV ") {
            for pair in rest.split_whitespace() {
                let (k, v) = pair.split_once('=').ok_or(format!("ENV {pair}"))?;
                env.insert(k.to_string(), v.to_string());
            }
        }
        for directive in ["ENTRYPOINT ", "CMD "] {
            if let Some(rest) = line.strip_prefix(directive) {
                let words: Vec<String> = serde_json::from_str(rest)?;
                cmd.extend(words);
            }
        }
    }
    assert_eq!(cmd.first().map(String::as_str), Some("jidoka"));
    let cli = Cli::try_parse_from(&cmd)?;
    assert!(matches!(cli.command, Command::Run), "{cmd:?}");
    let file = env
        .get("JIDOKA_CONFIG")
        .and_then(|p| p.strip_prefix("/etc/jidoka/"))
        .map(|f| repo().join("configs").join(f))
        .ok_or("JIDOKA_CONFIG is not a file of configs/")?;
    assert!(file.exists(), "{}", file.display());
    assert!(text.contains("COPY configs /etc/jidoka"));
    check_env(&file, &env)?;
    assert!(text.contains("\nUSER "), "runs as root");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_produce_writes_the_stream_to_kafka() -> TestResult {
    let env = TestEnv::start().await?;
    let cfg = env.cfg();
    let file = env.dir.path().join("jidoka.toml");
    std::fs::write(&file, toml::to_string(cfg)?)?;
    let path = file.to_string_lossy().into_owned();
    let cli = Cli::try_parse_from([
        "jidoka",
        "--config",
        &path,
        "demo",
        "--produce",
        "--records",
        "200",
        "--shift-at",
        "100",
    ])?;
    let code = jidoka::cli::main(cli).await;
    assert_eq!(code, ExitCode::SUCCESS);
    // Each model's 200 records, then its stream run on for the horizon
    // (30 min) and one evaluation (125 records, 1 s apart) and one record
    // past them: 1,926 more each; and three corrupt records.
    assert_eq!(
        (
            cfg.decide.reward.horizon.as_secs(),
            cfg.detect.evaluate_every
        ),
        (1800, 125)
    );
    let raw = read_raw(cfg, &cfg.topics.predictions)?;
    assert_eq!(
        raw.len(),
        3 * (200 + 1_926) + 3,
        "predictions, their continuation and three corrupt records"
    );
    let good = raw
        .iter()
        .filter(|r| env.codec.decode::<Prediction>(r.value.as_deref()).is_ok())
        .count();
    assert_eq!(good, 3 * (200 + 1_926));
    Ok(())
}
