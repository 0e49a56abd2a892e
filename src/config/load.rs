//! Layered loading and validation of [`Config`].
//!
//! Guarantees: a returned config has passed every cross-field rule; every
//! error names the offending key and where its value came from (file path or
//! environment variable); the config version is a stable hash of the
//! effective values, recorded in every audit record. Secrets are resolved
//! here (`env:NAME`, `file:/path`), so a loaded config holds their values.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::{Figment, Source};
use sha2::{Digest, Sha256};

use super::detect_rules::check_detect;
use super::model::Config;
use super::models::ModelRules;
use super::secret::Secret;

/// Config file read when no `--config` is given; skipped if it does not exist.
pub const DEFAULT_CONFIG_FILE: &str = "configs/jidoka.toml";
/// Prefix of environment variables; `__` separates levels, `_` stands for `-`
/// (e.g. `JIDOKA__DETECT__KS_ALPHA=0.01`).
pub const ENV_PREFIX: &str = "JIDOKA__";
const DEFAULTS: &str = include_str!("defaults.toml");
/// librdkafka properties that carry jidoka's delivery guarantees.
const PROTECTED_OPTIONS: [&str; 7] = [
    "transactional.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.idempotence",
    "acks",
    "group.id",
    "bootstrap.servers",
];
/// Shortest accepted `operator.hmac-key`, in bytes (HMAC-SHA256's output
/// size, the least RFC 2104 recommends).
pub const MIN_HMAC_KEY_BYTES: usize = 32;

/// A configuration error. Always the user's to fix; retrying does not help.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config` named a file that does not exist.
    #[error("config file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// A value could not be read (syntax, type, unknown key); figment's message
    /// names the key and the source.
    #[error("invalid configuration: {0}")]
    Invalid(Box<figment::Error>),
    /// A value broke a rule checked after loading.
    #[error("invalid value for `{key}` (from {origin}): {message}")]
    Rule {
        /// Dotted key, e.g. `detect.ks-alpha`.
        key: String,
        /// File or environment variable the value came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The policy file (`decide.policy-file`) does not load; the error names
    /// the file, the rule and the position.
    #[error("decide.policy-file: {0}")]
    Policy(#[from] crate::decide::rules::PolicyError),
}

/// A validated configuration and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The effective configuration.
    pub config: Config,
    /// Short stable hash of the effective configuration.
    pub version: String,
}

