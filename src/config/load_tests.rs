//! Tests of configuration loading: layers, validation errors naming key and origin, secrets and policy files.

#![allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
use super::*;
use crate::config::ReferenceMode;
use figment::Jail;

#[test]
fn defaults_load_and_validate() {
    Jail::expect_with(|_| {
        let loaded = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(loaded.config.topics.audit, "audit");
        assert_eq!(loaded.config.decide.cooldown.as_secs(), 30 * 60);
        assert_eq!(loaded.version.len(), 16);
        Ok(())
    });
}

#[test]
fn file_then_env_layering() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "custom.toml",
            "[detect]\nks-alpha = 0.05\nwindow-size = 100\n[kafka.options]\n\"security.protocol\" = \"SASL_SSL\"\n",
        )?;
        jail.set_env("JIDOKA__DETECT__WINDOW_SIZE", "200");
        jail.set_env("JIDOKA__DECIDE__COOLDOWN", "5m");
        let cfg = Config::load(Some(Path::new("custom.toml")))
            .map_err(|e| e.to_string())?
            .config;
        assert_eq!(cfg.detect.ks_alpha, 0.05);
        assert_eq!(cfg.detect.window_size, 200);
        assert_eq!(cfg.decide.cooldown.as_secs(), 300);
        assert_eq!(
            cfg.kafka
                .options
                .get("security.protocol")
                .map(crate::config::Secret::expose),
            Some("SASL_SSL")
        );
        Ok(())
    });
}

#[test]
fn default_file_is_read_when_present() {
    Jail::expect_with(|jail| {
        jail.create_dir("configs")?;
        jail.create_file("configs/jidoka.toml", "[topics]\naudit = \"my-audit\"\n")?;
        let cfg = Config::load(None).map_err(|e| e.to_string())?.config;
        assert_eq!(cfg.topics.audit, "my-audit");
        Ok(())
    });
}

