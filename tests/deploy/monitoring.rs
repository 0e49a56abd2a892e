//! The monitoring files stay valid and wired: `promtool` accepts the
//! Prometheus config and the alert rules and passes the rules' unit tests;
//! every dashboard panel has a data source and queries that parse as
//! PromQL; the compose stack mounts what the Prometheus and Grafana
//! containers read, and Grafana's data source and dashboard folder are
//! the ones the files name. (That every metric the dashboard and the rules
//! query is exposed by a running pipeline is tests/it/metrics_http.rs'.)

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_yaml::Value;

use super::{compose, host_path, repo, strings};
use crate::common::{unique, BoxError, TestResult};

/// Runs `promtool args…` in `dir`; its output when it succeeds.
fn promtool(dir: &Path, args: &[&str]) -> Result<String, BoxError> {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| {
            format!(
                "promtool: {e} (Debian's `prometheus` package has it; tests/run.sh installs it)"
            )
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(format!("promtool {}: {text}", args.join(" ")).into());
    }
    Ok(text)
}

fn yaml(file: &str) -> Result<Value, BoxError> {
    let text = std::fs::read_to_string(repo().join(file)).map_err(|e| format!("{file}: {e}"))?;
    Ok(serde_yaml::from_str(&text)?)
}

#[test]
fn prometheus_config_and_alert_rules_pass_promtool() -> TestResult {
    let dir = repo().join("deploy/prometheus");
    let out = promtool(&dir, &["check", "config", "prometheus.yml"])?;
    assert!(out.contains("1 rule files found"), "{out}");
    let out = promtool(&dir, &["check", "rules", "alerts.yml"])?;
    assert!(out.contains("SUCCESS"), "{out}");
    let out = promtool(&dir, &["test", "rules", "alerts_test.yml"])?;
    assert!(out.contains("SUCCESS"), "{out}");

    // The alerts the operations guide promises, each tested.
    let rules = yaml("deploy/prometheus/alerts.yml")?;
    let names: BTreeSet<&str> = rules["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_sequence().into_iter().flatten())
        .filter_map(|r| r["alert"].as_str())
        .collect();
    let tests = std::fs::read_to_string(dir.join("alerts_test.yml"))?;
    for alert in [
        "JidokaModelDegraded",
        "JidokaNoPredictions",
        "JidokaDeadLettersRising",
        "JidokaConsumerLagHigh",
        "JidokaBrokerUnreachable",
    ] {
        assert!(names.contains(alert), "{alert} missing: {names:?}");
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "{alert} has no unit test"
        );
    }

    // Scrapes jidoka where compose publishes it, and the executor bridge.
    let config = yaml("deploy/prometheus/prometheus.yml")?;
    let targets: Vec<String> = config["scrape_configs"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|s| s["static_configs"].as_sequence().into_iter().flatten())
        .flat_map(|c| strings(&c["targets"]))
        .collect();
    assert!(targets.contains(&"jidoka:9464".to_string()), "{targets:?}");
    assert!(
        targets.contains(&"executor:9465".to_string()),
        "{targets:?}"
    );
    Ok(())
}

/// A rule file with one recording rule per dashboard query, Grafana's
/// variables replaced by values of their kind, so promtool parses them.
fn queries_as_rules(exprs: &[String]) -> String {
    let mut out = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        let e = e
            .replace("$__rate_interval", "5m")
            .replace("$__interval", "1m")
            .replace("$model", ".*");
        let quoted = serde_json::to_string(&e).unwrap_or_default();
        out.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {quoted}\n"
        ));
    }
    out
}