impl Config {
    /// The figment of all layers: defaults, then `file` (or the default file if
    /// present), then `JIDOKA__…` environment variables.
    pub fn figment(file: Option<&Path>) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::MissingFile(path.to_path_buf()));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => {
                let default = Path::new(DEFAULT_CONFIG_FILE);
                if default.exists() {
                    figment = figment.merge(Toml::file_exact(default));
                }
            }
        }
        Ok(figment.merge(
            Env::prefixed(ENV_PREFIX)
                .map(|key| key.as_str().replace("__", ".").replace('_', "-").into()),
        ))
    }

    /// The embedded defaults alone (no file, no environment).
    pub fn defaults() -> Result<Config, ConfigError> {
        Ok(Self::from_figment(&Figment::from(Toml::string(DEFAULTS)))?.config)
    }

    /// The embedded defaults with TOML snippets merged over them in order
    /// (a later snippet wins; no file, no environment), validated like any
    /// configuration. A snippet may use dotted keys
    /// (`detect.reference-mode = "rolling"`).
    pub fn defaults_with(snippets: &[&str]) -> Result<Config, ConfigError> {
        let figment = snippets
            .iter()
            .fold(Figment::from(Toml::string(DEFAULTS)), |f, s| {
                f.merge(Toml::string(s))
            });
        Ok(Self::from_figment(&figment)?.config)
    }

    /// Loads and validates the configuration from all layers.
    pub fn load(file: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
        Self::from_figment(&Self::figment(file)?)
    }

    /// Extracts and validates a configuration from a prepared figment, and
    /// resolves its secrets.
    pub fn from_figment(figment: &Figment) -> Result<LoadedConfig, ConfigError> {
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        config.topics.apply_prefix();
        config.resolve_secrets(figment)?;
        config.validate(figment)?;
        config.decide.policy = Some(match &config.decide.policy_file {
            Some(path) => std::sync::Arc::new(crate::decide::rules::Policy::from_file(path)?),
            None => crate::decide::builtin_policy(),
        });
        for (pattern, table) in &mut config.models {
            if let Some(path) = &table.policy_file {
                let policy = crate::decide::rules::Policy::from_file(path).map_err(|e| {
                    ConfigError::Rule {
                        key: format!("models.\"{pattern}\".policy-file"),
                        origin: table_origin(figment, pattern),
                        message: e.to_string(),
                    }
                })?;
                table.policy = Some(std::sync::Arc::new(policy));
            }
        }
        let version = config.version();
        Ok(LoadedConfig { config, version })
    }

    /// Short stable hash (16 hex digits of SHA-256) of the settings that
    /// shape decisions: detection, decision (including the policy's rules),
    /// schema ids and the per-model settings (with their policies). Connection settings and `kafka.options` (which may
    /// hold secrets) are left out.
    pub fn version(&self) -> String {
        let policy = self
            .decide
            .policy
            .as_ref()
            .map(|p| p.digest())
            .unwrap_or_default();
        let mut canonical =
            serde_json::to_vec(&(&self.detect, &self.decide, &self.schemas, policy))
                .unwrap_or_default();
        if !self.models.is_empty() {
            // Per-model settings and their policies (left out when there
            // are none, so such configurations keep their version).
            let policies: Vec<String> = self
                .models
                .values()
                .map(|m| m.policy.as_ref().map(|p| p.digest()).unwrap_or_default())
                .collect();
            canonical.extend(serde_json::to_vec(&(&self.models, policies)).unwrap_or_default());
        }
        if self.input.predictions.mapping.is_some() || self.input.labels.mapping.is_some() {
            // The mapping decides what a record's features are (left out
            // when there is none, so such configurations keep their
            // version).
            canonical.extend(serde_json::to_vec(&self.input).unwrap_or_default());
        }
        hex::encode(&Sha256::digest(&canonical)[..8])
    }

    /// The reference time range as event-time milliseconds, when set.
    pub fn reference_range_ms(&self) -> Option<(i64, i64)> {
        self.detect.reference_range_ms()
    }

    /// Every `[models."<glob>"]` table compiles, no two tie, and each
    /// one's settings (the table over `[detect]`) pass `[detect]`'s rules;
    /// an error names the table's key (or the global one it broke a rule
    /// with) and where the table came from.
    fn check_models(&self, figment: &Figment) -> Result<(), ConfigError> {
        let rules = ModelRules::build(self).map_err(|e| ConfigError::Rule {
            key: table_key(&e.pattern, &e.key),
            origin: table_origin(figment, &e.pattern),
            message: e.message,
        })?;
        for settings in rules.tables() {
            let Some(pattern) = settings.pattern.as_deref() else {
                continue;
            };
            let set = self
                .models
                .get(pattern)
                .map(super::models::ModelOverrides::keys)
                .unwrap_or_default();
            let fail = |key: &str, message: String| {
                let short = key.strip_prefix("detect.").unwrap_or(key);
                if set
                    .iter()
                    .any(|k| k == short || k.starts_with(&format!("{short}.")))
                {
                    ConfigError::Rule {
                        key: table_key(pattern, short),
                        origin: table_origin(figment, pattern),
                        message,
                    }
                } else {
                    ConfigError::Rule {
                        key: key.to_string(),
                        origin: origin_of(figment, key),
                        message: format!(
                            "{message} (with the keys of [models.\"{pattern}\"], from {})",
                            table_origin(figment, pattern)
                        ),
                    }
                }
            };
            check_detect(&settings.detect, &fail)?;
        }
        Ok(())
    }
}

