//! Secrets in the configuration: passwords and keys that must never be
//! shown.
//!
//! Guarantees: a [`Secret`]'s `Debug` and `Display` print `[redacted]` and it
//! serializes as the string `"[redacted]"`, so a config dump, a log line or
//! the `Debug` of the whole [`Config`](super::Config) never shows it; only
//! [`Secret::expose`] gives the value, at the one place that needs it.
//!
//! A secret's config value is a reference or a literal, resolved once when
//! the configuration is loaded ([`Config::from_figment`](super::Config::from_figment)):
//!
//! - `env:NAME`: the value of environment variable `NAME`;
//! - `file:/path`: the content of the file (trailing newlines removed;
//!   relative paths start at the working directory);
//! - anything else: the value itself.
//!
//! A reference that cannot be resolved (unset variable, unreadable file, empty
//! value) stops start-up with an error naming the key and its origin. A value
//! that is itself `[redacted]` is refused: it is a redacted copy of a secret,
//! not the secret.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a secret prints and serializes as.
pub const REDACTED: &str = "[redacted]";
/// Prefix of an environment variable reference.
pub const ENV_PREFIX: &str = "env:";
/// Prefix of a file reference.
pub const FILE_PREFIX: &str = "file:";

/// A secret string. Deserialized as written (a reference or a literal);
/// the loaded configuration holds resolved values. Equality is not
/// constant-time: compare keys with a MAC, not with `==`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// Why a secret's reference could not be resolved: the user's to fix.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// `env:NAME` names an unset variable (or one that is not UTF-8).
    #[error("`{ENV_PREFIX}{name}`: environment variable {name} is not set (or not UTF-8)")]
    MissingEnv {
        /// Variable name.
        name: String,
    },
    /// `file:/path` names a file that cannot be read as UTF-8 text.
    #[error("`{FILE_PREFIX}{}`: cannot read the file: {source}", .path.display())]
    File {
        /// File.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The reference names nothing (`env:`, `file:`).
    #[error("`{0}` names no variable or file")]
    EmptyReference(String),
    /// The reference resolves to an empty value.
    #[error("`{0}` resolves to an empty value")]
    Empty(String),
    /// The value is a redacted copy of a secret.
    #[error("is `{REDACTED}`: a redacted copy of a secret, not its value")]
    Redacted,
}

impl Secret {
    /// A secret with this value (no reference resolution).
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// Resolves a config value: `env:NAME`, `file:/path` or a literal.
    pub fn resolve(value: &str) -> Result<Secret, SecretError> {
        if value == REDACTED {
            return Err(SecretError::Redacted);
        }
        let resolved = if let Some(name) = value.strip_prefix(ENV_PREFIX) {
            if name.is_empty() {
                return Err(SecretError::EmptyReference(value.to_string()));
            }
            std::env::var(name).map_err(|_| SecretError::MissingEnv {
                name: name.to_string(),
            })?
        } else if let Some(path) = value.strip_prefix(FILE_PREFIX) {
            if path.is_empty() {
                return Err(SecretError::EmptyReference(value.to_string()));
            }
            let path = PathBuf::from(path);
            let mut text = std::fs::read_to_string(&path)
                .map_err(|source| SecretError::File { path, source })?;
            let kept = text.trim_end_matches(['\n', '\r']).len();
            text.truncate(kept);
            text
        } else {
            return Ok(Secret::new(value));
        };
        if resolved.is_empty() {
            return Err(SecretError::Empty(value.to_string()));
        }
        Ok(Secret(resolved))
    }

