//! The RocksDB store.
//!
//! Guarantees: a [`Checkpoint`] is written atomically (one `WriteBatch`,
//! fsynced when `sync` is set), so the models, windows and applied input
//! offsets on disk always belong together; every read or write failure is a
//! [`StateError`], never a panic, and corrupt values are reported as such.

use std::path::{Path, PathBuf};

use rocksdb::{
    ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};

use super::model::ModelMeta;
use crate::detect::{CategoricalWindow, WindowDecodeError, Windows};

/// The column families (stores) of the local state. Each has a compacted
/// changelog topic `<group-id>-<name>-changelog` that can rebuild it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cf {
    /// Per-model bookkeeping (JSON [`ModelMeta`]), keyed by model id.
    Models,
    /// Numeric feature windows (current and pending values), keyed by
    /// model id, NUL, feature.
    Windows,
    /// References of numeric and categorical features, keyed by model id,
    /// NUL, `n` or `c`, feature (written only when they change).
    References,
    /// Categorical feature windows, keyed like `Windows`.
    Categories,
    /// Predictions waiting for (or recently joined with) their label,
    /// keyed by model id, NUL, prediction id.
    Pending,
    /// Labels that arrived before their prediction, keyed like `Pending`.
    Orphans,
    /// Expiry index of `Pending` and `Orphans`: model id, NUL, event time
    /// (8 bytes, order-preserving), kind byte, prediction id.
    Expiry,
    /// Next input offset per (topic, partition) reflected in the state.
    Offsets,
    /// Decision state, keyed by [`decision_key`]: each model's bandit
    /// (`b`), its commands awaiting an outcome or an approval (`c`), and per
    /// input partition the pause of every model (`p`).
    Decisions,
}

impl Cf {
    /// Every store.
    pub const ALL: [Cf; 9] = [
        Cf::Models,
        Cf::Windows,
        Cf::References,
        Cf::Categories,
        Cf::Pending,
        Cf::Orphans,
        Cf::Expiry,
        Cf::Offsets,
        Cf::Decisions,
    ];

    /// Whether the store has a changelog topic. The expiry index does not:
    /// it is derived from `pending` and `orphans`, and rebuilt from them
    /// when a partition is restored.
    pub fn changelogged(self) -> bool {
        self != Cf::Expiry
    }

    /// The column family (and changelog) name.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Models => "models",
            Cf::Windows => "windows",
            Cf::References => "references",
            Cf::Categories => "categories",
            Cf::Pending => "pending",
            Cf::Orphans => "orphans",
            Cf::Expiry => "expiry",
            Cf::Offsets => "offsets",
            Cf::Decisions => "decisions",
        }
    }
}

/// A state error: external (disk) unless it says the data is corrupt.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// RocksDB failed (disk full, permissions, lock held by another process).
    #[error("rocksdb at {}: {source}", path.display())]
    Rocks {
        /// Store directory.
        path: PathBuf,
        /// RocksDB's error.
        source: rocksdb::Error,
    },
    /// A column family is missing from an opened store (internal).
    #[error("column family `{0}` is missing")]
    MissingColumnFamily(&'static str),
    /// A stored value does not decode.
    #[error("corrupt state for key `{key}`: {reason}")]
    Corrupt {
        /// Key, lossily printed.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl StateError {
    /// Whether retrying the operation may help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StateError::Rocks { .. })
    }
}

/// Keys and values in key order.
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// One restored key: store, key, and value (`None` deletes).
pub type Restored = (Cf, Vec<u8>, Option<Vec<u8>>);

/// One key written (or deleted, `value: None`) in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Store.
    pub cf: Cf,
    /// Key.
    pub key: Vec<u8>,
    /// New value, `None` to delete.
    pub value: Option<Vec<u8>>,
    /// Input partition the key belongs to (that of its model): the
    /// changelog partition it goes to.
    pub partition: i32,
}