impl Config {
    /// Replaces every secret's reference (`env:NAME`, `file:/path`) by its
    /// value; an error names the key and where the reference came from.
    fn resolve_secrets(&mut self, figment: &Figment) -> Result<(), ConfigError> {
        for (option, value) in &mut self.kafka.options {
            *value = Secret::resolve(value.expose()).map_err(|e| ConfigError::Rule {
                key: format!("kafka.options.\"{option}\""),
                origin: option_origin(figment, option),
                message: e.to_string(),
            })?;
        }
        for (name, secret) in [
            ("operator.hmac-key", &mut self.operator.hmac_key),
            ("executor.hmac-key", &mut self.executor.hmac_key),
            ("executor.github.token", &mut self.executor.github.token),
            (
                "schemas.registry-password",
                &mut self.schemas.registry_password,
            ),
        ] {
            if let Some(value) = secret {
                *value = Secret::resolve(value.expose()).map_err(|e| ConfigError::Rule {
                    key: name.into(),
                    origin: origin_of(figment, name),
                    message: e.to_string(),
                })?;
            }
        }
        Ok(())
    }

    fn validate(&self, figment: &Figment) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| ConfigError::Rule {
            key: key.to_string(),
            origin: origin_of(figment, key),
            message,
        };
        check_detect(&self.detect, &fail)?;
        let d = &self.detect;
        let a = &d.anomaly;
        if !(a.threshold.is_finite() && a.threshold > 0.0) {
            return Err(fail(
                "detect.anomaly.threshold",
                format!("must be positive, got {}", a.threshold),
            ));
        }
        if a.min_samples < 2 {
            return Err(fail(
                "detect.anomaly.min-samples",
                "must be at least 2".into(),
            ));
        }
        if !(a.ewma_alpha > 0.0 && a.ewma_alpha <= 1.0) {
            return Err(fail(
                "detect.anomaly.ewma-alpha",
                format!("must be in (0, 1], got {}", a.ewma_alpha),
            ));
        }
        let l = &self.labels;
        if l.ttl.is_zero() {
            return Err(fail("labels.ttl", "must be positive".into()));
        }
        if l.reference_size < 1 {
            return Err(fail("labels.reference-size", "must be at least 1".into()));
        }
        if l.window_size < 1 {
            return Err(fail("labels.window-size", "must be at least 1".into()));
        }
        if !(l.accuracy_drop > 0.0 && l.accuracy_drop < 1.0) {
            return Err(fail(
                "labels.accuracy-drop",
                format!("must be in (0, 1), got {}", l.accuracy_drop),
            ));
        }
        self.check_models(figment)?;
        let dc = &self.decide;
        if !(0.0..=1.0).contains(&dc.confidence_gate) {
            return Err(fail(
                "decide.confidence-gate",
                format!("must be in [0, 1], got {}", dc.confidence_gate),
            ));
        }
        if dc.rate_limit_per_hour == 0 {
            return Err(fail(
                "decide.rate-limit-per-hour",
                "must be at least 1".into(),
            ));
        }
        super::bandit::check_bandit(&dc.bandit, &fail)?;
        let r = &dc.reward;
        for (key, w) in [
            ("decide.reward.measured-weight", r.measured_weight),
            ("decide.reward.reported-weight", r.reported_weight),
        ] {
            if !(w.is_finite() && w >= 0.0) {
                return Err(fail(key, format!("must be ≥ 0, got {w}")));
            }
        }
        if r.measured_weight + r.reported_weight <= 0.0 {
            return Err(fail(
                "decide.reward.reported-weight",
                "measured-weight and reported-weight must not both be 0".into(),
            ));
        }
        if self.pipeline.batch_size == 0 {
            return Err(fail("pipeline.batch-size", "must be at least 1".into()));
        }
        if self.pipeline.batch_timeout.is_zero() {
            return Err(fail("pipeline.batch-timeout", "must be positive".into()));
        }
        if self.pipeline.drain_timeout.is_zero() {
            return Err(fail("pipeline.drain-timeout", "must be positive".into()));
        }
        if self.kafka.produce_timeout.is_zero() {
            return Err(fail("kafka.produce-timeout", "must be positive".into()));
        }
        if self.kafka.bootstrap_servers.trim().is_empty() {
            return Err(fail("kafka.bootstrap-servers", "must not be empty".into()));
        }
        if self.kafka.transactions && !self.state.changelog {
            return Err(fail(
                "kafka.transactions",
                "needs state.changelog = true: the state written after a transaction \
                 commits is repaired from the changelog after a crash"
                    .into(),
            ));
        }
        if self.kafka.group_id.trim().is_empty() {
            return Err(fail("kafka.group-id", "must not be empty".into()));
        }
        for key in self.kafka.options.keys() {
            if PROTECTED_OPTIONS.contains(&key.as_str()) {
                return Err(ConfigError::Rule {
                    key: format!("kafka.options.\"{key}\""),
                    origin: option_origin(figment, key),
                    message:
                        "is set by jidoka to keep its delivery guarantees and cannot be overridden"
                            .into(),
                });
            }
        }
        for (option, value) in &self.kafka.options {
            librdkafka_accepts(option, value).map_err(|message| ConfigError::Rule {
                key: format!("kafka.options.\"{option}\""),
                origin: option_origin(figment, option),
                message,
            })?;
        }
        for (name, key) in [
            ("operator.hmac-key", &self.operator.hmac_key),
            ("executor.hmac-key", &self.executor.hmac_key),
        ] {
            let len = key
                .as_ref()
                .map_or(MIN_HMAC_KEY_BYTES, |k| k.expose().len());
            if len < MIN_HMAC_KEY_BYTES {
                return Err(fail(
                    name,
                    format!("must be at least {MIN_HMAC_KEY_BYTES} bytes, got {len}"),
                ));
            }
        }
        let e = &self.executor;
        e.check().map_err(|(key, message)| fail(&key, message))?;
        if e.group_id == self.kafka.group_id {
            return Err(fail(
                "executor.group-id",
                "must differ from kafka.group-id (the bridge is its own consumer group)".into(),
            ));
        }
        if let Some(address) = e.http_address() {
            check_http_address(address).map_err(|m| fail("executor.http-address", m))?;
        }
        if self.topics.partitions < 1 {
            return Err(fail("topics.partitions", "must be at least 1".into()));
        }
        if self.topics.replication_factor < 1 {
            return Err(fail(
                "topics.replication-factor",
                "must be at least 1".into(),
            ));
        }
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (key, name) in self.topics.named() {
            if name.trim().is_empty() {
                return Err(fail(&format!("topics.{key}"), "must not be empty".into()));
            }
            if let Some((other, _)) = seen.iter().find(|(_, n)| *n == name) {
                return Err(fail(
                    &format!("topics.{key}"),
                    format!("topic `{name}` is already used by topics.{other}"),
                ));
            }
            seen.push((key, name));
        }
        if self.evaluations.retention.is_zero() {
            return Err(fail(
                "evaluations.retention",
                "must be more than 0s (a topic that keeps nothing)".into(),
            ));
        }
        let t = &self.telemetry;
        if let Some(address) = t.http_address() {
            check_http_address(address).map_err(|m| fail("telemetry.http-address", m))?;
        }
        if t.statistics_interval > MAX_STATISTICS_INTERVAL {
            return Err(fail(
                "telemetry.statistics-interval",
                "must be at most 24h".into(),
            ));
        }
        let r = &self.schemas;
        if let Some(url) = &r.registry_url {
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(u) => {
                    return Err(fail(
                        "schemas.registry-url",
                        format!("scheme `{}` is not http or https", u.scheme()),
                    ))
                }
                Err(e) => return Err(fail("schemas.registry-url", format!("not a URL: {e}"))),
            }
        }
        if r.registry_password.is_some() && r.registry_username.is_none() {
            return Err(fail(
                "schemas.registry-password",
                "needs schemas.registry-username".into(),
            ));
        }
        if r.registry_timeout.is_zero() {
            return Err(fail(
                "schemas.registry-timeout",
                "must be more than 0s".into(),
            ));
        }
        self.check_input(figment)?;
        let mut ids: Vec<(&str, u32)> = Vec::new();
        for (key, id) in self.schemas.ids.named() {
            if let Some((other, _)) = ids.iter().find(|(_, i)| *i == id) {
                return Err(fail(
                    &format!("schemas.ids.{key}"),
                    format!("id {id} is already used by schemas.ids.{other}"),
                ));
            }
            ids.push((key, id));
        }
        Ok(())
    }
}

