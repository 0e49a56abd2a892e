//! The rules of `[input]`: how a mapping fits its topic's format.
//!
//! Guarantees: a config that passed [`Config::check_input`] gives a mapping
//! only to a topic whose records it can apply to (JSON, or Avro read
//! through a Schema Registry), and every mapping's keys fit together; an
//! error names the key and where its value came from.

use figment::Figment;

use super::load::{origin_of, ConfigError};
use super::model::Config;

impl Config {
    /// The rules of `[input]`: each mapping's keys fit together, and a
    /// mapping is given only to a topic that uses it.
    pub(super) fn check_input(&self, figment: &Figment) -> Result<(), ConfigError> {
        use crate::ingest::InputFormat;
        let i = &self.input;
        let checks = [
            (
                "input.predictions",
                i.predictions.format,
                i.predictions.mapping.as_ref().map(|m| m.check()),
            ),
            (
                "input.labels",
                i.labels.format,
                i.labels.mapping.as_ref().map(|m| m.check()),
            ),
        ];
        for (table, format, check) in checks {
            let Some(check) = check else { continue };
            if format == InputFormat::Avro && self.schemas.registry_url.is_none() {
                let key = format!("{table}.mapping");
                return Err(ConfigError::Rule {
                    origin: origin_of(figment, &key),
                    key,
                    message: format!(
                        "applies to JSON records, or to Avro records with the producer's own \
                         schema read through a Schema Registry: set {table}.format = \"json\" \
                         or schemas.registry-url (records in jidoka's own Avro schema need no \
                         mapping)"
                    ),
                });
            }
            if let Err((field, message)) = check {
                let key = format!("{table}.mapping.{field}");
                return Err(ConfigError::Rule {
                    origin: origin_of(figment, &key),
                    key,
                    message,
                });
            }
        }
        Ok(())
    }
}
