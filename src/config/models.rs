//! Per-model settings: `[models."<glob>"]` tables override, for the models
//! whose id matches the glob, the features monitored, the `[detect]`
//! window, reference and test settings, and the policy file.
//!
//! Guarantees:
//! - Resolution is pure: [`ModelRules::resolve`] gives one model's
//!   [`ModelSettings`] from the configuration alone, the same every time;
//!   callers cache it per model.
//! - The most specific table wins, and only one: an exact id (a pattern
//!   without `*`, `?` or `[`) beats every glob; among globs, the one with
//!   the most literal characters (those outside `*`, `?` and `[…]`) wins.
//!   Two globs with as many literal characters must differ in their
//!   literal start (before the first wildcard) or their literal end (after
//!   the last one), so that no id matches both; otherwise loading fails
//!   naming both. `{a,b}` alternations are refused (their specificity is
//!   not one number).
//! - A table sets only what it names; everything else is the global
//!   value. The merged settings pass the same checks as `[detect]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::model::{Config, DetectConfig, EffectThreshold, ReferenceMode, WindowKindName};
use crate::decide::rules::Policy;
use crate::detect::multiple::Correction;

/// One `[models."<glob>"]` table: what it overrides for the models whose
/// id matches. Every key is optional; an absent key keeps the global value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelOverrides {
    /// Features monitored (globs over feature names); absent: every
    /// feature. A feature matching `exclude` is never monitored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Features left out (globs), checked after `include`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    /// Features tested as numeric (KS) whatever map they arrive in (globs):
    /// a categorical value that parses as a finite number enters as that
    /// number; one that does not is left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<Vec<String>>,
    /// Features tested as categorical (chi-square) whatever map they arrive
    /// in (globs): a numeric value enters as its shortest decimal form
    /// (`3`, `2.5`). A feature in both lists is categorical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categorical: Option<Vec<String>>,
    /// Policy file of these models' decisions (TOML rules like
    /// `configs/policy.toml`), loaded and checked at start-up; absent: the
    /// global `decide.policy-file` (or the built-in policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<PathBuf>,
    /// The group whose outcomes these models' bandits pool when
    /// `decide.bandit.scope = "group"`; absent: the table's glob (models no
    /// table matches are in the group `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandit_group: Option<String>,
    /// `detect.max-categories` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_categories: Option<usize>,
    /// `detect.window-kind` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_kind: Option<WindowKindName>,
    /// `detect.window-size` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_size: Option<usize>,
    /// `detect.evaluate-every` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_every: Option<u64>,
    /// `detect.window-duration` for these models (humantime).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub window_duration: Option<Duration>,
    /// `detect.window-slide` for these models (humantime).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub window_slide: Option<Duration>,
    /// `detect.min-window-size` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_window_size: Option<usize>,
    /// `detect.allowed-lateness` for these models (humantime).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_lateness: Option<Duration>,
    /// `detect.reference-mode` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_mode: Option<ReferenceMode>,
    /// `detect.season` for these models (humantime).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub season: Option<Duration>,
    /// `detect.reference-size` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_size: Option<usize>,
    /// `detect.reference-start` for these models (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_start: Option<String>,
    /// `detect.reference-end` for these models (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_end: Option<String>,
    /// `detect.reference-file` for these models (CSV, loaded at start-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_file: Option<PathBuf>,
    /// `detect.ks-alpha` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks_alpha: Option<f64>,
    /// `detect.correction` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<Correction>,
    /// `detect.persistence` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<u32>,
    /// `detect.min-effect` for these models (either key alone may be set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_effect: Option<MinEffectOverride>,
    /// `detect.effect-threshold` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect_threshold: Option<EffectThreshold>,
    /// `detect.reference-quantile` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_quantile: Option<f64>,
    /// `detect.reference-chunks` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_chunks: Option<usize>,
    /// The parsed `policy-file`, filled in by [`Config::load`] (not a
    /// config key).
    #[serde(skip)]
    pub policy: Option<Arc<Policy>>,
}

/// `min-effect` of a `[models."<glob>"]` table: either key alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MinEffectOverride {
    /// `detect.min-effect.ks` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks: Option<f64>,
    /// `detect.min-effect.chi2` for these models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chi2: Option<f64>,
}