/// Whether librdkafka accepts an option (known property, supported by this
/// build, valid value). Checked at load so a typo stops start-up with the
/// key and its origin, and so that a refused value, which may be a secret,
/// is not repeated: rdkafka's client-config errors append the value;
/// librdkafka's description quotes it only for properties with a fixed set
/// or range of values, never for free-text ones such as passwords.
fn librdkafka_accepts(option: &str, value: &Secret) -> Result<(), String> {
    let mut c = rdkafka::ClientConfig::new();
    c.set(option, value.expose());
    match c.create_native_config() {
        Ok(_) => Ok(()),
        Err(rdkafka::error::KafkaError::ClientConfig(_, description, _, _)) => {
            Err(format!("refused by librdkafka: {description}"))
        }
        Err(_) => Err("refused by librdkafka".into()),
    }
}

/// librdkafka's largest `statistics.interval.ms`.
const MAX_STATISTICS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(86_400);

/// A listen address is `host:port` (`[v6]:port` for IPv6) with a port
/// number; the host is resolved when the endpoint starts.
fn check_http_address(address: &str) -> Result<(), String> {
    if address.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad = || format!("`{address}` is not host:port (e.g. 127.0.0.1:9464 or 0.0.0.0:9464)");
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || host.contains(':') || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(())
}