/// State changes and applied offsets to write together.
#[derive(Debug, Default)]
pub struct Checkpoint {
    /// Every key written or deleted.
    pub writes: Vec<Write>,
    /// (topic, partition, next offset to apply).
    pub offsets: Vec<(String, i32, i64)>,
}

impl Checkpoint {
    /// The writes including the offsets, as they go to the changelog.
    pub fn changelog(&self) -> impl Iterator<Item = Write> + '_ {
        let writes = self.writes.iter().filter(|w| w.cf.changelogged()).cloned();
        writes.chain(self.offsets.iter().map(|(t, p, next)| Write {
            cf: Cf::Offsets,
            key: offset_key(t, *p),
            value: Some(next.to_be_bytes().to_vec()),
            partition: *p,
        }))
    }
}

/// The local store.
pub struct Store {
    db: DB,
    path: PathBuf,
    sync: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Key of a (model, name) entry: model id, NUL, name.
pub fn window_key(model: &str, feature: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(model.len() + feature.len() + 1);
    key.extend_from_slice(model.as_bytes());
    key.push(0);
    key.extend_from_slice(feature.as_bytes());
    key
}

/// Key of a feature's reference: model id, NUL, `n` (numeric) or `c`
/// (categorical), feature.
pub fn reference_key(model: &str, kind: char, feature: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(model.len() + feature.len() + 2);
    key.extend_from_slice(model.as_bytes());
    key.push(0);
    key.push(kind as u8);
    key.extend_from_slice(feature.as_bytes());
    key
}

/// Key in the `decisions` store: scope (a model id, or empty for a
/// partition-wide entry), NUL, kind byte, id.
pub fn decision_key(scope: &str, kind: u8, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(scope.len() + id.len() + 2);
    key.extend_from_slice(scope.as_bytes());
    key.push(0);
    key.push(kind);
    key.extend_from_slice(id.as_bytes());
    key
}

/// Key of an input partition's offset.
pub fn offset_key(topic: &str, partition: i32) -> Vec<u8> {
    let mut key = topic.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path, sync: bool) -> Result<Self, StateError> {
        let rocks = |source| StateError::Rocks {
            path: dir.to_path_buf(),
            source,
        };
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = Cf::ALL
            .into_iter()
            .map(|cf| ColumnFamilyDescriptor::new(cf.name(), Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs).map_err(rocks)?;
        Ok(Store {
            db,
            path: dir.to_path_buf(),
            sync,
        })
    }

    fn cf(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StateError> {
        self.db
            .cf_handle(cf.name())
            .ok_or(StateError::MissingColumnFamily(cf.name()))
    }

    /// The value of `key` in `cf`.
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.db.get_cf(self.cf(cf)?, key).map_err(|e| self.rocks(e))
    }

    /// Every (key, value) of `cf` with `from <= key < to`, in key order.
    pub fn range(&self, cf: Cf, from: &[u8], to: &[u8]) -> Result<KeyValues, StateError> {
        let iter = self
            .db
            .iterator_cf(self.cf(cf)?, IteratorMode::From(from, Direction::Forward));
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item.map_err(|e| self.rocks(e))?;
            if &*key >= to {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Whether any input offset of `partition` (of any topic) is stored:
    /// the local store holds that partition's state.
    pub fn has_partition(&self, topics: &[&str], partition: i32) -> Result<bool, StateError> {
        for topic in topics {
            if self.applied_offset(topic, partition)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Applies restored changelog records (last value per key) in one batch.
    pub fn restore(&self, records: &[Restored]) -> Result<(), StateError> {
        let mut batch = WriteBatch::default();
        for (cf, key, value) in records {
            let handle = self.cf(*cf)?;
            match value {
                Some(v) => batch.put_cf(handle, key, v),
                None => batch.delete_cf(handle, key),
            }
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(self.sync);
        self.db.write_opt(batch, &opts).map_err(|e| self.rocks(e))
    }

    fn rocks(&self, source: rocksdb::Error) -> StateError {
        StateError::Rocks {
            path: self.path.clone(),
            source,
        }
    }

    /// The bookkeeping of a model, if any was stored.
    pub fn model(&self, model: &str) -> Result<Option<ModelMeta>, StateError> {
        let raw = self
            .db
            .get_cf(self.cf(Cf::Models)?, model.as_bytes())
            .map_err(|e| self.rocks(e))?;
        raw.map(|bytes| {
            serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                key: model.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    /// Every numeric feature window of a model, in feature-name order.
    pub fn windows(&self, model: &str) -> Result<Vec<(String, Windows<f64>)>, StateError> {
        self.scan(Cf::Windows, model, |feature, bytes| {
            let reference = self.get(Cf::References, &reference_key(model, 'n', feature))?;
            Ok(Windows::decode_parts(bytes, reference.as_deref()))
        })
    }

    /// Every categorical feature window of a model, in feature-name order.
    pub fn categorical(&self, model: &str) -> Result<Vec<(String, CategoricalWindow)>, StateError> {
        self.scan(Cf::Categories, model, |feature, bytes| {
            let reference = self.get(Cf::References, &reference_key(model, 'c', feature))?;
            Ok(CategoricalWindow::decode_parts(bytes, reference.as_deref()))
        })
    }

    fn scan<T>(
        &self,
        cf: Cf,
        model: &str,
        decode: impl Fn(&str, &[u8]) -> Result<Result<T, WindowDecodeError>, StateError>,
    ) -> Result<Vec<(String, T)>, StateError> {
        let mut prefix = model.as_bytes().to_vec();
        prefix.push(0);
        let iter = self.db.iterator_cf(
            self.cf(cf)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item.map_err(|e| self.rocks(e))?;
            if !key.starts_with(&prefix) {
                break;
            }
            let feature = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            let window = decode(&feature, &value)?.map_err(|WindowDecodeError(reason)| {
                StateError::Corrupt {
                    key: format!("{model}/{feature}"),
                    reason: reason.to_string(),
                }
            })?;
            out.push((feature, window));
        }
        Ok(out)
    }

    /// The next offset of `topic`/`partition` not yet reflected in the state.
    pub fn applied_offset(&self, topic: &str, partition: i32) -> Result<Option<i64>, StateError> {
        let raw = self
            .db
            .get_cf(self.cf(Cf::Offsets)?, offset_key(topic, partition))
            .map_err(|e| self.rocks(e))?;
        raw.map(|bytes| {
            <[u8; 8]>::try_from(bytes.as_slice())
                .map(i64::from_be_bytes)
                .map_err(|_| StateError::Corrupt {
                    key: format!("{topic}/{partition}"),
                    reason: format!("offset of {} bytes", bytes.len()),
                })
        })
        .transpose()
    }

    /// Writes a checkpoint atomically.
    pub fn write(&self, checkpoint: &Checkpoint) -> Result<(), StateError> {
        let mut batch = WriteBatch::default();
        for w in &checkpoint.writes {
            let handle = self.cf(w.cf)?;
            match &w.value {
                Some(v) => batch.put_cf(handle, &w.key, v),
                None => batch.delete_cf(handle, &w.key),
            }
        }
        let offsets = self.cf(Cf::Offsets)?;
        for (topic, partition, next) in &checkpoint.offsets {
            batch.put_cf(offsets, offset_key(topic, *partition), next.to_be_bytes());
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(self.sync);
        self.db.write_opt(batch, &opts).map_err(|e| self.rocks(e))
    }
}

/// Encodes a model's bookkeeping for the `models` store.
pub fn encode_meta(meta: &ModelMeta) -> Vec<u8> {
    serde_json::to_vec(meta).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::window::{ReferenceKind, WindowKind, WindowPlan};
    use crate::detect::WindowEntry;

    #[test]
    fn checkpoint_survives_reopen() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let plan = WindowPlan {
            window: WindowKind::Count { size: 3 },
            reference: ReferenceKind::FirstN(4),
        };
        let mut w = Windows::default();
        for i in 0..10u64 {
            let e = WindowEntry {
                record: i + 1,
                time: i as i64,
                value: i as f64,
            };
            w.push(e, 0, &plan, &mut ());
        }
        let mut cat = CategoricalWindow::default();
        for (i, v) in ["fr", "de", "fr", "us"].iter().enumerate() {
            let e = crate::detect::CategoryEntry {
                record: i as u64 + 1,
                time: i as i64,
                value: v.to_string(),
            };
            cat.push(e, 0, &plan);
        }
        let meta = ModelMeta {
            records_seen: 10,
            model_version: "2".into(),
            last_action_at: Some(99),
            decisions: 1,
            commands: 1,
            audit_sequence: 1,
            last_audit_hash: Some("ab".into()),
            ..ModelMeta::default()
        };
        let put = |cf, key: Vec<u8>, value: Vec<u8>| Write {
            cf,
            key,
            value: Some(value),
            partition: 0,
        };
        {
            let store = Store::open(dir.path(), true)?;
            assert_eq!(store.model("m")?, None);
            let cp = Checkpoint {
                writes: vec![
                    put(Cf::Models, b"m".to_vec(), encode_meta(&meta)),
                    put(Cf::Windows, window_key("m", "b"), w.encode_current()),
                    put(
                        Cf::References,
                        reference_key("m", 'n', "b"),
                        w.encode_reference(),
                    ),
                    put(
                        Cf::Windows,
                        window_key("m", "a"),
                        Windows::<f64>::default().encode_current(),
                    ),
                    put(
                        Cf::Windows,
                        window_key("m2", "a"),
                        Windows::<f64>::default().encode_current(),
                    ),
                    put(
                        Cf::Categories,
                        window_key("m", "country"),
                        cat.encode_current(),
                    ),
                    put(
                        Cf::References,
                        reference_key("m", 'c', "country"),
                        cat.encode_reference(),
                    ),
                    put(Cf::Pending, b"gone".to_vec(), vec![1]),
                ],
                offsets: vec![("predictions".into(), 2, 41)],
            };
            assert_eq!(cp.changelog().count(), 9);
            assert!(cp.changelog().all(|w| w.cf.changelogged()));
            store.write(&cp)?;
            store.write(&Checkpoint {
                writes: vec![Write {
                    cf: Cf::Pending,
                    key: b"gone".to_vec(),
                    value: None,
                    partition: 0,
                }],
                offsets: Vec::new(),
            })?;
        }
        let store = Store::open(dir.path(), true)?;
        assert_eq!(store.model("m")?, Some(meta));
        let windows = store.windows("m")?;
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[0].0, "a");
        assert_eq!(windows[1], ("b".to_string(), w));
        assert_eq!(store.applied_offset("predictions", 2)?, Some(41));
        assert!(store.has_partition(&["labels", "predictions"], 2)?);
        assert!(!store.has_partition(&["labels", "predictions"], 1)?);
        assert_eq!(store.categorical("m")?, vec![("country".to_string(), cat)]);
        assert!(store.categorical("m2")?.is_empty());
        assert_eq!(store.applied_offset("predictions", 1)?, None);
        assert_eq!(store.get(Cf::Pending, b"gone")?, None);
        assert_eq!(store.range(Cf::Windows, b"m\0", b"m\x01")?.len(), 2);
        Ok(())
    }

    #[test]
    fn second_open_of_same_dir_is_an_error_not_a_panic() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let _first = Store::open(dir.path(), false)?;
        let second = Store::open(dir.path(), false);
        assert!(matches!(second, Err(StateError::Rocks { .. })));
        Ok(())
    }
}
