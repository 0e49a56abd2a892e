//! The Helm chart (`deploy/helm/jidoka`) renders to valid Kubernetes
//! manifests that run jidoka as configured. helm itself is not installed:
//! the chart keeps to a small template subset (value references, `if` on a
//! value, `quote`, `nindent`, `toYaml`) that [`render`] implements the way
//! helm does, and fails on anything else, so a template outside the subset
//! fails here rather than being checked wrongly. The rendered manifests are
//! validated against the Kubernetes JSON schemas by `kubernetes-validate
//! --strict` (PyPI; tests/run.sh installs it), and their content is checked
//! against the real config loader and CLI: a StatefulSet with a volume
//! claim per pod and the data dir on it, client id and transactional id
//! from the pod's name, readiness on `/health`, liveness on
//! `/health/live`, the headless Service it names, the config file it
//! mounts.

use std::collections::BTreeMap;
use std::process::Command;

use clap::Parser;
use jidoka::cli::{Cli, Command as JidokaCommand};
use serde::Deserialize;
use serde_yaml::Value;

use super::{check_env, repo};
use crate::common::{BoxError, TestResult};

const RELEASE: &str = "jidoka";

/// The value at a dotted path (`.Values.a.b`, `.Release.Name`,
/// `.Chart.Name`, …).
fn lookup(path: &str, values: &Value, chart: &Value) -> Result<Value, String> {
    let mut parts = path.trim_start_matches('.').split('.');
    let root = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    let start = match root {
        "Values" => values.clone(),
        "Release" => match rest.as_slice() {
            ["Name"] => return Ok(Value::String(RELEASE.into())),
            ["Namespace"] => return Ok(Value::String("default".into())),
            _ => return Err(format!("unsupported {path}")),
        },
        "Chart" => {
            let key = match rest.as_slice() {
                ["Name"] => "name",
                ["Version"] => "version",
                ["AppVersion"] => "appVersion",
                _ => return Err(format!("unsupported {path}")),
            };
            return Ok(chart[key].clone());
        }
        _ => return Err(format!("unsupported reference {path}")),
    };
    rest.iter().try_fold(start, |v, key| {
        v.get(*key)
            .cloned()
            .ok_or_else(|| format!("{path}: no value {key}"))
    })
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Sequence(s) => !s.is_empty(),
        Value::Mapping(m) => !m.is_empty(),
        Value::Tagged(_) => true,
    }
}

/// A pipeline: `<path>` or `toYaml <path>`, then `quote`, `nindent N`,
/// `indent N`.
fn pipeline(expr: &str, values: &Value, chart: &Value) -> Result<String, String> {
    let mut stages = expr.split('|').map(str::trim);
    let head = stages.next().unwrap_or("");
    let mut out = match head.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["toYaml", path] => {
            let v = lookup(path, values, chart)?;
            let text = serde_yaml::to_string(&v).map_err(|e| e.to_string())?;
            text.trim_end_matches('\n').to_string()
        }
        [path] if path.starts_with('.') => match lookup(path, values, chart)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(format!("{path} is not a scalar: {other:?}")),
        },
        _ => return Err(format!("unsupported expression {head:?}")),
    };
    for stage in stages {
        out = match stage.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["quote"] => serde_json::to_string(&out).map_err(|e| e.to_string())?,
            [f @ ("nindent" | "indent"), n] => {
                let pad = " ".repeat(n.parse().map_err(|_| format!("{stage}: not a number"))?);
                let body = format!("{pad}{}", out.replace('\n', &format!("\n{pad}")));
                if *f == "nindent" {
                    format!("\n{body}")
                } else {
                    body
                }
            }
            _ => return Err(format!("unsupported function {stage:?}")),
        };
    }
    Ok(out)
}