/// Where a `kafka.options` entry came from (its name may contain dots, so
/// it is looked up in the options table rather than by dotted path).
fn option_origin(figment: &Figment, option: &str) -> String {
    let meta = figment
        .find_value("kafka.options")
        .ok()
        .and_then(|v| v.into_dict())
        .and_then(|d| d.get(option).map(|v| v.tag()))
        .and_then(|tag| figment.get_metadata(tag).cloned());
    describe(meta.as_ref(), "kafka.options")
}

/// A key inside a `[models."<glob>"]` table, as written in TOML.
pub(super) fn table_key(pattern: &str, key: &str) -> String {
    if key.is_empty() {
        format!("models.\"{pattern}\"")
    } else {
        format!("models.\"{pattern}\".{key}")
    }
}

/// Where a `[models."<glob>"]` table came from (its pattern may contain
/// dots, so it is looked up in the models table rather than by path).
pub(super) fn table_origin(figment: &Figment, pattern: &str) -> String {
    let meta = figment
        .find_value("models")
        .ok()
        .and_then(|v| v.into_dict())
        .and_then(|d| d.get(pattern).map(|v| v.tag()))
        .and_then(|tag| figment.get_metadata(tag).cloned());
    describe(meta.as_ref(), "models")
}

/// Describes where the value of a dotted key came from.
pub(super) fn origin_of(figment: &Figment, key: &str) -> String {
    describe(figment.find_metadata(key), key)
}

fn describe(meta: Option<&figment::Metadata>, key: &str) -> String {
    match meta {
        Some(meta) => match &meta.source {
            Some(Source::File(path)) => format!("file {}", path.display()),
            _ if meta.name.to_lowercase().contains("environment") => format!(
                "environment variable {}{}",
                ENV_PREFIX,
                key.replace('.', "__").replace('-', "_").to_uppercase()
            ),
            _ => meta.name.to_string(),
        },
        None => "defaults".to_string(),
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
