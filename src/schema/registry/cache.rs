//! The writer schemas of the registry ids seen on input: fetched once per
//! id, kept for the life of the process.
//!
//! Guarantees: [`WriterCache`] is shared by every clone of a [`Codec`] and
//! read without blocking the decoders for long (one `RwLock` read per
//! record); [`fetch_missing`] asks the registry once per id not cached yet
//! (counted in [`WriterCache::fetches`]), retries with exponential backoff
//! while the registry is unreachable or failing, and records an id the
//! registry says does not exist (404), or whose schema jidoka cannot use,
//! as refused with the reason, so its records are dead-lettered instead
//! of retried forever.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use apache_avro::Schema;
use tokio::sync::watch;

use super::client::RegistryClient;
use super::error::RegistryError;
use crate::schema::wire::unframe;
use crate::schema::{Codec, SchemaKind};

/// What jidoka knows about one registry id.
#[derive(Debug, Clone)]
pub enum Writer {
    /// An Avro schema, parsed.
    Avro(Arc<WriterSchema>),
    /// Unusable: the reason every record with this id is dead-lettered.
    Refused(Arc<str>),
}

/// A writer schema fetched from the registry.
#[derive(Debug)]
pub struct WriterSchema {
    /// Its global id.
    pub id: u32,
    /// The schema.
    pub schema: Schema,
    /// The reader schema it is identical to (same parsing canonical form),
    /// if any: then records decode without schema resolution.
    pub same_as: Option<SchemaKind>,
}

/// The writer schemas of registry ids, shared by a codec's clones.
#[derive(Debug, Default)]
pub struct WriterCache {
    map: RwLock<HashMap<u32, Writer>>,
    fetches: AtomicU64,
}

impl WriterCache {
    /// What is known about an id, if it was fetched.
    pub fn get(&self, id: u32) -> Option<Writer> {
        self.map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&id)
            .cloned()
    }

    /// Records what the registry said about an id.
    pub fn insert(&self, id: u32, writer: Writer) {
        self.map
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id, writer);
    }

    /// Registry requests made for writer schemas (one per new id).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The ids of framed values not known yet (values that are not framed
    /// are left to the decoder, which dead-letters them).
    pub fn missing<'a>(&self, values: impl IntoIterator<Item = Option<&'a [u8]>>) -> BTreeSet<u32> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        values
            .into_iter()
            .flatten()
            .filter_map(|bytes| unframe(bytes).ok().map(|(id, _)| id))
            .filter(|id| !map.contains_key(id))
            .collect()
    }
}

/// Backoff between registry attempts for one id.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Wait after the first failure.
    pub first: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_secs(30),
        }
    }
}

/// Shutdown came while the registry was still failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stopped while waiting for the schema registry")]
pub struct Stopped;

/// Fetches the writer schema of every id in `ids` the codec's cache does
/// not hold yet: an answer (schema or 404) is cached; any other failure is
/// reported to `on_retry` (the error and the wait before the next attempt)
/// and retried until it succeeds or `shutdown` turns true. A codec without
/// a registry has nothing to fetch.
pub async fn fetch_missing(
    codec: &Codec,
    client: &RegistryClient,
    ids: BTreeSet<u32>,
    backoff: Backoff,
    shutdown: &mut watch::Receiver<bool>,
    mut on_retry: impl FnMut(u32, &RegistryError, Duration),
) -> Result<(), Stopped> {
    let Some(cache) = codec.writers() else {
        return Ok(());
    };
    for id in ids {
        if cache.get(id).is_some() {
            continue;
        }
        let mut wait = backoff.first;
        while let Err(e) = fetch_one(codec, cache, client, id).await {
            on_retry(id, &e, wait);
            if *shutdown.borrow() {
                return Err(Stopped);
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return Err(Stopped),
            }
            wait = (wait * 2).min(backoff.max);
        }
    }
    Ok(())
}

