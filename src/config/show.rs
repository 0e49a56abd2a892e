//! `jidoka config show [--model M]`: the effective configuration as TOML,
//! each value followed by where it came from.
//!
//! Guarantees: the text is valid TOML that reads back to the same values
//! (origins are comments); every value's origin is one of `default`,
//! `file <path>`, `env JIDOKA__…` (from figment's metadata of the layer
//! that set it) or `[models."<glob>"] (…)`; secrets are printed redacted,
//! as their serialization is.

use std::path::Path;

use figment::value::Value as FValue;
use figment::{Figment, Source};

use super::load::{table_origin, ConfigError, ENV_PREFIX};
use super::model::Config;
use super::models::ModelRules;

impl Config {
    /// The effective configuration from all layers (the same as
    /// [`Config::load`]), as commented TOML; with `model`, that model's
    /// effective per-model settings instead.
    pub fn show(file: Option<&Path>, model: Option<&str>) -> Result<String, ConfigError> {
        let figment = Config::figment(file)?;
        let config = Config::from_figment(&figment)?.config;
        let invalid = |e: toml::ser::Error| {
            ConfigError::Invalid(Box::new(figment::Error::from(e.to_string())))
        };
        let mut out = String::new();
        match model {
            None => {
                let value = toml::Value::try_from(&config).map_err(invalid)?;
                out.push_str(
                    "# The effective configuration; after each value, where it came from.\n",
                );
                render(&mut out, &mut Vec::new(), &value, &|path| {
                    figment_origin(&figment, path)
                });
            }
            Some(model) => {
                let settings = ModelRules::new(&config).resolve(model);
                let overrides = settings
                    .pattern
                    .as_deref()
                    .and_then(|p| config.models.get(p).map(|o| (p, o.keys())));
                out.push_str(&format!(
                    "# Effective settings of model `{model}`: {}.\n# After each value, where it came from.\n",
                    match &overrides {
                        Some((p, _)) => format!("[models.\"{p}\"] applies"),
                        None => "no [models] table matches; the global settings apply".into(),
                    }
                ));
                let from_table = |path: &[String]| -> Option<String> {
                    let (pattern, keys) = overrides.as_ref()?;
                    let key = match path.first().map(String::as_str) {
                        Some("detect" | "features" | "decide") => path[1..].join("."),
                        _ => return None,
                    };
                    keys.iter()
                        .any(|k| *k == key || k.starts_with(&format!("{key}.")))
                        .then(|| {
                            format!(
                                "[models.\"{pattern}\"] ({})",
                                table_origin(&figment, pattern)
                            )
                        })
                };
                let origin = |path: &[String]| {
                    from_table(path).unwrap_or_else(|| match path.first().map(String::as_str) {
                        Some("features") => "default".to_string(),
                        _ => figment_origin(&figment, path),
                    })
                };
                let mut root = toml::value::Table::new();
                root.insert(
                    "detect".into(),
                    toml::Value::try_from(&settings.detect).map_err(invalid)?,
                );
                let mut features = toml::value::Table::new();
                if let Some((pattern, _)) = overrides {
                    if let Some(o) = config.models.get(pattern) {
                        for (key, list) in [
                            ("include", &o.include),
                            ("exclude", &o.exclude),
                            ("numeric", &o.numeric),
                            ("categorical", &o.categorical),
                        ] {
                            if let Some(list) = list {
                                features.insert(
                                    key.into(),
                                    toml::Value::try_from(list).map_err(invalid)?,
                                );
                            }
                        }
                    }
                }
                if features.is_empty() {
                    out.push_str(
                        "# [features]: every feature is monitored, as the kind it arrives as.\n",
                    );
                } else {
                    root.insert("features".into(), toml::Value::Table(features));
                }
                let mut decide = toml::value::Table::new();
                match &settings.policy_file {
                    Some(path) => {
                        decide.insert(
                            "policy-file".into(),
                            toml::Value::String(path.display().to_string()),
                        );
                        root.insert("decide".into(), toml::Value::Table(decide));
                    }
                    None => out.push_str("# [decide] policy-file: none, the built-in policy.\n"),
                }
                render(
                    &mut out,
                    &mut Vec::new(),
                    &toml::Value::Table(root),
                    &origin,
                );
            }
        }
        Ok(out)
    }
}

/// Writes a table's plain values (each with its origin), then its
/// sub-tables under their headers.
fn render(
    out: &mut String,
    path: &mut Vec<String>,
    value: &toml::Value,
    origin: &dyn Fn(&[String]) -> String,
) {
    let toml::Value::Table(table) = value else {
        return;
    };
    let (tables, plain): (Vec<_>, Vec<_>) = table
        .iter()
        .partition(|(_, v)| matches!(v, toml::Value::Table(_)));
    if !path.is_empty() && (!plain.is_empty() || tables.is_empty()) {
        out.push_str(&format!(
            "\n[{}]\n",
            path.iter().map(|k| key(k)).collect::<Vec<_>>().join(".")
        ));
    }
    for (k, v) in plain {
        path.push(k.clone());
        out.push_str(&format!("{} = {v}  # {}\n", key(k), origin(path)));
        path.pop();
    }
    for (k, v) in tables {
        path.push(k.clone());
        render(out, path, v, origin);
        path.pop();
    }
}

/// A TOML key, quoted unless bare.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
    }
}

/// Where figment's layers say the value at `path` came from.
fn figment_origin(figment: &Figment, path: &[String]) -> String {
    let Some((first, rest)) = path.split_first() else {
        return "default".into();
    };
    let mut value: Option<FValue> = figment.find_value(first).ok();
    for k in rest {
        value = value
            .and_then(|v| v.into_dict())
            .and_then(|mut d| d.remove(k));
    }
    let meta = value.and_then(|v| figment.get_metadata(v.tag()).cloned());
    match meta {
        Some(meta) => match &meta.source {
            Some(Source::File(p)) => format!("file {}", p.display()),
            _ if meta.name.to_lowercase().contains("environment") => format!(
                "env {}{}",
                ENV_PREFIX,
                path.join("__").replace('-', "_").to_uppercase()
            ),
            _ => "default".into(),
        },
        None => "default".into(),
    }
}