impl ModelOverrides {
    /// The global detection settings with this table's keys over them.
    pub fn apply(&self, global: &DetectConfig) -> DetectConfig {
        let mut d = global.clone();
        macro_rules! set {
            ($($field:ident),*) => {
                $(if let Some(v) = &self.$field { d.$field = v.clone(); })*
            };
        }
        set!(
            max_categories,
            window_kind,
            window_size,
            evaluate_every,
            window_duration,
            window_slide,
            min_window_size,
            allowed_lateness,
            reference_mode,
            reference_size,
            ks_alpha,
            correction,
            persistence,
            effect_threshold,
            reference_quantile,
            reference_chunks
        );
        if self.season.is_some() {
            d.season = self.season;
        }
        if self.reference_start.is_some() {
            d.reference_start.clone_from(&self.reference_start);
        }
        if self.reference_end.is_some() {
            d.reference_end.clone_from(&self.reference_end);
        }
        if self.reference_file.is_some() {
            d.reference_file.clone_from(&self.reference_file);
        }
        if let Some(m) = self.min_effect {
            d.min_effect.ks = m.ks.unwrap_or(d.min_effect.ks);
            d.min_effect.chi2 = m.chi2.unwrap_or(d.min_effect.chi2);
        }
        d
    }

    /// The dotted keys this table sets, relative to the table
    /// (`ks-alpha`, `min-effect.ks`, …).
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) {
            for (k, v) in map {
                match v {
                    serde_json::Value::Object(inner) => {
                        keys.extend(inner.keys().map(|i| format!("{k}.{i}")));
                    }
                    _ => keys.push(k),
                }
            }
        }
        keys
    }
}

/// How a monitored feature is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureRoute {
    /// Not monitored.
    Skip,
    /// Kolmogorov–Smirnov, as a number.
    Numeric,
    /// Chi-square, as a category.
    Categorical,
}

/// Which features of a model are monitored, and as what.
#[derive(Debug, Clone, Default)]
pub struct FeatureSelection {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    numeric: Option<GlobSet>,
    categorical: Option<GlobSet>,
    /// The patterns, for comparison and display.
    patterns: [Option<Vec<String>>; 4],
}

impl PartialEq for FeatureSelection {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl FeatureSelection {
    /// Every feature, as it arrives.
    pub fn all() -> Self {
        FeatureSelection::default()
    }

    /// The selection of a table; an error names the list and the pattern.
    pub fn new(o: &ModelOverrides) -> Result<Self, (String, String)> {
        let set =
            |key: &str, list: &Option<Vec<String>>| -> Result<Option<GlobSet>, (String, String)> {
                let Some(list) = list else { return Ok(None) };
                let mut b = GlobSetBuilder::new();
                for p in list {
                    b.add(Glob::new(p).map_err(|e| (key.to_string(), format!("`{p}`: {e}")))?);
                }
                b.build()
                    .map(Some)
                    .map_err(|e| (key.to_string(), e.to_string()))
            };
        Ok(FeatureSelection {
            include: set("include", &o.include)?,
            exclude: set("exclude", &o.exclude)?,
            numeric: set("numeric", &o.numeric)?,
            categorical: set("categorical", &o.categorical)?,
            patterns: [
                o.include.clone(),
                o.exclude.clone(),
                o.numeric.clone(),
                o.categorical.clone(),
            ],
        })
    }

    /// How `feature`, arriving as numeric (`true`) or categorical, is
    /// tested.
    pub fn route(&self, feature: &str, arrived_numeric: bool) -> FeatureRoute {
        let hit = |s: &Option<GlobSet>| s.as_ref().is_some_and(|s| s.is_match(feature));
        if self.include.as_ref().is_some_and(|s| !s.is_match(feature)) || hit(&self.exclude) {
            return FeatureRoute::Skip;
        }
        if hit(&self.categorical) {
            FeatureRoute::Categorical
        } else if hit(&self.numeric) || arrived_numeric {
            FeatureRoute::Numeric
        } else {
            FeatureRoute::Categorical
        }
    }