/// Renders a template as helm does, for the subset the chart keeps to.
fn render(template: &str, values: &Value, chart: &Value) -> Result<String, String> {
    let mut out = String::new();
    // Whether each enclosing `if` holds.
    let mut conditions: Vec<bool> = Vec::new();
    let mut rest = template;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let close = rest[open..]
            .find("}}")
            .map(|c| open + c)
            .ok_or("unclosed {{")?;
        let mut action = &rest[open + 2..close];
        if let Some(a) = action.strip_prefix('-') {
            text = text.trim_end();
            action = a;
        }
        trim_next = action.ends_with('-');
        let action = action.trim_end_matches('-').trim();
        let active = conditions.iter().all(|c| *c);
        if active {
            out.push_str(text);
        }
        if let Some(cond) = action.strip_prefix("if ") {
            conditions.push(active && truthy(&lookup(cond.trim(), values, chart)?));
        } else if action == "end" {
            conditions.pop().ok_or("end without if")?;
        } else if active {
            out.push_str(&pipeline(action, values, chart)?);
        }
        rest = &rest[close + 2..];
    }
    if !conditions.is_empty() {
        return Err("if without end".into());
    }
    out.push_str(if trim_next { rest.trim_start() } else { rest });
    Ok(out)
}

/// Every manifest of the chart, rendered with its values, by kind.
fn manifests() -> Result<(String, BTreeMap<String, Value>), BoxError> {
    let dir = repo().join("deploy/helm/jidoka");
    let chart: Value = serde_yaml::from_str(&std::fs::read_to_string(dir.join("Chart.yaml"))?)?;
    let values: Value = serde_yaml::from_str(&std::fs::read_to_string(dir.join("values.yaml"))?)?;
    let mut all = String::new();
    let mut by_kind = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("templates"))?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file)?;
        let rendered = render(&text, &values, &chart).map_err(|e| format!("{name}: {e}"))?;
        for doc in serde_yaml::Deserializer::from_str(&rendered) {
            let v = Value::deserialize(doc).map_err(|e| format!("{name}: {e}\n{rendered}"))?;
            let kind = v["kind"]
                .as_str()
                .ok_or(format!("{name}: no kind"))?
                .to_string();
            assert!(by_kind.insert(kind.clone(), v).is_none(), "two {kind}s");
        }
        all.push_str("---\n");
        all.push_str(&rendered);
        all.push('\n');
    }
    Ok((all, by_kind))
}

#[test]
fn renderer_follows_helm_for_the_subset() -> Result<(), String> {
    let values: Value = serde_yaml::from_str("a: {b: x y, n: 3, empty: '', m: {k: 1}}")
        .map_err(|e| e.to_string())?;
    let chart: Value = serde_yaml::from_str("name: c").map_err(|e| e.to_string())?;
    let r = |t: &str| render(t, &values, &chart);
    assert_eq!(r("v: {{ .Values.a.b | quote }}")?, "v: \"x y\"");
    assert_eq!(r("n: {{ .Values.a.n }}/{{ .Chart.Name }}")?, "n: 3/c");
    assert_eq!(
        r("m:\n  {{- toYaml .Values.a.m | nindent 2 }}\n")?,
        "m:\n  k: 1\n"
    );
    assert_eq!(
        r("a\n  {{- if .Values.a.empty }}\nb\n  {{- end }}\nc")?,
        "a\nc"
    );
    assert_eq!(
        r("a\n  {{- if .Values.a.b }}\nb\n  {{- end }}\nc")?,
        "a\nb\nc"
    );
    assert!(r("{{ include \"x\" . }}").is_err());
    assert!(r("{{ .Values.a.missing }}").is_err());
    assert!(r("{{ if .Values.a.b }}").is_err());
    Ok(())
}

#[test]
fn chart_renders_to_schema_valid_manifests() -> TestResult {
    let (all, by_kind) = manifests()?;
    let kinds: Vec<&str> = by_kind.keys().map(String::as_str).collect();
    assert_eq!(kinds, ["ConfigMap", "Service", "StatefulSet"]);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("jidoka.yaml");
    std::fs::write(&file, &all)?;
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict"])
        .arg(&file)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "kubernetes-validate (pip install kubernetes-validate; tests/run.sh does): {text}\n{all}"
    );
    assert_eq!(text.matches(" passed for resource ").count(), 3, "{text}");
    Ok(())
}