/// One request for an id's writer schema: the schema, or the registry's
/// 404, is cached; any other failure is returned.
async fn fetch_one(
    codec: &Codec,
    cache: &WriterCache,
    client: &RegistryClient,
    id: u32,
) -> Result<(), RegistryError> {
    cache.fetches.fetch_add(1, Ordering::Relaxed);
    match client.schema_by_id(id).await {
        Ok(fetched) => {
            cache.insert(id, codec.writer_from(id, &fetched));
            Ok(())
        }
        Err(e @ RegistryError::Status { status: 404, .. }) => {
            let reason = format!("schema id {id} is not in the schema registry: {e}");
            cache.insert(id, Writer::Refused(reason.into()));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// For readers outside an async context (the audit, export and report
/// commands): fetches the writer schemas of `ids` once each, on a thread of
/// its own with its own runtime and client, one attempt per id. An id the
/// registry does not have is cached as refused; any other failure is
/// returned (nothing cached, the caller counts the record undecodable).
pub fn fetch_blocking(
    codec: &Codec,
    cfg: &crate::config::SchemasConfig,
    ids: BTreeSet<u32>,
) -> Result<(), RegistryError> {
    if ids.is_empty() || codec.writers().is_none() {
        return Ok(());
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| RegistryError::Client(e.to_string()))?;
                runtime.block_on(async {
                    let Some(client) = RegistryClient::from_config(cfg)? else {
                        return Ok(());
                    };
                    let Some(cache) = codec.writers() else {
                        return Ok(());
                    };
                    for id in ids {
                        fetch_one(codec, cache, &client, id).await?;
                    }
                    Ok(())
                })
            })
            .join()
            .unwrap_or_else(|_| Err(RegistryError::Client("registry fetch panicked".into())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::schema::registry::FetchedSchema;
    use crate::schema::{frame, DecodeError, Prediction, SchemaError};

    fn codec() -> Result<Codec, Box<dyn std::error::Error>> {
        Ok(Codec::new(Config::defaults()?.schemas.ids)?)
    }

    fn avro(schema: &str) -> FetchedSchema {
        FetchedSchema {
            schema: schema.to_string(),
            schema_type: "AVRO".into(),
            references: 0,
        }
    }

    fn prediction() -> Prediction {
        crate::demo::scenario::Scenario::demo(2, 1)
            .predictions()
            .remove(0)
    }

    #[test]
    fn an_evolved_writer_schema_resolves_to_the_reader() -> Result<(), Box<dyn std::error::Error>> {
        let codec = codec()?.with_registry(&[(SchemaKind::Prediction, 200)]);
        let mut schema: serde_json::Value = serde_json::from_str(SchemaKind::Prediction.source())?;
        if let Some(fields) = schema["fields"].as_array_mut() {
            fields.insert(
                0,
                serde_json::json!({"name": "host", "type": "string", "default": ""}),
            );
        }
        let evolved = apache_avro::Schema::parse_str(&schema.to_string())?;
        let record = prediction();
        let datum = apache_avro::to_avro_datum(
            &evolved,
            apache_avro::to_value(&record)?.resolve(&evolved)?,
        )?;
        let cache = codec.writers().ok_or("no cache")?;
        // Not fetched yet: not decodable, and named as missing.
        let framed = frame(201, &datum);
        assert!(matches!(
            codec.decode::<Prediction>(Some(&framed)),
            Err(DecodeError::NotFetched(201))
        ));
        assert_eq!(cache.missing([Some(&framed[..])]), BTreeSet::from([201]));
        cache.insert(201, codec.writer_from(201, &avro(&schema.to_string())));
        assert!(cache.missing([Some(&framed[..])]).is_empty());
        assert_eq!(codec.decode::<Prediction>(Some(&framed))?, record);
        // The registered id is the reader schema itself.
        let native = codec.encode(&record)?;
        assert_eq!(native[1..5], 200u32.to_be_bytes());
        assert_eq!(codec.decode::<Prediction>(Some(&native))?, record);
        // A writer equal to the reader is noticed (no resolution).
        match codec.writer_from(202, &avro(SchemaKind::Prediction.source())) {
            Writer::Avro(w) => assert_eq!(w.same_as, Some(SchemaKind::Prediction)),
            Writer::Refused(r) => return Err(r.to_string().into()),
        }
        Ok(())
    }

    #[test]
    fn unusable_ids_are_refused_with_the_reason() -> Result<(), Box<dyn std::error::Error>> {
        let codec = codec()?.with_registry(&[]);
        let json = FetchedSchema {
            schema: "{}".into(),
            schema_type: "JSON".into(),
            references: 0,
        };
        let referencing = FetchedSchema {
            references: 1,
            ..avro(SchemaKind::Label.source())
        };
        for (id, fetched, words) in [
            (7, json, "JSON schema"),
            (8, referencing, "references"),
            (9, avro("{\"type\": \"nonsense\"}"), "does not parse"),
        ] {
            let writer = codec.writer_from(id, &fetched);
            let Writer::Refused(reason) = &writer else {
                return Err(format!("id {id} accepted").into());
            };
            assert!(reason.contains(words), "{reason}");
            codec.writers().ok_or("no cache")?.insert(id, writer);
            let err = codec
                .decode::<Prediction>(Some(&frame(id, b"\x02")))
                .err()
                .ok_or("decoded")?;
            assert_eq!(err.kind(), "unknown-schema");
            assert!(err.to_string().contains(words));
        }
        Ok(())
    }

    #[test]
    fn with_a_registry_only_registered_kinds_are_written() -> Result<(), Box<dyn std::error::Error>>
    {
        let codec = codec()?.with_registry(&[(SchemaKind::Label, 300)]);
        assert!(matches!(
            codec.encode(&prediction()),
            Err(SchemaError::NotRegistered {
                kind: SchemaKind::Prediction
            })
        ));
        assert_eq!(codec.id(SchemaKind::Label), 300);
        Ok(())
    }
}