    /// Whether every feature is monitored as it arrives.
    pub fn is_all(&self) -> bool {
        self.patterns.iter().all(Option::is_none)
    }
}

/// The effective settings of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    /// The `[models."<glob>"]` table that applied; `None`: the global
    /// settings.
    pub pattern: Option<String>,
    /// Detection settings (`[detect]` with the table's keys over it).
    pub detect: DetectConfig,
    /// Features monitored and their kinds.
    pub features: FeatureSelection,
    /// The policy file (`None`: the built-in policy).
    pub policy_file: Option<PathBuf>,
    /// The parsed policy (`None` only for a configuration not loaded
    /// through [`Config::load`]: the built-in policy).
    pub policy: Option<Arc<Policy>>,
    /// The bandit group (`bandit-group`, default the table's glob; `*`
    /// for the global settings).
    pub bandit_group: String,
}

/// The bandit group of models no `[models."<glob>"]` table matches.
pub const DEFAULT_BANDIT_GROUP: &str = "*";

/// One table, compiled.
#[derive(Debug, Clone)]
struct Table {
    pattern: String,
    exact: bool,
    literal: usize,
    matcher: GlobMatcher,
    settings: Arc<ModelSettings>,
}

/// Every `[models."<glob>"]` table of a configuration, compiled, most
/// specific first, and the global settings for models no table matches.
#[derive(Debug, Clone)]
pub struct ModelRules {
    global: Arc<ModelSettings>,
    tables: Vec<Table>,
}

/// A `[models]` table that cannot be used: the key (relative to the
/// table, or the pattern itself when empty) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct TableError {
    /// The table's pattern.
    pub pattern: String,
    /// Key inside the table, empty for the pattern itself.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn is_wildcard(c: char) -> bool {
    matches!(c, '*' | '?' | '[' | ']')
}

/// Literal characters of a glob (outside `*`, `?` and `[…]`), its literal
/// start and its literal end.
fn literal_parts(pattern: &str) -> (usize, String, String) {
    let mut count = 0;
    let mut in_class = false;
    for c in pattern.chars() {
        match c {
            '[' => in_class = true,
            ']' if in_class => in_class = false,
            '*' | '?' => {}
            _ if !in_class => count += 1,
            _ => {}
        }
    }
    let start: String = pattern.chars().take_while(|c| !is_wildcard(*c)).collect();
    let end_rev: String = pattern
        .chars()
        .rev()
        .take_while(|c| !is_wildcard(*c))
        .collect();
    (count, start, end_rev.chars().rev().collect())
}

impl ModelRules {
    /// Compiles the tables of `config`; the first unusable table is an
    /// error.
    pub fn build(config: &Config) -> Result<Self, TableError> {
        let global = Arc::new(ModelSettings {
            pattern: None,
            detect: config.detect.clone(),
            features: FeatureSelection::all(),
            policy_file: config.decide.policy_file.clone(),
            policy: config.decide.policy.clone(),
            bandit_group: DEFAULT_BANDIT_GROUP.to_string(),
        });
        let mut tables = Vec::new();
        for (pattern, o) in &config.models {
            let fail = |key: &str, message: String| TableError {
                pattern: pattern.clone(),
                key: key.to_string(),
                message,
            };
            if pattern.trim().is_empty() {
                return Err(fail("", "the pattern must not be empty".into()));
            }
            if pattern.contains(['{', '}']) {
                return Err(fail(
                    "",
                    "`{a,b}` alternations are not supported: write one table per pattern".into(),
                ));
            }
            if o.bandit_group.as_ref().is_some_and(|g| g.trim().is_empty()) {
                return Err(fail("bandit-group", "must not be empty".into()));
            }
            let matcher = GlobBuilder::new(pattern)
                .literal_separator(false)
                .build()
                .map_err(|e| fail("", e.to_string()))?
                .compile_matcher();
            let features = FeatureSelection::new(o).map_err(|(k, m)| fail(&k, m))?;
            let (literal, _, _) = literal_parts(pattern);
            let (policy_file, policy) = match &o.policy_file {
                Some(path) => (Some(path.clone()), o.policy.clone()),
                None => (global.policy_file.clone(), global.policy.clone()),
            };
            tables.push(Table {
                pattern: pattern.clone(),
                exact: !pattern.contains(is_wildcard),
                literal,
                matcher,
                settings: Arc::new(ModelSettings {
                    pattern: Some(pattern.clone()),
                    detect: o.apply(&config.detect),
                    features,
                    policy_file,
                    policy,
                    bandit_group: o.bandit_group.clone().unwrap_or_else(|| pattern.clone()),
                }),
            });
        }
        for (i, a) in tables.iter().enumerate() {
            for b in &tables[i + 1..] {
                if a.exact || b.exact || a.literal != b.literal {
                    continue;
                }
                let (_, sa, ea) = literal_parts(&a.pattern);
                let (_, sb, eb) = literal_parts(&b.pattern);
                let starts_differ = !(sa.starts_with(&sb) || sb.starts_with(&sa));
                let ends_differ = !(ea.ends_with(&eb) || eb.ends_with(&ea));
                if !(starts_differ || ends_differ) {
                    return Err(TableError {
                        pattern: b.pattern.clone(),
                        key: String::new(),
                        message: format!(
                            "as specific as [models.\"{}\"] ({} literal characters each) and \
                             an id may match both: make one more specific, or give them \
                             different literal starts or ends",
                            a.pattern, a.literal
                        ),
                    });
                }
            }
        }
        tables.sort_by(|a, b| {
            b.exact
                .cmp(&a.exact)
                .then(b.literal.cmp(&a.literal))
                .then(a.pattern.cmp(&b.pattern))
        });
        Ok(ModelRules { global, tables })
    }

