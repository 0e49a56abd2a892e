//! Configuration: typed settings and their layered loading.
//!
//! Layers, later wins: embedded defaults (`defaults.toml`) < a TOML file
//! (`configs/jidoka.toml` or `--config FILE`) < `JIDOKA__…` environment
//! variables. Loading checks every value once; an error names the key and the
//! file or variable it came from.

mod load;
mod model;

pub use load::{ConfigError, LoadedConfig, DEFAULT_CONFIG_FILE, ENV_PREFIX};
pub use model::{
    AnomalyConfig, BanditConfig, BaselineKind, Config, Correction, DecideConfig, DetectConfig,
    KafkaConfig, LabelsConfig, LogFormat, PipelineConfig, ReferenceMode, SchemaIds, SchemasConfig,
    StateConfig, TelemetryConfig, TopicsConfig, WindowKindName,
};
