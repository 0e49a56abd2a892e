//! Configuration: typed settings and their layered loading.
//!
//! Layers, later wins: embedded defaults (`defaults.toml`) < a TOML file
//! (`configs/jidoka.toml` or `--config FILE`) < `JIDOKA__…` environment
//! variables. Loading checks every value once; an error names the key and the
//! file or variable it came from. Secrets (`kafka.options`,
//! `operator.hmac-key`, `executor.hmac-key`, `executor.github.token`) may be given as `env:NAME` or `file:/path`, are
//! resolved at load and never printed. `[models."<glob>"]` tables override
//! detection settings, the features monitored and the policy per model
//! ([`ModelRules`], resolved once per model); `jidoka config show` prints
//! the effective values with their origins.

mod bandit;
mod detect_rules;
mod executor;
mod input;
mod input_rules;
mod kafka;
mod load;
mod model;
mod models;
mod reward;
mod secret;
mod show;

pub use executor::{CommandConfig, ExecutorConfig, GithubConfig, TargetKind, WebhookConfig};
pub use input::{InputKey, InputKind, Repartition};
pub use load::{ConfigError, LoadedConfig, DEFAULT_CONFIG_FILE, ENV_PREFIX, MIN_HMAC_KEY_BYTES};
pub use model::{
    AnomalyConfig, AutoOffsetReset, BanditConfig, BaselineKind, Config, Correction, DecideConfig,
    DetectConfig, EffectThreshold, EvaluationsConfig, KafkaConfig, LabelsConfig, LogFormat,
    MinEffect, OperatorConfig, Partitioner, PipelineConfig, ReferenceMode, SchemaIds,
    SchemasConfig, StateConfig, TelemetryConfig, TopicsConfig, WindowKindName,
    DEFAULT_FEATURE_SERIES_LIMIT,
};
pub use models::{
    FeatureRoute, FeatureSelection, MinEffectOverride, ModelOverrides, ModelRules, ModelSettings,
    SettingsCache, DEFAULT_BANDIT_GROUP,
};
pub use reward::RewardConfig;
pub use secret::{Secret, SecretError, REDACTED};