    /// The rules of a loaded configuration. Its tables passed
    /// [`ModelRules::build`] at load; should one fail here all the same
    /// (a configuration changed in code since), the global settings apply
    /// to every model and the reason is logged.
    pub fn new(config: &Config) -> Self {
        Self::build(config).unwrap_or_else(|e| {
            tracing::error!(
                pattern = %e.pattern, key = %e.key, error = %e.message,
                "[models] table unusable; the global settings apply to every model"
            );
            ModelRules {
                global: Arc::new(ModelSettings {
                    pattern: None,
                    detect: config.detect.clone(),
                    features: FeatureSelection::all(),
                    policy_file: config.decide.policy_file.clone(),
                    policy: config.decide.policy.clone(),
                    bandit_group: DEFAULT_BANDIT_GROUP.to_string(),
                }),
                tables: Vec::new(),
            }
        })
    }

    /// The effective settings of `model_id`: the most specific matching
    /// table's, or the global ones.
    pub fn resolve(&self, model_id: &str) -> Arc<ModelSettings> {
        self.tables
            .iter()
            .find(|t| {
                if t.exact {
                    t.pattern == model_id
                } else {
                    t.matcher.is_match(model_id)
                }
            })
            .map_or_else(|| self.global.clone(), |t| t.settings.clone())
    }

    /// The global settings (no table).
    pub fn global(&self) -> &Arc<ModelSettings> {
        &self.global
    }

    /// Every table's settings, most specific first.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<ModelSettings>> {
        self.tables.iter().map(|t| &t.settings)
    }

    /// Every distinct reference file any model reads
    /// (`reference-mode = "file"`).
    pub fn reference_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::iter::once(&self.global)
            .chain(self.tables())
            .filter(|s| s.detect.reference_mode == ReferenceMode::File)
            .filter_map(|s| s.detect.reference_file.clone())
            .collect();
        files.sort();
        files.dedup();
        files
    }
}

/// Per-model settings cached by model id: resolved once per model.
#[derive(Debug, Clone)]
pub struct SettingsCache {
    rules: Arc<ModelRules>,
    cache: BTreeMap<String, Arc<ModelSettings>>,
}

impl SettingsCache {
    /// A cache over `rules`.
    pub fn new(rules: Arc<ModelRules>) -> Self {
        SettingsCache {
            rules,
            cache: BTreeMap::new(),
        }
    }

    /// The settings of `model_id`, resolved on first use.
    pub fn get(&mut self, model_id: &str) -> Arc<ModelSettings> {
        if let Some(s) = self.cache.get(model_id) {
            return s.clone();
        }
        let s = self.rules.resolve(model_id);
        self.cache.insert(model_id.to_string(), s.clone());
        s
    }

    /// The rules.
    pub fn rules(&self) -> &Arc<ModelRules> {
        &self.rules
    }
}

#[cfg(test)]
#[path = "models_tests.rs"]
mod tests;