#[test]
fn unknown_key_names_key_and_file() {
    Jail::expect_with(|jail| {
        jail.create_file("bad.toml", "[detect]\nks-alpah = 0.05\n")?;
        let err = Config::load(Some(Path::new("bad.toml")))
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("ks-alpah"), "{err}");
        assert!(err.contains("bad.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn bad_type_names_key_and_file() {
    Jail::expect_with(|jail| {
        jail.create_file("bad.toml", "[detect]\nwindow-size = \"big\"\n")?;
        let err = Config::load(Some(Path::new("bad.toml")))
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("window-size"), "{err}");
        assert!(err.contains("bad.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn out_of_range_value_names_key_and_origin() {
    Jail::expect_with(|jail| {
        jail.create_file("bad.toml", "[detect]\nks-alpha = 1.5\n")?;
        let err = Config::load(Some(Path::new("bad.toml")))
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("detect.ks-alpha"), "{err}");
        assert!(err.contains("bad.toml"), "{err}");
        jail.set_env("JIDOKA__PIPELINE__BATCH_SIZE", "0");
        let err = Config::load(None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("pipeline.batch-size"), "{err}");
        assert!(err.contains("JIDOKA__PIPELINE__BATCH_SIZE"), "{err}");
        Ok(())
    });
}

#[test]
fn duplicate_topic_is_rejected() {
    Jail::expect_with(|_| {
        let figment = Config::figment(None)
            .map_err(|e| e.to_string())?
            .merge(("topics.audit", "actions"));
        let err = Config::from_figment(&figment).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(
            err.contains("topics.audit") && err.contains("topics.actions"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn guarantee_options_cannot_be_overridden() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "bad.toml",
            "[kafka.options]\n\"enable.auto.commit\" = \"true\"\n",
        )?;
        let err = Config::load(Some(Path::new("bad.toml")))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("kafka.options.\"enable.auto.commit\""),
            "{err}"
        );
        assert!(err.contains("bad.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn options_librdkafka_refuses_name_key_and_file_without_the_value() {
    Jail::expect_with(|jail| {
        for (option, value, expected) in [
            (
                "sasl.pasword",
                "hunter2-secret",
                "No such configuration property",
            ),
            ("security.protocol", "hunter2-secret", "security.protocol"),
        ] {
            jail.create_file(
                "bad.toml",
                &format!("[kafka.options]\n\"{option}\" = \"{value}\"\n"),
            )?;
            let err = Config::load(Some(Path::new("bad.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains(&format!("kafka.options.\"{option}\"")),
                "{err}"
            );
            assert!(err.contains("bad.toml"), "{err}");
            assert!(err.contains(expected), "{err}");
            if option == "sasl.pasword" {
                assert!(!err.contains("hunter2"), "{err}");
            }
        }
        Ok(())
    });
}

#[test]
fn version_ignores_connection_settings() {
    Jail::expect_with(|jail| {
        let a = Config::load(None).map_err(|e| e.to_string())?.version;
        jail.set_env("JIDOKA__KAFKA__BOOTSTRAP_SERVERS", "elsewhere:9092");
        let b = Config::load(None).map_err(|e| e.to_string())?.version;
        assert_eq!(a, b);
        Ok(())
    });
}

#[test]
fn missing_explicit_file_is_an_error() {
    Jail::expect_with(|_| {
        let err = Config::load(Some(Path::new("nope.toml"))).err();
        assert!(matches!(err, Some(ConfigError::MissingFile(_))));
        Ok(())
    });
}

#[test]
fn telemetry_endpoint_from_env_and_checked() {
    Jail::expect_with(|jail| {
        let cfg = Config::load(None).map_err(|e| e.to_string())?.config;
        assert_eq!(cfg.telemetry.http_address(), None);
        assert_eq!(cfg.telemetry.statistics_interval.as_secs(), 5);
        jail.set_env("JIDOKA__TELEMETRY__HTTP_ADDRESS", "0.0.0.0:9464");
        jail.set_env("JIDOKA__TELEMETRY__STATISTICS_INTERVAL", "250ms");
        let cfg = Config::load(None).map_err(|e| e.to_string())?.config;
        assert_eq!(cfg.telemetry.http_address(), Some("0.0.0.0:9464"));
        assert_eq!(cfg.telemetry.statistics_interval.as_millis(), 250);
        for good in ["localhost:9464", "[::1]:9464", "127.0.0.1:0"] {
            jail.set_env("JIDOKA__TELEMETRY__HTTP_ADDRESS", good);
            Config::load(None).map_err(|e| format!("{good}: {e}"))?;
        }
        for bad in ["localhost", ":9464", "host:99999", "::1:9464"] {
            jail.set_env("JIDOKA__TELEMETRY__HTTP_ADDRESS", bad);
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("telemetry.http-address"), "{bad}: {err}");
            assert!(
                err.contains("JIDOKA__TELEMETRY__HTTP_ADDRESS"),
                "{bad}: {err}"
            );
        }
        jail.set_env("JIDOKA__TELEMETRY__HTTP_ADDRESS", "");
        jail.set_env("JIDOKA__TELEMETRY__STATISTICS_INTERVAL", "2d");
        let err = Config::load(None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("telemetry.statistics-interval"), "{err}");
        Ok(())
    });
}

#[test]
fn feature_series_limit_defaults_and_zero_is_allowed() {
    Jail::expect_with(|jail| {
        let cfg = Config::load(None).map_err(|e| e.to_string())?.config;
        assert_eq!(cfg.telemetry.feature_series_limit, 10_000);
        for (value, want) in [("3", 3), ("0", 0)] {
            jail.set_env("JIDOKA__TELEMETRY__FEATURE_SERIES_LIMIT", value);
            let cfg = Config::load(None).map_err(|e| e.to_string())?.config;
            assert_eq!(cfg.telemetry.feature_series_limit, want);
        }
        for bad in ["-1", "many"] {
            jail.set_env("JIDOKA__TELEMETRY__FEATURE_SERIES_LIMIT", bad);
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            // figment names a key from the environment in capitals.
            assert!(
                err.to_lowercase()
                    .contains("telemetry.feature-series-limit"),
                "{bad}: {err}"
            );
        }
        Ok(())
    });
}

#[test]
fn version_changes_with_values() {
    Jail::expect_with(|jail| {
        let a = Config::load(None).map_err(|e| e.to_string())?.version;
        jail.set_env("JIDOKA__DETECT__KS_ALPHA", "0.02");
        let b = Config::load(None).map_err(|e| e.to_string())?.version;
        assert_ne!(a, b);
        Ok(())
    });
}

#[test]
fn reference_thresholds_load_and_are_checked() {
    Jail::expect_with(|jail| {
        let loaded = Config::load(None).map_err(|e| e.to_string())?;
        let d = &loaded.config.detect;
        assert_eq!(
            (d.effect_threshold, d.reference_quantile, d.reference_chunks),
            (crate::config::EffectThreshold::Reference, 1.0, 20)
        );
        jail.create_file(
            "ok.toml",
            "[detect]\neffect-threshold = \"reference\"\nreference-quantile = 0.9\nreference-chunks = 50\n",
        )?;
        let loaded = Config::load(Some(Path::new("ok.toml"))).map_err(|e| e.to_string())?;
        let d = &loaded.config.detect;
        assert_eq!(
            (d.effect_threshold, d.reference_quantile, d.reference_chunks),
            (crate::config::EffectThreshold::Reference, 0.9, 50)
        );
        for (body, key) in [
            ("reference-quantile = 0.0", "detect.reference-quantile"),
            ("reference-quantile = 1.5", "detect.reference-quantile"),
            ("reference-chunks = 1", "detect.reference-chunks"),
            ("reference-chunks = 1001", "detect.reference-chunks"),
            ("effect-threshold = \"learned\"", "effect-threshold"),
        ] {
            jail.create_file("bad.toml", &format!("[detect]\n{body}\n"))?;
            let err = Config::load(Some(Path::new("bad.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(key), "{body}: {err}");
        }
        Ok(())
    });
}

#[test]
fn snippets_merge_over_the_defaults_in_order_and_are_validated() {
    let cfg = Config::defaults_with(&[
        "detect.window-size = 100\ndetect.ks-alpha = 0.01",
        "[detect]\nwindow-size = 50\nreference-mode = \"rolling\"",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.detect.window_size, 50);
    assert_eq!(cfg.detect.ks_alpha, 0.01);
    assert_eq!(cfg.detect.reference_mode, ReferenceMode::Rolling);
    assert_eq!(
        cfg.detect.reference_size,
        Config::defaults()
            .unwrap_or_else(|e| panic!("{e}"))
            .detect
            .reference_size
    );
    let bad = Config::defaults_with(&["detect.ks-alpha = 2.0"]).map(|_| ());
    assert!(
        matches!(&bad, Err(ConfigError::Rule { key, .. }) if key == "detect.ks-alpha"),
        "{bad:?}"
    );
    let unknown = Config::defaults_with(&["detect.no-such-key = 1"]).map(|_| ());
    assert!(
        matches!(unknown, Err(ConfigError::Invalid(_))),
        "{unknown:?}"
    );
}

#[test]
fn registry_settings_are_checked_and_the_password_resolved() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "registry.toml",
            "[schemas]\nregistry-url = \"https://registry:8081\"\nregistry-username = \"jidoka\"\nregistry-password = \"env:REGISTRY_PASSWORD\"\n",
        )?;
        jail.set_env("REGISTRY_PASSWORD", "s3cret");
        let cfg = Config::load(Some(Path::new("registry.toml")))
            .map_err(|e| e.to_string())?
            .config;
        assert_eq!(
            cfg.schemas.registry_password.as_ref().map(Secret::expose),
            Some("s3cret")
        );
        assert_eq!(cfg.schemas.registry_timeout.as_secs(), 10);
        for (file, key) in [
            (
                "[schemas]\nregistry-url = \"ftp://registry\"\n",
                "schemas.registry-url",
            ),
            (
                "[schemas]\nregistry-url = \"not a url\"\n",
                "schemas.registry-url",
            ),
            (
                "[schemas]\nregistry-url = \"http://r\"\nregistry-password = \"p\"\n",
                "schemas.registry-password",
            ),
            (
                "[schemas]\nregistry-timeout = \"0s\"\n",
                "schemas.registry-timeout",
            ),
        ] {
            jail.create_file("bad.toml", file)?;
            let err = Config::load(Some(Path::new("bad.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(key), "{file}: {err}");
        }
        Ok(())
    });
}

#[test]
fn input_mapping_loads_and_its_errors_name_key_and_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "json.toml",
            "[input.predictions]\nformat = \"json\"\n[input.predictions.mapping]\nmodel-id = \"$key\"\nscore = \"$.output.score\"\nfeatures-from = \"$.inputs\"\n",
        )?;
        let cfg = Config::load(Some(Path::new("json.toml")))
            .map_err(|e| e.to_string())?
            .config;
        assert_eq!(
            cfg.input.predictions.format,
            crate::ingest::InputFormat::Json
        );
        let m = cfg.input.predictions.mapping.clone().unwrap_or_default();
        assert_eq!(m.model_id, crate::ingest::path::Source::Key);
        assert_eq!(
            m.event_time.text(),
            "$.event_time",
            "unnamed keys keep jidoka's names"
        );
        assert_eq!(cfg.input.labels.format, crate::ingest::InputFormat::Avro);

        for (text, key, says) in [
            (
                "[input.predictions.mapping]\nscore = \"$.s\"\n",
                "input.predictions.mapping",
                "set input.predictions.format = \"json\"",
            ),
            (
                "[input.labels]\nformat = \"json\"\n[input.labels.mapping]\nlabel = \"$timestamp\"\n",
                "input.labels.mapping.label",
                "is not a field path",
            ),
            (
                "[input.predictions]\nformat = \"json\"\n[input.predictions.mapping]\nscore = \"$.a[x]\"\n",
                "score",
                "neither an index",
            ),
            (
                "[input.predictions]\nformat = \"xml\"\n",
                "format",
                "xml",
            ),
        ] {
            jail.create_file("bad.toml", text)?;
            let err = Config::load(Some(Path::new("bad.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(key), "{err}");
            assert!(err.contains(says), "{err}");
            assert!(err.contains("bad.toml"), "{err}");
        }
        Ok(())
    });
}

#[test]
fn bandit_learning_keys_default_and_are_checked() {
    Jail::expect_with(|jail| {
        let loaded = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(
            loaded.config.decide.bandit,
            crate::config::BanditConfig::default()
        );
        for (text, key) in [
            ("forgetting = 0.0", "decide.bandit.forgetting"),
            ("forgetting = 1.5", "decide.bandit.forgetting"),
            ("pool-strength = 2.0", "decide.bandit.pool-strength"),
            ("rules-prior = -1.0", "decide.bandit.rules-prior"),
            ("scope = \"team\"", "scope"),
            ("deviation = -0.5", "decide.bandit.deviation"),
            ("deviation = \"guessed\"", "deviation"),
        ] {
            jail.create_file("bad.toml", &format!("[decide.bandit]\n{text}\n"))?;
            let err = Config::load(Some(Path::new("bad.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(key), "{text}: {err}");
            assert!(err.contains("bad.toml"), "{text}: {err}");
        }
        jail.create_file(
            "ok.toml",
            "[decide.bandit]\nscope = \"group\"\ndeviation = 0.25\n",
        )?;
        let loaded = Config::load(Some(Path::new("ok.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(
            loaded.config.decide.bandit.scope,
            crate::decide::bandit::Scope::Group
        );
        assert_eq!(
            loaded.config.decide.bandit.deviation,
            crate::decide::bandit::Deviation::Fixed(0.25)
        );
        assert_eq!(
            crate::config::BanditConfig::default().deviation,
            crate::decide::bandit::Deviation::ESTIMATED
        );
        Ok(())
    });
}

#[test]
fn the_reward_table_has_defaults_and_checked_weights() {
    Jail::expect_with(|jail| {
        let cfg = Config::load(None).map_err(|e| e.to_string())?.config;
        assert_eq!(cfg.decide.reward, crate::config::RewardConfig::default());
        assert_eq!(cfg.decide.reward.horizon.as_secs(), 30 * 60);
        // Measured by default: both parts weigh the same.
        assert_eq!(cfg.decide.reward.measured_weight, 1.0);
        assert_eq!(cfg.decide.reward.reported_weight, 1.0);
        jail.create_file("off.toml", "[decide.reward]\nmeasured-weight = 0.0\n")?;
        let cfg = Config::load(Some(Path::new("off.toml")))
            .map_err(|e| e.to_string())?
            .config;
        assert_eq!(cfg.decide.reward.measured_weight, 0.0);
        assert_eq!(cfg.decide.reward.reported_weight, 1.0);
        // The measured part alone is a valid reward.
        jail.create_file(
            "measured-only.toml",
            "[decide.reward]\nreported-weight = 0.0\n",
        )?;
        let cfg = Config::load(Some(Path::new("measured-only.toml")))
            .map_err(|e| e.to_string())?
            .config;
        assert_eq!(cfg.decide.reward.measured_weight, 1.0);
        assert_eq!(cfg.decide.reward.reported_weight, 0.0);
        jail.create_file(
            "on.toml",
            "[decide.reward]\nhorizon = \"10m\"\nmeasured-weight = 2.0\n",
        )?;
        let cfg = Config::load(Some(Path::new("on.toml")))
            .map_err(|e| e.to_string())?
            .config;
        assert_eq!(cfg.decide.reward.horizon.as_secs(), 600);
        assert_eq!(cfg.decide.reward.measured_weight, 2.0);
        assert_eq!(cfg.decide.reward.reported_weight, 1.0);
        for (file, body, key) in [
            (
                "neg.toml",
                "[decide.reward]\nmeasured-weight = -1.0\n",
                "decide.reward.measured-weight",
            ),
            (
                "zero.toml",
                "[decide.reward]\nmeasured-weight = 0.0\nreported-weight = 0.0\n",
                "decide.reward.reported-weight",
            ),
            ("typo.toml", "[decide.reward]\nhorizn = \"1m\"\n", "horizn"),
        ] {
            jail.create_file(file, body)?;
            let err = Config::load(Some(Path::new(file)))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(key), "{file}: {err}");
            assert!(err.contains(file), "{file}: {err}");
        }
        Ok(())
    });
}
