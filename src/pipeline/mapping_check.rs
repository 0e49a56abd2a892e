//! The start-up check of input mappings against the Schema Registry.
//!
//! Guarantees: with a registry, a mapping of Avro records is checked
//! against the latest schema registered for its topic, when there is one;
//! a field it names that the schema does not have stops start-up with the
//! table, the key, the path and the subject. No registered schema, or one
//! that does not parse, is left to the per-record checks (dead letters).

use super::error::PipelineError;
use crate::config::Config;
use crate::schema::registry::{self, RegistryClient};

/// With a registry, a mapping of Avro records is checked at start-up
/// against the latest schema registered for its topic, when there is one:
/// a field it names that the schema does not have stops start-up (records
/// written with another schema are still checked one by one, as dead
/// letters).
pub(super) async fn check_mappings(
    cfg: &Config,
    client: &RegistryClient,
) -> Result<(), PipelineError> {
    use crate::ingest::{FieldTree, InputFormat};
    let i = &cfg.input;
    let checks: [(&'static str, &str, bool); 2] = [
        (
            "predictions",
            &cfg.topics.predictions,
            i.predictions.format == InputFormat::Avro && i.predictions.mapping.is_some(),
        ),
        (
            "labels",
            &cfg.topics.labels,
            i.labels.format == InputFormat::Avro && i.labels.mapping.is_some(),
        ),
    ];
    for (table, topic, mapped) in checks {
        if !mapped {
            continue;
        }
        let subject = registry::value_subject(topic);
        let Some((_, text)) = client.latest(&subject).await? else {
            continue;
        };
        let Ok(schema) = apache_avro::Schema::parse_str(&text) else {
            continue;
        };
        let fields = FieldTree::from_avro(&schema);
        let result = match table {
            "predictions" => i
                .predictions
                .mapping
                .as_ref()
                .map_or(Ok(()), |m| m.check_against(&fields)),
            _ => i
                .labels
                .mapping
                .as_ref()
                .map_or(Ok(()), |m| m.check_against(&fields)),
        };
        if let Err(m) = result {
            return Err(PipelineError::MappingMismatch {
                table,
                key: m.key,
                path: m.path,
                subject,
                reason: m.reason,
            });
        }
    }
    Ok(())
}