#[test]
fn statefulset_runs_jidoka_as_configured() -> TestResult {
    let (_, m) = manifests()?;
    let sts = &m["StatefulSet"];
    let service = &m["Service"];
    let config_map = &m["ConfigMap"];
    let spec = &sts["spec"];
    let pod = &spec["template"]["spec"];
    let container = &pod["containers"][0];

    // Headless Service named by the StatefulSet, selecting its pods.
    assert_eq!(service["spec"]["clusterIP"].as_str(), Some("None"));
    assert_eq!(spec["serviceName"], service["metadata"]["name"]);
    assert_eq!(service["spec"]["selector"], spec["selector"]["matchLabels"]);
    assert_eq!(
        spec["template"]["metadata"]["labels"],
        spec["selector"]["matchLabels"]
    );

    // The command parses; its config file is the ConfigMap's key.
    let args: Vec<String> = serde_yaml::from_value(container["args"].clone())?;
    let cli = Cli::try_parse_from(std::iter::once("jidoka".to_string()).chain(args))?;
    assert!(matches!(cli.command, JidokaCommand::Run));
    let config_path = cli.config.ok_or("no --config")?;
    let mounts = container["volumeMounts"].as_sequence().ok_or("no mounts")?;
    let mount = |name: &str| {
        mounts
            .iter()
            .find(|v| v["name"].as_str() == Some(name))
            .and_then(|v| v["mountPath"].as_str())
            .map(String::from)
    };
    let config_dir = mount("config").ok_or("config not mounted")?;
    let key = config_path
        .strip_prefix(&config_dir)
        .map_err(|_| format!("{} is not under {config_dir}", config_path.display()))?;
    let toml = config_map["data"][key.to_string_lossy().as_ref()]
        .as_str()
        .ok_or("the ConfigMap has no such key")?;
    assert_eq!(
        pod["volumes"][0]["configMap"]["name"],
        config_map["metadata"]["name"]
    );

    // A volume claim per pod, mounted at the data dir.
    let claims = spec["volumeClaimTemplates"]
        .as_sequence()
        .ok_or("no claims")?;
    assert_eq!(claims.len(), 1);
    let claim = claims[0]["metadata"]["name"].as_str().ok_or("claim name")?;
    let data_dir = mount(claim).ok_or("the claim is not mounted")?;

    // The environment, for pod jidoka-1, gives a config that loads, with
    // the pod's name as client and transactional id.
    let mut env = BTreeMap::new();
    let mut pod_name_from_metadata = false;
    for e in container["env"].as_sequence().ok_or("no env")? {
        let name = e["name"].as_str().ok_or("env without name")?;
        if e["valueFrom"]["fieldRef"]["fieldPath"].as_str() == Some("metadata.name") {
            pod_name_from_metadata = name == "POD_NAME";
            continue;
        }
        let value = e["value"].as_str().ok_or(format!("{name}: no value"))?;
        env.insert(name.to_string(), value.replace("$(POD_NAME)", "jidoka-1"));
    }
    assert!(pod_name_from_metadata, "POD_NAME from the downward API");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("jidoka.toml");
    std::fs::write(&file, toml)?;
    let cfg = check_env(&file, &env)?;
    assert_eq!(cfg.kafka.client_id, "jidoka-1");
    assert_eq!(cfg.transactional_id(), "jidoka-1");
    assert!(cfg.kafka.transactions);
    assert_eq!(cfg.state.data_dir.to_string_lossy(), data_dir);

    // Probes on the telemetry port.
    let address = cfg.telemetry.http_address().ok_or("no http-address")?;
    let port: u64 = address.rsplit(':').next().unwrap_or("").parse()?;
    let ports = container["ports"].as_sequence().ok_or("no ports")?;
    assert_eq!(ports[0]["containerPort"].as_u64(), Some(port));
    let port_name = ports[0]["name"].as_str().ok_or("unnamed port")?;
    for (probe, path) in [
        ("readinessProbe", "/health"),
        ("livenessProbe", "/health/live"),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some(path), "{probe}");
        assert_eq!(get["port"].as_str(), Some(port_name), "{probe}");
    }
    let annotations = &spec["template"]["metadata"]["annotations"];
    assert_eq!(
        annotations["prometheus.io/port"].as_str(),
        Some(port.to_string().as_str())
    );
    Ok(())
}