#[test]
fn dashboard_panels_are_complete_and_their_queries_parse() -> TestResult {
    let text = std::fs::read_to_string(repo().join("deploy/grafana/jidoka.json"))?;
    let dash: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(dash["uid"], "jidoka-overview");
    assert!(dash["title"].is_string() && dash["schemaVersion"].is_u64());

    let datasources = yaml("deploy/grafana/provisioning/datasources/prometheus.yml")?;
    let source = &datasources["datasources"][0];
    let uid = source["uid"].as_str().ok_or("data source without uid")?;
    assert_eq!(source["type"].as_str(), Some("prometheus"));

    let panels = dash["panels"].as_array().ok_or("no panels")?;
    let mut ids = BTreeSet::new();
    let mut exprs = Vec::new();
    for p in panels {
        let id = p["id"].as_u64().ok_or(format!("panel without id: {p}"))?;
        assert!(ids.insert(id), "panel id {id} twice");
        let grid = &p["gridPos"];
        for k in ["h", "w", "x", "y"] {
            assert!(grid[k].is_u64(), "panel {id}: gridPos.{k}");
        }
        if p["type"] == "row" {
            continue;
        }
        assert!(
            p["title"].as_str().is_some_and(|t| !t.is_empty()),
            "panel {id}: no title"
        );
        assert_eq!(p["datasource"]["uid"].as_str(), Some(uid), "panel {id}");
        let targets = p["targets"].as_array().filter(|t| !t.is_empty());
        let targets = targets.ok_or(format!("panel {id}: no targets"))?;
        for t in targets {
            let expr = t["expr"].as_str().filter(|e| !e.trim().is_empty());
            exprs.push(
                expr.ok_or(format!("panel {id}: a target without expr"))?
                    .to_string(),
            );
            assert_eq!(t["datasource"]["uid"].as_str(), Some(uid), "panel {id}");
        }
    }
    assert!(exprs.len() >= 15, "{exprs:?}");
    for metric in [
        "jidoka_records_in_total",
        "jidoka_records_dead_lettered_total",
        "jidoka_consumer_lag_records",
        "jidoka_detect_latency_seconds_bucket",
        "jidoka_model_open_alerts",
        "jidoka_feature_p_value",
        "jidoka_model_commands_last_hour",
        "jidoka_decisions_total",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(metric)),
            "no panel shows {metric}"
        );
    }
    assert!(exprs
        .iter()
        .any(|e| e.starts_with("histogram_quantile(0.99")));
    for var in dash["templating"]["list"].as_array().into_iter().flatten() {
        assert_eq!(var["datasource"]["uid"].as_str(), Some(uid));
        exprs.push(
            var["definition"]
                .as_str()
                .and_then(|d| d.strip_prefix("label_values("))
                .and_then(|d| d.split(',').next())
                .ok_or("a variable that is not label_values(metric, label)")?
                .to_string(),
        );
    }

    let dir = tempfile::tempdir()?;
    let file = dir.path().join(format!("{}.yml", unique("dashboard")));
    std::fs::write(&file, queries_as_rules(&exprs))?;
    let out = promtool(dir.path(), &["check", "rules", &file.to_string_lossy()])
        .map_err(|e| format!("a dashboard query does not parse: {e}"))?;
    assert!(
        out.contains(&format!("{} rules found", exprs.len())),
        "{out}"
    );
    Ok(())
}

#[test]
fn compose_mounts_the_monitoring_files_and_keeps_kafka_data() -> TestResult {
    let doc = compose()?;
    let services = &doc["services"];
    let named: BTreeSet<&str> = doc["volumes"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str())
        .collect();

    // Every bind mount of every service exists; every named volume is declared.
    for (name, service) in services.as_mapping().ok_or("no services")? {
        for v in strings(&service["volumes"]) {
            let host = v.split(':').next().unwrap_or("");
            if let Some(rel) = host.strip_prefix("./") {
                assert!(repo().join(rel).exists(), "{name:?}: {v}: missing");
            } else {
                assert!(named.contains(host), "{name:?}: volume {host} not declared");
            }
        }
    }

    // Kafka's log directory is a volume.
    let kafka = &services["kafka"];
    let log_dirs = kafka["environment"]["KAFKA_LOG_DIRS"]
        .as_str()
        .ok_or("kafka: no KAFKA_LOG_DIRS")?;
    assert!(
        strings(&kafka["volumes"]).contains(&format!("kafka-data:{log_dirs}")),
        "kafka: {log_dirs} is not the kafka-data volume"
    );
    assert!(kafka["environment"]["CLUSTER_ID"].is_string());

    // Prometheus reads its config and rules from the mounted folder.
    let prometheus = &services["prometheus"];
    let command = strings(&prometheus["command"]);
    let config = command
        .iter()
        .find_map(|a| a.strip_prefix("--config.file="))
        .ok_or("prometheus: no --config.file")?;
    let file = host_path(prometheus, config).ok_or("prometheus: config not mounted")?;
    assert_eq!(file, repo().join("deploy/prometheus/prometheus.yml"));

    // Grafana: provisioning mounted, the dashboard where the provider looks,
    // the data source at the prometheus service.
    let grafana = &services["grafana"];
    let provisioning = host_path(grafana, "/etc/grafana/provisioning/dashboards/jidoka.yml")
        .ok_or("grafana: provisioning not mounted")?;
    assert!(provisioning.exists(), "{}", provisioning.display());
    let provider = yaml("deploy/grafana/provisioning/dashboards/jidoka.yml")?;
    let folder = provider["providers"][0]["options"]["path"]
        .as_str()
        .ok_or("provider without a path")?;
    let dashboard = host_path(grafana, &format!("{folder}/jidoka.json"))
        .ok_or(format!("grafana: nothing mounted in {folder}"))?;
    assert_eq!(dashboard, repo().join("deploy/grafana/jidoka.json"));
    let env = &grafana["environment"];
    assert_eq!(env["GF_AUTH_ANONYMOUS_ENABLED"].as_str(), Some("true"));
    assert_eq!(env["GF_AUTH_ANONYMOUS_ORG_ROLE"].as_str(), Some("Viewer"));
    let datasources = yaml("deploy/grafana/provisioning/datasources/prometheus.yml")?;
    let url = datasources["datasources"][0]["url"].as_str().unwrap_or("");
    let port = strings(&prometheus["ports"])
        .first()
        .and_then(|p| p.rsplit(':').next().map(String::from))
        .unwrap_or_default();
    assert_eq!(url, format!("http://prometheus:{port}"));
    Ok(())
}