    /// The value. Call it only where the value is used (a client config, a
    /// MAC key), never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

/// Accepts a string, and numbers and booleans as their text: environment
/// variables are parsed by figment, so `JIDOKA__…=12345` arrives as a number.
struct SecretVisitor;

impl Visitor<'_> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string (a literal, `env:NAME` or `file:/path`)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret::new(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Secret, E> {
        Ok(Secret(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Secret, E> {
        Ok(Secret(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Secret, E> {
        Ok(Secret(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Secret, E> {
        Ok(Secret(v.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    #[test]
    fn literal_is_kept() {
        let s = Secret::resolve("hunter2").map(|s| s.expose().to_string());
        assert_eq!(s.ok().as_deref(), Some("hunter2"));
    }

    #[test]
    fn env_reference_reads_the_variable() {
        // Jail serializes environment changes across tests.
        figment::Jail::expect_with(|jail| {
            jail.set_env("JIDOKA_TEST_SECRET_ENV_REFERENCE", "from-env");
            let s = Secret::resolve("env:JIDOKA_TEST_SECRET_ENV_REFERENCE");
            assert_eq!(
                s.ok().map(|s| s.expose().to_string()).as_deref(),
                Some("from-env")
            );
            Ok(())
        });
    }

    #[test]
    fn missing_env_variable_is_an_error() {
        let err = Secret::resolve("env:JIDOKA_TEST_SECRET_NOT_SET").err();
        assert!(
            matches!(&err, Some(SecretError::MissingEnv { name }) if name == "JIDOKA_TEST_SECRET_NOT_SET"),
            "{err:?}"
        );
    }

    #[test]
    fn file_reference_reads_the_file_without_trailing_newlines() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("password");
        std::fs::write(&path, "s3cret \n\r\n")?;
        let s = Secret::resolve(&format!("file:{}", path.display()));
        assert_eq!(
            s.ok().map(|s| s.expose().to_string()).as_deref(),
            Some("s3cret ")
        );
        let err = Secret::resolve(&format!("file:{}", dir.path().join("nope").display())).err();
        assert!(matches!(err, Some(SecretError::File { .. })), "{err:?}");
        std::fs::write(&path, "\n")?;
        let err = Secret::resolve(&format!("file:{}", path.display())).err();
        assert!(matches!(err, Some(SecretError::Empty(_))), "{err:?}");
        Ok(())
    }

    #[test]
    fn empty_references_and_redacted_copies_are_refused() {
        assert!(matches!(
            Secret::resolve("env:"),
            Err(SecretError::EmptyReference(_))
        ));
        assert!(matches!(
            Secret::resolve("file:"),
            Err(SecretError::EmptyReference(_))
        ));
        assert!(matches!(
            Secret::resolve(REDACTED),
            Err(SecretError::Redacted)
        ));
    }

    #[test]
    fn debug_display_and_serialization_are_redacted() -> Result<(), serde_json::Error> {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&s)), format!("Some({REDACTED})"));
        assert_eq!(serde_json::to_string(&s)?, format!("\"{REDACTED}\""));
        Ok(())
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef-operator";

    #[test]
    fn config_resolves_env_file_and_literal_secrets() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("kafka-password", "pa55word\n")?;
            jail.create_file(
                "sec.toml",
                "[kafka.options]\n\"security.protocol\" = \"SASL_SSL\"\n\
                 \"sasl.username\" = \"jidoka\"\n\
                 \"sasl.password\" = \"file:kafka-password\"\n\
                 \"ssl.key.password\" = \"env:JIDOKA_TEST_KEY_PASSWORD\"\n\
                 [operator]\nhmac-key = \"env:JIDOKA_TEST_HMAC\"\n",
            )?;
            jail.set_env("JIDOKA_TEST_KEY_PASSWORD", "key-pa55");
            jail.set_env("JIDOKA_TEST_HMAC", KEY);
            let cfg = Config::load(Some(Path::new("sec.toml")))
                .map_err(|e| e.to_string())?
                .config;
            let opt = |k: &str| cfg.kafka.options.get(k).map(|s| s.expose().to_string());
            assert_eq!(opt("security.protocol").as_deref(), Some("SASL_SSL"));
            assert_eq!(opt("sasl.password").as_deref(), Some("pa55word"));
            assert_eq!(opt("ssl.key.password").as_deref(), Some("key-pa55"));
            assert_eq!(
                cfg.operator.hmac_key.as_ref().map(Secret::expose),
                Some(KEY)
            );
            // Neither the config's Debug nor its serialization shows a secret.
            let debug = format!("{cfg:?}");
            let json = serde_json::to_string(&cfg).map_err(|e| e.to_string())?;
            for shown in [&debug, &json] {
                for secret in ["pa55word", "key-pa55", KEY, "SASL_SSL"] {
                    assert!(!shown.contains(secret), "{secret} in {shown}");
                }
                assert!(shown.contains(REDACTED), "{shown}");
            }
            // The client config gets the resolved values.
            let client = crate::kafka::producer_config(&cfg);
            assert_eq!(client.get("sasl.password"), Some("pa55word"));
            assert!(!format!("{client:?}").contains("pa55word"));
            Ok(())
        });
    }

    #[test]
    fn hmac_key_from_environment_variable_layer() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("JIDOKA__OPERATOR__HMAC_KEY", KEY);
            let cfg = Config::load(None).map_err(|e| e.to_string())?.config;
            assert_eq!(
                cfg.operator.hmac_key.as_ref().map(Secret::expose),
                Some(KEY)
            );
            assert_eq!(
                Config::defaults().map(|c| c.operator.hmac_key).ok(),
                Some(None)
            );
            Ok(())
        });
    }

    #[test]
    fn unresolvable_secret_names_key_and_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "bad.toml",
                "[kafka.options]\n\"sasl.password\" = \"env:JIDOKA_TEST_UNSET_PASSWORD\"\n",
            )?;
            let err = Config::load(Some(Path::new("bad.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("kafka.options.\"sasl.password\""), "{err}");
            assert!(err.contains("bad.toml"), "{err}");
            assert!(err.contains("JIDOKA_TEST_UNSET_PASSWORD"), "{err}");

            jail.create_file(
                "bad-key.toml",
                "[operator]\nhmac-key = \"file:missing-key\"\n",
            )?;
            let err = Config::load(Some(Path::new("bad-key.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("operator.hmac-key"), "{err}");
            assert!(err.contains("bad-key.toml"), "{err}");
            assert!(err.contains("missing-key"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn short_or_redacted_hmac_key_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("short.toml", "[operator]\nhmac-key = \"too-short\"\n")?;
            let err = Config::load(Some(Path::new("short.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("operator.hmac-key"), "{err}");
            assert!(err.contains("short.toml"), "{err}");
            assert!(err.contains("at least 32 bytes"), "{err}");
            assert!(!err.contains("too-short"), "the key is printed: {err}");
            // A serialized config carries redacted copies, which are refused.
            let mut cfg = Config::defaults().map_err(|e| e.to_string())?;
            cfg.operator.hmac_key = Some(Secret::new(KEY));
            let figment = figment::Figment::from(figment::providers::Serialized::defaults(&cfg));
            let err = Config::from_figment(&figment)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains("operator.hmac-key") && err.contains("redacted"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn deserializes_strings_and_scalars_as_written() -> Result<(), serde_json::Error> {
        let s: Secret = serde_json::from_str("\"env:X\"")?;
        assert_eq!(s.expose(), "env:X");
        let n: Secret = serde_json::from_str("12345")?;
        assert_eq!(n.expose(), "12345");
        assert!(serde_json::from_str::<Secret>("[1]").is_err());
        Ok(())
    }
}
