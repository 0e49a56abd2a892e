//! Tests of per-model settings: loading `[models."<glob>"]` tables
//! (globs, precedence, ties, bad keys), resolution, feature routes and
//! `config show`.

#![allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
use std::path::Path;

use figment::Jail;

use super::*;
use crate::config::{ConfigError, LoadedConfig};

fn load(jail: &mut Jail, toml: &str) -> Result<LoadedConfig, ConfigError> {
    jail.create_file("jidoka.toml", toml)
        .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
    Config::load(Some(Path::new("jidoka.toml")))
}

fn error(jail: &mut Jail, toml: &str) -> String {
    load(jail, toml)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

const TABLES: &str = r#"
[detect]
ks-alpha = 0.01
window-size = 300

[models."churn-*"]
ks-alpha = 0.0001
window-size = 100
exclude = ["debug_*"]

[models."churn-v7"]
evaluate-every = 50
max-categories = 20

[models."churn-eu-*"]
min-effect = { chi2 = 0.2 }

[models."*"]
persistence = 3
"#;

#[test]
fn most_specific_table_wins_and_only_its_keys_override() {
    Jail::expect_with(|jail| {
        let cfg = load(jail, TABLES).map_err(|e| e.to_string())?.config;
        let rules = ModelRules::build(&cfg).map_err(|e| e.message)?;
        // Exact id beats every glob; unset keys are the global ones.
        let v7 = rules.resolve("churn-v7");
        assert_eq!(v7.pattern.as_deref(), Some("churn-v7"));
        assert_eq!(v7.detect.evaluate_every, 50);
        assert_eq!(v7.detect.max_categories, 20);
        assert_eq!(v7.detect.ks_alpha, 0.01);
        assert_eq!(v7.detect.window_size, 300);
        assert_eq!(v7.detect.persistence, 2);
        // More literal characters win: "churn-eu-" (9) over "churn-" (6).
        let eu = rules.resolve("churn-eu-3");
        assert_eq!(eu.pattern.as_deref(), Some("churn-eu-*"));
        assert_eq!(eu.detect.min_effect.chi2, 0.2);
        assert_eq!(eu.detect.min_effect.ks, 0.1);
        assert_eq!(eu.detect.ks_alpha, 0.01);
        let churn = rules.resolve("churn-v8");
        assert_eq!(churn.pattern.as_deref(), Some("churn-*"));
        assert_eq!(churn.detect.ks_alpha, 0.0001);
        assert_eq!(churn.detect.window_size, 100);
        assert_eq!(churn.features.route("debug_flag", true), FeatureRoute::Skip);
        // "*" (no literal characters) matches what nothing else does.
        let other = rules.resolve("fraud-v3");
        assert_eq!(other.pattern.as_deref(), Some("*"));
        assert_eq!(other.detect.persistence, 3);
        assert_eq!(other.detect.ks_alpha, 0.01);
        Ok(())
    });
}

#[test]
fn without_tables_every_model_has_the_global_settings() {
    Jail::expect_with(|jail| {
        let cfg = load(jail, "[detect]\nks-alpha = 0.02\n")
            .map_err(|e| e.to_string())?
            .config;
        let rules = ModelRules::build(&cfg).map_err(|e| e.message)?;
        let s = rules.resolve("anything");
        assert_eq!(s.pattern, None);
        assert_eq!(s.detect, cfg.detect);
        assert!(s.features.is_all());
        Ok(())
    });
}

#[test]
fn equally_specific_globs_that_may_overlap_are_refused_naming_both() {
    Jail::expect_with(|jail| {
        let err = error(
            jail,
            "[models.\"churn-*\"]\nks-alpha = 0.01\n[models.\"*-churn\"]\nks-alpha = 0.02\n",
        );
        assert!(err.contains("models.\"churn-*\""), "{err}");
        assert!(err.contains("models.\"*-churn\""), "{err}");
        assert!(err.contains("jidoka.toml"), "{err}");
        // Same count, but different literal starts: no id matches both.
        load(
            jail,
            "[models.\"churn-*\"]\nks-alpha = 0.01\n[models.\"fraud-*\"]\nks-alpha = 0.02\n",
        )
        .map_err(|e| e.to_string())?;
        // Same count, different literal ends.
        load(
            jail,
            "[models.\"*-churn\"]\nks-alpha = 0.01\n[models.\"*-fraud\"]\nks-alpha = 0.02\n",
        )
        .map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn bad_keys_and_values_name_the_table_key_and_file() {
    Jail::expect_with(|jail| {
        let err = error(jail, "[models.\"churn-*\"]\nks-alpah = 0.01\n");
        assert!(err.contains("ks-alpah"), "{err}");
        assert!(err.contains("jidoka.toml"), "{err}");
        let err = error(jail, "[models.\"churn-*\"]\nks-alpha = 2.0\n");
        assert!(err.contains("models.\"churn-*\".ks-alpha"), "{err}");
        assert!(err.contains("jidoka.toml"), "{err}");
        let err = error(jail, "[models.\"churn-*\"]\nmin-effect = { ks = -1.0 }\n");
        assert!(err.contains("models.\"churn-*\".min-effect.ks"), "{err}");
        let err = error(jail, "[models.\"churn-{a,b}\"]\nks-alpha = 0.01\n");
        assert!(err.contains("alternations"), "{err}");
        let err = error(jail, "[models.\"churn-*\"]\ninclude = [\"a[\"]\n");
        assert!(err.contains("models.\"churn-*\".include"), "{err}");
        // A rule broken by the merge of a table's key with a global one
        // names the global key and the table.
        let err = error(
            jail,
            "[detect]\nwindow-kind = \"time\"\nwindow-duration = \"1h\"\nwindow-slide = \"10m\"\n\
             [models.\"churn-*\"]\nwindow-duration = \"5m\"\n",
        );
        assert!(err.contains("detect.window-slide"), "{err}");
        assert!(err.contains("[models.\"churn-*\"]"), "{err}");
        Ok(())
    });
}

#[test]
fn bandit_groups_default_to_the_table_glob() {
    Jail::expect_with(|jail| {
        let cfg = load(
            jail,
            "[models.\"fraud-*\"]\nbandit-group = \"risk\"\n[models.\"churn-*\"]\nwindow-size = 300\n",
        )
        .map_err(|e| e.to_string())?
        .config;
        let rules = ModelRules::build(&cfg).map_err(|e| e.message)?;
        assert_eq!(rules.resolve("fraud-v3").bandit_group, "risk");
        assert_eq!(rules.resolve("churn-eu").bandit_group, "churn-*");
        assert_eq!(rules.resolve("other").bandit_group, DEFAULT_BANDIT_GROUP);
        let err = error(jail, "[models.\"fraud-*\"]\nbandit-group = \" \"\n");
        assert!(err.contains("models.\"fraud-*\".bandit-group"), "{err}");
        Ok(())
    });
}

#[test]
fn table_policy_files_load_at_start_up() {
    Jail::expect_with(|jail| {
        jail.create_file("strict.toml", crate::decide::BUILTIN_POLICY)?;
        let cfg = load(
            jail,
            "[models.\"fraud-*\"]\npolicy-file = \"strict.toml\"\n",
        )
        .map_err(|e| e.to_string())?
        .config;
        let rules = ModelRules::build(&cfg).map_err(|e| e.message)?;
        let fraud = rules.resolve("fraud-v3");
        assert_eq!(fraud.policy_file.as_deref(), Some(Path::new("strict.toml")));
        assert!(fraud.policy.is_some());
        assert_eq!(rules.resolve("churn").policy_file, None);
        jail.create_file("broken.toml", "[[rule]]\nname = \"x\"\n")?;
        let err = error(
            jail,
            "[models.\"fraud-*\"]\npolicy-file = \"broken.toml\"\n",
        );
        assert!(err.contains("models.\"fraud-*\".policy-file"), "{err}");
        assert!(err.contains("broken.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn version_changes_with_model_tables() {
    Jail::expect_with(|jail| {
        let plain = load(jail, "").map_err(|e| e.to_string())?.version;
        let tabled = load(jail, "[models.\"churn-*\"]\nks-alpha = 0.01\n")
            .map_err(|e| e.to_string())?
            .version;
        assert_ne!(plain, tabled);
        Ok(())
    });
}

#[test]
fn feature_routes_follow_include_exclude_and_forced_kinds() {
    let o = ModelOverrides {
        include: Some(vec!["tenure_*".into(), "country".into(), "zip".into()]),
        exclude: Some(vec!["tenure_debug".into()]),
        numeric: Some(vec!["zip".into()]),
        categorical: Some(vec!["tenure_bucket".into()]),
        ..ModelOverrides::default()
    };
    let f = FeatureSelection::new(&o).unwrap_or_default();
    assert_eq!(f.route("tenure_days", true), FeatureRoute::Numeric);
    assert_eq!(f.route("tenure_debug", true), FeatureRoute::Skip);
    assert_eq!(f.route("tenure_bucket", true), FeatureRoute::Categorical);
    assert_eq!(f.route("country", false), FeatureRoute::Categorical);
    assert_eq!(f.route("zip", false), FeatureRoute::Numeric);
    assert_eq!(f.route("income", true), FeatureRoute::Skip);
    let all = FeatureSelection::all();
    assert!(all.is_all());
    assert_eq!(all.route("x", false), FeatureRoute::Categorical);
}

#[test]
fn settings_are_cached_per_model() {
    let cfg = Config::defaults_with(&["[models.\"churn-*\"]\nks-alpha = 0.01\n"]);
    let cfg = match cfg {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let mut cache = SettingsCache::new(Arc::new(ModelRules::new(&cfg)));
    let a = cache.get("churn-v7");
    let b = cache.get("churn-v7");
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.detect.ks_alpha, 0.01);
    assert_eq!(cache.get("fraud").detect.ks_alpha, cfg.detect.ks_alpha);
}

/// The line of `text` that starts with `start`.
fn line<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines().find(|l| l.starts_with(start)).unwrap_or("")
}

#[test]
fn show_prints_each_value_with_its_origin() {
    Jail::expect_with(|jail| {
        jail.set_env("JIDOKA__DETECT__PERSISTENCE", "4");
        jail.create_file("jidoka.toml", TABLES)?;
        let path = Some(Path::new("jidoka.toml"));
        let all = Config::show(path, None).map_err(|e| e.to_string())?;
        let ks = line(&all, "ks-alpha = 0.01  # file ");
        assert!(ks.ends_with("jidoka.toml"), "{all}");
        assert_eq!(
            line(&all, "persistence = 4"),
            "persistence = 4  # env JIDOKA__DETECT__PERSISTENCE",
            "{all}"
        );
        assert_eq!(
            line(&all, "reference-size = 1000"),
            "reference-size = 1000  # default"
        );
        assert!(all.contains("\n[models.\"churn-*\"]\n"), "{all}");
        // The output is TOML that reads back.
        toml::from_str::<toml::Value>(&all).map_err(|e| e.to_string())?;
        let v7 = Config::show(path, Some("churn-v7")).map_err(|e| e.to_string())?;
        assert!(v7.contains("[models.\"churn-v7\"] applies"), "{v7}");
        let every = line(&v7, "evaluate-every = 50  # [models.\"churn-v7\"] (file ");
        assert!(every.ends_with("jidoka.toml)"), "{v7}");
        assert!(
            line(&v7, "ks-alpha = 0.01  # file ").ends_with("jidoka.toml"),
            "{v7}"
        );
        assert_eq!(
            line(&v7, "persistence = 4"),
            "persistence = 4  # env JIDOKA__DETECT__PERSISTENCE"
        );
        assert_eq!(
            line(&v7, "window-kind ="),
            "window-kind = \"count\"  # default"
        );
        let churn = Config::show(path, Some("churn-v8")).map_err(|e| e.to_string())?;
        assert!(
            !line(&churn, "exclude = [\"debug_*\"]  # [models.\"churn-*\"]").is_empty(),
            "{churn}"
        );
        let parsed: toml::Value = toml::from_str(&churn).map_err(|e| e.to_string())?;
        assert_eq!(
            parsed.get("detect").and_then(|d| d.get("ks-alpha")),
            Some(&toml::Value::Float(0.0001))
        );
        let none = Config::show(path, Some("fraud")).map_err(|e| e.to_string())?;
        assert!(none.contains("[models.\"*\"] applies"), "{none}");
        Ok(())
    });
}
